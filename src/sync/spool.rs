//! Task files too large to hold in memory (a 1 GB JSON array, a million JSON Lines).
//!
//! A file is read into memory up to [`HOLD_LIMIT`]; past that, everything goes to an
//! anonymous scratch file beside the database. A spooled file is then parsed twice as a
//! stream: once to check every task (nothing is stored if one is invalid, as for small
//! files), once to insert them, batch by batch. Memory stays bounded by the largest task,
//! whatever the file's size.

use std::io::{BufReader, Seek};

use futures_util::StreamExt;
use tokio::io::AsyncWriteExt;

use super::task_file::for_each_task;
use super::{FileError, ImportContext, ImportReport, SyncError};
use crate::db::Db;
use crate::db::tasks::{Link, NewTask, TaskFileBatch};
use crate::storage::ByteStream;

/// Files up to this size are parsed in memory.
const HOLD_LIMIT: usize = 1024 * 1024;
/// At most this many tasks of a spooled file per insert transaction...
const SPOOL_BATCH: usize = 20_000;
/// ...and at most about this many bytes of task data (a few batches are in flight).
const SPOOL_BATCH_BYTES: usize = 4 * 1024 * 1024;

pub(super) enum Content {
    Held(Vec<u8>),
    /// A scratch file holding the whole object, positioned anywhere.
    Spooled(std::fs::File),
}

/// Reads an object: in memory if it is small, else into a scratch file.
pub(super) async fn hold_or_spool(db: &Db, mut body: ByteStream) -> Result<Content, FileError> {
    let mut held = Vec::new();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(FileError::of_read)?;
        if held.len() + chunk.len() <= HOLD_LIMIT {
            held.extend_from_slice(&chunk);
            continue;
        }
        let scratch = |err: std::io::Error| {
            FileError::Scratch(format!(
                "cannot write a temporary file beside the database: {err}"
            ))
        };
        let file = db.scratch_file().map_err(scratch)?;
        let mut file = tokio::fs::File::from_std(file);
        file.write_all(&held).await.map_err(scratch)?;
        drop(held);
        file.write_all(&chunk).await.map_err(scratch)?;
        while let Some(chunk) = body.next().await {
            file.write_all(&chunk.map_err(FileError::of_read)?)
                .await
                .map_err(scratch)?;
        }
        file.flush().await.map_err(scratch)?;
        return Ok(Content::Spooled(file.into_std().await));
    }
    Ok(Content::Held(held))
}

/// Imports a spooled task file: `Ok(Err(reason))` when a task in it is invalid (nothing
/// stored), `Err` when the database fails or the server stops.
///
/// The tasks go in by batches of [`SPOOL_BATCH`] (or [`SPOOL_BATCH_BYTES`]), a transaction
/// each, so other writers (annotations, other syncs) wait for one batch, never for the
/// whole file. Until the last batch is in, the file is marked partly imported: a sync cut
/// short here reads it again, and its (storage, key, row) links keep every task single.
pub(super) async fn import(
    context: &ImportContext,
    key: &str,
    file: std::fs::File,
    report: &mut ImportReport,
) -> Result<Result<(), String>, SyncError> {
    let pass = Pass {
        context,
        key,
        file: &file,
    };
    if let Err(reason) = pass.check_every_task().await? {
        return Ok(Err(reason));
    }
    let (sender, batches) = tokio::sync::mpsc::channel::<Vec<NewTask>>(1);
    let parser = pass.parse_into(sender)?;
    let inserted = pass.insert_batches(batches, report).await;
    if inserted.is_err() {
        parser.abort();
        return inserted.map(Ok);
    }
    // Checked above, so only a changed scratch file fails here: the mark stays, and the
    // next sync reads the file again.
    if let Err(reason) = parser.await.map_err(stopped)? {
        return Ok(Err(reason));
    }
    context
        .db
        .mark_task_file_imported(context.storage_id, key)
        .await?;
    Ok(Ok(()))
}

/// The two passes over one spooled file.
struct Pass<'a> {
    context: &'a ImportContext,
    key: &'a str,
    file: &'a std::fs::File,
}

impl Pass<'_> {
    /// First pass: every task must be valid before any is stored, as for small files.
    async fn check_every_task(&self) -> Result<Result<(), String>, SyncError> {
        let (file, reader) = (clone_at_start(self.file)?, self.context.reader.clone());
        let link = self.link();
        tokio::task::spawn_blocking(move || {
            for_each_task(BufReader::new(file), |task| {
                task.into_new_task(&reader, link.clone()).map(drop)
            })
            .map(drop)
        })
        .await
        .map_err(stopped)
    }

    /// Second pass, on a blocking thread: the tasks, sent in batches.
    fn parse_into(
        &self,
        sender: tokio::sync::mpsc::Sender<Vec<NewTask>>,
    ) -> Result<tokio::task::JoinHandle<Result<(), String>>, SyncError> {
        let (file, reader) = (clone_at_start(self.file)?, self.context.reader.clone());
        let link = self.link();
        Ok(tokio::task::spawn_blocking(move || {
            let (mut batch, mut bytes) = (Vec::new(), 0);
            for_each_task(BufReader::new(file), |task| {
                let task = task.into_new_task(&reader, link.clone())?;
                bytes += task.data.len() + task.meta.len();
                batch.push(task);
                if batch.len() == SPOOL_BATCH || bytes >= SPOOL_BATCH_BYTES {
                    bytes = 0;
                    sender
                        .blocking_send(std::mem::take(&mut batch))
                        .map_err(|_| "the import stopped".to_owned())?;
                }
                Ok(())
            })?;
            if !batch.is_empty() {
                let _ = sender.blocking_send(batch);
            }
            Ok::<(), String>(())
        }))
    }

    /// Inserts the batches, a transaction each; the first marks the file partly imported.
    async fn insert_batches(
        &self,
        mut batches: tokio::sync::mpsc::Receiver<Vec<NewTask>>,
        report: &mut ImportReport,
    ) -> Result<(), SyncError> {
        let mut first = true;
        while let Some(tasks) = batches.recv().await {
            self.context.stop_point()?;
            let batch = TaskFileBatch {
                project_id: self.context.project_id,
                storage_id: self.context.storage_id,
                key: self.key.to_owned(),
                first: std::mem::take(&mut first),
                tasks,
            };
            let done = self.context.db.insert_task_file_batch(batch).await?;
            self.context.count(done, report);
        }
        Ok(())
    }

    fn link(&self) -> Option<Link> {
        Some(Link::to(self.context.storage_id, self.key.to_owned(), None))
    }
}

fn stopped(err: tokio::task::JoinError) -> SyncError {
    SyncError::Scratch(format!("reading a task file stopped: {err}"))
}

/// A second handle on the scratch file, at its start (each pass reads it whole).
fn clone_at_start(file: &std::fs::File) -> Result<std::fs::File, SyncError> {
    let mut copy = file
        .try_clone()
        .map_err(|err| SyncError::Scratch(format!("cannot reopen a temporary file: {err}")))?;
    copy.rewind()
        .map_err(|err| SyncError::Scratch(format!("cannot reread a temporary file: {err}")))?;
    Ok(copy)
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    #[test]
    fn writes_are_visible_through_a_clone() {
        let mut file = tempfile::tempfile().unwrap();
        file.write_all(b"[1]").unwrap();
        let mut copy = clone_at_start(&file).unwrap();
        let mut text = String::new();
        std::io::Read::read_to_string(&mut copy, &mut text).unwrap();
        assert_eq!(text, "[1]");
    }
}
