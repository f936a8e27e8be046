//! Storage faults: a source server that dies mid-sync fails the sync with a readable
//! message, leaves no task without its link, and the next sync completes.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::common::Env;

/// A private redis-server (append-only file, fsync always), so a SIGKILL loses nothing.
struct PrivateRedis {
    child: Child,
    dir: std::path::PathBuf,
}

impl PrivateRedis {
    fn start(dir: &std::path::Path, port: u16) -> PrivateRedis {
        let child = Command::new("redis-server")
            .args([
                "--bind",
                "127.0.0.1",
                "--port",
                &port.to_string(),
                "--save",
                "",
                "--appendonly",
                "yes",
            ])
            .args(["--appendfsync", "always", "--dir"])
            .arg(dir)
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server (installed by scripts/test)");
        // Ready means PING answers PONG: after a restart the server first loads its log.
        let client = redis::Client::open(format!("redis://127.0.0.1:{port}/")).unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        while client
            .get_connection()
            .and_then(|mut conn| redis::cmd("PING").query::<String>(&mut conn))
            .is_err()
        {
            assert!(Instant::now() < deadline, "private redis did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        PrivateRedis {
            child,
            dir: dir.to_owned(),
        }
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        self.kill();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn a_source_that_dies_mid_sync_fails_cleanly_and_the_next_sync_completes() {
    const KEYS: usize = 200_000;
    let redis_dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut redis = PrivateRedis::start(redis_dir.path(), port);
    let client = redis::Client::open(format!("redis://127.0.0.1:{port}/1")).unwrap();
    let mut conn = client.get_connection().unwrap();
    let mut pipe = redis::pipe();
    for i in 0..KEYS {
        pipe.cmd("SET")
            .arg(format!("fault:{i:06}"))
            .arg(format!(r#"{{"text": "t{i}"}}"#))
            .ignore();
    }
    pipe.query::<()>(&mut conn).unwrap();
    drop(conn);

    let env = Env::new();
    let server = env.start();
    let project = server.project();
    let (status, created) = server.post(
        "/api/storages/redis/",
        json!({"project": project, "host": "127.0.0.1", "port": port.to_string(), "path": "fault:"}),
    );
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_i64().unwrap();
    server.post(&format!("/api/storages/redis/{id}/sync"), json!({}));
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (_, storage) = server.get(&format!("/api/storages/redis/{id}"));
        if storage["meta"]["tasks_created"].as_i64().unwrap_or(0) > 0 || Instant::now() > deadline {
            assert_eq!(
                storage["status"], "in_progress",
                "the kill must land mid-sync: {storage}"
            );
            break;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    redis.kill();
    let failed = server.wait_synced("redis", id);
    assert_eq!(failed["status"], "failed", "{failed}");
    assert!(
        failed["traceback"]
            .as_str()
            .unwrap()
            .contains("Can't connect to Redis"),
        "{failed}"
    );
    let (_, page) = server.get(&format!("/api/tasks?project={project}&page_size=1"));
    let partial = page["total"].as_i64().unwrap();
    assert!(
        partial > 0 && partial < KEYS as i64,
        "some tasks were created before the outage: {partial}"
    );
    for number in 1..=(partial + 999) / 1000 {
        let (_, tasks) = server.get(&format!(
            "/api/tasks?project={project}&page={number}&page_size=1000"
        ));
        for task in tasks["tasks"].as_array().unwrap() {
            assert!(
                task["storage_filename"].is_string(),
                "a task without its link: {task}"
            );
        }
    }

    let _redis = PrivateRedis::start(&redis.dir, port);
    let done = server.sync("redis", id);
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(
        done["last_sync_count"].as_i64().unwrap() + partial,
        KEYS as i64,
        "{done}"
    );
    let (_, page) = server.get(&format!("/api/tasks?project={project}&page_size=1"));
    assert_eq!(page["total"], KEYS as i64, "every key exactly once");
    assert!(
        done["meta"]["resumed_after"]
            .as_str()
            .is_some_and(|key| key.starts_with("fault:")),
        "the sync after the outage resumes from the cursor: {done}"
    );
    assert!(
        done["meta"]["objects_scanned"].as_i64().unwrap() <= KEYS as i64 - partial,
        "{done}"
    );
}
