//! The storage conformance suite: the same cases against every real back end (S3 on moto,
//! GCS on fake-gcs-server, Azure Blob on Azurite, Redis, a local directory), through the
//! `Storage` trait the sync engine and the export use. The cases are shared; each back end
//! has its own test, so one back end's failure never hides another's.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::TryStreamExt;
use labelsync::storage::{Direction, ObjectInfo, Storage, StorageError};
use serde_json::{Value, json};

use crate::backends::{cloud_fields, open_direct, secret_values, unique_prefix};

/// One back end, as the shared cases see it.
struct Backend {
    name: &'static str,
    storage: Arc<dyn Storage>,
    /// Objects in nested "folders" are listed one level at a time when not recursive.
    has_folders: bool,
    /// It signs URLs a browser can GET.
    presigns: bool,
    /// The start of a blob URI of key `a b.png`.
    uri_start: &'static str,
    /// The local directory's (and its document root's) lifetime.
    _dir: tempfile::TempDir,
}

fn backend(name: &'static str) -> Backend {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    let (fields, has_folders, presigns, uri_start) = match name {
        "s3" => (
            cloud_fields(name, &unique_prefix("conformance")),
            true,
            true,
            "s3://test-bucket/conformance-",
        ),
        "gcs" => (
            cloud_fields(name, &unique_prefix("conformance")),
            true,
            true,
            "gs://test-bucket/conformance-",
        ),
        "azure" => (
            cloud_fields(name, &unique_prefix("conformance")),
            true,
            true,
            "azure-blob://test-bucket/conformance-",
        ),
        "redis" => (
            cloud_fields(name, &unique_prefix("conformance")),
            false,
            false,
            "redis://conformance-",
        ),
        _ => {
            std::fs::create_dir_all(root.join("store")).unwrap();
            let fields = json!({"path": root.join("store").display().to_string()});
            (fields, true, false, "/data/local-files/?d=store/a%20b.png")
        }
    };
    Backend {
        name,
        storage: open_direct(name, &fields, Direction::Import, &root),
        has_folders,
        presigns,
        uri_start,
        _dir: dir,
    }
}

/// Every shared case, on one back end.
async fn conformance(name: &'static str) {
    let backend = backend(name);
    writes_reads_lists_and_deletes(&backend).await;
    writes_many_in_order(&backend).await;
    resumes_a_listing_after_any_key(&backend).await;
    let uri = backend
        .storage
        .blob_uri(&backend.storage.key_for("a b.png"));
    assert!(uri.starts_with(backend.uri_start), "{name}: {uri}");
}

#[tokio::test]
async fn s3_conforms() {
    conformance("s3").await;
}

#[tokio::test]
async fn gcs_conforms() {
    conformance("gcs").await;
}

#[tokio::test]
async fn azure_conforms() {
    conformance("azure").await;
}

#[tokio::test]
async fn redis_conforms() {
    conformance("redis").await;
}

