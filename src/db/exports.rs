//! What exported annotation documents are built from: the annotations with their tasks,
//! their authors and each project's labeling config, read with one query per table.

use std::collections::{HashMap, HashSet};

use rusqlite::Connection;

use super::annotations::AnnotationRow;
use super::tasks::TaskRow;
use super::users::User;
use super::{Db, DbError};

/// The rows the export documents of some annotations are built from.
#[derive(Debug, Default)]
pub struct ExportRows {
    /// The annotations, in id order.
    pub annotations: Vec<AnnotationRow>,
    /// Their tasks, by id (an annotation whose task is gone has none).
    pub tasks: HashMap<i64, TaskRow>,
    /// Their authors, by id.
    pub authors: HashMap<i64, User>,
    /// The labeling config of each of those tasks' projects (empty when the project is gone).
    pub label_configs: HashMap<i64, String>,
}

/// One page of a project's annotations to export.
#[derive(Debug, Default)]
pub struct ExportPage {
    /// The last annotation id of the page (the next page starts after it); `None` when the
    /// project has no annotation after the one asked.
    pub last_id: Option<i64>,
    pub rows: ExportRows,
}

/// The rows of the given annotations.
fn rows_of(conn: &Connection, annotation_ids: &[i64]) -> Result<ExportRows, DbError> {
    let annotations = super::annotations::by_ids(conn, annotation_ids)?;
    let task_ids: Vec<i64> = annotations.iter().map(|a| a.task_id).collect();
    let tasks: HashMap<i64, TaskRow> = super::tasks::by_ids(conn, &task_ids)?
        .into_iter()
        .map(|t| (t.id, t))
        .collect();
    let user_ids: Vec<i64> = annotations.iter().filter_map(|a| a.completed_by).collect();
    let authors = super::users::by_ids(conn, &user_ids)?
        .into_iter()
        .map(|u| (u.id, u))
        .collect();
    let project_ids: HashSet<i64> = tasks.values().map(|t| t.project_id).collect();
    let mut label_configs = HashMap::with_capacity(project_ids.len());
    for project_id in project_ids {
        let config = super::projects::label_config(conn, project_id)?.unwrap_or_default();
        label_configs.insert(project_id, config);
    }
    Ok(ExportRows {
        annotations,
        tasks,
        authors,
        label_configs,
    })
}

/// Up to `limit` of a project's annotations after `after_id`, with their rows.
fn page_of(
    conn: &Connection,
    project_id: i64,
    after_id: i64,
    limit: i64,
) -> Result<ExportPage, DbError> {
    let ids = super::annotations::ids_of_project(conn, project_id, after_id, limit)?;
    Ok(ExportPage {
        last_id: ids.last().copied(),
        rows: rows_of(conn, &ids)?,
    })
}

impl Db {
    /// The rows the export documents of the given annotations are built from.
    pub async fn export_rows(&self, annotation_ids: Vec<i64>) -> Result<ExportRows, DbError> {
        self.call(move |conn| rows_of(conn, &annotation_ids)).await
    }

    /// Up to `limit` of a project's annotations after `after_id` (id order), with the rows
    /// their export documents are built from.
    pub async fn export_page(
        &self,
        project_id: i64,
        after_id: i64,
        limit: i64,
    ) -> Result<ExportPage, DbError> {
        self.call(move |conn| page_of(conn, project_id, after_id, limit))
            .await
    }
}

/// Which tasks of a project a project export holds.
#[derive(Debug, Clone, Default)]
pub struct TaskSelection {
    /// Every task, not only those with an annotation (Label Studio's `download_all_tasks`).
    pub all: bool,
    /// Only these tasks (Label Studio's `ids[]`).
    pub ids: Option<Vec<i64>>,
}

/// One page of a project export: tasks in id order with everything they carry (every
/// user's drafts too).
#[derive(Debug, Default)]
pub struct TaskExportPage {
    pub tasks: Vec<TaskRow>,
    pub parts: super::tasks::TaskParts,
}

