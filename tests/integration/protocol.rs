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
