//! Task files too large to hold in memory (a 1 GB JSON array, a million JSON Lines).
//!
//! A file is read into memory up to [`HOLD_LIMIT`]; past that, everything goes to an
//! anonymous scratch file beside the database. A spooled file is then parsed twice as a
//! stream: once to check every task (nothing is stored if one is invalid, as for small
//! files), once inside a single transaction that inserts the tasks in batches. Memory stays
//! bounded by the largest task, whatever the file's size.

use std::io::{BufReader, Seek};

use futures_util::StreamExt;
use tokio::io::AsyncWriteExt;

use super::task_file::for_each_task;
use super::{FileError, ImportContext, KEY_BATCH, SyncError};
use crate::db::tasks::{self as task_rows, InsertOutcome, NewTask};
use crate::db::{Db, DbError};
use crate::storage::{ByteStream, StorageError};

/// Files up to this size are parsed in memory.
const HOLD_LIMIT: usize = 1024 * 1024;

pub(super) enum Content {
    Held(Vec<u8>),
    /// A scratch file holding the whole object, positioned anywhere.
    Spooled(std::fs::File),
}

/// Reads an object: in memory if it is small, else into a scratch file.
pub(super) async fn hold_or_spool(db: &Db, mut body: ByteStream) -> Result<Content, FileError> {
    let mut held = Vec::new();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(read_failure)?;
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
            file.write_all(&chunk.map_err(read_failure)?)
                .await
                .map_err(scratch)?;
        }
        file.flush().await.map_err(scratch)?;
        return Ok(Content::Spooled(file.into_std().await));
    }
    Ok(Content::Held(held))
}

fn read_failure(err: StorageError) -> FileError {
    match err {
        StorageError::Unreachable(_) => FileError::StorageDown(err),
        other => FileError::Invalid(format!("cannot read it: {other}")),
    }
}

/// Imports a spooled task file: `Ok(Err(reason))` when a task in it is invalid (nothing
/// stored), `Err` when the database fails.
pub(super) async fn import(
    context: &ImportContext,
    key: &str,
    file: std::fs::File,
) -> Result<Result<InsertOutcome, String>, SyncError> {
    let (author, storage_id, project_id) = (context.author, context.storage_id, context.project_id);
    let link = move |key: &str| Some((storage_id, key.to_owned()));
    let checked = {
        let (file, key) = (clone_at_start(&file)?, key.to_owned());
        tokio::task::spawn_blocking(move || {
            for_each_task(BufReader::new(file), |task| {
                task.into_new_task(author, link(&key)).map(drop)
            })
        })
        .await
        .map_err(|err| SyncError::Scratch(format!("reading a task file stopped: {err}")))?
    };
    if let Err(reason) = checked {
        return Ok(Err(reason));
    }
    let (file, key) = (clone_at_start(&file)?, key.to_owned());
    let outcome = context
        .db
        .write(move |tx| {
            let now = crate::time::now_iso();
            let mut batch: Vec<NewTask> = Vec::with_capacity(KEY_BATCH);
            let mut total = InsertOutcome::default();
            let mut failure: Option<DbError> = None;
            let flush = |batch: &mut Vec<NewTask>, total: &mut InsertOutcome| {
                let done = task_rows::insert_batch(tx, project_id, batch, &now)?;
                *total += done;
                batch.clear();
                Ok::<(), DbError>(())
            };
            let parsed = for_each_task(BufReader::new(file), |task| {
                batch.push(task.into_new_task(author, link(&key))?);
                if batch.len() == KEY_BATCH
                    && let Err(err) = flush(&mut batch, &mut total)
                {
                    failure = Some(err);
                    return Err("the database refused the tasks".to_owned());
                }
                Ok(())
            });
            if let Some(err) = failure {
                return Err(err);
            }
            // Checked above, so only a changed scratch file gets here: store nothing.
            parsed.map_err(DbError::Aborted)?;
            flush(&mut batch, &mut total)?;
            Ok(total)
        })
        .await?;
    Ok(Ok(outcome))
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
