//! Projects and their task/annotation counters.

use std::collections::HashMap;

use rusqlite::{Connection, OptionalExtension, params};
use serde_json::Value;

use super::{DbError, json_column};

/// A project row.
#[derive(Debug, Clone)]
pub struct Project {
    pub id: i64,
    pub title: String,
    pub description: String,
    pub label_config: String,
    pub expert_instruction: String,
    pub maximum_annotations: i64,
    pub color: String,
    /// Label Studio flags stored and echoed back (`show_skip_button`, `sampling`, ...).
    pub options: Value,
    pub created_by: Option<i64>,
    pub created_at: String,
    pub updated_at: String,
}

/// Counters shown with a project, computed from the task table.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProjectStats {
    pub task_number: i64,
    pub num_tasks_with_annotations: i64,
    pub total_annotations_number: i64,
    pub skipped_annotations_number: i64,
    pub total_predictions_number: i64,
}

/// Writable project fields; `None` leaves a field as it is.
#[derive(Debug, Default, Clone)]
pub struct ProjectFields {
    pub title: Option<String>,
    pub description: Option<String>,
    pub label_config: Option<String>,
    pub expert_instruction: Option<String>,
    pub maximum_annotations: Option<i64>,
    pub color: Option<String>,
    pub options: Option<Value>,
}

const COLUMNS: &str = "id, title, description, label_config, expert_instruction,
    maximum_annotations, color, options, created_by, created_at, updated_at";

fn from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<(Project, String)> {
    Ok((
        Project {
            id: row.get(0)?,
            title: row.get(1)?,
            description: row.get(2)?,
            label_config: row.get(3)?,
            expert_instruction: row.get(4)?,
            maximum_annotations: row.get(5)?,
            color: row.get(6)?,
            options: Value::Null,
            created_by: row.get(8)?,
            created_at: row.get(9)?,
            updated_at: row.get(10)?,
        },
        row.get(7)?,
    ))
}

fn finish((mut project, options): (Project, String)) -> Result<Project, DbError> {
    project.options = json_column(&options)?;
    Ok(project)
}

pub fn insert(
    conn: &Connection,
    fields: &ProjectFields,
    user_id: i64,
    now: &str,
) -> Result<i64, DbError> {
    conn.execute(
        "INSERT INTO projects (title, description, label_config, expert_instruction,
            maximum_annotations, color, options, created_by, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9)",
        params![
            fields.title.as_deref().unwrap_or(""),
            fields.description.as_deref().unwrap_or(""),
            fields.label_config.as_deref().unwrap_or("<View></View>"),
            fields.expert_instruction.as_deref().unwrap_or(""),
            fields.maximum_annotations.unwrap_or(1),
            fields.color.as_deref().unwrap_or("#FFFFFF"),
            fields
                .options
                .as_ref()
                .unwrap_or(&Value::Object(Default::default()))
                .to_string(),
            user_id,
            now,
        ],
    )?;
    let id = conn.last_insert_rowid();
    super::members::add(conn, id, user_id, now)?;
    Ok(id)
}

pub fn get(conn: &Connection, id: i64) -> Result<Option<Project>, DbError> {
    let sql = format!("SELECT {COLUMNS} FROM projects WHERE id = ?1");
    conn.query_row(&sql, [id], from_row)
        .optional()?
        .map(finish)
        .transpose()
}

pub fn exists(conn: &Connection, id: i64) -> Result<bool, DbError> {
    Ok(conn.query_row(
        "SELECT EXISTS(SELECT 1 FROM projects WHERE id = ?1)",
        [id],
        |r| r.get(0),
    )?)
}

/// The label config of a project, if it exists.
pub fn label_config(conn: &Connection, id: i64) -> Result<Option<String>, DbError> {
    Ok(conn
        .query_row(
            "SELECT label_config FROM projects WHERE id = ?1",
            [id],
            |r| r.get(0),
        )
        .optional()?)
}

/// Which of a member's projects a list shows, and in which order.
#[derive(Debug, Clone, Default)]
pub struct ProjectFilter {
    /// Part of the title, in any case.
    pub title: Option<String>,
    pub ids: Option<Vec<i64>>,
    /// Columns to sort by (`title`, `created_at`, ...), each with `true` for descending.
    /// Empty: newest first.
    pub ordering: Vec<(ProjectColumn, bool)>,
}

