//! Authentication: every API route needs credentials; browser sessions and CSRF.

use reqwest::Method;
use reqwest::header::{COOKIE, LOCATION, ORIGIN, SET_COOKIE};
use serde_json::json;

use crate::common::{self, EMAIL, Env, PASSWORD};

/// Every route of the server that needs a user: (method, path pattern as registered,
/// whether it reaches one project's things). The placeholders are filled by [`concrete`].
/// `every_registered_route_is_in_the_table` keeps this list complete.
const ROUTES: &[(&str, &str, bool)] = &[
    ("GET", "/api/projects/", false),
    ("POST", "/api/projects/", false),
    ("GET", "/api/projects/{project}/", true),
    ("PATCH", "/api/projects/{project}/", true),
    ("DELETE", "/api/projects/{project}/", true),
    ("POST", "/api/projects/{project}/import", true),
    ("GET", "/api/projects/{project}/next/", true),
    ("GET", "/api/projects/{project}/export/", true),
    ("DELETE", "/api/projects/{project}/tasks/", true),
    ("GET", "/api/projects/{project}/exports/", true),
    ("POST", "/api/projects/{project}/exports/", true),
    ("GET", "/api/projects/{project}/exports/{pk}/", true),
    ("DELETE", "/api/projects/{project}/exports/{pk}/", true),
    (
        "GET",
        "/api/projects/{project}/exports/{pk}/download/",
        true,
    ),
    ("POST", "/api/projects/{project}/validate/", true),
    ("POST", "/api/projects/validate/", false),
    ("GET", "/api/webhooks/info/", false),
    ("GET", "/api/webhooks/?project={project}", true),
    ("POST", "/api/webhooks/", false),
    ("GET", "/api/webhooks/{pk}/", false),
    ("PATCH", "/api/webhooks/{pk}/", false),
    ("PUT", "/api/webhooks/{pk}/", false),
    ("DELETE", "/api/webhooks/{pk}/", false),
    ("GET", "/api/webhooks/{pk}/deliveries/", false),
    ("GET", "/api/users/{user}/", false),
    ("PATCH", "/api/users/{user}/", false),
    ("POST", "/api/current-user/reset-token/", false),
    ("GET", "/api/projects/{project}/export/formats/", true),
    ("GET", "/api/projects/{project}/members/", true),
    ("POST", "/api/projects/{project}/members/", true),
    ("DELETE", "/api/projects/{project}/members/{user}/", true),
    ("GET", "/api/users/", false),
    ("POST", "/api/users/", false),
    ("GET", "/api/tasks/?project={project}", true),
    ("POST", "/api/tasks/", true),
    ("GET", "/api/tasks/{task}/", true),
    ("PATCH", "/api/tasks/{task}/", true),
    ("DELETE", "/api/tasks/{task}/", true),
    ("GET", "/api/tasks/{task}/annotations/", true),
    ("POST", "/api/tasks/{task}/annotations/", true),
    ("GET", "/api/annotations/{annotation}/", true),
    ("PATCH", "/api/annotations/{annotation}/", true),
    ("DELETE", "/api/annotations/{annotation}/", true),
    ("GET", "/api/predictions/?project={project}", true),
    ("POST", "/api/predictions/", true),
    ("GET", "/api/predictions/{prediction}/", true),
    ("PATCH", "/api/predictions/{prediction}/", true),
    ("DELETE", "/api/predictions/{prediction}/", true),
    ("POST", "/api/projects/{project}/import/predictions", true),
    ("GET", "/api/tasks/{task}/drafts", true),
    ("POST", "/api/tasks/{task}/drafts", true),
    (
        "POST",
        "/api/tasks/{task}/annotations/{annotation}/drafts",
        true,
    ),
    ("GET", "/api/drafts/{draft}/", true),
    ("PATCH", "/api/drafts/{draft}/", true),
    ("DELETE", "/api/drafts/{draft}/", true),
    ("GET", "/api/dm/views/?project={project}", true),
    ("POST", "/api/dm/views/", true),
    ("GET", "/api/dm/views/{view}/", true),
    ("PATCH", "/api/dm/views/{view}/", true),
    ("DELETE", "/api/dm/views/{view}/", true),
    ("DELETE", "/api/dm/views/reset/?project={project}", true),
    ("POST", "/api/dm/views/order/", true),
    ("GET", "/api/dm/actions/?project={project}", true),
    (
        "POST",
        "/api/dm/actions/?project={project}&id=delete_tasks",
        true,
    ),
    ("GET", "/api/storages/?project={project}", true),
    ("GET", "/api/storages/export?project={project}", true),
    ("GET", "/api/storages/types", false),
    ("GET", "/api/storages/providers", false),
    ("GET", "/api/storages/export/types", false),
    ("GET", "/api/storages/localfiles/?project={project}", true),
    ("POST", "/api/storages/localfiles/", true),
    ("POST", "/api/storages/localfiles/validate", true),
    ("POST", "/api/storages/localfiles/files", true),
    ("GET", "/api/storages/localfiles/{source}", true),
    ("PATCH", "/api/storages/localfiles/{source}", true),
    ("DELETE", "/api/storages/localfiles/{source}", true),
    ("POST", "/api/storages/localfiles/{source}/sync", true),
    (
        "GET",
        "/api/storages/export/localfiles?project={project}",
        true,
    ),
    ("POST", "/api/storages/export/localfiles", true),
    ("POST", "/api/storages/export/localfiles/validate", true),
    ("GET", "/api/storages/export/localfiles/{target}", true),
    ("PATCH", "/api/storages/export/localfiles/{target}", true),
    ("DELETE", "/api/storages/export/localfiles/{target}", true),
    (
        "POST",
        "/api/storages/export/localfiles/{target}/sync",
        true,
    ),
    (
        "GET",
        "/tasks/{task}/resolve/?fileuri=czM6Ly9iL2sucG5n",
        true,
    ),
    (
        "GET",
        "/tasks/{task}/presign/?fileuri=czM6Ly9iL2sucG5n",
        true,
    ),
    (
        "GET",
        "/projects/{project}/resolve/?fileuri=czM6Ly9iL2sucG5n",
        true,
    ),
    (
        "GET",
        "/projects/{project}/presign/?fileuri=czM6Ly9iL2sucG5n",
        true,
    ),
    ("GET", "/data/local-files/?d=a.png", false),
    ("GET", "/api/current-user/whoami", false),
    ("GET", "/api/current-user/token", false),
    ("GET", "/api/token/", false),
    ("POST", "/api/token/", false),
    ("POST", "/api/token/blacklist/", false),
];

