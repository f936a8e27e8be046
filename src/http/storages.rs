//! `/api/storages/...`: source and target storages of every type, one set of handlers.
//!
//! The direction comes from the route (each resource carries it as route data); the type
//! from the path. Field handling is driven by the providers' field tables, so these
//! handlers never name a provider. `/api/storages/providers` serves those tables, which the
//! wizard draws its forms from.

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::access::{self, Member};
use super::fields::Fields;
use super::identity::AuthUser;
use super::{State, json_object, opt_bool, opt_int, opt_string, required_project, slash_optional};
use crate::db::members::Scope;
use crate::db::storages::{Direction, StorageFields, StorageRow};
use crate::error::ApiError;
use crate::records;
use std::sync::Arc;

use crate::storage::{
    self, KeyFilter, PROVIDERS, Provider, Storage, StorageError, StorageSettings, check,
};

pub(super) fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/api/storages/providers").get(providers))
        .service(
            web::resource("/api/storages/types")
                .app_data(web::Data::new(Direction::Import))
                .get(types),
        );
    // Target routes first: `/api/storages/export` would otherwise read as a source type.
    export_routes(cfg);
    import_routes(cfg);
}

/// `/api/storages/export/...`: target storages.
fn export_routes(cfg: &mut web::ServiceConfig) {
    let export = || web::Data::new(Direction::Export);
    cfg.service(
        web::resource("/api/storages/export/types")
            .app_data(export())
            .get(types),
    )
    .service(
        web::resource("/api/storages/export")
            .app_data(export())
            .get(list_all),
    )
    .service(
        web::resource("/api/storages/export/{type}")
            .app_data(export())
            .get(list)
            .post(create),
    )
    .service(
        web::resource("/api/storages/export/{type}/validate")
            .app_data(export())
            .post(validate),
    )
    .service(detail_resource(
        "/api/storages/export/{type}/{id:\\d+}",
        export(),
    ))
    .service(
        web::resource("/api/storages/export/{type}/{id:\\d+}/sync")
            .app_data(export())
            .post(sync),
    );
}

/// `/api/storages/...`: source storages.
fn import_routes(cfg: &mut web::ServiceConfig) {
    let import = || web::Data::new(Direction::Import);
    cfg.service(
        web::resource(slash_optional("/api/storages/"))
            .app_data(import())
            .get(list_all),
    )
    .service(
        web::resource(slash_optional("/api/storages/{type}/"))
            .app_data(import())
            .get(list)
            .post(create),
    )
    .service(
        web::resource("/api/storages/{type}/validate")
            .app_data(import())
            .post(validate),
    )
    .service(web::resource("/api/storages/{type}/files").post(files))
    .service(detail_resource("/api/storages/{type}/{id:\\d+}", import()))
    .service(
        web::resource("/api/storages/{type}/{id:\\d+}/sync")
            .app_data(import())
            .post(sync),
    );
}

fn detail_resource(path: &str, direction: web::Data<Direction>) -> actix_web::Resource {
    web::resource(path)
        .app_data(direction)
        .get(get)
        .patch(update)
        .put(update)
        .delete(delete)
}

type Dir = web::Data<Direction>;

#[derive(Debug, Deserialize)]
struct ProjectQuery {
    project: Option<String>,
}

fn storage_type(name: &str) -> Result<&'static Provider, ApiError> {
    storage::provider(name).ok_or(ApiError::NotFound)
}

async fn types(_user: AuthUser) -> HttpResponse {
    let types: Vec<Value> = PROVIDERS
        .iter()
        .map(|p| json!({"name": p.name, "title": p.title}))
        .collect();
    HttpResponse::Ok().json(types)
}

/// `GET /api/storages/providers`: every provider with its fields (labels, inputs, defaults,
/// which wizard step shows them), per direction.
async fn providers(_user: AuthUser) -> HttpResponse {
    HttpResponse::Ok().json(PROVIDERS.iter().map(|p| p.describe()).collect::<Vec<_>>())
}

/// Every storage of a project in one direction, grouped by type in Label Studio's order.
async fn list_all(
    state: State,
    _member: Member,
    direction: Dir,
    query: web::Query<ProjectQuery>,
) -> Result<HttpResponse, ApiError> {
    let project_id = required_project(query.project.as_deref())?;
    let direction = **direction;
    let mut rows = state
        .db
        .storages_of_project(project_id, direction, None)
        .await?;
    rows.sort_by_key(|row| (row.settings.provider.position(), row.id));
    Ok(HttpResponse::Ok().json(rows.iter().map(records::storage).collect::<Vec<_>>()))
}

