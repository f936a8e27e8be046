//! Ids are never used twice: not by a new server's rows, and not after the migration that
//! brought AUTOINCREMENT to a database written by the previous schema.

use std::path::Path;
use std::time::{Duration, Instant};

use rusqlite::Connection;
use serde_json::{Value, json};

use crate::common::{EMAIL, Env, Server};

/// Waits until `path` exists and holds JSON; returns it.
fn exported(path: &Path) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(text) = std::fs::read_to_string(path)
            && let Ok(value) = serde_json::from_str(&text)
        {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "{} was never exported",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(25));
    }
}

fn created_id(server: &Server, path: &str, body: Value) -> i64 {
    let (status, made) = server.post(path, body);
    assert_eq!(status, 201, "{path}: {made}");
    made["id"].as_i64().unwrap()
}

#[test]
fn a_deleted_newest_annotation_keeps_its_id_and_its_exported_object() {
    let env = Env::new();
    let out = env.dir("out");
    let server = env.start();
    let project = server.project();
    let (status, target) = server.post(
        "/api/storages/export/localfiles",
        json!({"project": project, "path": out.display().to_string()}),
    );
    assert_eq!(status, 201, "{target}");
    let task = created_id(
        &server,
        "/api/tasks/",
        json!({"project": project, "data": {"image": "a.png"}}),
    );
    let choice = |label: &str| json!({"result": [{"from_name": "choice", "to_name": "image", "type": "choices", "value": {"choices": [label]}}]});
    let annotations = format!("/api/tasks/{task}/annotations/");
    created_id(&server, &annotations, choice("cat"));
    let newest = created_id(&server, &annotations, choice("dog"));
    assert_eq!(
        exported(&out.join(newest.to_string()))["result"][0]["value"]["choices"][0],
        "dog"
    );

    assert_eq!(server.delete(&format!("/api/annotations/{newest}/")), 204);
    let next = created_id(&server, &annotations, choice("cat"));
    assert!(
        next > newest,
        "the new annotation got {next}, the deleted one had {newest}"
    );
    assert_eq!(
        exported(&out.join(next.to_string()))["result"][0]["value"]["choices"][0],
        "cat"
    );
    let kept = exported(&out.join(newest.to_string()));
    assert_eq!(kept["id"], newest);
    assert_eq!(
        kept["result"][0]["value"]["choices"][0], "dog",
        "the deleted annotation's object was not overwritten (the target does not delete objects)"
    );

    // Tasks, projects and storages: delete the newest, create one, its id is larger.
    let newest_task = created_id(
        &server,
        "/api/tasks/",
        json!({"project": project, "data": {"image": "b.png"}}),
    );
    assert_eq!(server.delete(&format!("/api/tasks/{newest_task}/")), 204);
    let (status, imported) = server.post(
        &format!("/api/projects/{project}/import?return_task_ids=true"),
        json!([{"image": "c.png"}, {"image": "d.png"}]),
    );
    assert_eq!(status, 201, "{imported}");
    let ids: Vec<i64> = serde_json::from_value(imported["task_ids"].clone()).unwrap();
    assert_eq!(ids, vec![newest_task + 1, newest_task + 2], "{imported}");
    let newest_project = server.project();
    assert_eq!(
        server.delete(&format!("/api/projects/{newest_project}/")),
        204
    );
    assert!(server.project() > newest_project);
    let source = |server: &Server| server.local_source(project, &env.dir("images"), json!({}));
    let newest_storage = source(&server);
    assert_eq!(
        server.delete(&format!("/api/storages/localfiles/{newest_storage}")),
        204
    );
    assert!(source(&server) > newest_storage);
}

/// The schema before ids were made permanent: the migrations this binary applied before it.
const PREVIOUS_SCHEMA: [&str; 6] = [
    include_str!("../../src/db/migrations/0001_init.sql"),
    include_str!("../../src/db/migrations/0002_personal_tokens.sql"),
    include_str!("../../src/db/migrations/0003_prediction_project_index.sql"),
    include_str!("../../src/db/migrations/0004_sync_cursor.sql"),
    include_str!("../../src/db/migrations/0005_project_members.sql"),
    include_str!("../../src/db/migrations/0006_task_counter_index.sql"),
];