/// The ids a route's placeholders stand for.
#[derive(Clone, Copy)]
struct Ids {
    project: i64,
    task: i64,
    annotation: i64,
    source: i64,
    target: i64,
    user: i64,
    prediction: i64,
    draft: i64,
    view: i64,
}

fn concrete(pattern: &str, ids: Ids) -> String {
    pattern
        .replace("{project}", &ids.project.to_string())
        .replace("{task}", &ids.task.to_string())
        .replace("{annotation}", &ids.annotation.to_string())
        .replace("{source}", &ids.source.to_string())
        .replace("{target}", &ids.target.to_string())
        .replace("{user}", &ids.user.to_string())
        .replace("{prediction}", &ids.prediction.to_string())
        .replace("{draft}", &ids.draft.to_string())
        .replace("{view}", &ids.view.to_string())
        .replace("{pk}", "1")
}

/// A body that names the project's things, for the routes that read them from the body.
fn body_for(ids: Ids) -> serde_json::Value {
    json!({"project": ids.project, "id": ids.source, "data": {"image": "x.png"}, "user": ids.user,
           "path": "/nowhere", "result": [], "task": ids.task, "ids": [ids.view]})
}

#[test]
fn every_api_route_answers_401_without_credentials() {
    let env = Env::new();
    let server = env.start();
    let ids = Ids {
        project: 1,
        task: 1,
        annotation: 1,
        source: 1,
        target: 2,
        user: 1,
        prediction: 1,
        draft: 1,
        view: 1,
    };
    for (method, pattern, _) in ROUTES {
        let path = concrete(pattern, ids);
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        let response = server
            .anonymous(method.clone(), &path)
            .json(&json!({}))
            .send()
            .unwrap();
        assert_eq!(response.status(), 401, "{method} {path}");
        let body: serde_json::Value = response.json().unwrap();
        assert_eq!(
            body["detail"], "Authentication credentials were not provided.",
            "{method} {path}"
        );
    }
    let wrong = server
        .anonymous(Method::GET, "/api/projects/")
        .header("Authorization", "Token nope")
        .send()
        .unwrap();
    assert_eq!(wrong.status(), 401);
}

