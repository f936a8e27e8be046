//! `/api/dm/actions/`: what the Data Manager does to a selection of tasks (delete them,
//! their annotations or their predictions). The selection is Label Studio's: a view, or
//! filters plus `selectedItems` in the body, resolved in SQL; the work is done in batches,
//! each one transaction with its export outbox entries.

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::{Value, json};

use super::access::{self, Member};
use super::{State, json_object, opt_int, slash_optional};
use crate::error::ApiError;
use crate::task_query::TaskQuery;

pub(super) fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource(slash_optional("/api/dm/actions/"))
            .get(list)
            .post(run),
    )
    .service(web::resource(slash_optional("/api/projects/{id}/tasks/")).delete(delete_all_tasks));
}

/// `DELETE /api/projects/<id>/tasks/`: every task of the project, as the Data Manager's
/// delete action on a select-all does, batch by batch; 204.
async fn delete_all_tasks(
    state: State,
    member: Member,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let project_id = id.into_inner();
    let ids = selected_ids(&state, project_id, TaskQuery::default()).await?;
    perform(
        &state,
        Action::Tasks,
        project_id,
        ids,
        None,
        member.user_id(),
    )
    .await?;
    state.exports.poke();
    Ok(HttpResponse::NoContent().finish())
}

/// What an action deletes from the selected tasks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Tasks,
    Annotations,
    Predictions,
}

/// Every action: its id, title, order and confirmation text, as Label Studio lists them.
const ACTIONS: &[(Action, &str, &str, i64, &str)] = &[
    (
        Action::Tasks,
        "delete_tasks",
        "Delete Tasks",
        100,
        "You are going to delete the selected tasks. Please confirm your action.",
    ),
    (
        Action::Annotations,
        "delete_tasks_annotations",
        "Delete Annotations",
        101,
        "You are going to delete annotations from the selected tasks. Please confirm your action.",
    ),
    (
        Action::Predictions,
        "delete_tasks_predictions",
        "Delete Predictions",
        102,
        "You are going to delete all predictions from the selected tasks. Please confirm your action.",
    ),
];

/// Tasks per transaction, so that a large selection never holds the write lock long.
const BATCH: usize = 1_000;

#[derive(Debug, Deserialize)]
struct ActionQuery {
    id: Option<String>,
    project: Option<String>,
    view: Option<String>,
}

async fn list(_member: Member) -> HttpResponse {
    let items: Vec<Value> = ACTIONS
        .iter()
        .map(|(action, id, title, order, text)| {
            json!({
                "id": id, "title": title, "order": order,
                "permission": if *action == Action::Tasks { "tasks.delete" } else { "tasks.change" },
                "reload": *action == Action::Tasks,
                "dialog": {"text": text, "type": "confirm"},
            })
        })
        .collect();
    HttpResponse::Ok().json(items)
}

/// `POST /api/dm/actions/?id=<action>&project=<id>` with the selection in the body.
async fn run(
    state: State,
    member: Member,
    query: web::Query<ActionQuery>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let body = json_object(&body)?;
    let action = match query.id.as_deref() {
        None | Some("") => {
            return Err(ApiError::invalid("No action id: use ?id=<action-id>."));
        }
        Some(id) => ACTIONS
            .iter()
            .find(|(_, known, ..)| *known == id)
            .map(|(action, ..)| *action)
            .ok_or_else(|| {
                let known: Vec<&str> = ACTIONS.iter().map(|(_, id, ..)| *id).collect();
                ApiError::invalid(format!(
                    "Unknown action \"{id}\"; the actions are: {}.",
                    known.join(", ")
                ))
            })?,
    };
    let view = match query.view.as_deref() {
        Some(text) if !text.is_empty() => text.parse::<i64>().ok(),
        _ => opt_int(&body, "view")?,
    };
    let (project_id, task_query) = match view.filter(|id| *id > 0) {
        Some(view_id) => super::views::query_of_view(&state, member.user_id(), view_id).await?,
        None => {
            let project_id = match query.project.as_deref() {
                Some(text) if !text.is_empty() => super::required_project(Some(text))?,
                _ => {
                    let id = opt_int(&body, "project")?.ok_or_else(|| {
                        ApiError::invalid("query parameter \"project\" is required")
                    })?;
                    access::require_body_project(&state.db, member.user_id(), id).await?;
                    id
                }
            };
            let task_query =
                TaskQuery::from_json(&Value::Object(body.clone())).map_err(ApiError::invalid)?;
            (project_id, task_query)
        }
    };
    let annotator = opt_int(&body, "annotator")?;
    let ids = selected_ids(&state, project_id, task_query).await?;
    let done = perform(&state, action, project_id, ids, annotator, member.user_id()).await?;
    state.exports.poke();
    Ok(HttpResponse::Ok().json(done))
}

/// Every task the selection covers, in id order.
async fn selected_ids(
    state: &State,
    project_id: i64,
    task_query: TaskQuery,
) -> Result<Vec<i64>, ApiError> {
    Ok(state.db.all_task_ids(project_id, task_query).await?)
}

/// Runs the action batch by batch; answers as Label Studio does.
async fn perform(
    state: &State,
    action: Action,
    project_id: i64,
    ids: Vec<i64>,
    annotator: Option<i64>,
    user_id: i64,
) -> Result<Value, ApiError> {
    let mut processed = 0;
    for batch in ids.chunks(BATCH) {
        let batch = batch.to_vec();
        processed += match action {
            Action::Tasks => state.db.delete_tasks(project_id, batch).await?,
            Action::Annotations => {
                state
                    .db
                    .remove_annotations_of_tasks(project_id, batch, annotator, user_id)
                    .await?
            }
            Action::Predictions => state.db.delete_predictions_of_tasks(batch).await?,
        };
    }
    Ok(match action {
        Action::Tasks => {
            let left = state.db.project_stats(project_id).await?.task_number;
            json!({"processed_items": processed, "reload": left == 0, "detail": format!("Deleted {processed} tasks")})
        }
        Action::Annotations => {
            json!({"processed_items": processed, "detail": format!("Deleted {processed} annotations")})
        }
        Action::Predictions => {
            json!({"processed_items": processed, "detail": format!("Deleted {processed} predictions")})
        }
    })
}
