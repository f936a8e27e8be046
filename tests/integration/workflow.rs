//! The whole user story of the foundation issue, start to finish.

use serde_json::json;

use reqwest::Method;

use crate::common::{Env, eventually, send};

#[test]
fn local_files_workflow_end_to_end() {
    let env = Env::new();
    env.file("images/cats/a.png", b"png-a");
    env.file("images/b.jpg", b"jpg-b");
    env.file("images/notes.txt", b"skip me");
    let out = env.dir("exports");
    let server = env.start();

    let project = server.project();
    let source = server.local_source(
        project,
        &env.root.join("images"),
        json!({"use_blob_urls": true, "recursive_scan": true, "regex_filter": r".*\.(png|jpg)"}),
    );
    let storage = server.sync("localfiles", source);
    assert_eq!(storage["status"], "completed", "{storage}");
    assert_eq!(storage["last_sync_count"], 2);
    assert_eq!(storage["meta"]["tasks_existed"], 0);
    assert_eq!(storage["meta"]["attempts"], 1);
    for key in [
        "time_queued",
        "time_in_progress",
        "time_last_ping",
        "time_completed",
        "duration",
    ] {
        assert!(
            !storage["meta"][key].is_null(),
            "meta.{key} missing: {storage}"
        );
    }
    assert!(storage["last_sync"].as_str().unwrap().ends_with('Z'));

    // Tasks read back under the config's first variable, sorted by file name.
    let tasks = server.tasks(project);
    let images: Vec<&str> = tasks
        .iter()
        .map(|t| t["data"]["image"].as_str().unwrap())
        .collect();
    assert_eq!(
        images,
        vec![
            "/data/local-files/?d=images/cats/a.png",
            "/data/local-files/?d=images/b.jpg"
        ]
    );
    assert_eq!(
        tasks[0]["storage_filename"],
        env.root.join("images/cats/a.png").display().to_string()
    );

    // The media URL of a task serves the file to the signed-in user.
    let bytes = server
        .request(reqwest::Method::GET, images[0])
        .send()
        .unwrap()
        .bytes()
        .unwrap();
    assert_eq!(&bytes[..], b"png-a");

    // A target storage created after the annotation gets it by its initial sync...
    let task_id = tasks[0]["id"].as_i64().unwrap();
    let result = json!([{"from_name": "choice", "to_name": "image", "type": "choices", "value": {"choices": ["cat"]}}]);
    let (status, annotation) = server.post(
        &format!("/api/tasks/{task_id}/annotations/"),
        json!({"result": result}),
    );
    assert_eq!(status, 201, "{annotation}");
    let first_annotation = annotation["id"].as_i64().unwrap();
    let (status, target) = server.post(
        "/api/storages/export/localfiles",
        json!({"project": project, "path": out.display().to_string(), "title": "out"}),
    );
    assert_eq!(status, 201, "{target}");
    let target_id = target["id"].as_i64().unwrap();
    let target = server.wait_synced("export/localfiles", target_id);
    assert_eq!(target["status"], "completed", "{target}");
    assert_eq!(target["last_sync_count"], 1);
    let exported: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join(first_annotation.to_string())).unwrap())
            .unwrap();
    assert_eq!(exported["result"], result);
    assert_eq!(
        exported["task"]["data"]["image"],
        "/data/local-files/?d=images/cats/a.png"
    );
    assert_eq!(exported["completed_by"]["email"], crate::common::EMAIL);

    // ...and every later save is exported on its own.
    let second_task = tasks[1]["id"].as_i64().unwrap();
    let (_, second) = server.post(
        &format!("/api/tasks/{second_task}/annotations/"),
        json!({"result": []}),
    );
    let second_file = out.join(second["id"].as_i64().unwrap().to_string());
    eventually("the new annotation is exported", || second_file.exists());

    // Task counters follow the annotations.
    let (_, task) = server.get(&format!("/api/tasks/{task_id}"));
    assert_eq!(task["total_annotations"], 1);
    assert_eq!(task["is_labeled"], true);
    assert_eq!(task["annotations"][0]["id"], first_annotation);
}

#[test]
fn json_task_import_api_creates_tasks_with_annotations_and_predictions() {
    let env = Env::new();
    let server = env.start();
    let project = server.project();
    let (status, body) = server.post(
        &format!("/api/projects/{project}/import?return_task_ids=true"),
        json!([
            {"image": "/data/local-files/?d=a.png"},
            {"data": {"image": "b.png"}, "annotations": [{"result": []}], "predictions": [{"result": [], "score": 0.5}]}
        ]),
    );
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["task_count"], 2);
    assert_eq!(body["annotation_count"], 1);
    assert_eq!(body["prediction_count"], 1);
    let ids = body["task_ids"].as_array().unwrap();
    let (_, task) = server.get(&format!("/api/tasks/{}", ids[1]));
    assert_eq!(task["data"], json!({"image": "b.png"}));
    assert_eq!(task["total_annotations"], 1);
    assert_eq!(task["total_predictions"], 1);
    assert_eq!(task["predictions"][0]["score"], 0.5);

    let (status, error) = server.post(
        &format!("/api/projects/{project}/import"),
        json!([{"data": 5}]),
    );
    assert_eq!(status, 400, "{error}");
    assert!(
        error["validation_errors"]["non_field_errors"][0]
            .as_str()
            .unwrap()
            .contains("Task 0"),
        "{error}"
    );
}

