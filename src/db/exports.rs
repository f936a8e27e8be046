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
