//! The test fixture: the real `labelsync` binary on port 0 with a temporary data directory
//! and document root, driven over HTTP.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use reqwest::Method;
use reqwest::blocking::{Client, RequestBuilder};
use serde_json::{Value, json};

pub(crate) const TOKEN: &str = "test-token-0123456789abcdef";
pub(crate) const EMAIL: &str = "tester@example.com";
pub(crate) const PASSWORD: &str = "correct horse battery";

pub(crate) const IMAGE_CONFIG: &str = r#"<View><Image name="image" value="$image"/><Choices name="choice" toName="image"><Choice value="cat"/><Choice value="dog"/></Choices></View>"#;

/// Temporary directories shared by the servers of one test (so restarts see the same data).
pub(crate) struct Env {
    _tmp: tempfile::TempDir,
    pub(crate) root: PathBuf,
    pub(crate) data: PathBuf,
    /// Extra environment for the server.
    pub(crate) vars: Vec<(String, String)>,
}

impl Env {
    pub(crate) fn new() -> Env {
        let tmp = tempfile::tempdir().expect("temp dir");
        let root = tmp.path().join("root");
        let data = tmp.path().join("data");
        std::fs::create_dir_all(&root).unwrap();
        let root = root.canonicalize().unwrap();
        Env {
            vars: vec![
                (
                    "LABEL_STUDIO_LOCAL_FILES_SERVING_ENABLED".into(),
                    "true".into(),
                ),
                (
                    "LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT".into(),
                    root.display().to_string(),
                ),
            ],
            _tmp: tmp,
            root,
            data,
        }
    }

    /// Creates `relative` (and parents) under the document root with `content`.
    pub(crate) fn file(&self, relative: &str, content: &[u8]) -> PathBuf {
        let path = self.root.join(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, content).unwrap();
        path
    }

    /// Creates an empty directory under the document root.
    pub(crate) fn dir(&self, relative: &str) -> PathBuf {
        let path = self.root.join(relative);
        std::fs::create_dir_all(&path).unwrap();
        path
    }

    pub(crate) fn start(&self) -> Server {
        Server::spawn(self, Path::new(env!("CARGO_BIN_EXE_labelsync")), None, true)
    }

    /// A server started without `--username/--password` (no user exists on a fresh dir).
    pub(crate) fn start_without_user(&self) -> Server {
        Server::spawn(
            self,
            Path::new(env!("CARGO_BIN_EXE_labelsync")),
            None,
            false,
        )
    }

    /// A server from a copy of the binary, run from another working directory.
    pub(crate) fn start_copied_binary(&self, binary: &Path, cwd: &Path) -> Server {
        Server::spawn(self, binary, Some(cwd), true)
    }

    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(self.data.join("server.log")).unwrap_or_default()
    }
}

/// A running server; killed when dropped.
pub(crate) struct Server {
    child: Child,
    log: PathBuf,
    pub(crate) url: String,
    client: Client,
}

