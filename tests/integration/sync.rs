//! Import sync: dedupe, re-import after deletion, task files, errors, the job lifecycle.

use serde_json::{Value, json};

use crate::common::Env;

#[test]
fn resync_creates_only_new_tasks_and_deleted_tasks_come_back() {
    let env = Env::new();
    for i in 0..5 {
        env.file(&format!("blobs/{i}.png"), b"x");
    }
    let server = env.start();
    let project = server.project();
    let source = server.local_source(
        project,
        &env.root.join("blobs"),
        json!({"use_blob_urls": true}),
    );
    assert_eq!(server.sync("localfiles", source)["last_sync_count"], 5);

    let again = server.sync("localfiles", source);
    assert_eq!(again["status"], "completed", "{again}");
    assert_eq!(again["last_sync_count"], 0);
    assert_eq!(again["meta"]["tasks_existed"], 5);
    assert_eq!(again["meta"]["attempts"], 2);
    assert_eq!(server.tasks(project).len(), 5);

    env.file("blobs/new.png", b"y");
    let tasks = server.tasks(project);
    assert_eq!(
        server.delete(&format!("/api/tasks/{}/", tasks[0]["id"])),
        204
    );
    let third = server.sync("localfiles", source);
    assert_eq!(
        third["last_sync_count"], 2,
        "the new file and the deleted task's file: {third}"
    );
    assert_eq!(third["meta"]["tasks_existed"], 4);
    let tasks = server.tasks(project);
    assert_eq!(tasks.len(), 6);
    let mut files: Vec<&str> = tasks
        .iter()
        .map(|t| t["storage_filename"].as_str().unwrap())
        .collect();
    files.sort_unstable();
    files.dedup();
    assert_eq!(files.len(), 6, "no object became two tasks");

    // Deleting the storage keeps its tasks, and forgets which files they came from.
    assert_eq!(
        server.delete(&format!("/api/storages/localfiles/{source}")),
        204
    );
    let tasks = server.tasks(project);
    assert_eq!(tasks.len(), 6);
    assert!(
        tasks.iter().all(|t| t["storage_filename"].is_null()),
        "no task keeps a link to the deleted storage: {tasks:?}"
    );
}

#[test]
fn a_resync_counts_every_listed_file_and_tells_new_changed_and_vanished_ones_apart() {
    let env = Env::new();
    for name in [
        "keep0.png",
        "keep1.png",
        "keep2.png",
        "grow.png",
        "gone.png",
    ] {
        env.file(&format!("blobs/{name}"), b"x");
    }
    for name in ["a.txt", "sub/b.txt"] {
        env.file(&format!("blobs/{name}"), b"not wanted");
    }
    let server = env.start();
    let project = server.project();
    let source = server.local_source(
        project,
        &env.root.join("blobs"),
        json!({"use_blob_urls": true, "recursive_scan": true, "regex_filter": r".*\.png"}),
    );
    let first = server.sync("localfiles", source);
    assert_eq!(first["last_sync_count"], 5, "{first}");
    assert_eq!(first["meta"]["objects_scanned"], 7, "{first}");

    env.file("blobs/grow.png", b"grown");
    std::fs::remove_file(env.root.join("blobs/gone.png")).unwrap();
    env.file("blobs/sub/new.png", b"y");
    let again = server.sync("localfiles", source);
    let meta = &again["meta"];
    assert_eq!(again["status"], "completed", "{again}");
    assert_eq!(again["last_sync_count"], 1, "only new.png: {again}");
    assert_eq!(
        meta["tasks_existed"], 4,
        "three kept and the grown one: {meta}"
    );
    assert_eq!(
        meta["objects_scanned"], 7,
        "filtered out or not, every file: {meta}"
    );
    assert_eq!(meta["objects_changed"], 1, "{meta}");
    assert_eq!(meta["objects_vanished"], 1, "{meta}");
    assert!(
        meta["changed_keys"][0]
            .as_str()
            .unwrap()
            .ends_with("/grow.png")
    );
    assert!(
        meta["vanished_keys"][0]
            .as_str()
            .unwrap()
            .ends_with("/gone.png")
    );

    let third = server.sync("localfiles", source);
    assert_eq!(third["last_sync_count"], 0, "{third}");
    assert_eq!(third["meta"]["tasks_existed"], 5, "{third}");
    assert_eq!(third["meta"]["objects_scanned"], 7, "{third}");
    assert_eq!(
        server.tasks(project).len(),
        6,
        "gone.png's task stays, flagged"
    );
}

