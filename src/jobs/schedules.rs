//! Scheduled syncs: a source storage with a `sync_interval` is synced every so many
//! minutes without anyone asking.
//!
//! The schedule lives in the storage row (its interval, and `meta.time_queued` of the last
//! sync), so it survives restarts with nothing else to keep. Once a second the runner asks
//! the database which schedules are due and requests their syncs the way a user's click
//! does: a storage already syncing is never queued twice, and the sync slots
//! (`--max-concurrent-syncs`) apply.

use std::time::Duration;

use chrono::Utc;
use tokio_util::sync::CancellationToken;

use super::Syncs;
use crate::db::Db;

/// How often due schedules are looked for.
const TICK: Duration = Duration::from_secs(1);

pub async fn run(db: Db, syncs: Syncs, stop: CancellationToken) {
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(TICK) => {}
        }
        let due = match db
            .scheduled_syncs_due(crate::time::python_str(Utc::now()))
            .await
        {
            Ok(due) => due,
            Err(err) => {
                tracing::error!("scheduled syncs: {err}");
                continue;
            }
        };
        for storage in due {
            tracing::info!(storage, "scheduled sync");
            if let Err(err) = syncs.request(storage).await {
                tracing::warn!(storage, "scheduled sync not started: {err}");
            }
        }
    }
}
