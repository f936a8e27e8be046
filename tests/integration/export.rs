//! Target storages: export on save, on sync, and deletion by policy.

use serde_json::{Value, json};

use crate::common::{Env, Server, eventually};

fn read_json(path: &std::path::Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn target(server: &Server, project: i64, path: &std::path::Path, can_delete: bool) -> i64 {
    let (status, body) = server.post(
        "/api/storages/export/localfiles",
        json!({"project": project, "path": path.display().to_string(), "can_delete_objects": can_delete}),
    );
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["can_delete_objects"], can_delete);
    assert!(
        body.get("recursive_scan").is_none(),
        "export storages have no recursive_scan: {body}"
    );
    let id = body["id"].as_i64().unwrap();
    server.wait_synced("export/localfiles", id);
    id
}

fn annotate(server: &Server, task: i64, choice: &str) -> i64 {
    let result = json!([{"from_name": "choice", "to_name": "image", "type": "choices", "value": {"choices": [choice]}}]);
    let (status, body) = server.post(
        &format!("/api/tasks/{task}/annotations/"),
        json!({"result": result}),
    );
    assert_eq!(status, 201, "{body}");
    body["id"].as_i64().unwrap()
}

#[test]
fn saves_updates_and_deletes_follow_each_target_policy() {
    let env = Env::new();
    let keep = env.dir("keep");
    let remove = env.dir("remove");
    let server = env.start();
    let project = server.project();
    server.post(
        &format!("/api/projects/{project}/import"),
        json!([{"image": "a.png"}, {"image": "b.png"}]),
    );
    let tasks = server.tasks(project);
    target(&server, project, &keep, false);
    target(&server, project, &remove, true);

    let first = annotate(&server, tasks[0]["id"].as_i64().unwrap(), "cat");
    for dir in [&keep, &remove] {
        let file = dir.join(first.to_string());
        eventually("export on save", || file.exists());
    }
    let (status, _) = server.patch(
        &format!("/api/annotations/{first}/"),
        json!({"result": [{"value": {"choices": ["dog"]}}]}),
    );
    assert_eq!(status, 200);
    eventually("update re-exported", || {
        read_json(&remove.join(first.to_string()))["result"][0]["value"]["choices"][0] == "dog"
    });

    assert_eq!(server.delete(&format!("/api/annotations/{first}/")), 204);
    eventually("deleted where allowed", || {
        !remove.join(first.to_string()).exists()
    });
    assert!(
        keep.join(first.to_string()).exists(),
        "kept where deletion is not allowed"
    );

    // Deleting a task removes its annotations' objects too, where allowed.
    let second = annotate(&server, tasks[1]["id"].as_i64().unwrap(), "cat");
    eventually("second exported", || {
        remove.join(second.to_string()).exists()
    });
    assert_eq!(
        server.delete(&format!("/api/tasks/{}/", tasks[1]["id"])),
        204
    );
    eventually("task deletion removed the export", || {
        !remove.join(second.to_string()).exists()
    });
    assert!(keep.join(second.to_string()).exists());
}

#[test]
fn manual_sync_writes_every_annotation() {
    let env = Env::new();
    let out = env.dir("out");
    let server = env.start();
    let project = server.project();
    let tasks: Vec<_> = (0..40)
        .map(|i| json!({"image": format!("{i}.png")}))
        .collect();
    server.post(&format!("/api/projects/{project}/import"), json!(tasks));
    let ids: Vec<i64> = server
        .tasks(project)
        .iter()
        .map(|t| annotate(&server, t["id"].as_i64().unwrap(), "cat"))
        .collect();
    let storage = target(&server, project, &out, false);
    for id in &ids {
        std::fs::remove_file(out.join(id.to_string())).ok();
    }
    // a stray file that is not ours stays untouched
    std::fs::write(out.join("README"), b"mine").unwrap();
    let synced = server.sync("export/localfiles", storage);
    assert_eq!(synced["status"], "completed", "{synced}");
    assert_eq!(synced["last_sync_count"], 40);
    assert_eq!(synced["meta"]["total_annotations"], 40);
    for id in &ids {
        let document = read_json(&out.join(id.to_string()));
        assert_eq!(document["id"], *id);
        assert!(
            document["task"]["data"]["image"]
                .as_str()
                .unwrap()
                .ends_with(".png")
        );
    }
    assert_eq!(std::fs::read(out.join("README")).unwrap(), b"mine");
}
