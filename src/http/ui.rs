//! The browser UI: the single-page app's shell (askama) and its assets, compiled in.
//!
//! Every screen path (`/projects/...`) answers the same shell; the script in `static/js`
//! draws the screen from the path and talks to the REST API like any other client.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::LazyLock;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use rust_embed::RustEmbed;

use crate::error::ApiError;

/// Files under `static/`, embedded at build time (also in debug builds).
#[derive(RustEmbed)]
#[folder = "static/"]
struct Assets;

pub(super) fn routes(cfg: &mut web::ServiceConfig) {
    // Registered last, so API routes under /projects/ (resolve) match first.
    cfg.route("/", web::get().to(index))
        .route("/projects", web::get().to(index))
        .route("/projects/{screen:.*}", web::get().to(index))
        .route("/static/{path:.*}", web::get().to(asset));
}

/// A name for this build's assets, derived from their contents. The shell loads them
/// under `/static/<build>/`, which may be cached for good: a new build has a new name.
/// The script modules import each other by relative paths, so they stay inside it.
static BUILD: LazyLock<String> = LazyLock::new(|| {
    let mut hasher = DefaultHasher::new();
    for path in Assets::iter() {
        path.hash(&mut hasher);
        if let Some(file) = Assets::get(&path) {
            file.metadata.sha256_hash().hash(&mut hasher);
        }
    }
    format!("b{:016x}", hasher.finish())
});

/// The script modules, preloaded by the shell so the browser fetches them all at once
/// instead of discovering them one import level at a time.
static MODULES: LazyLock<Vec<String>> = LazyLock::new(|| {
    Assets::iter()
        .filter(|path| path.starts_with("js/") && path.ends_with(".js"))
        .map(|path| path.into_owned())
        .collect()
});

#[derive(Template)]
#[template(path = "index.html")]
struct IndexPage<'a> {
    email: &'a str,
    version: &'a str,
    /// `/static/<build>`: where the shell loads the assets from.
    assets: &'a str,
    modules: &'a [String],
    /// Shown by the Local Files form: where paths must start, and whether serving is on.
    document_root: &'a str,
    local_serving: bool,
}

async fn index(req: HttpRequest, state: super::State) -> Result<HttpResponse, ApiError> {
    let user = match super::identity::authenticate(&req).await {
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
        assets: &format!("/static/{}", *BUILD),
        modules: &MODULES,
        document_root: &state.config.local_files.document_root.to_string_lossy(),
        local_serving: state.config.local_files.serving_enabled,
    }
    .render()
    .map_err(|err| ApiError::Internal(err.to_string()))?;
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .body(html))
}

/// Serves an embedded asset: under this build's name, cacheable for a year; under its
/// plain path (the sign-in pages), revalidated by a content-hash ETag with 304 on a match.
async fn asset(req: HttpRequest, path: web::Path<String>) -> HttpResponse {
    let (path, immutable) = match path
        .strip_prefix(BUILD.as_str())
        .and_then(|rest| rest.strip_prefix('/'))
    {
        Some(rest) => (rest, true),
        None => (path.as_str(), false),
    };
    let Some(file) = Assets::get(path) else {
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
    let mime = mime_guess::from_path(path).first_or_octet_stream();
    let cache = if immutable {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    HttpResponse::Ok()
        .content_type(mime.as_ref())
        .insert_header((header::ETAG, etag))
        .insert_header((header::CACHE_CONTROL, cache))
        .body(file.data.into_owned())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