/// The columns a table export needs before its first row: the selected tasks' data keys
/// and the controls their annotations fill.
#[derive(Debug, Default)]
pub struct ExportColumns {
    pub data_keys: Vec<String>,
    pub from_names: Vec<String>,
}

/// The selection as SQL conditions on `t` (a task), with `?1` the project, `?2` the ids
/// (JSON, or null for all) and `?3` whether unannotated tasks count.
const SELECTED: &str = "t.project_id = ?1
    AND (?2 IS NULL OR t.id IN (SELECT value FROM json_each(?2)))
    AND (?3 OR EXISTS (SELECT 1 FROM annotations a WHERE a.task_id = t.id))";

fn selection_params(selection: &TaskSelection) -> Result<(Option<String>, bool), DbError> {
    let ids = selection
        .ids
        .as_ref()
        .map(serde_json::to_string)
        .transpose()?;
    Ok((ids, selection.all))
}

/// Up to `limit` selected tasks after `after_id`, with their parts.
fn export_page_of(
    conn: &Connection,
    project_id: i64,
    selection: &TaskSelection,
    after_id: i64,
    limit: i64,
) -> Result<TaskExportPage, DbError> {
    let (ids, all) = selection_params(selection)?;
    let sql =
        format!("SELECT t.id FROM tasks t WHERE {SELECTED} AND t.id > ?4 ORDER BY t.id LIMIT ?5");
    let mut stmt = conn.prepare_cached(&sql)?;
    let task_ids: Vec<i64> = stmt
        .query_map(
            rusqlite::params![project_id, ids, all, after_id, limit],
            |row| row.get(0),
        )?
        .collect::<Result<_, _>>()?;
    let mut tasks = super::tasks::by_ids(conn, &task_ids)?;
    tasks.sort_by_key(|task| task.id);
    Ok(TaskExportPage {
        parts: super::tasks::parts_of(conn, &task_ids, None)?,
        tasks,
    })
}

/// The data keys and annotated controls of the selected tasks (two scans, no rows held).
fn columns_of(
    conn: &Connection,
    project_id: i64,
    selection: &TaskSelection,
) -> Result<ExportColumns, DbError> {
    let (ids, all) = selection_params(selection)?;
    let strings = |sql: &str| -> Result<Vec<String>, DbError> {
        let mut stmt = conn.prepare(sql)?;
        let rows = stmt.query_map(rusqlite::params![project_id, ids, all], |row| row.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    };
    let data_keys = strings(&format!(
        "SELECT DISTINCT k.key FROM tasks t, json_each(t.data) k WHERE {SELECTED} ORDER BY k.key"
    ))?;
    let from_names = strings(&format!(
        "SELECT DISTINCT json_extract(r.value, '$.from_name') FROM tasks t
         JOIN annotations a ON a.task_id = t.id AND NOT a.was_cancelled, json_each(a.result) r
         WHERE {SELECTED} AND json_extract(r.value, '$.from_name') IS NOT NULL"
    ))?;
    Ok(ExportColumns {
        data_keys,
        from_names,
    })
}

impl Db {
    /// Up to `limit` of the selected tasks of a project after `after_id` (id order), with
    /// their annotations, predictions, every user's drafts and their authors.
    pub async fn project_export_page(
        &self,
        project_id: i64,
        selection: TaskSelection,
        after_id: i64,
        limit: i64,
    ) -> Result<TaskExportPage, DbError> {
        self.call(move |conn| export_page_of(conn, project_id, &selection, after_id, limit))
            .await
    }

    /// The columns a CSV or TSV export of the selected tasks has.
    pub async fn project_export_columns(
        &self,
        project_id: i64,
        selection: TaskSelection,
    ) -> Result<ExportColumns, DbError> {
        self.call(move |conn| columns_of(conn, project_id, &selection))
            .await
    }
}
