//! Target layouts: Label Studio's one object per annotation, or one `<task id>.json` per
//! task with all its annotations, which a source storage imports back whole. The round trip
//! runs on a local folder and on S3 (the emulator).

use serde_json::{Value, json};

use crate::backends::{cloud_fields, open_direct, unique_prefix};
use crate::common::{Env, Server, eventually};
use labelsync::storage::Direction;

const CONFIG: &str = r#"<View><Text name="text" value="$text"/>
  <Choices name="sentiment" toName="text"><Choice value="pos"/><Choice value="neg"/></Choices></View>"#;

fn choice(label: &str) -> Value {
    json!([{"from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": [label]}}])
}

fn project(server: &Server, title: &str) -> i64 {
    let (status, created) = server.post(
        "/api/projects/",
        json!({"title": title, "label_config": CONFIG}),
    );
    assert_eq!(status, 201, "{created}");
    created["id"].as_i64().unwrap()
}

fn storage(server: &Server, kind: &str, direction: &str, project: i64, fields: &Value) -> i64 {
    let mut body = fields.clone();
    body["project"] = json!(project);
    let path = match direction {
        "export" => format!("/api/storages/export/{kind}"),
        _ => format!("/api/storages/{kind}"),
    };
    let (status, created) = server.post(&path, body);
    assert_eq!(status, 201, "{created}");
    created["id"].as_i64().unwrap()
}

/// Annotates two of three tasks into a target with the task layout, imports that target
/// back as the source of a new project, and checks the tasks came back with their work.
fn round_trip(server: &Server, kind: &str, fields: Value, root: &std::path::Path) {
    let first = project(server, &format!("{kind} origin"));
    let (_, imported) = server.post(
        &format!("/api/projects/{first}/import?return_task_ids=true"),
        json!([{"text": "good"}, {"text": "bad"}, {"text": "unlabeled"}]),
    );
    let ids: Vec<i64> = imported["task_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_i64().unwrap())
        .collect();
    let mut target_fields = fields.clone();
    target_fields["export_layout"] = json!("task");
    target_fields["can_delete_objects"] = json!(true);
    let target = storage(server, kind, "export", first, &target_fields);
    let (status, first_annotation) = server.post(
        &format!("/api/tasks/{}/annotations/", ids[0]),
        json!({"result": choice("pos"), "lead_time": 4.5}),
    );
    assert_eq!(status, 201);
    server.post(
        &format!("/api/tasks/{}/annotations/", ids[0]),
        json!({"result": choice("neg"), "ground_truth": true}),
    );
    server.post(
        &format!("/api/tasks/{}/annotations/", ids[1]),
        json!({"result": choice("neg")}),
    );
    server.post(
        "/api/predictions/",
        json!({"task": ids[1], "result": choice("pos"), "score": 0.75, "model_version": "m1"}),
    );

    let objects = open_direct(kind, &target_fields, Direction::Export, root);
    let key = |task: i64| objects.key_for(&format!("{task}.json"));
    let read = |task: i64| -> Option<Value> {
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(objects.read(&key(task)))
            .ok()
            .map(|b| serde_json::from_slice(&b).unwrap())
    };
    eventually("both annotations in the task's object", || {
        read(ids[0]).is_some_and(|t| t["annotations"].as_array().unwrap().len() == 2)
    });
    // A manual sync writes the annotated tasks (the prediction is written whole).
    let synced = server.sync(&format!("export/{kind}"), target);
    assert_eq!(synced["status"], "completed", "{synced}");
    let second = read(ids[1]).unwrap();
    assert_eq!(second["predictions"][0]["score"], 0.75);
    assert!(
        read(ids[2]).is_none(),
        "a task without annotations has no object"
    );
    // Deleting an annotation rewrites the task's object without it.
    assert_eq!(
        server.delete(&format!("/api/annotations/{}/", first_annotation["id"])),
        204
    );
    eventually("the object lost the deleted annotation", || {
        read(ids[0]).is_some_and(|t| t["annotations"].as_array().unwrap().len() == 1)
    });
    let stored = read(ids[0]).unwrap();
    assert!(stored.get("drafts").is_none(), "drafts stay private");

    let second_project = project(server, &format!("{kind} copy"));
    let mut source_fields = fields;
    source_fields["use_blob_urls"] = json!(false);
    let source = storage(server, kind, "import", second_project, &source_fields);
    let synced = server.sync(kind, source);
    assert_eq!(synced["status"], "completed", "{synced}");
    let (_, copied) = server.get(&format!("/api/tasks?project={second_project}&fields=all"));
    let mut tasks: Vec<Value> = copied["tasks"].as_array().unwrap().clone();
    tasks.sort_by_key(|t| t["data"]["text"].as_str().unwrap().to_owned());
    let texts: Vec<&str> = tasks
        .iter()
        .map(|t| t["data"]["text"].as_str().unwrap())
        .collect();
    assert_eq!(texts, ["bad", "good"]);
    let bad = &tasks[0];
    assert_eq!(bad["annotations"][0]["result"], choice("neg"));
    assert_eq!(bad["predictions"][0]["result"], choice("pos"));
    assert_eq!(bad["predictions"][0]["model_version"], "m1");
    let good = &tasks[1];
    assert_eq!(good["annotations"].as_array().unwrap().len(), 1);
    assert_eq!(good["annotations"][0]["result"], choice("neg"));
    assert_eq!(good["annotations"][0]["ground_truth"], true);

    // Deleting the task removes its object (the storage may delete).
    assert_eq!(server.delete(&format!("/api/tasks/{}/", ids[1])), 204);
    eventually("the deleted task's object is gone", || {
        read(ids[1]).is_none()
    });
}

#[test]
fn the_task_layout_round_trips_through_a_local_folder() {
    let env = Env::new();
    let dir = env.dir("layout");
    let server = env.start();
    round_trip(
        &server,
        "localfiles",
        json!({"path": dir.display().to_string()}),
        &env.root,
    );
}

#[test]
fn the_task_layout_round_trips_through_s3() {
    let env = Env::new();
    let server = env.start();
    round_trip(
        &server,
        "s3",
        cloud_fields("s3", &unique_prefix("layout")),
        &env.root,
    );
}

#[test]
fn the_layout_is_a_choice_with_a_default_and_a_clear_error() {
    let env = Env::new();
    let dir = env.dir("out");
    let server = env.start();
    let project = project(&server, "layout field");
    let (status, created) = server.post(
        "/api/storages/export/localfiles",
        json!({"project": project, "path": dir.display().to_string()}),
    );
    assert_eq!(status, 201);
    assert_eq!(created["export_layout"], "annotation");
    let (status, refused) = server.post(
        "/api/storages/export/localfiles",
        json!({"project": project, "path": dir.display().to_string(), "export_layout": "per-day"}),
    );
    assert_eq!(status, 400);
    assert!(
        refused["validation_errors"]["export_layout"][0]
            .as_str()
            .unwrap()
            .contains("annotation, task"),
        "{refused}"
    );
    let (_, providers) = server.get("/api/storages/providers");
    let text = providers.to_string();
    assert!(
        text.contains("\"input\":\"select\""),
        "the wizard gets the choices"
    );
}
