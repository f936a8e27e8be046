//! Storage syncs as background jobs: one per storage at a time, a few at once, each with a
//! heartbeat and live progress.
//!
//! A sync request only flips the storage row to `queued` (refused, in the same UPDATE, if
//! a sync is already queued or running) and hands the job to the runner; the HTTP request
//! returns at once. The job waits for one of the sync slots (`--max-concurrent-syncs`),
//! moves the row to `in_progress`, writes progress and `time_last_ping` twice a second
//! while it runs, and ends it `completed`, `completed_with_errors` or `failed`. The body
//! runs in a task of its own, so even a panic ends as `failed`. When the server stops, a
//! running sync ends at its next batch boundary and its row stays `in_progress` with its
//! cursor; at the next start such rows are queued again and go on from the cursor (sync is
//! idempotent, so a second pass creates only what the first one missed).

use std::fmt::Display;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use serde_json::json;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use super::Runner;
use crate::db::storages::{Direction, StorageRow, SyncEnd, SyncStatus};
use crate::db::{Db, DbError};
use crate::export::{self, ExportError};
use crate::progress::{Progress, Report};
use crate::storage::ProviderContext;
use crate::sync::{self, Start, SyncError};
use crate::time;

/// How often a running sync writes its progress to the storage row.
const PROGRESS_INTERVAL: Duration = Duration::from_millis(500);

/// Why a sync was not queued.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("The server is shutting down; ask again once it has started.")]
    Stopping,
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<QueueError> for crate::error::ApiError {
    fn from(err: QueueError) -> crate::error::ApiError {
        match err {
            QueueError::Stopping => crate::error::ApiError::Unavailable(err.to_string()),
            QueueError::Db(err) => err.into(),
        }
    }
}

/// Starts storage syncs on the runner; shared by the HTTP handlers.
#[derive(Clone)]
pub struct Syncs {
    inner: Arc<Inner>,
}

struct Inner {
    db: Db,
    providers: ProviderContext,
    runner: Runner,
    /// One permit per sync allowed to run at the same time.
    slots: Arc<Semaphore>,
}

/// How a sync body ended.
enum Ended {
    Finished(Box<dyn Report>),
    Failed(String),
    /// Stopped by the server's stop signal at a batch boundary, its cursor stored.
    Stopped,
}

impl Syncs {
    pub fn new(db: Db, providers: ProviderContext, runner: Runner, at_once: usize) -> Syncs {
        Syncs {
            inner: Arc::new(Inner {
                db,
                providers,
                runner,
                slots: Arc::new(Semaphore::new(at_once.max(1))),
            }),
        }
    }

    /// Queues a sync of the storage unless one is already queued or running, and returns
    /// the storage as it is right after that decision (`queued`, or the running sync).
    /// It looks at every object: only a sync cut short by a stopped server resumes.
    pub async fn request(&self, storage_id: i64) -> Result<Option<StorageRow>, QueueError> {
        Ok(self.queue(storage_id, Start::Afresh).await?.1)
    }

    /// Queues a sync as [`Syncs::request`] does; whether this call queued it (`false`: one
    /// was queued or running already, and may have listed before what the caller saw).
    pub async fn request_new(&self, storage_id: i64) -> Result<bool, QueueError> {
        Ok(self.queue(storage_id, Start::Afresh).await?.0)
    }

    async fn queue(
        &self,
        storage_id: i64,
        start: Start,
    ) -> Result<(bool, Option<StorageRow>), QueueError> {
        if self.inner.runner.is_stopping() {
            return Err(QueueError::Stopping);
        }
        let job_id = uuid::Uuid::new_v4().simple().to_string();
        let queued_at = time::python_str(Utc::now());
        let (queued, row) = self
            .inner
            .db
            .queue_sync(storage_id, &job_id, &queued_at)
            .await?;
        if let Some(storage) = row.as_ref().filter(|_| queued) {
            let name = format!(
                "{} sync of storage {} ({})",
                storage.direction.as_str(),
                storage_id,
                storage.kind()
            );
            let inner = self.inner.clone();
            self.inner
                .runner
                .spawn(name, inner.run(storage_id, job_id, start));
        }
        Ok((queued, row))
    }

    /// Queues again every sync a stopped server left `queued` or `in_progress`; they go on
    /// from their cursor.
    pub async fn resume_interrupted(&self) -> Result<usize, DbError> {
        let left = self.inner.db.interrupted_syncs().await?;
        for storage in &left {
            tracing::warn!(storage = storage.id, status = %storage.status, "resuming a sync interrupted by a server stop");
            self.inner
                .db
                .release_interrupted_sync(
                    storage.id,
                    "The server stopped during this sync; it was started again.",
                )
                .await?;
            match self.queue(storage.id, Start::FromCursor).await {
                Ok(_) => {}
                // Stopping already: the row stays queued for the start after this one.
                Err(QueueError::Stopping) => break,
                Err(QueueError::Db(err)) => return Err(err),
            }
        }
        Ok(left.len())
    }
}

impl Inner {
    /// Waits for a slot (the row stays `queued` meanwhile, and still is if the server
    /// stops first), then runs the sync.
    async fn run(self: Arc<Self>, storage_id: i64, job_id: String, start: Start) {
        let stop = self.runner.stop_signal();
        let slot = tokio::select! {
            slot = self.slots.clone().acquire_owned() => slot,
            _ = stop.cancelled() => return,
        };
        let Ok(_slot) = slot else { return };
        if let Err(err) = self.run_job(storage_id, &job_id, start, stop).await {
            tracing::error!(
                storage = storage_id,
                "sync job could not record its state: {err}"
            );
        }
    }

