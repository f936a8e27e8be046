//! `/api/projects/`: list, create, read, update, delete, and import of tasks (a JSON body
//! or uploaded JSON / JSON Lines files).

use std::time::Instant;

use actix_multipart::Multipart;
use actix_web::{HttpRequest, HttpResponse, web};
use futures_util::StreamExt;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::access::Member;
use super::fields::Fields;
use super::identity::AuthUser;
use super::{Page, State, json_object, opt_int, opt_string, page_link, slash_optional};
use crate::db::projects::{ProjectColumn, ProjectFields, ProjectFilter};
use crate::db::tasks::NewTask;
use crate::error::ApiError;
use crate::records;
use crate::sync::task_file;

pub(super) fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource(slash_optional("/api/projects/"))
            .get(list)
            .post(create),
    )
    // Before `/api/projects/{id}/`, which would take `validate` for an id.
    .service(web::resource(slash_optional("/api/projects/validate/")).post(validate_config))
    .service(
        web::resource(slash_optional("/api/projects/{id}/"))
            .get(get)
            .patch(update)
            .put(update)
            .delete(delete),
    )
    .service(web::resource(slash_optional("/api/projects/{id}/import")).post(import_tasks))
    .service(
        web::resource(slash_optional("/api/projects/{id}/validate/")).post(validate_project_config),
    );
}

/// The `label_config` of a validation request, checked as a save would check it.
fn config_to_validate(body: &[u8]) -> Result<String, ApiError> {
    let config = opt_string(&json_object(body)?, "label_config")?.unwrap_or_default();
    if config.trim().is_empty() {
        return Err(ApiError::invalid("Label config is not set or is empty"));
    }
    crate::label_config::validate(&config)
        .map_err(|message| ApiError::field("label_config", message))?;
    Ok(config)
}

/// `POST /api/projects/validate/`: 204 when the config would be accepted.
async fn validate_config(_user: AuthUser, body: web::Bytes) -> Result<HttpResponse, ApiError> {
    config_to_validate(&body)?;
    Ok(HttpResponse::NoContent().finish())
}

/// `POST /api/projects/<id>/validate/`: whether the project would accept the config, and
/// whether it changes what the project's annotations are made of (its controls, their
/// targets, the data they show).
async fn validate_project_config(
    state: State,
    _member: Member,
    id: web::Path<i64>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let config = config_to_validate(&body)?;
    let project = state
        .db
        .project(id.into_inner())
        .await?
        .ok_or(ApiError::NotFound)?;
    let essentials = |config: &str| {
        (
            crate::label_config::control_tags(config),
            crate::label_config::data_types(config),
        )
    };
    let changed = essentials(&config) != essentials(&project.label_config);
    Ok(HttpResponse::Ok().json(json!({"config_essential_data_has_changed": changed})))
}

#[derive(Debug, Deserialize)]
struct ListQuery {
    page: Option<String>,
    page_size: Option<String>,
    title: Option<String>,
    ids: Option<String>,
    ordering: Option<String>,
}

/// `?title=` (part of it, any case), `?ids=1,2` and `?ordering=title,-created_at`.
fn project_filter(query: &ListQuery) -> Result<ProjectFilter, ApiError> {
    let ids = match query.ids.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(list) => Some(
            list.split(',')
                .map(|id| {
                    id.trim().parse::<i64>().map_err(|_| {
                        ApiError::field(
                            "ids",
                            format!("\"{id}\" is not a project id: send ids=1,2,3."),
                        )
                    })
                })
                .collect::<Result<Vec<_>, _>>()?,
        ),
    };
    let ordering = query
        .ordering
        .as_deref()
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|term| !term.is_empty())
        .map(|term| {
            let (descending, name) = term
                .strip_prefix('-')
                .map_or((false, term), |name| (true, name));
            ProjectColumn::ALL
                .iter()
                .find(|(known, _)| *known == name)
                .map(|(_, column)| (*column, descending))
                .ok_or_else(|| {
                    let known: Vec<&str> = ProjectColumn::ALL.iter().map(|(n, _)| *n).collect();
                    ApiError::field(
                        "ordering",
                        format!(
                            "Cannot order by \"{name}\"; use one of: {}.",
                            known.join(", ")
                        ),
                    )
                })
        })
        .collect::<Result<_, _>>()?;
    Ok(ProjectFilter {
        title: query.title.clone().filter(|t| !t.is_empty()),
        ids,
        ordering,
    })
}

