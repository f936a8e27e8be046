//! Storage rows (source and target) and their sync status transitions.
//!
//! Status moves `initialized → queued → in_progress → completed | completed_with_errors |
//! failed`. [`try_queue`] is the only way into `queued` and refuses a storage that is
//! already queued or running, in one UPDATE, so two sync requests can never both start.

use rusqlite::{Connection, OptionalExtension, params};
use serde_json::{Map, Value, json};

use super::webhooks::Action;
use super::{DbError, json_column};

pub use crate::storage::Direction;
use crate::storage::StorageSettings;

/// A storage row. `secrets` never leaves the server.
#[derive(Debug, Clone)]
pub struct StorageRow {
    pub id: i64,
    pub project_id: i64,
    pub direction: Direction,
    pub title: Option<String>,
    pub description: Option<String>,
    pub synchronizable: bool,
    /// The provider, its settings and credentials, read.
    pub settings: StorageSettings,
    pub status: SyncStatus,
    pub last_sync: Option<String>,
    pub last_sync_count: Option<i64>,
    pub last_sync_job: Option<String>,
    pub traceback: Option<String>,
    pub meta: Value,
    pub created_at: String,
    /// Where an interrupted import sync resumes (see [`set_cursor`]).
    pub sync_cursor: Option<String>,
}

/// Where a storage's sync is: Label Studio's status values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncStatus {
    Initialized,
    Queued,
    InProgress,
    Completed,
    CompletedWithErrors,
    Failed,
}

impl SyncStatus {
    const ALL: [SyncStatus; 6] = [
        SyncStatus::Initialized,
        SyncStatus::Queued,
        SyncStatus::InProgress,
        SyncStatus::Completed,
        SyncStatus::CompletedWithErrors,
        SyncStatus::Failed,
    ];

    /// The value in the API and in the `status` column.
    pub fn as_str(self) -> &'static str {
        match self {
            SyncStatus::Initialized => "initialized",
            SyncStatus::Queued => "queued",
            SyncStatus::InProgress => "in_progress",
            SyncStatus::Completed => "completed",
            SyncStatus::CompletedWithErrors => "completed_with_errors",
            SyncStatus::Failed => "failed",
        }
    }

    fn parse(text: &str) -> Result<SyncStatus, DbError> {
        SyncStatus::ALL
            .into_iter()
            .find(|status| status.as_str() == text)
            .ok_or_else(|| DbError::Invalid(format!("unknown storage status {text:?}")))
    }
}

impl std::fmt::Display for SyncStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Fields written on create and update.
#[derive(Debug, Clone)]
pub struct StorageFields {
    pub title: Option<String>,
    pub description: Option<String>,
    pub synchronizable: bool,
    pub settings: StorageSettings,
}

impl StorageRow {
    /// The storage's type, as the API names it (`s3`).
    pub fn kind(&self) -> &'static str {
        self.settings.provider.name
    }
}

const COLUMNS: &str = "id, project_id, direction, type, title, description, synchronizable,
    settings, secrets, status, last_sync, last_sync_count, last_sync_job, traceback, meta, created_at, sync_cursor";

/// A row as read, before its JSON columns are.
struct Raw {
    row: StorageRow,
    kind: String,
    settings: String,
    secrets: String,
    meta: String,
    status: String,
}

fn from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Raw> {
    let direction = Direction::parse(&row.get::<_, String>(2)?);
    Ok(Raw {
        row: StorageRow {
            id: row.get(0)?,
            project_id: row.get(1)?,
            direction,
            title: row.get(4)?,
            description: row.get(5)?,
            synchronizable: row.get(6)?,
            settings: StorageSettings::defaults(crate::storage::PROVIDERS[0], direction),
            status: SyncStatus::Initialized,
            last_sync: row.get(10)?,
            last_sync_count: row.get(11)?,
            last_sync_job: row.get(12)?,
            traceback: row.get(13)?,
            meta: Value::Null,
            created_at: row.get(15)?,
            sync_cursor: row.get(16)?,
        },
        kind: row.get(3)?,
        settings: row.get(7)?,
        secrets: row.get(8)?,
        meta: row.get(14)?,
        status: row.get(9)?,
    })
}