/// Project columns a list can be sorted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProjectColumn {
    Id,
    Title,
    Description,
    CreatedAt,
    UpdatedAt,
    MaximumAnnotations,
    Color,
}

impl ProjectColumn {
    /// The sortable columns by their API names.
    pub const ALL: [(&'static str, ProjectColumn); 7] = [
        ("id", ProjectColumn::Id),
        ("title", ProjectColumn::Title),
        ("description", ProjectColumn::Description),
        ("created_at", ProjectColumn::CreatedAt),
        ("updated_at", ProjectColumn::UpdatedAt),
        ("maximum_annotations", ProjectColumn::MaximumAnnotations),
        ("color", ProjectColumn::Color),
    ];

    fn sql(self) -> &'static str {
        match self {
            ProjectColumn::Id => "id",
            ProjectColumn::Title => "title COLLATE NOCASE",
            ProjectColumn::Description => "description COLLATE NOCASE",
            ProjectColumn::CreatedAt => "created_at",
            ProjectColumn::UpdatedAt => "updated_at",
            ProjectColumn::MaximumAnnotations => "maximum_annotations",
            ProjectColumn::Color => "color",
        }
    }
}

/// The WHERE clause of a member's filtered projects, with its parameters.
fn filtered(user_id: i64, filter: &ProjectFilter) -> (String, Vec<rusqlite::types::Value>) {
    use rusqlite::types::Value as Bound;
    let mut sql = "id IN (SELECT project_id FROM project_members WHERE user_id = ?)".to_owned();
    let mut params = vec![Bound::Integer(user_id)];
    if let Some(title) = &filter.title {
        let escaped = title
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        sql.push_str(" AND title LIKE ? ESCAPE '\\'");
        params.push(Bound::Text(format!("%{escaped}%")));
    }
    if let Some(ids) = &filter.ids {
        sql.push_str(" AND id IN (SELECT value FROM json_each(?))");
        params.push(Bound::Text(serde_json::to_string(ids).unwrap_or_default()));
    }
    (sql, params)
}

/// How many of `user_id`'s projects the filter keeps.
pub fn count_for(conn: &Connection, user_id: i64, filter: &ProjectFilter) -> Result<i64, DbError> {
    let (clause, params) = filtered(user_id, filter);
    let sql = format!("SELECT COUNT(*) FROM projects WHERE {clause}");
    Ok(conn.query_row(&sql, rusqlite::params_from_iter(params), |r| r.get(0))?)
}

/// One page of the projects `user_id` is a member of, filtered and sorted.
pub fn page_for(
    conn: &Connection,
    user_id: i64,
    filter: &ProjectFilter,
    limit: i64,
    offset: i64,
) -> Result<Vec<Project>, DbError> {
    let (clause, mut params) = filtered(user_id, filter);
    let mut order: Vec<String> = filter
        .ordering
        .iter()
        .map(|(column, descending)| {
            format!("{}{}", column.sql(), if *descending { " DESC" } else { "" })
        })
        .collect();
    order.push("id DESC".to_owned());
    let sql = format!(
        "SELECT {COLUMNS} FROM projects WHERE {clause} ORDER BY {} LIMIT ? OFFSET ?",
        order.join(", ")
    );
    params.extend([
        rusqlite::types::Value::Integer(limit),
        rusqlite::types::Value::Integer(offset),
    ]);
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(rusqlite::params_from_iter(params), from_row)?;
    rows.map(|row| finish(row?)).collect()
}

pub fn update(
    conn: &Connection,
    id: i64,
    fields: &ProjectFields,
    now: &str,
) -> Result<(), DbError> {
    let model_version = || -> Result<Option<String>, DbError> {
        Ok(conn
            .query_row(
                "SELECT json_extract(options, '$.model_version') FROM projects WHERE id = ?1",
                [id],
                |r| r.get(0),
            )
            .optional()?
            .flatten())
    };
    let version_before = model_version()?;
    conn.execute(
        "UPDATE projects SET
            title = COALESCE(?2, title),
            description = COALESCE(?3, description),
            label_config = COALESCE(?4, label_config),
            expert_instruction = COALESCE(?5, expert_instruction),
            maximum_annotations = COALESCE(?6, maximum_annotations),
            color = COALESCE(?7, color),
            options = COALESCE(?8, options),
            updated_at = ?9
         WHERE id = ?1",
        params![
            id,
            fields.title,
            fields.description,
            fields.label_config,
            fields.expert_instruction,
            fields.maximum_annotations,
            fields.color,
            fields.options.as_ref().map(Value::to_string),
            now,
        ],
    )?;
    // Scores average the predictions of the project's model version: a new one rescores.
    if model_version()? != version_before {
        super::tasks::refresh_prediction_scores(conn, id)?;
    }
    Ok(())
}

