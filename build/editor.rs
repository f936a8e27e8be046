//! Label Studio's editor as a pinned build dependency: fetched from the npm registry once,
//! checked against the published integrity, cached, and unpacked into the build's output.
//!
//! Run by `build.rs`; the build tests run that script again offline. It shells out to `curl` for the one download rather than compiling
//! an HTTP and TLS stack into every build script run.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine;
use sha2::{Digest, Sha512};

/// The package and version, pinned.
pub(crate) const PACKAGE: &str = "@heartexlabs/label-studio@1.4.0";
/// Where the npm registry serves that version.
pub(crate) const URL: &str =
    "https://registry.npmjs.org/@heartexlabs/label-studio/-/label-studio-1.4.0.tgz";
/// The integrity the registry publishes for it (Subresource Integrity form).
pub(crate) const INTEGRITY: &str = "sha512-NczF2gDF/Whq7+xI3tYZLrAk8Pq6hacXhYEDmWfHAQIZ0eiieyrMxxHz4KIU7wnagComaGv+QJ2Zc6SBcBmuCg==";
/// The cached tarball's file name.
pub(crate) const FILE_NAME: &str = "label-studio-1.4.0.tgz";

/// Points at a tarball on disk: an offline build reads it instead of the network.
pub(crate) const TARBALL_VAR: &str = "LABELSYNC_EDITOR_TARBALL";
/// Where downloaded tarballs are kept (default: the user's cache directory).
pub(crate) const CACHE_VAR: &str = "LABELSYNC_EDITOR_CACHE";
/// Another address for the same tarball (a registry mirror).
pub(crate) const URL_VAR: &str = "LABELSYNC_EDITOR_URL";

/// The files the binary embeds: (path in the package, name in the output directory).
pub(crate) const FILES: [(&str, &str); 4] = [
    ("package/build/static/js/main.js", "main.js"),
    ("package/build/static/css/main.css", "main.css"),
    ("package/LICENSE", "LICENSE"),
    (
        "package/build/static/js/main.js.LICENSE.txt",
        "THIRD-PARTY-LICENSES.txt",
    ),
];

/// Where the tarball comes from and where it may be kept.
pub(crate) struct Source {
    /// A tarball the user gave: used as it is, never fetched.
    pub(crate) local: Option<PathBuf>,
    pub(crate) cache_dir: PathBuf,
    /// Used when `cache_dir` cannot be created (a read-only or missing home).
    pub(crate) fallback_cache_dir: PathBuf,
    pub(crate) url: String,
}

/// Writes the editor's files into `out_dir`; returns the tarball that was used.
pub(crate) fn prepare(source: &Source, out_dir: &Path) -> Result<PathBuf, String> {
    let (tarball, bytes) = match &source.local {
        Some(path) => (path.clone(), read_local(path)?),
        None => cached_or_fetched(source)?,
    };
    unpack(&bytes, out_dir)?;
    Ok(tarball)
}

fn read_local(path: &Path) -> Result<Vec<u8>, String> {
    let bytes = fs::read(path)
        .map_err(|err| format!("{TARBALL_VAR}={} cannot be read: {err}.", path.display()))?;
    verify(&bytes).map_err(|got| {
        format!(
            "{TARBALL_VAR}={} is not {PACKAGE}: its checksum is {got}, the pinned one is {INTEGRITY}. \
             Download it again from {URL} (or run `npm pack {PACKAGE}`) and point {TARBALL_VAR} at it.",
            path.display()
        )
    })?;
    Ok(bytes)
}

