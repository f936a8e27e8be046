//! S3, GCS, Azure and Redis as sources and targets, over the API, against the real servers.

use std::sync::Arc;

use bytes::Bytes;
use labelsync::storage::{Direction, Storage};
use serde_json::{Value, json};

use crate::backends::{cloud_fields, secret_values, unique_prefix};
use crate::common::{Env, Server};

const TYPES: [&str; 4] = ["s3", "gcs", "azure", "redis"];

/// Direct access to the same bucket/prefix, to seed and inspect objects.
fn direct(kind: &str, fields: &Value, direction: Direction) -> Arc<dyn Storage> {
    crate::backends::open_direct(kind, fields, direction, &std::env::temp_dir())
}

fn with(fields: &Value, extra: Value) -> Value {
    let mut merged = fields.clone();
    merged
        .as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    merged
}

fn assert_no_secrets(body: &Value, secrets: &[String]) {
    let text = body.to_string();
    for secret in secrets {
        assert!(
            !text.contains(secret.as_str()),
            "a secret came back in {text}"
        );
    }
}

#[test]
fn task_files_sync_once_from_every_cloud_type() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let env = Env::new();
    let server = env.start();
    for kind in TYPES {
        let fields = cloud_fields(kind, &unique_prefix("tasks"));
        let store = direct(kind, &fields, Direction::Import);
        rt.block_on(store.write(
            &store.key_for("one.json"),
            Bytes::from_static(br#"{"text": "one"}"#),
        ))
        .unwrap();
        rt.block_on(store.write(
            &store.key_for("many.json"),
            Bytes::from_static(br#"[{"text": "a"}, {"data": {"text": "b"}}]"#),
        ))
        .unwrap();
        rt.block_on(store.write(&store.key_for("bad.json"), Bytes::from_static(b"not json")))
            .unwrap();
        let secrets = secret_values(&fields);
        let project = server.project();
        let (storage, created) = {
            let body = with(&fields, json!({"project": project, "recursive_scan": true}));
            let (status, created) = server.post(&format!("/api/storages/{kind}/"), body);
            assert_eq!(status, 201, "{kind}: {created}");
            (created["id"].as_i64().unwrap(), created)
        };
        assert_no_secrets(&created, &secrets);
        assert_eq!(created["type"], kind);
        let done = server.sync(kind, storage);
        assert_eq!(done["status"], "completed_with_errors", "{kind}: {done}");
        assert_eq!(done["last_sync_count"], 3, "{kind}");
        assert!(
            done["traceback"].as_str().unwrap().contains("bad.json"),
            "{kind}: {done}"
        );
        assert_no_secrets(&done, &secrets);
        let again = server.sync(kind, storage);
        assert_eq!(
            again["last_sync_count"], 0,
            "{kind}: re-sync creates nothing"
        );
        assert_eq!(again["meta"]["tasks_existed"], 3, "{kind}");
        let tasks = server.tasks(project);
        let mut texts: Vec<&str> = tasks
            .iter()
            .map(|t| t["data"]["text"].as_str().unwrap())
            .collect();
        texts.sort_unstable();
        assert_eq!(texts, vec!["a", "b", "one"], "{kind}");
        let (_, listed) = server.get(&format!("/api/storages/?project={project}"));
        assert_no_secrets(&listed, &secrets);
    }
}

#[test]
fn blob_mode_makes_one_task_per_object_with_its_uri() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let env = Env::new();
    let server = env.start();
    for (kind, scheme) in [("s3", "s3"), ("gcs", "gs"), ("azure", "azure-blob")] {
        let prefix = unique_prefix("blobs");
        let fields = cloud_fields(kind, &prefix);
        let store = direct(kind, &fields, Direction::Import);
        for name in ["a.png", "b.png", "notes.txt"] {
            rt.block_on(store.write(&store.key_for(name), Bytes::from_static(b"\x89PNG")))
                .unwrap();
        }
        let project = server.project();
        let done = {
            let body = with(
                &fields,
                json!({"project": project, "use_blob_urls": true, "regex_filter": r".*\.png"}),
            );
            let (status, created) = server.post(&format!("/api/storages/{kind}/"), body);
            assert_eq!(status, 201, "{created}");
            server.sync(kind, created["id"].as_i64().unwrap())
        };
        assert_eq!(done["status"], "completed", "{kind}: {done}");
        assert_eq!(
            done["last_sync_count"], 2,
            "{kind}: the regex filter keeps the images"
        );
        let (_, raw) = server.get(&format!("/api/tasks?project={project}&resolve_uri=false"));
        let mut uris: Vec<&str> = raw["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["data"]["image"].as_str().unwrap())
            .collect();
        uris.sort_unstable();
        assert_eq!(
            uris,
            vec![
                format!("{scheme}://test-bucket/{prefix}/a.png"),
                format!("{scheme}://test-bucket/{prefix}/b.png")
            ]
        );
        let task = &server.tasks(project)[0];
        let url = task["data"]["image"].as_str().unwrap();
        assert!(
            url.starts_with(&format!("/tasks/{}/resolve/?fileuri=", task["id"])),
            "{kind}: {url}"
        );
        let (_, raw_task) = server.get(&format!("/api/tasks/{}?resolve_uri=false", task["id"]));
        assert!(
            raw_task["data"]["image"]
                .as_str()
                .unwrap()
                .starts_with(scheme)
        );
        check_resolve(&server, kind, url, project);
    }
}

/// Presign mode answers 303 to a URL that serves the bytes; proxy mode streams them with
/// Range and ETag.
fn check_resolve(server: &Server, kind: &str, url: &str, project: i64) {
    let client = crate::common::client_builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let auth = format!("Token {}", crate::common::TOKEN);
    let get = |headers: &[(&str, &str)]| {
        let mut request = client
            .get(format!("{}{url}", server.url))
            .header("Authorization", &auth);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.send().unwrap()
    };
    let redirect = get(&[]);
    assert_eq!(redirect.status(), 303, "{kind}: presign mode redirects");
    let location = redirect.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        location.starts_with("http://127.0.0.1:"),
        "{kind}: {location}"
    );
    assert_eq!(
        reqwest::blocking::get(&location)
            .unwrap()
            .bytes()
            .unwrap()
            .as_ref(),
        b"\x89PNG",
        "{kind}: presigned bytes"
    );

    let (_, storages) = server.get(&format!("/api/storages/{kind}/?project={project}"));
    let id = storages[0]["id"].as_i64().unwrap();
    let (status, patched) = server.patch(
        &format!("/api/storages/{kind}/{id}"),
        json!({"presign": false}),
    );
    assert_eq!(status, 200, "{kind}: {patched}");
    let whole = get(&[]);
    assert_eq!(whole.status(), 200, "{kind}: proxy mode streams");
    assert_eq!(whole.headers()["content-type"], "image/png", "{kind}");
    let etag = whole
        .headers()
        .get("etag")
        .map(|v| v.to_str().unwrap().to_owned());
    assert_eq!(
        whole.bytes().unwrap().as_ref(),
        b"\x89PNG",
        "{kind}: proxied bytes"
    );
    let part = get(&[("Range", "bytes=1-2")]);
    assert_eq!(part.status(), 206, "{kind}");
    assert_eq!(part.headers()["content-range"], "bytes 1-2/4", "{kind}");
    assert_eq!(part.bytes().unwrap().as_ref(), b"PN", "{kind}");
    let etag = etag.unwrap_or_else(|| panic!("{kind}: proxied responses carry an ETag"));
    assert_eq!(
        get(&[("If-None-Match", etag.as_str())]).status(),
        304,
        "{kind}"
    );

    let anonymous = reqwest::blocking::get(format!("{}{url}", server.url)).unwrap();
    assert_eq!(anonymous.status(), 401, "{kind}: resolve needs credentials");
    let foreign = crate::backends::unique_prefix("x");
    let other = resolve_path(&format!("s3://another-bucket/{foreign}.png"));
    let (status, _) = server.get(&format!("/projects/{project}/resolve/?fileuri={other}"));
    assert_eq!(
        status, 404,
        "{kind}: a bucket that is not a source of the project is never served"
    );
}