    async fn run_job(
        &self,
        storage_id: i64,
        job_id: &str,
        start: Start,
        stop: CancellationToken,
    ) -> Result<(), DbError> {
        let started = Utc::now();
        let Some(storage) = self.set_in_progress(storage_id, job_id, started).await? else {
            return Ok(());
        };
        tracing::info!(
            storage = storage.id,
            direction = storage.direction.as_str(),
            "sync started"
        );
        let progress = Arc::new(Progress::new(match storage.direction {
            Direction::Import => &sync::COUNTERS,
            Direction::Export => &export::COUNTERS,
        }));
        let heartbeat = Heartbeat {
            db: self.db.clone(),
            storage_id,
            job_id: job_id.to_owned(),
            progress: progress.clone(),
        };
        let ticker = tokio::spawn(heartbeat.clone().run());
        let body = tokio::spawn(execute(
            self.db.clone(),
            storage.clone(),
            self.providers.clone(),
            progress.clone(),
            start,
            stop,
        ));
        let ended = body
            .await
            .unwrap_or_else(|err| Ended::Failed(format!("The sync stopped unexpectedly: {err}")));
        ticker.abort();
        let end = match ended {
            Ended::Stopped => {
                tracing::info!(
                    storage = storage.id,
                    "sync paused by the server stop; it resumes at the next start"
                );
                return heartbeat.beat(Instant::now()).await;
            }
            Ended::Finished(report) => sync_end(Ok(report.as_ref()), &progress, started),
            Ended::Failed(message) => sync_end(Err(message), &progress, started),
        };
        tracing::info!(storage = storage.id, status = %end.status, count = end.count, "sync finished");
        self.db.finish_sync(storage_id, job_id, end).await
    }

    /// `queued → in_progress`; the storage, or nothing if it is no longer queued for this job.
    async fn set_in_progress(
        &self,
        id: i64,
        job_id: &str,
        started: chrono::DateTime<Utc>,
    ) -> Result<Option<StorageRow>, DbError> {
        self.db
            .start_sync(id, job_id, &time::python_str(started))
            .await
    }
}

/// Runs the sync of the storage's direction.
async fn execute(
    db: Db,
    storage: StorageRow,
    providers: ProviderContext,
    progress: Arc<Progress>,
    start: Start,
    stop: CancellationToken,
) -> Ended {
    let provider = match storage.settings.open(&providers) {
        Ok(provider) => provider,
        Err(err) => return Ended::Failed(err.to_string()),
    };
    match storage.direction {
        Direction::Import => ended(
            sync::import(&db, &storage, provider, progress, start, stop).await,
            |err| matches!(err, SyncError::Stopped),
        ),
        Direction::Export => ended(
            export::sync_all(&db, &storage, provider, progress, stop).await,
            |err| matches!(err, ExportError::Stopped),
        ),
    }
}

fn ended<R: Report, E: Display>(result: Result<R, E>, stopped: fn(&E) -> bool) -> Ended {
    match result {
        Ok(report) => Ended::Finished(Box::new(report)),
        Err(err) if stopped(&err) => Ended::Stopped,
        Err(err) => Ended::Failed(err.to_string()),
    }
}

/// Writes a running sync's progress and `time_last_ping` to its row.
#[derive(Clone)]
struct Heartbeat {
    db: Db,
    storage_id: i64,
    job_id: String,
    progress: Arc<Progress>,
}

impl Heartbeat {
    /// Beats every [`PROGRESS_INTERVAL`] until aborted.
    async fn run(self) {
        let started = Instant::now();
        let mut interval = tokio::time::interval(PROGRESS_INTERVAL);
        loop {
            interval.tick().await;
            if let Err(err) = self.beat(started).await {
                tracing::warn!(
                    storage = self.storage_id,
                    "could not record sync progress: {err}"
                );
            }
        }
    }

    async fn beat(&self, started: Instant) -> Result<(), DbError> {
        let count = self.progress.created() as i64;
        let mut meta = self.progress.meta();
        meta.insert("time_last_ping".into(), json!(time::python_str(Utc::now())));
        meta.insert("duration".into(), json!(started.elapsed().as_secs_f64()));
        self.db
            .record_sync_progress(self.storage_id, &self.job_id, count, meta)
            .await
    }
}

/// The row's final state: the report's count, errors and meta, or the failure.
fn sync_end(
    outcome: Result<&dyn Report, String>,
    progress: &Progress,
    started: chrono::DateTime<Utc>,
) -> SyncEnd {
    let finished = Utc::now();
    let stamp = json!(time::python_str(finished));
    let mut meta = progress.meta();
    let duration = (finished - started).num_microseconds().unwrap_or(0) as f64 / 1e6;
    meta.insert("duration".into(), json!(duration));
    meta.insert("time_last_ping".into(), stamp.clone());
    let (status, count, traceback) = match outcome {
        Err(message) => {
            meta.insert("time_failure".into(), stamp);
            (SyncStatus::Failed, progress.created(), Some(message))
        }
        Ok(report) => {
            meta.insert("time_completed".into(), stamp);
            report.write_meta(&mut meta);
            match report.errors() {
                errors if errors.is_empty() => (SyncStatus::Completed, report.count(), None),
                errors => (
                    SyncStatus::CompletedWithErrors,
                    report.count(),
                    Some(errors.text()),
                ),
            }
        }
    };
    SyncEnd {
        status,
        last_sync: time::iso(finished),
        count: count as i64,
        traceback,
        meta,
    }
}
