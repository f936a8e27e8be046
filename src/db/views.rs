//! Data Manager views (the tabs): per project, the frontend's `data` (title, filters,
//! ordering, hidden columns, ...) kept as sent, in the order the user arranged them.

use rusqlite::{Connection, OptionalExtension, params};

use super::DbError;

/// A stored view.
#[derive(Debug, Clone)]
pub struct ViewRow {
    pub id: i64,
    pub project_id: i64,
    pub user_id: Option<i64>,
    /// The view's `data` as JSON text.
    pub data: String,
    pub position: i64,
}

const COLUMNS: &str = "id, project_id, user_id, data, position";

fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ViewRow> {
    Ok(ViewRow {
        id: r.get(0)?,
        project_id: r.get(1)?,
        user_id: r.get(2)?,
        data: r.get(3)?,
        position: r.get(4)?,
    })
}

/// Adds a view after the project's others (or at `position`); returns its id.
pub(super) fn insert(
    conn: &Connection,
    project_id: i64,
    user_id: i64,
    data: &str,
    position: Option<i64>,
    now: &str,
) -> Result<i64, DbError> {
    conn.execute(
        "INSERT INTO dm_views (project_id, user_id, data, position, created_at, updated_at)
         VALUES (?1, ?2, ?3,
            COALESCE(?4, (SELECT COALESCE(MAX(position) + 1, 0) FROM dm_views WHERE project_id = ?1)),
            ?5, ?5)",
        params![project_id, user_id, data, position, now],
    )?;
    Ok(conn.last_insert_rowid())
}

pub(super) fn get(conn: &Connection, id: i64) -> Result<Option<ViewRow>, DbError> {
    let sql = format!("SELECT {COLUMNS} FROM dm_views WHERE id = ?1");
    Ok(conn.query_row(&sql, [id], from_row).optional()?)
}

/// The views of a project, or of every project `member` is in, in tab order.
pub(super) fn list(
    conn: &Connection,
    project_id: Option<i64>,
    member: i64,
) -> Result<Vec<ViewRow>, DbError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM dm_views
         WHERE (?1 IS NULL OR project_id = ?1)
           AND project_id IN (SELECT project_id FROM project_members WHERE user_id = ?2)
         ORDER BY project_id, position, id"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(params![project_id, member], from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Replaces a view's data and/or position; `false` when it does not exist.
pub(super) fn update(
    conn: &Connection,
    id: i64,
    data: Option<&str>,
    position: Option<i64>,
    now: &str,
) -> Result<bool, DbError> {
    Ok(conn.execute(
        "UPDATE dm_views SET data = COALESCE(?2, data), position = COALESCE(?3, position),
            updated_at = ?4 WHERE id = ?1",
        params![id, data, position, now],
    )? > 0)
}

pub(super) fn delete(conn: &Connection, id: i64) -> Result<bool, DbError> {
    Ok(conn.execute("DELETE FROM dm_views WHERE id = ?1", [id])? > 0)
}

/// Deletes every view of a project.
pub(super) fn delete_of_project(conn: &Connection, project_id: i64) -> Result<u64, DbError> {
    Ok(conn.execute("DELETE FROM dm_views WHERE project_id = ?1", [project_id])? as u64)
}

/// Puts the listed views of a project in this order (others keep their place).
pub(super) fn reorder(
    conn: &Connection,
    project_id: i64,
    ids: &[i64],
    now: &str,
) -> Result<(), DbError> {
    let mut stmt = conn.prepare_cached(
        "UPDATE dm_views SET position = ?3, updated_at = ?4 WHERE id = ?1 AND project_id = ?2",
    )?;
    for (position, id) in ids.iter().enumerate() {
        stmt.execute(params![id, project_id, position as i64, now])?;
    }
    Ok(())
}

/// Adds a view and reads it back.
fn insert_returning(
    conn: &Connection,
    project_id: i64,
    user_id: i64,
    data: &str,
    position: Option<i64>,
) -> Result<Option<ViewRow>, DbError> {
    let id = insert(
        conn,
        project_id,
        user_id,
        data,
        position,
        &crate::time::now_iso(),
    )?;
    get(conn, id)
}

/// Changes a view and reads it back; `None` when it does not exist.
fn update_returning(
    conn: &Connection,
    id: i64,
    data: Option<&str>,
    position: Option<i64>,
) -> Result<Option<ViewRow>, DbError> {
    update(conn, id, data, position, &crate::time::now_iso())?;
    get(conn, id)
}

impl super::Db {
    /// One view.
    pub async fn view(&self, id: i64) -> Result<Option<ViewRow>, DbError> {
        self.call(move |conn| get(conn, id)).await
    }

    /// The views of a project, or of every project `member` is in, in tab order.
    pub async fn views(
        &self,
        project_id: Option<i64>,
        member: i64,
    ) -> Result<Vec<ViewRow>, DbError> {
        self.call(move |conn| list(conn, project_id, member)).await
    }

    /// Adds a view after the project's others (or at `position`) and returns it.
    pub async fn create_view(
        &self,
        project_id: i64,
        user_id: i64,
        data: String,
        position: Option<i64>,
    ) -> Result<Option<ViewRow>, DbError> {
        self.write(move |tx| insert_returning(tx, project_id, user_id, &data, position))
            .await
    }

    /// Replaces a view's data and/or position and returns it; `None` when it does not exist.
    pub async fn update_view(
        &self,
        id: i64,
        data: Option<String>,
        position: Option<i64>,
    ) -> Result<Option<ViewRow>, DbError> {
        self.write(move |tx| update_returning(tx, id, data.as_deref(), position))
            .await
    }

    /// Deletes a view; `false` when it does not exist.
    pub async fn delete_view(&self, id: i64) -> Result<bool, DbError> {
        self.write(move |tx| delete(tx, id)).await
    }

    /// Deletes every view of a project.
    pub async fn delete_views_of_project(&self, project_id: i64) -> Result<u64, DbError> {
        self.write(move |tx| delete_of_project(tx, project_id))
            .await
    }

    /// Puts the listed views of a project in this order (others keep their place).
    pub async fn reorder_views(&self, project_id: i64, ids: Vec<i64>) -> Result<(), DbError> {
        self.write(move |tx| reorder(tx, project_id, &ids, &crate::time::now_iso()))
            .await
    }
}