/// A database as the previous labelsync left it: two projects, tasks with annotations and
/// predictions, a storage, and an export still to be removed for annotation 9, which was
/// deleted (so no row says 9 was ever used but the outbox).
fn previous_database(path: &Path) {
    let mut conn = Connection::open(path).unwrap();
    let tx = conn.transaction().unwrap();
    for sql in PREVIOUS_SCHEMA {
        tx.execute_batch(sql).unwrap();
    }
    let t = "2026-01-02T03:04:05.000000Z";
    tx.execute_batch(&format!(
        "INSERT INTO users (id, email, password_hash, created_at) VALUES (1, '{EMAIL}', 'x', '{t}');
         INSERT INTO projects (id, title, options, created_by, created_at, updated_at, next_inner_id)
             VALUES (1, 'kept', '{{\"model_version\": \"v2\"}}', 1, '{t}', '{t}', 4),
                    (2, 'other', '{{}}', 1, '{t}', '{t}', 1);
         INSERT INTO project_members (project_id, user_id, created_at) VALUES (1, 1, '{t}'), (2, 1, '{t}');
         INSERT INTO tasks (id, project_id, data, inner_id, is_labeled, total_annotations, cancelled_annotations, total_predictions, created_at, updated_at)
             VALUES (1, 1, '{{\"image\": \"a.png\"}}', 1, 1, 1, 1, 2, '{t}', '{t}'),
                    (2, 1, '{{\"image\": \"b.png\"}}', 2, 0, 0, 0, 0, '{t}', '{t}'),
                    (4, 1, '{{\"image\": \"d.png\"}}', 3, 0, 0, 0, 0, '{t}', '{t}');
         INSERT INTO annotations (id, task_id, project_id, result, completed_by, was_cancelled, created_at, updated_at)
             VALUES (3, 1, 1, '[]', 1, 1, '2026-01-02T05:00:00.000000Z', '{t}'),
                    (5, 1, 1, '[]', 1, 0, '2026-01-02T04:00:00.000000Z', '{t}');
         INSERT INTO predictions (id, task_id, project_id, result, score, model_version, created_at, updated_at)
             VALUES (1, 1, 1, '[]', 0.25, 'v1', '{t}', '{t}'), (2, 1, 1, '[]', 0.75, 'v2', '{t}', '{t}');
         INSERT INTO storages (id, project_id, direction, type, title, settings, created_at)
             VALUES (6, 1, 'export', 'localfiles', 'out', '{{\"path\": \"/nowhere\"}}', '{t}');
         INSERT INTO export_outbox (storage_id, annotation_id, op, not_before, created_at)
             VALUES (6, 9, 'delete', '2099-01-01T00:00:00.000000Z', '{t}');
         PRAGMA user_version = 6;"
    ))
    .unwrap();
    tx.commit().unwrap();
}

#[test]
fn the_previous_schema_keeps_every_row_and_its_ids_are_never_given_again() {
    let env = Env::new();
    std::fs::create_dir_all(&env.data).unwrap();
    previous_database(&env.data.join("labelsync.sqlite3"));
    let server = env.start();

    let (status, projects) = server.get("/api/projects/");
    assert_eq!(status, 200, "{projects}");
    let titles: Vec<&str> = projects["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, ["other", "kept"]);
    let (_, page) = server.get("/api/tasks?project=1&fields=all");
    let tasks = page["tasks"].as_array().unwrap();
    let ids: Vec<i64> = tasks.iter().map(|t| t["id"].as_i64().unwrap()).collect();
    assert_eq!(ids, [1, 2, 4]);
    let labeled = &tasks[0];
    assert_eq!(labeled["annotations"].as_array().unwrap().len(), 2);
    assert_eq!(labeled["predictions"].as_array().unwrap().len(), 2);
    assert_eq!(
        labeled["completed_at"], "2026-01-02T04:00:00.000000Z",
        "completed at its newest annotation's creation"
    );
    assert_eq!(
        labeled["predictions_score"], 0.75,
        "scored by the project's model version"
    );
    assert_eq!(tasks[1]["completed_at"], Value::Null);

    let annotation = created_id(&server, "/api/tasks/2/annotations/", json!({"result": []}));
    assert_eq!(
        annotation, 1010,
        "above the annotation the outbox still remembers, and a margin for ones deleted without a trace"
    );
    let task = created_id(
        &server,
        "/api/tasks/",
        json!({"project": 1, "data": {"image": "e.png"}}),
    );
    assert_eq!(task, 5);
    assert_eq!(server.project(), 3);
    let storage = server.local_source(1, &env.dir("images"), json!({}));
    assert_eq!(storage, 7);
    let prediction = created_id(
        &server,
        "/api/predictions/",
        json!({"task": 2, "result": []}),
    );
    assert_eq!(prediction, 3);
    drop(server);

    let conn = Connection::open(env.data.join("labelsync.sqlite3")).unwrap();
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert!(version >= 7);
    let broken: Option<String> = conn
        .query_row("PRAGMA foreign_key_check", [], |r| r.get(0))
        .ok();
    assert_eq!(broken, None, "no row refers to a row that is gone");
}