fn resolve_path(uri: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE.encode(uri)
}

fn annotate(server: &Server, project: i64) -> i64 {
    server.post(
        &format!("/api/projects/{project}/import"),
        json!([{"image": "x.png"}]),
    );
    let task = server.tasks(project)[0]["id"].as_i64().unwrap();
    let (status, annotation) = server.post(
        &format!("/api/tasks/{task}/annotations/"),
        json!({"result": []}),
    );
    assert_eq!(status, 201);
    annotation["id"].as_i64().unwrap()
}

#[test]
fn every_cloud_type_receives_annotations_and_honours_deletion() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let env = Env::new();
    let server = env.start();
    for kind in TYPES {
        let fields = cloud_fields(kind, &unique_prefix("export"));
        let store = direct(kind, &fields, Direction::Export);
        let project = server.project();
        let first = annotate(&server, project);
        let target = {
            let body = with(
                &fields,
                json!({"project": project, "can_delete_objects": true}),
            );
            let (status, created) = server.post(&format!("/api/storages/export/{kind}"), body);
            assert_eq!(status, 201, "{kind}: {created}");
            assert_no_secrets(&created, &secret_values(&fields));
            server.wait_synced(&format!("export/{kind}"), created["id"].as_i64().unwrap())
        };
        assert_eq!(target["status"], "completed", "{kind}: {target}");
        let document: Value = serde_json::from_slice(
            &rt.block_on(store.read(&store.key_for(&first.to_string())))
                .unwrap(),
        )
        .unwrap();
        assert_eq!(
            document["id"], first,
            "{kind}: exported by the initial sync"
        );

        // A later save is exported on its own; a delete removes it.
        let (_, annotation) = {
            server.post(
                &format!("/api/tasks/{}/annotations/", document["task"]["id"]),
                json!({"result": [{"value": {}}]}),
            )
        };
        let second = store.key_for(&annotation["id"].to_string());
        wait_until(
            || rt.block_on(store.read(&second)).is_ok(),
            &format!("{kind}: export on save"),
        );
        let code = server.delete(&format!("/api/annotations/{}/", annotation["id"]));
        assert_eq!(code, 204);
        wait_until(
            || rt.block_on(store.read(&second)).is_err(),
            &format!("{kind}: delete propagated"),
        );
    }
}