/// The paths the server registers, read from its route table in src/http: a route added
/// there and not to [`ROUTES`] fails this test.
#[test]
fn every_registered_route_is_in_the_table() {
    // Every way src/http registers a path: `web::resource(..)`, `detail_resource(..)`,
    // `.route(..)`, each maybe through `slash_optional(..)` and `format!(..)`.
    let registration = regex::Regex::new(
        r#"(?:web::resource|detail_resource|\.route)\(\s*(?:slash_optional\(\s*&?(?:format!\()?)?"([^"]+)""#,
    )
    .unwrap();
    let mut registered = Vec::new();
    for entry in std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/src/http")).unwrap() {
        let source = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        for found in registration.captures_iter(&source) {
            registered.push(found[1].replace("{{", "{").replace("}}", "}"));
        }
    }
    assert!(registered.len() > 30, "{registered:?}");
    // Open to anyone: sign-in pages, the health check, the version, the token refresh (it
    // carries its own credential), and the browser UI's shell and assets (the shell sends a
    // visitor without a session to sign in; the data comes from the API).
    let public = [
        "/user/login/",
        "/user/signup/",
        "/user/logout/",
        "/api/token/refresh/",
        "/health/",
        "/api/version/",
        "/",
        "/projects",
        "/projects/{screen:.*}",
        "/static/{path:.*}",
    ];
    // The table names placeholders by what they stand for; the server by `{id}`, `{type}`.
    let shape = |path: &str| -> String {
        let path = path.split('?').next().unwrap();
        path.split('/')
            .map(|part| {
                if part.starts_with('{') || part == "localfiles" {
                    "*"
                } else {
                    part
                }
            })
            .collect::<Vec<_>>()
            .join("/")
    };
    let table: Vec<String> = ROUTES
        .iter()
        .map(|(_, pattern, _)| shape(pattern))
        .collect();
    for path in registered {
        if public.contains(&path.as_str()) {
            continue;
        }
        let path = path
            .replace("{id:\\\\d+}", "{id}")
            .replace("{verb}", "resolve");
        let wanted = shape(&path);
        assert!(
            table
                .iter()
                .any(|t| *t == wanted || t.trim_end_matches('/') == wanted.trim_end_matches('/')),
            "{path} is served but not in ROUTES: add it, with whether it reaches a project"
        );
    }
}

/// A user who is not a member of a project gets 403 from every route that reaches it,
/// and nothing of it changes; once added as a member, they get in.
#[test]
fn every_project_route_answers_403_to_a_user_outside_the_project() {
    let env = Env::new();
    env.file("images/a.png", b"png");
    let server = env.start();
    let stocked = server.stocked_project(&env.root.join("images"), &env.dir("out"));
    let (project, source, task) = (stocked.project, stocked.source, stocked.task);
    let ids = Ids {
        project,
        task,
        annotation: stocked.annotation,
        source,
        target: stocked.target,
        user: 1,
        prediction: stocked.prediction,
        draft: stocked.draft,
        view: stocked.view,
    };
    let before = (
        server.get(&format!("/api/projects/{project}/")).1,
        server.tasks(project),
    );

    let (status, other) = server.post(
        "/api/users/",
        json!({"email": "outsider@example.com", "password": "outsider password"}),
    );
    assert_eq!(status, 201, "{other}");
    let token = common::token_of(&server.url, "outsider@example.com", "outsider password");
    let with_body = |method: &str, path: &str, body: serde_json::Value| {
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        let response = common::client_builder()
            .build()
            .unwrap()
            .request(method, format!("{}{path}", server.url))
            .header("Authorization", format!("Token {token}"))
            .json(&body)
            .send()
            .unwrap();
        let status = response.status().as_u16();
        (
            status,
            response.json::<serde_json::Value>().unwrap_or_default(),
        )
    };
    let as_outsider = |method: &str, path: &str| with_body(method, path, body_for(ids));
    // A check or a preview naming only a stored storage (whose secrets it would use).
    for path in [
        "/api/storages/localfiles/validate",
        "/api/storages/localfiles/files",
    ] {
        let (status, body) = with_body("POST", path, json!({"id": source}));
        assert_eq!(status, 403, "{path}: {body}");
    }

    for (method, pattern, scoped) in ROUTES {
        if !scoped {
            continue;
        }
        let path = concrete(pattern, ids);
        let (status, body) = as_outsider(method, &path);
        assert_eq!(status, 403, "{method} {path}: {body}");
        assert_eq!(
            body["detail"], "You do not have permission to perform this action.",
            "{method} {path}"
        );
    }
    // A project id spelled loosely is refused outright, never read past the check.
    for loose in [
        format!("+{project}"),
        format!("{project}%20"),
        format!("0{project}x"),
    ] {
        let (status, body) = as_outsider("GET", &format!("/api/predictions/?project={loose}"));
        assert_eq!(status, 400, "?project={loose}: {body}");
        let (status, body) = as_outsider("GET", &format!("/api/tasks/?project={loose}"));
        assert_eq!(status, 400, "?project={loose}: {body}");
    }
    let (status, listed) = as_outsider("GET", "/api/projects/");
    assert_eq!(
        (status, listed["count"].as_i64()),
        (200, Some(0)),
        "{listed}"
    );
    let (status, _) = as_outsider("GET", "/data/local-files/?d=images/a.png");
    assert_eq!(status, 404, "another project's local files are not served");
    let served = server
        .request(Method::GET, "/data/local-files/?d=images/a.png")
        .send()
        .unwrap();
    assert_eq!(served.status(), 200, "the same file, for a member");
    assert_eq!(
        (
            server.get(&format!("/api/projects/{project}/")).1,
            server.tasks(project)
        ),
        before,
        "nothing changed"
    );

    let (status, added) = server.post(
        &format!("/api/projects/{project}/members/"),
        json!({"user": other["id"]}),
    );
    assert_eq!(status, 201, "{added}");
    assert_eq!(
        as_outsider("GET", &format!("/api/projects/{project}/")).0,
        200
    );
    assert_eq!(as_outsider("GET", &format!("/api/tasks/{task}/")).0, 200);
    let (status, members) = as_outsider("GET", &format!("/api/projects/{project}/members/"));
    assert_eq!(status, 200);
    assert_eq!(members.as_array().unwrap().len(), 2, "{members}");
    let (status, _) = as_outsider(
        "DELETE",
        &format!("/api/projects/{project}/members/{}/", other["id"]),
    );
    assert_eq!(status, 204, "a member may leave");
    assert_eq!(
        as_outsider("GET", &format!("/api/projects/{project}/")).0,
        403
    );
    let last = server.call(
        Method::DELETE,
        &format!("/api/projects/{project}/members/1/"),
        None,
    );
    assert_eq!(last.0, 400, "the last member stays: {}", last.1);
}

