//! Objects that vanished or changed since their tasks were imported, learned from the one
//! listing a sync makes anyway.
//!
//! While a pass lists, each listed object is looked up among those the storage's tasks came
//! from ([`super::known`]): listed with another fingerprint (ETag, else size and time) than
//! at its import means `changed`; never looked up by the end of a pass that listed
//! everything (not one resumed after a stop) means `vanished`. Then, as the storage asks:
//! the tasks of a vanished object are deleted when nobody worked on them
//! (`remove_vanished`), a changed task file whose tasks have no annotation is imported again
//! (`reimport_changed`); every other task concerned is flagged for the Data Manager, and a
//! flagged task whose object is back as it was is flagged no more.

use std::collections::HashSet;
use std::collections::hash_map::DefaultHasher;
use std::fmt::Write as _;
use std::hash::{Hash, Hasher};

use crate::db::objects::{LinkedObject, ObjectChanges};

use crate::storage::ObjectInfo;

/// Keys listed in the report and the storage's `meta`, at most.
pub(super) const LISTED: usize = 100;

/// An object's fingerprint as stored: `etag:<hash>` where the store gives an ETag (so the
/// same bytes written again are no change), else `size:milliseconds` (`-` for what the
/// store does not tell); `None` when it tells nothing (Redis): such objects are never seen
/// changed.
pub(super) fn fingerprint(object: &ObjectInfo) -> Option<String> {
    let mut print = String::new();
    push_fingerprint(object, &mut print).then_some(print)
}

/// Appends `object`'s fingerprint to `print`; false (and nothing appended) when it has
/// none. Written in place: a re-sync of a million files makes a million of them.
pub(super) fn push_fingerprint(object: &ObjectInfo, print: &mut String) -> bool {
    if let Some(tag) = &object.etag {
        let _ = write!(print, "etag:{:016x}", hash(tag.trim_matches('"')));
        return true;
    }
    let modified = object.last_modified.map(|t| t.timestamp_millis());
    if object.size.is_none() && modified.is_none() {
        return false;
    }
    push_part(print, object.size);
    print.push(':');
    push_part(print, modified);
    true
}

/// One number of a fingerprint, `-` when unknown.
fn push_part(print: &mut String, value: Option<impl itoa::Integer>) {
    match value {
        Some(value) => print.push_str(itoa::Buffer::new().format(value)),
        None => print.push('-'),
    }
}

/// SipHash with fixed keys: fingerprints stored by earlier versions stay comparable.
fn hash(key: &str) -> u64 {
    let mut hasher = DefaultHasher::new();
    key.hash(&mut hasher);
    hasher.finish()
}

/// What the storage asks to be done about vanished and changed objects.
#[derive(Debug, Clone, Copy)]
pub(super) struct Policy {
    pub remove_vanished: bool,
    pub reimport_changed: bool,
    /// Objects are tasks themselves (nothing to import again).
    pub blob_mode: bool,
}

impl Policy {
    pub(super) fn of(common: &crate::storage::Common) -> Policy {
        Policy {
            remove_vanished: common.remove_vanished,
            reimport_changed: common.reimport_changed,
            blob_mode: common.use_blob_urls,
        }
    }
}

/// What a pass found while it listed, and after.
#[derive(Debug, Default)]
pub(super) struct Found {
    pub vanished: Vec<String>,
    /// Changed objects, with their fingerprint now.
    pub changed: Vec<(String, Option<String>)>,
    /// Fingerprints to record: objects imported before fingerprints were kept.
    pub adopt: Vec<(String, String)>,
}

impl Found {
    /// The objects to act on: those that vanished or changed.
    pub(super) fn concerned(&self) -> Vec<String> {
        let mut keys = self.vanished.clone();
        keys.extend(self.changed.iter().map(|(key, _)| key.clone()));
        keys
    }
}

/// What a pass learned: the keys, and what to do.
#[derive(Debug, Default)]
pub(super) struct Verdict {
    pub vanished: Vec<String>,
    pub changed: Vec<String>,
    pub changes: ObjectChanges,
}

