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
//! whole listing have vanished. Lookups go a batch at a time in hash order (neighbouring
//! memory), and may come from the listing's own threads ([`Held`]).

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use xxhash_rust::xxh3::{xxh3_64, xxh3_128};

use crate::db::objects::LinkedKey;
use crate::db::{Db, DbError};
use crate::progress::Progress;
use crate::storage::{KeyFilter, ObjectInfo, Sieve, Storage};

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
    /// Which entries a listing has looked up (from the listing's threads too: see
    /// [`super::Held`]).
    seen: Vec<AtomicBool>,
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
        let seen = entries.iter().map(|_| AtomicBool::new(false)).collect();
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

    /// Looks up a batch of listed objects (each key with its fingerprint now, if the storage
    /// tells it) and notes they were listed; the answers come in the batch's order. The
    /// lookups go in the order of the keys' hashes: neighbouring lookups then touch
    /// neighbouring parts of the table, where lookups in listing order jump across all of
    /// it with a cache miss or two each (`find` was 6.5% of a re-sync's time).
    pub(super) fn look_up_all(&self, objects: &[(&str, Option<&str>)]) -> Vec<Lookup> {
        let mut order: Vec<([u64; 2], u32)> = objects
            .iter()
            .enumerate()
            .map(|(i, (key, _))| (split(xxh3_128(key.as_bytes())), i as u32))
            .collect();
        order.sort_unstable_by_key(|(hash, _)| *hash);
        let mut lookups = vec![Lookup::New; objects.len()];
        for (hash, i) in order {
            let (_, fingerprint) = objects[i as usize];
            lookups[i as usize] = self.classify(self.find(hash), fingerprint);
        }
        lookups
    }

    /// What the entry found at `at` (if any) says of an object listed with `fingerprint`.
    fn classify(&self, at: Option<usize>, fingerprint: Option<&str>) -> Lookup {
        let Some(at) = at else {
            return Lookup::New;
        };
        self.seen[at].store(true, Ordering::Relaxed);
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
        self.seen
            .iter()
            .filter(|seen| !seen.load(Ordering::Relaxed))
            .count()
    }

    /// Whether `key` is a linked object no lookup found.
    pub(super) fn was_unseen(&self, key: &str) -> bool {
        self.find(split(xxh3_128(key.as_bytes())))
            .is_some_and(|at| !self.seen[at].load(Ordering::Relaxed))
    }
}

/// What a pass holds, as the sieve its listing asks ([`Storage::list_sifted`]): objects
/// the filter keeps whose tasks came from them as they are now. The listing starts before
/// the storage's links are read (the two overlap), so asking waits for the read.
pub(super) struct Held {
    /// The storage's linked objects once read; `None` if the read failed or the pass
    /// ended first (the listing then leaves nothing out).
    known: OnceLock<Option<Arc<KnownObjects>>>,
    filter: KeyFilter,
    provider: Arc<dyn Storage>,
    progress: Arc<Progress>,
    /// Tasks of the objects left out.
    links: AtomicU64,
}

impl Held {
    pub(super) fn new(
        filter: KeyFilter,
        provider: Arc<dyn Storage>,
        progress: Arc<Progress>,
    ) -> Held {
        Held {
            known: OnceLock::new(),
            filter,
            provider,
            progress,
            links: AtomicU64::new(0),
        }
    }

    /// Reads the storage's links (one scan) and hands them to the sieve too.
    pub(super) async fn read(
        &self,
        db: &Db,
        storage_id: i64,
    ) -> Result<Arc<KnownObjects>, DbError> {
        let read = KnownObjects::of_storage(db, storage_id).await.map(Arc::new);
        let _ = self.known.set(read.as_ref().ok().cloned());
        read
    }

