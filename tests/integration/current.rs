//! Storages that keep themselves current: schedules (local folders, S3 and Redis), a
//! watched folder turning a new file into a task, and a file copied in slowly imported once
//! and whole.

use std::io::Write;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::backends::{cloud_fields, open_direct, unique_prefix};
use crate::common::{Env, Server};
use labelsync::storage::Direction;

/// A storage's objects, written and removed straight through labelsync's provider, on one
/// runtime of their own (a Redis connection belongs to the runtime it was made on).
struct Objects {
    rt: tokio::runtime::Runtime,
    storage: std::sync::Arc<dyn labelsync::storage::Storage>,
}

impl Objects {
    fn of(kind: &str, fields: &Value, root: &std::path::Path) -> Objects {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let storage = rt.block_on(async { open_direct(kind, fields, Direction::Import, root) });
        Objects { rt, storage }
    }

    fn put(&self, name: &str, text: &str) {
        let key = self.storage.key_for(name);
        self.rt
            .block_on(self.storage.write(&key, text.as_bytes().to_vec().into()))
            .unwrap();
    }

    fn remove(&self, name: &str) {
        let key = self.storage.key_for(name);
        self.rt.block_on(self.storage.delete(&key)).unwrap();
    }
}

/// An environment whose servers allow schedules of one second.
fn quick_schedules() -> Env {
    let mut env = Env::new();
    env.vars
        .push(("LABELSYNC_MIN_SYNC_INTERVAL".into(), "1".into()));
    env
}

