//! The export outbox: annotation changes waiting to be written to target storages.
//!
//! Entries are added in the same transaction as the annotation change, so an export can
//! only be lost together with the change itself.

use rusqlite::{Connection, params};

use super::DbError;

/// An export waiting to be done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxEntry {
    pub id: i64,
    pub storage_id: i64,
    pub annotation_id: i64,
    /// The annotation's task (what a target with the task layout rewrites).
    pub task_id: Option<i64>,
    pub op: OutboxOp,
    pub attempts: i64,
}

/// Write the annotation's JSON, or remove it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutboxOp {
    Save,
    Delete,
}

/// Queues a write of the annotation to every target storage of its project.
pub(super) fn queue_save(
    conn: &Connection,
    project_id: i64,
    annotation_id: i64,
    now: &str,
) -> Result<(), DbError> {
    conn.prepare_cached(
        "INSERT INTO export_outbox (storage_id, annotation_id, task_id, op, not_before, created_at)
         SELECT id, ?2, (SELECT task_id FROM annotations WHERE id = ?2), 'save', ?3, ?3
         FROM storages WHERE project_id = ?1 AND direction = 'export'",
    )?
    .execute(params![project_id, annotation_id, now])?;
    Ok(())
}

/// Queues removal of the annotation's object from target storages that allow deletion,
/// and the rewrite of its task's object in those with the task layout (called before the
/// annotation goes).
pub(super) fn queue_delete(
    conn: &Connection,
    project_id: i64,
    annotation_id: i64,
    now: &str,
) -> Result<(), DbError> {
    conn.prepare_cached(
        "INSERT INTO export_outbox (storage_id, annotation_id, task_id, op, not_before, created_at)
         SELECT id, ?2, (SELECT task_id FROM annotations WHERE id = ?2), 'delete', ?3, ?3 FROM storages
         WHERE project_id = ?1 AND direction = 'export'
           AND (json_extract(settings, '$.can_delete_objects') = 1
                OR json_extract(settings, '$.export_layout') = 'task')",
    )?
    .execute(params![project_id, annotation_id, now])?;
    Ok(())
}

/// Queues removal of the exported objects of every annotation of the given tasks (`task_ids`
/// as a JSON list), from the project's target storages that allow deletion.
pub(super) fn queue_deletes_of_tasks(
    conn: &Connection,
    project_id: i64,
    task_ids: &str,
    now: &str,
) -> Result<(), DbError> {
    conn.prepare_cached(
        "INSERT INTO export_outbox (storage_id, annotation_id, task_id, op, not_before, created_at)
         SELECT s.id, a.id, a.task_id, 'delete', ?3, ?3 FROM storages s
         JOIN annotations a ON a.project_id = s.project_id
         WHERE s.project_id = ?1 AND s.direction = 'export'
           AND json_extract(s.settings, '$.can_delete_objects') = 1
           AND a.task_id IN (SELECT value FROM json_each(?2))",
    )?
    .execute(params![project_id, task_ids, now])?;
    Ok(())
}