/// Names the model version of the project's predictions when it names none yet (Label
/// Studio does this when tasks come with predictions), and rescores its tasks.
pub fn adopt_model_version(conn: &Connection, id: i64, version: &str) -> Result<(), DbError> {
    let changed = conn.execute(
        "UPDATE projects SET options = json_set(options, '$.model_version', ?2)
         WHERE id = ?1 AND COALESCE(json_extract(options, '$.model_version'), '') = ''",
        params![id, version],
    )?;
    if changed > 0 {
        super::tasks::refresh_prediction_scores(conn, id)?;
    }
    Ok(())
}

pub fn delete(conn: &Connection, id: i64) -> Result<bool, DbError> {
    Ok(conn.execute("DELETE FROM projects WHERE id = ?1", [id])? > 0)
}

/// Who imported tasks of a project are credited to when they name no one (the project's
/// creator, else the first user), and the project's labeling config.
pub fn import_defaults(conn: &Connection, project_id: i64) -> Result<(i64, String), DbError> {
    Ok(conn.query_row(
        "SELECT COALESCE((SELECT created_by FROM projects WHERE id = ?1), (SELECT MIN(id) FROM users), 0),
                COALESCE((SELECT label_config FROM projects WHERE id = ?1), '')",
        [project_id],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?)
}

/// Reserves `count` consecutive inner ids and returns the first.
pub fn reserve_inner_ids(conn: &Connection, project_id: i64, count: i64) -> Result<i64, DbError> {
    Ok(conn.query_row(
        "UPDATE projects SET next_inner_id = next_inner_id + ?2 WHERE id = ?1
         RETURNING next_inner_id - ?2",
        [project_id, count],
        |r| r.get(0),
    )?)
}

/// The totals a task list shows (tasks, annotations, predictions), each from an index,
/// so a page of a 100,000-task project does not scan the project.
pub fn list_totals(conn: &Connection, project_id: i64) -> Result<(i64, i64, i64), DbError> {
    Ok(conn.query_row(
        "SELECT (SELECT COUNT(*) FROM tasks WHERE project_id = ?1),
                (SELECT COUNT(*) FROM annotations WHERE project_id = ?1 AND was_cancelled = 0),
                (SELECT COUNT(*) FROM predictions WHERE project_id = ?1)",
        [project_id],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?)
}

/// Counters of one project in one pass over its tasks.
pub fn stats(conn: &Connection, project_id: i64) -> Result<ProjectStats, DbError> {
    Ok(stats_of(conn, &[project_id])?
        .remove(&project_id)
        .unwrap_or_default())
}

/// Counters of several projects in one grouped pass over their tasks (a project without
/// tasks is absent: its counters are all zero).
pub fn stats_of(
    conn: &Connection,
    project_ids: &[i64],
) -> Result<HashMap<i64, ProjectStats>, DbError> {
    let mut stmt = conn.prepare_cached(
        "SELECT project_id, COUNT(*), SUM(total_annotations > 0), SUM(total_annotations),
                SUM(cancelled_annotations), SUM(total_predictions)
         FROM tasks WHERE project_id IN (SELECT value FROM json_each(?1)) GROUP BY project_id",
    )?;
    let rows = stmt.query_map([serde_json::to_string(project_ids)?], |r| {
        Ok((
            r.get(0)?,
            ProjectStats {
                task_number: r.get(1)?,
                num_tasks_with_annotations: r.get(2)?,
                total_annotations_number: r.get(3)?,
                skipped_annotations_number: r.get(4)?,
                total_predictions_number: r.get(5)?,
            },
        ))
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}
