//! Import sync: a source storage's objects become tasks, each object exactly once.
//!
//! One pass: the listing streams through the regex filter into batches of keys (in a task
//! of its own, so listing overlaps with the database work); each batch drops the keys the
//! storage's tasks already came from, looked up in memory ([`known`]); new keys become
//! tasks (blob mode) or are read with bounded concurrency and parsed (task mode); each
//! batch is inserted in one transaction (blob tasks: the next batch is made meanwhile).
//! A whole listing is handed what the pass holds as a sieve ([`known::Held`]): a provider
//! that can ask it in its own threads (the local walk) leaves unchanged objects out before
//! they are sorted and streamed, so a sync with nothing new does little past its walk.
//! A bad task file is recorded and the pass goes on; a storage failure ends the pass, and
//! whatever was inserted before stays linked. Each insert transaction also records the
//! storage's cursor (the last key it covers): a pass cut short by a stopped server is
//! resumed after that key when the server starts again ([`Start::FromCursor`]; S3 and GCS
//! start their listing there, the other providers list and skip). Task files too large to
//! hold are handled by [`spool`].

mod known;
mod objects;
mod spool;
pub mod task_file;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use futures_util::{StreamExt, stream};
use serde_json::{Map, Value, json};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::db::storages::StorageRow;
use crate::db::tasks::{InsertOutcome, Link, NewTask, SyncCursor};
use crate::db::{Db, DbError};
use crate::label_config::UNDEFINED_DATA_KEY;
use crate::progress::{CounterNames, ErrorLines, Progress, Report};
use crate::storage::{KeyFilter, ObjectInfo, Storage, StorageError};
use known::{DigestDraft, Held, Known, KnownObjects, Lookup};
use objects::Found;

/// Keys handled per batch (and insert transaction, in blob mode).
const KEY_BATCH: usize = 5_000;
/// Task files read before their tasks are inserted.
const FILE_CHUNK: usize = 64;
/// Task files read at the same time.
const READ_CONCURRENCY: usize = 8;

/// The `meta` keys an import reports its progress under (Label Studio's names).
pub static COUNTERS: CounterNames = CounterNames {
    scanned: "objects_scanned",
    created: "tasks_created",
    existed: Some("tasks_existed"),
    failed: "files_failed",
};

/// Why an import sync stopped.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("{0}")]
    Storage(#[from] StorageError),
    #[error("{0}")]
    Db(#[from] DbError),
    #[error("{0}")]
    Settings(String),
    #[error("{0}")]
    Scratch(String),
    /// The server is stopping: the pass ended at a batch boundary, its cursor stored.
    #[error("the sync was stopped by the server stop")]
    Stopped,
}

/// What an import sync did.
#[derive(Debug, Default, Clone)]
pub struct ImportReport {
    pub created: u64,
    /// Tasks that already existed for keys seen in this pass.
    pub existed: u64,
    /// One readable line per task file that could not be imported.
    pub errors: ErrorLines,
    /// Objects the storage's tasks came from that it no longer lists, and those changed
    /// since their import (a pass that listed everything learns them).
    pub vanished: Vec<String>,
    pub changed: Vec<String>,
    /// Tasks deleted because their object vanished, and tasks imported again.
    pub removed: u64,
    pub reimported: u64,
}

impl Report for ImportReport {
    fn count(&self) -> u64 {
        self.created
    }

    fn errors(&self) -> &ErrorLines {
        &self.errors
    }

    fn write_meta(&self, meta: &mut Map<String, Value>) {
        if !self.errors.is_empty() {
            meta.insert("tasks_failed_validation".into(), json!(self.errors.total()));
        }
        if !self.vanished.is_empty() || !self.changed.is_empty() {
            let first =
                |keys: &[String]| json!(keys.iter().take(objects::LISTED).collect::<Vec<_>>());
            meta.insert("objects_vanished".into(), json!(self.vanished.len()));
            meta.insert("objects_changed".into(), json!(self.changed.len()));
            meta.insert("vanished_keys".into(), first(&self.vanished));
            meta.insert("changed_keys".into(), first(&self.changed));
            meta.insert("tasks_removed".into(), json!(self.removed));
            meta.insert("tasks_reimported".into(), json!(self.reimported));
        }
    }
}

/// Where an import pass starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// At the first object: every sync a user or client asks for, so an object added
    /// anywhere since the last sync is found.
    Afresh,
    /// After the storage's cursor: a sync cut short by a stopped server, started again
    /// when the server starts, goes on where it was instead of listing everything again.
    FromCursor,
}

