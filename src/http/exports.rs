//! Project export, as Label Studio has it: `GET /api/projects/<id>/export?exportType=...`
//! (with `download_all_tasks` and `ids[]`) and `GET /api/projects/<id>/export/formats`.
//! The file streams as it is written (see `export::project`).

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use chrono::Utc;
use futures_util::TryStreamExt;

use super::access::Member;
use super::{State, slash_optional};
use crate::db::exports::TaskSelection;
use crate::error::ApiError;
use crate::export::project::{self, ExportType, Renderer};

pub(super) fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource(slash_optional("/api/projects/{id}/export/formats/")).get(formats))
        .service(web::resource(slash_optional("/api/projects/{id}/export/")).get(download));
}

async fn formats(_member: Member, _id: web::Path<i64>) -> HttpResponse {
    HttpResponse::Ok().json(project::formats())
}

/// What the query asks for: the format and the tasks.
fn read_query(pairs: &[(String, String)]) -> Result<(ExportType, TaskSelection), ApiError> {
    let mut kind = ExportType::Json;
    let mut selection = TaskSelection::default();
    for (key, value) in pairs {
        match key.as_str() {
            "exportType" | "export_type" => {
                kind = ExportType::parse(value)
                    .map_err(|message| ApiError::field("exportType", &message))?;
            }
            "download_all_tasks" => selection.all = matches!(value.as_str(), "true" | "True" | "1"),
            "ids[]" | "ids" => {
                for id in value.split(',').filter(|v| !v.trim().is_empty()) {
                    let id = id.trim().parse::<i64>().map_err(|_| {
                        ApiError::field(
                            "ids",
                            &format!("{id:?} is not a task id: give task ids as numbers."),
                        )
                    })?;
                    selection.ids.get_or_insert_with(Vec::new).push(id);
                }
            }
            _ => {}
        }
    }
    // Label Studio: naming tasks exports them whether they are annotated or not.
    if selection.ids.is_some() {
        selection.all = true;
    }
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
        project.label_config,
        selection,
        renderer,
    )
    .map_err(|err| ApiError::Internal(format!("the export stopped: {err}")));
    let file = format!(
        "project-{project_id}-at-{}-{}.{}",
        Utc::now().format("%Y-%m-%d-%H-%M"),
        &uuid::Uuid::new_v4().simple().to_string()[..8],
        kind.extension()
    );
    Ok(HttpResponse::Ok()
        .content_type(kind.content_type())
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{file}\""),
        ))
        .streaming(body))
}