/// Reads the JSON columns: the settings with their provider, and `meta`.
fn finish(raw: Raw) -> Result<StorageRow, DbError> {
    let mut storage = raw.row;
    let provider = crate::storage::provider(&raw.kind).ok_or_else(|| {
        DbError::Invalid(format!(
            "storage {} has a type this labelsync does not know: {:?}",
            storage.id, raw.kind
        ))
    })?;
    storage.settings = StorageSettings::stored(
        provider,
        storage.direction,
        as_object(json_column(&raw.settings)?),
        as_object(json_column(&raw.secrets)?),
    );
    storage.meta = json_column(&raw.meta)?;
    storage.status = SyncStatus::parse(&raw.status)?;
    Ok(storage)
}

fn as_object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

pub(super) fn insert(
    conn: &Connection,
    project_id: i64,
    fields: &StorageFields,
    now: &str,
) -> Result<i64, DbError> {
    let (settings, secrets) = fields.settings.to_stored();
    conn.execute(
        "INSERT INTO storages (project_id, direction, type, title, description, synchronizable,
            settings, secrets, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![
            project_id,
            fields.settings.direction.as_str(),
            fields.settings.provider.name,
            fields.title,
            fields.description,
            fields.synchronizable,
            settings,
            secrets,
            now,
        ],
    )?;
    Ok(conn.last_insert_rowid())
}

pub(super) fn update(conn: &Connection, id: i64, fields: &StorageFields) -> Result<(), DbError> {
    let (settings, secrets) = fields.settings.to_stored();
    conn.execute(
        // New settings list other objects: a sync never resumes across a change.
        "UPDATE storages SET title = ?2, description = ?3, synchronizable = ?4, settings = ?5,
            secrets = ?6, sync_cursor = NULL WHERE id = ?1",
        params![
            id,
            fields.title,
            fields.description,
            fields.synchronizable,
            settings,
            secrets,
        ],
    )?;
    Ok(())
}

pub(super) fn get(conn: &Connection, id: i64) -> Result<Option<StorageRow>, DbError> {
    let sql = format!("SELECT {COLUMNS} FROM storages WHERE id = ?1");
    conn.query_row(&sql, [id], from_row)
        .optional()?
        .map(finish)
        .transpose()
}

/// Storages of a project in one direction, optionally of one type, in id order.
pub(super) fn of_project(
    conn: &Connection,
    project_id: i64,
    direction: Direction,
    storage_type: Option<&str>,
) -> Result<Vec<StorageRow>, DbError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM storages WHERE project_id = ?1 AND direction = ?2
            AND (?3 IS NULL OR type = ?3) ORDER BY id"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(
        params![project_id, direction.as_str(), storage_type],
        from_row,
    )?;
    rows.map(|row| finish(row?)).collect()
}

/// Storages of one type and direction in the projects `user_id` is a member of (local file
/// serving checks these).
pub(super) fn of_type_for_member(
    conn: &Connection,
    direction: Direction,
    storage_type: &str,
    user_id: i64,
) -> Result<Vec<StorageRow>, DbError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM storages WHERE direction = ?1 AND type = ?2
           AND project_id IN (SELECT project_id FROM project_members WHERE user_id = ?3)
         ORDER BY id"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(params![direction.as_str(), storage_type, user_id], from_row)?;
    rows.map(|row| finish(row?)).collect()
}

pub(super) fn delete(conn: &Connection, id: i64) -> Result<bool, DbError> {
    Ok(conn.execute("DELETE FROM storages WHERE id = ?1", [id])? > 0)
}

/// Moves a storage to `queued` unless a sync is already queued or running.
/// Returns whether this call queued it.
pub(super) fn try_queue(
    conn: &Connection,
    id: i64,
    job_id: &str,
    meta_now: &str,
) -> Result<bool, DbError> {
    let changed = conn.execute(
        "UPDATE storages SET status = 'queued', last_sync = NULL, last_sync_count = NULL,
            last_sync_job = ?2, traceback = NULL,
            meta = json_patch(json_object('attempts', COALESCE(json_extract(meta, '$.attempts'), 0) + 1,
                                          'time_queued', ?3),
                              -- a watched folder's state outlives its syncs
                              json_object('watch', meta -> '$.watch'))
         WHERE id = ?1 AND status NOT IN ('queued', 'in_progress')",
        params![id, job_id, meta_now],
    )?;
    Ok(changed == 1)
}

