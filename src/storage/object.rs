//! What S3, Google Cloud Storage and Azure Blob share: a bucket and prefix on an
//! `object_store` store, as a [`Storage`]. Each provider's file builds its store from its
//! fields (and its environment fallbacks) with [`client_options`] and [`retry`]: short
//! timeouts and few retries, so that a wrong endpoint fails a connection check in seconds,
//! not minutes. Error texts are our own: provider messages can carry request details,
//! never credentials, but we still only pass on the kind of failure.

use std::sync::Arc;
use std::time::Duration;

use super::{ObjectInfo, ObjectStream, Storage, StorageError, StorageSettings};
use async_trait::async_trait;
use bytes::Bytes;
use futures_util::{StreamExt, TryStreamExt};
use object_store::client::{HttpError, HttpErrorKind};
use object_store::path::Path;
use object_store::signer::Signer;
use object_store::{ClientOptions, ObjectStore, ObjectStoreExt, PutPayload, RetryConfig};

/// A bucket (or container) and prefix on an object store.
#[derive(Debug)]
pub struct ObjectStorage {
    store: Arc<dyn ObjectStore>,
    signer: Arc<dyn Signer>,
    /// `s3`, `gs` or `azure-blob`: the scheme of blob URIs.
    scheme: &'static str,
    /// For messages: `S3`, `GCS`, `Azure`.
    service: &'static str,
    bucket: String,
    /// Without leading or trailing slashes; empty for the whole bucket.
    prefix: String,
}

/// Client options for a provider's builder: short timeouts, so that a wrong endpoint fails
/// a connection check in seconds; plain HTTP only towards an `http://` endpoint.
pub fn client_options(endpoint: Option<&str>) -> ClientOptions {
    install_crypto();
    ClientOptions::new()
        .with_connect_timeout(Duration::from_secs(5))
        .with_timeout(Duration::from_secs(60))
        .with_allow_http(endpoint.is_some_and(|e| e.starts_with("http://")))
}

/// Gives rustls its crypto (ring, which object_store signs with too) before the first
/// client is built; later calls change nothing. Anything in the process that builds an
/// HTTP client (the tests, the benchmarks' load generator) calls it first too.
pub fn install_crypto() {
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    INSTALLED.call_once(|| {
        // Err only when a provider is installed already, which is as good.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// Few retries, for the same reason.
pub fn retry() -> RetryConfig {
    RetryConfig {
        max_retries: 2,
        retry_timeout: Duration::from_secs(15),
        ..RetryConfig::default()
    }
}

/// A field the provider cannot work without.
pub fn required<'a>(
    settings: &'a StorageSettings,
    name: &str,
    service: &str,
) -> Result<&'a str, StorageError> {
    settings
        .text(name)
        .ok_or_else(|| StorageError::misconfigured(format!("The {service} {name} must be set.")))
}

impl ObjectStorage {
    /// A storage on `store` (which also signs URLs), at the settings' bucket and prefix.
    pub fn new<S: ObjectStore + Signer + 'static>(
        store: S,
        scheme: &'static str,
        service: &'static str,
        bucket: &str,
        settings: &StorageSettings,
    ) -> ObjectStorage {
        let store = Arc::new(store);
        let prefix = settings
            .common
            .location
            .as_deref()
            .unwrap_or_default()
            .trim_matches('/')
            .to_owned();
        ObjectStorage {
            store: store.clone(),
            signer: store,
            scheme,
            service,
            bucket: bucket.to_owned(),
            prefix,
        }
    }

    fn prefix_path(&self) -> Option<Path> {
        (!self.prefix.is_empty()).then(|| Path::from(self.prefix.as_str()))
    }

    /// A recursive `object_store` listing as objects (folder markers left out).
    fn objects<'a>(
        &'a self,
        listing: futures_util::stream::BoxStream<
            'static,
            object_store::Result<object_store::ObjectMeta>,
        >,
    ) -> ObjectStream<'a> {
        listing
            .map_ok(object_info)
            .map_err(move |err| self.error(None, err))
            .try_filter(|info| std::future::ready(!info.key.ends_with('/')))
            .boxed()
    }

    /// Turns an `object_store` error into a message that says what to fix; `key` is the
    /// object asked for, `None` for listings and writes (where "not found" is the bucket).
    fn error(&self, key: Option<&str>, err: object_store::Error) -> StorageError {
        classify(self.service, &self.bucket, key, err)
    }
}

