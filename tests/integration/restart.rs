//! What survives a stop, a crash, and a second server.

use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::common::{Env, Server, Stocked};

#[test]
fn everything_is_still_there_after_a_restart() {
    let env = Env::new();
    env.file("keep/a.png", b"x");
    let out = env.dir("out");
    let server = env.start();
    let Stocked {
        project,
        source,
        annotation,
        target,
        ..
    } = server.stocked_project(&env.root.join("keep"), &out);
    server.wait_synced("export/localfiles", target);
    let before = (
        server.get(&format!("/api/projects/{project}/")).1,
        server.tasks(project),
        server.get(&format!("/api/storages/localfiles/{source}")).1,
    );
    server.stop();

    let server = env.start();
    let after = (
        server.get(&format!("/api/projects/{project}/")).1,
        server.tasks(project),
        server.get(&format!("/api/storages/localfiles/{source}")).1,
    );
    assert_eq!(before, after);
    assert_eq!(
        server.get(&format!("/api/annotations/{annotation}/")).0,
        200
    );
    let (_, exports) = server.get(&format!("/api/storages/export?project={project}"));
    assert_eq!(exports[0]["status"], "completed");
}

#[test]
fn a_sync_killed_midway_resumes_after_restart_without_duplicates() {
    const FILES: usize = 100_000;
    let env = Env::new();
    big_folder(&env, FILES);
    let server = env.start();
    let project = server.project();
    let source = start_big_folder_sync(&server, &env, project);
    // Kill once some batches are committed, so there is something to resume after.
    let stored = server.wait_for_first_tasks(project);
    let (_, at_kill) = server.get(&format!("/api/storages/localfiles/{source}"));
    server.kill();
    assert_eq!(
        at_kill["status"], "in_progress",
        "the kill must land mid-sync: {at_kill}"
    );
    assert!(
        stored > 0 && stored < FILES as i64,
        "{stored} tasks at the kill"
    );

    let server = env.start();
    let storage = server.wait_synced("localfiles", source);
    assert_eq!(storage["status"], "completed", "{storage}");
    assert_eq!(
        server.task_total(project),
        FILES as i64,
        "every file exactly once"
    );
    // The restarted sync went on from its cursor: it did not list what was stored.
    let resumed_after = storage["meta"]["resumed_after"].as_str().expect("a cursor");
    assert!(resumed_after.ends_with(".png"), "{storage}");
    let scanned = storage["meta"]["objects_scanned"].as_i64().unwrap();
    assert!(
        scanned <= FILES as i64 - stored,
        "{scanned} objects listed again after {stored} were stored"
    );
    // A fresh sync afterwards finds nothing new.
    let again = server.sync("localfiles", source);
    assert_eq!(again["last_sync_count"], 0);
    assert_eq!(again["meta"]["tasks_existed"], FILES as i64);
}

#[test]
fn a_second_server_on_the_same_data_dir_is_refused() {
    let env = Env::new();
    let _first = env.start();
    let stderr = refused_start(&env);
    assert!(
        stderr.contains("another labelsync server is already using the data directory"),
        "{stderr}"
    );
}

#[test]
fn a_database_from_a_newer_version_is_refused() {
    let env = Env::new();
    env.start().stop();
    let db = rusqlite::Connection::open(env.data.join("labelsync.sqlite3")).unwrap();
    db.pragma_update(None, "user_version", 999).unwrap();
    drop(db);
    let stderr = refused_start(&env);
    assert!(stderr.contains("newer version of labelsync"), "{stderr}");
}

