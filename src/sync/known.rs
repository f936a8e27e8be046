//! What a storage's tasks already came from, held compactly for one pass: the dedupe step
//! of import sync, and what tells vanished and changed objects apart.
//!
//! A pass reads the storage's links once, in one scan of their b-tree, while its listing
//! runs, and keeps 24 bytes per object: a 128-bit hash of the key (no two keys of a storage
//! share one in practice: the odds are below 10^-25 for a million keys), a hash of its
//! fingerprint at import, and its number of tasks. Each listed key is then one lookup in
//! memory, not a query: deciding that nothing is new costs no database work per key. The
//! insert still has the last word on duplicates (a link's primary key), so a key wrongly
//! thought new could never become a second task. Objects never looked up by the end of a
//! whole listing have vanished.

use std::collections::HashSet;

use xxhash_rust::xxh3::{xxh3_64, xxh3_128};

use crate::db::objects::LinkedKey;
use crate::db::{Db, DbError};

/// One object the storage's tasks came from.
#[derive(Debug, Clone, Copy)]
struct Known {
    /// The key's hash, as two words (8-byte alignment keeps the entry at 24 bytes).
    key: [u64; 2],
    /// The hash of the fingerprint at import, 0 when none was recorded.
    fingerprint: u32,
    /// Tasks from it; 0 for a task file only partly imported (to be read again).
    links: u32,
}

/// What a listed object is to the storage's tasks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Lookup {
    /// No task came from it (or its task file was only partly imported).
    New,
    /// `links` tasks came from it, and it is as it was when they did.
    Same { links: u64 },
    /// Tasks came from it, and it changed since.
    Changed { links: u64 },
    /// Tasks came from it before fingerprints were kept: its fingerprint is to be recorded.
    Unfingerprinted { links: u64 },
}

/// The storage's linked objects, sorted by key hash, with a radix index over them (the
/// top bits of a hash give the range holding it: one or two probes, no search).
pub(super) struct KnownObjects {
    entries: Vec<Known>,
    /// `starts[b]..starts[b + 1]` are the entries whose hash starts with `b`.
    starts: Vec<u32>,
    bits: u32,
    /// Which entries a listing has looked up.
    seen: Vec<bool>,
}

impl KnownObjects {
    /// Reads the storage's links (one scan) into memory.
    pub(super) async fn of_storage(db: &Db, storage_id: i64) -> Result<KnownObjects, DbError> {
        let partial: HashSet<u128> = db
            .partial_task_files(storage_id)
            .await?
            .iter()
            .map(|key| xxh3_128(key.as_bytes()))
            .collect();
        let entries = db
            .visit_linked_keys(storage_id, Vec::new(), move |entries, object| {
                entries.push(Known::of(object, &partial))
            })
            .await?;
        Ok(KnownObjects::new(entries))
    }

    fn new(mut entries: Vec<Known>) -> KnownObjects {
        entries.sort_unstable_by_key(|e| e.key);
        entries.shrink_to_fit();
        // About one entry per range: 2^bits ≥ the number of entries.
        let bits = (usize::BITS - entries.len().leading_zeros()).max(1);
        let mut starts = vec![0u32; (1 << bits) + 1];
        for entry in &entries {
            starts[range_of(entry.key, bits) + 1] += 1;
        }
        for b in 1..starts.len() {
            starts[b] += starts[b - 1];
        }
        let seen = vec![false; entries.len()];
        KnownObjects {
            entries,
            starts,
            bits,
            seen,
        }
    }

