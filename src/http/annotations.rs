//! Annotations: `/api/tasks/<id>/annotations/` and `/api/annotations/<id>/`.
//!
//! Every change queues its export in the same transaction (see [`crate::export`]).

use actix_web::{HttpResponse, web};
use chrono::Utc;
use serde_json::{Map, Value};

use super::access::Member;
use super::{State, json_object, opt_bool, opt_f64, opt_int, opt_string, slash_optional};
use crate::db::annotations::{AnnotationFields, NotCreated};
use crate::error::ApiError;
use crate::records;

pub(super) fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource(slash_optional("/api/tasks/{id}/annotations/"))
            .get(list)
            .post(create),
    )
    .service(
        web::resource(slash_optional("/api/annotations/{id}/"))
            .get(get)
            .patch(update)
            .put(update)
            .delete(delete),
    );
}

async fn list(
    state: State,
    _member: Member,
    task_id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let task_id = task_id.into_inner();
    let found = state.db.annotations_of_task_with_authors(task_id).await?;
    let (rows, authors) = found.ok_or(ApiError::NotFound)?;
    let now = Utc::now();
    let items: Vec<Value> = rows
        .iter()
        .map(|a| {
            records::annotation(
                a,
                authors.iter().find(|u| Some(u.id) == a.completed_by),
                now,
            )
        })
        .collect();
    Ok(HttpResponse::Ok().json(items))
}

async fn create(
    state: State,
    member: Member,
    task_id: web::Path<i64>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let task_id = task_id.into_inner();
    let body = json_object(&body)?;
    let fields = annotation_fields(&body)?;
    let draft_id = opt_int(&body, "draft_id")?;
    let created = state
        .db
        .create_annotation(task_id, member.user_id(), fields, draft_id)
        .await?;
    let id = match created {
        Ok(id) => id,
        Err(NotCreated::NoTask) => return Err(ApiError::NotFound),
        Err(NotCreated::ForeignDraft(draft)) => {
            return Err(ApiError::Forbidden(format!(
                "You have no permission to draft id:{draft}"
            )));
        }
    };
    state.exports.poke();
    Ok(HttpResponse::Created().json(load(&state, id).await?))
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
    let fields = annotation_fields(&json_object(&body)?)?;
    let found = state
        .db
        .change_annotation(id, member.user_id(), fields)
        .await?;
    super::found(found)?;
    state.exports.poke();
    Ok(HttpResponse::Ok().json(load(&state, id).await?))
}

async fn delete(
    state: State,
    member: Member,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let found = state.db.remove_annotation(id, member.user_id()).await?;
    super::found(found)?;
    state.exports.poke();
    Ok(HttpResponse::NoContent().finish())
}

async fn load(state: &State, id: i64) -> Result<Value, ApiError> {
    let found = state.db.annotation_with_author(id).await?;
    let (row, author) = found.ok_or(ApiError::NotFound)?;
    Ok(records::annotation(&row, author.as_ref(), Utc::now()))
}

/// Annotation fields present in a request body, checked.
fn annotation_fields(body: &Map<String, Value>) -> Result<AnnotationFields, ApiError> {
    let result = match body.get("result") {
        None | Some(Value::Null) => None,
        Some(result @ Value::Array(_)) => Some(result.to_string()),
        Some(_) => return Err(ApiError::field("result", "Expected a list of items.")),
    };
    Ok(AnnotationFields {
        result,
        was_cancelled: opt_bool(body, "was_cancelled")?,
        ground_truth: opt_bool(body, "ground_truth")?,
        lead_time: opt_f64(body, "lead_time")?,
        import_id: opt_int(body, "import_id")?,
        last_action: opt_string(body, "last_action")?,
        parent_prediction: opt_int(body, "parent_prediction")?,
        parent_annotation: opt_int(body, "parent_annotation")?,
        draft_created_at: opt_string(body, "draft_created_at")?,
    })
}
