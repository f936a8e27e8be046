//! `/tasks/<id>/resolve/?fileuri=` (and `/projects/<id>/resolve/`, and the `/presign/`
//! aliases): a storage URI becomes a 303 to a presigned URL, or the object streamed through
//! the server with Range, ETag and 304. A storage failure is a 424 that says why.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use futures_util::TryStreamExt;
use serde::Deserialize;
use serde_json::json;

use super::access::Member;
use super::{State, slash_optional};
use crate::db::storages::Direction;
use crate::error::ApiError;
use crate::resolve;
use crate::storage::{Fetched, StorageError};

/// How long a browser may reuse a proxied object before revalidating.
const PROXY_CACHE_SECONDS: u64 = 3600;

pub(super) fn routes(cfg: &mut web::ServiceConfig) {
    for verb in ["resolve", "presign"] {
        cfg.service(web::resource(slash_optional(&format!("/tasks/{{id}}/{verb}/"))).get(for_task))
            .service(
                web::resource(slash_optional(&format!("/projects/{{id}}/{verb}/")))
                    .get(for_project),
            );
    }
}

#[derive(Debug, Deserialize)]
struct Query {
    fileuri: Option<String>,
}

async fn for_task(
    state: State,
    _member: Member,
    id: web::Path<i64>,
    query: web::Query<Query>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let task_id = id.into_inner();
    let project = state.db.project_of_task(task_id).await?;
    serve(
        &state,
        project.ok_or(ApiError::NotFound)?,
        query.into_inner().fileuri,
        &req,
    )
    .await
}

async fn for_project(
    state: State,
    _member: Member,
    id: web::Path<i64>,
    query: web::Query<Query>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    serve(&state, id.into_inner(), query.into_inner().fileuri, &req).await
}

async fn serve(
    state: &State,
    project_id: i64,
    fileuri: Option<String>,
    req: &HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let fileuri = fileuri
        .filter(|f| !f.is_empty())
        .ok_or_else(|| ApiError::invalid("The fileuri query parameter is required."))?;
    let uri = resolve::decode_fileuri(&fileuri);
    let rows = state
        .db
        .storages_of_project(project_id, Direction::Import, None)
        .await?;
    let (storage_id, key) =
        resolve::locate(&uri, &resolve::resolvable(&rows)).ok_or(ApiError::NotFound)?;
    let row = rows
        .iter()
        .find(|row| row.id == storage_id)
        .ok_or(ApiError::NotFound)?;
    let provider = match row.settings.open(&state.providers) {
        Ok(provider) => provider,
        Err(err) => return Ok(failed_dependency(&err)),
    };
    let common = &row.settings.common;
    if common.presign {
        let minutes = common.presign_ttl_minutes;
        return Ok(
            match provider
                .presign(key, std::time::Duration::from_secs(minutes * 60))
                .await
            {
                Ok(Some(url)) => HttpResponse::SeeOther()
                    .insert_header((header::LOCATION, url))
                    .insert_header((
                        header::CACHE_CONTROL,
                        format!("no-store, max-age={}", minutes * 60),
                    ))
                    .finish(),
                Ok(None) => return Err(ApiError::NotFound),
                Err(err) => failed_dependency(&err),
            },
        );
    }
    let range_header = req
        .headers()
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok());
    let range = range_header.and_then(resolve::parse_range);
    match provider.fetch(key, range).await {
        Ok(fetched) => Ok(proxied(fetched, key, range_header.is_some(), req)),
        Err(err) => Ok(failed_dependency(&err)),
    }
}

/// Streams an object (or the asked range) with its caching headers.
fn proxied(fetched: Fetched, key: &str, ranged: bool, req: &HttpRequest) -> HttpResponse {
    let etag = fetched
        .etag
        .as_ref()
        .map(|tag| format!("\"{}\"", tag.trim_matches('"')));
    let if_none_match = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok());
    if let (false, Some(etag), Some(condition)) = (ranged, &etag, if_none_match)
        && crate::local_files::etag_matches(condition, etag)
    {
        return HttpResponse::NotModified()
            .insert_header((header::ETAG, etag.clone()))
            .finish();
    }
    let content_type = content_type_of(&fetched, key);
    let status = if ranged {
        StatusCode::PARTIAL_CONTENT
    } else {
        StatusCode::OK
    };
    let mut response = HttpResponse::build(status);
    response
        .content_type(content_type)
        .insert_header((header::ACCEPT_RANGES, "bytes"))
        .insert_header((
            header::CACHE_CONTROL,
            format!("private, max-age={PROXY_CACHE_SECONDS}, must-revalidate"),
        ))
        .insert_header((
            header::CONTENT_LENGTH,
            fetched.range.end - fetched.range.start,
        ));
    if ranged {
        let last = fetched.range.end.saturating_sub(1);
        response.insert_header((
            header::CONTENT_RANGE,
            format!("bytes {}-{last}/{}", fetched.range.start, fetched.size),
        ));
    }
    if let Some(etag) = etag {
        response.insert_header((header::ETAG, etag));
    }
    if let Some(modified) = fetched.last_modified {
        response.insert_header((
            header::LAST_MODIFIED,
            modified.format("%a, %d %b %Y %H:%M:%S GMT").to_string(),
        ));
    }
    response.streaming(fetched.body.map_err(actix_web::error::ErrorBadGateway))
}

/// The object's type as the store gives it, else guessed from its name.
fn content_type_of(fetched: &Fetched, key: &str) -> String {
    fetched
        .content_type
        .clone()
        // Stores label objects uploaded without a type as octet-stream (S3 says
        // "binary/octet-stream"); the file name tells a browser more.
        .filter(|t| !t.is_empty() && !t.ends_with("/octet-stream"))
        .unwrap_or_else(|| {
            mime_guess::from_path(key)
                .first_or_octet_stream()
                .to_string()
        })
}

/// Label Studio's answer when the storage cannot deliver.
fn failed_dependency(err: &StorageError) -> HttpResponse {
    let status = match err {
        StorageError::NotFound { .. } => StatusCode::NOT_FOUND,
        _ => StatusCode::FAILED_DEPENDENCY,
    };
    HttpResponse::build(status).json(json!({
        "error": "Storage stream failed while proxying data",
        "detail": err.to_string(),
    }))
}
