//! Background sync jobs: one per storage at a time, with a heartbeat and progress.
//!
//! A sync request only flips the storage row to `queued` (refused, in the same UPDATE, if
//! a sync is already queued or running) and spawns the job; the HTTP request returns at
//! once. The job moves the row to `in_progress`, writes progress and `time_last_ping`
//! twice a second while it runs, and ends it `completed`, `completed_with_errors` or
//! `failed`. The job body runs in a task of its own, so even a panic ends as `failed`.
//! At start, jobs that a stopped server left behind are queued again: sync is
//! idempotent, so a second pass creates only what the first one missed.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chrono::Utc;
use serde_json::{Map, Value, json};

use crate::db::storages::{self, Direction, StorageRow, SyncEnd};
use crate::db::{Db, DbError};
use crate::export::{self, ExportReport};
use crate::storage::ProviderContext;
use crate::sync::{self, ImportReport, Start};
use crate::time;

/// How often a running job writes its progress to the storage row.
const PROGRESS_INTERVAL: Duration = Duration::from_millis(500);

/// Counters of a running job, read by the progress ticker.
#[derive(Debug, Default)]
pub struct Progress {
    /// Objects listed (import) or annotations looked at (export).
    pub scanned: AtomicU64,
    /// Tasks created (import) or annotations written (export).
    pub created: AtomicU64,
    /// Tasks that already existed for listed objects.
    pub existed: AtomicU64,
    /// Files (import) or annotations (export) that failed.
    pub failed: AtomicU64,
    /// The key an import resumed after, when it continues an interrupted one.
    pub resumed_after: std::sync::OnceLock<String>,
}

/// The job runner, shared by the HTTP handlers.
#[derive(Clone)]
pub struct Jobs {
    inner: Arc<Inner>,
}

struct Inner {
    db: Db,
    providers: ProviderContext,
    runtime: tokio::runtime::Handle,
}

impl Jobs {
    /// Jobs run on `runtime` (the server's multi-threaded runtime, not an HTTP worker).
    pub fn new(db: Db, providers: ProviderContext, runtime: tokio::runtime::Handle) -> Jobs {
        Jobs {
            inner: Arc::new(Inner {
                db,
                providers,
                runtime,
            }),
        }
    }

    /// Queues a sync of the storage unless one is already queued or running, and returns
    /// the storage as it is right after that decision (`queued`, or the running sync).
    /// It looks at every object: only a sync cut short by a stopped server resumes.
    pub async fn request_sync(&self, storage_id: i64) -> Result<Option<StorageRow>, DbError> {
        self.queue(storage_id, Start::Afresh).await
    }

    async fn queue(&self, storage_id: i64, start: Start) -> Result<Option<StorageRow>, DbError> {
        let job_id = uuid::Uuid::new_v4().simple().to_string();
        let queued_at = time::python_str(Utc::now());
        let job = job_id.clone();
        let (queued, row) = self
            .inner
            .db
            .call(move |conn| {
                let queued = storages::try_queue(conn, storage_id, &job, &queued_at)?;
                Ok((queued, storages::get(conn, storage_id)?))
            })
            .await?;
        if queued {
            let inner = self.inner.clone();
            self.inner
                .runtime
                .spawn(async move { inner.run(storage_id, job_id, start).await });
        }
        Ok(row)
    }

    /// Queues again every sync a stopped server left `queued` or `in_progress`.
    pub async fn resume_interrupted(&self) -> Result<usize, DbError> {
        let left = self
            .inner
            .db
            .call(|conn| storages::interrupted(conn))
            .await?;
        for storage in &left {
            tracing::warn!(storage = storage.id, status = %storage.status, "resuming a sync interrupted by a server stop");
            let id = storage.id;
            self.inner
                .db
                .call(move |conn| {
                    storages::release_interrupted(
                        conn,
                        id,
                        "The server stopped during this sync; it was started again.",
                    )
                })
                .await?;
            self.queue(id, Start::FromCursor).await?;
        }
        Ok(left.len())
    }
}

impl Inner {
    async fn run(self: Arc<Self>, storage_id: i64, job_id: String, start: Start) {
        if let Err(err) = self.clone().run_job(storage_id, &job_id, start).await {
            tracing::error!(
                storage = storage_id,
                "sync job could not record its state: {err}"
            );
        }
    }

