//! Storage faults: a source server that dies mid-sync fails the sync with a readable
//! message, leaves no task without its link, and the next sync completes.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::backends::emulator;
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
    let partial = server.task_total(project);
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
    assert_eq!(
        server.task_total(project),
        KEYS as i64,
        "every key exactly once"
    );
    // A sync asked for after a failure looks at every key (new ones may sort anywhere).
    assert!(done["meta"]["resumed_after"].is_null(), "{done}");
    assert_eq!(done["meta"]["objects_scanned"], KEYS as i64, "{done}");
}

/// A private Azurite on its own port and folder, so a test may kill it.
struct PrivateAzurite {
    child: Child,
    endpoint: String,
}

impl PrivateAzurite {
    const ACCOUNT: &str = "devstoreaccount1";

    fn start(dir: &std::path::Path, port: u16) -> PrivateAzurite {
        let child = Command::new(emulator("EMU_AZURITE_BIN"))
            .args(["--blobHost", "127.0.0.1", "--blobPort", &port.to_string()])
            .arg("--location")
            .arg(dir)
            .args(["--disableTelemetry", "--silent"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("azurite (installed by scripts/test)");
        let base = format!("http://127.0.0.1:{port}");
        // Ready means the account answers (403: the listing needs a signature).
        let deadline = Instant::now() + Duration::from_secs(60);
        let client = crate::common::client_builder().build().unwrap();
        while client
            .get(format!("{base}/{}?comp=list", Self::ACCOUNT))
            .send()
            .map(|r| r.status().as_u16() != 403)
            .unwrap_or(true)
        {
            assert!(Instant::now() < deadline, "private azurite did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        let created = Command::new("bash")
            .arg(emulator("EMU_AZURITE_CREATE_CONTAINER"))
            .arg("faults")
            .env("AZ_BASE", &base)
            .output()
            .unwrap();
        let code = String::from_utf8_lossy(&created.stdout).trim().to_owned();
        assert!(code == "201" || code == "409", "create container: {code}");
        PrivateAzurite {
            child,
            endpoint: format!("{base}/{}", Self::ACCOUNT),
        }
    }

    fn fields(&self) -> serde_json::Value {
        json!({
            "container": "faults", "prefix": "tasks", "azure_endpoint": self.endpoint,
            "account_name": Self::ACCOUNT, "account_key": emulator("AZURE_STORAGE_ACCOUNT_KEY"),
        })
    }

    /// SIGTERM: a clean stop, after which Azurite has saved everything it holds.
    fn stop(&mut self) {
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let _ = self.child.wait();
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for PrivateAzurite {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The same through object_store: Azurite killed while task files are being read.
#[test]
fn an_object_store_that_dies_mid_sync_fails_cleanly_and_the_next_sync_completes() {
    const FILES: usize = 1_500;
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut azurite = PrivateAzurite::start(dir.path(), port);
    let fields = azurite.fields();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        use futures_util::StreamExt;
        let store = crate::backends::open_direct(
            "azure",
            &fields,
            labelsync::storage::Direction::Import,
            dir.path(),
        );
        futures_util::stream::iter(0..FILES)
            .map(|i| {
                let store = store.clone();
                async move {
                    let key = store.key_for(&format!("t{i:05}.json"));
                    let body = format!(r#"{{"data": {{"n": {i}}}}}"#);
                    store.write(&key, body.into()).await.unwrap();
                }
            })
            .buffer_unordered(32)
            .collect::<Vec<_>>()
            .await;
    });
    // A clean stop saves Azurite's blob index (kept in memory between its periodic saves),
    // so the kill below loses nothing it was given.
    azurite.stop();
    let mut azurite = PrivateAzurite::start(dir.path(), port);

    let env = Env::new();
    let server = env.start();
    let project = server.project();
    let mut body = fields.clone();
    body["project"] = json!(project);
    body["use_blob_urls"] = json!(false);
    let (status, created) = server.post("/api/storages/azure/", body);
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_i64().unwrap();
    server.post(&format!("/api/storages/azure/{id}/sync"), json!({}));
    server.wait_for_first_tasks(project);
    // SIGKILL: connections are refused at once (a stopping Azurite answers 403 for a while).
    azurite.kill();
    let failed = server.wait_synced("azure", id);
    assert_eq!(failed["status"], "failed", "{failed}");
    let traceback = failed["traceback"].as_str().unwrap();
    assert!(
        traceback.contains("Cannot reach the Azure") && traceback.contains("does not answer"),
        "{traceback}"
    );
    let partial = server.task_total(project);
    assert!(
        partial > 0 && partial < FILES as i64,
        "{partial} tasks before the outage"
    );
    let pages = (1..=(partial + 999) / 1000).flat_map(|number| {
        let (_, tasks) = server.get(&format!(
            "/api/tasks?project={project}&page={number}&page_size=1000"
        ));
        tasks["tasks"].as_array().unwrap().clone()
    });
    for task in pages {
        assert!(
            task["storage_filename"].is_string(),
            "a task without its link: {task}"
        );
    }

    let _azurite = PrivateAzurite::start(dir.path(), port);
    let done = server.sync("azure", id);
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(
        server.task_total(project),
        FILES as i64,
        "every file exactly once"
    );
    assert_eq!(done["meta"]["objects_scanned"], FILES as i64, "{done}");
}
