//! Local directories as storages (Label Studio's "Local Files").
//!
//! Keys are absolute file paths, as in Label Studio. A storage path must be an existing
//! directory strictly inside the document root; the check is made on the canonical
//! (symlink-free) path, so a symlink cannot smuggle a storage outside the root.

use std::collections::HashSet;
use std::io::ErrorKind;
use std::path::{Component, Path, PathBuf};

use async_trait::async_trait;
use bytes::Bytes;
use futures_util::StreamExt;
use futures_util::stream;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use tokio::io::AsyncReadExt;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::Value;

use super::fields::{
    CAN_DELETE, EXPORT_LAYOUT, FieldSpec, Input, RECURSIVE_SCAN, REGEX_FILTER, REIMPORT_CHANGED,
    REMOVE_VANISHED, SYNC_INTERVAL, USE_BLOB_URLS, WATCH, text,
};
use super::provider::{Provider, no_check};
use super::{
    ByteStream, ObjectInfo, ObjectStream, ProviderContext, Sieve, Storage, StorageError,
    StorageSettings,
};
use crate::config::LocalFilesConfig;

mod walk;

const FIELDS: &[FieldSpec] = &[
    text("path", "Absolute local path", "")
        .input(Input::LocalPath)
        .required(),
    REGEX_FILTER,
    USE_BLOB_URLS,
    RECURSIVE_SCAN,
    CAN_DELETE,
    EXPORT_LAYOUT,
    SYNC_INTERVAL,
    REMOVE_VANISHED,
    REIMPORT_CHANGED,
    WATCH,
];

pub const PROVIDER: Provider = Provider {
    name: "localfiles",
    title: "Local files",
    label: "Local Files",
    description: "A directory on the server, under its document root",
    uri: None,
    location_field: "path",
    card: &[("Path", "path")],
    fields: FIELDS,
    check: no_check,
    normalize,
    open,
};

/// The path is stored cleaned up (`/a//b/` is `/a/b`), as Label Studio does.
fn normalize(name: &str, value: Value) -> Value {
    match (name, value) {
        ("path", Value::String(path)) => Value::String(normalize_storage_path(&path)),
        (_, value) => value,
    }
}

fn open(
    settings: &StorageSettings,
    ctx: &ProviderContext,
) -> Result<Arc<dyn Storage>, StorageError> {
    let path = settings.common.location.as_deref().unwrap_or_default();
    Ok(Arc::new(LocalDirectory::new(path, &ctx.local_files)?))
}

/// Bytes read at a time when a file is streamed.
const READ_CHUNK: usize = 256 * 1024;

/// Characters Python's `urllib.parse.quote(path, safe='/')` leaves as they are.
const PATH_QUOTE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'_')
    .remove(b'.')
    .remove(b'-')
    .remove(b'~')
    .remove(b'/');

/// A directory under the local files document root.
#[derive(Debug, Clone)]
pub struct LocalDirectory {
    /// The storage path as configured (normalized): the prefix of every key.
    path: String,
    /// The canonical path relative to the document root, `/`-separated (for blob URLs).
    relative_base: String,
}

impl LocalDirectory {
    /// Validates `path` against the document root and opens it.
    pub fn new(path: &str, config: &LocalFilesConfig) -> Result<LocalDirectory, StorageError> {
        let path = normalize_storage_path(path);
        let canonical = validate_storage_path(&path, config)?;
        let relative = canonical
            .strip_prefix(&config.document_root)
            .unwrap_or(&canonical);
        Ok(LocalDirectory {
            path,
            relative_base: slash_path(relative),
        })
    }

    /// Guards every key-based operation: a key must name a file inside this directory.
    fn file_path(&self, key: &str) -> Result<PathBuf, StorageError> {
        let inside = key
            .strip_prefix(&self.path)
            .and_then(|rest| rest.strip_prefix('/'))
            .is_some_and(|rest| {
                Path::new(rest)
                    .components()
                    .all(|c| matches!(c, Component::Normal(_)))
            });
        if inside {
            Ok(PathBuf::from(key))
        } else {
            Err(StorageError::not_found(key.to_owned()))
        }
    }

