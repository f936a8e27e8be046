//! Webhooks against a real receiver on 127.0.0.1: which webhook hears what (project,
//! organization, actions), one TASKS_CREATED per sync batch, the outbox across a server
//! restart, and refusals that are not retried.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

use crate::common::{Env, Server, eventually};

/// A minimal HTTP receiver: records each POST body and answers `status`.
struct Receiver {
    url: String,
    port: u16,
    bodies: Arc<Mutex<Vec<Value>>>,
}

impl Receiver {
    fn start(status: u16) -> Receiver {
        Receiver::on(TcpListener::bind("127.0.0.1:0").unwrap(), status)
    }

    fn on(listener: TcpListener, status: u16) -> Receiver {
        let port = listener.local_addr().unwrap().port();
        let bodies = Arc::new(Mutex::new(Vec::new()));
        let seen = bodies.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let seen = seen.clone();
                std::thread::spawn(move || serve(stream, status, &seen));
            }
        });
        Receiver {
            url: format!("http://127.0.0.1:{port}/hook"),
            port,
            bodies,
        }
    }

    fn actions(&self) -> Vec<String> {
        let bodies = self.bodies.lock().unwrap();
        bodies
            .iter()
            .map(|b| b["action"].as_str().unwrap().to_owned())
            .collect()
    }

    fn of(&self, action: &str) -> Vec<Value> {
        let bodies = self.bodies.lock().unwrap();
        bodies
            .iter()
            .filter(|b| b["action"] == action)
            .cloned()
            .collect()
    }

    fn wait_for(&self, action: &str) -> Vec<Value> {
        eventually(&format!("{action} delivered"), || {
            !self.of(action).is_empty()
        });
        self.of(action)
    }
}

/// Serves one connection (keep-alive: several requests).
fn serve(stream: TcpStream, status: u16, seen: &Mutex<Vec<Value>>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut stream = stream;
    loop {
        let mut length = 0;
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        loop {
            line.clear();
            reader.read_line(&mut line).unwrap();
            if line.trim().is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().unwrap();
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body).unwrap();
        seen.lock()
            .unwrap()
            .push(serde_json::from_slice(&body).unwrap());
        let answer = format!("HTTP/1.1 {status} X\r\nContent-Length: 0\r\n\r\n");
        if stream.write_all(answer.as_bytes()).is_err() {
            return;
        }
    }
}

fn webhook(server: &Server, body: Value) -> i64 {
    let (status, created) = server.post("/api/webhooks/", body);
    assert_eq!(status, 201, "{created}");
    created["id"].as_i64().unwrap()
}

fn deliveries(server: &Server, hook: i64) -> Vec<Value> {
    let (status, list) = server.get(&format!("/api/webhooks/{hook}/deliveries/"));
    assert_eq!(status, 200, "{list}");
    list.as_array().unwrap().clone()
}