    /// No object of the storage has tasks (a first sync).
    pub(super) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Looks a listed object up (`fingerprint`: its fingerprint now, if the storage tells
    /// it), and notes it was listed.
    pub(super) fn look_up(&mut self, key: &str, fingerprint: Option<&str>) -> Lookup {
        let Some(at) = self.find(split(xxh3_128(key.as_bytes()))) else {
            return Lookup::New;
        };
        self.seen[at] = true;
        let known = self.entries[at];
        let links = u64::from(known.links);
        match (known.links, known.fingerprint, fingerprint) {
            (0, _, _) => Lookup::New,
            (_, 0, Some(_)) => Lookup::Unfingerprinted { links },
            (_, then, Some(now)) if then != fingerprint_hash(now) => Lookup::Changed { links },
            _ => Lookup::Same { links },
        }
    }

    fn find(&self, key: [u64; 2]) -> Option<usize> {
        let range = range_of(key, self.bits);
        let (from, to) = (self.starts[range] as usize, self.starts[range + 1] as usize);
        (from..to).find(|&at| self.entries[at].key == key)
    }

    /// How many objects no lookup has found: after a whole listing, the vanished ones.
    pub(super) fn unseen(&self) -> usize {
        self.seen.iter().filter(|seen| !**seen).count()
    }

    /// Whether `key` is a linked object no lookup found.
    pub(super) fn was_unseen(&self, key: &str) -> bool {
        self.find(split(xxh3_128(key.as_bytes())))
            .is_some_and(|at| !self.seen[at])
    }
}

impl Known {
    fn of(object: LinkedKey<'_>, partial: &HashSet<u128>) -> Known {
        let hash = xxh3_128(object.key.as_bytes());
        Known {
            key: split(hash),
            fingerprint: object.fingerprint.map_or(0, fingerprint_hash),
            links: if partial.contains(&hash) {
                0
            } else {
                u32::try_from(object.links).unwrap_or(u32::MAX)
            },
        }
    }
}

/// A fingerprint's hash, never 0 (which stands for none). Two fingerprints sharing one
/// would hide a change: one chance in four billion per changed object.
fn fingerprint_hash(fingerprint: &str) -> u32 {
    (xxh3_64(fingerprint.as_bytes()) as u32).max(1)
}

fn split(hash: u128) -> [u64; 2] {
    [(hash >> 64) as u64, hash as u64]
}

/// The range of the radix index a key hash falls in: its top `bits` bits.
fn range_of(key: [u64; 2], bits: u32) -> usize {
    (key[0] >> (64 - bits)) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    fn linked(key: &str, fingerprint: Option<&str>, links: u64) -> Known {
        Known::of(
            LinkedKey {
                key,
                fingerprint,
                links,
            },
            &HashSet::from([xxh3_128(b"partial.json")]),
        )
    }

    #[test]
    fn listed_objects_are_new_same_changed_or_unfingerprinted() {
        let mut known = KnownObjects::new(vec![
            linked("same.png", Some("3:100"), 1),
            linked("grown.json", Some("3:100"), 4),
            linked("old.png", None, 1),
            linked("partial.json", Some("9:9"), 2),
            linked("gone.png", Some("1:1"), 1),
        ]);
        assert_eq!(known.look_up("new.png", Some("1:1")), Lookup::New);
        assert_eq!(
            known.look_up("same.png", Some("3:100")),
            Lookup::Same { links: 1 }
        );
        assert_eq!(
            known.look_up("grown.json", Some("9:100")),
            Lookup::Changed { links: 4 }
        );
        assert_eq!(
            known.look_up("old.png", Some("3:1")),
            Lookup::Unfingerprinted { links: 1 }
        );
        assert_eq!(
            known.look_up("partial.json", Some("9:9")),
            Lookup::New,
            "a task file cut short is read again"
        );
        assert_eq!(known.unseen(), 1);
        assert!(known.was_unseen("gone.png"));
        assert!(!known.was_unseen("same.png"));
        assert!(!known.was_unseen("never-linked.png"));
    }

    #[test]
    fn every_key_of_a_large_storage_is_found_and_no_other() {
        let keys: Vec<String> = (0..50_000)
            .map(|i| format!("d{}/img_{i}.png", i % 97))
            .collect();
        let mut known = KnownObjects::new(keys.iter().map(|k| linked(k, Some("1:1"), 1)).collect());
        for key in &keys {
            assert_eq!(known.look_up(key, Some("1:1")), Lookup::Same { links: 1 });
        }
        for i in 50_000..60_000 {
            assert_eq!(known.look_up(&format!("d0/img_{i}.png"), None), Lookup::New);
        }
        assert_eq!(known.unseen(), 0);
    }
}
