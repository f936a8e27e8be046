//! `/api/tasks`: the task list (the Data Manager's, with Label Studio's filters, ordering,
//! selection and views), one task, create, update, delete.

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
use crate::db::task_search::{self, Search};
use crate::db::tasks::{self as task_rows, NewTask, TaskRow};
use crate::db::{self, projects};
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
    let found = state
        .db
        .call(move |conn| task_rows::next_unlabeled(conn, project_id, after))
        .await?;
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

/// The project's buckets whose URIs are rewritten, in the caller's connection.
fn resolvable_of(
    conn: &rusqlite::Connection,
    project_id: i64,
) -> Result<Vec<resolve::Resolvable>, db::DbError> {
    let storages =
        db::storages::of_project(conn, project_id, db::storages::Direction::Import, None)?;
    Ok(resolve::resolvable(&storages))
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
    let task_query = Arc::new(task_query);
    let searched = Arc::clone(&task_query);
    let found = state
        .db
        .call(move |conn| {
            let Some(config) = projects::label_config(conn, project_id)? else {
                return Ok(None);
            };
            let data_key = first_data_variable(&config);
            let search = Search {
                project_id,
                query: &searched,
                undefined_alias: data_key.as_deref(),
            };
            let started = Instant::now();
            let found = task_search::find(conn, search, page.size, page.offset())?;
            let search_time = started.elapsed();
            let resolvable = resolvable_of(conn, project_id)?;
            Ok(Some((data_key, found, resolvable, search_time)))
        })
        .await?;
    let (data_key, task_search::Found { totals, page: ids }, resolvable, search_time) =
        found.ok_or(ApiError::NotFound)?;
    page.check_exists(totals.tasks)?;
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
    let rendering = Arc::new(Rendering {
        shape,
        data_key,
        resolvable: wants_resolved(query.resolve_uri.as_deref()).then_some(resolvable),
        include,
        user_id: member.user_id(),
    });
    let head = format!(
        "{{\"total_annotations\":{},\"total_predictions\":{},\"total\":{},\"tasks\":[",
        totals.annotations, totals.predictions, totals.tasks
    );
    let mut chunks: Vec<Vec<i64>> = ids.chunks(CHUNK).map(<[i64]>::to_vec).collect();
    let rendered = Instant::now();
    let first = if chunks.is_empty() {
        Vec::new()
    } else {
        render_chunk(&state, chunks.remove(0), &rendering).await?
    };
    // Where the time went, for browsers' developer tools and benchmarks.
    let timing = format!(
        "search;dur={:.1}, rows;dur={:.1}",
        search_time.as_secs_f64() * 1e3,
        rendered.elapsed().as_secs_f64() * 1e3
    );
    let mut body = head.into_bytes();
    body.extend_from_slice(&first);
    if chunks.is_empty() {
        body.extend_from_slice(b"]}");
        return Ok(HttpResponse::Ok()
            .content_type("application/json")
            .insert_header(("Server-Timing", timing))
            .body(body));
    }
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
    let body_stream = stream::once(async move { Ok(Bytes::from(body)) }).chain(rest);
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .insert_header(("Server-Timing", timing))
        .streaming(body_stream))
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
    let (shape, user_id) = (how.shape, how.user_id);
    let (rows, summaries, parts) = state
        .db
        .call(move |conn| {
            let mut rows = task_rows::by_ids(conn, &ids)?;
            let position: std::collections::HashMap<i64, usize> =
                ids.iter().enumerate().map(|(i, id)| (*id, i)).collect();
            rows.sort_by_key(|row| position.get(&row.id).copied().unwrap_or(usize::MAX));
            let (summaries, parts) = match shape {
                Shape::Full => (
                    Default::default(),
                    task_rows::parts_of(conn, &ids, user_id)?,
                ),
                _ => (
                    task_rows::annotation_summaries(conn, &ids)?,
                    Default::default(),
                ),
            };
            Ok((rows, summaries, parts))
        })
        .await?;
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
    let found = state
        .db
        .call(move |conn| {
            let Some(task) = task_rows::get(conn, id)? else {
                return Ok(None);
            };
            let config = projects::label_config(conn, task.project_id)?.unwrap_or_default();
            let resolvable = resolvable_of(conn, task.project_id)?;
            Ok(Some((task.project_id, config, resolvable)))
        })
        .await?;
    let (_, config, resolvable) = found.ok_or(ApiError::NotFound)?;
    let rendering = Arc::new(Rendering {
        shape: Shape::Full,
        data_key: first_data_variable(&config),
        resolvable: resolved.then_some(resolvable),
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
        .write(move |tx| {
            if !projects::exists(tx, project_id)? {
                return Ok(None);
            }
            task_rows::insert_batch(tx, project_id, &[task], &crate::time::now_iso())?;
            Ok(Some(tx.last_insert_rowid()))
        })
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
    let found = state
        .db
        .write(move |tx| {
            if task_rows::get(tx, id)?.is_none() {
                return Ok(false);
            }
            task_rows::update(
                tx,
                id,
                data.as_deref(),
                meta.as_deref(),
                &crate::time::now_iso(),
            )?;
            Ok(true)
        })
        .await?;
    super::found(found)?;
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
    let deleted = state
        .db
        .write(move |tx| {
            let Some(task) = task_rows::get(tx, id)? else {
                return Ok(false);
            };
            task_rows::delete_many(tx, task.project_id, &[id], &crate::time::now_iso())?;
            Ok(true)
        })
        .await?;
    super::found(deleted)?;
    state.exports.poke();
    Ok(HttpResponse::NoContent().finish())
}
