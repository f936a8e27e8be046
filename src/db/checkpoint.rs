//! WAL checkpoints on a connection of their own.
//!
//! Connections run with `wal_autocheckpoint = 0`, so a commit never pays for copying the
//! log into the database (a third of a bulk import's time when it did). The background
//! runner calls [`super::Db::checkpoint`] instead: a passive checkpoint twice a second (it
//! never blocks readers or writers), and a truncating one when the log has grown large or
//! the server stops, so the WAL file stays bounded and a restart has no log to replay.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use rusqlite::Connection;

use super::DbError;

/// Log size (bytes) past which the checkpoint waits for readers and truncates the file.
const TRUNCATE_ABOVE: u64 = 64 * 1024 * 1024;

/// The checkpoint connection and the log file it watches.
pub(super) struct Checkpointer {
    conn: Mutex<Connection>,
    wal: PathBuf,
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
        })
    }

    /// One checkpoint: passive, or truncating when `last` or when the log is large.
    pub(super) fn run(&self, last: bool) {
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
