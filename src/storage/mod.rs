//! Storage back ends behind one trait: list, read, write, delete, check.
//!
//! Everything above this module (sync, export, validation, file serving) is written once
//! against [`Storage`]; each provider, one file, maps its own settings onto it and says
//! which fields it takes ([`provider`] lists them). [`StorageSettings`] are a storage's
//! settings, read once. This module knows nothing about tasks or annotations.

pub mod azure;
pub mod check;
pub mod fields;
pub mod gcs;
pub mod local;
pub mod object;
pub mod provider;
pub mod redis;
pub mod s3;
mod settings;

use std::fmt::Debug;
use std::sync::Arc;

use crate::config::LocalFilesConfig;
use async_trait::async_trait;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures_util::stream::BoxStream;
use futures_util::{StreamExt, TryStreamExt};
pub use provider::{PROVIDERS, Provider, provider};
pub use settings::{Common, StorageSettings};

/// Writes [`Storage::write_many`] keeps in flight by default.
pub const WRITE_CONCURRENCY: usize = 8;

/// Source (import) or target (export).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    Import,
    Export,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Import => "import",
            Direction::Export => "export",
        }
    }

    /// Reads `import` / `export` as stored.
    pub fn parse(text: &str) -> Direction {
        if text == "export" {
            Direction::Export
        } else {
            Direction::Import
        }
    }
}

/// One object found by a listing. Providers fill what their listing gives for free.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObjectInfo {
    pub key: String,
    pub size: Option<u64>,
    pub last_modified: Option<DateTime<Utc>>,
    /// What the store says identifies this version of the object (S3's ETag: the
    /// content's MD5 for a plain upload), when it says.
    pub etag: Option<String>,
}

/// A byte range asked for by a browser (already clamped by the caller).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ByteRange {
    /// `start..end` (end exclusive).
    Bounded(u64, u64),
    /// From `start` to the end.
    From(u64),
    /// The last `n` bytes.
    Suffix(u64),
}

/// An object's bytes, chunk by chunk.
pub type ByteStream = BoxStream<'static, Result<Bytes, StorageError>>;

/// Part or all of an object, ready to stream to a browser.
pub struct Fetched {
    pub body: ByteStream,
    /// The object's whole size.
    pub size: u64,
    /// The bytes in `body` (end exclusive).
    pub range: std::ops::Range<u64>,
    pub etag: Option<String>,
    pub last_modified: Option<DateTime<Utc>>,
    pub content_type: Option<String>,
}

/// A listing: objects in the provider's order, or the error that stopped it.
pub type ObjectStream<'a> = BoxStream<'a, Result<ObjectInfo, StorageError>>;

/// What a storage operation can fail with, by kind. The message is for people: it says
/// what to fix and carries no secrets. The cause (the provider's own error) is kept as the
/// error's source, for the log.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StorageError {
    /// The object does not exist.
    #[error("{key} not found")]
    NotFound {
        key: String,
        #[source]
        cause: Option<Cause>,
    },
    /// The settings are unusable (bad path, missing bucket, ...).
    #[error("{message}")]
    Misconfigured {
        message: String,
        #[source]
        cause: Option<Cause>,
    },
    /// Credentials were refused or the object may not be read.
    #[error("{message}")]
    AccessRefused {
        message: String,
        #[source]
        cause: Option<Cause>,
    },
    /// The storage cannot be reached at all; retrying later may help.
    #[error("{message}")]
    Unreachable {
        message: String,
        #[source]
        cause: Option<Cause>,
    },
    /// Anything else, per object.
    #[error("{message}")]
    Other {
        message: String,
        #[source]
        cause: Option<Cause>,
    },
}

/// A provider's own error, shared so that a [`StorageError`] stays cheap to clone.
pub type Cause = Arc<dyn std::error::Error + Send + Sync>;

impl StorageError {
    pub fn not_found(key: impl Into<String>) -> StorageError {
        StorageError::NotFound {
            key: key.into(),
            cause: None,
        }
    }

    pub fn misconfigured(message: impl Into<String>) -> StorageError {
        StorageError::Misconfigured {
            message: message.into(),
            cause: None,
        }
    }

    pub fn refused(message: impl Into<String>) -> StorageError {
        StorageError::AccessRefused {
            message: message.into(),
            cause: None,
        }
    }