async fn list(
    state: State,
    user: AuthUser,
    req: HttpRequest,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    // A page holds at most the user's projects: any size is served (the legacy SDK asks
    // for ten million).
    let page = Page::from_query(query.page.as_deref(), query.page_size.as_deref(), 100)?;
    let filter = project_filter(&query)?;
    let (total, rows) = state
        .db
        .project_page(user.user.id, filter, page.size, page.offset())
        .await?;
    page.check_exists(total)?;
    let results: Vec<Value> = rows.iter().map(records::project).collect();
    let next = (page.offset() + page.size < total).then(|| page_link(&req, page.number + 1));
    let previous = (page.number > 1).then(|| page_link(&req, page.number - 1));
    Ok(HttpResponse::Ok()
        .json(json!({"count": total, "next": next, "previous": previous, "results": results})))
}

async fn create(state: State, user: AuthUser, body: Fields) -> Result<HttpResponse, ApiError> {
    let fields = project_fields(&body.0)?;
    let id = state.db.create_project(fields, user.user.id).await?;
    Ok(HttpResponse::Created().json(load(&state, id).await?))
}

async fn get(state: State, _member: Member, id: web::Path<i64>) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(load(&state, id.into_inner()).await?))
}

async fn update(
    state: State,
    _member: Member,
    id: web::Path<i64>,
    body: Fields,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let fields = project_fields(&body.0)?;
    super::found(state.db.update_project(id, fields).await?)?;
    Ok(HttpResponse::Ok().json(load(&state, id).await?))
}

async fn delete(
    state: State,
    _member: Member,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let snapshots = state.db.snapshot_ids(id).await?;
    let deleted = state.db.delete_project(id).await?;
    // The snapshot rows went with the project; their files go too.
    for snapshot in snapshots {
        crate::export::snapshot::remove_files(&state.config.data_dir, snapshot).await;
    }
    super::deleted(deleted)
}

/// Project fields present in a request body, checked.
fn project_fields(body: &Map<String, Value>) -> Result<ProjectFields, ApiError> {
    let label_config = opt_string(body, "label_config")?;
    if let Some(config) = &label_config {
        crate::label_config::validate(config)
            .map_err(|message| ApiError::field("label_config", message))?;
    }
    let maximum_annotations = opt_int(body, "maximum_annotations")?;
    if maximum_annotations.is_some_and(|n| n < 1) {
        return Err(ApiError::field(
            "maximum_annotations",
            "Ensure this value is greater than or equal to 1.",
        ));
    }
    let defaults = records::project_option_defaults();
    let options: Map<String, Value> = body
        .iter()
        .filter(|(key, _)| defaults.contains_key(*key))
        .map(|(key, value)| match (key.as_str(), value) {
            // A text field in Label Studio: a number sent for it is its text.
            ("model_version", Value::Number(n)) => (key.clone(), Value::String(n.to_string())),
            _ => (key.clone(), value.clone()),
        })
        .collect();
    Ok(ProjectFields {
        title: opt_string(body, "title")?,
        description: opt_string(body, "description")?,
        label_config,
        expert_instruction: opt_string(body, "expert_instruction")?,
        maximum_annotations,
        color: opt_string(body, "color")?,
        options: (!options.is_empty()).then_some(Value::Object(options)),
    })
}

/// Loads one project with its counters and creator, as JSON.
async fn load(state: &State, id: i64) -> Result<Value, ApiError> {
    let found = state.db.project_with_stats(id).await?;
    Ok(records::project(&found.ok_or(ApiError::NotFound)?))
}

#[derive(Debug, Deserialize)]
struct ImportQuery {
    return_task_ids: Option<String>,
}

