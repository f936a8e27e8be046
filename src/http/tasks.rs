//! `/api/tasks`: the task list (the Data Manager's, with Label Studio's filters, ordering,
//! selection and views), one task, create, update, delete.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use actix_web::{HttpResponse, web};
use bytes::Bytes;
use chrono::Utc;
use futures_util::{StreamExt, stream};
use serde::Deserialize;
use serde_json::{Value, json};

use super::access::{self, Member};
use super::identity::AuthUser;
use super::{Page, State, json_object, opt_int, required_project, slash_optional};
use crate::db::task_search::TaskSearch;
use crate::db::tasks::{NewTask, TaskParts, TaskRow};
use crate::error::ApiError;
use crate::label_config::first_data_variable;
use crate::records;
use crate::resolve;
use crate::task_query::{Selection, TaskQuery};

pub(super) fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource(slash_optional("/api/tasks/"))
            .get(list)
            .post(create),
    )
    .service(
        web::resource(slash_optional("/api/tasks/{id}/"))
            .get(get)
            .patch(update)
            .put(update)
            .delete(delete),
    )
    .service(web::resource(slash_optional("/api/projects/{id}/next/")).get(next));
}

#[derive(Debug, Deserialize)]
struct NextQuery {
    after: Option<String>,
}

/// `GET /api/projects/<id>/next/`: the next task to label (the first one without an
/// annotation after `?after=<task id>`, wrapping round), as `GET /api/tasks/<id>` shows it.
async fn next(
    state: State,
    member: Member,
    id: web::Path<i64>,
    query: web::Query<NextQuery>,
) -> Result<HttpResponse, ApiError> {
    let project_id = id.into_inner();
    let after = match query.after.as_deref() {
        None | Some("") => 0,
        Some(text) => text
            .parse()
            .map_err(|_| ApiError::invalid("after: a task id (a whole number) is required."))?,
    };
    // `Member` has already answered 404 for a project that does not exist.
    let found = state.db.next_unlabeled_task(project_id, after).await?;
    // Label Studio also answers 404 when the queue is empty.
    let task_id = found.ok_or(ApiError::NotFound)?;
    Ok(HttpResponse::Ok().json(load_detail(&state, task_id, true, member.user_id()).await?))
}

#[derive(Debug, Deserialize)]
struct ListQuery {
    project: Option<String>,
    view: Option<String>,
    page: Option<String>,
    page_size: Option<String>,
    resolve_uri: Option<String>,
    query: Option<String>,
    fields: Option<String>,
    include: Option<String>,
    only_annotated: Option<String>,
    #[serde(rename = "selectedItems")]
    selected_items: Option<String>,
}

#[derive(Debug, Deserialize)]
struct DetailQuery {
    resolve_uri: Option<String>,
}

/// `?resolve_uri=false` asks for raw storage URIs; the default rewrites them for browsers.
fn wants_resolved(resolve_uri: Option<&str>) -> bool {
    resolve_uri
        .and_then(crate::config::parse_bool)
        .unwrap_or(true)
}

/// Which shape the listed tasks take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// Label Studio's default (`task_only`): counters and summaries.
    Summary,
    /// `fields=all`: with annotations, predictions and the user's drafts.
    Full,
    /// `include=id`: nothing but the ids, read from the index alone.
    IdsOnly,
}

/// How a page of tasks is turned into JSON; shared by every chunk of a streamed page.
#[derive(Debug)]
struct Rendering {
    shape: Shape,
    /// The config's first data variable (`$undefined$` is shown under it).
    data_key: Option<String>,
    /// Buckets whose URIs are rewritten; `None` for raw data.
    resolvable: Option<Vec<resolve::Resolvable>>,
    /// `?include=a,b`: only these keys of each task.
    include: Option<Vec<String>>,
    user_id: i64,
}

/// Tasks per database call (and per chunk of a streamed response).
const CHUNK: usize = 500;

