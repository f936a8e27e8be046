//! `GET /data/local-files/?d=<path>`: media files under the document root, for signed-in
//! users, with Range (206), a weak ETag and 304. The path rules live in
//! [`crate::local_files`].

use std::path::PathBuf;

use actix_files::NamedFile;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use super::identity::AuthUser;
use super::{State, slash_optional};
use crate::db::storages::Direction;
use crate::error::ApiError;
use crate::local_files::{self, Refusal};

pub(super) fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource(slash_optional("/data/local-files/"))
            .get(serve)
            .head(serve),
    );
}

#[derive(Debug, Deserialize)]
struct Query {
    d: Option<String>,
}

async fn serve(
    state: State,
    user: AuthUser,
    req: HttpRequest,
    query: web::Query<Query>,
) -> Result<HttpResponse, ApiError> {
    let root = state.config.local_files.document_root.clone();
    let requested = query.into_inner().d.unwrap_or_default();
    let allowed = if state.config.local_files.serving_enabled {
        allowed_dirs(&state, user.user.id).await?
    } else {
        Vec::new()
    };
    let enabled = state.config.local_files.serving_enabled;
    let outcome = web::block(move || {
        if !enabled {
            return Err(Refusal::Disabled);
        }
        let file = local_files::resolve(&root, &requested)?;
        if !local_files::inside_any(&file, &allowed) {
            return Err(Refusal::NotFound);
        }
        let opened = NamedFile::open(&file).map_err(|_| Refusal::NotFound)?;
        let etag = local_files::weak_etag(opened.metadata());
        Ok((opened, etag))
    })
    .await
    .map_err(|err| ApiError::Internal(err.to_string()))?;
    let (file, etag) = match outcome {
        Ok(found) => found,
        Err(refusal) => return Ok(refusal_response(&refusal)),
    };
    let not_modified = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| local_files::etag_matches(value, &etag));
    if not_modified {
        return Ok(HttpResponse::NotModified()
            .insert_header((header::ETAG, etag))
            .finish());
    }
    let mut response = file
        .use_etag(false)
        .use_last_modified(true)
        .into_response(&req);
    if let Ok(value) = header::HeaderValue::from_str(&etag) {
        response.headers_mut().insert(header::ETAG, value);
    }
    Ok(response)
}

/// Canonical paths of the Local Files source storages of the user's projects.
async fn allowed_dirs(state: &State, user_id: i64) -> Result<Vec<PathBuf>, ApiError> {
    let rows = state
        .db
        .storages_of_type_for_member(
            Direction::Import,
            crate::storage::local::PROVIDER.name,
            user_id,
        )
        .await?;
    Ok(rows
        .iter()
        .filter_map(|row| row.settings.common.location.as_deref())
        .filter_map(|path| std::fs::canonicalize(path).ok())
        .collect())
}

fn refusal_response(refusal: &Refusal) -> HttpResponse {
    match refusal {
        Refusal::NotFound => HttpResponse::NotFound()
            .content_type("text/plain; charset=utf-8")
            .body("Not found."),
        other => HttpResponse::Forbidden()
            .content_type("text/plain; charset=utf-8")
            .body(other.to_string()),
    }
}
