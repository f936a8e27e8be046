//! Drafts, as Label Studio has them: `GET/POST /api/tasks/<id>/drafts`,
//! `POST /api/tasks/<id>/annotations/<annotation id>/drafts` and `/api/drafts/<id>/`.
//! A draft belongs to its author; nothing exports it.

use actix_web::{HttpResponse, web};
use chrono::Utc;
use serde_json::{Map, Value};

use super::access::Member;
use super::{State, json_object, opt_bool, opt_f64, opt_int, slash_optional};
use crate::db::drafts::DraftFields;
use crate::error::ApiError;
use crate::records;

pub(super) fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource(slash_optional("/api/tasks/{id}/drafts"))
            .get(list)
            .post(create),
    )
    .service(
        web::resource(slash_optional(
            "/api/tasks/{id}/annotations/{annotation}/drafts",
        ))
        .post(create_for_annotation),
    )
    .service(
        web::resource(slash_optional("/api/drafts/{id}/"))
            .get(get)
            .patch(update)
            .put(update)
            .delete(delete),
    );
}

fn draft_fields(body: &Map<String, Value>) -> Result<DraftFields, ApiError> {
    let result = match body.get("result") {
        None | Some(Value::Null) => None,
        Some(result @ Value::Array(_)) => Some(result.to_string()),
        Some(_) => return Err(ApiError::field("result", "Expected a list of items.")),
    };
    Ok(DraftFields {
        result,
        lead_time: opt_f64(body, "lead_time")?,
        was_postponed: opt_bool(body, "was_postponed")?,
        import_id: opt_int(body, "import_id")?,
    })
}

/// Every user's drafts of the task.
async fn list(
    state: State,
    _member: Member,
    task_id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let task_id = task_id.into_inner();
    let (rows, authors) = state.db.drafts_of_task_with_authors(task_id).await?;
    let now = Utc::now();
    let items: Vec<Value> = rows
        .iter()
        .map(|d| records::draft(d, authors.iter().find(|u| u.id == d.user_id), now))
        .collect();
    Ok(HttpResponse::Ok().json(items))
}

async fn create(
    state: State,
    member: Member,
    task_id: web::Path<i64>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    store(&state, &member, task_id.into_inner(), None, &body).await
}

async fn create_for_annotation(
    state: State,
    member: Member,
    path: web::Path<(i64, i64)>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let (task_id, annotation_id) = path.into_inner();
    store(&state, &member, task_id, Some(annotation_id), &body).await
}

/// Stores a new draft of the user's on the task (and annotation, when editing one).
async fn store(
    state: &State,
    member: &Member,
    task_id: i64,
    annotation_id: Option<i64>,
    body: &[u8],
) -> Result<HttpResponse, ApiError> {
    let fields = draft_fields(&json_object(body)?)?;
    let id = state
        .db
        .create_draft(task_id, member.user_id(), annotation_id, fields)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(HttpResponse::Created().json(load(state, id).await?))
}

async fn load(state: &State, id: i64) -> Result<Value, ApiError> {
    let (row, author) = state
        .db
        .draft_with_author(id)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(records::draft(&row, author.as_ref(), Utc::now()))
}

async fn get(state: State, _member: Member, id: web::Path<i64>) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(load(&state, id.into_inner()).await?))
}

async fn update(
    state: State,
    member: Member,
    id: web::Path<i64>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let fields = draft_fields(&json_object(&body)?)?;
    require_author(&state, id, member.user_id()).await?;
    super::found(state.db.update_draft(id, fields).await?)?;
    Ok(HttpResponse::Ok().json(load(&state, id).await?))
}

async fn delete(
    state: State,
    member: Member,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    require_author(&state, id, member.user_id()).await?;
    super::deleted(state.db.delete_draft(id).await?)
}

/// A draft is changed or deleted by its author only: another member may see what was typed
/// (Label Studio lists every user's drafts of a task), never wipe it.
async fn require_author(state: &State, id: i64, user_id: i64) -> Result<(), ApiError> {
    let draft = state.db.draft(id).await?.ok_or(ApiError::NotFound)?;
    if draft.user_id == user_id {
        Ok(())
    } else {
        Err(ApiError::Forbidden(format!(
            "You have no permission to draft id:{id}: it is another user's."
        )))
    }
}
