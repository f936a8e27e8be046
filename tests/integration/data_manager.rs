//! The rest of the Data Manager's API: views, actions on a selection, predictions, drafts,
//! and the project list's filters and links.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};

use crate::common::{Env, IMAGE_CONFIG, Server};

fn ids(body: &Value) -> Vec<i64> {
    body["tasks"]
        .as_array()
        .unwrap_or_else(|| panic!("no tasks in {body}"))
        .iter()
        .map(|t| t["id"].as_i64().unwrap())
        .collect()
}

/// A project of `count` image tasks; returns (project, task ids).
fn project_with_tasks(server: &Server, count: usize) -> (i64, Vec<i64>) {
    let project = server.project();
    let tasks: Vec<Value> = (0..count)
        .map(|i| json!({"image": format!("{i}.png")}))
        .collect();
    let (status, imported) = server.post(
        &format!("/api/projects/{project}/import?return_task_ids=true"),
        json!(tasks),
    );
    assert_eq!(status, 201, "{imported}");
    (
        project,
        serde_json::from_value(imported["task_ids"].clone()).unwrap(),
    )
}

fn annotate(server: &Server, task: i64) -> i64 {
    let (status, made) = server.post(
        &format!("/api/tasks/{task}/annotations/"),
        json!({"result": [{"from_name": "choice", "to_name": "image", "type": "choices", "value": {"choices": ["cat"]}}]}),
    );
    assert_eq!(status, 201, "{made}");
    made["id"].as_i64().unwrap()
}

const LABELED: &str = r#"{"conjunction": "and", "items": [{"filter": "filter:tasks:total_annotations", "operator": "greater", "type": "Number", "value": 0}]}"#;

