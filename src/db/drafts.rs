//! Drafts: what a user typed on a task without submitting it. Never exported; submitting
//! the annotation a draft belongs to removes it.

use std::collections::HashMap;

use rusqlite::{Connection, OptionalExtension, params};

use super::DbError;
use super::users::User;

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

pub(super) fn insert(
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

pub(super) fn get(conn: &Connection, id: i64) -> Result<Option<DraftRow>, DbError> {
    let sql = format!("SELECT {COLUMNS} FROM drafts WHERE id = ?1");
    Ok(conn.query_row(&sql, [id], from_row).optional()?)
}

/// Every user's drafts of a task, oldest first.
pub(super) fn of_task(conn: &Connection, task_id: i64) -> Result<Vec<DraftRow>, DbError> {
    let sql = format!("SELECT {COLUMNS} FROM drafts WHERE task_id = ?1 ORDER BY id");
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map([task_id], from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The drafts of the given tasks, one user's (`Some`) or everyone's, by task (one query).
pub(super) fn of_tasks_by(
    conn: &Connection,
    task_ids: &[i64],
    user_id: Option<i64>,
) -> Result<HashMap<i64, Vec<DraftRow>>, DbError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM drafts
         WHERE task_id IN (SELECT value FROM json_each(?1)) AND (?2 IS NULL OR user_id = ?2)
         ORDER BY id"
    );
    super::rows_by_task(conn, &sql, task_ids, &[&user_id], from_row, |row| {
        row.task_id
    })
}

/// Changes a draft; `false` when it does not exist.
pub(super) fn update(
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

pub(super) fn delete(conn: &Connection, id: i64) -> Result<bool, DbError> {
    Ok(conn.execute("DELETE FROM drafts WHERE id = ?1", [id])? > 0)
}

/// Removes a user's drafts of an annotation they just saved (another user's draft of it
/// stays: it is their unsaved work).
pub(super) fn delete_of_annotation(
    conn: &Connection,
    annotation_id: i64,
    user_id: i64,
) -> Result<(), DbError> {
    conn.prepare_cached("DELETE FROM drafts WHERE annotation_id = ?1 AND user_id = ?2")?
        .execute([annotation_id, user_id])?;
    Ok(())
}

/// Every user's drafts of a task with their authors.
fn of_task_with_authors(
    conn: &Connection,
    task_id: i64,
) -> Result<(Vec<DraftRow>, Vec<User>), DbError> {
    let rows = of_task(conn, task_id)?;
    let ids: Vec<i64> = rows.iter().map(|d| d.user_id).collect();
    Ok((rows, super::users::by_ids(conn, &ids)?))
}

/// A draft with its author.
fn with_author(conn: &Connection, id: i64) -> Result<Option<(DraftRow, Option<User>)>, DbError> {
    let Some(row) = get(conn, id)? else {
        return Ok(None);
    };
    let author = super::users::by_id(conn, row.user_id)?;
    Ok(Some((row, author)))
}

/// Stores a user's draft of a task (of one of its annotations, when given); `None` when
/// the task does not exist or the annotation is not one of the task's.
fn create(
    conn: &Connection,
    task_id: i64,
    user_id: i64,
    annotation_id: Option<i64>,
    fields: &DraftFields,
) -> Result<Option<i64>, DbError> {
    let Some(task) = super::tasks::get(conn, task_id)? else {
        return Ok(None);
    };
    if let Some(annotation) = annotation_id
        && super::annotations::get(conn, annotation)?.is_none_or(|a| a.task_id != task_id)
    {
        return Ok(None);
    }
    let owner = DraftOwner {
        task_id,
        project_id: task.project_id,
        user_id,
        annotation_id,
    };
    insert(conn, owner, fields, &crate::time::now_iso()).map(Some)
}

impl super::Db {
    /// Every user's drafts of a task, oldest first, with their authors.
    pub async fn drafts_of_task_with_authors(
        &self,
        task_id: i64,
    ) -> Result<(Vec<DraftRow>, Vec<User>), DbError> {
        self.call(move |conn| of_task_with_authors(conn, task_id))
            .await
    }

    /// A draft with its author.
    pub async fn draft_with_author(
        &self,
        id: i64,
    ) -> Result<Option<(DraftRow, Option<User>)>, DbError> {
        self.call(move |conn| with_author(conn, id)).await
    }

    /// One draft.
    pub async fn draft(&self, id: i64) -> Result<Option<DraftRow>, DbError> {
        self.call(move |conn| get(conn, id)).await
    }

    /// Stores a user's draft of a task (of one of its annotations, when given); `None`
    /// when the task does not exist or the annotation is not the task's.
    pub async fn create_draft(
        &self,
        task_id: i64,
        user_id: i64,
        annotation_id: Option<i64>,
        fields: DraftFields,
    ) -> Result<Option<i64>, DbError> {
        self.write(move |tx| create(tx, task_id, user_id, annotation_id, &fields))
            .await
    }

    /// Changes a draft; `false` when it does not exist.
    pub async fn update_draft(&self, id: i64, fields: DraftFields) -> Result<bool, DbError> {
        self.write(move |tx| update(tx, id, &fields, &crate::time::now_iso()))
            .await
    }

    /// Deletes a draft; `false` when it does not exist.
    pub async fn delete_draft(&self, id: i64) -> Result<bool, DbError> {
        self.write(move |tx| delete(tx, id)).await
    }
}
