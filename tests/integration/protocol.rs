//! The small things clients and proxies expect of Label Studio's HTTP surface: the health
//! check and version document with or without the slash, HEAD on any GET route, OPTIONS.

use reqwest::Method;
use reqwest::header::{ALLOW, CONTENT_LENGTH};
use serde_json::Value;

use crate::common::Env;

#[test]
fn health_and_version_answer_with_and_without_the_slash() {
    let env = Env::new();
    let server = env.start();
    for path in ["/health", "/health/"] {
        let response = server.anonymous(Method::GET, path).send().unwrap();
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(
            response.json::<Value>().unwrap(),
            serde_json::json!({"status": "UP"})
        );
    }
    let theirs: Value = serde_json::from_slice(
        &std::fs::read(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../shared/reference/ls-samples/api-beyond-storage/version.json"),
        )
        .unwrap(),
    )
    .unwrap();
    for path in ["/api/version", "/api/version/"] {
        let ours: Value = server
            .anonymous(Method::GET, path)
            .send()
            .unwrap()
            .json()
            .unwrap();
        for key in [
            "release",
            "label-studio-os-package",
            "label-studio-os-backend",
            "label-studio-frontend",
            "edition",
            "lsf",
        ] {
            assert!(
                theirs.get(key).is_some() && ours.get(key).is_some(),
                "{path} has Label Studio's {key}: {ours}"
            );
        }
        assert_eq!(ours["release"], theirs["release"], "the API level spoken");
        assert_eq!(ours["labelsync"]["version"], env!("CARGO_PKG_VERSION"));
        assert_eq!(
            ours["label-studio-os-package"]
                .as_object()
                .unwrap()
                .keys()
                .collect::<Vec<_>>(),
            theirs["label-studio-os-package"]
                .as_object()
                .unwrap()
                .keys()
                .collect::<Vec<_>>()
        );
    }
}

#[test]
fn head_is_get_without_the_body_and_options_lists_the_methods() {
    let env = Env::new();
    let server = env.start();
    let project = server.project();
    for path in [
        "/api/projects/".to_owned(),
        format!("/api/projects/{project}/"),
        "/health/".to_owned(),
    ] {
        let got = server.request(Method::GET, &path).send().unwrap();
        let length = got.bytes().unwrap().len();
        let head = server.request(Method::HEAD, &path).send().unwrap();
        assert_eq!(head.status(), 200, "{path}");
        let announced: usize = head.headers()[CONTENT_LENGTH]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(
            announced, length,
            "{path}: HEAD announces the GET body's length"
        );
        assert!(
            head.bytes().unwrap().is_empty(),
            "{path}: and sends no body"
        );
    }
    // On the wire: the headers and nothing after them, for a sized answer and a streamed
    // one (an export).
    for path in [
        "/health/".to_owned(),
        format!("/api/projects/{project}/export?exportType=JSON"),
    ] {
        let raw = raw_head(&server.url, &path);
        let (head, rest) = raw.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 200"), "{path}: {head}");
        assert_eq!(rest, "", "{path}: a HEAD answer has no body");
    }
    let anonymous = server
        .anonymous(Method::HEAD, "/api/projects/")
        .send()
        .unwrap();
    assert_eq!(
        anonymous.status(),
        401,
        "HEAD asks for credentials as GET does"
    );

    let options = server
        .request(Method::OPTIONS, "/api/projects/")
        .send()
        .unwrap();
    assert_eq!(options.status(), 200);
    let allow = options.headers()[ALLOW].to_str().unwrap().to_owned();
    for method in ["GET", "POST", "PATCH", "DELETE", "HEAD", "OPTIONS"] {
        assert!(allow.contains(method), "{allow}");
    }
}

#[test]
fn config_validation_answers_as_label_studio_and_saves_nothing() {
    let env = Env::new();
    let server = env.start();
    let project = server.project();
    let (_, before) = server.get(&format!("/api/projects/{project}/"));
    let config = before["label_config"].as_str().unwrap().to_owned();

    let same = server.post(
        &format!("/api/projects/{project}/validate/"),
        serde_json::json!({"label_config": config}),
    );
    assert_eq!(
        same,
        (
            200,
            serde_json::json!({"config_essential_data_has_changed": false})
        )
    );
    let other = r#"<View><Text name="t" value="$text"/><Choices name="c" toName="t"><Choice value="x"/></Choices></View>"#;
    let changed = server.post(
        &format!("/api/projects/{project}/validate/"),
        serde_json::json!({"label_config": other}),
    );
    assert_eq!(
        changed,
        (
            200,
            serde_json::json!({"config_essential_data_has_changed": true})
        )
    );
    let (status, body) = server.post(
        &format!("/api/projects/{project}/validate/"),
        serde_json::json!({"label_config": "<View>"}),
    );
    assert_eq!(status, 400);
    assert!(
        body["validation_errors"]["label_config"][0]
            .as_str()
            .unwrap()
            .contains("unclosed"),
        "{body}"
    );
    let (status, body) = server.post(
        &format!("/api/projects/{project}/validate/"),
        serde_json::json!({}),
    );
    assert_eq!(status, 400);
    assert!(
        body.to_string()
            .contains("Label config is not set or is empty"),
        "{body}"
    );
    let (_, after) = server.get(&format!("/api/projects/{project}/"));
    assert_eq!(
        after["label_config"], before["label_config"],
        "validating saves nothing"
    );

    let response = server
        .request(Method::POST, "/api/projects/validate/")
        .json(&serde_json::json!({"label_config": other}))
        .send()
        .unwrap();
    assert_eq!(response.status(), 204);
    let (status, _) = server.post("/api/projects/validate/", serde_json::json!({"label_config": "<View><Choices name=\"c\" toName=\"nothing\"/></View>"}));
    assert_eq!(status, 400);
}