/// Entries due at `now`, oldest first.
pub(super) fn due(conn: &Connection, now: &str, limit: i64) -> Result<Vec<OutboxEntry>, DbError> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, storage_id, annotation_id, op, attempts, task_id FROM export_outbox
         WHERE not_before <= ?1 ORDER BY id LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![now, limit], |r| {
        let op: String = r.get(3)?;
        Ok(OutboxEntry {
            id: r.get(0)?,
            storage_id: r.get(1)?,
            annotation_id: r.get(2)?,
            op: if op == "delete" {
                OutboxOp::Delete
            } else {
                OutboxOp::Save
            },
            attempts: r.get(4)?,
            task_id: r.get(5)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub(super) fn remove(conn: &Connection, id: i64) -> Result<(), DbError> {
    conn.execute("DELETE FROM export_outbox WHERE id = ?1", [id])?;
    Ok(())
}

/// Records a failed attempt and when to try again.
pub(super) fn postpone(
    conn: &Connection,
    id: i64,
    error: &str,
    not_before: &str,
) -> Result<(), DbError> {
    conn.execute(
        "UPDATE export_outbox SET attempts = attempts + 1, last_error = ?2, not_before = ?3 WHERE id = ?1",
        params![id, error, not_before],
    )?;
    Ok(())
}

/// Records that the annotation now lives under `key` in the storage.
pub(super) fn upsert_export_link(
    conn: &Connection,
    storage_id: i64,
    annotation_id: i64,
    key: &str,
    now: &str,
) -> Result<(), DbError> {
    conn.prepare_cached(
        "INSERT INTO export_links (storage_id, annotation_id, key, created_at, updated_at)
         SELECT ?1, ?2, ?3, ?4, ?4 WHERE EXISTS (SELECT 1 FROM annotations WHERE id = ?2)
         ON CONFLICT (storage_id, annotation_id) DO UPDATE SET key = excluded.key, updated_at = excluded.updated_at",
    )?
    .execute(params![storage_id, annotation_id, key, now])?;
    Ok(())
}

pub(super) fn delete_export_link(
    conn: &Connection,
    storage_id: i64,
    annotation_id: i64,
) -> Result<(), DbError> {
    conn.execute(
        "DELETE FROM export_links WHERE storage_id = ?1 AND annotation_id = ?2",
        params![storage_id, annotation_id],
    )?;
    Ok(())
}

/// Records a done entry: the object's key (or its removal) for the annotation, the entry
/// gone, and the storage's export error cleared.
fn record_done(conn: &Connection, entry: &OutboxEntry, key: Option<&str>) -> Result<(), DbError> {
    let now = crate::time::now_iso();
    match (entry.op, key) {
        (OutboxOp::Save, Some(key)) => {
            upsert_export_link(conn, entry.storage_id, entry.annotation_id, key, &now)?
        }
        (OutboxOp::Delete, _) => delete_export_link(conn, entry.storage_id, entry.annotation_id)?,
        (OutboxOp::Save, None) => {}
    }
    remove(conn, entry.id)?;
    super::storages::set_export_error(conn, entry.storage_id, None)
}

/// Records a failed attempt: the entry waits until `not_before`, and its storage shows
/// `message`.
fn record_failure(
    conn: &Connection,
    entry: &OutboxEntry,
    error: &str,
    not_before: &str,
    message: &str,
) -> Result<(), DbError> {
    postpone(conn, entry.id, error, not_before)?;
    super::storages::set_export_error(conn, entry.storage_id, Some(message))
}

/// Records that the annotations now live under these keys in the storage.
fn link_all(conn: &Connection, storage_id: i64, written: &[(i64, String)]) -> Result<(), DbError> {
    let now = crate::time::now_iso();
    for (annotation_id, key) in written {
        upsert_export_link(conn, storage_id, *annotation_id, key, &now)?;
    }
    Ok(())
}

impl super::Db {
    /// Outbox entries due at `now`, oldest first.
    pub async fn due_exports(&self, now: &str, limit: i64) -> Result<Vec<OutboxEntry>, DbError> {
        let now = now.to_owned();
        self.call(move |conn| due(conn, &now, limit)).await
    }

    /// Records a delivered entry: `key` is the object written for a save (`None`: nothing
    /// was written, the annotation is gone), a delete forgets the object; the entry goes
    /// and the storage shows no export error any more.
    pub async fn record_delivery(
        &self,
        entry: &OutboxEntry,
        key: Option<String>,
    ) -> Result<(), DbError> {
        let entry = entry.clone();
        self.write(move |tx| record_done(tx, &entry, key.as_deref()))
            .await
    }

    /// Records a failed delivery: the entry waits until `not_before`, and the storage shows
    /// `message`.
    pub async fn postpone_delivery(
        &self,
        entry: &OutboxEntry,
        error: String,
        not_before: String,
        message: String,
    ) -> Result<(), DbError> {
        let entry = entry.clone();
        self.write(move |tx| record_failure(tx, &entry, &error, &not_before, &message))
            .await
    }

    /// Records that the annotations now live under these keys in the storage.
    pub async fn record_export_links(
        &self,
        storage_id: i64,
        written: Vec<(i64, String)>,
    ) -> Result<(), DbError> {
        self.write(move |tx| link_all(tx, storage_id, &written))
            .await
    }
}
