//! Which local file a `/data/local-files/?d=` request may see.
//!
//! One check for every request: the relative path is taken literally (decoded once, by
//! the query parser, never twice), must not climb with `..` or carry NUL or backslashes,
//! is joined to the document root and canonicalized (so symlinks are resolved), and the
//! result must lie, component by component, inside the document root and inside the path
//! of a Local Files source storage. `/r/data` therefore never grants `/r/data2`.

use std::path::{Component, Path, PathBuf};
use std::time::UNIX_EPOCH;

/// The path under the document root a `/data/local-files/?d=<path>` URI names (decoded),
/// or `None` for any other URI: the reverse of the URIs Local Files storages write.
pub fn path_of_uri(uri: &str) -> Option<String> {
    let query = uri.strip_prefix("/data/local-files/?")?;
    let d = query.split('&').find_map(|pair| pair.strip_prefix("d="))?;
    Some(
        percent_encoding::percent_decode_str(d)
            .decode_utf8_lossy()
            .into_owned(),
    )
}

/// Why a local file is not served.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error(
        "Serving local files can be dangerous, so it's disabled by default. Start labelsync with LABEL_STUDIO_LOCAL_FILES_SERVING_ENABLED=true (and LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT) to enable it."
    )]
    Disabled,
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("Not found.")]
    NotFound,
}

/// Resolves `d` to a canonical file path inside `root` (which must be canonical).
pub fn resolve(root: &Path, d: &str) -> Result<PathBuf, Refusal> {
    if d.is_empty() {
        return Err(Refusal::Forbidden(
            "The ?d= parameter with a path relative to the document root is required.",
        ));
    }
    if d.contains('\0') || d.contains('\\') {
        return Err(Refusal::NotFound);
    }
    let relative = Path::new(d.trim_start_matches('/'));
    let mut joined = root.to_owned();
    for component in relative.components() {
        match component {
            Component::Normal(part) => joined.push(part),
            Component::CurDir => {}
            _ => return Err(Refusal::Forbidden("Paths with \"..\" are not served.")),
        }
    }
    let canonical = joined.canonicalize().map_err(|_| Refusal::NotFound)?;
    if !canonical.starts_with(root) {
        return Err(Refusal::Forbidden(
            "The file lies outside the local files document root.",
        ));
    }
    if !canonical.is_file() {
        return Err(Refusal::NotFound);
    }
    Ok(canonical)
}

/// True when `file` lies inside one of the (canonical) storage directories.
pub fn inside_any(file: &Path, storage_dirs: &[PathBuf]) -> bool {
    storage_dirs.iter().any(|dir| file.starts_with(dir))
}

/// The weak validator Label Studio sends: `W/"<mtime ns, hex>-<size, hex>"`.
pub fn weak_etag(metadata: &std::fs::Metadata) -> String {
    let nanos = metadata
        .modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos());
    format!("W/\"{nanos:x}-{:x}\"", metadata.len())
}

/// Weak comparison of `If-None-Match` (a list, or `*`) against our tag.
pub fn etag_matches(if_none_match: &str, etag: &str) -> bool {
    let bare = |tag: &str| tag.trim().trim_start_matches("W/").to_owned();
    let ours = bare(etag);
    if_none_match
        .split(',')
        .any(|candidate| candidate.trim() == "*" || bare(candidate) == ours)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etags_compare_weakly_and_accept_lists() {
        let tag = "W/\"1a-2\"";
        assert!(etag_matches("W/\"1a-2\"", tag));
        assert!(etag_matches("\"1a-2\"", tag));
        assert!(etag_matches("\"x\", W/\"1a-2\"", tag));
        assert!(etag_matches("*", tag));
        assert!(!etag_matches("W/\"1a-3\"", tag));
    }

    #[test]
    fn storage_prefix_is_by_component() {
        let dirs = vec![PathBuf::from("/r/data")];
        assert!(inside_any(Path::new("/r/data/a.png"), &dirs));
        assert!(!inside_any(Path::new("/r/data2/a.png"), &dirs));
    }
}

#[cfg(test)]
mod properties {
    //! Hostile `d=` values never escape: whatever the input, `resolve` either refuses it or
    //! returns a file inside the root, and never panics.
    use super::*;
    use proptest::prelude::*;

    fn fixture() -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        std::fs::create_dir_all(root.join("data/sub")).unwrap();
        std::fs::write(root.join("data/sub/a.png"), b"x").unwrap();
        std::fs::write(dir.path().join("secret.txt"), b"s").unwrap();
        std::os::unix::fs::symlink(dir.path().join("secret.txt"), root.join("data/out.png"))
            .unwrap();
        let root = root.canonicalize().unwrap();
        (dir, root)
    }

    fn hostile_part() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("..".to_owned()),
            Just(".".to_owned()),
            Just("%2e%2e".to_owned()),
            Just("%252e%252e".to_owned()),
            Just("..%2f".to_owned()),
            Just("\\..\\".to_owned()),
            Just("\u{0}".to_owned()),
            Just("\u{c0}\u{ae}".to_owned()),
            Just("/".to_owned()),
            Just("//".to_owned()),
            Just("data".to_owned()),
            Just("sub".to_owned()),
            Just("a.png".to_owned()),
            Just("out.png".to_owned()),
            Just("secret.txt".to_owned()),
            "[a-z.%/\\\\]{0,6}",
        ]
    }

    proptest! {
        #[test]
        fn resolve_never_leaves_the_root(parts in proptest::collection::vec(hostile_part(), 0..8)) {
            let (_dir, root) = fixture();
            let d = parts.join("/");
            if let Ok(file) = resolve(&root, &d) {
                prop_assert!(file.starts_with(&root), "{d:?} resolved to {file:?}");
                prop_assert!(file.is_file());
            }
        }
    }
}
