//! Build step: puts Label Studio's editor (a pinned npm package) into `$OUT_DIR/editor/`,
//! where `http::ui` embeds it. See `build/editor.rs` for where it comes from.

#[path = "build/editor.rs"]
mod editor;

use std::env;
use std::path::PathBuf;

fn main() {
    for var in [
        editor::TARBALL_VAR,
        editor::CACHE_VAR,
        editor::URL_VAR,
        "XDG_CACHE_HOME",
    ] {
        println!("cargo:rerun-if-env-changed={var}");
    }
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=build/editor.rs");
    let local = env::var_os(editor::TARBALL_VAR)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from);
    if let Some(path) = &local {
        println!("cargo:rerun-if-changed={}", path.display());
    }
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let source = editor::Source {
        local,
        cache_dir: cache_dir(&out_dir),
        url: env::var(editor::URL_VAR).unwrap_or_else(|_| editor::URL.to_owned()),
    };
    match editor::prepare(&source, &out_dir.join("editor")) {
        // The build tests run this script again, offline, from the same tarball.
        Ok(tarball) => println!(
            "cargo:rustc-env=LABELSYNC_EDITOR_TARBALL_USED={}",
            tarball.display()
        ),
        Err(message) => {
            eprintln!("error: {message}");
            std::process::exit(1);
        }
    }
    if let Ok(script) = env::current_exe() {
        println!(
            "cargo:rustc-env=LABELSYNC_BUILD_SCRIPT={}",
            script.display()
        );
    }
}

/// The user's cache (kept across `cargo clean` and shared by debug and release builds), or
/// the build's own output directory when there is no home.
fn cache_dir(out_dir: &std::path::Path) -> PathBuf {
    if let Some(dir) = env::var_os(editor::CACHE_VAR).filter(|v| !v.is_empty()) {
        return PathBuf::from(dir);
    }
    let user_cache = env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache")));
    user_cache.map_or_else(|| out_dir.to_path_buf(), |dir| dir.join("labelsync"))
}