#[test]
fn views_keep_their_filters_and_ordering_and_the_task_list_applies_them() {
    let env = Env::new();
    let server = env.start();
    let (project, tasks) = project_with_tasks(&server, 5);
    annotate(&server, tasks[1]);
    annotate(&server, tasks[3]);
    let filters: Value = serde_json::from_str(LABELED).unwrap();
    let (status, view) = server.post(
        "/api/dm/views/",
        json!({"project": project, "data": {"title": "Labeled", "filters": filters, "ordering": ["-tasks:id"], "hiddenColumns": {"explore": ["tasks:inner_id"]}}}),
    );
    assert_eq!(status, 201, "{view}");
    let id = view["id"].as_i64().unwrap();
    assert_eq!(view["project"], project);
    assert_eq!(view["data"]["title"], "Labeled");
    assert_eq!(
        view["data"]["hiddenColumns"]["explore"][0], "tasks:inner_id",
        "kept as sent"
    );
    let (_, listed) = server.get(&format!("/api/tasks?view={id}"));
    assert_eq!(
        ids(&listed),
        vec![tasks[3], tasks[1]],
        "filtered and ordered by the view"
    );
    let (_, listed) = server.get(&format!(
        "/api/tasks?project={project}&view={id}&query=%7B%7D"
    ));
    assert_eq!(
        ids(&listed),
        vec![tasks[3], tasks[1]],
        "the view wins over query"
    );

    let (status, renamed) = server.patch(
        &format!("/api/dm/views/{id}/"),
        json!({"data": {"title": "Done", "filters": filters, "ordering": ["tasks:id"]}}),
    );
    assert_eq!(status, 200, "{renamed}");
    assert_eq!(renamed["data"]["title"], "Done");
    let (_, listed) = server.get(&format!("/api/tasks?view={id}"));
    assert_eq!(ids(&listed), vec![tasks[1], tasks[3]]);

    let (status, second) = server.post(
        "/api/dm/views/",
        json!({"project": project, "data": {"title": "All"}}),
    );
    assert_eq!(status, 201, "{second}");
    assert_eq!(second["order"], 1, "a new tab goes last");
    let (status, _) = server.post(
        "/api/dm/views/order/",
        json!({"project": project, "ids": [second["id"], id]}),
    );
    assert_eq!(status, 200);
    let (_, listed) = server.get(&format!("/api/dm/views/?project={project}"));
    let titles: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["data"]["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, ["All", "Done"]);

    let (status, refused) = server.patch(
        &format!("/api/dm/views/{id}/"),
        json!({"data": {"title": "Bad", "filters": {"conjunction": "and", "items": [{"filter": "filter:tasks:nope", "operator": "equal", "type": "String", "value": "x"}]}}}),
    );
    assert_eq!(status, 400, "{refused}");
    assert!(
        refused["validation_errors"]["data"][0]
            .as_str()
            .unwrap()
            .contains("tasks:nope"),
        "{refused}"
    );
    assert_eq!(
        server.get(&format!("/api/dm/views/{id}/")).1["data"]["title"],
        "Done",
        "nothing stored"
    );

    assert_eq!(server.delete(&format!("/api/dm/views/{id}/")), 204);
    assert_eq!(server.get(&format!("/api/dm/views/{id}/")).0, 404);
    let (status, _) = server.get(&format!("/api/tasks?view={id}"));
    assert_eq!(status, 404, "a deleted view");
    let status = server
        .call(
            Method::DELETE,
            &format!("/api/dm/views/reset/?project={project}"),
            None,
        )
        .0;
    assert_eq!(status, 204);
    assert_eq!(
        server.get(&format!("/api/dm/views/?project={project}")).1,
        json!([])
    );
}

/// Waits until the object's presence in `dir` is as wanted.
fn wait_for_file(path: &std::path::Path, present: bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while path.exists() != present {
        assert!(
            Instant::now() < deadline,
            "{} present: {}",
            path.display(),
            !present
        );
        std::thread::sleep(Duration::from_millis(25));
    }
}

#[test]
fn actions_delete_the_selected_tasks_annotations_and_predictions() {
    let env = Env::new();
    let out = env.dir("out");
    let server = env.start();
    let (project, tasks) = project_with_tasks(&server, 6);
    let (status, target) = server.post(
        "/api/storages/export/localfiles",
        json!({"project": project, "path": out.display().to_string(), "can_delete_objects": true}),
    );
    assert_eq!(status, 201, "{target}");
    let annotations: Vec<i64> = tasks[..4].iter().map(|t| annotate(&server, *t)).collect();
    for annotation in &annotations {
        wait_for_file(&out.join(annotation.to_string()), true);
    }
    for task in &tasks[..2] {
        let (status, made) =
            server.post("/api/predictions/", json!({"task": task, "result": "cat"}));
        assert_eq!(status, 201, "{made}");
    }
    let action = |id: &str, body: Value| {
        server.post(&format!("/api/dm/actions/?project={project}&id={id}"), body)
    };

    let (status, listed) = server.get(&format!("/api/dm/actions/?project={project}"));
    assert_eq!(status, 200);
    let names: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "delete_tasks",
            "delete_tasks_annotations",
            "delete_tasks_predictions"
        ]
    );

    let (status, done) = action(
        "delete_tasks_predictions",
        json!({"selectedItems": {"all": true, "excluded": []}}),
    );
    assert_eq!(
        (status, done["processed_items"].as_i64()),
        (200, Some(2)),
        "{done}"
    );
    let (_, page) = server.get(&format!("/api/tasks?project={project}"));
    assert_eq!(page["total_predictions"], 0);

    let (status, done) = action(
        "delete_tasks_annotations",
        json!({"filters": serde_json::from_str::<Value>(LABELED).unwrap(), "selectedItems": {"all": true, "excluded": [tasks[0]]}}),
    );
    assert_eq!(
        (status, done["processed_items"].as_i64()),
        (200, Some(3)),
        "{done}"
    );
    assert_eq!(done["detail"], "Deleted 3 annotations");
    for annotation in &annotations[1..] {
        wait_for_file(&out.join(annotation.to_string()), false);
    }
    assert!(
        out.join(annotations[0].to_string()).exists(),
        "the excluded task's annotation stays"
    );
    let (_, page) = server.get(&format!("/api/tasks?project={project}"));
    assert_eq!(page["total_annotations"], 1);
    let labeled: Vec<bool> = page["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["is_labeled"].as_bool().unwrap())
        .collect();
    assert_eq!(labeled, [true, false, false, false, false, false]);

    let (status, done) = action(
        "delete_tasks",
        json!({"selectedItems": {"all": false, "included": [tasks[0], tasks[2], tasks[5]]}}),
    );
    assert_eq!(status, 200, "{done}");
    assert_eq!(
        done,
        json!({"processed_items": 3, "reload": false, "detail": "Deleted 3 tasks"})
    );
    wait_for_file(&out.join(annotations[0].to_string()), false);
    let (_, page) = server.get(&format!("/api/tasks?project={project}"));
    assert_eq!(ids(&page), vec![tasks[1], tasks[3], tasks[4]]);

    let (status, done) = action(
        "delete_tasks",
        json!({"selectedItems": {"all": false, "included": []}}),
    );
    assert_eq!(
        (status, done["processed_items"].as_i64()),
        (200, Some(0)),
        "nothing selected, nothing deleted"
    );
    let (status, refused) = action("delete_everything", json!({}));
    assert_eq!(status, 400, "{refused}");
    assert!(
        refused.to_string().contains("delete_tasks_annotations"),
        "names the actions: {refused}"
    );
    let (status, refused) = server.post(&format!("/api/dm/actions/?project={project}"), json!({}));
    assert_eq!(status, 400, "{refused}");
    let (status, done) = action("delete_tasks", json!({}));
    assert_eq!(
        done,
        json!({"processed_items": 3, "reload": true, "detail": "Deleted 3 tasks"}),
        "{status}"
    );
    assert_eq!(server.task_total(project), 0);
}