/// `GET /api/tasks`: one page of a project's tasks, filtered, ordered and selected by
/// `?query=` (Label Studio's Data Manager JSON) or by the view `?view=`. Any page size is
/// served: pages larger than one chunk stream, so memory stays flat.
async fn list(
    state: State,
    member: Member,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let (project_id, task_query) = task_query_of(&state, member.user_id(), &query).await?;
    let page = Page::from_query(query.page.as_deref(), query.page_size.as_deref(), 100)?;
    let searched = state
        .db
        .search_tasks(project_id, task_query, page.size, page.offset())
        .await?
        .ok_or(ApiError::NotFound)?;
    let totals = searched.found.totals;
    page.check_exists(totals.tasks)?;
    let rendering = Arc::new(list_rendering(&query, &searched, member.user_id()));
    let head = format!(
        "{{\"total_annotations\":{},\"total_predictions\":{},\"total\":{},\"tasks\":[",
        totals.annotations, totals.predictions, totals.tasks
    );
    let mut chunks: Vec<Vec<i64>> = searched
        .found
        .page
        .chunks(CHUNK)
        .map(<[i64]>::to_vec)
        .collect();
    let rendered = Instant::now();
    let first = if chunks.is_empty() {
        Vec::new()
    } else {
        render_chunk(&state, chunks.remove(0), &rendering).await?
    };
    // Where the time went, for browsers' developer tools and benchmarks.
    let timing = format!(
        "search;dur={:.1}, rows;dur={:.1}",
        searched.search_time.as_secs_f64() * 1e3,
        rendered.elapsed().as_secs_f64() * 1e3
    );
    let mut body = head.into_bytes();
    body.extend_from_slice(&first);
    let mut response = HttpResponse::Ok();
    response
        .content_type("application/json")
        .insert_header(("Server-Timing", timing));
    if chunks.is_empty() {
        body.extend_from_slice(b"]}");
        return Ok(response.body(body));
    }
    Ok(response.streaming(streamed_rest(state, rendering, body, chunks)))
}

/// How the listed tasks are rendered: the shape `?fields=` and `?include=` ask for, with
/// storage URIs rewritten unless `?resolve_uri=false`.
fn list_rendering(query: &ListQuery, searched: &TaskSearch, user_id: i64) -> Rendering {
    let include = query.include.as_deref().map(|list| {
        list.split(',')
            .map(|key| key.trim().to_owned())
            .filter(|key| !key.is_empty())
            .collect::<Vec<_>>()
    });
    let shape = match (&include, query.fields.as_deref()) {
        (Some(keys), _) if keys.iter().all(|k| k == "id") => Shape::IdsOnly,
        (_, Some("all")) => Shape::Full,
        _ => Shape::Summary,
    };
    Rendering {
        shape,
        data_key: searched.data_key.clone(),
        resolvable: wants_resolved(query.resolve_uri.as_deref())
            .then(|| resolve::resolvable(&searched.import_storages)),
        include,
        user_id,
    }
}

/// The body of a large page: what is rendered already (`head`), then the other chunks as
/// they are rendered, then the end of the JSON.
fn streamed_rest(
    state: State,
    rendering: Arc<Rendering>,
    head: Vec<u8>,
    chunks: Vec<Vec<i64>>,
) -> impl futures_util::Stream<Item = Result<Bytes, ApiError>> {
    // The first chunk is rendered: errors so far were answered with a status. The rest
    // streams; a failure now can only cut the response short (and is logged).
    let rest = stream::iter(chunks)
        .then(move |ids| {
            let (state, rendering) = (state.clone(), Arc::clone(&rendering));
            async move {
                let mut bytes = b",".to_vec();
                let chunk = render_chunk(&state, ids, &rendering)
                    .await
                    .inspect_err(|err| {
                        tracing::error!("a streamed task page was cut short: {err}");
                    })?;
                bytes.extend(chunk);
                Ok::<_, ApiError>(Bytes::from(bytes))
            }
        })
        .chain(stream::once(async { Ok(Bytes::from_static(b"]}")) }));
    stream::once(async move { Ok(Bytes::from(head)) }).chain(rest)
}

