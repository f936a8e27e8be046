//! The storage conformance suite: the same cases against every real back end (S3 on moto,
//! GCS on fake-gcs-server, Azure Blob on Azurite, Redis, a local directory), through the
//! `Storage` trait the sync engine and the export use.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::TryStreamExt;
use labelsync::config::{CloudDefaults, LocalFilesConfig};
use labelsync::storage::{self, ProviderContext, Storage, StorageError, StorageType};
use serde_json::{Map, Value};

use crate::backends::{cloud_fields, unique_prefix};

struct Backend {
    name: &'static str,
    storage: Arc<dyn Storage>,
    /// Objects in nested "folders" are listed one level at a time when not recursive.
    has_folders: bool,
    presigns: bool,
    _dir: Option<tempfile::TempDir>,
}

fn split(fields: &Value, storage_type: StorageType) -> (Map<String, Value>, Map<String, Value>) {
    let direction = labelsync::db::storages::Direction::Import;
    storage_type
        .settings_from_body(direction, fields.as_object().unwrap())
        .expect("valid fields")
}

fn context(root: std::path::PathBuf) -> ProviderContext {
    ProviderContext {
        local_files: LocalFilesConfig {
            serving_enabled: true,
            document_root: root,
        },
        cloud: CloudDefaults::default(),
    }
}

fn backends() -> Vec<Backend> {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    std::fs::create_dir_all(root.join("store")).unwrap();
    let ctx = context(root.clone());
    let mut all = Vec::new();
    for (name, storage_type, has_folders, presigns) in [
        ("s3", StorageType::S3, true, true),
        ("gcs", StorageType::Gcs, true, true),
        ("azure", StorageType::Azure, true, true),
        ("redis", StorageType::Redis, false, false),
    ] {
        let fields = cloud_fields(name, &unique_prefix("conformance"));
        let (settings, secrets) = split(&fields, storage_type);
        let storage = storage::open(storage_type, &settings, &secrets, &ctx)
            .unwrap_or_else(|err| panic!("{name}: {err}"));
        all.push(Backend {
            name,
            storage,
            has_folders,
            presigns,
            _dir: None,
        });
    }
    let fields = serde_json::json!({"path": root.join("store").display().to_string()});
    let (settings, secrets) = split(&fields, StorageType::LocalFiles);
    let storage = storage::open(StorageType::LocalFiles, &settings, &secrets, &ctx).unwrap();
    all.push(Backend {
        name: "localfiles",
        storage,
        has_folders: true,
        presigns: false,
        _dir: Some(dir),
    });
    all
}

async fn keys(storage: &dyn Storage, recursive: bool) -> Vec<String> {
    let mut keys: Vec<String> = storage
        .list(recursive)
        .map_ok(|o| o.key)
        .try_collect()
        .await
        .unwrap();
    keys.sort();
    keys
}

#[tokio::test]
async fn every_backend_writes_reads_lists_and_deletes() {
    for backend in backends() {
        let storage = backend.storage.as_ref();
        let name = backend.name;
        storage
            .check()
            .await
            .unwrap_or_else(|err| panic!("{name}: check: {err}"));
        assert_eq!(
            keys(storage, true).await,
            Vec::<String>::new(),
            "{name}: starts empty"
        );

        let top = storage.key_for("top.json");
        let nested = storage.key_for("sub/nested.json");
        storage
            .write(&top, Bytes::from_static(b"{\"a\": 1}"))
            .await
            .unwrap_or_else(|err| panic!("{name}: {err}"));
        storage
            .write(&nested, Bytes::from_static(b"[1, 2]"))
            .await
            .unwrap();
        // overwrite replaces
        storage
            .write(&top, Bytes::from_static(b"{\"a\": 2}"))
            .await
            .unwrap();
        assert_eq!(
            storage.read(&top).await.unwrap(),
            Bytes::from_static(b"{\"a\": 2}"),
            "{name}"
        );

        let mut both = vec![top.clone(), nested.clone()];
        both.sort();
        assert_eq!(keys(storage, true).await, both, "{name}: recursive listing");
        let one_level = keys(storage, false).await;
        if backend.has_folders {
            assert_eq!(one_level, vec![top.clone()], "{name}: one level");
        } else {
            assert_eq!(one_level, both, "{name}: flat key space");
        }

        let missing = storage.key_for("missing.json");
        assert!(
            matches!(
                storage.read(&missing).await,
                Err(StorageError::NotFound { .. })
            ),
            "{name}: missing read"
        );
        storage
            .delete(&missing)
            .await
            .unwrap_or_else(|err| panic!("{name}: deleting a missing object: {err}"));

        if backend.presigns {
            let url = storage
                .presign(&top, Duration::from_secs(60))
                .await
                .unwrap()
                .expect("a URL");
            let body = reqwest::get(&url).await.unwrap().bytes().await.unwrap();
            assert_eq!(body.as_ref(), b"{\"a\": 2}", "{name}: presigned GET");
        } else {
            assert_eq!(
                storage
                    .presign(&top, Duration::from_secs(60))
                    .await
                    .unwrap(),
                None,
                "{name}"
            );
        }

        storage.delete(&top).await.unwrap();
        storage.delete(&nested).await.unwrap();
        assert_eq!(
            keys(storage, true).await,
            Vec::<String>::new(),
            "{name}: all deleted"
        );
    }
}

