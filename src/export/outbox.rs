//! The outbox worker: drains export entries written with annotation changes.
//!
//! Entries are handled oldest first. A failed entry is retried with exponential backoff
//! (capped at five minutes) and its error is shown on the target storage until an export
//! to it succeeds again, so an outage delays exports but never drops them.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::db::outbox::{OutboxEntry, OutboxOp};
use crate::db::{Db, DbError};
use crate::storage::{ProviderContext, Storage, StorageError};

/// Entries fetched per round.
const ROUND: i64 = 200;
/// How long the worker sleeps when it was not woken up.
const IDLE_WAIT: Duration = Duration::from_secs(2);
/// Longest wait between two attempts of one entry.
const MAX_BACKOFF_SECONDS: i64 = 300;

/// Wakes the outbox worker after a transaction added entries.
#[derive(Clone, Default)]
pub struct ExportQueue {
    wakeup: Arc<Notify>,
}

impl ExportQueue {
    /// Tells the worker there is new work (a wake-up is never lost).
    pub fn poke(&self) {
        self.wakeup.notify_one();
    }
}

/// The worker: drains the outbox until `stop`, then delivers once more what is due (the
/// annotations the last requests saved) and returns. What stays (an entry waiting for its
/// retry) is in the database and goes out after the next start.
pub async fn run(db: Db, providers: ProviderContext, queue: ExportQueue, stop: CancellationToken) {
    let worker = Worker { db, providers };
    while !stop.is_cancelled() {
        let pause = match worker.round().await {
            Ok(0) => IDLE_WAIT,
            Ok(_) => continue,
            Err(err) => {
                tracing::error!("export worker: {err}");
                IDLE_WAIT
            }
        };
        tokio::select! {
            _ = stop.cancelled() => {}
            _ = tokio::time::timeout(pause, queue.wakeup.notified()) => {}
        }
    }
    worker.flush().await;
}

struct Worker {
    db: Db,
    providers: ProviderContext,
}

impl Worker {
    /// Rounds until nothing is due (failed entries wait for their retry time).
    async fn flush(&self) {
        loop {
            match self.round().await {
                Ok(0) => return,
                Ok(_) => {}
                Err(err) => {
                    tracing::error!("export worker, delivering before the stop: {err}");
                    return;
                }
            }
        }
    }

    /// Handles the entries due now; returns how many it looked at.
    async fn round(&self) -> Result<usize, DbError> {
        let now = crate::time::now_iso();
        let due = self.db.due_exports(&now, ROUND).await?;
        let mut providers: HashMap<i64, Result<Target, StorageError>> = HashMap::new();
        for entry in &due {
            let provider = match providers.get(&entry.storage_id) {
                Some(provider) => provider.clone(),
                None => {
                    let provider = self.provider(entry.storage_id).await?;
                    providers.insert(entry.storage_id, provider.clone());
                    provider
                }
            };
            self.handle(entry, provider).await?;
        }
        Ok(due.len())
    }

    async fn provider(&self, storage_id: i64) -> Result<Result<Target, StorageError>, DbError> {
        let row = self.db.storage(storage_id).await?;
        Ok(match row {
            Some(row) => row.settings.open(&self.providers).map(|storage| Target {
                storage,
                project_id: row.project_id,
                task_layout: row.settings.common.task_layout,
                can_delete: row.settings.common.can_delete_objects,
            }),
            None => Err(StorageError::not_found(format!("storage {storage_id}"))),
        })
    }

    async fn handle(
        &self,
        entry: &OutboxEntry,
        provider: Result<Target, StorageError>,
    ) -> Result<(), DbError> {
        let outcome = match provider {
            Ok(target) if target.task_layout => self.perform_task(entry, &target).await?,
            Ok(target) => self.perform(entry, target.storage.as_ref()).await?,
            Err(err) => Err(err),
        };
        match outcome {
            Ok(key) => self.db.record_delivery(entry, key).await,
            Err(err) => {
                let wait = backoff_seconds(entry.attempts);
                let not_before = crate::time::iso(Utc::now() + chrono::Duration::seconds(wait));
                let message = format!(
                    "Export of annotation {} failed (retrying in {wait} s): {err}",
                    entry.annotation_id
                );
                tracing::warn!(storage = entry.storage_id, "{message}");
                self.db
                    .postpone_delivery(entry, err.to_string(), not_before, message)
                    .await
            }
        }
    }

    /// Does one entry; `Ok(Some(key))` is a written object, `Ok(None)` nothing to write.
    async fn perform(
        &self,
        entry: &OutboxEntry,
        provider: &dyn Storage,
    ) -> Result<Result<Option<String>, StorageError>, DbError> {
        let key = provider.key_for(&entry.annotation_id.to_string());
        match entry.op {
            OutboxOp::Delete => Ok(provider.delete(&key).await.map(|()| None)),
            OutboxOp::Save => {
                let rows = self.db.export_rows(vec![entry.annotation_id]).await?;
                let documents = super::documents(&rows)?;
                let Some((_, body)) = documents.into_iter().next() else {
                    return Ok(Ok(None)); // the annotation was deleted meanwhile
                };
                Ok(provider.write(&key, body).await.map(|()| Some(key)))
            }
        }
    }
}

/// A target storage, opened, with what decides how an entry is done there.
#[derive(Clone)]
struct Target {
    storage: Arc<dyn Storage>,
    project_id: i64,
    task_layout: bool,
    can_delete: bool,
}

impl Worker {
    /// Task layout: any change of an annotation rewrites its task's object (`<task
    /// id>.json`) with the task as it is now; a task that is gone, or has no annotation
    /// left, has its object removed where the storage allows it.
    async fn perform_task(
        &self,
        entry: &OutboxEntry,
        target: &Target,
    ) -> Result<Result<Option<String>, StorageError>, DbError> {
        let Some(task_id) = entry.task_id else {
            return Ok(Ok(None));
        };
        let key = target.storage.key_for(&format!("{task_id}.json"));
        let document = super::task_document(&self.db, target.project_id, task_id).await?;
        Ok(match document {
            Some((annotations, body)) if annotations > 0 || !target.can_delete => {
                target.storage.write(&key, body).await.map(|()| Some(key))
            }
            _ if target.can_delete => target.storage.delete(&key).await.map(|()| None),
            _ => Ok(None),
        })
    }
}

fn backoff_seconds(attempts: i64) -> i64 {
    2_i64
        .saturating_pow(attempts.clamp(0, 16) as u32)
        .min(MAX_BACKOFF_SECONDS)
}
