//! Build step: puts Label Studio's editor (a pinned npm package) into `$OUT_DIR/editor/`,
//! where `http::ui` embeds it. See `build/editor.rs` for where it comes from.

#[path = "build/editor.rs"]
mod editor;

use std::env;
use std::path::{Path, PathBuf};

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
        fallback_cache_dir: out_dir.clone(),
        url: env::var(editor::URL_VAR)
            .ok()
            .filter(|url| !url.is_empty())
            .unwrap_or_else(|| editor::URL.to_owned()),
    };
    match editor::prepare(&source, &out_dir.join("editor")) {
        Ok(tarball) => {
            // Run again if the tarball goes (a cleared cache); the build tests run this
            // script again, offline, from the same file.
            println!("cargo:rerun-if-changed={}", tarball.display());
            println!(
                "cargo:rustc-env=LABELSYNC_EDITOR_TARBALL_USED={}",
                tarball.display()
            );
            // The checksum names the editor's contents: the server's ETags come from it.
            println!(
                "cargo:rustc-env=LABELSYNC_EDITOR_INTEGRITY={}",
                editor::INTEGRITY
            );
        }
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

/// Where the tarball is kept: `$LABELSYNC_EDITOR_CACHE`, else the user's cache
/// (`$XDG_CACHE_HOME/labelsync` or `~/.cache/labelsync`: kept across `cargo clean` and
/// shared by debug and release builds), else, with no usable home, the build's own output
/// directory. Relative or empty paths do not count: a build script runs in the source tree.
fn cache_dir(out_dir: &Path) -> PathBuf {
    let absolute = |var: &str| {
        env::var_os(var)
            .map(PathBuf::from)
            .filter(|path| path.is_absolute())
    };
    if let Some(dir) = absolute(editor::CACHE_VAR) {
        return dir;
    }
    absolute("XDG_CACHE_HOME")
        .or_else(|| absolute("HOME").map(|home| home.join(".cache")))
        .map_or_else(|| out_dir.to_path_buf(), |dir| dir.join("labelsync"))
}
