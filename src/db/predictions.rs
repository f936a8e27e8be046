//! Predictions: model results attached to tasks, shown as pre-annotations. Every write here
//! keeps the task's prediction count and mean score current in the same transaction.

use std::collections::HashMap;

use rusqlite::{Connection, OptionalExtension, params};

use super::DbError;
use super::tasks::refresh_prediction_counters;

/// A prediction to store.
#[derive(Debug, Clone, PartialEq)]
pub struct NewPrediction {
    /// The result list as JSON text.
    pub result: String,
    pub score: Option<f64>,
    pub model_version: String,
}

/// A stored prediction.
#[derive(Debug, Clone)]
pub struct PredictionRow {
    pub id: i64,
    pub task_id: i64,
    pub project_id: i64,
    pub result: String,
    pub score: Option<f64>,
    pub model_version: String,
    pub created_at: String,
    pub updated_at: String,
}

/// Fields of a prediction to change; `None` leaves one as it is.
#[derive(Debug, Clone, Default)]
pub struct PredictionChanges {
    pub result: Option<String>,
    /// `Some(None)` clears the score.
    pub score: Option<Option<f64>>,
    pub model_version: Option<String>,
}

const COLUMNS: &str =
    "id, task_id, project_id, result, score, model_version, created_at, updated_at";

fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<PredictionRow> {
    Ok(PredictionRow {
        id: r.get(0)?,
        task_id: r.get(1)?,
        project_id: r.get(2)?,
        result: r.get(3)?,
        score: r.get(4)?,
        model_version: r.get(5)?,
        created_at: r.get(6)?,
        updated_at: r.get(7)?,
    })
}

/// Stores one prediction without touching the task's counters (the caller refreshes them
/// once for many).
pub(super) fn insert(
    conn: &Connection,
    project_id: i64,
    task_id: i64,
    prediction: &NewPrediction,
    now: &str,
) -> Result<i64, DbError> {
    conn.prepare_cached(
        "INSERT INTO predictions (task_id, project_id, result, score, model_version, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
    )?
    .execute(params![
        task_id,
        project_id,
        prediction.result,
        prediction.score,
        prediction.model_version,
        now
    ])?;
    Ok(conn.last_insert_rowid())
}

/// Stores predictions for tasks of one project and refreshes those tasks' counters; returns
/// the new ids in order.
pub(super) fn create(
    conn: &Connection,
    project_id: i64,
    predictions: &[(i64, NewPrediction)],
    now: &str,
) -> Result<Vec<i64>, DbError> {
    let mut ids = Vec::with_capacity(predictions.len());
    for (task_id, prediction) in predictions {
        ids.push(insert(conn, project_id, *task_id, prediction, now)?);
    }
    let mut tasks: Vec<i64> = predictions.iter().map(|(task, _)| *task).collect();
    tasks.sort_unstable();
    tasks.dedup();
    for task_id in tasks {
        refresh_prediction_counters(conn, task_id)?;
    }
    Ok(ids)
}

pub(super) fn get(conn: &Connection, id: i64) -> Result<Option<PredictionRow>, DbError> {
    let sql = format!("SELECT {COLUMNS} FROM predictions WHERE id = ?1");
    Ok(conn.query_row(&sql, [id], from_row).optional()?)
}

/// Which predictions a list shows.
#[derive(Debug, Clone, Copy)]
pub enum Scope {
    Task(i64),
    Project(i64),
    /// Every project this user is a member of.
    MemberOf(i64),
}

/// Predictions in id order.
pub(super) fn list(conn: &Connection, scope: Scope) -> Result<Vec<PredictionRow>, DbError> {
    let (filter, id) = match scope {
        Scope::Task(id) => ("task_id = ?1", id),
        Scope::Project(id) => ("project_id = ?1", id),
        Scope::MemberOf(user) => (
            "project_id IN (SELECT project_id FROM project_members WHERE user_id = ?1)",
            user,
        ),
    };
    let sql = format!("SELECT {COLUMNS} FROM predictions WHERE {filter} ORDER BY id");
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map([id], from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The predictions of the given tasks, by task, in id order (one query).
pub(super) fn of_tasks(
    conn: &Connection,
    task_ids: &[i64],
) -> Result<HashMap<i64, Vec<PredictionRow>>, DbError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM predictions WHERE task_id IN (SELECT value FROM json_each(?1))
         ORDER BY id"
    );
    super::rows_by_task(conn, &sql, task_ids, &[], from_row, |row| row.task_id)
}