async fn list(
    state: State,
    _member: Member,
    direction: Dir,
    path: web::Path<String>,
    query: web::Query<ProjectQuery>,
) -> Result<HttpResponse, ApiError> {
    let storage_type = storage_type(&path)?;
    let project_id = required_project(query.project.as_deref())?;
    let direction = **direction;
    let rows = state
        .db
        .storages_of_project(project_id, direction, Some(storage_type.name))
        .await?;
    Ok(HttpResponse::Ok().json(rows.iter().map(records::storage).collect::<Vec<_>>()))
}

async fn create(
    state: State,
    user: AuthUser,
    direction: Dir,
    path: web::Path<String>,
    body: Fields,
) -> Result<HttpResponse, ApiError> {
    let storage_type = storage_type(&path)?;
    let direction = **direction;
    let body = body.0;
    let project_id = opt_int(&body, "project")?
        .ok_or_else(|| ApiError::field("project", "This field is required."))?;
    access::require_body_project(&state.db, user.user.id, project_id).await?;
    let mut fields = new_fields(storage_type, direction);
    apply(&mut fields, &body)?;
    check_connection(&state, &fields).await?;
    let id = state.db.create_storage(project_id, fields).await?;
    let row = if direction == Direction::Export && state.config.sync_on_target_storage_creation {
        state.syncs.request(id).await?.ok_or(ApiError::NotFound)?
    } else {
        load(&state, direction, storage_type, id).await?
    };
    Ok(HttpResponse::Created().json(records::storage(&row)))
}

async fn get(
    state: State,
    _member: Member,
    direction: Dir,
    path: web::Path<(String, i64)>,
) -> Result<HttpResponse, ApiError> {
    let (name, id) = path.into_inner();
    let row = load(&state, **direction, storage_type(&name)?, id).await?;
    Ok(HttpResponse::Ok().json(records::storage(&row)))
}

async fn update(
    state: State,
    _member: Member,
    direction: Dir,
    path: web::Path<(String, i64)>,
    body: Fields,
) -> Result<HttpResponse, ApiError> {
    let (name, id) = path.into_inner();
    let (storage_type, direction) = (storage_type(&name)?, **direction);
    let row = load(&state, direction, storage_type, id).await?;
    let mut fields = fields_of(&row);
    apply(&mut fields, &body.0)?;
    check_connection(&state, &fields).await?;
    state.db.update_storage(id, fields).await?;
    Ok(HttpResponse::Ok().json(records::storage(
        &load(&state, direction, storage_type, id).await?,
    )))
}

