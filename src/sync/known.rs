//! What a storage's tasks already came from, held compactly for one pass: the dedupe step
//! of import sync, and what tells vanished and changed objects apart.
//!
//! A pass reads the storage's links once while its listing runs (from the link digest the
//! last pass left, when the links have not changed since: [`DigestDraft`]; else in one
//! scan of the unique link key), and keeps 24 bytes per object: a 128-bit hash of the key
//! (no two keys of a storage share one in practice: the odds are below 10^-25 for a million
//! keys), a hash of its fingerprint at import, and its number of tasks. Each listed key is
//! then one lookup in memory, not a query: deciding that nothing is new costs no database
//! work per key. The insert still has the last word on duplicates (the unique link key,
//! migration 0014), so a key wrongly thought new could never become a second task. Objects
//! never looked up by the end of a whole listing have vanished. Lookups go a batch at a
//! time in hash order (neighbouring memory), and may come from the listing's own threads
//! ([`Held`]).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use xxhash_rust::xxh3::{xxh3_64, xxh3_128};

use crate::db::objects::{LinkPiece, LinkedKey};
use crate::db::tasks::InsertOutcome;
use crate::db::{Db, DbError};
use crate::progress::Progress;
use crate::storage::{KeyFilter, ObjectInfo, Sieve, Storage};

/// One object the storage's tasks came from.
#[derive(Debug, Clone, Copy)]
pub(super) struct Known {
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
    /// Reads the storage's links into memory: from its link digest when one is current,
    /// else in one scan of every link.
    pub(super) async fn of_storage(
        db: &Db,
        storage_id: i64,
    ) -> Result<(KnownObjects, Snapshot), DbError> {
        let read = db
            .read_links(storage_id, Vec::new(), |entries, piece| match piece {
                LinkPiece::Digest(bytes) => {
                    entries.extend(bytes.chunks_exact(ENTRY_BYTES).map(Known::decode));
                }
                LinkPiece::Link(object) => entries.push(Known::of(object)),
            })
            .await?;
        let mut known = KnownObjects::new(read.state);
        for key in &read.partial {
            known.mark_partial(key);
        }
        let snapshot = Snapshot {
            version: read.version,
            from_digest: read.from_digest,
        };
        Ok((known, snapshot))
    }

    /// A task file only partly imported: listed, it is to be read again.
    fn mark_partial(&mut self, key: &str) {
        if let Some(at) = self.find(split(xxh3_128(key.as_bytes()))) {
            self.entries[at].links = 0;
        }
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
    /// A sieve for a pass listing through `provider` with `filter`, shared with the listing.
    pub(super) fn shared(
        filter: KeyFilter,
        provider: &Arc<dyn Storage>,
        progress: &Arc<Progress>,
    ) -> Arc<Held> {
        Arc::new(Held {
            known: OnceLock::new(),
            filter,
            provider: provider.clone(),
            progress: progress.clone(),
            links: AtomicU64::new(0),
        })
    }

    /// Reads the storage's links and hands them to the sieve too.
    pub(super) async fn read(
        &self,
        db: &Db,
        storage_id: i64,
    ) -> Result<(Arc<KnownObjects>, Snapshot), DbError> {
        let read = KnownObjects::of_storage(db, storage_id)
            .await
            .map(|(known, snapshot)| (Arc::new(known), snapshot));
        let _ = self
            .known
            .set(read.as_ref().ok().map(|(known, _)| known.clone()));
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
    fn of(object: LinkedKey<'_>) -> Known {
        Known {
            key: split(xxh3_128(object.key.as_bytes())),
            fingerprint: object.fingerprint.map_or(0, fingerprint_hash),
            links: u32::try_from(object.links).unwrap_or(u32::MAX),
        }
    }

    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.key[0].to_le_bytes());
        out.extend_from_slice(&self.key[1].to_le_bytes());
        out.extend_from_slice(&self.fingerprint.to_le_bytes());
        out.extend_from_slice(&self.links.to_le_bytes());
    }

    /// An entry from [`ENTRY_BYTES`] bytes of a digest.
    fn decode(bytes: &[u8]) -> Known {
        let word = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap_or([0; 8]));
        let half = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap_or([0; 4]));
        Known {
            key: [word(0), word(8)],
            fingerprint: half(16),
            links: half(20),
        }
    }
}

/// Bytes of one entry in a link digest, and entries per stored chunk.
const ENTRY_BYTES: usize = 24;
const DIGEST_CHUNK: usize = 65_536;

/// The `links_version` a pass read the storage's links at, and whether from a digest.
#[derive(Debug, Clone, Copy)]
pub(super) struct Snapshot {
    pub version: i64,
    pub from_digest: bool,
}

