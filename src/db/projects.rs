//! Projects and their task/annotation counters.

use std::collections::HashMap;

use rusqlite::{Connection, OptionalExtension, params};
use serde_json::{Value, json};

use super::webhooks::Action;
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

/// Counters shown with a project, kept in its row as its tasks change.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
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

pub(super) fn insert(
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
    super::webhooks::emit(conn, Some(id), Action::ProjectCreated, &json!({}), now)?;
    Ok(id)
}

pub(super) fn get(conn: &Connection, id: i64) -> Result<Option<Project>, DbError> {
    let sql = format!("SELECT {COLUMNS} FROM projects WHERE id = ?1");
    conn.query_row(&sql, [id], from_row)
        .optional()?
        .map(finish)
        .transpose()
}

pub(super) fn exists(conn: &Connection, id: i64) -> Result<bool, DbError> {
    Ok(conn.query_row(
        "SELECT EXISTS(SELECT 1 FROM projects WHERE id = ?1)",
        [id],
        |r| r.get(0),
    )?)
}

/// The label config of a project, if it exists.
pub(super) fn label_config(conn: &Connection, id: i64) -> Result<Option<String>, DbError> {
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
pub(super) fn count_for(
    conn: &Connection,
    user_id: i64,
    filter: &ProjectFilter,
) -> Result<i64, DbError> {
    let (clause, params) = filtered(user_id, filter);
    let sql = format!("SELECT COUNT(*) FROM projects WHERE {clause}");
    Ok(conn.query_row(&sql, rusqlite::params_from_iter(params), |r| r.get(0))?)
}

/// One page of the projects `user_id` is a member of, filtered and sorted.
pub(super) fn page_for(
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

pub(super) fn update(
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
pub(super) fn adopt_model_version(
    conn: &Connection,
    id: i64,
    version: &str,
) -> Result<(), DbError> {
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

/// Deletes a project; organization webhooks hear of it first, while its members (who
/// decide which webhooks may) still exist.
pub(super) fn delete(conn: &Connection, id: i64) -> Result<bool, DbError> {
    if !exists(conn, id)? {
        return Ok(false);
    }
    let now = crate::time::now_iso();
    super::webhooks::emit(conn, Some(id), Action::ProjectDeleted, &json!({}), &now)?;
    Ok(conn.execute("DELETE FROM projects WHERE id = ?1", [id])? > 0)
}

/// Who imported tasks of a project are credited to when they name no one (the project's
/// creator, else the first user), and the project's labeling config.
pub(super) fn import_defaults(
    conn: &Connection,
    project_id: i64,
) -> Result<(i64, String), DbError> {
    Ok(conn.query_row(
        "SELECT COALESCE((SELECT created_by FROM projects WHERE id = ?1), (SELECT MIN(id) FROM users), 0),
                COALESCE((SELECT label_config FROM projects WHERE id = ?1), '')",
        [project_id],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?)
}

/// Reserves `count` consecutive inner ids for new tasks and returns the first.
pub(super) fn reserve_inner_ids(
    conn: &Connection,
    project_id: i64,
    count: i64,
) -> Result<i64, DbError> {
    // The same update counts the new tasks (migration 0012: the triggers count the rest).
    Ok(conn.query_row(
        "UPDATE projects SET next_inner_id = next_inner_id + ?2, task_count = task_count + ?2
         WHERE id = ?1 RETURNING next_inner_id - ?2",
        [project_id, count],
        |r| r.get(0),
    )?)
}

/// Counters of one project.
pub(super) fn stats(conn: &Connection, project_id: i64) -> Result<ProjectStats, DbError> {
    Ok(stats_of(conn, &[project_id])?
        .remove(&project_id)
        .unwrap_or_default())
}

/// Counters of several projects, as their rows keep them (migration 0012).
pub(super) fn stats_of(
    conn: &Connection,
    project_ids: &[i64],
) -> Result<HashMap<i64, ProjectStats>, DbError> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, task_count, labeled_count, annotation_count, skipped_count, prediction_count
         FROM projects WHERE id IN (SELECT value FROM json_each(?1))",
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

/// A project with its counters and its creator, as a project list and a project page show it.
#[derive(Debug, Clone)]
pub struct ProjectWithStats {
    pub project: Project,
    pub stats: ProjectStats,
    pub creator: Option<super::users::User>,
}

/// How many of the user's projects the filter keeps, and one page of them with their
/// counters and creators.
fn page_with_stats(
    conn: &Connection,
    user_id: i64,
    filter: &ProjectFilter,
    limit: i64,
    offset: i64,
) -> Result<(i64, Vec<ProjectWithStats>), DbError> {
    let total = count_for(conn, user_id, filter)?;
    let page_rows = page_for(conn, user_id, filter, limit, offset)?;
    let ids: Vec<i64> = page_rows.iter().map(|p| p.id).collect();
    let mut stats = stats_of(conn, &ids)?;
    let creator_ids: Vec<i64> = page_rows.iter().filter_map(|p| p.created_by).collect();
    let creators = super::users::by_ids(conn, &creator_ids)?;
    let rows = page_rows
        .into_iter()
        .map(|project| ProjectWithStats {
            creator: creators
                .iter()
                .find(|u| Some(u.id) == project.created_by)
                .cloned(),
            stats: stats.remove(&project.id).unwrap_or_default(),
            project,
        })
        .collect();
    Ok((total, rows))
}

/// One project with its counters and creator.
fn with_stats(conn: &Connection, id: i64) -> Result<Option<ProjectWithStats>, DbError> {
    let Some(project) = get(conn, id)? else {
        return Ok(None);
    };
    let stats = stats(conn, id)?;
    let creator = project
        .created_by
        .map(|uid| super::users::by_id(conn, uid))
        .transpose()?
        .flatten();
    Ok(Some(ProjectWithStats {
        project,
        stats,
        creator,
    }))
}

/// Changes a project; new options are merged into the stored ones (a request sends only
/// the flags it changes). `false` when the project does not exist.
fn change(conn: &Connection, id: i64, mut fields: ProjectFields) -> Result<bool, DbError> {
    let Some(project) = get(conn, id)? else {
        return Ok(false);
    };
    if let Some(Value::Object(new)) = fields.options.take() {
        let mut merged = project.options.as_object().cloned().unwrap_or_default();
        merged.extend(new);
        fields.options = Some(Value::Object(merged));
    }
    let now = crate::time::now_iso();
    update(conn, id, &fields, &now)?;
    super::webhooks::emit(conn, Some(id), Action::ProjectUpdated, &json!({}), &now)?;
    Ok(true)
}

impl super::Db {
    /// How many of the user's projects the filter keeps, and one page of them with their
    /// counters and creators.
    pub async fn project_page(
        &self,
        user_id: i64,
        filter: ProjectFilter,
        limit: i64,
        offset: i64,
    ) -> Result<(i64, Vec<ProjectWithStats>), DbError> {
        self.call(move |conn| page_with_stats(conn, user_id, &filter, limit, offset))
            .await
    }

    /// One project with its counters and creator.
    pub async fn project_with_stats(&self, id: i64) -> Result<Option<ProjectWithStats>, DbError> {
        self.call(move |conn| with_stats(conn, id)).await
    }

    /// One project.
    pub async fn project(&self, id: i64) -> Result<Option<Project>, DbError> {
        self.call(move |conn| get(conn, id)).await
    }

    /// The counters of one project.
    pub async fn project_stats(&self, id: i64) -> Result<ProjectStats, DbError> {
        self.call(move |conn| stats(conn, id)).await
    }

    /// The labeling config of a project, if it exists.
    pub async fn label_config(&self, project_id: i64) -> Result<Option<String>, DbError> {
        self.call(move |conn| label_config(conn, project_id)).await
    }

    /// Who imported tasks of a project are credited to when they name no one, and the
    /// project's labeling config.
    pub async fn import_defaults(&self, project_id: i64) -> Result<(i64, String), DbError> {
        self.call(move |conn| import_defaults(conn, project_id))
            .await
    }

    /// Creates a project with its creator as its first member; returns its id.
    pub async fn create_project(
        &self,
        fields: ProjectFields,
        user_id: i64,
    ) -> Result<i64, DbError> {
        self.write(move |tx| insert(tx, &fields, user_id, &crate::time::now_iso()))
            .await
    }

    /// Changes a project, merging new options into the stored ones; `false` when it does
    /// not exist.
    pub async fn update_project(&self, id: i64, fields: ProjectFields) -> Result<bool, DbError> {
        self.write(move |tx| change(tx, id, fields)).await
    }

    /// Deletes a project with everything in it; `false` when it does not exist.
    pub async fn delete_project(&self, id: i64) -> Result<bool, DbError> {
        self.write(move |tx| delete(tx, id)).await
    }
}