    /// The directory's files, walked on a blocking thread (less what `sieve` holds).
    fn walked(&self, recursive: bool, sieve: Option<Arc<dyn Sieve>>) -> ObjectStream<'_> {
        let dir = self.path.clone();
        let walked = async move {
            tokio::task::spawn_blocking(move || {
                walk::walk(Path::new(&dir), recursive, sieve.as_deref())
            })
            .await
        };
        stream::once(walked)
            .map(|outcome| match outcome {
                Ok(Ok(walk)) => stream::iter(walk.into_objects().map(Ok)).boxed(),
                Ok(Err(err)) => stream::iter([Err(err)]).boxed(),
                Err(err) => {
                    stream::iter([Err(StorageError::other(err.to_string()).because(err))]).boxed()
                }
            })
            .flatten()
            .boxed()
    }
}

#[async_trait]
impl Storage for LocalDirectory {
    fn list(&self, recursive: bool) -> ObjectStream<'_> {
        self.walked(recursive, None)
    }

    fn list_sifted(&self, recursive: bool, sieve: Arc<dyn Sieve>) -> ObjectStream<'_> {
        self.walked(recursive, Some(sieve))
    }

    async fn describe(&self, object: ObjectInfo) -> Result<ObjectInfo, StorageError> {
        let path = self.file_path(&object.key)?;
        let meta = tokio::fs::metadata(&path)
            .await
            .map_err(|err| read_error(&object.key, err))?;
        Ok(ObjectInfo {
            size: Some(meta.len()),
            last_modified: meta
                .modified()
                .ok()
                .map(chrono::DateTime::<chrono::Utc>::from),
            ..object
        })
    }

    async fn read(&self, key: &str) -> Result<Bytes, StorageError> {
        let path = self.file_path(key)?;
        tokio::fs::read(&path)
            .await
            .map(Bytes::from)
            .map_err(|err| read_error(key, err))
    }

    async fn read_stream(&self, key: &str) -> Result<ByteStream, StorageError> {
        let path = self.file_path(key)?;
        let file = tokio::fs::File::open(&path)
            .await
            .map_err(|err| read_error(key, err))?;
        let key = key.to_owned();
        Ok(stream::try_unfold(file, move |mut file| {
            let key = key.clone();
            async move {
                let mut chunk = vec![0; READ_CHUNK];
                let read = file
                    .read(&mut chunk)
                    .await
                    .map_err(|err| read_error(&key, err))?;
                chunk.truncate(read);
                Ok((read > 0).then(|| (Bytes::from(chunk), file)))
            }
        })
        .boxed())
    }

    async fn write(&self, key: &str, body: Bytes) -> Result<(), StorageError> {
        let mut outcomes = self.write_many(vec![(key.to_owned(), body)]).await;
        outcomes.pop().expect("one outcome for each object")
    }

    /// One blocking pass, file after file: writers in one directory queue on its lock (perf
    /// showed 8 concurrent ones spinning on it), so concurrent writes only add waiting.
    async fn write_many(&self, objects: Vec<(String, Bytes)>) -> Vec<Result<(), StorageError>> {
        let count = objects.len();
        let targets: Vec<_> = objects
            .into_iter()
            .map(|(key, body)| (self.file_path(&key), body))
            .collect();
        let mut writer = AtomicWriter::new(PathBuf::from(&self.path));
        let written = tokio::task::spawn_blocking(move || {
            let write = |(path, body): (Result<PathBuf, _>, Bytes)| writer.write(&path?, &body);
            targets.into_iter().map(write).collect()
        });
        match written.await {
            Ok(outcomes) => outcomes,
            Err(err) => {
                let failed = StorageError::other(err.to_string()).because(err);
                vec![Err(failed); count]
            }
        }
    }

    async fn delete(&self, key: &str) -> Result<(), StorageError> {
        let path = self.file_path(key)?;
        match tokio::fs::remove_file(&path).await {
            Err(err) if err.kind() != ErrorKind::NotFound => Err(io_error(key, "delete", err)),
            _ => Ok(()),
        }
    }

    async fn check(&self) -> Result<(), StorageError> {
        match tokio::fs::metadata(&self.path).await {
            Ok(meta) if meta.is_dir() => Ok(()),
            _ => Err(StorageError::misconfigured(format!(
                "Absolute local path \"{}\" does not exist",
                self.path
            ))),
        }
    }

    async fn clean_up(&self) -> Result<(), StorageError> {
        let dir = PathBuf::from(&self.path);
        tokio::task::spawn_blocking(move || remove_stale_temporaries(&dir))
            .await
            .map_err(|err| StorageError::other(err.to_string()).because(err))
    }

    fn key_for(&self, name: &str) -> String {
        format!("{}/{name}", self.path)
    }

    fn blob_uri(&self, key: &str) -> String {
        let rest = key
            .strip_prefix(&self.path)
            .unwrap_or(key)
            .trim_start_matches('/');
        let relative = if self.relative_base.is_empty() {
            rest.to_owned()
        } else {
            format!("{}/{rest}", self.relative_base)
        };
        format!(
            "/data/local-files/?d={}",
            utf8_percent_encode(&relative, PATH_QUOTE)
        )
    }

    fn filter_subject<'k>(&self, key: &'k str) -> &'k str {
        key.rsplit('/').next().unwrap_or(key)
    }

    fn listing_order(&self, a: &str, b: &str) -> std::cmp::Ordering {
        by_file_name((name_offset(a), a), (name_offset(b), b))
    }
}

