//! Project export, as Label Studio has it: `GET /api/projects/<id>/export?exportType=...`
//! (with `download_all_tasks` and `ids[]`), `GET /api/projects/<id>/export/formats`, and
//! snapshots under `/api/projects/<id>/exports/` (create, list, get, delete, download in any
//! format). The direct export streams as it is written (see `export::project`); a snapshot
//! is a file in the data directory (see `export::snapshot`).

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use chrono::Utc;
use futures_util::TryStreamExt;

use serde_json::{Map, Value, json};

use super::access::Member;
use super::{State, json_object, opt_string, slash_optional};
use crate::db::exports::TaskSelection;
use crate::db::snapshots::SnapshotWithAuthor;
use crate::error::ApiError;
use crate::export::media::MediaReader;
use crate::export::project::{self, ExportType, Renderer};
use crate::export::snapshot;
use crate::export::vision::Vision;
use crate::label_config::DetectionConfig;

pub(super) fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource(slash_optional("/api/projects/{id}/export/formats/")).get(formats))
        .service(web::resource(slash_optional("/api/projects/{id}/export/")).get(download))
        .service(
            web::resource(slash_optional("/api/projects/{id}/exports/"))
                .get(list_snapshots)
                .post(create_snapshot),
        )
        .service(
            web::resource(slash_optional("/api/projects/{id}/exports/{pk}/"))
                .get(get_snapshot)
                .delete(delete_snapshot),
        )
        .service(
            web::resource(slash_optional("/api/projects/{id}/exports/{pk}/download/"))
                .get(download_snapshot),
        );
}

/// A snapshot in Label Studio's shape; `created` adds the options a creation echoes.
fn snapshot_json(found: &SnapshotWithAuthor, created: bool) -> Value {
    let (row, author) = found;
    let mut value = json!({
        "title": row.title,
        "id": row.id,
        "created_by": author.as_ref().map(|u| json!({
            "id": u.id, "first_name": u.first_name, "last_name": u.last_name, "email": u.email, "avatar": null})),
        "created_at": row.created_at,
        "finished_at": row.finished_at,
        "status": row.status,
        "md5": row.md5,
        "counters": {"task_number": row.task_number},
        "converted_formats": row.converted.iter().enumerate().map(|(i, f)| json!({"id": i + 1, "export_type": f, "status": "completed"})).collect::<Vec<_>>(),
    });
    if created {
        for option in [
            "task_filter_options",
            "annotation_filter_options",
            "serialization_options",
        ] {
            value[option] = Value::Null;
        }
    }
    value
}

/// A snapshot holds every task with every annotation, drafts and predictions by id (what
/// Label Studio's SDK asks for by default). The options a client sends are checked against
/// that: one asking for something else is refused rather than ignored.
fn snapshot_options(body: &Map<String, Value>) -> Result<Vec<(&'static str, Value)>, ApiError> {
    let mut echoed = Vec::new();
    for option in [
        "task_filter_options",
        "annotation_filter_options",
        "serialization_options",
    ] {
        let Some(value) = body.get(option).filter(|v| !v.is_null()) else {
            continue;
        };
        let fields = value
            .as_object()
            .ok_or_else(|| ApiError::field(option, "Expected a dictionary."))?;
        if let Some((key, wanted)) = fields
            .iter()
            .find(|(key, wanted)| !held(option, key, wanted))
        {
            return Err(ApiError::field(
                option,
                format!(
                    "{key}={wanted} is not supported yet: a snapshot holds every task and annotation, \
                     with drafts and predictions by id. Leave it out, or filter the downloaded file."
                ),
            ));
        }
        echoed.push((option, value.clone()));
    }
    Ok(echoed)
}