/// What an `object_store` error means for the user, read from its type: its variant, the
/// kind of a transport failure ([`HttpError`]) in its source chain, or the HTTP status
/// the server answered.
fn classify(
    service: &str,
    bucket: &str,
    key: Option<&str>,
    err: object_store::Error,
) -> StorageError {
    let status = match &err {
        object_store::Error::NotFound { .. } => Some(404),
        object_store::Error::PermissionDenied { .. } => Some(403),
        object_store::Error::Unauthenticated { .. } => Some(401),
        other => answered_status(other),
    };
    let error = match (status, key) {
        (Some(404), Some(key)) => StorageError::not_found(key),
        (Some(404), None) => {
            StorageError::misconfigured(format!("Cannot find bucket {bucket} in {service}."))
        }
        (Some(401 | 403), _) => StorageError::refused(format!(
            "Cannot connect to {service} {bucket} with the specified credentials: access was refused."
        )),
        (Some(500..=599), _) => StorageError::unreachable(format!(
            "The {service} endpoint for {bucket} answers with server errors; try again later."
        )),
        _ if transport_failed(&err) => StorageError::unreachable(format!(
            "Cannot reach the {service} endpoint for {bucket}: the server does not answer (check the endpoint and the network)."
        )),
        _ => StorageError::other(format!(
            "{service} request for {bucket} failed: {}",
            short_reason(&err)
        )),
    };
    tracing::debug!(service, bucket = %bucket, "storage error: {err:?}");
    error.because(err)
}

/// Whether the request never got an answer: an [`HttpError`] of a transport kind in the
/// error's source chain.
fn transport_failed(err: &(dyn std::error::Error + 'static)) -> bool {
    source_chain(err).any(|link| {
        link.downcast_ref::<HttpError>().is_some_and(|http| {
            matches!(
                http.kind(),
                HttpErrorKind::Connect
                    | HttpErrorKind::Request
                    | HttpErrorKind::Timeout
                    | HttpErrorKind::Interrupted
            )
        })
    })
}

/// The HTTP status a server answered, for errors `object_store` does not sort into a
/// variant (listings, some writes). The status sits in a type it keeps private; the link
/// of the source chain that carries it is displayed in one fixed form, read here: a
/// status, never digits found in a URL or a body.
fn answered_status(err: &(dyn std::error::Error + 'static)) -> Option<u16> {
    const STATUS_LINK: &str = "Server returned non-2xx status code: ";
    source_chain(err).find_map(|link| {
        let text = link.to_string();
        let digits = text.strip_prefix(STATUS_LINK)?.get(..3)?;
        digits.parse().ok()
    })
}

fn source_chain<'a>(
    err: &'a (dyn std::error::Error + 'static),
) -> impl Iterator<Item = &'a (dyn std::error::Error + 'static)> {
    std::iter::successors(Some(err), |link| link.source())
}

/// The first line of an error, without request URLs.
fn short_reason(err: &object_store::Error) -> String {
    let text = err.to_string();
    let line = text.lines().next().unwrap_or_default();
    line.split(" http")
        .next()
        .unwrap_or(line)
        .chars()
        .take(200)
        .collect()
}

fn object_info(meta: object_store::ObjectMeta) -> ObjectInfo {
    ObjectInfo {
        key: meta.location.to_string(),
        size: Some(meta.size),
        last_modified: Some(meta.last_modified),
        etag: meta.e_tag,
    }
}

/// A builder that refused its settings.
pub fn config_error(service: &str, err: &object_store::Error) -> StorageError {
    StorageError::misconfigured(format!(
        "The {service} settings are not usable: {}",
        short_reason(err)
    ))
}