impl Server {
    fn spawn(env: &Env, binary: &Path, cwd: Option<&Path>, with_user: bool) -> Server {
        std::fs::create_dir_all(&env.data).unwrap();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(env.data.join("server.log"))
            .unwrap();
        let mut command = Command::new(binary);
        command
            .args(["start", "--port", "0", "--data-dir"])
            .arg(&env.data);
        if with_user {
            command.args([
                "--username",
                EMAIL,
                "--password",
                PASSWORD,
                "--user-token",
                TOKEN,
            ]);
        }
        if let Some(cwd) = cwd {
            command.current_dir(cwd);
        }
        command
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log));
        // The test environment carries the emulators' AWS_*/AZURE_* variables; a server
        // must only see the credential fallbacks a test gives it on purpose.
        for (key, _) in std::env::vars() {
            if key.starts_with("AWS_")
                || key.starts_with("AZURE_")
                || key.starts_with("GOOGLE_")
                || key == "S3_ENDPOINT"
            {
                command.env_remove(key);
            }
        }
        for (key, value) in &env.vars {
            command.env(key, value);
        }
        let mut child = command.spawn().expect("start labelsync");
        let url = read_address(&mut child, env);
        let client = client_builder()
            .timeout(Duration::from_secs(60))
            .build()
            .unwrap();
        Server {
            child,
            url,
            client,
            log: env.data.join("server.log"),
        }
    }

    /// SIGKILL: the process gets no chance to clean up.
    pub(crate) fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, then wait for the exit.
    pub(crate) fn stop(self) {
        let _ = self.terminate();
    }

    /// SIGTERM, then wait for the exit: its status, or `None` if the server had not exited
    /// after 30 seconds (it is killed then).
    pub(crate) fn terminate(mut self) -> Option<std::process::ExitStatus> {
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        None
    }

    /// A request with the test user's token.
    pub(crate) fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.client
            .request(method, format!("{}{path}", self.url))
            .header("Authorization", format!("Token {TOKEN}"))
    }

    /// A request without credentials.
    pub(crate) fn anonymous(&self, method: Method, path: &str) -> RequestBuilder {
        self.client.request(method, format!("{}{path}", self.url))
    }

    pub(crate) fn call(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut request = self.request(method, path);
        if let Some(body) = body {
            request = request.json(&body);
        }
        send(request)
    }

    /// A request as another user (by their token).
    pub(crate) fn call_as(
        &self,
        token: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.url))
            .header("Authorization", format!("Token {token}"));
        if let Some(body) = body {
            request = request.json(&body);
        }
        send(request)
    }

    /// Creates another user, makes them a member of `project`, returns (id, token).
    pub(crate) fn member(&self, project: i64, email: &str) -> (i64, String) {
        let password = "another password";
        let (status, user) =
            self.post("/api/users/", json!({"email": email, "password": password}));
        assert_eq!(status, 201, "{user}");
        let (status, added) = self.post(
            &format!("/api/projects/{project}/members/"),
            json!({"user": user["id"]}),
        );
        assert_eq!(status, 201, "{added}");
        (
            user["id"].as_i64().unwrap(),
            token_of(&self.url, email, password),
        )
    }

    pub(crate) fn get(&self, path: &str) -> (u16, Value) {
        self.call(Method::GET, path, None)
    }

    pub(crate) fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.call(Method::POST, path, Some(body))
    }

    pub(crate) fn patch(&self, path: &str, body: Value) -> (u16, Value) {
        self.call(Method::PATCH, path, Some(body))
    }

    pub(crate) fn delete(&self, path: &str) -> u16 {
        self.call(Method::DELETE, path, None).0
    }

    /// Creates a project with the image config and returns its id.
    pub(crate) fn project(&self) -> i64 {
        let (status, body) = self.post(
            "/api/projects/",
            json!({"title": "test", "label_config": IMAGE_CONFIG}),
        );
        assert_eq!(status, 201, "{body}");
        body["id"].as_i64().unwrap()
    }

    /// Creates a Local Files source storage; panics unless created.
    pub(crate) fn local_source(&self, project: i64, path: &Path, extra: Value) -> i64 {
        let mut body =
            json!({"project": project, "path": path.display().to_string(), "title": "source"});
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        let (status, created) = self.post("/api/storages/localfiles/", body);
        assert_eq!(status, 201, "{created}");
        created["id"].as_i64().unwrap()
    }

    /// Starts a sync and waits until it ends; returns the final storage.
    pub(crate) fn sync(&self, kind: &str, id: i64) -> Value {
        let (status, queued) = self.post(&format!("/api/storages/{kind}/{id}/sync"), json!({}));
        assert_eq!(status, 200, "{queued}");
        self.wait_synced(kind, id)
    }

    /// Polls a storage until its status is final.
    pub(crate) fn wait_synced(&self, kind: &str, id: i64) -> Value {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let (status, storage) = self.get(&format!("/api/storages/{kind}/{id}"));
            assert_eq!(status, 200, "{storage}");
            if ["completed", "completed_with_errors", "failed"]
                .contains(&storage["status"].as_str().unwrap())
            {
                return storage;
            }
            assert!(Instant::now() < deadline, "sync did not end: {storage}");
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    /// A project holding one of everything: a Local Files source on `images` (blob mode,
    /// synced), its tasks, an annotation, a prediction and a draft on the first one, a Data
    /// Manager view, and a Local Files target writing to `out`.
    pub(crate) fn stocked_project(&self, images: &Path, out: &Path) -> Stocked {
        let project = self.project();
        let source = self.local_source(project, images, json!({"use_blob_urls": true}));
        self.sync("localfiles", source);
        let task = self.tasks(project)[0]["id"].as_i64().unwrap();
        let (status, annotation) = self.post(
            &format!("/api/tasks/{task}/annotations/"),
            json!({"result": []}),
        );
        assert_eq!(status, 201, "{annotation}");
        let (status, target) = self.post(
            "/api/storages/export/localfiles",
            json!({"project": project, "path": out.display().to_string()}),
        );
        assert_eq!(status, 201, "{target}");
        let created = |path: &str, body: Value| {
            let (status, made) = self.post(path, body);
            assert_eq!(status, 201, "{path}: {made}");
            made["id"].as_i64().unwrap()
        };
        Stocked {
            project,
            source,
            task,
            annotation: annotation["id"].as_i64().unwrap(),
            target: target["id"].as_i64().unwrap(),
            prediction: created("/api/predictions/", json!({"task": task, "result": []})),
            draft: created(&format!("/api/tasks/{task}/drafts"), json!({"result": []})),
            view: created(
                "/api/dm/views/",
                json!({"project": project, "data": {"title": "Tab"}}),
            ),
        }
    }

    /// How many tasks a project has (the `total` of a one-task page).
    pub(crate) fn task_total(&self, project: i64) -> i64 {
        let (status, page) = self.get(&format!("/api/tasks?project={project}&page_size=1"));
        assert_eq!(status, 200, "{page}");
        page["total"].as_i64().unwrap()
    }

    /// Polls, as fast as a sync commits batches, until the project has tasks (or two
    /// minutes have passed); returns how many there are: where a test kills mid-sync.
    pub(crate) fn wait_for_first_tasks(&self, project: i64) -> i64 {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let stored = self.task_total(project);
            if stored > 0 || Instant::now() > deadline {
                return stored;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// All tasks of a project (one page of up to 1000).
    pub(crate) fn tasks(&self, project: i64) -> Vec<Value> {
        let (status, body) = self.get(&format!("/api/tasks?project={project}&page_size=1000"));
        assert_eq!(status, 200, "{body}");
        body["tasks"].as_array().unwrap().clone()
    }
}

/// The ids of what [`Server::stocked_project`] made.
pub(crate) struct Stocked {
    pub(crate) project: i64,
    pub(crate) source: i64,
    pub(crate) task: i64,
    pub(crate) annotation: i64,
    pub(crate) target: i64,
    pub(crate) prediction: i64,
    pub(crate) draft: i64,
    pub(crate) view: i64,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if !std::thread::panicking() {
            assert_secret_free(
                &std::fs::read_to_string(&self.log).unwrap_or_default(),
                "the server log",
            );
        }
    }
}

/// Values that must never appear in a response or a log line: the test user's password and
/// every storage credential the tests configure (the emulator keys come from scripts/test).
pub(crate) fn known_secrets() -> Vec<String> {
    let mut secrets = vec![
        PASSWORD.to_owned(),
        "testing-secret".to_owned(),
        "testing-from-env".to_owned(),
    ];
    if let Ok(key) = std::env::var("AZURE_STORAGE_ACCOUNT_KEY") {
        secrets.push(key);
    }
    if let Ok(path) = std::env::var("GOOGLE_SERVICE_ACCOUNT")
        && let Ok(account) = std::fs::read_to_string(path)
        && let Ok(json) = serde_json::from_str::<Value>(&account)
    {
        let key = json["private_key"].as_str().unwrap_or_default();
        secrets.extend(
            key.lines()
                .filter(|line| line.len() > 40)
                .take(3)
                .map(str::to_owned),
        );
    }
    secrets
}

/// Fails the test if `text` carries a secret.
pub(crate) fn assert_secret_free(text: &str, what: &str) {
    for secret in known_secrets() {
        assert!(!text.contains(&secret), "a secret appeared in {what}");
    }
}

pub(crate) fn send(request: RequestBuilder) -> (u16, Value) {
    let response = request.send().expect("request");
    let status = response.status().as_u16();
    let text = response.text().unwrap_or_default();
    assert_secret_free(&text, "an API response");
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// A blocking HTTP client builder, once rustls has its crypto (the server's crate picks it).
pub(crate) fn client_builder() -> reqwest::blocking::ClientBuilder {
    labelsync::storage::object::install_crypto();
    Client::builder()
}

/// Signs in through the login form and returns the user's API token.
pub(crate) fn token_of(url: &str, email: &str, password: &str) -> String {
    use reqwest::header::COOKIE;
    let client = client_builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let login = client
        .post(format!("{url}/user/login"))
        .form(&[("email", email), ("password", password)])
        .send()
        .unwrap();
    let cookie = session_cookie(&login);
    let body: Value = client
        .get(format!("{url}/api/current-user/token"))
        .header(COOKIE, cookie)
        .send()
        .unwrap()
        .json()
        .unwrap();
    body["token"].as_str().unwrap().to_owned()
}

/// The `name=value` of the session cookie a response sets, to send back in `Cookie`.
pub(crate) fn session_cookie(response: &reqwest::blocking::Response) -> String {
    let set_cookie = response.headers()[reqwest::header::SET_COOKIE]
        .to_str()
        .unwrap();
    set_cookie.split(';').next().unwrap().to_owned()
}

/// Waits for the "listening on" line the server prints on stdout.
fn read_address(child: &mut Child, env: &Env) -> String {
    let stdout = child.stdout.take().unwrap();
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(url) = line.strip_prefix("labelsync listening on ") {
                let _ = sender.send(url.trim().to_owned());
            }
        }
    });
    match receiver.recv_timeout(Duration::from_secs(30)) {
        Ok(url) => url,
        Err(_) => panic!("server did not start; its log:\n{}", env.log()),
    }
}

/// Polls `check` until it is true or ten seconds pass.
pub(crate) fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}