    /// A guard that lets a waiting listing go on (leaving nothing out) if the pass ends
    /// before the links are read, so no walk thread waits for ever.
    pub(super) fn unblock_on_drop(self: &Arc<Held>) -> impl Drop + use<> {
        struct Unblock(Arc<Held>);
        impl Drop for Unblock {
            fn drop(&mut self) {
                let _ = self.0.known.set(None);
            }
        }
        Unblock(self.clone())
    }

    /// Tasks of the objects the listing left out.
    pub(super) fn links(&self) -> u64 {
        self.links.load(Ordering::Relaxed)
    }
}

impl Sieve for Held {
    fn held(&self, objects: &[ObjectInfo]) -> Vec<bool> {
        let mut held = vec![false; objects.len()];
        let Some(known) = self.known.wait() else {
            return held;
        };
        // Objects the filter drops are the pass's to skip (they are not looked up).
        let wanted: Vec<usize> = (0..objects.len())
            .filter(|&i| {
                let key = &objects[i].key;
                self.filter.matches(self.provider.filter_subject(key))
            })
            .collect();
        // Their fingerprints, written one after the other into one string.
        let mut prints = String::with_capacity(wanted.len() * 24);
        let spans: Vec<Option<(usize, usize)>> = wanted
            .iter()
            .map(|&i| {
                let from = prints.len();
                let printed = super::objects::push_fingerprint(&objects[i], &mut prints);
                printed.then_some((from, prints.len()))
            })
            .collect();
        let listed: Vec<(&str, Option<&str>)> = wanted
            .iter()
            .zip(&spans)
            .map(|(&i, span)| (objects[i].key.as_str(), span.map(|(a, b)| &prints[a..b])))
            .collect();
        let (mut count, mut links) = (0, 0);
        for (&i, lookup) in wanted.iter().zip(known.look_up_all(&listed)) {
            if let Lookup::Same { links: of_this } = lookup {
                held[i] = true;
                count += 1;
                links += of_this;
            }
        }
        self.links.fetch_add(links, Ordering::Relaxed);
        self.progress.scanned.fetch_add(count, Ordering::Relaxed);
        self.progress.existed.fetch_add(links, Ordering::Relaxed);
        held
    }

    fn is_empty(&self) -> bool {
        self.known
            .wait()
            .as_ref()
            .is_none_or(|known| known.is_empty())
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
        let known = KnownObjects::new(vec![
            linked("same.png", Some("3:100"), 1),
            linked("grown.json", Some("3:100"), 4),
            linked("old.png", None, 1),
            linked("partial.json", Some("9:9"), 2),
            linked("gone.png", Some("1:1"), 1),
        ]);
        let lookups = known.look_up_all(&[
            ("new.png", Some("1:1")),
            ("same.png", Some("3:100")),
            ("grown.json", Some("9:100")),
            ("old.png", Some("3:1")),
            ("partial.json", Some("9:9")),
        ]);
        assert_eq!(
            lookups,
            [
                Lookup::New,
                Lookup::Same { links: 1 },
                Lookup::Changed { links: 4 },
                Lookup::Unfingerprinted { links: 1 },
                // A task file cut short is read again.
                Lookup::New,
            ]
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
        let known = KnownObjects::new(keys.iter().map(|k| linked(k, Some("1:1"), 1)).collect());
        for batch in keys.chunks(5_000) {
            let listed: Vec<(&str, Option<&str>)> =
                batch.iter().map(|k| (k.as_str(), Some("1:1"))).collect();
            let lookups = known.look_up_all(&listed);
            assert!(lookups.iter().all(|l| *l == Lookup::Same { links: 1 }));
        }
        let unknown: Vec<String> = (50_000..60_000)
            .map(|i| format!("d0/img_{i}.png"))
            .collect();
        let listed: Vec<(&str, Option<&str>)> =
            unknown.iter().map(|k| (k.as_str(), None)).collect();
        assert!(known.look_up_all(&listed).iter().all(|l| *l == Lookup::New));
        assert_eq!(known.unseen(), 0);
    }
}