/// The project and query a task list asks for: a view's stored query when `?view=` names
/// one (Label Studio lets the view win), else `?query=`; then `?selectedItems=` and
/// `?only_annotated=` narrow it.
async fn task_query_of(
    state: &State,
    user_id: i64,
    query: &ListQuery,
) -> Result<(i64, TaskQuery), ApiError> {
    let view = match query.view.as_deref() {
        None | Some("") | Some("0") => None,
        Some(text) => Some(text.parse::<i64>().map_err(|_| {
            ApiError::field(
                "view",
                format!("Incorrect value in key \"view\" = \"{text}\". It should be digit string."),
            )
        })?),
    };
    let (project_id, mut task_query) = match view {
        Some(view_id) => {
            let (view_project, task_query) =
                super::views::query_of_view(state, user_id, view_id).await?;
            if let Some(project) = query.project.as_deref().filter(|p| !p.is_empty())
                && required_project(Some(project))? != view_project
            {
                return Err(ApiError::invalid(format!(
                    "View {view_id} belongs to another project than {project}."
                )));
            }
            (view_project, task_query)
        }
        None => {
            let project_id = required_project(query.project.as_deref())?;
            let task_query = match query.query.as_deref() {
                None | Some("") => TaskQuery::default(),
                Some(text) => {
                    TaskQuery::from_text(text).map_err(|err| ApiError::field("query", err))?
                }
            };
            (project_id, task_query)
        }
    };
    if let Some(text) = query.selected_items.as_deref().filter(|t| !t.is_empty()) {
        let wrapped = format!("{{\"selectedItems\": {text}}}");
        task_query.selection = TaskQuery::from_text(&wrapped)
            .map_err(|err| ApiError::field("selectedItems", err))?
            .selection;
    }
    // Label Studio lists every task for `{"all": false, "included": []}`, and its clients
    // send that shape for "nothing picked"; an action on it still deletes nothing.
    if matches!(&task_query.selection, Selection::Only(ids) if ids.is_empty()) {
        task_query.selection = Selection::default();
    }
    task_query.annotated_only = query
        .only_annotated
        .as_deref()
        .and_then(crate::config::parse_bool)
        .unwrap_or(false);
    Ok((project_id, task_query))
}

/// The JSON of some tasks, in the order of `ids`, comma-separated.
async fn render_chunk(
    state: &State,
    ids: Vec<i64>,
    how: &Arc<Rendering>,
) -> Result<Vec<u8>, ApiError> {
    let items = load_tasks(state, ids, how).await?;
    let mut out = Vec::with_capacity(items.len() * 512);
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        serde_json::to_writer(&mut out, item).map_err(|err| ApiError::Internal(err.to_string()))?;
    }
    Ok(out)
}

/// Tasks in the shape asked for, in the order of `ids` (one database call).
async fn load_tasks(
    state: &State,
    ids: Vec<i64>,
    how: &Arc<Rendering>,
) -> Result<Vec<Value>, ApiError> {
    if how.shape == Shape::IdsOnly {
        return Ok(ids.into_iter().map(|id| json!({ "id": id })).collect());
    }
    let (rows, summaries, parts) = match how.shape {
        Shape::Full => {
            let (rows, parts) = state.db.tasks_with_parts(ids, how.user_id).await?;
            (rows, HashMap::new(), parts)
        }
        _ => {
            let (rows, summaries) = state.db.tasks_with_summaries(ids).await?;
            (rows, summaries, TaskParts::default())
        }
    };
    let now = Utc::now();
    Ok(rows
        .iter()
        .map(|task| {
            let data = served_data(task, how.data_key.as_deref(), how.resolvable.as_deref());
            let item = match how.shape {
                Shape::Full => records::task_full(task, data, &parts, now),
                _ => records::task_list_item(task, data, summaries.get(&task.id)),
            };
            keep_only(item, how.include.as_deref())
        })
        .collect())
}

/// `?include=a,b`: the task with only those keys.
fn keep_only(item: Value, include: Option<&[String]>) -> Value {
    match (item, include) {
        (Value::Object(map), Some(keys)) => Value::Object(
            map.into_iter()
                .filter(|(key, _)| keys.iter().any(|k| k == key))
                .collect(),
        ),
        (item, _) => item,
    }
}

