//! Media URLs: storage URIs in task data become `/tasks/<id>/resolve/?fileuri=...`.
//!
//! The browser never sees `s3://`, `gs://` or `azure-blob://`: task data is rewritten when
//! served, and the resolve endpoint (in `http::resolve`) redirects to a presigned URL or
//! streams the object. Only URIs of buckets that are source storages of the task's project
//! are rewritten, so the endpoint never serves an arbitrary bucket.

use base64::Engine;
use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};
use serde_json::Value;

use crate::db::storages::StorageRow;
use crate::storage::ByteRange;

/// Largest range the proxy streams per request (Label Studio's default, 8 MiB).
pub const MAX_RANGE: u64 = 8 * 1024 * 1024;

/// A bucket whose URIs can be resolved: (`scheme`, bucket name, storage).
#[derive(Debug, Clone)]
pub struct Resolvable {
    pub prefix: String,
    pub storage_id: i64,
}

/// The resolvable buckets among a project's source storages, in id order.
pub fn resolvable(storages: &[StorageRow]) -> Vec<Resolvable> {
    storages
        .iter()
        .filter_map(|row| {
            let (scheme, bucket) = row.settings.uri_bucket()?;
            Some(Resolvable {
                prefix: format!("{scheme}://{bucket}/"),
                storage_id: row.id,
            })
        })
        .collect()
}

/// Which storage serves `uri`, and the object key inside it.
pub fn locate<'u>(uri: &'u str, storages: &[Resolvable]) -> Option<(i64, &'u str)> {
    storages.iter().find_map(|s| {
        uri.strip_prefix(&s.prefix)
            .filter(|key| !key.is_empty())
            .map(|key| (s.storage_id, key))
    })
}

/// `fileuri` as Label Studio encodes it: URL-safe base64 with padding.
pub fn encode_fileuri(uri: &str) -> String {
    URL_SAFE.encode(uri)
}

/// Reads `fileuri`: URL-safe base64 (padded or not), else the URI itself (legacy clients).
pub fn decode_fileuri(fileuri: &str) -> String {
    let trimmed = fileuri.trim_end_matches('=');
    URL_SAFE_NO_PAD
        .decode(trimmed)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .filter(|uri| uri.contains("://"))
        .unwrap_or_else(|| fileuri.to_owned())
}

/// Rewrites, in place, every string in `data` (at any depth) that is a URI of one of the
/// `storages` into this task's resolve URL.
pub fn rewrite(data: &mut Value, task_id: i64, storages: &[Resolvable]) {
    if storages.is_empty() {
        return;
    }
    match data {
        Value::String(text) if locate(text, storages).is_some() => {
            *text = format!("/tasks/{task_id}/resolve/?fileuri={}", encode_fileuri(text));
        }
        Value::Array(items) => items
            .iter_mut()
            .for_each(|item| rewrite(item, task_id, storages)),
        Value::Object(map) => map
            .values_mut()
            .for_each(|item| rewrite(item, task_id, storages)),
        _ => {}
    }
}

/// Parses a `Range` header and clamps it to [`MAX_RANGE`] bytes, as Label Studio's proxy
/// does. `bytes=0-` (a probe) is kept; an unparsable header reads from the start.
pub fn parse_range(header: &str) -> Option<ByteRange> {
    let spec = header
        .trim()
        .strip_prefix("bytes=")?
        .split(',')
        .next()?
        .trim();
    let (start, end) = spec.split_once('-')?;
    let (start, end) = (start.trim(), end.trim());
    if start.is_empty() {
        return end
            .parse::<u64>()
            .ok()
            .filter(|n| *n > 0)
            .map(|n| ByteRange::Suffix(n.min(MAX_RANGE)));
    }
    let start: u64 = start.parse().ok()?;
    let limit = start.saturating_add(MAX_RANGE);
    match end.parse::<u64>() {
        Ok(end) if end >= start => {
            Some(ByteRange::Bounded(start, end.saturating_add(1).min(limit)))
        }
        _ if start == 0 => Some(ByteRange::From(0)),
        _ => Some(ByteRange::Bounded(start, limit)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn storages() -> Vec<Resolvable> {
        vec![Resolvable {
            prefix: "s3://pics/".into(),
            storage_id: 4,
        }]
    }

    #[test]
    fn rewrites_only_uris_of_the_projects_buckets() {
        let mut data = json!({"image": "s3://pics/a/b.png", "other": "s3://elsewhere/x.png",
                              "list": ["s3://pics/c.png", 5], "nested": {"v": "s3://pics/d.png"}, "text": "hello"});
        rewrite(&mut data, 7, &storages());
        let expected = format!(
            "/tasks/7/resolve/?fileuri={}",
            encode_fileuri("s3://pics/a/b.png")
        );
        assert_eq!(data["image"], expected);
        assert_eq!(data["other"], "s3://elsewhere/x.png");
        assert!(
            data["list"][0]
                .as_str()
                .unwrap()
                .starts_with("/tasks/7/resolve/")
        );
        assert!(
            data["nested"]["v"]
                .as_str()
                .unwrap()
                .starts_with("/tasks/7/resolve/")
        );
        assert_eq!(data["text"], "hello");
    }

    #[test]
    fn fileuri_round_trips_and_matches_label_studio() {
        let uri = "s3://bench-1000/images/d000/s0/img_000000.png";
        assert_eq!(
            encode_fileuri(uri),
            "czM6Ly9iZW5jaC0xMDAwL2ltYWdlcy9kMDAwL3MwL2ltZ18wMDAwMDAucG5n"
        );
        assert_eq!(decode_fileuri(&encode_fileuri(uri)), uri);
        assert_eq!(decode_fileuri("s3://pics/a.png"), "s3://pics/a.png");
        assert_eq!(locate("s3://pics/a.png", &storages()), Some((4, "a.png")));
        assert_eq!(locate("s3://pics/", &storages()), None);
    }

    #[test]
    fn ranges_are_clamped_like_label_studio() {
        assert_eq!(parse_range("bytes=0-"), Some(ByteRange::From(0)));
        assert_eq!(parse_range("bytes=10-19"), Some(ByteRange::Bounded(10, 20)));
        assert_eq!(
            parse_range("bytes=10-"),
            Some(ByteRange::Bounded(10, 10 + MAX_RANGE))
        );
        assert_eq!(
            parse_range("bytes=0-99999999999"),
            Some(ByteRange::Bounded(0, MAX_RANGE))
        );
        assert_eq!(parse_range("bytes=-5"), Some(ByteRange::Suffix(5)));
        assert_eq!(parse_range("items=1-2"), None);
    }
}