async fn delete(
    state: State,
    _member: Member,
    direction: Dir,
    path: web::Path<(String, i64)>,
) -> Result<HttpResponse, ApiError> {
    let (name, id) = path.into_inner();
    load(&state, **direction, storage_type(&name)?, id).await?;
    state.db.delete_storage(id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// "Check connection" without saving; with `id`, omitted fields (and secrets) come from the
/// stored storage.
async fn validate(
    state: State,
    user: AuthUser,
    direction: Dir,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let (storage_type, direction) = (storage_type(&path)?, **direction);
    let body = json_object(&body)?;
    let fields = fields_for_check(&state, &user, storage_type, direction, &body).await?;
    let (provider, filter) = check_connection(&state, &fields).await?;
    if direction == Direction::Export {
        return Ok(HttpResponse::Ok().json(json!({"status": "ok", "write_check": "passed"})));
    }
    let report = check::source_report(
        provider.as_ref(),
        fields.settings.common.recursive_scan,
        &filter,
    )
    .await
    .map_err(storage_error)?;
    Ok(HttpResponse::Ok().json(json!({"status": "ok", "source": report})))
}

/// `POST /api/storages/<type>/files`: what sync would see, for the "Load preview" button.
async fn files(
    state: State,
    user: AuthUser,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let storage_type = storage_type(&path)?;
    let body = json_object(&body)?;
    let limit = opt_int(&body, "limit")?.unwrap_or(100).clamp(1, 1_000) as usize;
    let fields = fields_for_check(&state, &user, storage_type, Direction::Import, &body).await?;
    let (provider, filter) = check_connection(&state, &fields).await?;
    let files = check::preview(
        provider.as_ref(),
        fields.settings.common.recursive_scan,
        &filter,
        limit,
    )
    .await
    .map_err(|err| ApiError::invalid(format!("Failed to list storage files: {err}")))?;
    Ok(HttpResponse::Ok().json(json!({"files": files})))
}

/// The fields a check runs on: the request body over the stored storage (with `id`, so
/// omitted secrets are the stored ones: only for a member of its project) or over the
/// type's defaults.
async fn fields_for_check(
    state: &State,
    user: &AuthUser,
    storage_type: &'static Provider,
    direction: Direction,
    body: &Map<String, Value>,
) -> Result<StorageFields, ApiError> {
    if let Some(project_id) = opt_int(body, "project")? {
        access::require_body_project(&state.db, user.user.id, project_id).await?;
    }
    let mut fields = match opt_int(body, "id")? {
        Some(id) => {
            access::require(&state.db, user.user.id, Scope::Storage(id)).await?;
            fields_of(&load(state, direction, storage_type, id).await?)
        }
        None => new_fields(storage_type, direction),
    };
    apply(&mut fields, body)?;
    Ok(fields)
}

/// Queues a sync and answers at once with the storage's state.
async fn sync(
    state: State,
    _member: Member,
    direction: Dir,
    path: web::Path<(String, i64)>,
) -> Result<HttpResponse, ApiError> {
    let (name, id) = path.into_inner();
    let (storage_type, direction) = (storage_type(&name)?, **direction);
    let row = load(&state, direction, storage_type, id).await?;
    if !row.synchronizable {
        return Ok(HttpResponse::BadRequest()
            .json(json!({"message": format!("Storage {id} is not synchronizable")})));
    }
    let row = state.syncs.request(id).await?.ok_or(ApiError::NotFound)?;
    Ok(HttpResponse::Ok().json(records::storage(&row)))
}

/// A storage of the given direction and type, or 404.
async fn load(
    state: &State,
    direction: Direction,
    storage_type: &'static Provider,
    id: i64,
) -> Result<StorageRow, ApiError> {
    let row = state.db.storage(id).await?;
    row.filter(|row| row.direction == direction && row.kind() == storage_type.name)
        .ok_or(ApiError::NotFound)
}

/// The fields of a storage not created yet: the type's defaults, no secrets.
fn new_fields(storage_type: &'static Provider, direction: Direction) -> StorageFields {
    StorageFields {
        title: None,
        description: None,
        synchronizable: true,
        settings: StorageSettings::defaults(storage_type, direction),
    }
}

fn fields_of(row: &StorageRow) -> StorageFields {
    StorageFields {
        title: row.title.clone(),
        description: row.description.clone(),
        synchronizable: row.synchronizable,
        settings: row.settings.clone(),
    }
}

/// Applies the fields a request body carries.
fn apply(fields: &mut StorageFields, body: &Map<String, Value>) -> Result<(), ApiError> {
    if body.contains_key("title") {
        fields.title = opt_string(body, "title")?;
    }
    if body.contains_key("description") {
        fields.description = opt_string(body, "description")?;
    }
    if let Some(synchronizable) = opt_bool(body, "synchronizable")? {
        fields.synchronizable = synchronizable;
    }
    fields
        .settings
        .apply_body(body)
        .map_err(ApiError::Validation)
}

/// Refuses a schedule shorter than the server allows (`--min-sync-interval`).
fn check_schedule(config: &crate::config::Config, fields: &StorageFields) -> Result<(), ApiError> {
    let Some(minutes) = fields.settings.common.sync_interval_minutes else {
        return Ok(());
    };
    let shortest = config.min_sync_interval.as_secs_f64() / 60.0;
    if minutes < shortest {
        return Err(ApiError::field(
            "sync_interval",
            format!(
                "Ensure this value is at least {shortest} minutes (the server's shortest schedule, --min-sync-interval)."
            ),
        ));
    }
    Ok(())
}

/// Refuses settings that cannot work: a bad regex, a bad path, an unreachable storage, a
/// target that may not be written. Returns the provider and filter it checked.
async fn check_connection(
    state: &State,
    fields: &StorageFields,
) -> Result<(Arc<dyn Storage>, KeyFilter), ApiError> {
    check_schedule(&state.config, fields)?;
    let settings = &fields.settings;
    let filter = KeyFilter::new(settings.common.regex_filter.as_deref())
        .map_err(|message| ApiError::field("regex_filter", message))?;
    let provider = settings.open(&state.providers).map_err(storage_error)?;
    provider.check().await.map_err(storage_error)?;
    if settings.direction == Direction::Export {
        check::target_probe(provider.as_ref())
            .await
            .map_err(|err| {
                ApiError::invalid(format!(
                    "The storage answers but a test object could not be written and removed: {err}"
                ))
            })?;
    }
    Ok((provider, filter))
}

fn storage_error(err: StorageError) -> ApiError {
    ApiError::invalid(err.to_string())
}