#[test]
fn task_files_in_every_format_and_bad_files_are_reported() {
    let env = Env::new();
    env.file("tasks/one.json", br#"{"image": "one.png"}"#);
    env.file(
        "tasks/array.json",
        br#"[{"image": "a0.png"}, {"data": {"image": "a1.png"}}]"#,
    );
    env.file(
        "tasks/lines.jsonl",
        b"{\"image\": \"l0.png\"}\n{\"image\": \"l1.png\"}\n",
    );
    env.file(
        "tasks/with_annotations.json",
        br#"{"data": {"image": "w.png"}, "annotations": [{"result": [{"type": "choices", "value": {"choices": ["cat"]}}]}], "predictions": [{"result": [], "score": 0.9}]}"#,
    );
    env.file("tasks/broken.json", b"{\"image\": \"b0.png\"}\n{not json\n");
    env.file("tasks/binary.json", b"\x89PNG\r\n");
    let server = env.start();
    let project = server.project();
    let source = server.local_source(project, &env.root.join("tasks"), json!({}));
    let storage = server.sync("localfiles", source);
    assert_eq!(storage["status"], "completed_with_errors", "{storage}");
    assert_eq!(storage["last_sync_count"], 6);
    assert_eq!(storage["meta"]["tasks_failed_validation"], 2);
    let traceback = storage["traceback"].as_str().unwrap();
    let lines: Vec<&str> = traceback.lines().collect();
    assert_eq!(lines.len(), 2, "{traceback}");
    assert!(
        traceback.contains("broken.json: line 2: invalid JSON"),
        "{traceback}"
    );
    assert!(
        traceback.contains("binary.json: the file is not UTF-8"),
        "{traceback}"
    );

    let tasks = server.tasks(project);
    let mut images: Vec<&str> = tasks
        .iter()
        .map(|t| t["data"]["image"].as_str().unwrap())
        .collect();
    images.sort_unstable();
    assert_eq!(
        images,
        vec!["a0.png", "a1.png", "l0.png", "l1.png", "one.png", "w.png"]
    );
    let annotated = tasks
        .iter()
        .find(|t| t["data"]["image"] == "w.png")
        .unwrap();
    assert_eq!(annotated["total_annotations"], 1);
    assert_eq!(annotated["total_predictions"], 1);

    // The broken file is retried by the next sync; it is not half-imported.
    env.file(
        "tasks/broken.json",
        b"{\"image\": \"b0.png\"}\n{\"image\": \"b1.png\"}\n",
    );
    std::fs::remove_file(env.root.join("tasks/binary.json")).unwrap();
    let storage = server.sync("localfiles", source);
    assert_eq!(storage["status"], "completed", "{storage}");
    assert_eq!(storage["last_sync_count"], 2);
    assert_eq!(
        storage["traceback"],
        Value::Null,
        "a stale failure text is cleared"
    );
}

#[test]
fn sync_is_queued_and_a_second_request_starts_nothing() {
    let env = Env::new();
    for i in 0..3000 {
        env.file(&format!("many/d{}/{i:05}.png", i % 30), b"x");
    }
    let server = env.start();
    let project = server.project();
    let source = server.local_source(
        project,
        &env.root.join("many"),
        json!({"use_blob_urls": true, "recursive_scan": true}),
    );
    let (status, first) = server.post(
        &format!("/api/storages/localfiles/{source}/sync"),
        json!({}),
    );
    assert_eq!(status, 200);
    assert_eq!(
        first["status"], "queued",
        "the request returns before the sync runs: {first}"
    );
    let (_, second) = server.post(
        &format!("/api/storages/localfiles/{source}/sync"),
        json!({}),
    );
    let done = server.wait_synced("localfiles", source);
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(
        done["meta"]["attempts"], 1,
        "the second request did not queue another sync: {second}"
    );
    assert_eq!(done["last_sync_count"], 3000);
    assert_eq!(server.tasks(project).len(), 1000);
    assert_eq!(server.task_total(project), 3000);
}

#[test]
fn blob_tasks_keep_undefined_without_a_config_variable() {
    let env = Env::new();
    env.file("plain/a.txt", b"x");
    let server = env.start();
    let (_, project) = server.post("/api/projects/", json!({"title": "no config"}));
    let project = project["id"].as_i64().unwrap();
    let source = server.local_source(
        project,
        &env.root.join("plain"),
        json!({"use_blob_urls": true}),
    );
    server.sync("localfiles", source);
    let tasks = server.tasks(project);
    assert_eq!(
        tasks[0]["data"],
        json!({"$undefined$": "/data/local-files/?d=plain/a.txt"})
    );
    // Setting a config renames it on read; storage is untouched.
    let (status, _) = server.patch(
        &format!("/api/projects/{project}/"),
        json!({"label_config": "<View><Text name=\"t\" value=\"$text\"/></View>"}),
    );
    assert_eq!(status, 200);
    assert_eq!(
        server.tasks(project)[0]["data"],
        json!({"text": "/data/local-files/?d=plain/a.txt"})
    );
}

#[test]
fn non_synchronizable_storage_refuses_to_sync() {
    let env = Env::new();
    env.dir("quiet");
    let server = env.start();
    let project = server.project();
    let source = server.local_source(
        project,
        &env.root.join("quiet"),
        json!({"synchronizable": false}),
    );
    let (status, body) = server.post(
        &format!("/api/storages/localfiles/{source}/sync"),
        json!({}),
    );
    assert_eq!(status, 400);
    assert_eq!(
        body,
        json!({"message": format!("Storage {source} is not synchronizable")})
    );
}

#[test]
fn a_storage_whose_directory_vanished_fails_with_a_readable_message() {
    let env = Env::new();
    env.file("gone/a.png", b"x");
    let server = env.start();
    let project = server.project();
    let source = server.local_source(
        project,
        &env.root.join("gone"),
        json!({"use_blob_urls": true}),
    );
    std::fs::remove_dir_all(env.root.join("gone")).unwrap();
    let storage = server.sync("localfiles", source);
    assert_eq!(storage["status"], "failed", "{storage}");
    assert!(
        storage["traceback"]
            .as_str()
            .unwrap()
            .contains("does not exist"),
        "{storage}"
    );
    assert!(!storage["meta"]["time_failure"].is_null());
}

#[test]
fn two_sync_requests_at_the_same_moment_start_one_sync() {
    let env = Env::new();
    // Large enough that the sync is still running when the last request lands.
    for i in 0..20_000 {
        env.file(&format!("race/d{}/{i:05}.png", i % 20), b"x");
    }
    let server = env.start();
    let project = server.project();
    let source = server.local_source(
        project,
        &env.root.join("race"),
        json!({"use_blob_urls": true, "recursive_scan": true}),
    );
    let barrier = std::sync::Barrier::new(8);
    let responses: Vec<Value> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..8)
            .map(|_| {
                scope.spawn(|| {
                    barrier.wait();
                    server
                        .post(
                            &format!("/api/storages/localfiles/{source}/sync"),
                            json!({}),
                        )
                        .1
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let jobs: std::collections::HashSet<&str> = responses
        .iter()
        .map(|r| r["last_sync_job"].as_str().unwrap())
        .collect();
    assert_eq!(
        jobs.len(),
        1,
        "one job for eight simultaneous requests: {responses:?}"
    );
    let done = server.wait_synced("localfiles", source);
    assert_eq!(done["meta"]["attempts"], 1);
    assert_eq!(done["last_sync_count"], 20_000);
    assert_eq!(server.task_total(project), 20_000, "no duplicates");
}

#[test]
fn fifty_clients_during_a_sync_see_no_failure() {
    let env = Env::new();
    for i in 0..20_000 {
        env.file(&format!("busy/d{}/{i:05}.png", i % 20), b"x");
    }
    let server = env.start();
    let project = server.project();
    let seed: Vec<_> = (0..200)
        .map(|i| json!({"image": format!("seed{i}.png")}))
        .collect();
    server.post(&format!("/api/projects/{project}/import"), json!(seed));
    let source = server.local_source(
        project,
        &env.root.join("busy"),
        json!({"use_blob_urls": true, "recursive_scan": true}),
    );
    server.post(
        &format!("/api/storages/localfiles/{source}/sync"),
        json!({}),
    );
    let failures: Vec<String> = std::thread::scope(|scope| {
        let clients: Vec<_> = (0..50)
            .map(|client| {
                let server = &server;
                scope.spawn(move || {
                    let mut failures = Vec::new();
                    for round in 0..10 {
                        let (status, page) = server.get(&format!(
                            "/api/tasks?project={project}&page={}&page_size=50",
                            1 + round % 4
                        ));
                        if status != 200 {
                            failures.push(format!("list {status}: {page}"));
                            continue;
                        }
                        let task = page["tasks"][(client + round) % 50]["id"].clone();
                        let (status, body) = server.post(
                            &format!("/api/tasks/{task}/annotations/"),
                            json!({"result": []}),
                        );
                        if status != 201 {
                            failures.push(format!("annotate {status}: {body}"));
                        }
                        let (status, body) =
                            server.get(&format!("/api/storages/localfiles/{source}"));
                        if status != 200 {
                            failures.push(format!("storage {status}: {body}"));
                        }
                    }
                    failures
                })
            })
            .collect();
        clients
            .into_iter()
            .flat_map(|c| c.join().unwrap())
            .collect()
    });
    assert!(
        failures.is_empty(),
        "{} failures, first: {:?}",
        failures.len(),
        failures.first()
    );
    let done = server.wait_synced("localfiles", source);
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(done["last_sync_count"], 20_000);
}

/// Task files far larger than what is read into memory: a JSON array of a million tasks and
/// JSON Lines; each is imported whole, and one bad task at the very end of a large file
/// stores nothing of it.
#[test]
fn a_million_tasks_in_one_file_stream_in_and_a_bad_last_task_stores_nothing() {
    const TASKS: usize = 1_000_000;
    let env = Env::new();
    let mut array = Vec::with_capacity(TASKS * 12);
    array.push(b'[');
    for i in 0..TASKS {
        if i > 0 {
            array.push(b',');
        }
        array.extend_from_slice(format!("{{\"n\":{i}}}").as_bytes());
    }
    array.push(b']');
    env.file("big/array.json", &array);
    let lines: String = (0..200_000)
        .map(|i| format!("{{\"data\": {{\"n\": {i}}}}}\n"))
        .collect();
    env.file("big/lines.jsonl", lines.as_bytes());
    let mut bad = lines.clone().into_bytes();
    bad.extend_from_slice(b"{\"data\": 5}\n");
    env.file("big/bad-at-the-end.jsonl", &bad);
    assert!(array.len() > 8 * 1024 * 1024 && bad.len() > 4 * 1024 * 1024);

    let server = env.start();
    let project = server.project();
    let source = server.local_source(project, &env.root.join("big"), json!({}));
    let storage = server.sync("localfiles", source);
    assert_eq!(storage["status"], "completed_with_errors", "{storage}");
    assert_eq!(
        storage["last_sync_count"],
        (TASKS + 200_000) as i64,
        "{storage}"
    );
    let traceback = storage["traceback"].as_str().unwrap();
    assert!(
        traceback.contains("bad-at-the-end.jsonl: line 200001: \"data\" must be a JSON object"),
        "{traceback}"
    );
    assert_eq!(server.task_total(project), (TASKS + 200_000) as i64);
    let (_, last) = server.get(&format!(
        "/api/tasks?project={project}&page={}&page_size=1",
        TASKS
    ));
    assert_eq!(last["tasks"][0]["data"], json!({"n": TASKS - 1}));
    assert_eq!(
        last["tasks"][0]["storage_filename"],
        env.root.join("big/array.json").display().to_string()
    );
    // Synced again: every row is known, nothing is added.
    let again = server.sync("localfiles", source);
    assert_eq!(again["last_sync_count"], 0, "{again}");
}