    pub fn unreachable(message: impl Into<String>) -> StorageError {
        StorageError::Unreachable {
            message: message.into(),
            cause: None,
        }
    }

    pub fn other(message: impl Into<String>) -> StorageError {
        StorageError::Other {
            message: message.into(),
            cause: None,
        }
    }

    /// Keeps `err` as the cause of this error.
    pub fn because(mut self, err: impl std::error::Error + Send + Sync + 'static) -> StorageError {
        let kept = Some(Arc::new(err) as Cause);
        match &mut self {
            StorageError::NotFound { cause, .. }
            | StorageError::Misconfigured { cause, .. }
            | StorageError::AccessRefused { cause, .. }
            | StorageError::Unreachable { cause, .. }
            | StorageError::Other { cause, .. } => *cause = kept,
        }
        self
    }
}

/// What a sync already holds: the objects a listing for it may leave out.
pub trait Sieve: Send + Sync {
    /// Which of `objects` the sync needs nothing from (listed before, unchanged since, and
    /// still wanted by the storage's filter), in their order. Called from any thread.
    fn held(&self, objects: &[ObjectInfo]) -> Vec<bool>;

    /// Whether it holds no object at all (a first sync): nothing to ask.
    fn is_empty(&self) -> bool;
}

/// A storage back end.
#[async_trait]
pub trait Storage: Send + Sync + Debug {
    /// Objects under the storage's prefix (every level when `recursive`), in listing order.
    fn list(&self, recursive: bool) -> ObjectStream<'_>;

    /// Lists like [`Storage::list`], leaving out what `sieve` holds where the provider
    /// can ask it more cheaply than stream each object to the sync: the local walk asks
    /// from its threads, before it sorts. The default leaves nothing out (the sync looks
    /// each object up itself).
    fn list_sifted(&self, recursive: bool, sieve: Arc<dyn Sieve>) -> ObjectStream<'_> {
        let _ = sieve;
        self.list(recursive)
    }

    /// The objects that come after `after` in listing order: where an interrupted sync
    /// resumes. Providers whose server can start a listing at a key override this; the
    /// default lists everything and skips what comes before.
    fn list_after<'a>(&'a self, recursive: bool, after: &'a str) -> ObjectStream<'a> {
        self.list(recursive)
            .try_filter(move |object| {
                std::future::ready(self.listing_order(&object.key, after).is_gt())
            })
            .boxed()
    }

    /// The order `list` yields keys in: byte order unless the provider says otherwise.
    fn listing_order(&self, a: &str, b: &str) -> std::cmp::Ordering {
        a.cmp(b)
    }

    /// The whole content of one object.
    async fn read(&self, key: &str) -> Result<Bytes, StorageError>;

    /// One object's content in chunks, for objects too large to hold in memory. The
    /// default is [`Storage::fetch`]'s body; providers that can stream a file do.
    async fn read_stream(&self, key: &str) -> Result<ByteStream, StorageError> {
        Ok(self.fetch(key, None).await?.body)
    }

    /// Creates or replaces one object, never leaving a half-written one behind.
    async fn write(&self, key: &str, body: Bytes) -> Result<(), StorageError>;

    /// Writes many objects (key, body), each as [`Storage::write`] would; the outcomes come
    /// back in the objects' order. The default keeps [`WRITE_CONCURRENCY`] writes in flight,
    /// which hides a server's round trips; a provider whose writes queue on one lock
    /// (a local directory's) overrides it.
    async fn write_many(&self, objects: Vec<(String, Bytes)>) -> Vec<Result<(), StorageError>> {
        futures_util::stream::iter(objects)
            .map(|(key, body)| async move { self.write(&key, body).await })
            .buffered(WRITE_CONCURRENCY)
            .collect()
            .await
    }

    /// Removes one object; a missing object is not an error.
    async fn delete(&self, key: &str) -> Result<(), StorageError>;

    /// Proves the storage is reachable with its settings.
    async fn check(&self) -> Result<(), StorageError>;

    /// The key under which a target storage keeps the object called `name`.
    fn key_for(&self, name: &str) -> String;

    /// The URI a blob-mode task stores for `key`.
    fn blob_uri(&self, key: &str) -> String;

    /// The part of a key that the regex filter must match (Label Studio matches the file
    /// name for local files and the whole key elsewhere).
    fn filter_subject<'k>(&self, key: &'k str) -> &'k str {
        key
    }

    /// Part or all of an object with what a browser needs to cache it. Providers that can
    /// ask their server for a range do; the default reads the object and slices it.
    async fn fetch(&self, key: &str, range: Option<ByteRange>) -> Result<Fetched, StorageError> {
        let bytes = self.read(key).await?;
        let size = bytes.len() as u64;
        let span = match range {
            None => 0..size,
            Some(ByteRange::Bounded(start, end)) => start.min(size)..end.min(size),
            Some(ByteRange::From(start)) => start.min(size)..size,
            Some(ByteRange::Suffix(n)) => size.saturating_sub(n)..size,
        };
        let body = bytes.slice(span.start as usize..span.end as usize);
        Ok(Fetched {
            body: futures_util::stream::iter([Ok(body)]).boxed(),
            size,
            range: span,
            etag: None,
            last_modified: None,
            content_type: None,
        })
    }

    /// The object with its size and modification time, for listings that leave them out
    /// (a walk of a folder does not stat every file; only a preview wants them). The
    /// default keeps what the listing knew.
    async fn describe(&self, object: ObjectInfo) -> Result<ObjectInfo, StorageError> {
        Ok(object)
    }

    /// Removes what writes of a process that died half-way left behind (temporary files).
    async fn clean_up(&self) -> Result<(), StorageError> {
        Ok(())
    }

    /// A URL that lets a browser GET the object for `ttl`, where the provider signs URLs.
    async fn presign(
        &self,
        _key: &str,
        _ttl: std::time::Duration,
    ) -> Result<Option<String>, StorageError> {
        Ok(None)
    }

    /// The URI scheme and bucket of this storage's blob URIs (`("s3", "bucket")`), for
    /// storages whose URIs the media resolver can serve.
    fn uri_scheme(&self) -> Option<(&str, &str)> {
        None
    }
}

