//! `/api/tasks`: the task list (Data Manager shape), one task, create, update, delete.

use actix_web::{HttpResponse, web};
use chrono::Utc;
use serde::Deserialize;
use serde_json::{Value, json};

use super::access::{self, Member};
use super::{Page, State, json_object, opt_int, required_project, slash_optional};
use crate::auth::AuthUser;
use crate::db::tasks::{self as task_rows, NewTask, TaskRow};
use crate::db::{self, annotations, outbox, projects, users};
use crate::error::ApiError;
use crate::label_config::first_data_variable;
use crate::records;
use crate::resolve;

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
    _member: Member,
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
    Ok(HttpResponse::Ok().json(load_detail(&state, task_id, true).await?))
}

#[derive(Debug, Deserialize)]
struct ListQuery {
    project: Option<String>,
    page: Option<String>,
    page_size: Option<String>,
    resolve_uri: Option<String>,
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

/// The project's buckets whose URIs are rewritten, in the caller's connection.
fn resolvable_of(
    conn: &rusqlite::Connection,
    project_id: i64,
) -> Result<Vec<resolve::Resolvable>, db::DbError> {
    let storages =
        db::storages::of_project(conn, project_id, db::storages::Direction::Import, None)?;
    Ok(resolve::resolvable(&storages))
}

async fn list(
    state: State,
    _member: Member,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let project_id = required_project(query.project.as_deref())?;
    let page = Page::from_query(query.page.as_deref(), query.page_size.as_deref(), 100)?;
    let listing = state
        .db
        .call(move |conn| {
            let Some(config) = projects::label_config(conn, project_id)? else {
                return Ok(None);
            };
            let totals = projects::list_totals(conn, project_id)?;
            let rows = task_rows::page(conn, project_id, page.size, page.offset())?;
            let ids: Vec<i64> = rows.iter().map(|t| t.id).collect();
            let summaries = task_rows::annotation_summaries(conn, &ids)?;
            let resolvable = resolvable_of(conn, project_id)?;
            Ok(Some((config, totals, rows, summaries, resolvable)))
        })
        .await?;
    let (config, (total, annotations_total, predictions_total), rows, summaries, resolvable) =
        listing.ok_or(ApiError::NotFound)?;
    page.check_exists(total)?;
    let data_key = first_data_variable(&config);
    let resolvable = wants_resolved(query.resolve_uri.as_deref()).then_some(resolvable.as_slice());
    let tasks: Vec<Value> = rows
        .iter()
        .map(|task| {
            records::task_list_item(
                task,
                served_data(task, data_key.as_deref(), resolvable),
                summaries.get(&task.id),
            )
        })
        .collect();
    Ok(HttpResponse::Ok().json(json!({
        "total_annotations": annotations_total,
        "total_predictions": predictions_total,
        "total": total,
        "tasks": tasks,
    })))
}

async fn get(
    state: State,
    _member: Member,
    id: web::Path<i64>,
    query: web::Query<DetailQuery>,
) -> Result<HttpResponse, ApiError> {
    let resolved = wants_resolved(query.resolve_uri.as_deref());
    Ok(HttpResponse::Ok().json(load_detail(&state, id.into_inner(), resolved).await?))
}

/// One task with its annotations and predictions, as `GET /api/tasks/<id>` shows it.
pub(super) async fn load_detail(state: &State, id: i64, resolved: bool) -> Result<Value, ApiError> {
    let found = state
        .db
        .call(move |conn| {
            let Some(task) = task_rows::get(conn, id)? else {
                return Ok(None);
            };
            let config = projects::label_config(conn, task.project_id)?.unwrap_or_default();
            let annotations = annotations::of_task(conn, id)?;
            let author_ids: Vec<i64> = annotations.iter().filter_map(|a| a.completed_by).collect();
            let authors = users::by_ids(conn, &author_ids)?;
            let predictions = task_rows::predictions_of(conn, id)?;
            let resolvable = resolvable_of(conn, task.project_id)?;
            Ok(Some((
                task,
                config,
                annotations,
                authors,
                predictions,
                resolvable,
            )))
        })
        .await?;
    let (task, config, annotations, authors, predictions, resolvable) =
        found.ok_or(ApiError::NotFound)?;
    let now = Utc::now();
    let annotations = annotations
        .iter()
        .map(|a| {
            records::annotation(
                a,
                authors.iter().find(|u| Some(u.id) == a.completed_by),
                now,
            )
        })
        .collect();
    let predictions = predictions.iter().map(records::prediction).collect();
    let data = served_data(
        &task,
        first_data_variable(&config).as_deref(),
        resolved.then_some(resolvable.as_slice()),
    );
    Ok(records::task_detail(&task, data, annotations, predictions))
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
    Ok(HttpResponse::Created().json(load_detail(&state, id, true).await?))
}

async fn update(
    state: State,
    _member: Member,
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
    if !found {
        return Err(ApiError::NotFound);
    }
    Ok(HttpResponse::Ok().json(load_detail(&state, id, true).await?))
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
            queue_annotation_deletes(tx, &task)?;
            task_rows::delete(tx, id)
        })
        .await?;
    if !deleted {
        return Err(ApiError::NotFound);
    }
    state.exports.poke();
    Ok(HttpResponse::NoContent().finish())
}

fn queue_annotation_deletes(
    tx: &rusqlite::Transaction<'_>,
    task: &TaskRow,
) -> Result<(), db::DbError> {
    let now = crate::time::now_iso();
    for annotation in annotations::of_task(tx, task.id)? {
        outbox::queue_delete(tx, task.project_id, annotation.id, &now)?;
    }
    Ok(())
}