/// `queued → in_progress`; false if the storage is no longer queued for this job.
pub(super) fn set_in_progress(
    conn: &Connection,
    id: i64,
    job_id: &str,
    meta_now: &str,
) -> Result<bool, DbError> {
    let changed = conn.execute(
        "UPDATE storages SET status = 'in_progress',
            meta = json_set(meta, '$.time_in_progress', ?3, '$.time_last_ping', ?3)
         WHERE id = ?1 AND status = 'queued' AND last_sync_job = ?2",
        params![id, job_id, meta_now],
    )?;
    if changed == 1 {
        let refs = json!({ "storage": id, "job": job_id });
        emit_sync_event(conn, id, Action::StorageSyncStarted, refs, meta_now)?;
    }
    Ok(changed == 1)
}

/// Progress of a running sync: counts so far and the heartbeat.
pub(super) fn record_progress(
    conn: &Connection,
    id: i64,
    job_id: &str,
    count: i64,
    progress: &Map<String, Value>,
) -> Result<(), DbError> {
    conn.execute(
        "UPDATE storages SET last_sync_count = ?3, meta = json_patch(meta, ?4)
         WHERE id = ?1 AND last_sync_job = ?2 AND status = 'in_progress'",
        params![
            id,
            job_id,
            count,
            Value::Object(progress.clone()).to_string()
        ],
    )?;
    Ok(())
}

/// Ends a sync: `completed`, `completed_with_errors` or `failed`.
pub(super) fn finish_sync(
    conn: &Connection,
    id: i64,
    job_id: &str,
    end: &SyncEnd,
) -> Result<(), DbError> {
    let changed = conn.execute(
        "UPDATE storages SET status = ?3,
            last_sync = CASE WHEN ?3 = 'failed' THEN last_sync ELSE ?4 END,
            sync_cursor = NULL,
            last_sync_count = ?5, traceback = ?6, meta = json_patch(meta, ?7)
         WHERE id = ?1 AND last_sync_job = ?2",
        params![
            id,
            job_id,
            end.status.as_str(),
            end.last_sync,
            end.count,
            end.traceback,
            Value::Object(end.meta.clone()).to_string(),
        ],
    )?;
    if changed == 1 {
        let action = match end.status {
            SyncStatus::Failed => Action::StorageSyncFailed,
            _ => Action::StorageSyncCompleted,
        };
        let refs = json!({
            "storage": id,
            "job": job_id,
            "status": end.status.as_str(),
            "count": end.count,
            "error": end.traceback,
            "meta": end.meta,
        });
        emit_sync_event(conn, id, action, refs, &end.last_sync)?;
    }
    Ok(())
}

/// Tells webhooks of the storage's project how its sync goes.
fn emit_sync_event(
    conn: &Connection,
    id: i64,
    action: Action,
    refs: Value,
    now: &str,
) -> Result<(), DbError> {
    let project: i64 =
        conn.query_row("SELECT project_id FROM storages WHERE id = ?1", [id], |r| {
            r.get(0)
        })?;
    super::webhooks::emit(conn, Some(project), action, &refs, now)
}

/// Records that every object up to `key` (listing order) has its tasks: called in the
/// transaction that inserts them, so the cursor is never ahead of what is stored. Only
/// while the storage still has `settings` (the ones the pass lists with, as stored): a
/// cursor of an old listing must not steer a new one. A sync cut short by a stopped server
/// is resumed after it.
pub(super) fn set_cursor(
    conn: &Connection,
    id: i64,
    key: &str,
    settings: &str,
) -> Result<(), DbError> {
    conn.execute(
        "UPDATE storages SET sync_cursor = ?2 WHERE id = ?1 AND settings = ?3",
        params![id, key, settings],
    )?;
    Ok(())
}