/// Runs one import pass of `storage` through `provider`, until done or until `stop`
/// (checked between insert transactions, each of which stores the cursor).
pub async fn import(
    db: &Db,
    storage: &StorageRow,
    provider: Arc<dyn Storage>,
    progress: Arc<Progress>,
    start: Start,
    stop: CancellationToken,
) -> Result<ImportReport, SyncError> {
    let common = &storage.settings.common;
    let filter = KeyFilter::new(common.regex_filter.as_deref()).map_err(SyncError::Settings)?;
    let cursor = resume_cursor(storage, start, &progress);
    let reader = reader_for(db, storage.project_id).await?;
    let context = ImportContext::new(
        db,
        storage,
        reader,
        (provider.clone(), progress.clone()),
        stop,
    );
    let held = Held::shared(filter.clone(), &provider, &progress);
    let _unblock = held.unblock_on_drop();
    let (sender, batches) = mpsc::channel(2);
    let listing = Listing {
        provider,
        recursive: common.recursive_scan,
        cursor,
        sieve: held.clone(),
        filter,
        progress,
    };
    let lister = tokio::spawn(listing.into_batches(sender));
    // Read while the listing runs: one scan of the storage's links, or their digest.
    let (known, snapshot) = held.read(db, storage.id).await?;
    if context.blob_mode {
        *context.digest() = Some(DigestDraft::new(snapshot));
    }
    let mut found = Found::default();
    let report = context.import_batches(batches, &known, &mut found).await;
    if report.is_err() {
        lister.abort();
        return report;
    }
    // The listing ended: by reaching its end, or by a panic that must not pass for one.
    let whole = lister
        .await
        .map_err(|err| SyncError::Settings(format!("listing stopped: {err}")))?;
    let mut report = report?;
    report.existed += held.links();
    if whole {
        let policy = objects::Policy::of(common);
        context
            .reconcile(known.clone(), found, policy, &mut report)
            .await?;
    }
    context.leave_digest(&known).await?;
    Ok(report)
}

/// Where a pass starts listing: after the storage's cursor when it resumes one.
fn resume_cursor(storage: &StorageRow, start: Start, progress: &Progress) -> Option<String> {
    let cursor = match start {
        Start::FromCursor => storage.sync_cursor.clone(),
        Start::Afresh => None,
    }?;
    tracing::info!(storage = storage.id, cursor, "resuming an interrupted sync");
    let _ = progress.resumed_after.set(cursor.clone());
    Some(cursor)
}

/// An insert transaction under way on its own task, and the digest entries of its links
/// (when the pass leaves a digest).
struct Inserting {
    task: tokio::task::JoinHandle<Result<InsertOutcome, DbError>>,
    entries: Vec<Known>,
}

/// A listed object that passed the filter.
#[derive(Clone)]
struct Listed {
    key: String,
    /// What it looks like now (size and time, or ETag), where the storage tells it.
    fingerprint: Option<String>,
}

/// Objects of one stretch of the listing that pass the filter.
#[derive(Default)]
struct KeyBatch {
    objects: Vec<Listed>,
    /// The last key listed in this stretch, filtered out or not (once taken).
    through: String,
    /// The filter dropped the last key listed (`through` holds it); else the last object
    /// kept is where the stretch got to, and `through` is set from it when the batch is
    /// taken (not copied for every object).
    dropped_last: bool,
}

impl KeyBatch {
    /// Takes in one listed object: the object if the filter keeps it, and how far it got.
    fn add(&mut self, object: ObjectInfo, kept: bool) {
        self.dropped_last = !kept;
        if kept {
            self.objects.push(Listed {
                fingerprint: objects::fingerprint(&object),
                key: object.key,
            });
        } else {
            self.through = object.key;
        }
    }

    /// Whether anything was listed since the pass began.
    fn is_empty(&self) -> bool {
        self.objects.is_empty() && self.through.is_empty()
    }

    /// The batch so far; the next one goes on from the same point.
    fn take(&mut self) -> KeyBatch {
        if let (false, Some(last)) = (self.dropped_last, self.objects.last()) {
            self.through.clone_from(&last.key);
        }
        KeyBatch {
            objects: std::mem::take(&mut self.objects),
            through: self.through.clone(),
            dropped_last: self.dropped_last,
        }
    }
}