/// The link digest a pass leaves for the next one: the links it read plus those it added,
/// as long as it alone changed them (each of its inserts moved the version by exactly one
/// and found no link already there). Anything else, and there is none to leave.
pub(super) struct DigestDraft {
    snapshot: Snapshot,
    /// The version after the pass's last insert.
    version: i64,
    /// The entries the pass added, a chunk per insert (each of its exact size).
    added: Vec<Vec<Known>>,
    valid: bool,
}

impl DigestDraft {
    pub(super) fn new(snapshot: Snapshot) -> DigestDraft {
        DigestDraft {
            snapshot,
            version: snapshot.version,
            added: Vec::new(),
            valid: true,
        }
    }

    /// The entries of the links an insert is about to add (key and fingerprint per task:
    /// blob tasks, one task per object).
    pub(super) fn entries<'a>(
        links: impl Iterator<Item = (&'a str, Option<&'a str>)>,
    ) -> Vec<Known> {
        links
            .map(|(key, fingerprint)| {
                Known::of(LinkedKey {
                    key,
                    fingerprint,
                    links: 1,
                })
            })
            .collect()
    }

    /// Takes in an insert that added `entries`, and what it did.
    pub(super) fn note_insert(&mut self, entries: Vec<Known>, outcome: &InsertOutcome) {
        match outcome.links_version {
            Some(now) if now == self.version + 1 && outcome.already_linked == 0 => {
                self.version = now;
                self.added.push(entries);
            }
            _ => self.valid = false,
        }
    }

    /// The digest to store, with its version: `None` when there is none to leave or the
    /// one read is still current.
    pub(super) fn finish(self, known: &KnownObjects) -> Option<(i64, Vec<Vec<u8>>)> {
        if !self.valid || (self.snapshot.from_digest && self.added.is_empty()) {
            return None;
        }
        // Stored in key order: the next pass finds it sorted (a re-sync, which may come
        // every minute, spends nothing on it; this pass pays once).
        let added: usize = self.added.iter().map(Vec::len).sum();
        let mut entries = Vec::with_capacity(known.entries.len() + added);
        entries.extend_from_slice(&known.entries);
        for chunk in self.added {
            entries.extend(chunk);
        }
        entries.sort_unstable_by_key(|entry| entry.key);
        let chunks = entries
            .chunks(DIGEST_CHUNK)
            .map(|entries| {
                let mut chunk = Vec::with_capacity(entries.len() * ENTRY_BYTES);
                entries.iter().for_each(|entry| entry.encode(&mut chunk));
                chunk
            })
            .collect();
        Some((self.version, chunks))
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
        Known::of(LinkedKey {
            key,
            fingerprint,
            links,
        })
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
        known.mark_partial("partial.json");
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

    #[test]
    fn a_digest_holds_what_the_links_said_and_what_the_pass_added() {
        let known = KnownObjects::new(vec![
            linked("a.png", Some("1:1"), 1),
            linked("b.png", None, 1),
        ]);
        let mut draft = DigestDraft::new(Snapshot {
            version: 4,
            from_digest: false,
        });
        let inserted = InsertOutcome {
            created: 1,
            links_version: Some(5),
            ..InsertOutcome::default()
        };
        draft.note_insert(
            DigestDraft::entries([("c.png", Some("2:2"))].into_iter()),
            &inserted,
        );
        let (version, chunks) = draft.finish(&known).expect("a digest to leave");
        assert_eq!(version, 5);
        let entries = chunks
            .iter()
            .flat_map(|chunk| chunk.chunks_exact(ENTRY_BYTES).map(Known::decode))
            .collect();
        let read = KnownObjects::new(entries);
        assert_eq!(
            read.look_up_all(&[
                ("a.png", Some("1:1")),
                ("b.png", Some("3:3")),
                ("c.png", Some("2:2")),
                ("d.png", None),
            ]),
            [
                Lookup::Same { links: 1 },
                Lookup::Unfingerprinted { links: 1 },
                Lookup::Same { links: 1 },
                Lookup::New,
            ]
        );
    }

    #[test]
    fn no_digest_is_left_over_links_someone_else_changed_nor_over_a_current_one() {
        let known = KnownObjects::new(vec![linked("a.png", Some("1:1"), 1)]);
        let read_from_digest = Snapshot {
            version: 4,
            from_digest: true,
        };
        let mut skipped = DigestDraft::new(read_from_digest);
        let moved_by_another = InsertOutcome {
            links_version: Some(6),
            ..InsertOutcome::default()
        };
        skipped.note_insert(Vec::new(), &moved_by_another);
        assert!(
            skipped.finish(&known).is_none(),
            "someone else changed the links"
        );
        let mut clashed = DigestDraft::new(read_from_digest);
        let found_a_link = InsertOutcome {
            already_linked: 1,
            links_version: Some(5),
            ..InsertOutcome::default()
        };
        clashed.note_insert(Vec::new(), &found_a_link);
        assert!(clashed.finish(&known).is_none(), "a link was already there");
        assert!(
            DigestDraft::new(read_from_digest).finish(&known).is_none(),
            "the digest read is still current"
        );
    }
}