/// Label Studio's path normalization: trim, `\` → `/`, collapse `.`, `..` and `//`, no
/// trailing slash.
pub fn normalize_storage_path(raw: &str) -> String {
    let unified = raw.trim().replace('\\', "/");
    let absolute = unified.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in unified.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.pop().is_none() && !absolute {
                    parts.push("..");
                }
            }
            other => parts.push(other),
        }
    }
    let joined = parts.join("/");
    if absolute {
        format!("/{joined}")
    } else {
        joined
    }
}

/// Checks a normalized storage path against the document root, with Label Studio's
/// messages, and returns its canonical form.
pub fn validate_storage_path(
    path: &str,
    config: &LocalFilesConfig,
) -> Result<PathBuf, StorageError> {
    let root = &config.document_root;
    let example = root.join("dataset1");
    if path.is_empty() {
        return Err(invalid(
            "Path must be set for Local Files storage".to_owned(),
        ));
    }
    if !path.starts_with('/') {
        return Err(invalid(format!(
            "Absolute local path \"{path}\" must be absolute, for example: \"{}\".",
            example.display()
        )));
    }
    let canonical = match std::fs::canonicalize(path) {
        Ok(canonical) if canonical.is_dir() => canonical,
        Ok(_) => {
            return Err(invalid(format!(
                "Absolute local path \"{path}\" is not a directory"
            )));
        }
        Err(_) => {
            return Err(invalid(format!(
                "Absolute local path \"{path}\" does not exist"
            )));
        }
    };
    if canonical == *root {
        return Err(invalid(format!(
            "Absolute local path \"{path}\" cannot be the same as LOCAL_FILES_DOCUMENT_ROOT=\"{}\" by security reasons. Please add a subdirectory. For example: \"{}\".",
            root.display(),
            example.display()
        )));
    }
    if !canonical.starts_with(root) {
        return Err(invalid(format!(
            "Absolute local path \"{path}\" must be a subdirectory of LOCAL_FILES_DOCUMENT_ROOT=\"{}\" by security reasons. For example: \"{}\".",
            root.display(),
            example.display()
        )));
    }
    if !config.serving_enabled {
        return Err(invalid(
            "Serving local files is disabled (LOCAL_FILES_SERVING_ENABLED is false), so tasks could not show these files. Start labelsync with LABEL_STUDIO_LOCAL_FILES_SERVING_ENABLED=true and LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT set to a directory above this path.".to_owned(),
        ));
    }
    Ok(canonical)
}

fn invalid(message: String) -> StorageError {
    StorageError::misconfigured(message)
}