#[test]
fn task_list_paginates_and_counts() {
    let env = Env::new();
    let server = env.start();
    let project = server.project();
    let tasks: Vec<_> = (0..25)
        .map(|i| json!({"image": format!("{i}.png")}))
        .collect();
    assert_eq!(
        server
            .post(&format!("/api/projects/{project}/import"), json!(tasks))
            .0,
        201
    );
    let (_, page) = server.get(&format!("/api/tasks?project={project}&page=3&page_size=10"));
    assert_eq!(page["total"], 25);
    let ids: Vec<i64> = page["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["inner_id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, vec![21, 22, 23, 24, 25]);
    assert_eq!(
        server
            .get(&format!("/api/tasks?project={project}&page=4&page_size=10"))
            .0,
        404
    );
    let (status, error) = server.get("/api/tasks");
    assert_eq!(status, 400, "{error}");

    let (_, projects) = server.get("/api/projects/");
    assert_eq!(projects["count"], 1);
    assert_eq!(projects["results"][0]["task_number"], 25);
}

/// A multipart form with one part per (file name, content), as the UI's Import sends it.
fn upload(files: &[(&str, &str)]) -> reqwest::blocking::multipart::Form {
    files.iter().fold(
        reqwest::blocking::multipart::Form::new(),
        |form, (name, text)| {
            let part = reqwest::blocking::multipart::Part::text(text.to_string())
                .file_name(name.to_string());
            form.part("file", part)
        },
    )
}

#[test]
fn task_files_upload_imports_json_and_jsonl_or_nothing() {
    let env = Env::new();
    let server = env.start();
    let project = server.project();
    let import = format!("/api/projects/{project}/import");

    let good = upload(&[
        (
            "tasks.json",
            r#"[{"image": "/data/local-files/?d=a.png"}, {"data": {"image": "b.png"}}]"#,
        ),
        (
            "more.jsonl",
            "{\"image\": \"c.png\"}\n{\"data\": {\"image\": \"d.png\"}}\n",
        ),
    ]);
    let (status, body) = send(server.request(Method::POST, &import).multipart(good));
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["task_count"], 4);
    let images: Vec<_> = server
        .tasks(project)
        .iter()
        .map(|t| t["data"]["image"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        images,
        ["/data/local-files/?d=a.png", "b.png", "c.png", "d.png"]
    );

    // One malformed file among good ones: a 400 naming it, and nothing imported.
    let mixed = upload(&[
        ("fine.json", r#"[{"image": "e.png"}]"#),
        ("broken.json", r#"{"data": {"image": "#),
    ]);
    let (status, error) = send(server.request(Method::POST, &import).multipart(mixed));
    assert_eq!(status, 400, "{error}");
    let message = error["validation_errors"]["non_field_errors"][0]
        .as_str()
        .unwrap();
    assert!(message.starts_with("broken.json: "), "{error}");
    assert_eq!(
        server.tasks(project).len(),
        4,
        "nothing of the failed upload stays"
    );

    let empty = upload(&[("empty.json", "[]")]);
    let (status, error) = send(server.request(Method::POST, &import).multipart(empty));
    assert_eq!(status, 400, "{error}");
}

#[test]
fn next_task_skips_labeled_ones_and_wraps_round() {
    let env = Env::new();
    let server = env.start();
    let project = server.project();
    let (_, created) = server.post(
        &format!("/api/projects/{project}/import?return_task_ids=true"),
        json!([{"image": "1.png"}, {"image": "2.png"}, {"image": "3.png"}]),
    );
    let ids: Vec<i64> = created["task_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|id| id.as_i64().unwrap())
        .collect();
    let next = |after: i64| {
        let (status, task) = server.get(&format!("/api/projects/{project}/next/?after={after}"));
        (status, task["id"].as_i64())
    };
    assert_eq!(next(0), (200, Some(ids[0])));
    let (status, _) = server.post(
        &format!("/api/tasks/{}/annotations/", ids[1]),
        json!({"result": []}),
    );
    assert_eq!(status, 201);
    assert_eq!(
        next(ids[0]),
        (200, Some(ids[2])),
        "the labeled task is passed over"
    );
    assert_eq!(
        next(ids[2]),
        (200, Some(ids[0])),
        "after the last one, back to the first"
    );
    let (status, _) = server.post(
        &format!("/api/tasks/{}/annotations/", ids[0]),
        json!({"result": [], "was_cancelled": true}),
    );
    assert_eq!(status, 201);
    server.post(
        &format!("/api/tasks/{}/annotations/", ids[2]),
        json!({"result": []}),
    );
    assert_eq!(next(ids[2]).0, 404, "every task is labeled or skipped");
    assert_eq!(
        server
            .get(&format!("/api/projects/{project}/next/?after=x"))
            .0,
        400
    );
}
