//! `/api/webhooks/...`: Label Studio's webhook API, and each webhook's last deliveries.
//!
//! A project webhook is reached by the project's members; an organization webhook
//! (`project` null) by the user who created it, and it hears only of the projects that
//! user is a member of. The secret is write-only, and header values that look like
//! credentials are shown masked: sending the mask back keeps the stored value.

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::access::{self, Member};
use super::fields::Fields;
use super::identity::AuthUser;
use super::{ProjectQuery, State, opt_bool, opt_string, slash_optional};
use crate::db::members::Scope;
use crate::db::webhooks::{Action, WebhookFields, WebhookRow};
use crate::error::ApiError;

/// What a masked header value reads as.
const MASK: &str = "********";
/// Deliveries the history shows.
const HISTORY: i64 = 100;

pub(super) fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource(slash_optional("/api/webhooks/info/")).get(info))
        .service(
            web::resource(slash_optional("/api/webhooks/"))
                .get(list)
                .post(create),
        )
        .service(
            web::resource(slash_optional("/api/webhooks/{id}/"))
                .get(get)
                .patch(update)
                .put(update)
                .delete(delete),
        )
        .service(web::resource(slash_optional("/api/webhooks/{id}/deliveries/")).get(deliveries));
}

#[derive(Debug, Deserialize)]
struct InfoQuery {
    #[serde(rename = "organization-only")]
    organization_only: Option<String>,
}

/// `GET /api/webhooks/info/`: the actions a webhook can subscribe to.
async fn info(_user: AuthUser, query: web::Query<InfoQuery>) -> Result<HttpResponse, ApiError> {
    let only = match query.organization_only.as_deref() {
        None | Some("") => None,
        Some(text) => Some(crate::config::parse_bool(text).ok_or_else(|| {
            ApiError::invalid(format!(
                "organization-only must be true or false, not {text:?}"
            ))
        })?),
    };
    Ok(HttpResponse::Ok().json(crate::webhooks::info(only)))
}

/// `GET /api/webhooks/?project=`: the webhooks the user may see.
async fn list(
    state: State,
    member: Member,
    query: web::Query<ProjectQuery>,
) -> Result<HttpResponse, ApiError> {
    let project = query.project()?;
    let rows = state
        .db
        .webhooks_visible_to(member.user_id(), project)
        .await?;
    Ok(HttpResponse::Ok().json(rows.iter().map(webhook_json).collect::<Vec<_>>()))
}

async fn create(state: State, user: AuthUser, body: Fields) -> Result<HttpResponse, ApiError> {
    let mut fields = webhook_fields(&body.0, None)?;
    if fields.url.is_none() {
        return Err(ApiError::field("url", "This field is required."));
    }
    let project = fields.project_id.flatten();
    if let Some(project) = project {
        access::require(&state.db, user.user.id, Scope::Project(project)).await?;
    }
    fields.project_id = Some(project);
    let id = state.db.create_webhook(fields, user.user.id).await?;
    let row = state.db.webhook(id).await?.ok_or(ApiError::NotFound)?;
    Ok(HttpResponse::Created().json(webhook_json(&row)))
}

async fn get(state: State, user: AuthUser, id: web::Path<i64>) -> Result<HttpResponse, ApiError> {
    let row = reachable(&state, &user, *id).await?;
    Ok(HttpResponse::Ok().json(webhook_json(&row)))
}

async fn update(
    state: State,
    user: AuthUser,
    id: web::Path<i64>,
    body: Fields,
) -> Result<HttpResponse, ApiError> {
    let old = reachable(&state, &user, *id).await?;
    let fields = webhook_fields(&body.0, Some(&old))?;
    if let Some(Some(project)) = fields.project_id {
        access::require(&state.db, user.user.id, Scope::Project(project)).await?;
    }
    state.db.update_webhook(old.id, fields).await?;
    let row = state.db.webhook(old.id).await?.ok_or(ApiError::NotFound)?;
    Ok(HttpResponse::Ok().json(webhook_json(&row)))
}

