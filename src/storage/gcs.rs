//! Google Cloud Storage (or a GCS-compatible endpoint such as an emulator).

use std::sync::Arc;

use object_store::gcp::GoogleCloudStorageBuilder;
use serde_json::Value;

use super::fields::{
    CAN_DELETE, EXPORT_LAYOUT, FieldSpec, Input, PREFIX_EXPORT, PREFIX_IMPORT, PRESIGN,
    PRESIGN_TTL, RECURSIVE_SCAN, REGEX_FILTER, REIMPORT_CHANGED, REMOVE_VANISHED, SYNC_INTERVAL,
    USE_BLOB_URLS, secret, text,
};
use super::object::{ObjectStorage, client_options, config_error, required, retry};
use super::provider::{Provider, UriScheme, as_given, no_check};
use super::{ProviderContext, Storage, StorageError, StorageSettings};

const FIELDS: &[FieldSpec] = &[
    text("bucket", "Bucket Name", "my-storage-bucket").required(),
    PREFIX_IMPORT,
    PREFIX_EXPORT,
    REGEX_FILTER,
    USE_BLOB_URLS,
    RECURSIVE_SCAN,
    secret(
        "google_application_credentials",
        "Google Application Credentials",
        "Paste the contents of credentials.json here OR leave blank to use the server's GOOGLE_APPLICATION_CREDENTIALS",
    )
    .input(Input::Textarea),
    text(
        "google_project_id",
        "Google Project ID",
        "Leave blank to inherit from the Google Application Credentials",
    ),
    text("gcs_endpoint", "GCS Endpoint", "https://storage.googleapis.com (default)"),
    PRESIGN,
    PRESIGN_TTL,
    CAN_DELETE,
    EXPORT_LAYOUT,
    SYNC_INTERVAL,
    REMOVE_VANISHED,
    REIMPORT_CHANGED,
];

pub const PROVIDER: Provider = Provider {
    name: "gcs",
    title: "Google Cloud Storage",
    label: "Google Cloud Storage",
    description: "Google Cloud Storage buckets, with a service account key",
    uri: Some(UriScheme {
        scheme: "gs",
        bucket_field: "bucket",
    }),
    location_field: "prefix",
    card: &[("Bucket", "bucket")],
    fields: FIELDS,
    check: no_check,
    normalize: as_given,
    open,
};

fn open(
    settings: &StorageSettings,
    ctx: &ProviderContext,
) -> Result<Arc<dyn Storage>, StorageError> {
    let bucket = required(settings, "bucket", "GCS")?;
    let endpoint = settings.text("gcs_endpoint");
    let mut builder = GoogleCloudStorageBuilder::new()
        .with_bucket_name(bucket)
        .with_client_options(client_options(endpoint))
        .with_retry(retry());
    match settings.secret("google_application_credentials") {
        Some(json) => {
            serde_json::from_str::<Value>(json).map_err(|err| {
                StorageError::misconfigured(format!(
                    "Google Application Credentials must be valid JSON string. {err}"
                ))
            })?;
            builder = builder.with_service_account_key(json);
        }
        None => match ctx.cloud.google_application_credentials.as_deref() {
            Some(path) => builder = builder.with_service_account_path(path),
            // As for S3: a custom endpoint has no metadata server to ask for a token.
            None if endpoint.is_some() => builder = builder.with_skip_signature(true),
            None => {}
        },
    }
    if let Some(endpoint) = endpoint {
        builder = builder.with_base_url(endpoint);
    }
    let store = builder.build().map_err(|err| config_error("GCS", &err))?;
    Ok(Arc::new(ObjectStorage::new(
        store, "gs", "GCS", bucket, settings,
    )))
}
