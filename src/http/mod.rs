//! The route table (the only one) and helpers shared by the handlers.
//!
//! Paths follow Label Studio, including its slash rule: a route defined with a trailing
//! slash also answers without it, while a route defined without one does not answer with
//! an extra slash (`/api/storages/export/localfiles/` is a 404 there too).

mod access;
mod actions;
mod annotations;
mod auth;
mod drafts;
mod exports;
mod fields;
mod identity;
mod local_files;
mod predictions;
mod projects;
mod resolve;
mod storages;
mod tasks;
mod ui;
mod users;
mod views;
mod webhooks;

use actix_web::dev::ServiceResponse;
use actix_web::http::StatusCode;
use actix_web::middleware::{ErrorHandlerResponse, ErrorHandlers};
use actix_web::{HttpResponse, ResponseError, web};
use serde_json::{Map, Value};

use crate::config::Config;
use crate::db::Db;
use crate::error::ApiError;
use crate::export::outbox::ExportQueue;
use crate::jobs::Syncs;
use crate::storage::ProviderContext;

/// Everything a request handler may use, shared by all HTTP workers.
pub struct AppState {
    pub config: Config,
    pub db: Db,
    pub syncs: Syncs,
    pub exports: ExportQueue,
    /// Builds webhook payloads after a change and wakes their delivery.
    pub hooks: crate::webhooks::Hooks,
    pub providers: ProviderContext,
    /// Signs and checks personal access tokens (JWT).
    pub keys: crate::jwt::Keys,
}

/// Registers every route.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.app_data(web::PayloadConfig::new(64 * 1024 * 1024))
        .app_data(
            web::QueryConfig::default()
                .error_handler(|err, _| ApiError::invalid(err.to_string()).into()),
        )
        .app_data(web::PathConfig::default().error_handler(|_, _| ApiError::NotFound.into()))
        .app_data(
            web::JsonConfig::default().error_handler(|err, _| {
                ApiError::Parse(format!("JSON parse error - {err}")).into()
            }),
        )
        .service(web::resource(slash_optional("/health/")).get(health))
        .service(web::resource(slash_optional("/api/version/")).get(version));
    auth::routes(cfg);
    auth::token_routes(cfg);
    users::routes(cfg);
    projects::routes(cfg);
    tasks::routes(cfg);
    drafts::routes(cfg);
    exports::routes(cfg);
    annotations::routes(cfg);
    predictions::routes(cfg);
    views::routes(cfg);
    webhooks::routes(cfg);
    actions::routes(cfg);
    storages::routes(cfg);
    local_files::routes(cfg);
    resolve::routes(cfg);
    ui::routes(cfg);
    cfg.default_service(web::to(not_found));
}

/// Turns actix's bare 405 into Label Studio's envelope; install with `App::wrap`.
pub fn error_envelopes() -> ErrorHandlers<actix_web::body::BoxBody> {
    ErrorHandlers::new().handler(StatusCode::METHOD_NOT_ALLOWED, |res: ServiceResponse| {
        let message = format!("Method \"{}\" not allowed.", res.request().method());
        let body = ApiError::MethodNotAllowed(message).error_response();
        Ok(ErrorHandlerResponse::Response(
            res.into_response(body).map_into_left_body(),
        ))
    })
}

/// A route path and, for a path ending in `/`, the same path without it.
fn slash_optional(path: &str) -> Vec<String> {
    match path.strip_suffix('/') {
        Some(bare) if !bare.is_empty() => vec![path.to_owned(), bare.to_owned()],
        _ => vec![path.to_owned()],
    }
}

async fn health() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({"status": "UP"}))
}

/// The Label Studio release whose API labelsync speaks (clients read `release`).
const LABEL_STUDIO_API: &str = "1.23.2";

/// Label Studio's version document: its fields, filled with what this server is, and
/// labelsync's own version beside them.
async fn version() -> HttpResponse {
    let ours = env!("CARGO_PKG_VERSION");
    let component = |message: String| serde_json::json!({"message": message, "commit": "", "date": "", "branch": ""});
    HttpResponse::Ok().json(serde_json::json!({
        "release": LABEL_STUDIO_API,
        "label-studio-os-package": {
            "version": LABEL_STUDIO_API, "short_version": "1.23", "latest_version_from_pypi": null,
            "latest_version_upload_time": null, "current_version_is_outdated": false,
        },
        "label-studio-os-backend": component(format!("labelsync {ours}")),
        "label-studio-frontend": component("@heartexlabs/label-studio 1.4.0".to_owned()),
        "lsf": component("@heartexlabs/label-studio 1.4.0".to_owned()),
        "edition": "Community",
        "labelsync": {"version": ours, "label_studio_api": LABEL_STUDIO_API, "editor": "@heartexlabs/label-studio 1.4.0"},
    }))
}

