//! Settings for every storage back end the tests talk to: the servers `scripts/test`
//! starts on 127.0.0.1 (their addresses come from its environment), plus local directories.

use std::path::Path;
use std::sync::Arc;

use labelsync::config::{CloudDefaults, LocalFilesConfig};
use labelsync::storage::{self, Direction, ProviderContext, Storage, StorageSettings};
use serde_json::{Value, json};

/// A storage of type `kind` opened straight through labelsync's providers (no server), from
/// its API fields: to seed and inspect objects beside the server. Local Files are under
/// `document_root`.
pub(crate) fn open_direct(
    kind: &str,
    fields: &Value,
    direction: Direction,
    document_root: &Path,
) -> Arc<dyn Storage> {
    let provider = storage::provider(kind).unwrap_or_else(|| panic!("no provider {kind}"));
    let settings = StorageSettings::from_body(provider, direction, fields.as_object().unwrap())
        .unwrap_or_else(|errors| panic!("{kind}: {errors:?}"));
    let ctx = ProviderContext {
        local_files: LocalFilesConfig {
            serving_enabled: true,
            document_root: document_root.to_owned(),
        },
        cloud: CloudDefaults::default(),
    };
    settings
        .open(&ctx)
        .unwrap_or_else(|err| panic!("{kind}: {err}"))
}

/// An emulator address from the environment `scripts/test` sets; a missing one fails loudly.
pub(crate) fn emulator(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run the tests through scripts/test, which starts the S3, GCS, Azure and Redis servers")
    })
}

pub(crate) const BUCKET: &str = "test-bucket";

/// A fresh prefix so tests never see each other's objects.
pub(crate) fn unique_prefix(label: &str) -> String {
    format!("{label}-{}", uuid::Uuid::new_v4().simple())
}

/// Storage API fields (with credentials) for a cloud type, under `prefix`.
pub(crate) fn cloud_fields(kind: &str, prefix: &str) -> Value {
    match kind {
        "s3" => json!({
            "bucket": BUCKET, "prefix": prefix, "s3_endpoint": emulator("EMU_S3_ENDPOINT"),
            "region_name": "us-east-1", "aws_access_key_id": "testing", "aws_secret_access_key": "testing-secret",
        }),
        "gcs" => json!({
            "bucket": BUCKET, "prefix": prefix, "gcs_endpoint": emulator("EMU_GCS_BASE_URL"),
            "google_application_credentials": std::fs::read_to_string(emulator("GOOGLE_SERVICE_ACCOUNT")).unwrap(),
        }),
        "azure" => json!({
            "container": BUCKET, "prefix": prefix, "azure_endpoint": emulator("EMU_AZURE_ENDPOINT"),
            "account_name": "devstoreaccount1", "account_key": emulator("AZURE_STORAGE_ACCOUNT_KEY"),
        }),
        "redis" => {
            let url = emulator("EMU_REDIS_URL");
            let address = url.trim_start_matches("redis://").trim_end_matches('/');
            let (host, port) = address.split_once(':').unwrap();
            json!({"host": host, "port": port, "path": format!("{prefix}:"), "password": null})
        }
        other => panic!("unknown cloud type {other}"),
    }
}

/// The secret values of `fields`, which must never come back from the server. (Azurite's
/// account name also appears in its endpoint URL, which is not secret, so it is left out.)
pub(crate) fn secret_values(fields: &Value) -> Vec<String> {
    [
        "aws_access_key_id",
        "aws_secret_access_key",
        "google_application_credentials",
        "account_key",
        "password",
    ]
    .iter()
    .filter_map(|name| fields.get(*name).and_then(Value::as_str))
    .filter(|value| value.len() > 8)
    .map(str::to_owned)
    .collect()
}
