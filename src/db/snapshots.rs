//! Export snapshots: the rows that describe the files `export::project` writes for
//! Label Studio's `/api/projects/<id>/exports/`.

use rusqlite::{Connection, OptionalExtension, params};

use super::users::User;
use super::{Db, DbError};

/// A snapshot as stored.
#[derive(Debug, Clone)]
pub struct SnapshotRow {
    pub id: i64,
    pub project_id: i64,
    pub title: String,
    pub created_by: Option<i64>,
    pub created_at: String,
    pub finished_at: Option<String>,
    /// `created`, `in_progress`, `completed` or `failed` (Label Studio's values).
    pub status: String,
    pub md5: String,
    pub task_number: i64,
    /// The formats it was converted to (names), beside its JSON.
    pub converted: Vec<String>,
}

const COLUMNS: &str = "id, project_id, title, created_by, created_at, finished_at, status, md5, task_number, converted";

fn from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<SnapshotRow> {
    let converted: String = row.get(9)?;
    Ok(SnapshotRow {
        id: row.get(0)?,
        project_id: row.get(1)?,
        title: row.get(2)?,
        created_by: row.get(3)?,
        created_at: row.get(4)?,
        finished_at: row.get(5)?,
        status: row.get(6)?,
        md5: row.get(7)?,
        task_number: row.get(8)?,
        converted: serde_json::from_str(&converted).unwrap_or_default(),
    })
}

fn get(conn: &Connection, project_id: i64, id: i64) -> Result<Option<SnapshotRow>, DbError> {
    let sql = format!("SELECT {COLUMNS} FROM export_snapshots WHERE id = ?1 AND project_id = ?2");
    Ok(conn
        .query_row(&sql, params![id, project_id], from_row)
        .optional()?)
}

/// A snapshot with its author.
pub type SnapshotWithAuthor = (SnapshotRow, Option<User>);

fn with_author(conn: &Connection, row: SnapshotRow) -> Result<SnapshotWithAuthor, DbError> {
    let author = match row.created_by {
        Some(id) => super::users::by_id(conn, id)?,
        None => None,
    };
    Ok((row, author))
}

impl Db {
    /// Records a new snapshot of a project, `in_progress`.
    pub async fn create_snapshot(
        &self,
        project_id: i64,
        title: String,
        user_id: i64,
    ) -> Result<SnapshotWithAuthor, DbError> {
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO export_snapshots (project_id, title, created_by, created_at, status)
                 VALUES (?1, ?2, ?3, ?4, 'in_progress')",
                params![project_id, title, user_id, crate::time::now_iso()],
            )?;
            let row = get(tx, project_id, tx.last_insert_rowid())?
                .ok_or_else(|| DbError::Invalid("the snapshot just recorded is gone".into()))?;
            with_author(tx, row)
        })
        .await
    }

    /// Ends a snapshot: `completed` with its checksum and task count, or `failed`.
    pub async fn finish_snapshot(
        &self,
        id: i64,
        outcome: Option<(String, i64)>,
    ) -> Result<(), DbError> {
        self.write(move |tx| {
            let (status, md5, tasks) = match &outcome {
                Some((md5, tasks)) => ("completed", md5.as_str(), *tasks),
                None => ("failed", "", 0),
            };
            tx.execute(
                "UPDATE export_snapshots SET status = ?2, md5 = ?3, task_number = ?4, finished_at = ?5
                 WHERE id = ?1",
                params![id, status, md5, tasks, crate::time::now_iso()],
            )?;
            Ok(())
        })
        .await
    }

    /// Notes that a snapshot was converted to `format`.
    pub async fn note_snapshot_converted(&self, id: i64, format: String) -> Result<(), DbError> {
        self.write(move |tx| {
            let converted: Option<String> = tx
                .query_row(
                    "SELECT converted FROM export_snapshots WHERE id = ?1",
                    [id],
                    |r| r.get(0),
                )
                .optional()?;
            let mut formats: Vec<String> =
                serde_json::from_str(&converted.unwrap_or_default()).unwrap_or_default();
            if !formats.contains(&format) {
                formats.push(format);
            }
            tx.execute(
                "UPDATE export_snapshots SET converted = ?2 WHERE id = ?1",
                params![id, serde_json::to_string(&formats)?],
            )?;
            Ok(())
        })
        .await
    }

    /// A project's snapshots, newest first, with their authors.
    pub async fn snapshots(&self, project_id: i64) -> Result<Vec<SnapshotWithAuthor>, DbError> {
        self.call(move |conn| {
            let sql = format!(
                "SELECT {COLUMNS} FROM export_snapshots WHERE project_id = ?1 ORDER BY id DESC"
            );
            let mut stmt = conn.prepare_cached(&sql)?;
            let rows: Vec<SnapshotRow> = stmt
                .query_map([project_id], from_row)?
                .collect::<Result<_, _>>()?;
            rows.into_iter().map(|row| with_author(conn, row)).collect()
        })
        .await
    }

    /// One snapshot of a project, with its author.
    pub async fn snapshot(
        &self,
        project_id: i64,
        id: i64,
    ) -> Result<Option<SnapshotWithAuthor>, DbError> {
        self.call(move |conn| match get(conn, project_id, id)? {
            Some(row) => Ok(Some(with_author(conn, row)?)),
            None => Ok(None),
        })
        .await
    }

    /// Marks the snapshots a stopped server left `in_progress` as `failed`; every snapshot
    /// id there is (its files are kept, the others are leftovers).
    pub async fn fail_unfinished_snapshots(&self) -> Result<Vec<i64>, DbError> {
        self.write(move |tx| {
            tx.execute(
                "UPDATE export_snapshots SET status = 'failed', finished_at = ?1 WHERE status = 'in_progress'",
                [crate::time::now_iso()],
            )?;
            let mut stmt = tx.prepare("SELECT id FROM export_snapshots")?;
            let ids = stmt.query_map([], |row| row.get(0))?.collect::<Result<_, _>>()?;
            Ok(ids)
        })
        .await
    }

    /// The snapshot ids of a project.
    pub async fn snapshot_ids(&self, project_id: i64) -> Result<Vec<i64>, DbError> {
        self.call(move |conn| {
            let mut stmt =
                conn.prepare_cached("SELECT id FROM export_snapshots WHERE project_id = ?1")?;
            let ids = stmt
                .query_map([project_id], |row| row.get(0))?
                .collect::<Result<_, _>>()?;
            Ok(ids)
        })
        .await
    }

    /// Deletes a snapshot's row; `false` when there was none.
    pub async fn delete_snapshot(&self, project_id: i64, id: i64) -> Result<bool, DbError> {
        self.write(move |tx| {
            Ok(tx.execute(
                "DELETE FROM export_snapshots WHERE id = ?1 AND project_id = ?2",
                params![id, project_id],
            )? > 0)
        })
        .await
    }
}