/// HEAD answers as GET does, without the body (the HTTP layer leaves the body out of a HEAD
/// answer and keeps its length); OPTIONS answers 200 with the methods, as Django REST
/// framework's metadata answer does, for clients and proxies that probe.
pub async fn head_and_options(
    mut req: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody + 'static>,
) -> Result<ServiceResponse<actix_web::body::BoxBody>, actix_web::Error> {
    use actix_web::http::Method;
    if req.method() == Method::OPTIONS {
        let answer = HttpResponse::Ok()
            .insert_header((
                actix_web::http::header::ALLOW,
                "GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS",
            ))
            .json(serde_json::json!({
                "name": req.path(),
                "renders": ["application/json"],
                "parses": ["application/json", "application/x-www-form-urlencoded", "multipart/form-data"],
            }));
        return Ok(req.into_response(answer));
    }
    let head = req.method() == Method::HEAD;
    if head {
        req.head_mut().method = Method::GET;
    }
    let response = next.call(req).await?.map_into_boxed_body();
    // The HTTP layer leaves out a HEAD answer's body but still runs a streamed one to its
    // end (a whole export): drop it unread.
    use actix_web::body::MessageBody;
    if head
        && matches!(
            response.response().body().size(),
            actix_web::body::BodySize::Stream
        )
    {
        return Ok(response.map_body(|_, _| actix_web::body::BoxBody::new(())));
    }
    Ok(response)
}

/// After a request that may have changed something (any method but GET and HEAD), the
/// payloads of the webhook events it caused are built before it is answered, so they show
/// the change as this request made it.
pub async fn webhook_payloads(
    req: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody + 'static>,
) -> Result<ServiceResponse<actix_web::body::BoxBody>, actix_web::Error> {
    use actix_web::http::Method;
    let writes = !matches!(*req.method(), Method::GET | Method::HEAD);
    let hooks = req
        .app_data::<web::Data<AppState>>()
        .map(|state| state.hooks.clone());
    let response = next.call(req).await?.map_into_boxed_body();
    if writes && let Some(hooks) = hooks {
        hooks.after_change().await;
    }
    Ok(response)
}

async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::NotFound)
}

/// The answer to a `DELETE` of one row: 204 when it was removed, 404 when there was none.
fn deleted(found: bool) -> Result<HttpResponse, ApiError> {
    if found {
        Ok(HttpResponse::NoContent().finish())
    } else {
        Err(ApiError::NotFound)
    }
}

/// 404 unless the row a write meant to change was there.
fn found(found: bool) -> Result<(), ApiError> {
    if found {
        Ok(())
    } else {
        Err(ApiError::NotFound)
    }
}

type State = web::Data<AppState>;

/// Parses a JSON request body into an object; an empty body is an empty object.
fn json_object(body: &[u8]) -> Result<Map<String, Value>, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(ApiError::invalid("Invalid data. Expected a dictionary.")),
        Err(err) => Err(ApiError::Parse(format!("JSON parse error - {err}"))),
    }
}

/// Reads an optional string field.
fn opt_string(body: &Map<String, Value>, name: &str) -> Result<Option<String>, ApiError> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(ApiError::field(name, "Not a valid string.")),
    }
}

/// Reads an optional boolean field (DRF spellings accepted).
fn opt_bool(body: &Map<String, Value>, name: &str) -> Result<Option<bool>, ApiError> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(Value::String(s)) => crate::config::parse_bool(s)
            .map(Some)
            .ok_or_else(|| ApiError::field(name, "Must be a valid boolean.")),
        Some(_) => Err(ApiError::field(name, "Must be a valid boolean.")),
    }
}

