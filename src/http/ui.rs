//! The browser UI: askama pages and static assets, both compiled into the binary.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use rust_embed::RustEmbed;

use crate::auth;
use crate::error::ApiError;

/// Files under `static/`, embedded at build time (also in debug builds).
#[derive(RustEmbed)]
#[folder = "static/"]
struct Assets;

pub(super) fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(index))
        .route("/static/{path:.*}", web::get().to(asset));
}

#[derive(Template)]
#[template(path = "index.html")]
struct IndexPage<'a> {
    email: &'a str,
    version: &'a str,
}

async fn index(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let user = match auth::authenticate(&req).await {
        Ok(user) => user,
        Err(ApiError::NotAuthenticated | ApiError::InvalidToken) => {
            return Ok(HttpResponse::SeeOther()
                .insert_header((header::LOCATION, "/user/login"))
                .finish());
        }
        Err(err) => return Err(err),
    };
    let html = IndexPage {
        email: &user.user.email,
        version: env!("CARGO_PKG_VERSION"),
    }
    .render()
    .map_err(|err| ApiError::Internal(err.to_string()))?;
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .body(html))
}

/// Serves an embedded asset with a content-hash ETag and 304 on a match.
async fn asset(req: HttpRequest, path: web::Path<String>) -> HttpResponse {
    let Some(file) = Assets::get(&path) else {
        return HttpResponse::NotFound().finish();
    };
    let etag = format!("\"{}\"", hex(&file.metadata.sha256_hash()[..16]));
    let matches = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        == Some(etag.as_str());
    if matches {
        return HttpResponse::NotModified()
            .insert_header((header::ETAG, etag))
            .finish();
    }
    let mime = mime_guess::from_path(path.as_str()).first_or_octet_stream();
    HttpResponse::Ok()
        .content_type(mime.as_ref())
        .insert_header((header::ETAG, etag))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .body(file.data.into_owned())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