#[test]
fn project_and_organization_webhooks_hear_what_they_asked_for() {
    let env = Env::new();
    let server = env.start();
    let receiver = Receiver::start(200);
    let org = webhook(
        &server,
        json!({"url": receiver.url, "send_for_all_actions": false,
        "actions": ["PROJECT_CREATED", "PROJECT_DELETED", "PROJECT_UPDATED"]}),
    );
    let project = server.project();
    let only_tasks = webhook(
        &server,
        json!({"url": receiver.url, "project": project,
        "send_for_all_actions": false, "actions": ["TASKS_CREATED", "TASKS_DELETED"]}),
    );

    let (status, _) = server.post(
        &format!("/api/projects/{project}/import"),
        json!([{"image": "a"}, {"image": "b"}]),
    );
    assert_eq!(status, 201);
    let created = receiver.wait_for("TASKS_CREATED");
    let ids: Vec<i64> = created[0]["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids.len(), 2);
    assert_eq!(created[0]["project"]["id"], project);

    assert_eq!(server.delete(&format!("/api/tasks/{}/", ids[0])), 204);
    let deleted = receiver.wait_for("TASKS_DELETED");
    assert_eq!(deleted[0]["tasks"], json!([{"id": ids[0]}]));

    server.patch(
        &format!("/api/projects/{project}/"),
        json!({"title": "renamed"}),
    );
    assert_eq!(
        receiver.wait_for("PROJECT_UPDATED")[0]["project"]["title"],
        "renamed"
    );
    assert_eq!(server.delete(&format!("/api/projects/{project}/")), 204);
    assert_eq!(
        receiver.wait_for("PROJECT_DELETED")[0]["project"],
        json!({"id": project})
    );
    // PROJECT_CREATED reached the organization webhook, not the project one (which did not
    // exist yet); the project webhook went with its project.
    assert_eq!(receiver.of("PROJECT_CREATED")[0]["project"]["id"], project);
    assert_eq!(server.get(&format!("/api/webhooks/{only_tasks}/")).0, 404);
    assert_eq!(deliveries(&server, org).len(), 3);
    assert_eq!(
        receiver.actions(),
        [
            "PROJECT_CREATED",
            "TASKS_CREATED",
            "TASKS_DELETED",
            "PROJECT_UPDATED",
            "PROJECT_DELETED"
        ]
    );
}

#[test]
fn another_users_projects_stay_out_of_an_organization_webhook() {
    let env = Env::new();
    let server = env.start();
    let receiver = Receiver::start(200);
    let project = server.project();
    let (_, token) = server.member(project, "other@example.com");
    let (status, hook) = server.call_as(
        &token,
        reqwest::Method::POST,
        "/api/webhooks/",
        Some(json!({"url": receiver.url})),
    );
    assert_eq!(status, 201, "{hook}");
    // The other user's organization webhook is theirs alone.
    assert_eq!(server.get(&format!("/api/webhooks/{}/", hook["id"])).0, 403);

    server.post("/api/projects/", json!({"title": "not shared"}));
    server.post(
        &format!("/api/projects/{project}/import"),
        json!([{"image": "shared"}]),
    );
    let shared = receiver.wait_for("TASKS_CREATED");
    assert_eq!(shared[0]["project"]["id"], project);
    std::thread::sleep(Duration::from_millis(1500));
    assert!(
        receiver.of("PROJECT_CREATED").is_empty(),
        "{:?}",
        receiver.actions()
    );
}

#[test]
fn a_sync_sends_one_tasks_created_per_batch() {
    let env = Env::new();
    for n in 0..2500 {
        env.file(&format!("many/{n:05}.png"), b"x");
    }
    let server = env.start();
    let receiver = Receiver::start(200);
    let project = server.project();
    webhook(
        &server,
        json!({"url": receiver.url, "project": project, "send_for_all_actions": false,
        "actions": ["TASKS_CREATED", "STORAGE_SYNC_COMPLETED"]}),
    );
    let storage = server.local_source(
        project,
        &env.root.join("many"),
        json!({"use_blob_urls": true}),
    );
    server.sync("localfiles", storage);
    let done = receiver.wait_for("STORAGE_SYNC_COMPLETED");
    assert_eq!(done[0]["sync"]["count"], 2500);
    let batches = receiver.of("TASKS_CREATED");
    let total: usize = batches
        .iter()
        .map(|b| b["tasks"].as_array().unwrap().len())
        .sum();
    assert_eq!(total, 2500);
    assert!(
        batches.len() < 10,
        "{} events for 2500 tasks",
        batches.len()
    );
}

#[test]
fn pending_deliveries_survive_a_restart() {
    let env = Env::new();
    let server = env.start();
    // A port nobody listens on yet: the receiver comes up only after the restart.
    let reserved = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = reserved.local_addr().unwrap().port();
    drop(reserved);
    let project = server.project();
    let hook = webhook(
        &server,
        json!({"url": format!("http://127.0.0.1:{port}/hook"), "project": project}),
    );
    server.post(
        &format!("/api/projects/{project}/import"),
        json!([{"image": "a"}]),
    );
    eventually("a failed attempt", || {
        deliveries(&server, hook)
            .first()
            .is_some_and(|d| d["attempts"].as_i64() >= Some(1))
    });
    server.stop();

    let server = env.start();
    let receiver = Receiver::on(TcpListener::bind(("127.0.0.1", port)).unwrap(), 200);
    assert_eq!(receiver.port, port);
    eventually("the event after the restart", || {
        !receiver.of("TASKS_CREATED").is_empty()
    });
    assert_eq!(
        receiver.of("TASKS_CREATED")[0]["tasks"][0]["data"],
        json!({"image": "a"})
    );
    eventually("recorded as delivered", || {
        deliveries(&server, hook)[0]["status"] == "delivered"
    });
}

#[test]
fn a_refusal_is_not_retried_and_does_not_block_later_events() {
    let env = Env::new();
    let server = env.start();
    let receiver = Receiver::start(410);
    let project = server.project();
    let hook = webhook(&server, json!({"url": receiver.url, "project": project}));
    server.post(
        &format!("/api/projects/{project}/import"),
        json!([{"image": "a"}]),
    );
    server.patch(
        &format!("/api/projects/{project}/"),
        json!({"title": "second event"}),
    );
    eventually("both refused", || {
        let list = deliveries(&server, hook);
        list.len() == 2 && list.iter().all(|d| d["status"] == "failed")
    });
    let list = deliveries(&server, hook);
    assert_eq!(list[0]["status_code"], 410);
    assert_eq!(list[0]["attempts"], 1);
    assert_eq!(receiver.actions(), ["TASKS_CREATED", "PROJECT_UPDATED"]);
}

#[test]
fn bad_webhooks_are_refused_with_what_to_fix() {
    let env = Env::new();
    let server = env.start();
    let project = server.project();
    for (body, field) in [
        (json!({}), "url"),
        (json!({"url": "not a url"}), "url"),
        (json!({"url": "file:///etc/passwd"}), "url"),
        (
            json!({"url": "http://127.0.0.1/h", "actions": ["NOPE"]}),
            "actions",
        ),
        (
            json!({"url": "http://127.0.0.1/h", "headers": {"X": 1}}),
            "headers",
        ),
        (
            json!({"url": "http://127.0.0.1/h", "headers": {"bad name": "v"}}),
            "headers",
        ),
    ] {
        let (status, answer) = server.post("/api/webhooks/", body.clone());
        assert_eq!(status, 400, "{body}: {answer}");
        assert!(
            answer["validation_errors"][field].is_array(),
            "{body}: {answer}"
        );
    }
    let (status, _) = server.post(
        "/api/webhooks/",
        json!({"url": "http://127.0.0.1/h", "project": project + 100}),
    );
    assert_eq!(status, 404);
    let (status, _) = server.get("/api/webhooks/?project=abc");
    assert_eq!(status, 400);
}

#[test]
fn a_syncs_event_tells_the_objects_that_vanished() {
    let env = Env::new();
    env.file("kept/a.json", br#"{"text": "a"}"#);
    env.file("kept/b.json", br#"{"text": "b"}"#);
    let server = env.start();
    let receiver = Receiver::start(200);
    let project = server.project();
    webhook(
        &server,
        json!({"url": receiver.url, "project": project, "send_for_all_actions": false,
        "actions": ["STORAGE_SYNC_COMPLETED"]}),
    );
    let storage = server.local_source(project, &env.root.join("kept"), json!({}));
    server.sync("localfiles", storage);
    std::fs::remove_file(env.root.join("kept/b.json")).unwrap();
    server.sync("localfiles", storage);
    eventually("two sync events", || {
        receiver.of("STORAGE_SYNC_COMPLETED").len() == 2
    });
    let last = &receiver.of("STORAGE_SYNC_COMPLETED")[1]["sync"]["meta"];
    assert_eq!(last["objects_vanished"], 1, "{last}");
    assert!(
        last["vanished_keys"][0]
            .as_str()
            .unwrap()
            .ends_with("b.json"),
        "{last}"
    );
}