fn wait_for_tasks(server: &Server, project: i64, count: i64, within: Duration) -> Duration {
    let started = Instant::now();
    loop {
        let total = server.task_total(project);
        if total >= count {
            assert_eq!(total, count, "no task imported twice");
            return started.elapsed();
        }
        assert!(
            started.elapsed() < within,
            "{total} of {count} tasks after {within:?}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn source(server: &Server, kind: &str, project: i64, fields: &Value) -> i64 {
    let mut body = fields.clone();
    body["project"] = json!(project);
    let (status, created) = server.post(&format!("/api/storages/{kind}"), body);
    assert_eq!(status, 201, "{created}");
    created["id"].as_i64().unwrap()
}

#[test]
fn a_schedule_imports_new_objects_without_a_request_and_survives_a_restart() {
    let env = quick_schedules();
    let folder = env.dir("scheduled");
    for kind in ["localfiles", "s3", "redis"] {
        let fields = match kind {
            "localfiles" => json!({"path": folder.display().to_string()}),
            other => cloud_fields(other, &unique_prefix("scheduled")),
        };
        let mut scheduled = fields.clone();
        scheduled["sync_interval"] = json!(0.02); // 1.2 seconds
        let objects = Objects::of(kind, &fields, &env.root);
        let put = |name: &str, text: &str| objects.put(name, text);
        put("one.json", r#"{"text": "one"}"#);
        let server = env.start();
        let project = server.project();
        let storage = source(&server, kind, project, &scheduled);
        wait_for_tasks(&server, project, 1, Duration::from_secs(20));
        put("two.json", r#"{"text": "two"}"#);
        wait_for_tasks(&server, project, 2, Duration::from_secs(20));
        let (_, row) = server.get(&format!("/api/storages/{kind}/{storage}"));
        assert_eq!(row["sync_interval"], 0.02, "{kind}");
        server.stop();

        let server = env.start();
        put("three.json", r#"{"text": "three"}"#);
        wait_for_tasks(&server, project, 3, Duration::from_secs(20));
        let (_, row) = server.get(&format!("/api/storages/{kind}/{storage}"));
        assert!(
            row["next_sync_at"].is_string() || row["status"] == "in_progress",
            "{row}"
        );
        server.stop();
    }
}

#[test]
fn a_schedule_shorter_than_the_server_allows_is_refused() {
    let env = Env::new();
    let folder = env.dir("too-often");
    let server = env.start();
    let project = server.project();
    let (status, refused) = server.post(
        "/api/storages/localfiles",
        json!({
        "project": project, "path": folder.display().to_string(), "sync_interval": 0.5}),
    );
    assert_eq!(status, 400);
    let message = refused["validation_errors"]["sync_interval"][0]
        .as_str()
        .unwrap();
    assert!(message.contains("at least 1 minutes"), "{message}");
    let (status, refused) = server.post(
        "/api/storages/localfiles",
        json!({
        "project": project, "path": folder.display().to_string(), "sync_interval": -3}),
    );
    assert_eq!(status, 400, "{refused}");
}

#[test]
fn a_file_written_into_a_watched_folder_becomes_a_task_within_a_second() {
    let env = Env::new();
    let folder = env.dir("watched");
    let server = env.start();
    let project = server.project();
    let storage = source(
        &server,
        "localfiles",
        project,
        &json!({
        "path": folder.display().to_string(), "watch": true, "use_blob_urls": true}),
    );
    // The watch is set up, and its first sync done, before the file comes.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (_, row) = server.get(&format!("/api/storages/localfiles/{storage}"));
        if row["meta"]["watch"]["mode"] == "events" && row["status"] == "completed" {
            break;
        }
        assert!(Instant::now() < deadline, "{row}");
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut latencies = Vec::new();
    for n in 1..=5 {
        std::fs::write(folder.join(format!("photo-{n}.png")), b"png").unwrap();
        latencies.push(wait_for_tasks(&server, project, n, Duration::from_secs(5)));
    }
    eprintln!("watched folder: file closed to task visible: {latencies:?}");
    let (_, row) = server.get(&format!("/api/storages/localfiles/{storage}"));
    assert_eq!(row["watch"], true);
}

#[test]
fn a_task_file_copied_in_slowly_is_imported_once_and_whole() {
    let env = Env::new();
    let folder = env.dir("slow");
    let server = env.start();
    let project = server.project();
    source(
        &server,
        "localfiles",
        project,
        &json!({
        "path": folder.display().to_string(), "watch": true}),
    );
    std::thread::sleep(Duration::from_millis(500));
    let mut file = std::fs::File::create(folder.join("tasks.jsonl")).unwrap();
    for n in 0..6 {
        // A line at a time, each one a valid JSON Lines prefix: a sync while the file is
        // open would import part of it.
        writeln!(file, r#"{{"text": "line {n}"}}"#).unwrap();
        file.flush().unwrap();
        std::thread::sleep(Duration::from_millis(250));
    }
    drop(file);
    wait_for_tasks(&server, project, 6, Duration::from_secs(10));
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(server.task_total(project), 6);
}

/// The tasks a Data Manager filter on the storage state finds (their data's text).
fn flagged(server: &Server, project: i64, state: &str) -> Vec<String> {
    let query = json!({"filters": {"conjunction": "and", "items": [{"filter": "filter:tasks:storage_state",
        "operator": "equal", "type": "String", "value": state}]}});
    let (status, found) = server.get(&format!(
        "/api/tasks?project={project}&query={}",
        percent_encoding::utf8_percent_encode(
            &query.to_string(),
            percent_encoding::NON_ALPHANUMERIC
        )
    ));
    assert_eq!(status, 200, "{found}");
    let mut texts: Vec<String> = found["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["data"]["text"].as_str().unwrap().to_owned())
        .collect();
    texts.sort();
    texts
}

fn texts(server: &Server, project: i64) -> Vec<String> {
    let mut texts: Vec<String> = server
        .tasks(project)
        .iter()
        .map(|t| t["data"]["text"].as_str().unwrap().to_owned())
        .collect();
    texts.sort();
    texts
}

#[test]
fn vanished_objects_are_reported_removed_or_flagged_and_changed_ones_imported_again() {
    let env = Env::new();
    let folder = env.dir("objects");
    let server = env.start();
    for kind in ["localfiles", "s3", "redis"] {
        let fields = match kind {
            "localfiles" => json!({"path": folder.display().to_string()}),
            other => cloud_fields(other, &unique_prefix("objects")),
        };
        let objects = Objects::of(kind, &fields, &env.root);
        let put = |name: &str, text: &str| objects.put(name, text);
        let remove = |name: &str| objects.remove(name);
        for name in ["a", "b", "c", "d"] {
            put(&format!("{name}.json"), &format!(r#"{{"text": "{name}"}}"#));
        }
        let project = server.project();
        let mut with_options = fields.clone();
        with_options["remove_vanished"] = json!(true);
        with_options["reimport_changed"] = json!(true);
        let storage = source(&server, kind, project, &with_options);
        server.sync(kind, storage);
        let tasks = server.tasks(project);
        let b = tasks.iter().find(|t| t["data"]["text"] == "b").unwrap()["id"]
            .as_i64()
            .unwrap();
        let (status, _) = server.post(
            &format!("/api/tasks/{b}/annotations/"),
            json!({"result": []}),
        );
        assert_eq!(status, 201);

        remove("a.json");
        remove("b.json");
        put("c.json", r#"[{"text": "c, written again"}]"#);
        let synced = server.sync(kind, storage);
        let meta = &synced["meta"];
        assert_eq!(synced["status"], "completed", "{kind}: {synced}");
        assert_eq!(meta["objects_vanished"], 2, "{kind}: {meta}");
        let vanished: Vec<&str> = meta["vanished_keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k.as_str().unwrap())
            .collect();
        assert!(
            vanished
                .iter()
                .all(|k| k.ends_with("a.json") || k.ends_with("b.json")),
            "{kind}: {vanished:?}"
        );
        assert_eq!(
            meta["tasks_removed"], 1,
            "{kind}: the unannotated task of a.json goes"
        );
        assert_eq!(
            flagged(&server, project, "vanished"),
            ["b"],
            "{kind}: the annotated one stays, flagged"
        );
        if kind == "redis" {
            // Redis tells neither size nor time: an overwritten value is not seen as changed.
            assert_eq!(texts(&server, project), ["b", "c", "d"], "{kind}");
        } else {
            assert_eq!(meta["objects_changed"], 1, "{kind}: {meta}");
            assert_eq!(meta["tasks_reimported"], 1, "{kind}: {meta}");
            assert_eq!(
                texts(&server, project),
                ["b", "c, written again", "d"],
                "{kind}"
            );
        }
        // The same bytes written again: no longer vanished. S3 tells by the ETag that they
        // are the bytes that were labeled, and the flag goes; a folder knows only the new
        // time, so the annotated task stays flagged as changed (Redis tells nothing).
        put("b.json", r#"{"text": "b"}"#);
        server.sync(kind, storage);
        assert!(flagged(&server, project, "vanished").is_empty(), "{kind}");
        let changed: &[&str] = if kind == "localfiles" { &["b"] } else { &[] };
        assert_eq!(flagged(&server, project, "changed"), changed, "{kind}");
    }
}
