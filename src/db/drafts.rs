//! Drafts: what a user typed on a task without submitting it. Never exported; submitting
//! the annotation a draft belongs to removes it.

use std::collections::HashMap;

use rusqlite::{Connection, OptionalExtension, params};

use super::DbError;

/// A stored draft.
#[derive(Debug, Clone)]
pub struct DraftRow {
    pub id: i64,
    pub task_id: i64,
    pub project_id: i64,
    pub user_id: i64,
    /// The annotation being edited, or `None` for a draft of a new one.
    pub annotation_id: Option<i64>,
    pub result: String,
    pub lead_time: Option<f64>,
    pub was_postponed: bool,
    pub import_id: Option<i64>,
    pub created_at: String,
    pub updated_at: String,
}

/// Draft fields a request sets; `None` leaves one as it is (or takes its default).
#[derive(Debug, Clone, Default)]
pub struct DraftFields {
    pub result: Option<String>,
    pub lead_time: Option<f64>,
    pub was_postponed: Option<bool>,
    pub import_id: Option<i64>,
}

const COLUMNS: &str = "id, task_id, project_id, user_id, annotation_id, result, lead_time,
    was_postponed, import_id, created_at, updated_at";

fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<DraftRow> {
    Ok(DraftRow {
        id: r.get(0)?,
        task_id: r.get(1)?,
        project_id: r.get(2)?,
        user_id: r.get(3)?,
        annotation_id: r.get(4)?,
        result: r.get(5)?,
        lead_time: r.get(6)?,
        was_postponed: r.get(7)?,
        import_id: r.get(8)?,
        created_at: r.get(9)?,
        updated_at: r.get(10)?,
    })
}

/// Where a new draft belongs.
#[derive(Debug, Clone, Copy)]
pub struct DraftOwner {
    pub task_id: i64,
    pub project_id: i64,
    pub user_id: i64,
    pub annotation_id: Option<i64>,
}

pub fn insert(
    conn: &Connection,
    owner: DraftOwner,
    fields: &DraftFields,
    now: &str,
) -> Result<i64, DbError> {
    conn.execute(
        "INSERT INTO drafts (task_id, project_id, user_id, annotation_id, result, lead_time,
            was_postponed, import_id, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9)",
        params![
            owner.task_id,
            owner.project_id,
            owner.user_id,
            owner.annotation_id,
            fields.result.as_deref().unwrap_or("[]"),
            fields.lead_time,
            fields.was_postponed.unwrap_or(false),
            fields.import_id,
            now
        ],
    )?;
    Ok(conn.last_insert_rowid())
}

pub fn get(conn: &Connection, id: i64) -> Result<Option<DraftRow>, DbError> {
    let sql = format!("SELECT {COLUMNS} FROM drafts WHERE id = ?1");
    Ok(conn.query_row(&sql, [id], from_row).optional()?)
}

/// Every user's drafts of a task, oldest first.
pub fn of_task(conn: &Connection, task_id: i64) -> Result<Vec<DraftRow>, DbError> {
    let sql = format!("SELECT {COLUMNS} FROM drafts WHERE task_id = ?1 ORDER BY id");
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map([task_id], from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// One user's drafts of the given tasks, by task (one query).
pub fn of_tasks_by(
    conn: &Connection,
    task_ids: &[i64],
    user_id: i64,
) -> Result<HashMap<i64, Vec<DraftRow>>, DbError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM drafts
         WHERE task_id IN (SELECT value FROM json_each(?1)) AND user_id = ?2 ORDER BY id"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    super::group_by_task(
        stmt.query_map(params![serde_json::to_string(task_ids)?, user_id], from_row)?,
        |row| row.task_id,
    )
}

/// Changes a draft; `false` when it does not exist.
pub fn update(
    conn: &Connection,
    id: i64,
    fields: &DraftFields,
    now: &str,
) -> Result<bool, DbError> {
    Ok(conn.execute(
        "UPDATE drafts SET result = COALESCE(?2, result), lead_time = COALESCE(?3, lead_time),
            was_postponed = COALESCE(?4, was_postponed), import_id = COALESCE(?5, import_id),
            updated_at = ?6
         WHERE id = ?1",
        params![
            id,
            fields.result,
            fields.lead_time,
            fields.was_postponed,
            fields.import_id,
            now
        ],
    )? > 0)
}

pub fn delete(conn: &Connection, id: i64) -> Result<bool, DbError> {
    Ok(conn.execute("DELETE FROM drafts WHERE id = ?1", [id])? > 0)
}

/// Removes a user's drafts of an annotation they just saved (another user's draft of it
/// stays: it is their unsaved work).
pub fn delete_of_annotation(
    conn: &Connection,
    annotation_id: i64,
    user_id: i64,
) -> Result<(), DbError> {
    conn.prepare_cached("DELETE FROM drafts WHERE annotation_id = ?1 AND user_id = ?2")?
        .execute([annotation_id, user_id])?;
    Ok(())
}

/// Removes every draft of the given tasks; returns how many went.
pub fn delete_of_tasks(conn: &Connection, task_ids: &[i64]) -> Result<u64, DbError> {
    Ok(conn.execute(
        "DELETE FROM drafts WHERE task_id IN (SELECT value FROM json_each(?1))",
        [serde_json::to_string(task_ids)?],
    )? as u64)
}