/// Decides about the concerned objects (`objects`: their tasks) and the tasks flagged
/// before (`flagged`: key, task): remove, import again, flag, or clear a flag.
pub(super) fn decide(
    found: Found,
    objects: Vec<LinkedObject>,
    flagged: Vec<(String, i64)>,
    policy: Policy,
) -> Verdict {
    let mut verdict = Verdict {
        vanished: found.vanished,
        changed: found.changed.into_iter().map(|(key, _)| key).collect(),
        changes: ObjectChanges {
            adopt: found.adopt,
            ..ObjectChanges::default()
        },
    };
    verdict.vanished.sort_unstable();
    verdict.changed.sort_unstable();
    let vanished: HashSet<&str> = verdict.vanished.iter().map(String::as_str).collect();
    let changed: HashSet<&str> = verdict.changed.iter().map(String::as_str).collect();
    let changes = &mut verdict.changes;
    for object in objects {
        if vanished.contains(object.key.as_str()) {
            if policy.remove_vanished && !object.annotated {
                changes.remove.extend(&object.task_ids);
            } else {
                changes.flag_vanished.extend(&object.task_ids);
            }
        } else if policy.reimport_changed && !policy.blob_mode && !object.annotated {
            changes.reimport.push((object.key, object.task_ids));
        } else {
            changes.flag_changed.extend(&object.task_ids);
        }
    }
    changes.clear = flagged
        .into_iter()
        .filter(|(key, _)| !vanished.contains(key.as_str()) && !changed.contains(key.as_str()))
        .map(|(_, task)| task)
        .collect();
    verdict
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(key: &str, annotated: bool) -> LinkedObject {
        LinkedObject {
            key: key.into(),
            task_ids: vec![key.len() as i64],
            annotated,
        }
    }

    fn listed(key: &str, size: u64) -> ObjectInfo {
        ObjectInfo {
            key: key.into(),
            size: Some(size),
            last_modified: None,
            etag: None,
        }
    }

    #[test]
    fn vanished_and_changed_objects_are_removed_flagged_or_cleared_as_asked() {
        let found = Found {
            vanished: vec!["gone-but-labeled".into(), "gone".into()],
            changed: vec![("grown".into(), Some("9:-".into()))],
            adopt: Vec::new(),
        };
        assert_eq!(found.concerned(), ["gone-but-labeled", "gone", "grown"]);
        let policy = Policy {
            remove_vanished: true,
            reimport_changed: true,
            blob_mode: false,
        };
        let verdict = decide(
            found,
            vec![
                object("gone", false),
                object("gone-but-labeled", true),
                object("grown", true),
            ],
            vec![("same".into(), 99), ("gone-but-labeled".into(), 16)],
            policy,
        );
        assert_eq!(verdict.vanished, ["gone", "gone-but-labeled"]);
        assert_eq!(verdict.changed, ["grown"]);
        assert_eq!(verdict.changes.remove, [4], "the unannotated task goes");
        assert_eq!(
            verdict.changes.flag_vanished,
            [16],
            "the annotated one stays, flagged"
        );
        assert_eq!(
            verdict.changes.flag_changed,
            [5],
            "an annotated task file is flagged"
        );
        assert!(verdict.changes.reimport.is_empty());
        assert_eq!(
            verdict.changes.clear,
            [99],
            "a flagged task whose object is back as it was"
        );
    }

    #[test]
    fn versions_are_told_by_etag_else_size_and_time() {
        let mut object = listed("k", 3);
        assert_eq!(fingerprint(&object).as_deref(), Some("3:-"));
        object.etag = Some("\"abc\"".into());
        let tagged = fingerprint(&object).unwrap();
        assert_eq!(
            tagged, "etag:ef09e0f4895a251d",
            "the hash earlier versions stored"
        );
        object.size = Some(4);
        assert_eq!(
            fingerprint(&object).unwrap(),
            tagged,
            "same tag, same version"
        );
        object.etag = None;
        object.last_modified = chrono::DateTime::from_timestamp_millis(1_700_000_000_123);
        assert_eq!(fingerprint(&object).as_deref(), Some("4:1700000000123"));
        let nothing = ObjectInfo {
            key: "r".into(),
            size: None,
            last_modified: None,
            etag: None,
        };
        assert_eq!(fingerprint(&nothing), None);
    }
}
