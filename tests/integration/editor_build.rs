//! The editor as a build dependency: the real build script (the one cargo compiled for this
//! build) run again with a local tarball and no network, with a corrupted tarball, from its
//! cache, and with a download that fails; and the editor served beside its license.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use reqwest::Method;
use reqwest::header::CONTENT_TYPE;

use crate::common::Env;

/// The tarball this build used (cargo's build of this package recorded it).
const TARBALL: &str = env!("LABELSYNC_EDITOR_TARBALL_USED");
const BUILD_SCRIPT: &str = env!("LABELSYNC_BUILD_SCRIPT");
/// A port nothing listens on: a fetch there fails at once, and never leaves the machine.
const UNREACHABLE: &str = "http://127.0.0.1:9/label-studio-1.4.0.tgz";

struct Run {
    dir: tempfile::TempDir,
}

impl Run {
    fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Runs the build script with `tarball` (if any) and `cache`, the registry unreachable;
    /// with `no_curl`, PATH holds nothing, so not even a download could start.
    fn build(&self, tarball: Option<&Path>, cache: &Path, no_curl: bool) -> Output {
        let mut command = self.command(no_curl);
        command.env("LABELSYNC_EDITOR_CACHE", cache);
        if let Some(tarball) = tarball {
            command.env("LABELSYNC_EDITOR_TARBALL", tarball);
        }
        command.output().unwrap()
    }

    /// The build script with nothing of the environment but what is set here (no HOME).
    fn command(&self, no_curl: bool) -> Command {
        let mut command = Command::new(BUILD_SCRIPT);
        command
            .env_clear()
            .env("OUT_DIR", self.path("out"))
            .env("LABELSYNC_EDITOR_URL", UNREACHABLE)
            .env("HTTPS_PROXY", "http://127.0.0.1:9")
            .env("HTTP_PROXY", "http://127.0.0.1:9");
        let empty_path = self.path("no-programs");
        fs::create_dir_all(&empty_path).unwrap();
        if no_curl {
            command.env("PATH", &empty_path);
        } else {
            command.env("PATH", std::env::var_os("PATH").unwrap_or_default());
        }
        command
    }