/// Keys in the order the provider lists them (not sorted by the test).
async fn listed(storage: &dyn Storage, recursive: bool, after: Option<&str>) -> Vec<String> {
    let listing = match after {
        Some(after) => storage.list_after(recursive, after),
        None => storage.list(recursive),
    };
    listing.map_ok(|o| o.key).try_collect().await.unwrap()
}

/// What an interrupted sync relies on: listing after a key yields exactly the rest of the
/// listing, in the same order, even when that key was deleted meanwhile.
#[tokio::test]
async fn every_backend_resumes_a_listing_after_any_key() {
    for backend in backends() {
        let storage = backend.storage.as_ref();
        let name = backend.name;
        for file in [
            "b.json",
            "a/z.json",
            "c/d/y.json",
            "e.json",
            "a.json",
            "f/x.json",
            "g#1.json",
            "g$.json",
            "g%20.json",
        ] {
            storage
                .write(&storage.key_for(file), Bytes::from_static(b"{}"))
                .await
                .unwrap_or_else(|err| panic!("{name}: {err}"));
        }
        for recursive in [true, false] {
            let order = listed(storage, recursive, None).await;
            assert!(order.len() >= 3, "{name}: {order:?}");
            for (i, key) in order.iter().enumerate() {
                assert_eq!(
                    listed(storage, recursive, Some(key)).await,
                    order[i + 1..],
                    "{name}: after {key} (recursive: {recursive})"
                );
            }
        }
        let order = listed(storage, true, None).await;
        storage.delete(&order[2]).await.unwrap();
        assert_eq!(
            listed(storage, true, Some(&order[2])).await,
            order[3..],
            "{name}: after a deleted key"
        );
        for key in &order {
            storage.delete(key).await.unwrap();
        }
    }
}

#[tokio::test]
async fn blob_uris_name_scheme_bucket_and_key() {
    for backend in backends() {
        let key = backend.storage.key_for("a b.png");
        let uri = backend.storage.blob_uri(&key);
        let expected_start = match backend.name {
            "s3" => "s3://test-bucket/conformance-",
            "gcs" => "gs://test-bucket/conformance-",
            "azure" => "azure-blob://test-bucket/conformance-",
            "redis" => "redis://conformance-",
            _ => "/data/local-files/?d=store/a%20b.png",
        };
        assert!(uri.starts_with(expected_start), "{}: {uri}", backend.name);
    }
}

#[tokio::test]
async fn broken_settings_fail_the_check_with_a_reason() {
    let ctx = context(std::env::temp_dir().canonicalize().unwrap());
    let cases = [
        (
            StorageType::S3,
            serde_json::json!({"bucket": "no-such-bucket-here"}),
            "Cannot find bucket",
        ),
        (
            StorageType::S3,
            serde_json::json!({"s3_endpoint": "http://127.0.0.1:9"}),
            "Cannot reach",
        ),
        (
            StorageType::Azure,
            serde_json::json!({"account_key": "d3Jvbmcga2V5"}),
            "refused",
        ),
        (
            StorageType::Azure,
            serde_json::json!({"container": "no-such-container"}),
            "Cannot find bucket",
        ),
        // fake-gcs-server answers a missing bucket with a 500 (real GCS: 404), so the
        // message can only name the bucket, not say "not found".
        (
            StorageType::Gcs,
            serde_json::json!({"bucket": "no-such-bucket-here"}),
            "no-such-bucket-here",
        ),
        (
            StorageType::Gcs,
            serde_json::json!({"gcs_endpoint": "http://127.0.0.1:9"}),
            "Cannot reach",
        ),
        (
            StorageType::Redis,
            serde_json::json!({"port": "9"}),
            "Can't connect to Redis",
        ),
    ];
    for (storage_type, change, expected) in cases {
        let mut fields = cloud_fields(storage_type.name(), "broken");
        fields
            .as_object_mut()
            .unwrap()
            .extend(change.as_object().unwrap().clone());
        let (settings, secrets) = split(&fields, storage_type);
        let outcome = match storage::open(storage_type, &settings, &secrets, &ctx) {
            Ok(storage) => storage.check().await.map_err(|e| e.to_string()),
            Err(err) => Err(err.to_string()),
        };
        let message = outcome.expect_err(&format!("{change} should fail"));
        assert!(
            message.contains(expected),
            "{}: {change}: {message}",
            storage_type.name()
        );
        for secret in crate::backends::secret_values(&fields) {
            assert!(!message.contains(&secret), "a secret leaked into {message}");
        }
    }
}