#[test]
fn users_by_id_a_new_token_and_deleting_every_task_of_a_project() {
    let env = Env::new();
    let server = env.start();
    let (_, me) = server.get("/api/current-user/whoami");
    let id = me["id"].as_i64().unwrap();
    let (status, user) = server.get(&format!("/api/users/{id}/"));
    assert_eq!((status, &user["email"]), (200, &me["email"]));
    let (status, user) = server.patch(
        &format!("/api/users/{id}"),
        serde_json::json!({"first_name": "Ada", "last_name": "Lovelace"}),
    );
    assert_eq!(status, 200, "{user}");
    assert_eq!(
        (user["first_name"].as_str(), user["last_name"].as_str()),
        (Some("Ada"), Some("Lovelace"))
    );
    assert_eq!(server.get("/api/users/999999/").0, 404);
    let (other, _) = server.member(server.project(), "someone@example.com");
    let (status, _) = server.patch(
        &format!("/api/users/{other}/"),
        serde_json::json!({"first_name": "Mallory"}),
    );
    assert_eq!(status, 403, "a user changes only their own names");

    let project = server.project();
    let (status, _) = server.post(
        &format!("/api/projects/{project}/import"),
        serde_json::json!([{"text": "a"}, {"text": "b"}, {"text": "c"}]),
    );
    assert_eq!(status, 201);
    assert_eq!(
        server.delete(&format!("/api/projects/{project}/tasks/")),
        204
    );
    let (_, left) = server.get(&format!("/api/tasks/?project={project}"));
    assert_eq!(left["total"], 0, "{left}");
    assert_eq!(
        server.get(&format!("/api/projects/{project}/")).0,
        200,
        "the project stays"
    );

    let (_, old) = server.get("/api/current-user/token");
    let (status, new) = server.post("/api/current-user/reset-token/", serde_json::json!({}));
    assert_eq!(status, 200);
    let new = new["token"].as_str().unwrap().to_owned();
    assert_ne!(Some(new.as_str()), old["token"].as_str());
    let with = |token: &str| {
        server
            .anonymous(Method::GET, "/api/projects/")
            .header("Authorization", format!("Token {token}"))
            .send()
            .unwrap()
            .status()
    };
    assert_eq!(with(&new), 200, "the new token works");
    assert_eq!(
        with(old["token"].as_str().unwrap()),
        401,
        "the old one no longer does"
    );
}

#[test]
fn projects_and_storages_take_form_encoded_and_multipart_bodies() {
    let env = Env::new();
    let server = env.start();
    let config = r#"<View><Text name="text" value="$text"/></View>"#;
    let created = server
        .request(Method::POST, "/api/projects/")
        .form(&[
            ("title", "from a form"),
            ("label_config", config),
            ("maximum_annotations", "2"),
        ])
        .send()
        .unwrap();
    assert_eq!(created.status(), 201);
    let project: Value = created.json().unwrap();
    assert_eq!(
        (
            project["title"].as_str(),
            project["maximum_annotations"].as_i64()
        ),
        (Some("from a form"), Some(2))
    );
    let id = project["id"].as_i64().unwrap();

    let form = reqwest::blocking::multipart::Form::new().text("title", "from a multipart form");
    let patched = server
        .request(Method::PATCH, &format!("/api/projects/{id}/"))
        .multipart(form)
        .send()
        .unwrap();
    assert_eq!(patched.status(), 200);
    assert_eq!(
        patched.json::<Value>().unwrap()["title"],
        "from a multipart form"
    );

    let refused = server
        .request(Method::PATCH, &format!("/api/projects/{id}/"))
        .form(&[("label_config", "<View>")])
        .send()
        .unwrap();
    assert_eq!(refused.status(), 400, "a form is checked as JSON is");

    let folder = env.dir("form-storage");
    let storage = server
        .request(Method::POST, "/api/storages/localfiles/")
        .form(&[
            ("project", id.to_string()),
            ("path", folder.display().to_string()),
            ("use_blob_urls", "true".into()),
        ])
        .send()
        .unwrap();
    assert_eq!(storage.status(), 201);
    let storage: Value = storage.json().unwrap();
    assert_eq!(storage["use_blob_urls"], true, "{storage}");
    let form = reqwest::blocking::multipart::Form::new().text("title", "renamed");
    let renamed = server
        .request(
            Method::PATCH,
            &format!("/api/storages/localfiles/{}", storage["id"]),
        )
        .multipart(form)
        .send()
        .unwrap();
    assert_eq!(renamed.status(), 200);
    assert_eq!(renamed.json::<Value>().unwrap()["title"], "renamed");
}

/// A HEAD request written on a socket; everything the server sent back, as text.
fn raw_head(url: &str, path: &str) -> String {
    use std::io::{Read, Write};
    let address = url.trim_start_matches("http://");
    let mut socket = std::net::TcpStream::connect(address).unwrap();
    let request = format!(
        "HEAD {path} HTTP/1.1\r\nHost: {address}\r\nAuthorization: Token {}\r\nConnection: close\r\n\r\n",
        crate::common::TOKEN
    );
    socket.write_all(request.as_bytes()).unwrap();
    let mut answer = String::new();
    socket.read_to_string(&mut answer).unwrap();
    answer
}
