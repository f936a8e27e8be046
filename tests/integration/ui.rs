//! The admin UI's shell and assets as the browser receives them (the screens themselves
//! are driven in Chromium by tests/browser).

use reqwest::Method;
use reqwest::header::{CACHE_CONTROL, ETAG, IF_NONE_MATCH};

use crate::common::Env;

#[test]
fn the_shell_loads_this_builds_assets_cached_for_good_and_plain_paths_revalidate() {
    let env = Env::new();
    let server = env.start();
    let anonymous = server.anonymous(Method::GET, "/projects").send().unwrap();
    assert!(
        anonymous.url().path().ends_with("/user/login"),
        "an anonymous visitor is sent to sign in: {}",
        anonymous.url()
    );

    let shell = server
        .request(Method::GET, "/projects/1/data")
        .send()
        .unwrap()
        .text()
        .unwrap();
    let start = shell.find("src=\"/static/").expect("the app script") + "src=\"".len();
    let script = &shell[start..start + shell[start..].find('"').unwrap()];
    assert!(script.ends_with("/js/app.js"), "{script}");
    let build = script.trim_end_matches("/js/app.js");
    assert_ne!(build, "/static", "assets are named by build: {script}");
    for module in [
        "js/layout.js",
        "js/wizard/index.js",
        "js/wizard/step_import.js",
    ] {
        assert!(
            shell.contains(&format!("rel=\"modulepreload\" href=\"{build}/{module}\"")),
            "every module, in folders too, is preloaded: {shell}"
        );
    }

    let versioned = server.anonymous(Method::GET, script).send().unwrap();
    assert_eq!(versioned.status(), 200);
    assert_eq!(
        versioned.headers()[CACHE_CONTROL],
        "public, max-age=31536000, immutable"
    );
    assert!(
        versioned.text().unwrap().contains("import"),
        "a script module"
    );

    let plain = server
        .anonymous(Method::GET, "/static/js/app.js")
        .send()
        .unwrap();
    assert_eq!(plain.headers()[CACHE_CONTROL], "no-cache");
    let etag = plain.headers()[ETAG].clone();
    let again = server
        .anonymous(Method::GET, "/static/js/app.js")
        .header(IF_NONE_MATCH, etag)
        .send()
        .unwrap();
    assert_eq!(again.status(), 304);

    for missing in [
        format!("{build}/js/nope.js"),
        "/static/b0000000000000000/js/app.js".into(),
    ] {
        let status = server
            .anonymous(Method::GET, &missing)
            .send()
            .unwrap()
            .status();
        assert_eq!(status, 404, "{missing}");
    }
}

#[test]
fn the_labeling_screens_start_fetching_the_editor_with_the_shell() {
    let env = Env::new();
    let server = env.start();
    let shell = |path: &str| {
        let response = server.request(Method::GET, path).send().unwrap();
        // Task HTML shown by the editor cannot run script: only labelsync's own files may.
        let policy = response.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(policy.contains("script-src 'self';"), "{policy}");
        assert!(policy.contains("object-src 'none'"), "{policy}");
        response.text().unwrap()
    };
    for path in [
        "/projects/3/label",
        "/projects/3/label/17",
        "/projects/3/settings/labeling",
    ] {
        assert!(
            shell(path).contains("/editor/main.js\" as=\"script\""),
            "{path} preloads the editor"
        );
    }
    for path in [
        "/projects/3/data",
        "/projects/3/settings",
        "/projects/label",
    ] {
        assert!(
            !shell(path).contains("/editor/main.js"),
            "{path} has no use for it"
        );
    }
}