/// Whether asking `option.key = wanted` gets what a snapshot holds anyway.
fn held(option: &str, key: &str, wanted: &Value) -> bool {
    if wanted.is_null() {
        return true;
    }
    match (option, key) {
        ("task_filter_options", "only_with_annotations") => wanted == &json!(false),
        ("annotation_filter_options", "usual" | "ground_truth" | "skipped") => {
            wanted == &json!(true)
        }
        // Drafts, predictions and annotators by id.
        ("serialization_options", _) => wanted
            .get("only_id")
            .is_none_or(|only| only == &json!(true)),
        _ => false,
    }
}

/// Takes a snapshot of every task of the project, written before the answer (a page of
/// tasks at a time), so the answer says `completed` with its checksum, or `failed`.
async fn create_snapshot(
    state: State,
    member: Member,
    id: web::Path<i64>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let project_id = id.into_inner();
    let body = json_object(&body)?;
    let title = opt_string(&body, "title")?.unwrap_or_default();
    let options = snapshot_options(&body)?;
    let project = state
        .db
        .project(project_id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let (row, _) = state
        .db
        .create_snapshot(project_id, title, member.user_id())
        .await?;
    let path = snapshot::file_of(&state.config.data_dir, row.id);
    let outcome = snapshot::write(&state.db, project_id, &project.label_config, &path).await;
    if let Err(err) = &outcome {
        tracing::warn!(
            project = project_id,
            snapshot = row.id,
            "the export snapshot failed: {err}"
        );
    }
    state.db.finish_snapshot(row.id, outcome.ok()).await?;
    let found = state
        .db
        .snapshot(project_id, row.id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let mut answer = snapshot_json(&found, true);
    for (option, value) in options {
        answer[option] = value;
    }
    Ok(HttpResponse::Created().json(answer))
}

async fn list_snapshots(
    state: State,
    _member: Member,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let all = state.db.snapshots(id.into_inner()).await?;
    Ok(HttpResponse::Ok().json(
        all.iter()
            .map(|s| snapshot_json(s, false))
            .collect::<Vec<_>>(),
    ))
}

async fn get_snapshot(
    state: State,
    _member: Member,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, ApiError> {
    let (project_id, id) = path.into_inner();
    let found = state
        .db
        .snapshot(project_id, id)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(HttpResponse::Ok().json(snapshot_json(&found, false)))
}

/// Deletes the snapshot and its files (its JSON and every conversion).
async fn delete_snapshot(
    state: State,
    _member: Member,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, ApiError> {
    let (project_id, id) = path.into_inner();
    if !state.db.delete_snapshot(project_id, id).await? {
        return Err(ApiError::NotFound);
    }
    snapshot::remove_files(&state.config.data_dir, id).await;
    Ok(HttpResponse::NoContent().finish())
}

/// The snapshot's file in the format asked (`exportType`, JSON by default).
async fn download_snapshot(
    req: actix_web::HttpRequest,
    state: State,
    _member: Member,
    path: web::Path<(i64, i64)>,
    query: web::Query<Vec<(String, String)>>,
) -> Result<HttpResponse, ApiError> {
    let (project_id, id) = path.into_inner();
    let (kind, _) = read_query(&query)?;
    let (row, _) = state
        .db
        .snapshot(project_id, id)
        .await?
        .ok_or(ApiError::NotFound)?;
    if row.status != "completed" {
        return Err(ApiError::invalid(format!(
            "Snapshot {id} is {}: there is no file to download.",
            row.status
        )));
    }
    let file = snapshot_file(&state, project_id, id, kind).await?;
    let named = web::block(move || actix_files::NamedFile::open(&file))
        .await
        .map_err(|err| ApiError::Internal(err.to_string()))?
        .map_err(|err| ApiError::Internal(format!("the snapshot file: {err}")))?;
    let mime = kind
        .content_type()
        .parse()
        .unwrap_or(mime_guess::mime::APPLICATION_OCTET_STREAM);
    let mut response = named.set_content_type(mime).into_response(&req);
    let name = format!("project-{project_id}-snapshot-{id}.{}", kind.extension());
    let disposition = header::HeaderValue::from_str(&format!("attachment; filename=\"{name}\""))
        .map_err(|err| ApiError::Internal(err.to_string()))?;
    response
        .headers_mut()
        .insert(header::CONTENT_DISPOSITION, disposition);
    Ok(response)
}

/// Held while a snapshot is converted.
static CONVERSIONS: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The file of a snapshot in `kind`: its JSON, or a conversion made once and kept.
async fn snapshot_file(
    state: &State,
    project_id: i64,
    id: i64,
    kind: ExportType,
) -> Result<std::path::PathBuf, ApiError> {
    let source = snapshot::file_of(&state.config.data_dir, id);
    if kind == ExportType::Json {
        return Ok(source);
    }
    let target = snapshot::converted_file_of(&state.config.data_dir, id, kind);
    // One conversion at a time: a second download of the same format waits for the first
    // and serves its file.
    let _one_at_a_time = CONVERSIONS.lock().await;
    let (row, _) = state
        .db
        .snapshot(project_id, id)
        .await?
        .ok_or(ApiError::NotFound)?;
    if !(row.converted.iter().any(|f| f == kind.name()) && target.exists()) {
        let project = state
            .db
            .project(project_id)
            .await?
            .ok_or(ApiError::NotFound)?;
        let converted = match kind.vision() {
            Some((vision, with_images)) => {
                zip_conversion(
                    state,
                    project_id,
                    &project.label_config,
                    (vision, with_images),
                    &source,
                    &target,
                )
                .await?
            }
            None => {
                let to = target.clone();
                web::block(move || snapshot::convert(&source, &project.label_config, kind, &to))
                    .await
                    .map_err(|err| ApiError::Internal(err.to_string()))?
            }
        };
        converted.map_err(|err| {
            ApiError::Internal(format!("the snapshot could not be converted: {err}"))
        })?;
        state
            .db
            .note_snapshot_converted(id, kind.name().to_owned())
            .await?;
    }
    Ok(target)
}
async fn formats(
    state: State,
    _member: Member,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let config = state
        .db
        .label_config(*id)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(HttpResponse::Ok().json(project::formats(&config)))
}

/// What the query asks for: the format and the tasks.
fn read_query(pairs: &[(String, String)]) -> Result<(ExportType, TaskSelection), ApiError> {
    let mut kind = ExportType::Json;
    let mut selection = TaskSelection::default();
    for (key, value) in pairs {
        match key.as_str() {
            "exportType" | "export_type" => {
                kind = ExportType::parse(value)
                    .map_err(|message| ApiError::field("exportType", message))?;
            }
            "download_all_tasks" => selection.all = matches!(value.as_str(), "true" | "True" | "1"),
            "ids[]" | "ids" => {
                for id in value.split(',').filter(|v| !v.trim().is_empty()) {
                    let id = id.trim().parse::<i64>().map_err(|_| {
                        ApiError::field(
                            "ids",
                            format!("{id:?} is not a task id: give task ids as numbers."),
                        )
                    })?;
                    selection.ids.get_or_insert_with(Vec::new).push(id);
                }
            }
            _ => {}
        }
    }
    // As in Label Studio, named tasks are still only those with annotations unless
    // `download_all_tasks` says otherwise.
    Ok((kind, selection))
}

async fn download(
    state: State,
    _member: Member,
    id: web::Path<i64>,
    query: web::Query<Vec<(String, String)>>,
) -> Result<HttpResponse, ApiError> {
    let project_id = id.into_inner();
    let (kind, selection) = read_query(&query)?;
    let project = state
        .db
        .project(project_id)
        .await?
        .ok_or(ApiError::NotFound)?;
    if let Some(vision) = kind.vision() {
        let file = zip_export(&state, project_id, &project.label_config, vision, selection).await?;
        return Ok(attachment(kind, project_id, file_stream(file)));
    }
    let columns = if kind.is_table() {
        Some(
            state
                .db
                .project_export_columns(project_id, selection.clone())
                .await?,
        )
    } else {
        None
    };
    let renderer = Renderer::new(kind, &project.label_config, columns.as_ref());
    let body = project::stream(
        state.db.clone(),
        project_id,
        &project.label_config,
        selection,
        renderer,
    )
    .map_err(|err| ApiError::Internal(format!("the export stopped: {err}")));
    Ok(attachment(kind, project_id, body))
}

/// A download named as Label Studio names its exports.
fn attachment<S>(kind: ExportType, project_id: i64, body: S) -> HttpResponse
where
    S: futures_util::Stream<Item = Result<web::Bytes, ApiError>> + 'static,
{
    let file = format!(
        "project-{project_id}-at-{}-{}.{}",
        Utc::now().format("%Y-%m-%d-%H-%M"),
        &uuid::Uuid::new_v4().simple().to_string()[..8],
        kind.extension()
    );
    HttpResponse::Ok()
        .content_type(kind.content_type())
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{file}\""),
        ))
        .streaming(body)
}

/// A scratch file, streamed (it is deleted already: the stream holds the last handle).
fn file_stream(
    file: std::fs::File,
) -> impl futures_util::Stream<Item = Result<web::Bytes, ApiError>> + 'static {
    tokio_util::io::ReaderStream::new(tokio::fs::File::from_std(file))
        .map_err(|err| ApiError::Internal(format!("the export stopped: {err}")))
}