/// The final state of a sync.
#[derive(Debug, Clone)]
pub struct SyncEnd {
    pub status: SyncStatus,
    pub last_sync: String,
    pub count: i64,
    pub traceback: Option<String>,
    pub meta: Map<String, Value>,
}

/// Storages a previous process left `queued` or `in_progress`.
pub(super) fn interrupted(conn: &Connection) -> Result<Vec<StorageRow>, DbError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM storages WHERE status IN ('queued', 'in_progress') ORDER BY id"
    );
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map([], from_row)?;
    rows.map(|row| finish(row?)).collect()
}

/// Marks a storage whose sync was cut short by a stopped server as no longer running, so it
/// can be queued again.
pub(super) fn release_interrupted(conn: &Connection, id: i64, note: &str) -> Result<(), DbError> {
    conn.execute(
        "UPDATE storages SET status = 'failed', traceback = ?2 WHERE id = ?1",
        params![id, note],
    )?;
    Ok(())
}

/// Stores a message about the export worker on a target storage's `meta` (shown on its card).
pub(super) fn set_export_error(
    conn: &Connection,
    id: i64,
    error: Option<&str>,
) -> Result<(), DbError> {
    conn.execute(
        "UPDATE storages SET meta = CASE WHEN ?2 IS NULL THEN json_remove(meta, '$.export_error')
            ELSE json_set(meta, '$.export_error', ?2) END WHERE id = ?1",
        params![id, error],
    )?;
    Ok(())
}

/// Queues a sync unless one is queued or running; whether this call queued it, and the
/// storage as it is right after that decision.
fn queue_and_get(
    conn: &Connection,
    id: i64,
    job_id: &str,
    queued_at: &str,
) -> Result<(bool, Option<StorageRow>), DbError> {
    let queued = try_queue(conn, id, job_id, queued_at)?;
    Ok((queued, get(conn, id)?))
}

/// `queued → in_progress`, then the storage; `None` if it is no longer queued for the job.
fn start_and_get(
    conn: &Connection,
    id: i64,
    job_id: &str,
    started_at: &str,
) -> Result<Option<StorageRow>, DbError> {
    if set_in_progress(conn, id, job_id, started_at)? {
        get(conn, id)
    } else {
        Ok(None)
    }
}

/// Source storages whose schedule is due at `now` (as `time::python_str` writes it): a
/// `sync_interval` set, no sync queued or running, and the last one queued at least that
/// many minutes ago (or never).
fn scheduled_due(conn: &Connection, now: &str) -> Result<Vec<i64>, DbError> {
    let mut stmt = conn.prepare_cached(
        "SELECT id FROM storages
         WHERE direction = 'import' AND json_extract(settings, '$.sync_interval') > 0
           AND status NOT IN ('queued', 'in_progress')
           AND (json_extract(meta, '$.time_queued') IS NULL
                OR (julianday(?1) - julianday(json_extract(meta, '$.time_queued'))) * 1440.0
                   >= json_extract(settings, '$.sync_interval'))
         ORDER BY id",
    )?;
    let ids = stmt.query_map([now], |r| r.get(0))?;
    Ok(ids.collect::<Result<_, _>>()?)
}

/// Local Files sources that watch their folder.
fn watched(conn: &Connection) -> Result<Vec<StorageRow>, DbError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM storages WHERE direction = 'import' AND type = 'localfiles'
           AND json_extract(settings, '$.watch') = 1 ORDER BY id"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map([], from_row)?;
    rows.map(|row| finish(row?)).collect()
}

impl super::Db {
    /// Local Files sources that watch their folder.
    pub async fn watched_storages(&self) -> Result<Vec<StorageRow>, DbError> {
        self.call(|conn| watched(conn)).await
    }

    /// Notes on a storage how its folder is watched (`meta.watch`, shown on its card).
    pub async fn set_watch_state(&self, id: i64, state: Value) -> Result<(), DbError> {
        self.call(move |conn| {
            conn.execute(
                "UPDATE storages SET meta = json_set(meta, '$.watch', json(?2)) WHERE id = ?1",
                params![id, state.to_string()],
            )?;
            Ok(())
        })
        .await
    }

