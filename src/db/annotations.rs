//! Annotations.

use rusqlite::{Connection, OptionalExtension, params};
use serde_json::json;

use super::DbError;
use super::users::User;
use super::webhooks::Action;

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

pub(super) fn get(conn: &Connection, id: i64) -> Result<Option<AnnotationRow>, DbError> {
    let sql = format!("SELECT {COLUMNS} FROM annotations WHERE id = ?1");
    Ok(conn.query_row(&sql, [id], from_row).optional()?)
}

pub(super) fn of_task(conn: &Connection, task_id: i64) -> Result<Vec<AnnotationRow>, DbError> {
    let sql = format!("SELECT {COLUMNS} FROM annotations WHERE task_id = ?1 ORDER BY id");
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map([task_id], from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The annotations of the given tasks, by task, in id order (one query).
pub(super) fn of_tasks(
    conn: &Connection,
    task_ids: &[i64],
) -> Result<std::collections::HashMap<i64, Vec<AnnotationRow>>, DbError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM annotations WHERE task_id IN (SELECT value FROM json_each(?1))
         ORDER BY id"
    );
    super::rows_by_task(conn, &sql, task_ids, &[], from_row, |row| row.task_id)
}

/// Ids of a project's annotations after `after_id`, in id order (export sync pages).
pub(super) fn ids_of_project(
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

pub(super) fn insert(
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

/// Why an annotation was not created.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotCreated {
    NoTask,
    /// The draft it names is not the user's draft of this task.
    ForeignDraft(i64),
}

/// Creates a user's annotation of a task with everything that goes with it, in the
/// caller's transaction: the task's counters, the export outbox, and the draft it was
/// written from (its time is kept in `draft_created_at`, the draft itself goes).
pub(super) fn create(
    conn: &Connection,
    task_id: i64,
    user_id: i64,
    fields: &AnnotationFields,
    draft_id: Option<i64>,
    now: &str,
) -> Result<Result<i64, NotCreated>, DbError> {
    let Some(task) = super::tasks::get(conn, task_id)? else {
        return Ok(Err(NotCreated::NoTask));
    };
    let mut fields = fields.clone();
    if let Some(draft_id) = draft_id {
        match super::drafts::get(conn, draft_id)? {
            Some(draft) if draft.task_id == task_id && draft.user_id == user_id => {
                fields.draft_created_at = Some(draft.created_at);
                super::drafts::delete(conn, draft_id)?;
            }
            _ => return Ok(Err(NotCreated::ForeignDraft(draft_id))),
        }
    }
    let id = insert(conn, task_id, task.project_id, user_id, &fields, now)?;
    super::tasks::refresh_counters(conn, task_id, Some(user_id), now)?;
    super::outbox::queue_save(conn, task.project_id, id, now)?;
    let refs = json!({ "annotation": id });
    super::webhooks::emit(
        conn,
        Some(task.project_id),
        Action::AnnotationCreated,
        &refs,
        now,
    )?;
    Ok(Ok(id))
}

/// Changes an annotation with what goes with it (counters, export, the drafts of it it
/// replaces); `false` when it does not exist.
pub(super) fn change(
    conn: &Connection,
    id: i64,
    user_id: i64,
    fields: &AnnotationFields,
    now: &str,
) -> Result<bool, DbError> {
    let Some(annotation) = get(conn, id)? else {
        return Ok(false);
    };
    update(conn, id, user_id, fields, now)?;
    super::tasks::refresh_counters(conn, annotation.task_id, Some(user_id), now)?;
    super::outbox::queue_save(conn, annotation.project_id, id, now)?;
    super::drafts::delete_of_annotation(conn, id, user_id)?;
    let refs = json!({ "annotation": id });
    super::webhooks::emit(
        conn,
        Some(annotation.project_id),
        Action::AnnotationUpdated,
        &refs,
        now,
    )?;
    Ok(true)
}

/// Tells webhooks that these annotations of a project are gone (nothing when none are).
fn emit_deleted(conn: &Connection, project_id: i64, ids: &[i64], now: &str) -> Result<(), DbError> {
    if ids.is_empty() {
        return Ok(());
    }
    let refs = json!({ "annotations": ids });
    super::webhooks::emit(
        conn,
        Some(project_id),
        Action::AnnotationsDeleted,
        &refs,
        now,
    )
}

/// Deletes an annotation, queueing the removal of its exported objects and updating its
/// task's counters; `false` when it does not exist.
pub(super) fn remove(conn: &Connection, id: i64, user_id: i64, now: &str) -> Result<bool, DbError> {
    let Some(annotation) = get(conn, id)? else {
        return Ok(false);
    };
    super::outbox::queue_delete(conn, annotation.project_id, id, now)?;
    emit_deleted(conn, annotation.project_id, &[id], now)?;
    delete(conn, id)?;
    super::tasks::refresh_counters(conn, annotation.task_id, Some(user_id), now)?;
    Ok(true)
}

/// Deletes the annotations of the given tasks of a project (only `annotator`'s when
/// given), with their drafts, the removal of their exported objects queued and the tasks'
/// counters updated; returns how many annotations went.
pub(super) fn remove_of_tasks(
    conn: &Connection,
    project_id: i64,
    task_ids: &[i64],
    annotator: Option<i64>,
    user_id: i64,
    now: &str,
) -> Result<u64, DbError> {
    let ids_json = serde_json::to_string(task_ids)?;
    let mut stmt = conn.prepare_cached(
        "SELECT id, task_id FROM annotations WHERE project_id = ?1
           AND task_id IN (SELECT value FROM json_each(?2)) AND (?3 IS NULL OR completed_by = ?3)",
    )?;
    let found: Vec<(i64, i64)> = stmt
        .query_map(params![project_id, ids_json, annotator], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?
        .collect::<Result<_, _>>()?;
    let ids: Vec<i64> = found.iter().map(|(id, _)| *id).collect();
    let mut touched: Vec<i64> = found.iter().map(|(_, task)| *task).collect();
    touched.sort_unstable();
    touched.dedup();
    for id in &ids {
        super::outbox::queue_delete(conn, project_id, *id, now)?;
    }
    emit_deleted(conn, project_id, &ids, now)?;
    conn.execute(
        "DELETE FROM annotations WHERE id IN (SELECT value FROM json_each(?1))",
        [serde_json::to_string(&ids)?],
    )?;
    conn.execute(
        "DELETE FROM drafts WHERE task_id IN (SELECT value FROM json_each(?1))
           AND (?2 IS NULL OR user_id = ?2)",
        params![ids_json, annotator],
    )?;
    // Only the tasks that lost an annotation changed.
    for task_id in touched {
        super::tasks::refresh_counters(conn, task_id, Some(user_id), now)?;
    }
    Ok(ids.len() as u64)
}

pub(super) fn update(
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

pub(super) fn delete(conn: &Connection, id: i64) -> Result<bool, DbError> {
    Ok(conn.execute("DELETE FROM annotations WHERE id = ?1", [id])? > 0)
}

/// Annotations with the given ids, in id order (one query).
pub(super) fn by_ids(conn: &Connection, ids: &[i64]) -> Result<Vec<AnnotationRow>, DbError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM annotations WHERE id IN (SELECT value FROM json_each(?1)) ORDER BY id"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map([serde_json::to_string(ids)?], from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Annotations with their authors.
pub type AnnotationsAndAuthors = (Vec<AnnotationRow>, Vec<User>);

/// A task's annotations with their authors; `None` when the task does not exist.
fn of_task_with_authors(
    conn: &Connection,
    task_id: i64,
) -> Result<Option<AnnotationsAndAuthors>, DbError> {
    if super::tasks::get(conn, task_id)?.is_none() {
        return Ok(None);
    }
    let rows = of_task(conn, task_id)?;
    let author_ids: Vec<i64> = rows.iter().filter_map(|a| a.completed_by).collect();
    Ok(Some((rows, super::users::by_ids(conn, &author_ids)?)))
}

/// An annotation with its author.
fn with_author(
    conn: &Connection,
    id: i64,
) -> Result<Option<(AnnotationRow, Option<User>)>, DbError> {
    let Some(row) = get(conn, id)? else {
        return Ok(None);
    };
    let author = row
        .completed_by
        .map(|uid| super::users::by_id(conn, uid))
        .transpose()?
        .flatten();
    Ok(Some((row, author)))
}

impl super::Db {
    /// A task's annotations in id order, with their authors; `None` when the task does not
    /// exist.
    pub async fn annotations_of_task_with_authors(
        &self,
        task_id: i64,
    ) -> Result<Option<AnnotationsAndAuthors>, DbError> {
        self.call(move |conn| of_task_with_authors(conn, task_id))
            .await
    }

    /// Annotations with the given ids, in id order.
    pub async fn annotations_by_ids(&self, ids: Vec<i64>) -> Result<Vec<AnnotationRow>, DbError> {
        self.call(move |conn| by_ids(conn, &ids)).await
    }

    /// An annotation with its author.
    pub async fn annotation_with_author(
        &self,
        id: i64,
    ) -> Result<Option<(AnnotationRow, Option<User>)>, DbError> {
        self.call(move |conn| with_author(conn, id)).await
    }

    /// Creates a user's annotation of a task, with its task's counters, its export and the
    /// draft it was written from (see [`create`]).
    pub async fn create_annotation(
        &self,
        task_id: i64,
        user_id: i64,
        fields: AnnotationFields,
        draft_id: Option<i64>,
    ) -> Result<Result<i64, NotCreated>, DbError> {
        self.write(move |tx| {
            create(
                tx,
                task_id,
                user_id,
                &fields,
                draft_id,
                &crate::time::now_iso(),
            )
        })
        .await
    }

    /// Changes an annotation with its task's counters, its export and the user's drafts of
    /// it; `false` when it does not exist.
    pub async fn change_annotation(
        &self,
        id: i64,
        user_id: i64,
        fields: AnnotationFields,
    ) -> Result<bool, DbError> {
        self.write(move |tx| change(tx, id, user_id, &fields, &crate::time::now_iso()))
            .await
    }

    /// Deletes an annotation, queueing the removal of its exported objects; `false` when it
    /// does not exist.
    pub async fn remove_annotation(&self, id: i64, user_id: i64) -> Result<bool, DbError> {
        self.write(move |tx| remove(tx, id, user_id, &crate::time::now_iso()))
            .await
    }

    /// Deletes the annotations of some tasks of a project (only `annotator`'s when given),
    /// with their drafts, in one transaction; returns how many went.
    pub async fn remove_annotations_of_tasks(
        &self,
        project_id: i64,
        task_ids: Vec<i64>,
        annotator: Option<i64>,
        user_id: i64,
    ) -> Result<u64, DbError> {
        self.write(move |tx| {
            let now = crate::time::now_iso();
            remove_of_tasks(tx, project_id, &task_ids, annotator, user_id, &now)
        })
        .await
    }
}