#[tokio::test]
async fn local_directory_conforms() {
    conformance("localfiles").await;
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

async fn writes_reads_lists_and_deletes(backend: &Backend) {
    {
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
        // What a preview shows of an object: its size, and when it changed where the back
        // end keeps that (Redis does not).
        let described = storage
            .describe(ObjectInfo {
                key: top.clone(),
                size: None,
                last_modified: None,
                etag: None,
            })
            .await
            .unwrap_or_else(|err| panic!("{name}: describe: {err}"));
        assert_eq!(described.size, Some(8), "{name}");
        if name != "redis" {
            let changed = described
                .last_modified
                .unwrap_or_else(|| panic!("{name}: no time"));
            let age = chrono::Utc::now() - changed;
            assert!(age.num_seconds().abs() < 300, "{name}: modified {changed}");
        }

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

/// A batch (what an export sync writes a page with): every object lands with its own body,
/// an object already there is replaced, and each outcome answers its own object.
async fn writes_many_in_order(backend: &Backend) {
    let storage = backend.storage.as_ref();
    let name = backend.name;
    let old = storage.key_for("batch/2.json");
    storage
        .write(&old, Bytes::from_static(b"old"))
        .await
        .unwrap_or_else(|err| panic!("{name}: {err}"));
    let objects: Vec<(String, Bytes)> = (0..12)
        .map(|i| {
            let key = storage.key_for(&format!("batch/{i}.json"));
            (key, Bytes::from(format!("{{\"n\": {i}}}")))
        })
        .collect();
    let outcomes = storage.write_many(objects.clone()).await;
    assert_eq!(outcomes.len(), objects.len(), "{name}: one outcome each");
    for ((key, body), outcome) in objects.iter().zip(outcomes) {
        outcome.unwrap_or_else(|err| panic!("{name}: {key}: {err}"));
        assert_eq!(&storage.read(key).await.unwrap(), body, "{name}: {key}");
    }
    let mut expected: Vec<String> = objects.into_iter().map(|(key, _)| key).collect();
    expected.sort();
    assert_eq!(keys(storage, true).await, expected, "{name}: nothing else");
    for key in &expected {
        storage.delete(key).await.unwrap();
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
async fn resumes_a_listing_after_any_key(backend: &Backend) {
    {
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

/// Settings that cannot work fail the check with a reason, and no secret in it.
async fn broken(kind: &str, change: Value, expected: &str) {
    let mut fields = cloud_fields(kind, "broken");
    fields
        .as_object_mut()
        .unwrap()
        .extend(change.as_object().unwrap().clone());
    let provider = labelsync::storage::provider(kind).unwrap();
    let settings = labelsync::storage::StorageSettings::from_body(
        provider,
        Direction::Import,
        fields.as_object().unwrap(),
    )
    .unwrap();
    let ctx = labelsync::storage::ProviderContext {
        local_files: labelsync::config::LocalFilesConfig {
            serving_enabled: false,
            document_root: std::env::temp_dir(),
        },
        cloud: labelsync::config::CloudDefaults::default(),
    };
    let outcome = match settings.open(&ctx) {
        Ok(storage) => storage.check().await.map_err(|e| e.to_string()),
        Err(err) => Err(err.to_string()),
    };
    let message = outcome.expect_err(&format!("{kind}: {change} should fail"));
    assert!(message.contains(expected), "{kind}: {change}: {message}");
    for secret in secret_values(&fields) {
        assert!(!message.contains(&secret), "a secret leaked into {message}");
    }
}

#[tokio::test]
async fn broken_s3_settings_say_what_is_wrong() {
    broken(
        "s3",
        json!({"bucket": "no-such-bucket-here"}),
        "Cannot find bucket",
    )
    .await;
    broken(
        "s3",
        json!({"s3_endpoint": "http://127.0.0.1:9"}),
        "Cannot reach",
    )
    .await;
}

#[tokio::test]
async fn broken_azure_settings_say_what_is_wrong() {
    broken("azure", json!({"account_key": "d3Jvbmcga2V5"}), "refused").await;
    broken(
        "azure",
        json!({"container": "no-such-container"}),
        "Cannot find bucket",
    )
    .await;
}

#[tokio::test]
async fn broken_gcs_settings_say_what_is_wrong() {
    // fake-gcs-server answers a missing bucket with a 500 (real GCS: 404), so the message
    // can only name the bucket, not say "not found".
    broken(
        "gcs",
        json!({"bucket": "no-such-bucket-here"}),
        "no-such-bucket-here",
    )
    .await;
    broken(
        "gcs",
        json!({"gcs_endpoint": "http://127.0.0.1:9"}),
        "Cannot reach",
    )
    .await;
}

#[tokio::test]
async fn broken_redis_settings_say_what_is_wrong() {
    broken("redis", json!({"port": "9"}), "Can't connect to Redis").await;
}