    fn unpacked(&self, name: &str) -> Option<Vec<u8>> {
        fs::read(self.path("out").join("editor").join(name)).ok()
    }
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn builds_from_a_local_tarball_with_no_network() {
    let run = Run::new();
    let local = run.path("label-studio-1.4.0.tgz");
    fs::copy(TARBALL, &local).unwrap();
    let cache = run.path("cache");
    let output = run.build(Some(&local), &cache, true);
    assert!(output.status.success(), "{}", stderr(&output));
    let script = run.unpacked("main.js").expect("main.js unpacked");
    assert!(
        script.len() > 1_000_000,
        "the editor's bundle: {} bytes",
        script.len()
    );
    assert!(String::from_utf8_lossy(&script).contains("LabelStudio"));
    assert!(run.unpacked("main.css").expect("main.css").len() > 100_000);
    let license = String::from_utf8(run.unpacked("LICENSE").expect("LICENSE")).unwrap();
    assert!(license.contains("Apache License"), "{license}");
    assert!(run.unpacked("THIRD-PARTY-LICENSES.txt").is_some());
    assert!(!cache.exists(), "nothing was downloaded or cached");
}

#[test]
fn a_corrupted_tarball_stops_the_build_with_the_checksum_message() {
    let run = Run::new();
    let mut bytes = fs::read(TARBALL).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    let corrupted = run.path("label-studio-1.4.0.tgz");
    fs::write(&corrupted, bytes).unwrap();
    let output = run.build(Some(&corrupted), &run.path("cache"), true);
    assert!(
        !output.status.success(),
        "a corrupted tarball must stop the build"
    );
    let message = stderr(&output);
    assert!(message.contains("checksum"), "{message}");
    assert!(
        message.contains("sha512-NczF2gDF/Whq7+xI3tYZLrAk8Pq6hacXhYEDmWfHAQIZ0eiieyrMxxHz4KIU7wnagComaGv+QJ2Zc6SBcBmuCg=="),
        "names the pinned checksum: {message}"
    );
    assert!(
        message.contains("LABELSYNC_EDITOR_TARBALL"),
        "says what to do: {message}"
    );
    assert!(
        run.unpacked("main.js").is_none(),
        "nothing unpacked from it"
    );
}

#[test]
fn a_cached_tarball_needs_no_network_and_a_bad_cached_one_is_fetched_again() {
    let run = Run::new();
    let cache = run.path("cache");
    fs::create_dir_all(&cache).unwrap();
    fs::copy(TARBALL, cache.join("label-studio-1.4.0.tgz")).unwrap();
    let output = run.build(None, &cache, true);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(run.unpacked("main.js").is_some());

    // A cut-short download in the cache is not trusted: the build goes for a new one (and
    // here, with the registry unreachable, says so).
    let cut = fs::read(TARBALL).unwrap();
    fs::write(cache.join("label-studio-1.4.0.tgz"), &cut[..cut.len() / 3]).unwrap();
    let output = run.build(None, &cache, false);
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("could not be downloaded"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn with_no_home_the_cache_is_the_builds_own_output_directory() {
    let run = Run::new();
    fs::create_dir_all(run.path("out")).unwrap();
    fs::copy(TARBALL, run.path("out").join("label-studio-1.4.0.tgz")).unwrap();
    let output = run.command(true).output().unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(run.unpacked("main.js").is_some());
    let relative = run
        .command(true)
        .env("HOME", "")
        .env("XDG_CACHE_HOME", "relative/cache")
        .output()
        .unwrap();
    assert!(
        relative.status.success(),
        "empty and relative homes are not used: {}",
        stderr(&relative)
    );
}

#[test]
fn a_failed_download_stops_the_build_and_says_how_to_build_offline() {
    let run = Run::new();
    let output = run.build(None, &run.path("cache"), false);
    assert!(!output.status.success(), "no editor, no build");
    let message = stderr(&output);
    assert!(
        message.contains(&format!("could not be downloaded from {UNREACHABLE}")),
        "{message}"
    );
    assert!(
        message.contains("LABELSYNC_EDITOR_TARBALL=/path/to/label-studio-1.4.0.tgz"),
        "{message}"
    );
    assert!(
        !run.path("cache")
            .join("label-studio-1.4.0.tgz.part")
            .exists(),
        "no partial file left"
    );
}

#[test]
fn the_editor_is_served_with_its_license() {
    let env = Env::new();
    let server = env.start();
    let script = server
        .anonymous(Method::GET, "/static/editor/main.js")
        .send()
        .unwrap();
    assert_eq!(script.status(), 200);
    assert!(
        script.headers()[CONTENT_TYPE]
            .to_str()
            .unwrap()
            .contains("javascript")
    );
    let served = script.bytes().unwrap();
    let run = Run::new();
    let local = run.path("label-studio-1.4.0.tgz");
    fs::copy(TARBALL, &local).unwrap();
    assert!(
        run.build(Some(&local), &run.path("cache"), true)
            .status
            .success()
    );
    assert_eq!(
        served.as_ref(),
        run.unpacked("main.js").unwrap().as_slice(),
        "the package's own bundle, unchanged"
    );

    let license = server
        .anonymous(Method::GET, "/static/editor/LICENSE")
        .send()
        .unwrap();
    assert_eq!(license.status(), 200);
    assert_eq!(license.headers()[CONTENT_TYPE], "text/plain; charset=utf-8");
    assert!(license.text().unwrap().contains("Apache License"));
    let notices = server
        .anonymous(Method::GET, "/static/editor/THIRD-PARTY-LICENSES.txt")
        .send()
        .unwrap();
    assert_eq!(notices.status(), 200);
}
