//! WAL checkpoints on a connection of their own.
//!
//! Connections run with `wal_autocheckpoint = 0`, so a commit never pays for copying the
//! log into the database (a third of a bulk import's time when it did). The background
//! runner calls [`super::Db::checkpoint`] instead: a passive checkpoint twice a second (it
//! never blocks readers or writers), and a truncating one when the log has grown large or
//! the server stops, so the WAL file stays bounded and a restart has no log to replay.
//! During a burst of writes it waits for a pause (or a few seconds at most).

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rusqlite::Connection;

use super::DbError;

/// Log size (bytes) past which the checkpoint waits for readers and truncates the file.
const TRUNCATE_ABOVE: u64 = 64 * 1024 * 1024;

/// While writes keep coming (a write within this many ms), checkpoints wait...
const WRITE_PAUSE_MS: u64 = 300;
/// ...but no longer than this many ms since the last one, so the log stays bounded under
/// a long sync.
const BURST_INTERVAL_MS: u64 = 4_000;

/// The checkpoint connection and the log file it watches.
pub(super) struct Checkpointer {
    conn: Mutex<Connection>,
    wal: PathBuf,
    /// What `last_write` and `last_run` count from.
    opened: Instant,
    /// When a write transaction last committed, and when a checkpoint last ran (ms).
    last_write: AtomicU64,
    last_run: AtomicU64,
}

impl Checkpointer {
    pub(super) fn open(path: &Path) -> Result<Checkpointer, DbError> {
        let conn = Connection::open(path)?;
        conn.busy_timeout(Duration::from_secs(5))?;
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        Ok(Checkpointer {
            conn: Mutex::new(conn),
            wal: path.with_file_name(format!("{name}-wal")),
            opened: Instant::now(),
            last_write: AtomicU64::new(0),
            last_run: AtomicU64::new(0),
        })
    }

    /// Notes that a write transaction committed.
    pub(super) fn note_write(&self) {
        self.last_write.store(self.now_ms(), Ordering::Relaxed);
    }

    fn now_ms(&self) -> u64 {
        self.opened.elapsed().as_millis() as u64
    }

    /// Whether a checkpoint runs now. Not in the middle of a burst of writes (a bulk
    /// insert): copying the log while the writer appends to it made a 100,000-file sync's
    /// inserts 30% slower (720 ms against 530 ms). Pages written many times in the burst
    /// are then copied once, after it.
    fn due(&self, last: bool) -> bool {
        let now = self.now_ms();
        let writing = now.saturating_sub(self.last_write.load(Ordering::Relaxed)) < WRITE_PAUSE_MS;
        let overdue =
            now.saturating_sub(self.last_run.load(Ordering::Relaxed)) >= BURST_INTERVAL_MS;
        last || !writing || overdue
    }

    /// One checkpoint, when due: passive, or truncating when `last` or when the log is
    /// large.
    pub(super) fn run(&self, last: bool) {
        if !self.due(last) {
            return;
        }
        self.last_run.store(self.now_ms(), Ordering::Relaxed);
        let large = std::fs::metadata(&self.wal).is_ok_and(|m| m.len() > TRUNCATE_ABOVE);
        let mode = if large || last { "TRUNCATE" } else { "PASSIVE" };
        let conn = self
            .conn
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Err(err) = conn.query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |_| Ok(()))
        {
            tracing::warn!("WAL checkpoint ({mode}) failed: {err}");
        }
    }
}