/// Task data as served: `$undefined$` renamed, storage URIs rewritten unless raw data is asked for.
fn served_data(
    task: &TaskRow,
    data_key: Option<&str>,
    resolvable: Option<&[resolve::Resolvable]>,
) -> Value {
    let mut data = records::task_data(&task.data, data_key);
    if let Some(storages) = resolvable {
        resolve::rewrite(&mut data, task.id, storages);
    }
    data
}

async fn get(
    state: State,
    member: Member,
    id: web::Path<i64>,
    query: web::Query<DetailQuery>,
) -> Result<HttpResponse, ApiError> {
    let resolved = wants_resolved(query.resolve_uri.as_deref());
    Ok(HttpResponse::Ok()
        .json(load_detail(&state, id.into_inner(), resolved, member.user_id()).await?))
}

/// One task with its annotations, predictions and the user's drafts, as
/// `GET /api/tasks/<id>` shows it.
pub(super) async fn load_detail(
    state: &State,
    id: i64,
    resolved: bool,
    user_id: i64,
) -> Result<Value, ApiError> {
    let context = state
        .db
        .task_data_context(id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let rendering = Arc::new(Rendering {
        shape: Shape::Full,
        data_key: first_data_variable(&context.label_config),
        resolvable: resolved.then(|| resolve::resolvable(&context.import_storages)),
        include: None,
        user_id,
    });
    load_tasks(state, vec![id], &rendering)
        .await?
        .pop()
        .ok_or(ApiError::NotFound)
}

async fn create(state: State, user: AuthUser, body: web::Bytes) -> Result<HttpResponse, ApiError> {
    let body = json_object(&body)?;
    let project_id = opt_int(&body, "project")?
        .ok_or_else(|| ApiError::field("project", "This field is required."))?;
    access::require_body_project(&state.db, user.user.id, project_id).await?;
    let data = match body.get("data") {
        Some(Value::Object(data)) => data.clone(),
        Some(_) => return Err(ApiError::field("data", "Expected a dictionary of items.")),
        None => return Err(ApiError::field("data", "This field is required.")),
    };
    let meta = match body.get("meta") {
        Some(Value::Object(meta)) => Value::Object(meta.clone()),
        _ => json!({}),
    };
    let task = NewTask {
        data: Value::Object(data).to_string(),
        meta: meta.to_string(),
        allow_skip: true,
        annotations: Vec::new(),
        predictions: Vec::new(),
        link: None,
    };
    let id = state
        .db
        .create_task(project_id, task)
        .await?
        .ok_or_else(|| {
            ApiError::field(
                "project",
                format!("Invalid pk \"{project_id}\" - object does not exist."),
            )
        })?;
    Ok(HttpResponse::Created().json(load_detail(&state, id, true, user.user.id).await?))
}

async fn update(
    state: State,
    member: Member,
    id: web::Path<i64>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let body = json_object(&body)?;
    let data = match body.get("data") {
        None => None,
        Some(Value::Object(data)) => Some(Value::Object(data.clone()).to_string()),
        Some(_) => return Err(ApiError::field("data", "Expected a dictionary of items.")),
    };
    let meta = match body.get("meta") {
        None => None,
        Some(Value::Object(meta)) => Some(Value::Object(meta.clone()).to_string()),
        Some(_) => return Err(ApiError::field("meta", "Expected a dictionary of items.")),
    };
    super::found(state.db.update_task(id, data, meta).await?)?;
    Ok(HttpResponse::Ok().json(load_detail(&state, id, true, member.user_id()).await?))
}

/// Deletes a task; its annotations go too, and their exported objects with them where the
/// target storage allows deletion. The next sync may import the task's object again.
async fn delete(
    state: State,
    _member: Member,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    super::found(state.db.delete_task(id).await?)?;
    state.exports.poke();
    Ok(HttpResponse::NoContent().finish())
}