/// Where the file name starts in a path.
fn name_offset(path: &str) -> usize {
    path.rfind('/').map_or(0, |i| i + 1)
}

/// The listing order: by file name, then by path; each path comes with its name offset.
fn by_file_name((a_at, a): (usize, &str), (b_at, b): (usize, &str)) -> std::cmp::Ordering {
    a[a_at..].cmp(&b[b_at..]).then_with(|| a.cmp(b))
}

fn slash_path(path: &Path) -> String {
    path.components()
        .filter_map(|c| c.as_os_str().to_str())
        .collect::<Vec<_>>()
        .join("/")
}

/// Writes files below one directory atomically: each into a temporary file beside it,
/// then renamed over it, so a reader never sees half a file. The directory is checked and
/// each subfolder created once per writer, not once per file.
struct AtomicWriter {
    dir: PathBuf,
    dir_exists: bool,
    made: HashSet<PathBuf>,
}

impl AtomicWriter {
    fn new(dir: PathBuf) -> AtomicWriter {
        AtomicWriter {
            dir,
            dir_exists: false,
            made: HashSet::new(),
        }
    }

    fn write(&mut self, path: &Path, body: &[u8]) -> Result<(), StorageError> {
        let key = path.to_string_lossy();
        // Subfolders of the storage directory are created as needed; the directory itself
        // must exist (a typo in the path must not create a tree somewhere).
        if !self.dir_exists {
            if !self.dir.is_dir() {
                return Err(StorageError::misconfigured(format!(
                    "Directory \"{}\" does not exist",
                    self.dir.display()
                )));
            }
            self.dir_exists = true;
        }
        let parent = path.parent().unwrap_or(&self.dir);
        if !self.made.contains(parent) {
            std::fs::create_dir_all(parent).map_err(|err| io_error(&key, "write", err))?;
            self.made.insert(parent.to_owned());
        }
        let temp = parent.join(temporary_name());
        std::fs::write(&temp, body)
            .and_then(|()| std::fs::rename(&temp, path))
            .map_err(|err| {
                let _ = std::fs::remove_file(&temp);
                io_error(&key, "write", err)
            })
    }
}

/// A name no other write uses: the writer's pid (which lets clean_up tell a dead writer's
/// leftovers from a write in progress) and a number this process never gives twice.
fn temporary_name() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("{TEMP_PREFIX}{}-{n}.tmp", std::process::id())
}

/// Temporary files of atomic writes start with this.
const TEMP_PREFIX: &str = ".labelsync-";

/// Removes temporary files whose writer process no longer runs, below `dir`.
fn remove_stale_temporaries(dir: &Path) {
    let mut pending = vec![dir.to_owned()];
    while let Some(current) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&current) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if entry.file_type().is_ok_and(|kind| kind.is_dir()) {
                pending.push(path);
                continue;
            }
            let name = entry.file_name().to_string_lossy().into_owned();
            let writer = name
                .strip_prefix(TEMP_PREFIX)
                .filter(|_| name.ends_with(".tmp"))
                .and_then(|rest| rest.split('-').next());
            if let Some(pid) = writer.and_then(|pid| pid.parse::<u32>().ok())
                && pid != std::process::id()
                && !Path::new(&format!("/proc/{pid}")).exists()
            {
                let _ = std::fs::remove_file(&path);
            }
        }
    }
}

/// A file that cannot be read is that file's fault, not the storage's (its folder is
/// checked on its own): a sync records it and goes on with the other files.
fn read_error(key: &str, err: std::io::Error) -> StorageError {
    match io_error(key, "read", err) {
        StorageError::AccessRefused { message, cause } => StorageError::Other { message, cause },
        other => other,
    }
}