/// What a pass lists, and how.
struct Listing {
    provider: Arc<dyn Storage>,
    recursive: bool,
    /// Where a resumed pass starts (after this key).
    cursor: Option<String>,
    /// What a whole listing may leave out: the objects the pass holds as they are.
    sieve: Arc<Held>,
    filter: KeyFilter,
    progress: Arc<Progress>,
}

impl Listing {
    /// Streams the listing (after the cursor when resuming) into filtered key batches;
    /// stops at the first listing error. True when it listed everything (no cursor, no
    /// error): only such a listing tells which objects vanished.
    async fn into_batches(self, sender: mpsc::Sender<Result<KeyBatch, StorageError>>) -> bool {
        let started = std::time::Instant::now();
        let provider = &self.provider;
        let mut listing = match &self.cursor {
            Some(after) => provider.list_after(self.recursive, after),
            None => provider.list_sifted(self.recursive, self.sieve.clone()),
        };
        let mut batch = KeyBatch::default();
        while let Some(item) = listing.next().await {
            let object = match item {
                Ok(object) => object,
                Err(err) => {
                    let _ = sender.send(Err(err)).await;
                    return false;
                }
            };
            self.progress.scanned.fetch_add(1, Ordering::Relaxed);
            let kept = self.filter.matches(provider.filter_subject(&object.key));
            batch.add(object, kept);
            if batch.objects.len() == KEY_BATCH && sender.send(Ok(batch.take())).await.is_err() {
                return false;
            }
        }
        if !batch.is_empty() {
            let _ = sender.send(Ok(batch.take())).await;
        }
        tracing::debug!(elapsed = ?started.elapsed(), "listing done");
        self.cursor.is_none()
    }
}

struct ImportContext {
    db: Db,
    storage_id: i64,
    project_id: i64,
    /// Reads task files into rows (authors, prediction regions).
    reader: task_file::Reader,
    provider: Arc<dyn Storage>,
    progress: Arc<Progress>,
    /// The settings this pass lists with, as stored: the cursor moves only while they are
    /// still the storage's (an edit during the pass clears it for good).
    settings: String,
    /// Each object is a task (`use_blob_urls`), rather than a file of tasks.
    blob_mode: bool,
    stop: CancellationToken,
    /// When a transaction last moved the cursor.
    cursor_moved: std::sync::Mutex<std::time::Instant>,
    /// The link digest this pass will leave (blob tasks only: one link per object).
    digest: std::sync::Mutex<Option<DigestDraft>>,
}

impl ImportContext {
    /// The context of a pass over `storage`, through `provider` with `progress`.
    fn new(
        db: &Db,
        storage: &StorageRow,
        reader: task_file::Reader,
        (provider, progress): (Arc<dyn Storage>, Arc<Progress>),
        stop: CancellationToken,
    ) -> ImportContext {
        ImportContext {
            db: db.clone(),
            storage_id: storage.id,
            project_id: storage.project_id,
            reader,
            provider,
            progress,
            settings: storage.settings.to_stored().0,
            blob_mode: storage.settings.common.use_blob_urls,
            stop,
            cursor_moved: std::sync::Mutex::new(std::time::Instant::now()),
            digest: std::sync::Mutex::new(None),
        }
    }

    /// Handles the listing's batches until it ends, fails, or the server stops.
    async fn import_batches(
        &self,
        mut batches: mpsc::Receiver<Result<KeyBatch, StorageError>>,
        known: &KnownObjects,
        found: &mut Found,
    ) -> Result<ImportReport, SyncError> {
        let mut report = ImportReport::default();
        let mut inserting = None;
        let handled = self
            .handle_batches(&mut batches, known, found, &mut report, &mut inserting)
            .await;
        // However the batches ended, the insert under way is waited for and counted.
        let finished = self.finish(inserting, &mut report).await;
        handled.and(finished).map(|()| report)
    }

    /// The loop of [`ImportContext::import_batches`]. Blob tasks of the next batch are made
    /// while the last batch is inserted (`inserting`). One transaction at a time all the
    /// same, and a user's save waiting for its turn goes in between two of them (writers
    /// take turns: see `Db::write`).
    async fn handle_batches(
        &self,
        batches: &mut mpsc::Receiver<Result<KeyBatch, StorageError>>,
        known: &KnownObjects,
        found: &mut Found,
        report: &mut ImportReport,
        inserting: &mut Option<Inserting>,
    ) -> Result<(), SyncError> {
        while let Some(batch) = batches.recv().await {
            self.stop_point()?;
            let KeyBatch {
                objects, through, ..
            } = batch?;
            let new = self.sort_out(objects, known, found, report);
            // The batch's last transaction also moves the cursor to `through`: everything
            // listed up to there is stored or was not wanted.
            if self.blob_mode {
                let tasks = self.blob_tasks(new);
                self.finish(inserting.take(), report).await?;
                *inserting = self.start_insert(tasks, &through);
            } else {
                self.import_task_files(new, &through, report).await?;
            }
        }
        Ok(())
    }