fn cached_or_fetched(source: &Source) -> Result<(PathBuf, Vec<u8>), String> {
    let cache_dir = if fs::create_dir_all(&source.cache_dir).is_ok() {
        &source.cache_dir
    } else if std::env::var_os(CACHE_VAR).is_some() {
        return Err(format!(
            "{CACHE_VAR}={} cannot be created: set it to a writable directory.",
            source.cache_dir.display()
        ));
    } else {
        &source.fallback_cache_dir
    };
    let cached = cache_dir.join(FILE_NAME);
    if let Ok(bytes) = fs::read(&cached) {
        if verify(&bytes).is_ok() {
            return Ok((cached, bytes));
        }
        // A cut-short or altered file: fetch it again rather than trust it.
        let _ = fs::remove_file(&cached);
    }
    // Each build downloads to a file of its own: builds sharing the cache (debug and
    // release, two checkouts) never read each other's half-written download.
    let partial = cache_dir.join(format!("{FILE_NAME}.{}.part", std::process::id()));
    download(&source.url, &partial)?;
    let bytes = fs::read(&partial).map_err(|err| format!("{}: {err}", partial.display()));
    let bytes = match bytes.and_then(|bytes| verify(&bytes).map(|()| bytes)) {
        Ok(bytes) => bytes,
        Err(got) => {
            let _ = fs::remove_file(&partial);
            return Err(format!(
                "The download from {} does not match the pinned checksum of {PACKAGE}: got {got}, expected {INTEGRITY}. \
                 Check that the address serves that exact package, or download it yourself and set {TARBALL_VAR}.",
                source.url
            ));
        }
    };
    fs::rename(&partial, &cached).map_err(|err| format!("{}: {err}", cached.display()))?;
    Ok((cached, bytes))
}

fn download(url: &str, to: &Path) -> Result<(), String> {
    let offline_hint = format!(
        "Without network access, download {URL} on another machine (or `npm pack {PACKAGE}`) \
         and build with {TARBALL_VAR}=/path/to/{FILE_NAME}."
    );
    let output = Command::new("curl")
        .args(["--fail", "--silent", "--show-error", "--location", "--retry", "3"])
        .args(["--connect-timeout", "20", "--max-time", "300", "--output"])
        .arg(to)
        .arg(url)
        .output()
        .map_err(|err| format!("Label Studio's editor must be downloaded, and `curl` could not be run ({err}). Install curl, or: {offline_hint}"))?;
    if output.status.success() {
        return Ok(());
    }
    let _ = fs::remove_file(to);
    Err(format!(
        "Label Studio's editor could not be downloaded from {url}: {}. {offline_hint}",
        String::from_utf8_lossy(&output.stderr).trim()
    ))
}

/// Checks `bytes` against [`INTEGRITY`]; on a mismatch, returns the integrity they have.
pub(crate) fn verify(bytes: &[u8]) -> Result<(), String> {
    let got = format!(
        "sha512-{}",
        base64::engine::general_purpose::STANDARD.encode(Sha512::digest(bytes))
    );
    if got == INTEGRITY { Ok(()) } else { Err(got) }
}

/// Copies [`FILES`] out of the gzipped tarball into `out_dir`, stopping once all are found.
fn unpack(tarball: &[u8], out_dir: &Path) -> Result<(), String> {
    fs::create_dir_all(out_dir).map_err(|err| format!("{}: {err}", out_dir.display()))?;
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(tarball));
    let mut missing: Vec<_> = FILES.to_vec();
    let broken = |err: std::io::Error| format!("The editor's tarball cannot be unpacked: {err}");
    for entry in archive.entries().map_err(broken)? {
        let mut entry = entry.map_err(broken)?;
        let path = entry.path().map_err(broken)?.to_string_lossy().into_owned();
        let Some(at) = missing.iter().position(|(inside, _)| *inside == path) else {
            continue;
        };
        let (_, name) = missing.swap_remove(at);
        let mut contents = Vec::new();
        entry.read_to_end(&mut contents).map_err(broken)?;
        fs::write(out_dir.join(name), contents).map_err(|err| format!("{name}: {err}"))?;
        if missing.is_empty() {
            return Ok(());
        }
    }
    Err(format!(
        "The editor's tarball has no {}.",
        missing
            .iter()
            .map(|(inside, _)| *inside)
            .collect::<Vec<_>>()
            .join(", ")
    ))
}