fn wait_until(mut check: impl FnMut() -> bool, what: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    while !check() {
        assert!(std::time::Instant::now() < deadline, "timed out: {what}");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

#[test]
fn bad_cloud_settings_are_refused_with_readable_messages() {
    let env = Env::new();
    let server = env.start();
    let project = server.project();
    let cases = [
        (
            "s3",
            json!({"bucket": "no-such-bucket-here"}),
            "Cannot find bucket",
        ),
        (
            "s3",
            json!({"s3_endpoint": "http://127.0.0.1:9"}),
            "Cannot reach",
        ),
        (
            "s3",
            json!({"aws_secret_access_key": null}),
            "Access Key ID and Secret Access Key must be provided together.",
        ),
        ("azure", json!({"account_key": "d3Jvbmcga2V5"}), "refused"),
        (
            "azure",
            json!({"container": "no-such-container"}),
            "Cannot find bucket",
        ),
        (
            "gcs",
            json!({"google_application_credentials": "{not json"}),
            "must be valid JSON",
        ),
        ("redis", json!({"port": "9"}), "Can't connect to Redis"),
        ("redis", json!({"db": 0}), "greater than or equal to 1"),
    ];
    for (kind, change, expected) in cases {
        let fields = with(&cloud_fields(kind, "errors"), change.clone());
        for route in [
            format!("/api/storages/{kind}/"),
            format!("/api/storages/{kind}/validate"),
        ] {
            let (status, body) = server.post(&route, with(&fields, json!({"project": project})));
            assert_eq!(status, 400, "{route} {change}: {body}");
            assert!(
                body.to_string().contains(expected),
                "{route} {change}: {body}"
            );
            assert_no_secrets(&body, &secret_values(&cloud_fields(kind, "errors")));
        }
    }
}

#[test]
fn check_connection_reports_what_sync_would_see_and_preview_lists_it() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let env = Env::new();
    let server = env.start();
    let project = server.project();
    for kind in TYPES {
        let fields = cloud_fields(kind, &unique_prefix("check"));
        let store = direct(kind, &fields, Direction::Import);
        for name in ["a.json", "b.json", "c.txt"] {
            rt.block_on(store.write(&store.key_for(name), Bytes::from_static(b"{}")))
                .unwrap();
        }
        let body = with(
            &fields,
            json!({"project": project, "regex_filter": r".*\.json", "recursive_scan": true}),
        );
        let (status, report) = server.post(&format!("/api/storages/{kind}/validate"), body.clone());
        assert_eq!(status, 200, "{kind}: {report}");
        assert_eq!(report["source"]["objects"], 3, "{kind}: {report}");
        assert_eq!(report["source"]["matching"], 2, "{kind}: {report}");
        assert_eq!(
            report["source"]["sample_keys"].as_array().unwrap().len(),
            2,
            "{kind}"
        );

        let (status, preview) = server.post(
            &format!("/api/storages/{kind}/files"),
            with(&body, json!({"limit": 1})),
        );
        assert_eq!(status, 200, "{kind}: {preview}");
        let files = preview["files"].as_array().unwrap();
        assert_eq!(
            files.len(),
            2,
            "{kind}: one file and the truncation marker: {preview}"
        );
        assert!(
            files[0]["key"].as_str().unwrap().ends_with(".json"),
            "{kind}"
        );
        assert_eq!(
            files[0]["size"], 2,
            "{kind}: the object's real size: {preview}"
        );
        if kind != "redis" {
            assert!(files[0]["last_modified"].is_string(), "{kind}: {preview}");
        }
        assert_eq!(
            files[1],
            json!({"key": null, "last_modified": null, "size": null}),
            "{kind}"
        );

        let (status, target) = server.post(
            &format!("/api/storages/export/{kind}/validate"),
            with(&fields, json!({"project": project})),
        );
        assert_eq!(status, 200, "{kind}: {target}");
        assert_eq!(target["write_check"], "passed", "{kind}");
        let left: Vec<String> = rt
            .block_on(futures_util::TryStreamExt::try_collect::<Vec<_>>(
                store.list(true),
            ))
            .unwrap()
            .into_iter()
            .map(|o| o.key)
            .collect();
        assert_eq!(
            left.len(),
            3,
            "{kind}: the write probe was removed: {left:?}"
        );
    }
}

#[test]
fn stored_secrets_survive_patches_and_checks_and_never_reach_the_log() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let env = Env::new();
    let server = env.start();
    let project = server.project();
    for kind in TYPES {
        let fields = cloud_fields(kind, &unique_prefix("secrets"));
        let store = direct(kind, &fields, Direction::Import);
        rt.block_on(store.write(
            &store.key_for("t.json"),
            Bytes::from_static(br#"{"text": "x"}"#),
        ))
        .unwrap();
        let (status, created) = server.post(
            &format!("/api/storages/{kind}/"),
            with(&fields, json!({"project": project})),
        );
        assert_eq!(status, 201, "{kind}: {created}");
        let id = created["id"].as_i64().unwrap();
        // A PATCH and a check by id that leave the secrets out keep the stored ones.
        let (status, patched) = server.patch(
            &format!("/api/storages/{kind}/{id}"),
            json!({"title": "renamed"}),
        );
        assert_eq!(status, 200, "{kind}: {patched}");
        assert_eq!(patched["title"], "renamed");
        let (status, checked) = server.post(
            &format!("/api/storages/{kind}/validate"),
            json!({"id": id, "project": project}),
        );
        assert_eq!(status, 200, "{kind}: {checked}");
        assert_eq!(server.sync(kind, id)["status"], "completed", "{kind}");
    }
    let log = env.log();
    for kind in TYPES {
        for secret in secret_values(&cloud_fields(kind, "any")) {
            assert!(
                !log.contains(&secret),
                "a {kind} secret reached the server log"
            );
        }
    }
}

#[test]
fn s3_credentials_fall_back_to_the_environment() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut env = Env::new();
    env.vars
        .push(("AWS_ACCESS_KEY_ID".into(), "testing".into()));
    env.vars
        .push(("AWS_SECRET_ACCESS_KEY".into(), "testing-from-env".into()));
    let server = env.start();
    let project = server.project();
    let mut fields = cloud_fields("s3", &unique_prefix("envkeys"));
    let store = direct("s3", &fields, Direction::Import);
    rt.block_on(store.write(
        &store.key_for("t.json"),
        Bytes::from_static(br#"{"text": "x"}"#),
    ))
    .unwrap();
    let object = fields.as_object_mut().unwrap();
    object.remove("aws_access_key_id");
    object.remove("aws_secret_access_key");
    let (status, created) = server.post(
        "/api/storages/s3/",
        with(&fields, json!({"project": project})),
    );
    assert_eq!(status, 201, "{created}");
    let done = server.sync("s3", created["id"].as_i64().unwrap());
    assert_eq!(done["last_sync_count"], 1, "{done}");
}
