//! `/api/dm/views/`: the Data Manager's tabs. A view keeps the frontend's `data` as sent
//! (title, filters, ordering, columns, ...) once its filters and ordering have been checked,
//! so a view can never hold a query that fails later; `GET /api/tasks?view=<id>` applies it.

use actix_web::{HttpResponse, web};
use serde_json::{Map, Value, json};

use super::access::{self, Member};
use super::{ProjectQuery, State, json_object, opt_int, required_project, slash_optional};
use crate::db::members::Scope;
use crate::db::views::ViewRow;
use crate::error::ApiError;
use crate::task_query::TaskQuery;

pub(super) fn routes(cfg: &mut web::ServiceConfig) {
    // The fixed paths first: `reset` and `order` are not view ids.
    cfg.service(web::resource(slash_optional("/api/dm/views/reset/")).delete(reset))
        .service(web::resource(slash_optional("/api/dm/views/order/")).post(reorder))
        .service(
            web::resource(slash_optional("/api/dm/views/"))
                .get(list)
                .post(create),
        )
        .service(
            web::resource(slash_optional("/api/dm/views/{id}/"))
                .get(get)
                .patch(update)
                .put(update)
                .delete(delete),
        );
}

/// A view as Label Studio shows it: `{id, data, order, user, project}`.
fn view_json(row: &ViewRow) -> Value {
    json!({
        "id": row.id,
        "data": serde_json::from_str::<Value>(&row.data).unwrap_or_else(|_| json!({})),
        "order": row.position,
        "user": row.user_id,
        "project": row.project_id,
    })
}

/// The view's query (its filters, ordering and selected items) and its project, for a user
/// who may see it: 404 when it does not exist, 403 outside its project.
pub(super) async fn query_of_view(
    state: &State,
    user_id: i64,
    view_id: i64,
) -> Result<(i64, TaskQuery), ApiError> {
    let project_id = access::require(&state.db, user_id, Scope::View(view_id)).await?;
    let row = state.db.view(view_id).await?.ok_or(ApiError::NotFound)?;
    let data: Value = serde_json::from_str(&row.data).unwrap_or_else(|_| json!({}));
    let query = TaskQuery::from_json(&data).map_err(|err| {
        ApiError::invalid(format!(
            "View {view_id} holds a query that no longer reads: {err}"
        ))
    })?;
    Ok((project_id, query))
}

/// A view's `data` from a request: an object whose filters and ordering read as a query.
fn checked_data(body: &Map<String, Value>) -> Result<Option<String>, ApiError> {
    match body.get("data") {
        None => Ok(None),
        Some(Value::Null) => Ok(Some("{}".to_owned())),
        Some(data @ Value::Object(_)) => {
            TaskQuery::from_json(data).map_err(|err| ApiError::field("data", err))?;
            Ok(Some(data.to_string()))
        }
        Some(_) => Err(ApiError::field("data", "Expected a dictionary of items.")),
    }
}

async fn list(
    state: State,
    member: Member,
    query: web::Query<ProjectQuery>,
) -> Result<HttpResponse, ApiError> {
    let project = query.project()?;
    let rows = state.db.views(project, member.user_id()).await?;
    Ok(HttpResponse::Ok().json(rows.iter().map(view_json).collect::<Vec<_>>()))
}

async fn create(state: State, member: Member, body: web::Bytes) -> Result<HttpResponse, ApiError> {
    let body = json_object(&body)?;
    let project_id = opt_int(&body, "project")?
        .ok_or_else(|| ApiError::field("project", "This field is required."))?;
    access::require_body_project(&state.db, member.user_id(), project_id).await?;
    let data = checked_data(&body)?.unwrap_or_else(|| "{}".to_owned());
    let position = opt_int(&body, "order")?;
    let row = state
        .db
        .create_view(project_id, member.user_id(), data, position)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(HttpResponse::Created().json(view_json(&row)))
}

async fn get(state: State, _member: Member, id: web::Path<i64>) -> Result<HttpResponse, ApiError> {
    let row = state
        .db
        .view(id.into_inner())
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(HttpResponse::Ok().json(view_json(&row)))
}

/// PATCH and PUT: a new `data` replaces the old one whole (the frontend always sends all
/// of it); `order` moves the tab.
async fn update(
    state: State,
    _member: Member,
    id: web::Path<i64>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let body = json_object(&body)?;
    let data = checked_data(&body)?;
    let position = opt_int(&body, "order")?;
    let row = state
        .db
        .update_view(id, data, position)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(HttpResponse::Ok().json(view_json(&row)))
}

async fn delete(
    state: State,
    _member: Member,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    super::deleted(state.db.delete_view(id.into_inner()).await?)
}

/// `DELETE /api/dm/views/reset/`: every view of the project (`project` in the body or the
/// query string) goes.
async fn reset(
    state: State,
    member: Member,
    query: web::Query<ProjectQuery>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let body = json_object(&body)?;
    let project_id = match opt_int(&body, "project")? {
        Some(id) => id,
        None => required_project(query.project.as_deref())?,
    };
    access::require_body_project(&state.db, member.user_id(), project_id).await?;
    state.db.delete_views_of_project(project_id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `POST /api/dm/views/order/` `{"project", "ids": [...]}`: the tabs in this order.
async fn reorder(state: State, member: Member, body: web::Bytes) -> Result<HttpResponse, ApiError> {
    let body = json_object(&body)?;
    let project_id = opt_int(&body, "project")?
        .ok_or_else(|| ApiError::field("project", "This field is required."))?;
    let ids: Vec<i64> = match body.get("ids") {
        Some(Value::Array(items)) if !items.is_empty() => items
            .iter()
            .map(|v| {
                v.as_i64()
                    .ok_or_else(|| ApiError::field("ids", "A list of view ids is required."))
            })
            .collect::<Result<_, _>>()?,
        _ => {
            return Err(ApiError::field(
                "ids",
                "A non-empty list of view ids is required.",
            ));
        }
    };
    access::require_body_project(&state.db, member.user_id(), project_id).await?;
    state.db.reorder_views(project_id, ids).await?;
    Ok(HttpResponse::Ok().finish())
}
