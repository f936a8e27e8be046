//! Predictions: `/api/predictions/` (list by task or project, create, read, change,
//! delete) and `POST /api/projects/<id>/import/predictions` (many at once). A task's
//! prediction count and score change in the same transaction as its predictions.

use actix_web::{HttpResponse, web};
use chrono::Utc;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::access::{self, Member};
use super::{State, json_object, opt_int, opt_string, slash_optional};
use crate::db::members::Scope;
use crate::db::predictions::{self, NewPrediction, PredictionChanges};
use crate::error::ApiError;
use crate::label_config::control_tags;
use crate::predictions::{DefaultVersion, from_object, score_of};
use crate::records;

pub(super) fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource(slash_optional("/api/predictions/"))
            .get(list)
            .post(create),
    )
    .service(
        web::resource(slash_optional("/api/predictions/{id}/"))
            .get(get)
            .patch(update)
            .put(update)
            .delete(delete),
    )
    .service(web::resource(slash_optional("/api/projects/{id}/import/predictions")).post(import));
}

#[derive(Debug, Deserialize)]
struct ListQuery {
    task: Option<String>,
    project: Option<String>,
}

fn id_param(name: &str, text: Option<&str>) -> Result<Option<i64>, ApiError> {
    match text {
        None | Some("") => Ok(None),
        Some(text) => text.parse().map(Some).map_err(|_| {
            ApiError::invalid(format!(
                "query parameter \"{name}\" must be an integer, not {text:?}"
            ))
        }),
    }
}

/// `GET /api/predictions/?task=&project=`: a plain list, as Label Studio's; without either,
/// the predictions of every project the user is a member of.
async fn list(
    state: State,
    member: Member,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let scope = match (
        id_param("task", query.task.as_deref())?,
        id_param("project", query.project.as_deref())?,
    ) {
        (Some(task), _) => {
            access::require(&state.db, member.user_id(), Scope::Task(task)).await?;
            predictions::Scope::Task(task)
        }
        (None, Some(project)) => {
            access::require(&state.db, member.user_id(), Scope::Project(project)).await?;
            predictions::Scope::Project(project)
        }
        (None, None) => predictions::Scope::MemberOf(member.user_id()),
    };
    let rows = state.db.predictions(scope).await?;
    let now = Utc::now();
    let items: Vec<Value> = rows
        .iter()
        .map(|row| records::prediction(row, now))
        .collect();
    Ok(HttpResponse::Ok().json(items))
}

/// `POST /api/predictions/` `{"task", "result", "score"?, "model_version"?}`.
async fn create(state: State, member: Member, body: web::Bytes) -> Result<HttpResponse, ApiError> {
    let body = json_object(&body)?;
    let task_id = opt_int(&body, "task")?
        .ok_or_else(|| ApiError::field("task", "This field is required."))?;
    let project_id = match access::require(&state.db, member.user_id(), Scope::Task(task_id)).await
    {
        Err(ApiError::NotFound) => {
            return Err(ApiError::field(
                "task",
                format!("Invalid pk \"{task_id}\" - object does not exist."),
            ));
        }
        other => other?,
    };
    let config = label_config_of(&state, project_id).await?;
    let prediction = from_object(&body, &control_tags(&config), DefaultVersion::Empty)
        .map_err(|refused| ApiError::field(refused.field, refused.message))?;
    // The task may have gone since the access check: then nothing is stored.
    let id = state
        .db
        .create_predictions(project_id, vec![(task_id, prediction)])
        .await?
        .ok()
        .and_then(|ids| ids.first().copied())
        .ok_or_else(|| {
            ApiError::field(
                "task",
                format!("Invalid pk \"{task_id}\" - object does not exist."),
            )
        })?;
    Ok(HttpResponse::Created().json(load(&state, id).await?))
}

async fn label_config_of(state: &State, project_id: i64) -> Result<String, ApiError> {
    state
        .db
        .label_config(project_id)
        .await?
        .ok_or(ApiError::NotFound)
}

async fn load(state: &State, id: i64) -> Result<Value, ApiError> {
    let row = state.db.prediction(id).await?.ok_or(ApiError::NotFound)?;
    Ok(records::prediction(&row, Utc::now()))
}

async fn get(state: State, _member: Member, id: web::Path<i64>) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(load(&state, id.into_inner()).await?))
}

async fn update(
    state: State,
    _member: Member,
    id: web::Path<i64>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let body = json_object(&body)?;
    let changes = prediction_changes(&state, id, &body).await?;
    super::found(state.db.update_prediction(id, changes).await?)?;
    Ok(HttpResponse::Ok().json(load(&state, id).await?))
}

/// The fields a PATCH changes, read as a new prediction would be.
async fn prediction_changes(
    state: &State,
    id: i64,
    body: &Map<String, Value>,
) -> Result<PredictionChanges, ApiError> {
    let mut changes = PredictionChanges {
        model_version: opt_string(body, "model_version")?,
        ..PredictionChanges::default()
    };
    if body.contains_key("score") {
        changes.score = Some(
            score_of(body.get("score"))
                .map_err(|refused| ApiError::field(refused.field, refused.message))?,
        );
    }
    if body.contains_key("result") {
        let project_id = state
            .db
            .prediction(id)
            .await?
            .ok_or(ApiError::NotFound)?
            .project_id;
        let config = label_config_of(state, project_id).await?;
        let read = from_object(body, &control_tags(&config), DefaultVersion::Empty)
            .map_err(|refused| ApiError::field(refused.field, refused.message))?;
        changes.result = Some(read.result);
    }
    Ok(changes)
}

async fn delete(
    state: State,
    _member: Member,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    super::deleted(state.db.delete_prediction(id.into_inner()).await?)
}

/// `POST /api/projects/<id>/import/predictions`: a list of `{"task", "result", ...}`, all
/// stored or none (Label Studio drops the ones it cannot read without a word; here the
/// first of them is named in a 400).
async fn import(
    state: State,
    _member: Member,
    id: web::Path<i64>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let project_id = id.into_inner();
    let items = match serde_json::from_slice::<Value>(&body) {
        Ok(Value::Array(items)) => items,
        Ok(_) => return Err(ApiError::invalid("Send a JSON list of predictions.")),
        Err(err) => return Err(ApiError::Parse(format!("JSON parse error - {err}"))),
    };
    let project = state
        .db
        .project(project_id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let (title, config) = (project.title, project.label_config);
    let controls = control_tags(&config);
    let mut wanted: Vec<(i64, NewPrediction)> = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        let Value::Object(object) = item else {
            return Err(ApiError::invalid(format!(
                "Prediction {index}: must be a JSON object."
            )));
        };
        let task = object.get("task").and_then(Value::as_i64).ok_or_else(|| {
            ApiError::invalid(format!(
                "Prediction {index}: \"task\" (a task id) is required."
            ))
        })?;
        let prediction =
            from_object(object, &controls, DefaultVersion::Undefined).map_err(|r| {
                ApiError::invalid(format!(
                    "Prediction {index}: \"{}\": {}",
                    r.field, r.message
                ))
            })?;
        wanted.push((task, prediction));
    }
    let created = state
        .db
        .create_predictions(project_id, wanted)
        .await?
        .map(|ids| ids.len())
        .map_err(|stranger| {
            ApiError::invalid(format!(
                "Prediction for task {stranger} contains invalid \"task\" field: corresponding task ID couldn't be retrieved from project {title} (id={project_id}) tasks"
            ))
        })?;
    Ok(HttpResponse::Created().json(serde_json::json!({ "created": created })))
}