/// A user's legacy token, read through a browser session as the Account page does.

#[test]
fn browser_session_login_with_csrf_protection() {
    let env = Env::new();
    let server = env.start();
    let client = common::client_builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let url = &server.url;

    let wrong = client
        .post(format!("{url}/user/login"))
        .form(&[("email", EMAIL), ("password", "nope")])
        .send()
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let login = client
        .post(format!("{url}/user/login"))
        .form(&[("email", EMAIL), ("password", PASSWORD)])
        .send()
        .unwrap();
    assert_eq!(login.status(), 303);
    let set_cookie = login.headers()[SET_COOKIE].to_str().unwrap().to_owned();
    assert!(set_cookie.contains("HttpOnly"), "{set_cookie}");
    assert!(set_cookie.contains("SameSite=Lax"), "{set_cookie}");
    let cookie = set_cookie.split(';').next().unwrap().to_owned();

    let me = client
        .get(format!("{url}/api/current-user/whoami"))
        .header(COOKIE, &cookie)
        .send()
        .unwrap();
    assert_eq!(me.status(), 200);
    assert_eq!(me.json::<serde_json::Value>().unwrap()["email"], EMAIL);
    let home = client
        .get(format!("{url}/"))
        .header(COOKIE, &cookie)
        .send()
        .unwrap();
    assert_eq!(home.status(), 200);
    assert!(home.text().unwrap().contains(EMAIL));

    let forged = client
        .post(format!("{url}/api/projects/"))
        .header(COOKIE, &cookie)
        .header(ORIGIN, "http://evil.example")
        .json(&json!({}))
        .send()
        .unwrap();
    assert_eq!(
        forged.status(),
        403,
        "cross-site POST with the session cookie"
    );
    let no_origin = client
        .post(format!("{url}/api/projects/"))
        .header(COOKIE, &cookie)
        .json(&json!({}))
        .send()
        .unwrap();
    assert_eq!(no_origin.status(), 403);
    let same_site = client
        .post(format!("{url}/api/projects/"))
        .header(COOKIE, &cookie)
        .header(ORIGIN, url.as_str())
        .json(&json!({}))
        .send()
        .unwrap();
    assert_eq!(same_site.status(), 201);

    let logout = client
        .get(format!("{url}/user/logout"))
        .header(COOKIE, &cookie)
        .send()
        .unwrap();
    assert_eq!(logout.status(), 303);
    let after = client
        .get(format!("{url}/api/current-user/whoami"))
        .header(COOKIE, &cookie)
        .send()
        .unwrap();
    assert_eq!(after.status(), 401);
    let anonymous_home = client.get(format!("{url}/")).send().unwrap();
    assert_eq!(anonymous_home.headers()[LOCATION], "/user/login");
}