async fn delete(
    state: State,
    user: AuthUser,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let row = reachable(&state, &user, *id).await?;
    state.db.delete_webhook(row.id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `GET /api/webhooks/<id>/deliveries/`: the last deliveries, newest first (labelsync's).
async fn deliveries(
    state: State,
    user: AuthUser,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let row = reachable(&state, &user, *id).await?;
    let list = state.db.webhook_deliveries(row.id, HISTORY).await?;
    Ok(HttpResponse::Ok().json(list))
}

/// The webhook when the user may reach it: 404 when it does not exist, 403 when it is
/// another project's or another user's organization webhook.
async fn reachable(state: &State, user: &AuthUser, id: i64) -> Result<WebhookRow, ApiError> {
    let row = state.db.webhook(id).await?.ok_or(ApiError::NotFound)?;
    match row.project_id {
        Some(project) => {
            access::require(&state.db, user.user.id, Scope::Project(project)).await?;
        }
        None if row.created_by == Some(user.user.id) => {}
        None => {
            return Err(ApiError::Forbidden(
                "This organization webhook belongs to another user.".into(),
            ));
        }
    }
    Ok(row)
}

/// Reads a create (`old` None) or a change; every field is checked, and an error says
/// what to send instead.
fn webhook_fields(
    body: &Map<String, Value>,
    old: Option<&WebhookRow>,
) -> Result<WebhookFields, ApiError> {
    let url = opt_string(body, "url")?.map(checked_url).transpose()?;
    let project_id = match body.get("project") {
        None => None,
        Some(Value::Null) => Some(None),
        Some(Value::String(text)) if text.is_empty() => Some(None),
        Some(_) => Some(super::opt_int(body, "project")?),
    };
    let actions = body.get("actions").map(checked_actions).transpose()?;
    let headers = body
        .get("headers")
        .map(|value| checked_headers(value, old))
        .transpose()?;
    let secret = match body.get("secret") {
        None => None,
        Some(Value::Null) => Some(None),
        Some(Value::String(text)) => Some((!text.is_empty()).then(|| text.clone())),
        Some(_) => return Err(ApiError::field("secret", "Not a valid string.")),
    };
    Ok(WebhookFields {
        project_id,
        url,
        send_payload: opt_bool(body, "send_payload")?,
        send_for_all_actions: opt_bool(body, "send_for_all_actions")?,
        headers,
        is_active: opt_bool(body, "is_active")?,
        actions,
        secret,
    })
}

fn checked_url(url: String) -> Result<String, ApiError> {
    let url = url.trim().to_owned();
    let parsed = reqwest::Url::parse(&url)
        .map_err(|err| ApiError::field("url", format!("Enter a valid URL ({err}).")))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(ApiError::field(
            "url",
            "Enter a valid URL: http:// or https:// and a host.",
        ));
    }
    Ok(url)
}

/// Actions from a JSON list or form text (`"A,B"`), each one of `/api/webhooks/info/`.
fn checked_actions(value: &Value) -> Result<Vec<String>, ApiError> {
    let names: Vec<String> = match value {
        Value::Array(items) => items
            .iter()
            .map(|item| item.as_str().map(str::to_owned))
            .collect::<Option<_>>()
            .ok_or_else(|| ApiError::field("actions", "Expected a list of action names."))?,
        Value::String(text) => text
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        Value::Null => Vec::new(),
        _ => {
            return Err(ApiError::field(
                "actions",
                "Expected a list of action names.",
            ));
        }
    };
    for name in &names {
        if Action::parse(name).is_none() {
            let known: Vec<&str> = Action::ALL.iter().map(|a| a.as_str()).collect();
            return Err(ApiError::field(
                "actions",
                format!(
                    "\"{name}\" is not a valid choice: use one of {}.",
                    known.join(", ")
                ),
            ));
        }
    }
    Ok(names)
}

/// Headers as an object of strings; a masked value sent back keeps the stored one.
fn checked_headers(
    value: &Value,
    old: Option<&WebhookRow>,
) -> Result<Map<String, Value>, ApiError> {
    let parsed;
    let map = match value {
        Value::Object(map) => map,
        Value::String(text) if text.trim().is_empty() => return Ok(Map::new()),
        Value::String(text) => {
            parsed = serde_json::from_str::<Map<String, Value>>(text).map_err(|_| {
                ApiError::field(
                    "headers",
                    "Expected a JSON object of header names and values.",
                )
            })?;
            &parsed
        }
        Value::Null => return Ok(Map::new()),
        _ => {
            return Err(ApiError::field(
                "headers",
                "Expected a JSON object of header names and values.",
            ));
        }
    };
    let mut headers = Map::new();
    for (name, value) in map {
        let Value::String(text) = value else {
            return Err(ApiError::field(
                "headers",
                format!("The value of header \"{name}\" must be a string."),
            ));
        };
        if reqwest::header::HeaderName::from_bytes(name.as_bytes()).is_err() {
            return Err(ApiError::field(
                "headers",
                format!("\"{name}\" is not a valid header name."),
            ));
        }
        let kept = (text == MASK)
            .then(|| old.and_then(|old| old.headers.get(name)))
            .flatten();
        let text = match kept {
            Some(Value::String(stored)) => stored.clone(),
            _ => text.clone(),
        };
        if reqwest::header::HeaderValue::from_str(&text).is_err() {
            return Err(ApiError::field(
                "headers",
                format!("The value of header \"{name}\" is not a valid header value."),
            ));
        }
        headers.insert(name.clone(), Value::String(text));
    }
    Ok(headers)
}

/// Header names whose values are credentials.
fn is_sensitive(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    [
        "auth",
        "token",
        "secret",
        "key",
        "cookie",
        "password",
        "signature",
    ]
    .iter()
    .any(|word| name.contains(word))
}

/// A webhook in Label Studio's shape, with `has_secret` beside it; no secret in it.
fn webhook_json(row: &WebhookRow) -> Value {
    let headers: Map<String, Value> = row
        .headers
        .iter()
        .map(|(name, value)| {
            let shown = if is_sensitive(name) {
                json!(MASK)
            } else {
                value.clone()
            };
            (name.clone(), shown)
        })
        .collect();
    json!({
        "id": row.id,
        "organization": 1,
        "project": row.project_id,
        "url": row.url,
        "send_payload": row.send_payload,
        "send_for_all_actions": row.send_for_all_actions,
        "headers": headers,
        "is_active": row.is_active,
        "actions": row.actions,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
        "has_secret": row.secret.is_some(),
    })
}