#[async_trait]
impl Storage for ObjectStorage {
    fn list(&self, recursive: bool) -> ObjectStream<'_> {
        let prefix = self.prefix_path();
        if recursive {
            self.objects(self.store.list(prefix.as_ref()))
        } else {
            let listing = async move { self.store.list_with_delimiter(prefix.as_ref()).await };
            futures_util::stream::once(listing)
                .map(move |result| match result {
                    Ok(list) => futures_util::stream::iter(
                        list.objects.into_iter().map(object_info).map(Ok),
                    )
                    .boxed(),
                    Err(err) => futures_util::stream::iter([Err(self.error(None, err))]).boxed(),
                })
                .flatten()
                .boxed()
        }
    }

    /// A recursive listing starts at the key on the server (S3's `start-after`, GCS's
    /// `startOffset`), so a resumed sync does not list again what the interrupted one
    /// already went through. The keys are checked here too: not every server honours the
    /// offset (Azurite lists from the start).
    fn list_after<'a>(&'a self, recursive: bool, after: &'a str) -> ObjectStream<'a> {
        // `Path::parse` keeps the key as listed (`Path::from` would percent-encode `#`, `%`
        // and the like, and the server would start after another key).
        let listing = match (recursive, Path::parse(after)) {
            (true, Ok(offset)) => {
                let prefix = self.prefix_path();
                self.objects(self.store.list_with_offset(prefix.as_ref(), &offset))
            }
            _ => self.list(recursive),
        };
        listing
            .try_filter(move |object| std::future::ready(object.key.as_str() > after))
            .boxed()
    }

    async fn describe(&self, object: ObjectInfo) -> Result<ObjectInfo, StorageError> {
        let meta = self
            .store
            .head(&Path::from(object.key.as_str()))
            .await
            .map_err(|err| self.error(Some(&object.key), err))?;
        Ok(ObjectInfo {
            key: object.key,
            ..object_info(meta)
        })
    }

    async fn read(&self, key: &str) -> Result<Bytes, StorageError> {
        let path = Path::from(key);
        let result = self
            .store
            .get(&path)
            .await
            .map_err(|err| self.error(Some(key), err))?;
        result
            .bytes()
            .await
            .map_err(|err| self.error(Some(key), err))
    }

    async fn write(&self, key: &str, body: Bytes) -> Result<(), StorageError> {
        self.store
            .put(&Path::from(key), PutPayload::from(body))
            .await
            .map_err(|err| self.error(None, err))?;
        Ok(())
    }

    async fn delete(&self, key: &str) -> Result<(), StorageError> {
        match self.store.delete(&Path::from(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(err) => Err(self.error(Some(key), err)),
        }
    }

    async fn check(&self) -> Result<(), StorageError> {
        let mut listing = self.store.list(self.prefix_path().as_ref());
        match listing.next().await {
            Some(Err(err)) => Err(self.error(None, err)),
            _ => Ok(()),
        }
    }

    fn key_for(&self, name: &str) -> String {
        if self.prefix.is_empty() {
            name.to_owned()
        } else {
            format!("{}/{name}", self.prefix)
        }
    }

    fn blob_uri(&self, key: &str) -> String {
        format!("{}://{}/{key}", self.scheme, self.bucket)
    }

    async fn fetch(
        &self,
        key: &str,
        range: Option<super::ByteRange>,
    ) -> Result<super::Fetched, StorageError> {
        let range = range.map(|range| match range {
            super::ByteRange::Bounded(start, end) => object_store::GetRange::Bounded(start..end),
            super::ByteRange::From(start) => object_store::GetRange::Offset(start),
            super::ByteRange::Suffix(n) => object_store::GetRange::Suffix(n),
        });
        let options = object_store::GetOptions {
            range,
            ..Default::default()
        };
        let result = self
            .store
            .get_opts(&Path::from(key), options)
            .await
            .map_err(|err| self.error(Some(key), err))?;
        let content_type = result
            .attributes
            .get(&object_store::Attribute::ContentType)
            .map(|v| v.to_string());
        let owned_key = key.to_owned();
        let service = self.service;
        Ok(super::Fetched {
            size: result.meta.size,
            range: result.range.clone(),
            etag: result.meta.e_tag.clone(),
            last_modified: Some(result.meta.last_modified),
            content_type,
            body: result
                .into_stream()
                .map_err(move |err| {
                    StorageError::other(format!(
                        "{service} stream of {owned_key} failed: {}",
                        short_reason(&err)
                    ))
                    .because(err)
                })
                .boxed(),
        })
    }

    async fn presign(&self, key: &str, ttl: Duration) -> Result<Option<String>, StorageError> {
        let url = self
            .signer
            .signed_url(http::Method::GET, &Path::from(key), ttl)
            .await
            .map_err(|err| self.error(Some(key), err))?;
        Ok(Some(url.to_string()))
    }

    fn uri_scheme(&self) -> Option<(&str, &str)> {
        Some((self.scheme, &self.bucket))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn generic(source: impl std::error::Error + Send + Sync + 'static) -> object_store::Error {
        object_store::Error::Generic {
            store: "MicrosoftAzure",
            source: Box::new(source),
        }
    }

    /// The link object_store puts in the chain for a server's answer.
    #[derive(Debug, thiserror::Error)]
    #[error("Server returned non-2xx status code: {0}: <Error><Code>Whatever</Code></Error>")]
    struct Answered(&'static str);

    #[test]
    fn errors_are_read_by_their_kind_not_by_digits_in_the_url() {
        let refused = std::io::Error::new(
            std::io::ErrorKind::ConnectionRefused,
            "http://127.0.0.1:40353/devstoreaccount1/c?restype=container",
        );
        let unreachable = generic(HttpError::new(HttpErrorKind::Connect, refused));
        assert!(matches!(
            classify("Azure", "c", None, unreachable),
            StorageError::Unreachable { cause: Some(_), .. }
        ));
        let forbidden = generic(Answered("403 Forbidden"));
        assert!(matches!(
            classify("Azure", "c", None, forbidden),
            StorageError::AccessRefused { .. }
        ));
        let denied = object_store::Error::PermissionDenied {
            path: "k".into(),
            source: "no".into(),
        };
        assert!(matches!(
            classify("S3", "b", None, denied),
            StorageError::AccessRefused { .. }
        ));
        let digits_in_a_message = generic(std::io::Error::other("port 40353 said 404"));
        assert!(matches!(
            classify("S3", "b", None, digits_in_a_message),
            StorageError::Other { .. }
        ));
    }

    #[test]
    fn not_found_is_the_object_when_one_was_asked_for_else_the_bucket() {
        let missing = || generic(Answered("404 Not Found"));
        assert!(matches!(
            classify("S3", "b", Some("k.json"), missing()),
            StorageError::NotFound { key, .. } if key == "k.json"
        ));
        let error = classify("S3", "b", None, missing());
        assert!(matches!(error, StorageError::Misconfigured { .. }));
        assert_eq!(error.to_string(), "Cannot find bucket b in S3.");
        let source = std::error::Error::source(&error).expect("the cause is kept");
        assert!(source.to_string().contains("MicrosoftAzure"), "{source}");
    }
}
