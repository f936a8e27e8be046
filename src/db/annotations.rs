//! Annotations.

use rusqlite::{Connection, OptionalExtension, params};

use super::DbError;

/// An annotation row.
#[derive(Debug, Clone)]
pub struct AnnotationRow {
    pub id: i64,
    pub task_id: i64,
    pub project_id: i64,
    pub result: String,
    pub completed_by: Option<i64>,
    pub updated_by: Option<i64>,
    pub was_cancelled: bool,
    pub ground_truth: bool,
    pub lead_time: Option<f64>,
    pub import_id: Option<i64>,
    pub last_action: Option<String>,
    pub bulk_created: bool,
    pub parent_prediction: Option<i64>,
    pub parent_annotation: Option<i64>,
    pub draft_created_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

/// Writable annotation fields; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct AnnotationFields {
    pub result: Option<String>,
    pub was_cancelled: Option<bool>,
    pub ground_truth: Option<bool>,
    pub lead_time: Option<f64>,
    pub import_id: Option<i64>,
    pub last_action: Option<String>,
    pub parent_prediction: Option<i64>,
    pub parent_annotation: Option<i64>,
    pub draft_created_at: Option<String>,
}

const COLUMNS: &str = "id, task_id, project_id, result, completed_by, updated_by, was_cancelled,
    ground_truth, lead_time, import_id, last_action, bulk_created, parent_prediction,
    parent_annotation, draft_created_at, created_at, updated_at";

fn from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<AnnotationRow> {
    Ok(AnnotationRow {
        id: row.get(0)?,
        task_id: row.get(1)?,
        project_id: row.get(2)?,
        result: row.get(3)?,
        completed_by: row.get(4)?,
        updated_by: row.get(5)?,
        was_cancelled: row.get(6)?,
        ground_truth: row.get(7)?,
        lead_time: row.get(8)?,
        import_id: row.get(9)?,
        last_action: row.get(10)?,
        bulk_created: row.get(11)?,
        parent_prediction: row.get(12)?,
        parent_annotation: row.get(13)?,
        draft_created_at: row.get(14)?,
        created_at: row.get(15)?,
        updated_at: row.get(16)?,
    })
}

pub fn get(conn: &Connection, id: i64) -> Result<Option<AnnotationRow>, DbError> {
    let sql = format!("SELECT {COLUMNS} FROM annotations WHERE id = ?1");
    Ok(conn.query_row(&sql, [id], from_row).optional()?)
}

pub fn of_task(conn: &Connection, task_id: i64) -> Result<Vec<AnnotationRow>, DbError> {
    let sql = format!("SELECT {COLUMNS} FROM annotations WHERE task_id = ?1 ORDER BY id");
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map([task_id], from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Ids of a project's annotations after `after_id`, in id order (export sync pages).
pub fn ids_of_project(
    conn: &Connection,
    project_id: i64,
    after_id: i64,
    limit: i64,
) -> Result<Vec<i64>, DbError> {
    let mut stmt = conn.prepare_cached(
        "SELECT id FROM annotations WHERE project_id = ?1 AND id > ?2 ORDER BY id LIMIT ?3",
    )?;
    let rows = stmt.query_map(params![project_id, after_id, limit], |r| r.get(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub fn insert(
    conn: &Connection,
    task_id: i64,
    project_id: i64,
    user_id: i64,
    fields: &AnnotationFields,
    now: &str,
) -> Result<i64, DbError> {
    conn.execute(
        "INSERT INTO annotations (task_id, project_id, result, completed_by, updated_by,
            was_cancelled, ground_truth, lead_time, import_id, last_action, parent_prediction,
            parent_annotation, draft_created_at, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?13)",
        params![
            task_id,
            project_id,
            fields.result.as_deref().unwrap_or("[]"),
            user_id,
            fields.was_cancelled.unwrap_or(false),
            fields.ground_truth.unwrap_or(false),
            fields.lead_time,
            fields.import_id,
            fields.last_action,
            fields.parent_prediction,
            fields.parent_annotation,
            fields.draft_created_at,
            now,
        ],
    )?;
    Ok(conn.last_insert_rowid())
}

pub fn update(
    conn: &Connection,
    id: i64,
    user_id: i64,
    fields: &AnnotationFields,
    now: &str,
) -> Result<(), DbError> {
    conn.execute(
        "UPDATE annotations SET
            result = COALESCE(?2, result),
            was_cancelled = COALESCE(?3, was_cancelled),
            ground_truth = COALESCE(?4, ground_truth),
            lead_time = COALESCE(?5, lead_time),
            import_id = COALESCE(?6, import_id),
            last_action = COALESCE(?7, last_action),
            parent_prediction = COALESCE(?8, parent_prediction),
            parent_annotation = COALESCE(?9, parent_annotation),
            draft_created_at = COALESCE(?10, draft_created_at),
            updated_by = ?11,
            updated_at = ?12
         WHERE id = ?1",
        params![
            id,
            fields.result,
            fields.was_cancelled,
            fields.ground_truth,
            fields.lead_time,
            fields.import_id,
            fields.last_action,
            fields.parent_prediction,
            fields.parent_annotation,
            fields.draft_created_at,
            user_id,
            now,
        ],
    )?;
    Ok(())
}

pub fn delete(conn: &Connection, id: i64) -> Result<bool, DbError> {
    Ok(conn.execute("DELETE FROM annotations WHERE id = ?1", [id])? > 0)
}

/// Annotations with the given ids, in id order (one query).
pub fn by_ids(conn: &Connection, ids: &[i64]) -> Result<Vec<AnnotationRow>, DbError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM annotations WHERE id IN (SELECT value FROM json_each(?1)) ORDER BY id"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map([serde_json::to_string(ids)?], from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}