#[test]
fn the_token_endpoint_returns_the_users_token() {
    let env = Env::new();
    let server = env.start();
    let (status, body) = server.get("/api/current-user/token");
    assert_eq!(status, 200);
    assert_eq!(body["token"], crate::common::TOKEN);
}

#[test]
fn the_first_user_signs_up_once_when_none_exists() {
    let env = Env::new();
    let server = env.start_without_user();
    assert!(
        env.log().contains("open /user/signup"),
        "the log says how to create a user"
    );
    let client = common::client_builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let url = &server.url;
    let page = client.get(format!("{url}/user/signup")).send().unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().unwrap().contains("Create the first user"));
    let short = client
        .post(format!("{url}/user/signup"))
        .form(&[("email", "first@example.com"), ("password", "short")])
        .send()
        .unwrap();
    assert_eq!(short.status(), 400);
    let created = client
        .post(format!("{url}/user/signup"))
        .form(&[
            ("email", "first@example.com"),
            ("password", "long enough password"),
        ])
        .send()
        .unwrap();
    assert_eq!(created.status(), 303);
    let cookie = common::session_cookie(&created);
    let token = client
        .get(format!("{url}/api/current-user/token"))
        .header(COOKIE, &cookie)
        .send()
        .unwrap();
    let token = token.json::<serde_json::Value>().unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(token.len(), 40);
    let projects = client
        .get(format!("{url}/api/projects/"))
        .header("Authorization", format!("Token {token}"))
        .send()
        .unwrap();
    assert_eq!(projects.status(), 200);

    // Signup is closed once a user exists.
    let again = client
        .post(format!("{url}/user/signup"))
        .form(&[
            ("email", "second@example.com"),
            ("password", "long enough password"),
        ])
        .send()
        .unwrap();
    assert_eq!(again.status(), 403);
    assert_eq!(
        client
            .get(format!("{url}/user/signup"))
            .send()
            .unwrap()
            .status(),
        303
    );
}

#[test]
fn wrong_methods_get_the_error_envelope() {
    let env = Env::new();
    let server = env.start();
    let (status, body) = server.call(Method::PUT, "/api/storages/localfiles/validate", None);
    assert_eq!(status, 405);
    assert_eq!(body["detail"], "Method \"PUT\" not allowed.");
    assert_eq!(body["status_code"], 405);
}

#[test]
fn personal_access_tokens_work_as_label_studio_issues_them() {
    let env = Env::new();
    let server = env.start();
    let (status, created) = server.post("/api/token/", json!({}));
    assert_eq!(status, 201, "{created}");
    let refresh = created["token"].as_str().unwrap().to_owned();
    assert!(refresh.starts_with("eyJ"), "a JWT");
    let (_, listed) = server.get("/api/token/");
    assert!(
        !listed.to_string().contains(&refresh),
        "listing never shows token values"
    );

    let exchange = |token: &str| {
        server
            .anonymous(Method::POST, "/api/token/refresh/")
            .json(&json!({"refresh": token}))
            .send()
            .unwrap()
    };
    let access = exchange(&refresh).json::<serde_json::Value>().unwrap()["access"]
        .as_str()
        .unwrap()
        .to_owned();
    let bearer = |token: &str| {
        server
            .anonymous(Method::GET, "/api/projects/")
            .header("Authorization", format!("Bearer {token}"))
            .send()
            .unwrap()
            .status()
    };
    assert_eq!(bearer(&access), 200);
    assert_eq!(
        bearer(&refresh),
        401,
        "a refresh token is not an access token"
    );
    let mut tampered = access.clone();
    tampered.pop();
    assert_eq!(bearer(&tampered), 401);

    let revoke = server
        .request(Method::POST, "/api/token/blacklist/")
        .json(&json!({"refresh": refresh}))
        .send()
        .unwrap();
    assert_eq!(revoke.status(), 204);
    assert_eq!(
        exchange(&refresh).status(),
        401,
        "a revoked token cannot be refreshed"
    );
}

#[test]
#[should_panic(expected = "a secret appeared")]
fn the_secret_scan_catches_a_leak() {
    crate::common::assert_secret_free(&format!("log line with {PASSWORD} in it"), "a sample");
}