#[test]
fn predictions_are_created_listed_changed_imported_and_counted() {
    let env = Env::new();
    let server = env.start();
    let (project, tasks) = project_with_tasks(&server, 3);
    let (status, made) = server.post(
        "/api/predictions/",
        json!({"task": tasks[0], "result": [{"from_name": "choice", "to_name": "image", "type": "choices", "value": {"choices": ["dog"]}}], "score": 0.8, "model_version": "v1"}),
    );
    assert_eq!(status, 201, "{made}");
    for key in [
        "id",
        "result",
        "model_version",
        "created_ago",
        "score",
        "cluster",
        "neighbors",
        "mislabeling",
        "created_at",
        "updated_at",
        "model",
        "model_run",
        "task",
        "project",
    ] {
        assert!(made.get(key).is_some(), "{key} in {made}");
    }
    let id = made["id"].as_i64().unwrap();
    let (status, short) = server.post(
        "/api/predictions/",
        json!({"task": tasks[0], "result": "cat"}),
    );
    assert_eq!(status, 201, "{short}");
    assert_eq!(
        short["result"],
        json!([{"from_name": "choice", "to_name": "image", "type": "choices", "value": {"choices": ["cat"]}}])
    );
    assert_eq!(
        short["model_version"], "",
        "one by one: no version unless named"
    );

    let (_, by_task) = server.get(&format!("/api/predictions/?task={}", tasks[0]));
    assert_eq!(by_task.as_array().unwrap().len(), 2);
    let (_, by_project) = server.get(&format!("/api/predictions/?project={project}"));
    assert_eq!(by_project.as_array().unwrap().len(), 2);
    let task = server.get(&format!("/api/tasks/{}/", tasks[0])).1;
    assert_eq!(
        (
            task["total_predictions"].as_i64(),
            task["predictions"].as_array().unwrap().len()
        ),
        (Some(2), 2)
    );
    assert_eq!(
        task["predictions_score"], 0.8,
        "the mean of the scored predictions"
    );

    let (status, changed) = server.patch(&format!("/api/predictions/{id}/"), json!({"score": 0.4}));
    assert_eq!(
        (status, changed["score"].as_f64()),
        (200, Some(0.4)),
        "{changed}"
    );
    assert_eq!(
        server.get(&format!("/api/tasks/{}/", tasks[0])).1["predictions_score"],
        0.4
    );
    assert_eq!(server.delete(&format!("/api/predictions/{id}/")), 204);
    assert_eq!(server.get(&format!("/api/predictions/{id}/")).0, 404);
    assert_eq!(
        server.get(&format!("/api/tasks/{}/", tasks[0])).1["total_predictions"],
        1
    );

    let (status, imported) = server.post(
        &format!("/api/projects/{project}/import/predictions"),
        json!([{"task": tasks[1], "result": "dog", "score": 0.3}, {"task": tasks[2], "result": [], "model_version": "v9"}]),
    );
    assert_eq!((status, imported.clone()), (201, json!({"created": 2})));
    let (_, listed) = server.get(&format!("/api/predictions/?task={}", tasks[1]));
    assert_eq!(
        listed[0]["model_version"], "undefined",
        "imported without a version"
    );

    let other = server.project();
    let (status, refused) = server.post(
        &format!("/api/projects/{other}/import/predictions"),
        json!([{"task": tasks[1], "result": []}]),
    );
    assert_eq!(status, 400, "{refused}");
    assert!(
        refused
            .to_string()
            .contains("couldn't be retrieved from project"),
        "{refused}"
    );
    for (body, field) in [
        (json!({"result": []}), "task"),
        (json!({"task": tasks[0]}), "result"),
        (json!({"task": tasks[0], "result": 7}), "result"),
        (
            json!({"task": tasks[0], "result": [], "score": "high"}),
            "score",
        ),
        (json!({"task": 999_999, "result": []}), "task"),
    ] {
        let (status, refused) = server.post("/api/predictions/", body.clone());
        assert_eq!(status, 400, "{body}: {refused}");
        assert!(
            refused["validation_errors"].get(field).is_some(),
            "{body}: {refused}"
        );
    }

    // Tasks that come with predictions name the project's model version when it has none;
    // their predictions are read as the API reads them (a bare choice becomes its region).
    let (status, imported) = server.post(
        &format!("/api/projects/{other}/import?return_task_ids=true"),
        json!([{"data": {"image": "x.png"}, "predictions": [
            {"result": "dog", "score": 0.5}, {"result": [], "score": 0.5, "model_version": "yolo-v8"}]}]),
    );
    assert_eq!(status, 201, "{imported}");
    assert_eq!(imported["prediction_count"], 2);
    assert_eq!(
        server.get(&format!("/api/projects/{other}/")).1["model_version"],
        "yolo-v8"
    );
    let task = server
        .get(&format!("/api/tasks/{}/", imported["task_ids"][0]))
        .1;
    assert_eq!(
        task["predictions"][0]["result"][0]["value"],
        json!({"choices": ["dog"]})
    );
    assert_eq!(task["predictions"][0]["model_version"], "undefined");
    assert_eq!(
        task["predictions_score"], 0.5,
        "scored by the adopted version"
    );
}