    /// Starts inserting a batch of tasks and moving the cursor to `cursor`, in one
    /// transaction of its own, unless the batch is not worth one.
    fn start_insert(&self, tasks: Vec<NewTask>, cursor: &str) -> Option<Inserting> {
        if !self.worth_a_transaction(&tasks) {
            return None;
        }
        let leaves_digest = self.digest().is_some();
        let entries = if leaves_digest {
            let links = tasks.iter().filter_map(|task| task.link.as_ref());
            DigestDraft::entries(links.map(|link| (link.key.as_str(), link.fingerprint.as_deref())))
        } else {
            Vec::new()
        };
        let (db, cursor) = (self.db.clone(), self.cursor_at(cursor));
        let task =
            tokio::spawn(async move { db.insert_tasks_and_move_cursor(cursor, tasks).await });
        Some(Inserting { task, entries })
    }

    /// Waits for the insert under way, if any, and counts what it did.
    async fn finish(
        &self,
        inserting: Option<Inserting>,
        report: &mut ImportReport,
    ) -> Result<(), SyncError> {
        if let Some(Inserting { task, entries }) = inserting {
            let outcome = task.await.map_err(|err| DbError::Join(err.to_string()))??;
            if let Some(draft) = self.digest().as_mut() {
                draft.note_insert(entries, &outcome);
            }
            self.count(outcome, report);
        }
        Ok(())
    }

    fn digest(&self) -> std::sync::MutexGuard<'_, Option<DigestDraft>> {
        self.digest
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Stores the link digest this pass can leave, if any: the next pass reads it instead
    /// of every link.
    async fn leave_digest(&self, known: &KnownObjects) -> Result<(), SyncError> {
        let draft = self.digest().take();
        if let Some((version, chunks)) = draft.and_then(|draft| draft.finish(known)) {
            self.db
                .write_link_digest(self.storage_id, version, chunks)
                .await?;
        }
        Ok(())
    }

    /// Whether a batch gets its transaction: always with tasks to insert; without, only to
    /// move the cursor once a second. A re-sync that finds nothing new writes a few
    /// transactions, not one per batch; a pass stopped meanwhile lists a second's worth of
    /// objects again when it resumes, and finds them known.
    fn worth_a_transaction(&self, tasks: &[NewTask]) -> bool {
        let mut moved = self
            .cursor_moved
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if tasks.is_empty() && moved.elapsed() < std::time::Duration::from_secs(1) {
            return false;
        }
        *moved = std::time::Instant::now();
        true
    }

    /// The objects of a batch that have no task yet; notes those that have, and which of
    /// them changed (in memory: no query).
    fn sort_out(
        &self,
        objects: Vec<Listed>,
        known: &KnownObjects,
        found: &mut Found,
        report: &mut ImportReport,
    ) -> Vec<Listed> {
        if known.is_empty() {
            return objects;
        }
        let mut existed = 0;
        let listed: Vec<(&str, Option<&str>)> = objects
            .iter()
            .map(|object| (object.key.as_str(), object.fingerprint.as_deref()))
            .collect();
        let lookups = known.look_up_all(&listed);
        drop(listed);
        let new = objects
            .into_iter()
            .zip(lookups)
            .filter_map(|(object, lookup)| {
                match lookup {
                    Lookup::New => return Some(object),
                    Lookup::Same { links } => existed += links,
                    Lookup::Changed { links } => {
                        existed += links;
                        found.changed.push((object.key, object.fingerprint));
                    }
                    Lookup::Unfingerprinted { links } => {
                        existed += links;
                        found
                            .adopt
                            .extend(object.fingerprint.map(|f| (object.key, f)));
                    }
                }
                None
            })
            .collect();
        report.existed += existed;
        self.progress.existed.fetch_add(existed, Ordering::Relaxed);
        new
    }

