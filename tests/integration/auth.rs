//! Authentication: every API route needs credentials; browser sessions and CSRF.

use reqwest::Method;
use reqwest::blocking::Client;
use reqwest::header::{COOKIE, LOCATION, ORIGIN, SET_COOKIE};
use serde_json::json;

use crate::common::{EMAIL, Env, PASSWORD};

#[test]
fn every_api_route_answers_401_without_credentials() {
    let env = Env::new();
    let server = env.start();
    let routes = [
        (Method::GET, "/api/projects/"),
        (Method::POST, "/api/projects/"),
        (Method::GET, "/api/projects/1/"),
        (Method::PATCH, "/api/projects/1/"),
        (Method::DELETE, "/api/projects/1/"),
        (Method::POST, "/api/projects/1/import"),
        (Method::GET, "/api/tasks?project=1"),
        (Method::POST, "/api/tasks/"),
        (Method::GET, "/api/tasks/1/"),
        (Method::PATCH, "/api/tasks/1/"),
        (Method::DELETE, "/api/tasks/1/"),
        (Method::GET, "/api/tasks/1/annotations/"),
        (Method::POST, "/api/tasks/1/annotations/"),
        (Method::GET, "/api/annotations/1/"),
        (Method::PATCH, "/api/annotations/1/"),
        (Method::DELETE, "/api/annotations/1/"),
        (Method::GET, "/api/storages/?project=1"),
        (Method::GET, "/api/storages/export?project=1"),
        (Method::GET, "/api/storages/types"),
        (Method::GET, "/api/storages/export/types"),
        (Method::GET, "/api/storages/localfiles/?project=1"),
        (Method::POST, "/api/storages/localfiles/"),
        (Method::POST, "/api/storages/localfiles/validate"),
        (Method::GET, "/api/storages/localfiles/1"),
        (Method::PATCH, "/api/storages/localfiles/1"),
        (Method::DELETE, "/api/storages/localfiles/1"),
        (Method::POST, "/api/storages/localfiles/1/sync"),
        (Method::GET, "/api/storages/export/localfiles?project=1"),
        (Method::POST, "/api/storages/export/localfiles"),
        (Method::POST, "/api/storages/export/localfiles/validate"),
        (Method::GET, "/api/storages/export/localfiles/1"),
        (Method::PATCH, "/api/storages/export/localfiles/1"),
        (Method::DELETE, "/api/storages/export/localfiles/1"),
        (Method::POST, "/api/storages/export/localfiles/1/sync"),
        (Method::GET, "/api/current-user/whoami"),
        (Method::GET, "/api/current-user/token"),
        (Method::GET, "/api/token/"),
        (Method::POST, "/api/token/"),
        (Method::POST, "/api/token/blacklist/"),
        (Method::GET, "/data/local-files/?d=a.png"),
    ];
    for (method, path) in routes {
        let response = server
            .anonymous(method.clone(), path)
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

#[test]
fn browser_session_login_with_csrf_protection() {
    let env = Env::new();
    let server = env.start();
    let client = Client::builder()
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
    let client = Client::builder()
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
    let cookie = created.headers()[SET_COOKIE]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
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