#[test]
fn drafts_belong_to_their_author_and_go_when_the_annotation_is_submitted() {
    let env = Env::new();
    let server = env.start();
    let (project, tasks) = project_with_tasks(&server, 1);
    let task = tasks[0];
    let (_, other_token) = server.member(project, "other@example.com");
    let (status, draft) = server.post(
        &format!("/api/tasks/{task}/drafts"),
        json!({"result": [{"type": "choices"}], "lead_time": 2.5}),
    );
    assert_eq!(status, 201, "{draft}");
    assert_eq!(draft["user"], crate::common::EMAIL);
    assert_eq!(
        (draft["task"].as_i64(), draft["annotation"].clone()),
        (Some(task), Value::Null)
    );
    let id = draft["id"].as_i64().unwrap();
    let (status, theirs) = server.call_as(
        &other_token,
        Method::POST,
        &format!("/api/tasks/{task}/drafts"),
        Some(json!({"result": []})),
    );
    assert_eq!(status, 201, "{theirs}");
    let (_, listed) = server.get(&format!("/api/tasks/{task}/drafts"));
    assert_eq!(
        listed.as_array().unwrap().len(),
        2,
        "everyone's drafts of the task"
    );
    let (_, mine) = server.get(&format!("/api/tasks/{task}/"));
    assert_eq!(
        mine["drafts"].as_array().unwrap().len(),
        1,
        "a task shows its reader's drafts"
    );
    let (status, changed) = server.patch(
        &format!("/api/drafts/{id}/"),
        json!({"result": [], "lead_time": 4.0}),
    );
    assert_eq!(
        (status, changed["lead_time"].as_f64()),
        (200, Some(4.0)),
        "{changed}"
    );

    let (status, refused) = server.call_as(
        &other_token,
        Method::POST,
        &format!("/api/tasks/{task}/annotations/"),
        Some(json!({"result": [], "draft_id": id})),
    );
    assert_eq!(status, 403, "another user's draft: {refused}");
    for method in [Method::PATCH, Method::DELETE] {
        let (status, refused) = server.call_as(
            &other_token,
            method.clone(),
            &format!("/api/drafts/{id}/"),
            Some(json!({"result": []})),
        );
        assert_eq!(status, 403, "{method} of another user's draft: {refused}");
    }
    let (status, seen) = server.call_as(
        &other_token,
        Method::GET,
        &format!("/api/drafts/{id}/"),
        None,
    );
    assert_eq!(
        (status, seen["lead_time"].as_f64()),
        (200, Some(4.0)),
        "seen, and untouched"
    );
    let (status, annotation) = server.post(
        &format!("/api/tasks/{task}/annotations/"),
        json!({"result": [], "draft_id": id}),
    );
    assert_eq!(status, 201, "{annotation}");
    assert_eq!(annotation["draft_created_at"], draft["created_at"]);
    assert_eq!(
        server.get(&format!("/api/drafts/{id}/")).0,
        404,
        "submitted: the draft is gone"
    );
    let (_, listed) = server.get(&format!("/api/tasks/{task}/drafts"));
    assert_eq!(
        listed.as_array().unwrap().len(),
        1,
        "the other user's draft stays"
    );

    let annotation = annotation["id"].as_i64().unwrap();
    let (status, editing) = server.post(
        &format!("/api/tasks/{task}/annotations/{annotation}/drafts"),
        json!({"result": []}),
    );
    assert_eq!(
        (status, editing["annotation"].as_i64()),
        (201, Some(annotation)),
        "{editing}"
    );
    let (status, _) = server.patch(
        &format!("/api/annotations/{annotation}/"),
        json!({"result": []}),
    );
    assert_eq!(status, 200);
    assert_eq!(
        server.get(&format!("/api/drafts/{}/", editing["id"])).0,
        404,
        "updating the annotation ends its draft"
    );
}