    /// Source storages whose scheduled sync is due at `now`.
    pub async fn scheduled_syncs_due(&self, now: String) -> Result<Vec<i64>, DbError> {
        self.call(move |conn| scheduled_due(conn, &now)).await
    }

    /// One storage.
    pub async fn storage(&self, id: i64) -> Result<Option<StorageRow>, DbError> {
        self.call(move |conn| get(conn, id)).await
    }

    /// Storages of a project in one direction, optionally of one type, in id order.
    pub async fn storages_of_project(
        &self,
        project_id: i64,
        direction: Direction,
        storage_type: Option<&str>,
    ) -> Result<Vec<StorageRow>, DbError> {
        let storage_type = storage_type.map(str::to_owned);
        self.call(move |conn| of_project(conn, project_id, direction, storage_type.as_deref()))
            .await
    }

    /// Storages of one type and direction in the projects `user_id` is a member of.
    pub async fn storages_of_type_for_member(
        &self,
        direction: Direction,
        storage_type: &str,
        user_id: i64,
    ) -> Result<Vec<StorageRow>, DbError> {
        let storage_type = storage_type.to_owned();
        self.call(move |conn| of_type_for_member(conn, direction, &storage_type, user_id))
            .await
    }

    /// Creates a storage of a project; returns its id.
    pub async fn create_storage(
        &self,
        project_id: i64,
        fields: StorageFields,
    ) -> Result<i64, DbError> {
        self.write(move |tx| insert(tx, project_id, &fields, &crate::time::now_iso()))
            .await
    }

    /// Replaces a storage's fields (and forgets where an interrupted sync was).
    pub async fn update_storage(&self, id: i64, fields: StorageFields) -> Result<(), DbError> {
        self.write(move |tx| update(tx, id, &fields)).await
    }

    /// Deletes a storage; `false` when it does not exist.
    pub async fn delete_storage(&self, id: i64) -> Result<bool, DbError> {
        self.write(move |tx| delete(tx, id)).await
    }

    /// Queues a sync of the storage as `job_id` unless one is already queued or running;
    /// whether this call queued it, and the storage right after that decision.
    pub async fn queue_sync(
        &self,
        id: i64,
        job_id: &str,
        queued_at: &str,
    ) -> Result<(bool, Option<StorageRow>), DbError> {
        let (job_id, queued_at) = (job_id.to_owned(), queued_at.to_owned());
        self.call(move |conn| queue_and_get(conn, id, &job_id, &queued_at))
            .await
    }

    /// Moves the job's sync from `queued` to `in_progress` and returns the storage; `None`
    /// if it is no longer queued for this job.
    pub async fn start_sync(
        &self,
        id: i64,
        job_id: &str,
        started_at: &str,
    ) -> Result<Option<StorageRow>, DbError> {
        let (job_id, started_at) = (job_id.to_owned(), started_at.to_owned());
        self.call(move |conn| start_and_get(conn, id, &job_id, &started_at))
            .await
    }

    /// Records a running sync's counts and heartbeat.
    pub async fn record_sync_progress(
        &self,
        id: i64,
        job_id: &str,
        count: i64,
        progress: Map<String, Value>,
    ) -> Result<(), DbError> {
        let job_id = job_id.to_owned();
        self.call(move |conn| record_progress(conn, id, &job_id, count, &progress))
            .await
    }

    /// Ends the job's sync: `completed`, `completed_with_errors` or `failed`.
    pub async fn finish_sync(&self, id: i64, job_id: &str, end: SyncEnd) -> Result<(), DbError> {
        let job_id = job_id.to_owned();
        self.call(move |conn| finish_sync(conn, id, &job_id, &end))
            .await
    }

    /// Storages a previous process left `queued` or `in_progress`.
    pub async fn interrupted_syncs(&self) -> Result<Vec<StorageRow>, DbError> {
        self.call(|conn| interrupted(conn)).await
    }

    /// Marks a sync cut short by a stopped server as no longer running, with a note.
    pub async fn release_interrupted_sync(&self, id: i64, note: &str) -> Result<(), DbError> {
        let note = note.to_owned();
        self.call(move |conn| release_interrupted(conn, id, &note))
            .await
    }
}