/// Starts a server that must refuse to start; returns what it printed on stderr.
fn refused_start(env: &Env) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_labelsync"))
        .args(["start", "--port", "0", "--data-dir"])
        .arg(&env.data)
        .output()
        .unwrap();
    assert!(!output.status.success(), "the server started");
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn the_binary_runs_alone_from_any_directory() {
    let env = Env::new();
    let elsewhere = tempfile::tempdir().unwrap();
    let binary = elsewhere.path().join("labelsync");
    std::fs::copy(env!("CARGO_BIN_EXE_labelsync"), &binary).unwrap();
    let empty_cwd = tempfile::tempdir().unwrap();
    let server = env.start_copied_binary(&binary, empty_cwd.path());
    let css = server
        .anonymous(reqwest::Method::GET, "/static/app.css")
        .send()
        .unwrap();
    assert_eq!(css.status(), 200);
    assert!(
        css.text().unwrap().contains("font-family"),
        "embedded asset"
    );
    let login = server
        .anonymous(reqwest::Method::GET, "/user/login")
        .send()
        .unwrap();
    assert!(
        login.text().unwrap().contains("Sign in"),
        "embedded template"
    );
    assert_eq!(server.get("/api/projects/").0, 200);
}

#[test]
fn an_export_sync_killed_midway_ends_with_every_annotation_exported_once() {
    const ANNOTATIONS: usize = 20_000;
    let env = Env::new();
    let out = env.dir("exports");
    let server = env.start();
    let project = server.project();
    let tasks: Vec<_> = (0..ANNOTATIONS)
        .map(|i| json!({"data": {"image": format!("{i}.png")}, "annotations": [{"result": []}]}))
        .collect();
    let (status, imported) = server.post(&format!("/api/projects/{project}/import"), json!(tasks));
    assert_eq!(status, 201, "{imported}");
    let (_, target) = server.post(
        "/api/storages/export/localfiles",
        json!({"project": project, "path": out.display().to_string()}),
    );
    let id = target["id"].as_i64().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let at_kill = loop {
        let (_, storage) = server.get(&format!("/api/storages/export/localfiles/{id}"));
        let written = storage["meta"]["annotations_exported"]
            .as_i64()
            .unwrap_or(0);
        if written > 0 || storage["status"] == "completed" || Instant::now() > deadline {
            break storage;
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    server.kill();
    assert_eq!(
        at_kill["status"], "in_progress",
        "the kill must land mid-export: {at_kill}"
    );

    let server = env.start();
    let done = server.wait_synced("export/localfiles", id);
    assert_eq!(done["status"], "completed", "{done}");
    let names: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(
        names.len(),
        ANNOTATIONS,
        "one object per annotation, no leftovers"
    );
    for name in names.iter().take(50) {
        let document: serde_json::Value =
            serde_json::from_slice(&std::fs::read(out.join(name)).unwrap()).unwrap();
        assert_eq!(document["id"].to_string(), *name);
    }
}

/// A task file too large for one transaction goes in batch by batch; a server killed in
/// the middle of it reads the file again after the restart, and every task is there once.
#[test]
fn a_large_task_file_cut_short_is_read_again_without_duplicates() {
    const TASKS: usize = 400_000;
    let env = Env::new();
    let lines: String = (0..TASKS).map(|i| format!("{{\"n\": {i}}}\n")).collect();
    env.file("files/many.jsonl", lines.as_bytes());
    let server = env.start();
    let project = server.project();
    let source = server.local_source(project, &env.root.join("files"), json!({}));
    server.post(
        &format!("/api/storages/localfiles/{source}/sync"),
        json!({}),
    );
    let stored = server.wait_for_first_tasks(project);
    server.kill();
    assert!(
        stored > 0 && stored < TASKS as i64,
        "the kill must land inside the file: {stored} tasks"
    );

    let server = env.start();
    let storage = server.wait_synced("localfiles", source);
    assert_eq!(storage["status"], "completed", "{storage}");
    assert_eq!(
        server.task_total(project),
        TASKS as i64,
        "every task of the file exactly once"
    );
    // Batches may commit between the count above and the kill: at least those were found.
    let existed = storage["meta"]["tasks_existed"].as_i64().unwrap();
    assert!(
        existed >= stored && existed + storage["last_sync_count"].as_i64().unwrap() == TASKS as i64,
        "the rows stored before the kill were found, not added again: {storage}"
    );
}

/// SIGTERM in the middle of a sync: the server answers what it was answering, pauses the
/// sync at a batch boundary with its cursor stored, delivers the annotation saved just
/// before, folds the WAL back, and exits cleanly; the next start finishes the sync from
/// the cursor with every file exactly once.
#[test]
fn sigterm_mid_sync_pauses_it_and_the_next_start_finishes_it() {
    const FILES: usize = 100_000;
    let env = Env::new();
    big_folder(&env, FILES);
    let out = env.dir("exports");
    let server = env.start();
    let project = server.project();
    let (status, imported) = server.post(
        &format!("/api/projects/{project}/import"),
        json!([{"image": "before.png"}]),
    );
    assert_eq!(status, 201, "{imported}");
    let task = server.tasks(project)[0]["id"].as_i64().unwrap();
    let (status, _) = server.post(
        "/api/storages/export/localfiles",
        json!({"project": project, "path": out.display().to_string()}),
    );
    assert_eq!(status, 201);
    let source = start_big_folder_sync(&server, &env, project);
    // Stop once some batches are committed (the imported task aside).
    crate::common::eventually("the sync stored a batch", || server.task_total(project) > 1);
    let (status, annotation) = server.post(
        &format!("/api/tasks/{task}/annotations/"),
        json!({"result": [], "lead_time": 1.5}),
    );
    assert_eq!(status, 201, "{annotation}");
    let exit = server.terminate();
    assert!(
        exit.is_some_and(|status| status.success()),
        "a clean exit on SIGTERM: {exit:?}\n{}",
        env.log()
    );

    let wal = env.data.join("labelsync.sqlite3-wal");
    assert_eq!(
        std::fs::metadata(&wal).map_or(0, |m| m.len()),
        0,
        "the log was folded back at the stop"
    );
    let (status, cursor) = stored_sync_state(&env, source);
    assert_eq!(status, "in_progress", "paused, not ended: {}", env.log());
    let cursor = cursor.unwrap_or_else(|| panic!("the pause stored no cursor:\n{}", env.log()));
    assert!(env.log().contains("sync paused by the server stop"));
    let annotation_id = annotation["id"].as_i64().unwrap();
    assert!(
        out.join(annotation_id.to_string()).is_file(),
        "the annotation saved before the stop was exported"
    );

    let server = env.start();
    let storage = server.wait_synced("localfiles", source);
    assert_eq!(storage["status"], "completed", "{storage}");
    assert_eq!(storage["meta"]["resumed_after"], cursor.as_str());
    assert_eq!(
        server.task_total(project),
        FILES as i64 + 1,
        "every file exactly once"
    );
}

/// The status and cursor of a storage, read from the database file of a stopped server.
/// `files` empty images in nested folders under `big/`.
fn big_folder(env: &Env, files: usize) {
    for i in 0..files {
        env.file(&format!("big/d{:03}/{i:06}.png", i % 500), b"");
    }
}

/// A blob-mode source on `big/` and its sync started; returns the storage id.
fn start_big_folder_sync(server: &Server, env: &Env, project: i64) -> i64 {
    let source = server.local_source(
        project,
        &env.root.join("big"),
        json!({"use_blob_urls": true, "recursive_scan": true}),
    );
    let (status, body) = server.post(
        &format!("/api/storages/localfiles/{source}/sync"),
        json!({}),
    );
    assert_eq!(status, 200, "{body}");
    source
}

fn stored_sync_state(env: &Env, storage: i64) -> (String, Option<String>) {
    let db = rusqlite::Connection::open(env.data.join("labelsync.sqlite3")).unwrap();
    db.query_row(
        "SELECT status, sync_cursor FROM storages WHERE id = ?1",
        [storage],
        |row| Ok((row.get(0)?, row.get(1)?)),
    )
    .unwrap()
}
