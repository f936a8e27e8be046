//! `/data/local-files/`: access rules, the traversal corpus, Range, ETag.

use reqwest::Method;
use reqwest::header::{CONTENT_RANGE, CONTENT_TYPE, ETAG, IF_NONE_MATCH, RANGE};
use serde_json::json;

use crate::common::{Env, Server};

fn status(server: &Server, d: &str) -> u16 {
    server
        .request(Method::GET, "/data/local-files/")
        .query(&[("d", d)])
        .send()
        .unwrap()
        .status()
        .as_u16()
}

fn setup() -> (Env, Server) {
    let env = Env::new();
    env.file("data/img/a.png", b"0123456789");
    env.file("data2/secret.png", b"not granted");
    env.file("outside.png", b"under the root, in no storage");
    let server = env.start();
    let project = server.project();
    server.local_source(
        project,
        &env.root.join("data"),
        json!({"use_blob_urls": true}),
    );
    (env, server)
}

#[test]
fn serves_with_mime_range_and_weak_etag() {
    let (_env, server) = setup();
    let response = server
        .request(Method::GET, "/data/local-files/?d=data/img/a.png")
        .send()
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()[CONTENT_TYPE], "image/png");
    let etag = response.headers()[ETAG].to_str().unwrap().to_owned();
    assert!(etag.starts_with("W/\""), "{etag}");
    assert_eq!(response.bytes().unwrap().as_ref(), b"0123456789");

    let partial = server
        .request(Method::GET, "/data/local-files/?d=data/img/a.png")
        .header(RANGE, "bytes=2-5")
        .send()
        .unwrap();
    assert_eq!(partial.status(), 206);
    assert_eq!(partial.headers()[CONTENT_RANGE], "bytes 2-5/10");
    assert_eq!(partial.bytes().unwrap().as_ref(), b"2345");

    for condition in [etag.as_str(), "\"x\", *"] {
        let cached = server
            .request(Method::GET, "/data/local-files/?d=data/img/a.png")
            .header(IF_NONE_MATCH, condition)
            .send()
            .unwrap();
        assert_eq!(cached.status(), 304, "If-None-Match: {condition}");
    }
    let stale = server
        .request(Method::GET, "/data/local-files/?d=data/img/a.png")
        .header(IF_NONE_MATCH, "W/\"0-0\"")
        .send()
        .unwrap();
    assert_eq!(stale.status(), 200);
}

#[test]
fn traversal_corpus_never_leaks_a_file() {
    let (env, server) = setup();
    // A symlink inside a storage that points out of it, and one out of the root.
    std::os::unix::fs::symlink(
        env.root.join("data2/secret.png"),
        env.root.join("data/img/link.png"),
    )
    .unwrap();
    std::os::unix::fs::symlink("/etc/passwd", env.root.join("data/img/passwd.png")).unwrap();
    let root = env.root.display().to_string();
    let corpus = [
        "../../../../etc/passwd".to_owned(),
        "data/../../../../etc/passwd".to_owned(),
        "data/img/../../data2/secret.png".to_owned(),
        "/etc/passwd".to_owned(),
        format!("{root}/data2/secret.png"),
        "data/img/%2e%2e/%2e%2e/data2/secret.png".to_owned(),
        "data/img/%252e%252e/%252e%252e/data2/secret.png".to_owned(),
        "data\\..\\data2\\secret.png".to_owned(),
        "data/img/a.png\0.txt".to_owned(),
        "data2/secret.png".to_owned(),
        "outside.png".to_owned(),
        "data/img/link.png".to_owned(),
        "data/img/passwd.png".to_owned(),
        "data/img/\u{c0}\u{ae}\u{c0}\u{ae}/secret.png".to_owned(),
        "data2".to_owned(),
        "data".to_owned(),
        String::new(),
    ];
    for d in &corpus {
        let code = status(&server, d);
        assert!(code == 403 || code == 404, "d={d:?} answered {code}");
    }
    // Raw, unencoded query strings too.
    for raw in [
        "d=..%2f..%2fetc%2fpasswd",
        "d=%2e%2e%2f%2e%2e%2fetc%2fpasswd",
        "d=data%2fimg%2f..%2f..%2fdata2%2fsecret.png",
        "d=%00",
        "d=data/img/a.png%00",
    ] {
        let code = server
            .request(Method::GET, &format!("/data/local-files/?{raw}"))
            .send()
            .unwrap()
            .status()
            .as_u16();
        assert!(code == 403 || code == 404, "{raw} answered {code}");
    }
    assert_eq!(
        status(&server, "data/img/a.png"),
        200,
        "the legitimate file still works"
    );
}

#[test]
fn needs_credentials_and_serving_enabled() {
    let (_env, server) = setup();
    let anonymous = server
        .anonymous(Method::GET, "/data/local-files/?d=data/img/a.png")
        .send()
        .unwrap();
    assert_eq!(anonymous.status(), 401);

    let mut env = Env::new();
    env.file("data/a.png", b"x");
    env.vars
        .retain(|(k, _)| k != "LABEL_STUDIO_LOCAL_FILES_SERVING_ENABLED");
    let server = env.start();
    let response = server
        .request(Method::GET, "/data/local-files/?d=data/a.png")
        .send()
        .unwrap();
    assert_eq!(response.status(), 403);
    assert!(
        response
            .text()
            .unwrap()
            .contains("LOCAL_FILES_SERVING_ENABLED")
    );
}
