//! Amazon S3 and S3-compatible stores (MinIO, Ceph, Backblaze B2, ...).

use std::sync::Arc;

use object_store::aws::AmazonS3Builder;

use super::fields::{
    Applies, CAN_DELETE, EXPORT_LAYOUT, FieldSpec, PREFIX_EXPORT, PREFIX_IMPORT, PRESIGN,
    PRESIGN_TTL, RECURSIVE_SCAN, REGEX_FILTER, REIMPORT_CHANGED, REMOVE_VANISHED, SYNC_INTERVAL,
    USE_BLOB_URLS, secret, text,
};
use super::object::{ObjectStorage, client_options, config_error, required, retry};
use super::provider::{Provider, UriScheme, as_given};
use super::{ProviderContext, Storage, StorageError, StorageSettings};
use crate::error::FieldErrors;

const FIELDS: &[FieldSpec] = &[
    text("bucket", "Bucket Name", "my-storage-bucket").required(),
    PREFIX_IMPORT,
    PREFIX_EXPORT,
    REGEX_FILTER,
    USE_BLOB_URLS,
    RECURSIVE_SCAN,
    text("region_name", "Region Name", "us-east-1 (default)"),
    text(
        "s3_endpoint",
        "S3 Endpoint",
        "https://s3.amazonaws.com (default)",
    ),
    secret("aws_access_key_id", "Access Key ID", "AKIAIOSFODNN7EXAMPLE").help(
        "Leave both keys empty to use the server's AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY",
    ),
    secret(
        "aws_secret_access_key",
        "Secret Access Key",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    ),
    secret(
        "aws_session_token",
        "Session Token",
        "Session token (optional)",
    ),
    text(
        "aws_sse_kms_key_id",
        "SSE KMS Key ID",
        "KMS key id (optional)",
    )
    .only(Applies::ExportOnly),
    PRESIGN,
    PRESIGN_TTL,
    CAN_DELETE,
    EXPORT_LAYOUT,
    SYNC_INTERVAL,
    REMOVE_VANISHED,
    REIMPORT_CHANGED,
];

pub const PROVIDER: Provider = Provider {
    name: "s3",
    title: "AWS S3",
    label: "Amazon S3",
    description: "Amazon S3 and S3-compatible stores (MinIO, Ceph, Backblaze B2, ...)",
    uri: Some(UriScheme {
        scheme: "s3",
        bucket_field: "bucket",
    }),
    location_field: "prefix",
    card: &[("Bucket", "bucket")],
    fields: FIELDS,
    check: key_pair,
    normalize: as_given,
    open,
};

/// An S3 key id without its secret (or the reverse) can never sign a request.
fn key_pair(settings: &StorageSettings) -> FieldErrors {
    let message = "Access Key ID and Secret Access Key must be provided together.";
    let missing = match (
        settings.has_secret("aws_access_key_id"),
        settings.has_secret("aws_secret_access_key"),
    ) {
        (true, false) => "aws_secret_access_key",
        (false, true) => "aws_access_key_id",
        _ => return FieldErrors::new(),
    };
    FieldErrors::from([(missing.to_owned(), vec![message.to_owned()])])
}

fn open(
    settings: &StorageSettings,
    ctx: &ProviderContext,
) -> Result<Arc<dyn Storage>, StorageError> {
    let env = &ctx.cloud;
    let bucket = required(settings, "bucket", "S3")?;
    let endpoint = settings.text("s3_endpoint").or(env.s3_endpoint.as_deref());
    let mut builder = AmazonS3Builder::new()
        .with_bucket_name(bucket)
        .with_region(settings.text("region_name").unwrap_or("us-east-1"))
        .with_client_options(client_options(endpoint))
        .with_retry(retry());
    if let Some(endpoint) = endpoint {
        builder = builder
            .with_endpoint(endpoint)
            .with_virtual_hosted_style_request(false);
    }
    let key_id = settings
        .secret("aws_access_key_id")
        .or(env.aws_access_key_id.as_deref());
    let secret = settings
        .secret("aws_secret_access_key")
        .or(env.aws_secret_access_key.as_deref());
    match (key_id, secret) {
        (Some(key_id), Some(secret)) => {
            builder = builder
                .with_access_key_id(key_id)
                .with_secret_access_key(secret);
            if let Some(token) = settings
                .secret("aws_session_token")
                .or(env.aws_session_token.as_deref())
            {
                builder = builder.with_token(token);
            }
        }
        // Without keys, AWS itself may still grant an instance role; a custom endpoint has
        // no instance metadata service, so ask it anonymously instead of probing one.
        _ if endpoint.is_some() => builder = builder.with_skip_signature(true),
        _ => {}
    }
    if let Some(kms_key) = settings.text("aws_sse_kms_key_id") {
        builder = builder.with_sse_kms_encryption(kms_key);
    }
    let store = builder.build().map_err(|err| config_error("S3", &err))?;
    Ok(Arc::new(ObjectStorage::new(
        store, "s3", "S3", bucket, settings,
    )))
}
