//! The background runner: all work that outlives a request runs here, as named jobs that
//! share one stop signal.
//!
//! Today's jobs are storage syncs ([`syncs`], at most N at a time), the export outbox
//! worker and the WAL checkpoints; schedules and webhook deliveries join them the same way
//! ([`Runner::spawn`] with a name and a future that watches [`Runner::stop_signal`]).
//! When the server is asked to stop, [`Runner::shut_down`] raises the signal: syncs stop
//! at their next batch boundary with their cursor stored (they resume at the next start),
//! the outbox worker delivers what is due and returns, and the runner waits for all of
//! them up to a deadline.

pub mod schedules;
pub mod syncs;
pub mod watches;

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::db::Db;

pub use syncs::Syncs;

/// How often the WAL is copied back into the database.
const CHECKPOINT_INTERVAL: Duration = Duration::from_millis(500);

/// Runs and tracks background jobs; cheap to clone.
#[derive(Clone)]
pub struct Runner {
    inner: Arc<Inner>,
}

struct Inner {
    runtime: tokio::runtime::Handle,
    stop: CancellationToken,
    tracker: TaskTracker,
    running: Mutex<BTreeMap<u64, JobInfo>>,
    next_id: AtomicU64,
    /// The database whose idle caches are emptied when a job ends, if any.
    tidy: Option<Db>,
}

/// A job while it runs.
#[derive(Debug, Clone)]
pub struct JobInfo {
    pub name: String,
    pub started: DateTime<Utc>,
}

impl Runner {
    /// Jobs run on `runtime` (the server's multi-threaded runtime, not an HTTP worker); when
    /// one ends, the idle connections of `tidy` empty their caches and the free memory goes
    /// back to the system.
    pub fn new(runtime: tokio::runtime::Handle, tidy: Option<Db>) -> Runner {
        Runner {
            inner: Arc::new(Inner {
                runtime,
                stop: CancellationToken::new(),
                tracker: TaskTracker::new(),
                running: Mutex::new(BTreeMap::new()),
                next_id: AtomicU64::new(1),
                tidy,
            }),
        }
    }

    /// Raised once, when the server starts to stop: jobs end at their next safe point.
    pub fn stop_signal(&self) -> CancellationToken {
        self.inner.stop.clone()
    }

    /// Whether the server is stopping (new work is refused).
    pub fn is_stopping(&self) -> bool {
        self.inner.stop.is_cancelled()
    }

    /// Runs `work` in the background under `name`; it is listed in [`Runner::running`]
    /// until it ends, even by a panic.
    pub fn spawn(&self, name: impl Into<String>, work: impl Future<Output = ()> + Send + 'static) {
        self.spawn_boxed(name.into(), Box::pin(work));
    }

    /// [`Runner::spawn`] with the work boxed: the runtime's task machinery is compiled once
    /// for every kind of job.
    fn spawn_boxed(&self, name: String, work: Pin<Box<dyn Future<Output = ()> + Send>>) {
        let id = self.inner.next_id.fetch_add(1, Ordering::Relaxed);
        let info = JobInfo {
            name,
            started: Utc::now(),
        };
        tracing::debug!(job = %info.name, "job started");
        self.lock().insert(id, info);
        let listed = Listed {
            id,
            inner: self.inner.clone(),
        };
        let (tidy, stop) = (self.inner.tidy.clone(), self.inner.stop.clone());
        let job = async move {
            let _listed = listed;
            work.await;
            // What the job allocated is free now: give it back (a sync of a million files
            // would otherwise leave the idle server at its peak); not while the server stops,
            // when every job ends and the process is about to.
            if let Some(db) = tidy.filter(|_| !stop.is_cancelled()) {
                db.release_memory().await;
            }
        };
        self.inner.tracker.spawn_on(job, &self.inner.runtime);
    }

    /// The jobs running now, oldest first.
    pub fn running(&self) -> Vec<JobInfo> {
        self.lock().values().cloned().collect()
    }

    /// Raises the stop signal and waits until every job ended, or `deadline` passed;
    /// returns the names of the jobs still running then.
    pub async fn shut_down(&self, deadline: Duration) -> Vec<String> {
        self.inner.stop.cancel();
        self.inner.tracker.close();
        if tokio::time::timeout(deadline, self.inner.tracker.wait())
            .await
            .is_ok()
        {
            return Vec::new();
        }
        self.running().into_iter().map(|job| job.name).collect()
    }

    /// Copies the WAL back into the database twice a second until the stop signal; a
    /// commit never pays for it (connections run with `wal_autocheckpoint = 0`).
    pub fn spawn_checkpoints(&self, db: Db) {
        let stop = self.stop_signal();
        self.spawn("WAL checkpoints", async move {
            let mut interval = tokio::time::interval(CHECKPOINT_INTERVAL);
            loop {
                tokio::select! {
                    _ = stop.cancelled() => return,
                    _ = interval.tick() => db.checkpoint(false).await,
                }
            }
        });
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<u64, JobInfo>> {
        self.inner
            .running
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A job's entry in the list, removed when the job ends however it ends.
struct Listed {
    id: u64,
    inner: Arc<Inner>,
}

impl Drop for Listed {
    fn drop(&mut self) {
        let mut running = self
            .inner
            .running
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(job) = running.remove(&self.id) {
            tracing::debug!(job = %job.name, "job ended");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn jobs_are_listed_while_they_run_and_stop_on_the_signal() {
        let runner = Runner::new(tokio::runtime::Handle::current(), None);
        let stop = runner.stop_signal();
        runner.spawn("polite", async move { stop.cancelled().await });
        runner.spawn("quick", async {});
        runner.spawn("panics", async { panic!("a job that fails") });
        // The ended ones leave the list (a panic's backtrace takes a while to print).
        let names = || -> Vec<String> { runner.running().into_iter().map(|j| j.name).collect() };
        for _ in 0..500 {
            if names().len() == 1 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(names(), ["polite"]);
        let left = runner.shut_down(Duration::from_secs(5)).await;
        assert!(left.is_empty(), "{left:?}");
        assert!(runner.running().is_empty());
        assert!(runner.is_stopping());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn shut_down_names_the_jobs_that_outlive_the_deadline() {
        let runner = Runner::new(tokio::runtime::Handle::current(), None);
        runner.spawn("stubborn", tokio::time::sleep(Duration::from_secs(60)));
        let left = runner.shut_down(Duration::from_millis(100)).await;
        assert_eq!(left, ["stubborn"]);
    }
}