    /// After a whole listing: reports the objects that vanished or changed since their
    /// import, and does what the storage asks about them (see [`objects`]).
    async fn reconcile(
        &self,
        known: Arc<KnownObjects>,
        mut found: Found,
        policy: objects::Policy,
        report: &mut ImportReport,
    ) -> Result<(), SyncError> {
        if known.unseen() > 0 {
            // Only their hashes are held: one more scan names them.
            let (_, vanished) = self
                .db
                .visit_linked_keys(self.storage_id, (known, Vec::new()), |(known, out), o| {
                    if known.was_unseen(o.key) {
                        out.push(o.key.to_owned());
                    }
                })
                .await?;
            found.vanished = vanished;
        }
        let concerned = self
            .db
            .linked_objects(self.storage_id, found.concerned())
            .await?;
        let flagged = self.db.flagged_tasks(self.storage_id).await?;
        let mut now: HashMap<String, Option<String>> = found.changed.iter().cloned().collect();
        let verdict = objects::decide(found, concerned, flagged, policy);
        report.removed = verdict.changes.remove.len() as u64;
        let reimport: Vec<Listed> = verdict
            .changes
            .reimport
            .iter()
            .map(|(key, _)| Listed {
                key: key.clone(),
                fingerprint: now.remove(key).flatten(),
            })
            .collect();
        if !verdict.changes.is_empty() {
            self.db
                .apply_object_changes(self.project_id, self.storage_id, verdict.changes)
                .await?;
        }
        if let Some(last) = reimport.last().map(|object| object.key.clone()) {
            let before = report.created;
            self.import_task_files(reimport, &last, report).await?;
            report.reimported = report.created - before;
        }
        report.vanished = verdict.vanished;
        report.changed = verdict.changed;
        Ok(())
    }

    /// Ends the pass here if the server is stopping: every transaction so far stored its
    /// cursor, so the next start goes on from it.
    fn stop_point(&self) -> Result<(), SyncError> {
        if self.stop.is_cancelled() {
            return Err(SyncError::Stopped);
        }
        Ok(())
    }

    /// Each object a task of its own (`{"$undefined$": <its URL>}`).
    fn blob_tasks(&self, objects: Vec<Listed>) -> Vec<NewTask> {
        objects
            .into_iter()
            .map(|object| NewTask {
                data: blob_task_data(&self.provider.blob_uri(&object.key)),
                meta: "{}".to_owned(),
                allow_skip: true,
                annotations: Vec::new(),
                predictions: Vec::new(),
                link: Some(Link::to(self.storage_id, object.key, object.fingerprint)),
            })
            .collect()
    }

    async fn import_task_files(
        &self,
        objects: Vec<Listed>,
        through: &str,
        report: &mut ImportReport,
    ) -> Result<(), SyncError> {
        // One chunk at least, so that a batch without new files still moves the cursor.
        let chunks: Vec<&[Listed]> = if objects.is_empty() {
            vec![&[]]
        } else {
            objects.chunks(FILE_CHUNK).collect()
        };
        for (number, chunk) in chunks.iter().enumerate() {
            self.stop_point()?;
            let parsed: Vec<(String, Result<FileTasks, FileError>)> =
                stream::iter(chunk.iter().cloned())
                    .map(|object| async move {
                        let outcome = self.read_tasks(&object).await;
                        (object.key, outcome)
                    })
                    .buffered(READ_CONCURRENCY)
                    .collect()
                    .await;
            let mut tasks = Vec::new();
            for (key, outcome) in parsed {
                match outcome {
                    Ok(FileTasks::Parsed(file_tasks)) => tasks.extend(file_tasks),
                    Ok(FileTasks::Spooled(file)) => {
                        if let Err(reason) = spool::import(self, &key, file, report).await? {
                            self.record_error(
                                report,
                                format!("Validation error for task from {key}: {reason}"),
                            );
                        }
                    }
                    Err(FileError::StorageDown(err)) => return Err(err.into()),
                    Err(FileError::Scratch(reason)) => return Err(SyncError::Scratch(reason)),
                    Err(FileError::Invalid(reason)) => {
                        self.record_error(
                            report,
                            format!("Validation error for task from {key}: {reason}"),
                        );
                    }
                }
            }
            let cursor = match chunk.last() {
                Some(last) if number + 1 < chunks.len() => last.key.as_str(),
                _ => through,
            };
            self.insert(tasks, cursor, report).await?;
        }
        Ok(())
    }

