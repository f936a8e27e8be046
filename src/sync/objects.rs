//! Objects that vanished or changed since their tasks were imported, learned from the one
//! listing a sync makes anyway.
//!
//! While the pass lists, every object listed is noted compactly (a hash of its key, and
//! of its ETag or its size and time: 40 bytes, so a million objects cost 40 MB). At the end of a pass that
//! listed everything (not one resumed after a stop), each object the storage's tasks came
//! from is looked up there: not listed means `vanished`, listed with another size or time
//! than at its import means `changed`. Then, as the storage asks: the tasks of a vanished
//! object are deleted when nobody worked on them (`remove_vanished`), a changed task file
//! whose tasks have no annotation is imported again (`reimport_changed`); every other task
//! concerned is flagged for the Data Manager, and a flagged task whose object is back as it
//! was is flagged no more.

use std::collections::HashSet;
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};

use crate::db::objects::{LinkedObject, ObjectChanges};

use crate::storage::ObjectInfo;

/// Keys listed in the report and the storage's `meta`, at most.
pub(super) const LISTED: usize = 100;

/// One listed object, noted compactly: its key's hash and what tells its version.
#[derive(Debug, Clone, Copy)]
pub(super) struct Seen {
    key: u64,
    version: Version,
}

/// What tells one version of an object from another: the store's ETag where it gives one
/// (so the same bytes written again are no change), else size and time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Version {
    Tag(u64),
    SizeAndTime(Option<u64>, Option<i64>),
}

impl Seen {
    pub(super) fn of(object: &ObjectInfo) -> Seen {
        let version = match &object.etag {
            Some(tag) => Version::Tag(hash(tag.trim_matches('"'))),
            None => Version::SizeAndTime(
                object.size,
                object.last_modified.map(|t| t.timestamp_millis()),
            ),
        };
        Seen {
            key: hash(&object.key),
            version,
        }
    }

    /// As stored: `etag:<hash>` or `size:milliseconds` (`-` for what the store does not
    /// tell); `None` when it tells nothing (Redis): such objects are never seen changed.
    pub(super) fn fingerprint(&self) -> Option<String> {
        let mut out = String::new();
        self.write_fingerprint(&mut out).then_some(out)
    }

    /// Writes the fingerprint into `out` (cleared first); false when there is none. A
    /// sync compares a million of them: one buffer, no allocation each.
    fn write_fingerprint(&self, out: &mut String) -> bool {
        use std::fmt::Write;
        out.clear();
        let part = |out: &mut String, v: Option<i128>| match v {
            Some(v) => {
                let _ = write!(out, "{v}");
            }
            None => out.push('-'),
        };
        match self.version {
            Version::Tag(tag) => {
                let _ = write!(out, "etag:{tag:016x}");
            }
            Version::SizeAndTime(None, None) => return false,
            Version::SizeAndTime(size, modified) => {
                part(out, size.map(i128::from));
                out.push(':');
                part(out, modified.map(i128::from));
            }
        }
        true
    }
}

/// The fingerprint of a listed object.
pub(super) fn of_object(object: &ObjectInfo) -> Option<String> {
    Seen::of(object).fingerprint()
}

fn hash(key: &str) -> u64 {
    let mut hasher = DefaultHasher::new();
    key.hash(&mut hasher);
    hasher.finish()
}

/// Everything a pass listed, sorted for lookups.
pub(super) struct Listing(Vec<Seen>);

impl Listing {
    pub(super) fn new(mut seen: Vec<Seen>) -> Listing {
        seen.sort_unstable_by_key(|s| s.key);
        Listing(seen)
    }

    fn find(&self, key: &str) -> Option<&Seen> {
        let wanted = hash(key);
        let at = self.0.partition_point(|s| s.key < wanted);
        self.0.get(at).filter(|s| s.key == wanted)
    }
}

/// What the storage asks to be done about vanished and changed objects.
#[derive(Debug, Clone, Copy)]
pub(super) struct Policy {
    pub remove_vanished: bool,
    pub reimport_changed: bool,
    /// Objects are tasks themselves (nothing to import again).
    pub blob_mode: bool,
}

/// What a pass learned: the keys, and what to do.
#[derive(Debug, Default)]
pub(super) struct Verdict {
    pub vanished: Vec<String>,
    pub changed: Vec<String>,
    pub changes: ObjectChanges,
}

/// Compares the objects the tasks came from with the listing, one key at a time (in key
/// order, so the lists come out sorted).
pub(super) struct Judge {
    listing: Listing,
    verdict: Verdict,
    /// The fingerprint being compared (one buffer for every object).
    scratch: String,
}

impl Judge {
    pub(super) fn new(listing: Listing) -> Judge {
        Judge {
            listing,
            verdict: Verdict::default(),
            scratch: String::new(),
        }
    }

    /// One object the tasks came from, with its fingerprint at import.
    pub(super) fn see(&mut self, key: &str, then: Option<&str>) {
        let Some(seen) = self.listing.find(key) else {
            self.verdict.vanished.push(key.to_owned());
            return;
        };
        if !seen.write_fingerprint(&mut self.scratch) {
            return;
        }
        match then {
            Some(then) if then != self.scratch => self.verdict.changed.push(key.to_owned()),
            None => {
                let now = self.scratch.clone();
                self.verdict.changes.adopt.push((key.to_owned(), now));
            }
            _ => {}
        }
    }

    /// The fingerprint the listing gave `key`.
    pub(super) fn fingerprint_of(&self, key: &str) -> Option<String> {
        self.listing.find(key).and_then(Seen::fingerprint)
    }

    /// The objects to act on: those that vanished or changed.
    pub(super) fn concerned(&self) -> Vec<String> {
        let mut keys: Vec<String> = self.verdict.vanished.clone();
        keys.extend(self.verdict.changed.iter().cloned());
        keys
    }

    /// Decides about the concerned objects (`objects`: their tasks) and the tasks flagged
    /// before (`flagged`: key, task): remove, import again, flag, or clear a flag.
    pub(super) fn decide(
        mut self,
        objects: Vec<LinkedObject>,
        flagged: Vec<(String, i64)>,
        policy: Policy,
    ) -> Verdict {
        let verdict = &mut self.verdict;
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
        self.verdict
    }
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
    fn vanished_and_changed_objects_are_told_apart_from_the_rest() {
        let listing = Listing::new(vec![
            Seen::of(&listed("same", 1)),
            Seen::of(&listed("grown", 9)),
        ]);
        let mut judge = Judge::new(listing);
        for (key, then) in [
            ("gone", Some("1:-")),
            ("gone-but-labeled", None),
            ("grown", Some("1:-")),
            ("same", Some("1:-")),
        ] {
            judge.see(key, then);
        }
        assert_eq!(judge.concerned(), ["gone", "gone-but-labeled", "grown"]);
        let policy = Policy {
            remove_vanished: true,
            reimport_changed: true,
            blob_mode: false,
        };
        let verdict = judge.decide(
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
        assert_eq!(Seen::of(&object).fingerprint().as_deref(), Some("3:-"));
        object.etag = Some("\"abc\"".into());
        let tagged = Seen::of(&object).fingerprint().unwrap();
        assert!(tagged.starts_with("etag:"), "{tagged}");
        object.size = Some(4);
        assert_eq!(
            Seen::of(&object).fingerprint().unwrap(),
            tagged,
            "same tag, same version"
        );
        let nothing = ObjectInfo {
            key: "r".into(),
            size: None,
            last_modified: None,
            etag: None,
        };
        assert_eq!(Seen::of(&nothing).fingerprint(), None);
    }
}