/// What providers need from the server's configuration.
#[derive(Debug, Clone)]
pub struct ProviderContext {
    pub local_files: LocalFilesConfig,
    pub cloud: crate::config::CloudDefaults,
}

/// A storage's regex filter, with Python `re.match` semantics (anchored at the start).
#[derive(Debug, Clone)]
pub struct KeyFilter(Option<regex::Regex>);

/// Patterns past this compiled size are refused rather than left to eat memory.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

impl KeyFilter {
    /// Compiles a filter; an empty or missing pattern matches everything.
    pub fn new(pattern: Option<&str>) -> Result<KeyFilter, String> {
        match pattern.map(str::trim).filter(|p| !p.is_empty()) {
            None => Ok(KeyFilter(None)),
            Some(pattern) => regex::RegexBuilder::new(&format!("^(?:{pattern})"))
                .size_limit(REGEX_SIZE_LIMIT)
                .build()
                .map(|regex| KeyFilter(Some(regex)))
                .map_err(|err| {
                    format!(
                        "Invalid regular expression {pattern:?}: {}",
                        regex_reason(&err)
                    )
                }),
        }
    }

    pub fn matches(&self, subject: &str) -> bool {
        self.0.as_ref().is_none_or(|regex| regex.is_match(subject))
    }
}

fn regex_reason(err: &regex::Error) -> String {
    match err {
        regex::Error::CompiledTooBig(_) => "the pattern is too large; simplify it".to_owned(),
        other => other
            .to_string()
            .lines()
            .last()
            .unwrap_or_default()
            .trim()
            .to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::KeyFilter;

    #[test]
    fn filter_is_anchored_at_the_start_only() {
        let filter = KeyFilter::new(Some(r".*\.jpg")).unwrap();
        assert!(filter.matches("a/b.jpg"));
        assert!(
            filter.matches("a/b.jpg.txt"),
            "re.match does not anchor the end"
        );
        let filter = KeyFilter::new(Some("img")).unwrap();
        assert!(filter.matches("img_1.png"));
        assert!(!filter.matches("x_img_1.png"));
        assert!(KeyFilter::new(None).unwrap().matches("anything"));
        assert!(KeyFilter::new(Some("  ")).unwrap().matches("anything"));
    }

    #[test]
    fn bad_patterns_are_refused_with_a_reason() {
        let err = KeyFilter::new(Some("(unclosed")).unwrap_err();
        assert!(err.contains("(unclosed"), "{err}");
        let err = KeyFilter::new(Some("a{1000}{1000}")).unwrap_err();
        assert!(err.contains("too large"), "{err}");
    }
}