/// Changes a prediction; `false` when it does not exist.
pub(super) fn update(
    conn: &Connection,
    id: i64,
    changes: &PredictionChanges,
    now: &str,
) -> Result<bool, DbError> {
    let task_id: Option<i64> = conn
        .query_row(
            "UPDATE predictions SET
                result = COALESCE(?2, result),
                score = CASE WHEN ?3 THEN ?4 ELSE score END,
                model_version = COALESCE(?5, model_version),
                updated_at = ?6
             WHERE id = ?1 RETURNING task_id",
            params![
                id,
                changes.result,
                changes.score.is_some(),
                changes.score.flatten(),
                changes.model_version,
                now
            ],
            |r| r.get(0),
        )
        .optional()?;
    match task_id {
        Some(task_id) => refresh_prediction_counters(conn, task_id).map(|()| true),
        None => Ok(false),
    }
}

/// Deletes a prediction; `false` when it does not exist.
pub(super) fn delete(conn: &Connection, id: i64) -> Result<bool, DbError> {
    let task_id: Option<i64> = conn
        .query_row(
            "DELETE FROM predictions WHERE id = ?1 RETURNING task_id",
            [id],
            |r| r.get(0),
        )
        .optional()?;
    match task_id {
        Some(task_id) => refresh_prediction_counters(conn, task_id).map(|()| true),
        None => Ok(false),
    }
}

/// Deletes every prediction of the given tasks; returns how many went.
pub(super) fn delete_of_tasks(conn: &Connection, task_ids: &[i64]) -> Result<u64, DbError> {
    let ids = serde_json::to_string(task_ids)?;
    let deleted = conn.execute(
        "DELETE FROM predictions WHERE task_id IN (SELECT value FROM json_each(?1))",
        [&ids],
    )?;
    conn.execute(
        "UPDATE tasks SET total_predictions = 0, predictions_score = NULL, model_versions = NULL
         WHERE id IN (SELECT value FROM json_each(?1))",
        [&ids],
    )?;
    Ok(deleted as u64)
}

/// Stores predictions for tasks of a project, all or none: `Err(task id)` names the first
/// task that is not the project's (nothing stored). Returns the new ids in order.
fn create_in_project(
    conn: &Connection,
    project_id: i64,
    predictions: &[(i64, NewPrediction)],
) -> Result<Result<Vec<i64>, i64>, DbError> {
    let task_ids: Vec<i64> = predictions.iter().map(|(task, _)| *task).collect();
    if let Some(stranger) = super::tasks::not_in_project(conn, project_id, &task_ids)? {
        return Ok(Err(stranger));
    }
    Ok(Ok(create(
        conn,
        project_id,
        predictions,
        &crate::time::now_iso(),
    )?))
}

impl super::Db {
    /// Predictions in id order.
    pub async fn predictions(&self, scope: Scope) -> Result<Vec<PredictionRow>, DbError> {
        self.call(move |conn| list(conn, scope)).await
    }

    /// One prediction.
    pub async fn prediction(&self, id: i64) -> Result<Option<PredictionRow>, DbError> {
        self.call(move |conn| get(conn, id)).await
    }

    /// Stores predictions for tasks of a project with their tasks' counters, all or none:
    /// `Err(task id)` names the first task that is not the project's. Returns the new ids.
    pub async fn create_predictions(
        &self,
        project_id: i64,
        predictions: Vec<(i64, NewPrediction)>,
    ) -> Result<Result<Vec<i64>, i64>, DbError> {
        self.write(move |tx| create_in_project(tx, project_id, &predictions))
            .await
    }

    /// Changes a prediction and its task's counters; `false` when it does not exist.
    pub async fn update_prediction(
        &self,
        id: i64,
        changes: PredictionChanges,
    ) -> Result<bool, DbError> {
        self.write(move |tx| update(tx, id, &changes, &crate::time::now_iso()))
            .await
    }

    /// Deletes a prediction and updates its task's counters; `false` when it does not exist.
    pub async fn delete_prediction(&self, id: i64) -> Result<bool, DbError> {
        self.write(move |tx| delete(tx, id)).await
    }

    /// Deletes every prediction of the given tasks; returns how many went.
    pub async fn delete_predictions_of_tasks(&self, task_ids: Vec<i64>) -> Result<u64, DbError> {
        self.write(move |tx| delete_of_tasks(tx, &task_ids)).await
    }
}
