//! Bad input gets Label Studio's error envelope with a message that says what to fix.

use reqwest::Method;
use serde_json::{Value, json};

use crate::common::Env;

fn assert_envelope(body: &Value, status: u16) {
    assert_eq!(body["status_code"], status, "{body}");
    for key in ["id", "version", "detail"] {
        assert!(body.get(key).is_some(), "missing {key}: {body}");
    }
    assert!(body.get("exc_info").is_some(), "{body}");
}

fn non_field_error(body: &Value) -> &str {
    body["validation_errors"]["non_field_errors"][0]
        .as_str()
        .unwrap_or_default()
}

#[test]
fn storage_paths_are_checked_at_create_and_validate() {
    let env = Env::new();
    env.dir("inside");
    let elsewhere = tempfile::tempdir().unwrap();
    let server = env.start();
    let project = server.project();
    let root = env.root.display().to_string();
    let cases = [
        (format!("{root}/missing"), "does not exist"),
        (
            root.clone(),
            "cannot be the same as LOCAL_FILES_DOCUMENT_ROOT",
        ),
        (
            elsewhere.path().display().to_string(),
            "must be a subdirectory of LOCAL_FILES_DOCUMENT_ROOT",
        ),
        (String::new(), "Path must be set"),
        ("relative/dir".to_owned(), "must be absolute"),
    ];
    for (path, expected) in &cases {
        for route in [
            "/api/storages/localfiles/",
            "/api/storages/localfiles/validate",
            "/api/storages/export/localfiles",
        ] {
            let (status, body) = server.post(route, json!({"project": project, "path": path}));
            assert_eq!(status, 400, "{route} {path}: {body}");
            assert_envelope(&body, 400);
            assert_eq!(body["detail"], "Validation error");
            assert!(
                non_field_error(&body).contains(expected),
                "{route} {path}: {body}"
            );
        }
    }
    let (_, list) = server.get(&format!("/api/storages/?project={project}"));
    assert_eq!(list, json!([]), "nothing was stored");
}

#[test]
fn invalid_regex_is_refused_before_any_sync() {
    let env = Env::new();
    env.dir("inside");
    let server = env.start();
    let project = server.project();
    let path = env.root.join("inside").display().to_string();
    for route in [
        "/api/storages/localfiles/",
        "/api/storages/localfiles/validate",
    ] {
        let (status, body) = server.post(
            route,
            json!({"project": project, "path": path, "regex_filter": "(*.png"}),
        );
        assert_eq!(status, 400, "{body}");
        let message = body["validation_errors"]["regex_filter"][0]
            .as_str()
            .unwrap();
        assert!(message.contains("Invalid regular expression"), "{message}");
    }
    // A PATCH with a bad regex leaves the stored storage as it was.
    let id = server.local_source(
        project,
        &env.root.join("inside"),
        json!({"regex_filter": ".*"}),
    );
    let (status, _) = server.patch(
        &format!("/api/storages/localfiles/{id}"),
        json!({"regex_filter": "a{99999}{99999}"}),
    );
    assert_eq!(status, 400);
    let (_, stored) = server.get(&format!("/api/storages/localfiles/{id}"));
    assert_eq!(stored["regex_filter"], ".*");
}

#[test]
fn field_types_projects_and_unknown_ids() {
    let env = Env::new();
    env.dir("inside");
    let server = env.start();
    let project = server.project();
    let path = env.root.join("inside").display().to_string();

    let (status, body) = server.post("/api/storages/localfiles/", json!({"path": path}));
    assert_eq!(
        (status, body["validation_errors"]["project"][0].as_str()),
        (400, Some("This field is required."))
    );
    let (status, body) = server.post(
        "/api/storages/localfiles/",
        json!({"project": 999, "path": path}),
    );
    assert_eq!(status, 400, "{body}");
    assert!(
        body["validation_errors"]["project"][0]
            .as_str()
            .unwrap()
            .contains("999")
    );
    let (status, body) = server.post(
        "/api/storages/localfiles/",
        json!({"project": project, "path": path, "use_blob_urls": "perhaps"}),
    );
    assert_eq!(
        (
            status,
            body["validation_errors"]["use_blob_urls"][0].as_str()
        ),
        (400, Some("Must be a valid boolean."))
    );
    let (status, body) = server.get("/api/storages/localfiles/");
    assert_eq!(
        (status, non_field_error(&body)),
        (400, "query parameter \"project\" is required")
    );

    for missing in [
        "/api/storages/localfiles/999",
        "/api/tasks/999",
        "/api/annotations/999/",
        "/api/projects/999/",
        "/api/storages/nosuchtype/?project=1",
    ] {
        let (status, body) = server.get(missing);
        assert_eq!(status, 404, "{missing}");
        assert_envelope(&body, 404);
    }
    // An import storage id is not an export storage.
    let id = server.local_source(project, &env.root.join("inside"), json!({}));
    assert_eq!(
        server
            .get(&format!("/api/storages/export/localfiles/{id}"))
            .0,
        404
    );

    let (status, body) = server.call(Method::POST, "/api/projects/", None);
    assert_eq!(status, 201, "an empty body is an empty object: {body}");
    let response = server
        .request(Method::POST, "/api/projects/")
        .body("{not json")
        .send()
        .unwrap();
    assert_eq!(response.status(), 400);
    let (status, body) = server.post("/api/projects/", json!({"label_config": "<View><Image"}));
    assert_eq!(status, 400);
    assert!(
        body["validation_errors"]["label_config"][0]
            .as_str()
            .unwrap()
            .contains("XML"),
        "{body}"
    );
}

#[test]
fn trailing_slashes_follow_label_studio() {
    let env = Env::new();
    let server = env.start();
    let project = server.project();
    for path in [
        format!("/api/storages/localfiles/?project={project}"),
        format!("/api/storages/localfiles?project={project}"),
        format!("/api/storages/export/localfiles?project={project}"),
        format!("/api/storages/?project={project}"),
        format!("/api/storages/export?project={project}"),
        "/api/storages/types".to_owned(),
        "/api/storages/export/types".to_owned(),
        format!("/api/projects/{project}"),
        format!("/api/tasks/?project={project}"),
    ] {
        assert_eq!(server.get(&path).0, 200, "{path}");
    }
    assert_eq!(
        server
            .get(&format!(
                "/api/storages/export/localfiles/?project={project}"
            ))
            .0,
        404,
        "an extra slash is not removed"
    );
    let (_, types) = server.get("/api/storages/types");
    assert!(
        types
            .as_array()
            .unwrap()
            .contains(&json!({"name": "localfiles", "title": "Local files"}))
    );
}