/// `POST /api/projects/<id>/import`: a JSON task, or a list of them, becomes tasks.
async fn import_tasks(
    state: State,
    member: Member,
    id: web::Path<i64>,
    query: web::Query<ImportQuery>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let started = Instant::now();
    let project_id = id.into_inner();
    let config = state
        .db
        .label_config(project_id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let reader = task_file::Reader::new(member.user_id(), &config);
    let tasks = if is_multipart(&req) {
        parse_uploaded_files(Multipart::new(req.headers(), payload), &reader).await?
    } else {
        let body = payload
            .to_bytes_limited(IMPORT_LIMIT)
            .await
            .map_err(|_| too_large())?
            .map_err(|err| ApiError::Parse(err.to_string()))?;
        parse_import_body(&body, &reader)?
    };
    let count = tasks.len();
    let outcome = state.db.import_tasks(project_id, tasks).await?;
    let (outcome, ids) = outcome.ok_or(ApiError::NotFound)?;
    if outcome.annotations > 0 {
        state.exports.poke();
    }
    let mut response = json!({
        "task_count": count,
        "annotation_count": outcome.annotations,
        "prediction_count": outcome.predictions,
        "duration": started.elapsed().as_secs_f64(),
        "file_upload_ids": [],
        "could_be_tasks_list": false,
        "found_formats": [],
        "data_columns": [],
    });
    if query
        .return_task_ids
        .as_deref()
        .and_then(crate::config::parse_bool)
        .unwrap_or(false)
    {
        response["task_ids"] = json!(ids);
    }
    Ok(HttpResponse::Created().json(response))
}

/// The largest import request: a JSON body, or all uploaded files together.
const IMPORT_LIMIT: usize = 64 * 1024 * 1024;

fn too_large() -> ApiError {
    ApiError::invalid(format!(
        "The import is larger than {} MB: split it into smaller files, or put the files in a storage and sync it.",
        IMPORT_LIMIT / (1024 * 1024)
    ))
}

fn is_multipart(req: &HttpRequest) -> bool {
    req.headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"))
}

/// The tasks of uploaded files (Label Studio's file upload import): each file is a JSON
/// object, a JSON array or JSON Lines, parsed by the same rules as storage task files.
/// Nothing is imported unless every file is valid.
async fn parse_uploaded_files(
    mut form: Multipart,
    reader: &task_file::Reader,
) -> Result<Vec<NewTask>, ApiError> {
    let mut tasks = Vec::new();
    let mut received = 0usize;
    let mut files = 0usize;
    while let Some(field) = form.next().await {
        let mut field = field.map_err(|err| ApiError::Parse(format!("Upload error - {err}")))?;
        let Some(name) = field
            .content_disposition()
            .and_then(|cd| cd.get_filename())
            .map(str::to_owned)
        else {
            continue;
        };
        let mut bytes = Vec::new();
        while let Some(chunk) = field.next().await {
            let chunk = chunk.map_err(|err| ApiError::Parse(format!("Upload error - {err}")))?;
            received += chunk.len();
            if received > IMPORT_LIMIT {
                return Err(too_large());
            }
            bytes.extend_from_slice(&chunk);
        }
        files += 1;
        let parsed = task_file::parse_task_file(&bytes)
            .map_err(|err| ApiError::invalid(format!("{name}: {err}")))?;
        for task in parsed {
            tasks.push(
                task.into_new_task(reader, None)
                    .map_err(|err| ApiError::invalid(format!("{name}: {err}")))?,
            );
        }
    }
    if files == 0 {
        return Err(ApiError::invalid(
            "No file found in the upload: send JSON or JSON Lines files as multipart/form-data.",
        ));
    }
    if tasks.is_empty() {
        return Err(ApiError::invalid(
            "No tasks found in the uploaded files: a file holds no task.",
        ));
    }
    Ok(tasks)
}

/// The tasks of an import request body (one task object or a list).
fn parse_import_body(body: &[u8], reader: &task_file::Reader) -> Result<Vec<NewTask>, ApiError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|err| ApiError::Parse(format!("JSON parse error - {err}")))?;
    let items = match value {
        Value::Array(items) => items,
        object @ Value::Object(_) => vec![object],
        _ => {
            return Err(ApiError::invalid(
                "Send a JSON task object or a list of task objects.",
            ));
        }
    };
    if items.is_empty() {
        return Err(ApiError::invalid(
            "No tasks found in the request: send at least one task.",
        ));
    }
    items
        .into_iter()
        .enumerate()
        .map(|(index, item)| {
            task_file::task_from_value(item, None)
                .and_then(|task| task.into_new_task(reader, None))
                .map_err(|err| ApiError::invalid(format!("Task {index}: {err}")))
        })
        .collect()
}