/// Reads an optional integer field.
fn opt_int(body: &Map<String, Value>, name: &str) -> Result<Option<i64>, ApiError> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) if n.is_i64() => Ok(n.as_i64()),
        Some(Value::String(s)) => s
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| ApiError::field(name, "A valid integer is required.")),
        Some(_) => Err(ApiError::field(name, "A valid integer is required.")),
    }
}

/// Reads an optional number field.
fn opt_f64(body: &Map<String, Value>, name: &str) -> Result<Option<f64>, ApiError> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => Ok(n.as_f64()),
        Some(_) => Err(ApiError::field(name, "A valid number is required.")),
    }
}

/// Page number and size from `?page=&page_size=`, with DRF's messages.
#[derive(Debug, Clone, Copy)]
struct Page {
    number: i64,
    size: i64,
}

impl Page {
    /// Reads the page. Every page size is served as asked (never a smaller page passed off
    /// as the one asked for): the task list streams large pages.
    fn from_query(
        page: Option<&str>,
        page_size: Option<&str>,
        default_size: i64,
    ) -> Result<Page, ApiError> {
        let number = match page {
            None | Some("") => 1,
            Some(text) => text
                .parse::<i64>()
                .ok()
                .filter(|n| *n >= 1)
                .ok_or(ApiError::NotFound)?,
        };
        let size = match page_size {
            None | Some("") => default_size,
            Some(text) => text
                .parse::<i64>()
                .ok()
                .filter(|n| *n >= 1)
                .unwrap_or(default_size),
        };
        // A page whose first or last row is beyond any count is not there ("Invalid page.").
        (number - 1)
            .checked_mul(size)
            .and_then(|offset| offset.checked_add(size))
            .ok_or(ApiError::NotFound)?;
        Ok(Page { number, size })
    }

    fn offset(self) -> i64 {
        (self.number - 1) * self.size
    }

    /// DRF answers 404 "Invalid page." past the last page (page 1 always exists).
    fn check_exists(self, total: i64) -> Result<(), ApiError> {
        if self.number > 1 && self.offset() >= total {
            Err(ApiError::NotFound)
        } else {
            Ok(())
        }
    }
}

/// The absolute URL of another page of this list, as Django REST framework writes `next`
/// and `previous`: the request's own URL with `page` replaced (and dropped for page 1).
fn page_link(req: &actix_web::HttpRequest, number: i64) -> String {
    let info = req.connection_info();
    let mut pairs: Vec<(String, String)> = url_pairs(req.query_string())
        .filter(|(key, _)| key != "page")
        .collect();
    if number > 1 {
        pairs.push(("page".to_owned(), number.to_string()));
    }
    let query: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{}={}", encode_query(k), encode_query(v)))
        .collect();
    let mut link = format!("{}://{}{}", info.scheme(), info.host(), req.path());
    if !query.is_empty() {
        link.push('?');
        link.push_str(&query.join("&"));
    }
    link
}

/// The decoded key/value pairs of a query string.
fn url_pairs(query: &str) -> impl Iterator<Item = (String, String)> + '_ {
    query.split('&').filter(|p| !p.is_empty()).map(|pair| {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let decode = |text: &str| {
            percent_encoding::percent_decode_str(&text.replace('+', " "))
                .decode_utf8_lossy()
                .into_owned()
        };
        (decode(key), decode(value))
    })
}

/// What a query string component may not hold as is (RFC 3986's unreserved characters
/// stay readable: `page_size`, not `page%5Fsize`).
const QUERY_COMPONENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

fn encode_query(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, QUERY_COMPONENT).to_string()
}

/// `?project=` as an id, with Label Studio's message when it is missing.
/// `?project=` of a list that may name a project: none when absent or empty.
#[derive(Debug, serde::Deserialize)]
struct ProjectQuery {
    project: Option<String>,
}

impl ProjectQuery {
    fn project(&self) -> Result<Option<i64>, ApiError> {
        match self.project.as_deref() {
            None | Some("") => Ok(None),
            some => required_project(some).map(Some),
        }
    }
}

fn required_project(project: Option<&str>) -> Result<i64, ApiError> {
    match project {
        None | Some("") => Err(ApiError::invalid("query parameter \"project\" is required")),
        Some(text) => text.parse().map_err(|_| {
            ApiError::invalid(format!(
                "query parameter \"project\" must be an integer, not {text:?}"
            ))
        }),
    }
}
