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

/// Label Studio's editor and its licenses, put into `OUT_DIR` by `build.rs` from the pinned
/// npm package; served under `editor/` beside our own assets.
const EDITOR: [(&str, &[u8]); 4] = [
    (
        "main.js",
        include_bytes!(concat!(env!("OUT_DIR"), "/editor/main.js")),
    ),
    (
        "main.css",
        include_bytes!(concat!(env!("OUT_DIR"), "/editor/main.css")),
    ),
    (
        "LICENSE",
        include_bytes!(concat!(env!("OUT_DIR"), "/editor/LICENSE")),
    ),
    (
        "THIRD-PARTY-LICENSES.txt",
        include_bytes!(concat!(env!("OUT_DIR"), "/editor/THIRD-PARTY-LICENSES.txt")),
    ),
];

/// The checksum `build.rs` verified the editor's package against: it names the editor's
/// files' contents, so they need no hashing of their own.
const EDITOR_INTEGRITY: &str = env!("LABELSYNC_EDITOR_INTEGRITY");

/// An embedded file: its bytes and the ETag naming its contents.
struct Embedded {
    data: std::borrow::Cow<'static, [u8]>,
    etag: String,
}

/// Our asset or, under `editor/`, a file of the editor.
fn embedded(path: &str) -> Option<Embedded> {
    if let Some(name) = path.strip_prefix("editor/") {
        let (name, bytes) = EDITOR.iter().find(|(n, _)| *n == name)?;
        let package = EDITOR_INTEGRITY.trim_start_matches("sha512-");
        return Some(Embedded {
            data: (*bytes).into(),
            etag: format!("\"{}-{name}\"", &package[..22]),
        });
    }
    Assets::get(path).map(|file| Embedded {
        etag: format!("\"{}\"", hex(&file.metadata.sha256_hash()[..16])),
        data: file.data,
    })
}

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
    EDITOR_INTEGRITY.hash(&mut hasher);
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

/// What the screens may run and load. Task data reaches the page through the editor, and
/// a HyperText task is HTML anyone who can import a task or write to a synced bucket
/// chose: scripts run only from labelsync's own files (no inline script, no handler
/// attribute), so such HTML cannot act as the signed-in user. Media may come from any
/// bucket a storage presigns for (the editor fetches audio, so `connect-src` too).
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self' 'unsafe-inline'; img-src 'self' data: blob: http: https:; \
     media-src 'self' data: blob: http: https:; font-src 'self' data:; connect-src 'self' data: blob: http: https:; \
     worker-src 'self' blob:; object-src 'none'; base-uri 'self'; form-action 'self'; \
     frame-ancestors 'self'";

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
    /// The screen opens Label Studio's editor: the shell starts fetching it at once.
    editor: bool,
}

/// Whether the screen at `path` shows the editor (labeling, the labeling interface).
fn shows_editor(path: &str) -> bool {
    let mut parts = path.trim_matches('/').split('/');
    matches!(
        (
            parts.next(),
            parts.next().map(|id| id.parse::<i64>().is_ok()),
            parts.next(),
            parts.next()
        ),
        (Some("projects"), Some(true), Some("label"), _)
            | (
                Some("projects"),
                Some(true),
                Some("settings"),
                Some("labeling")
            )
    )
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
        editor: shows_editor(req.path()),
    }
    .render()
    .map_err(|err| ApiError::Internal(err.to_string()))?;
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header((header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY))
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
    let Some(file) = embedded(path) else {
        return HttpResponse::NotFound().finish();
    };
    let etag = file.etag;
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
    // The licenses (`LICENSE` has no extension) are text to read in the browser.
    let mime = match mime_guess::from_path(path).first() {
        Some(mime) if mime != mime_guess::mime::TEXT_PLAIN => mime.to_string(),
        _ => "text/plain; charset=utf-8".to_owned(),
    };
    let cache = if immutable {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    HttpResponse::Ok()
        .content_type(mime)
        .insert_header((header::ETAG, etag))
        .insert_header((header::CACHE_CONTROL, cache))
        .body(match file.data {
            std::borrow::Cow::Borrowed(bytes) => web::Bytes::from_static(bytes),
            std::borrow::Cow::Owned(bytes) => web::Bytes::from(bytes),
        })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
