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
        .ok_or_else(|| StorageError::InvalidConfig(format!("The {service} {name} must be set.")))
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

    /// Turns an `object_store` error into a message that says what to fix.
    fn error(&self, key: Option<&str>, err: object_store::Error) -> StorageError {
        classify(self.service, &self.bucket, key, err)
    }
}

/// What an `object_store` error means for the user, by its kind and its text.
fn classify(
    service: &str,
    bucket: &str,
    key: Option<&str>,
    err: object_store::Error,
) -> StorageError {
    let text = format!("{err:?}");
    if let object_store::Error::NotFound { .. } = err
        && let Some(key) = key
    {
        return StorageError::NotFound {
            key: key.to_owned(),
        };
    }
    if [
        "NoSuchBucket",
        "ContainerNotFound",
        "bucket does not exist",
        "The specified bucket",
        "404 Not Found",
    ]
    .iter()
    .any(|needle| text.contains(needle))
    {
        return StorageError::InvalidConfig(format!("Cannot find bucket {bucket} in {service}."));
    }
    // Status codes are matched with their words: a bare "403" also matches an endpoint
    // on port 40353, and a refused connection there read as refused credentials.
    let refused = matches!(
        err,
        object_store::Error::PermissionDenied { .. } | object_store::Error::Unauthenticated { .. }
    );
    if refused
        || [
            "status: 403",
            "status: 401",
            "403 Forbidden",
            "401 Unauthorized",
            "SignatureDoesNotMatch",
            "InvalidAccessKeyId",
            "AuthenticationFailed",
            "AccessDenied",
        ]
        .iter()
        .any(|needle| text.contains(needle))
    {
        return StorageError::Denied(format!(
            "Cannot connect to {service} {bucket} with the specified credentials: access was refused."
        ));
    }
    if [
        "connect",
        "Connection refused",
        "dns error",
        "timed out",
        "error sending request",
    ]
    .iter()
    .any(|n| text.contains(n))
    {
        return StorageError::Unreachable(format!(
            "Cannot reach the {service} endpoint for {bucket}: the server does not answer (check the endpoint and the network)."
        ));
    }
    tracing::debug!(service, bucket = %bucket, "storage error: {text}");
    StorageError::Other(format!(
        "{service} request for {bucket} failed: {}",
        short_reason(&err)
    ))
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
    }
}

/// A builder that refused its settings.
pub fn config_error(service: &str, err: &object_store::Error) -> StorageError {
    StorageError::InvalidConfig(format!(
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
            .map_err(|err| self.error(Some(key), err))?;
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
                    StorageError::Other(format!(
                        "{service} stream of {owned_key} failed: {}",
                        short_reason(&err)
                    ))
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

    fn generic(message: &str) -> object_store::Error {
        object_store::Error::Generic {
            store: "MicrosoftAzure",
            source: message.to_owned().into(),
        }
    }

    #[test]
    fn errors_are_read_by_their_kind_not_by_digits_in_the_url() {
        let refused = generic(
            "error sending request for url (http://127.0.0.1:40353/devstoreaccount1/c?restype=container): Connection refused",
        );
        assert!(matches!(
            classify("Azure", "c", None, refused),
            StorageError::Unreachable(_)
        ));
        let forbidden =
            generic("Server returned non-2xx status code: 403 Forbidden: AuthenticationFailed");
        assert!(matches!(
            classify("Azure", "c", None, forbidden),
            StorageError::Denied(_)
        ));
        let denied = object_store::Error::PermissionDenied {
            path: "k".into(),
            source: "no".into(),
        };
        assert!(matches!(
            classify("S3", "b", None, denied),
            StorageError::Denied(_)
        ));
    }
}