    /// Reads one task file: parsed at once when it is small, spooled to a scratch file
    /// (and parsed later, as a stream) when it is not.
    async fn read_tasks(&self, object: &Listed) -> Result<FileTasks, FileError> {
        let key = object.key.as_str();
        let body = self
            .provider
            .read_stream(key)
            .await
            .map_err(FileError::of_read)?;
        let bytes = match spool::hold_or_spool(&self.db, body).await? {
            spool::Content::Held(bytes) => bytes,
            spool::Content::Spooled(file) => return Ok(FileTasks::Spooled(file)),
        };
        task_file::parse_task_file(&bytes)
            .and_then(|tasks| {
                tasks
                    .into_iter()
                    .map(|task| {
                        let link =
                            Link::to(self.storage_id, key.to_owned(), object.fingerprint.clone());
                        task.into_new_task(&self.reader, Some(link))
                    })
                    .collect()
            })
            .map(FileTasks::Parsed)
            .map_err(FileError::Invalid)
    }

    fn record_error(&self, report: &mut ImportReport, line: String) {
        self.progress.failed.fetch_add(1, Ordering::Relaxed);
        report.errors.push(line);
    }

    /// Inserts tasks and moves the storage's cursor to `cursor`, in one transaction.
    async fn insert(
        &self,
        tasks: Vec<NewTask>,
        cursor: &str,
        report: &mut ImportReport,
    ) -> Result<(), SyncError> {
        let inserting = self.start_insert(tasks, cursor);
        self.finish(inserting, report).await
    }

    /// The storage's cursor at `key`, for the settings this pass lists with.
    fn cursor_at(&self, key: &str) -> SyncCursor {
        SyncCursor {
            project_id: self.project_id,
            storage_id: self.storage_id,
            key: key.to_owned(),
            settings: self.settings.clone(),
        }
    }

    /// Adds what an insert did to the report and the live progress.
    fn count(&self, outcome: InsertOutcome, report: &mut ImportReport) {
        report.created += outcome.created;
        report.existed += outcome.already_linked;
        self.progress
            .created
            .fetch_add(outcome.created, Ordering::Relaxed);
        self.progress
            .existed
            .fetch_add(outcome.already_linked, Ordering::Relaxed);
    }
}

/// `{"$undefined$": "<uri>"}`, written directly: a `Value` per task costs more than the
/// insert of a task on large syncs.
fn blob_task_data(uri: &str) -> String {
    let quoted = serde_json::to_string(uri).unwrap_or_else(|_| "\"\"".to_owned());
    format!("{{\"{UNDEFINED_DATA_KEY}\": {quoted}}}")
}

/// A task file, read.
enum FileTasks {
    /// Small enough to hold: its tasks.
    Parsed(Vec<NewTask>),
    /// Too large to hold: a scratch file with its bytes.
    Spooled(std::fs::File),
}

impl FileError {
    /// A failed read: the storage's own fault ends the pass (it would fail every file
    /// after this one too); a fault of this object is this file's only.
    fn of_read(err: StorageError) -> FileError {
        match err {
            StorageError::Unreachable { .. }
            | StorageError::AccessRefused { .. }
            | StorageError::Misconfigured { .. } => FileError::StorageDown(err),
            StorageError::NotFound { .. } | StorageError::Other { .. } => {
                FileError::Invalid(format!("cannot read it: {err}"))
            }
        }
    }
}

/// Why one task file was not imported.
enum FileError {
    /// The storage itself is gone or refuses us: the whole pass stops.
    StorageDown(StorageError),
    /// The server cannot write its scratch file (disk full?): the whole pass stops.
    Scratch(String),
    /// This file only: recorded, and the pass goes on.
    Invalid(String),
}

/// How the project's task files are read: its importer and its labeling config.
async fn reader_for(db: &Db, project_id: i64) -> Result<task_file::Reader, DbError> {
    let (author, config) = db.import_defaults(project_id).await?;
    Ok(task_file::Reader::new(author, &config))
}

#[cfg(test)]
mod tests {
    use super::blob_task_data;

    #[test]
    fn blob_data_is_valid_json_for_any_uri() {
        for uri in [
            "s3://b/a.png",
            "s3://b/quote\"and\\slash.png",
            "/data/local-files/?d=x%20y.png",
        ] {
            let data: serde_json::Value = serde_json::from_str(&blob_task_data(uri)).unwrap();
            assert_eq!(data, serde_json::json!({"$undefined$": uri}));
        }
    }
}