#[test]
fn the_project_list_filters_sorts_and_links_absolutely() {
    let env = Env::new();
    let server = env.start();
    for title in ["Cats", "dogs", "Concat", "birds"] {
        let (status, made) = server.post(
            "/api/projects/",
            json!({"title": title, "label_config": IMAGE_CONFIG}),
        );
        assert_eq!(status, 201, "{made}");
    }
    let titles = |path: &str| -> Vec<String> {
        let (status, body) = server.get(path);
        assert_eq!(status, 200, "{path}: {body}");
        body["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["title"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(titles("/api/projects/?title=CAT"), ["Concat", "Cats"]);
    assert_eq!(
        titles("/api/projects/?ordering=title"),
        ["birds", "Cats", "Concat", "dogs"]
    );
    assert_eq!(
        titles("/api/projects/?ordering=-id&title=s"),
        ["birds", "dogs", "Cats"]
    );
    assert_eq!(titles("/api/projects/?ids=1,3"), ["Concat", "Cats"]);
    let (status, refused) = server.get("/api/projects/?ordering=votes");
    assert_eq!(status, 400, "{refused}");
    assert!(
        refused.to_string().contains("title"),
        "names what may be sorted on: {refused}"
    );
    let (status, refused) = server.get("/api/projects/?ids=1,two");
    assert_eq!(status, 400, "{refused}");

    let (_, first) = server.get("/api/projects/?page_size=1&title=a");
    assert_eq!(first["count"], 2);
    let next = first["next"].as_str().unwrap();
    assert_eq!(
        next,
        format!("{}/api/projects/?page_size=1&title=a&page=2", server.url)
    );
    let second: Value = server
        .request(Method::GET, next.strip_prefix(&server.url).unwrap())
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(
        second["previous"],
        format!("{}/api/projects/?page_size=1&title=a", server.url)
    );
    assert_eq!(second["next"], Value::Null);

    let (status, all) = server.get("/api/projects/?page_size=10000000");
    assert_eq!(status, 200, "{all}");
    assert_eq!(
        all["results"].as_array().unwrap().len(),
        4,
        "any page size is served whole"
    );
}
