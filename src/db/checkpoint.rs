//! WAL checkpoints on a thread of their own.
//!
//! Connections run with `wal_autocheckpoint = 0`, so a commit never pays for copying the
//! log into the database (a third of a bulk import's time when it did). This thread does it
//! instead: a passive checkpoint twice a second (it never blocks readers or writers), and a
//! truncating one when the log has grown large, so the WAL file stays bounded.

use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

use rusqlite::Connection;

use super::DbError;

/// How often the log is copied back.
const INTERVAL: Duration = Duration::from_millis(500);
/// Log size (bytes) past which the checkpoint waits for readers and truncates the file.
const TRUNCATE_ABOVE: u64 = 64 * 1024 * 1024;

/// The checkpoint thread; it stops (after a last, truncating checkpoint) when this is
/// dropped, so the next start does not have to replay a large log.
pub(super) struct Checkpointer {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Checkpointer {
    pub(super) fn start(path: &Path) -> Result<Checkpointer, DbError> {
        let conn = Connection::open(path)?;
        conn.busy_timeout(Duration::from_secs(5))?;
        let wal = path.with_file_name(format!(
            "{}-wal",
            path.file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default()
        ));
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || {
                while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(INTERVAL) {
                    checkpoint(&conn, &wal, false);
                }
                checkpoint(&conn, &wal, true);
            })
            .map_err(|err| DbError::Join(err.to_string()))?;
        Ok(Checkpointer {
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

fn checkpoint(conn: &Connection, wal: &Path, last: bool) {
    let large = std::fs::metadata(wal).is_ok_and(|m| m.len() > TRUNCATE_ABOVE);
    let mode = if large || last { "TRUNCATE" } else { "PASSIVE" };
    if let Err(err) = conn.query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |_| Ok(())) {
        tracing::warn!("WAL checkpoint ({mode}) failed: {err}");
    }
}