    async fn run_job(
        self: Arc<Self>,
        storage_id: i64,
        job_id: &str,
        start: Start,
    ) -> Result<(), DbError> {
        let started = Utc::now();
        let (id, job) = (storage_id, job_id.to_owned());
        let stamp = time::python_str(started);
        let storage = self
            .db
            .call(move |conn| {
                if storages::set_in_progress(conn, id, &job, &stamp)? {
                    storages::get(conn, id)
                } else {
                    Ok(None)
                }
            })
            .await?;
        let Some(storage) = storage else {
            return Ok(());
        };
        tracing::info!(
            storage = storage.id,
            direction = storage.direction.as_str(),
            "sync started"
        );
        let progress = Arc::new(Progress::default());
        let ticker = self.runtime.spawn(tick(
            self.db.clone(),
            storage.clone(),
            job_id.to_owned(),
            progress.clone(),
        ));
        let body = self.runtime.spawn(execute(
            self.db.clone(),
            storage.clone(),
            self.providers.clone(),
            progress.clone(),
            start,
        ));
        let outcome = body
            .await
            .unwrap_or_else(|err| Err(format!("The sync stopped unexpectedly: {err}")));
        ticker.abort();
        let end = sync_end(&storage, outcome, &progress, started);
        tracing::info!(
            storage = storage.id,
            status = end.status,
            count = end.count,
            "sync finished"
        );
        let job = job_id.to_owned();
        self.db
            .call(move |conn| storages::finish_sync(conn, storage_id, &job, &end))
            .await
    }
}

/// What a job body produced.
enum Outcome {
    Import(ImportReport),
    Export(ExportReport),
}

async fn execute(
    db: Db,
    storage: StorageRow,
    providers: ProviderContext,
    progress: Arc<Progress>,
    start: Start,
) -> Result<Outcome, String> {
    let provider = storage
        .settings
        .open(&providers)
        .map_err(|err| err.to_string())?;
    match storage.direction {
        Direction::Import => sync::import(&db, &storage, provider, progress, start)
            .await
            .map(Outcome::Import)
            .map_err(|e| e.to_string()),
        Direction::Export => export::sync_all(&db, &storage, provider, progress)
            .await
            .map(Outcome::Export)
            .map_err(|e| e.to_string()),
    }
}

/// Writes progress and the heartbeat until aborted.
async fn tick(db: Db, storage: StorageRow, job_id: String, progress: Arc<Progress>) {
    let started = Instant::now();
    let mut interval = tokio::time::interval(PROGRESS_INTERVAL);
    loop {
        interval.tick().await;
        let count = progress.created.load(Ordering::Relaxed) as i64;
        let mut meta = progress_meta(storage.direction, &progress);
        meta.insert("time_last_ping".into(), json!(time::python_str(Utc::now())));
        meta.insert("duration".into(), json!(started.elapsed().as_secs_f64()));
        let (id, job) = (storage.id, job_id.clone());
        if let Err(err) = db
            .call(move |conn| storages::record_progress(conn, id, &job, count, &meta))
            .await
        {
            tracing::warn!(
                storage = storage.id,
                "could not record sync progress: {err}"
            );
        }
    }
}

/// Progress keys in `meta`: Label Studio's names plus the counts the UI shows live.
fn progress_meta(direction: Direction, progress: &Progress) -> Map<String, Value> {
    let scanned = progress.scanned.load(Ordering::Relaxed);
    let created = progress.created.load(Ordering::Relaxed);
    let existed = progress.existed.load(Ordering::Relaxed);
    let failed = progress.failed.load(Ordering::Relaxed);
    let value = match direction {
        Direction::Import => json!({
            "tasks_existed": existed, "objects_scanned": scanned, "tasks_created": created, "files_failed": failed,
        }),
        Direction::Export => json!({
            "total_annotations": scanned, "annotations_exported": created, "annotations_failed": failed,
        }),
    };
    let mut meta = value.as_object().cloned().unwrap_or_default();
    if let Some(key) = progress.resumed_after.get() {
        meta.insert("resumed_after".into(), json!(key));
    }
    meta
}

fn sync_end(
    storage: &StorageRow,
    outcome: Result<Outcome, String>,
    progress: &Progress,
    started: chrono::DateTime<Utc>,
) -> SyncEnd {
    let finished = Utc::now();
    let mut meta = progress_meta(storage.direction, progress);
    let duration = (finished - started).num_microseconds().unwrap_or(0) as f64 / 1e6;
    meta.insert("duration".into(), json!(duration));
    meta.insert("time_last_ping".into(), json!(time::python_str(finished)));
    let (errors, not_listed, count) = match &outcome {
        Ok(Outcome::Import(report)) => {
            (&report.errors[..], report.errors_not_listed, report.created)
        }
        Ok(Outcome::Export(report)) => (
            &report.errors[..],
            report.errors_not_listed,
            report.exported,
        ),
        Err(_) => (&[][..], 0, progress.created.load(Ordering::Relaxed)),
    };
    let (status, traceback) = match &outcome {
        Err(message) => {
            meta.insert("time_failure".into(), json!(time::python_str(finished)));
            ("failed", Some(message.clone()))
        }
        Ok(_) if errors.is_empty() => {
            meta.insert("time_completed".into(), json!(time::python_str(finished)));
            ("completed", None)
        }
        Ok(_) => {
            meta.insert("time_completed".into(), json!(time::python_str(finished)));
            let failed = errors.len() as u64 + not_listed;
            let key = if storage.direction == Direction::Import {
                "tasks_failed_validation"
            } else {
                "annotations_failed"
            };
            meta.insert(key.into(), json!(failed));
            let mut text = errors.join("\n");
            if not_listed > 0 {
                text.push_str(&format!("\n... and {not_listed} more"));
            }
            ("completed_with_errors", Some(text))
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