fn io_error(key: &str, action: &str, err: std::io::Error) -> StorageError {
    let error = match err.kind() {
        ErrorKind::NotFound => StorageError::not_found(key.to_owned()),
        ErrorKind::PermissionDenied => {
            StorageError::refused(format!("Permission denied to {action} {key}"))
        }
        _ => StorageError::other(format!("Failed to {action} {key}: {err}")),
    };
    error.because(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The walk's order is the order a resumed pass skips by (`listing_order`): were they to
    /// disagree, a pass resumed after its cursor would skip files or list them twice.
    #[test]
    fn the_walk_lists_in_the_order_a_resumed_pass_skips_by() {
        let root = tempfile::tempdir().unwrap();
        let dirs = ["", "a", "a-c", "a.b", "a/b", "b", "b/c", "B", "é", "z z"];
        let names = [
            "x.png", "x.png.1", "X.png", "x-y.png", "é.png", "a b.png", "0",
        ];
        for dir in dirs {
            for name in names {
                let path = root.path().join(dir).join(name);
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                std::fs::write(&path, "1").unwrap();
            }
        }
        let keys: Vec<String> = walk::walk(root.path(), true, None)
            .unwrap()
            .into_objects()
            .map(|object| object.key)
            .collect();
        assert_eq!(keys.len(), dirs.len() * names.len());
        for pair in keys.windows(2) {
            let (a, b) = (pair[0].as_str(), pair[1].as_str());
            assert_eq!(
                by_file_name((name_offset(a), a), (name_offset(b), b)),
                std::cmp::Ordering::Less,
                "{a} is listed before {b}"
            );
        }
    }

    #[test]
    fn normalizes_like_label_studio() {
        assert_eq!(normalize_storage_path("  /data//set/./a/ "), "/data/set/a");
        assert_eq!(normalize_storage_path("\\data\\set\\"), "/data/set");
        assert_eq!(normalize_storage_path("/data/set/../other"), "/data/other");
        assert_eq!(normalize_storage_path("/../.."), "/");
    }

    #[test]
    fn quotes_blob_paths_like_python() {
        let dir = LocalDirectory {
            path: "/r/data".into(),
            relative_base: "data".into(),
        };
        assert_eq!(
            dir.blob_uri("/r/data/a b/ü#1.png"),
            "/data/local-files/?d=data/a%20b/%C3%BC%231.png"
        );
        assert_eq!(dir.filter_subject("/r/data/a/img.png"), "img.png");
    }

    #[tokio::test]
    async fn a_batch_fails_only_the_files_it_cannot_write() {
        let root = tempfile::tempdir().unwrap();
        let path = root.path().join("out");
        std::fs::create_dir(&path).unwrap();
        let dir = LocalDirectory {
            path: path.to_str().unwrap().to_owned(),
            relative_base: "out".into(),
        };
        let good = dir.key_for("a/1.json");
        let outside = format!("{}/../2.json", dir.path);
        let batch = vec![
            (good.clone(), Bytes::from_static(b"1")),
            (outside, Bytes::from_static(b"2")),
            (dir.key_for("3.json"), Bytes::from_static(b"3")),
        ];
        let outcomes = dir.write_many(batch.clone()).await;
        assert!(outcomes[0].is_ok() && outcomes[2].is_ok(), "{outcomes:?}");
        assert!(outcomes[1].is_err(), "{outcomes:?}");
        assert_eq!(std::fs::read(&good).unwrap(), b"1");
        assert!(!root.path().join("2.json").exists());

        // A directory gone since the storage was saved is not made again.
        std::fs::remove_dir_all(&path).unwrap();
        let outcomes = dir.write_many(batch).await;
        for outcome in [&outcomes[0], &outcomes[2]] {
            let message = outcome.as_ref().unwrap_err().to_string();
            assert!(message.contains("does not exist"), "{message}");
        }
        assert!(!path.exists());
    }

    #[test]
    fn keys_outside_the_directory_are_refused() {
        let dir = LocalDirectory {
            path: "/r/data".into(),
            relative_base: "data".into(),
        };
        assert!(dir.file_path("/r/data/a/b.json").is_ok());
        for bad in [
            "/r/data2/x",
            "/r/data/../secret",
            "/r/data",
            "/etc/passwd",
            "/r/data/a/../../x",
        ] {
            assert!(dir.file_path(bad).is_err(), "{bad}");
        }
    }
}