/// What a zip is written from: the config's shapes (400 when there are none these formats
/// hold) and, for the `*_WITH_IMAGES` formats, the reader of the project's images.
async fn zip_inputs(
    state: &State,
    project_id: i64,
    label_config: &str,
    (vision, with_images): (Vision, bool),
) -> Result<(DetectionConfig, Option<MediaReader>), ApiError> {
    let detection = crate::label_config::detection(label_config);
    if let Some(why) = crate::export::vision::unavailable(vision, &detection) {
        return Err(ApiError::field(
            "exportType",
            format!("This project cannot be exported to {vision:?}: {why}."),
        ));
    }
    let media = match with_images {
        true => Some(MediaReader::for_project(&state.db, project_id, &state.providers).await?),
        false => None,
    };
    Ok((detection, media))
}

/// Converts a snapshot to COCO or YOLO (400 when the config has nothing these hold).
async fn zip_conversion(
    state: &State,
    project_id: i64,
    label_config: &str,
    (vision, with_images): (Vision, bool),
    source: &std::path::Path,
    target: &std::path::Path,
) -> Result<Result<(), snapshot::SnapshotError>, ApiError> {
    let (_, media) = zip_inputs(state, project_id, label_config, (vision, with_images)).await?;
    Ok(snapshot::convert_zip(source, label_config, vision, media.as_ref(), target).await)
}

/// A COCO or YOLO zip of the selected tasks; 400 when the config has nothing these
/// formats hold.
async fn zip_export(
    state: &State,
    project_id: i64,
    label_config: &str,
    (vision, with_images): (Vision, bool),
    selection: TaskSelection,
) -> Result<std::fs::File, ApiError> {
    let (detection, media) =
        zip_inputs(state, project_id, label_config, (vision, with_images)).await?;
    let tasks = project::task_pages(state.db.clone(), project_id, label_config, selection)
        .map_ok(|page| {
            futures_util::stream::iter(
                page.tasks()
                    .map(Ok::<_, crate::db::DbError>)
                    .collect::<Vec<_>>(),
            )
        })
        .try_flatten();
    let scratch = state.config.data_dir.join("exports");
    crate::export::vision::write(vision, media.as_ref(), &detection, tasks, &scratch)
        .await
        .map_err(|err| ApiError::Internal(format!("the export could not be written: {err}")))
}
