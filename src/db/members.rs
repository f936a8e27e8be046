//! Project membership: who may work in which project, and which project a task, an
//! annotation or a storage belongs to (what every access check needs).

use rusqlite::{Connection, OptionalExtension, params};

use super::DbError;
use super::users::{USER_COLUMNS, User, user_from_row};

/// Something a request can name, and whose project decides who may touch it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Project(i64),
    Task(i64),
    Annotation(i64),
    Storage(i64),
    Prediction(i64),
    Draft(i64),
    View(i64),
}

/// The project `scope` belongs to and whether `user_id` is a member of it; `None` when
/// the thing does not exist. One query.
pub(super) fn access(
    conn: &Connection,
    user_id: i64,
    scope: Scope,
) -> Result<Option<(i64, bool)>, DbError> {
    let (table, column, id) = match scope {
        Scope::Project(id) => ("projects", "id", id),
        Scope::Task(id) => ("tasks", "project_id", id),
        Scope::Annotation(id) => ("annotations", "project_id", id),
        Scope::Storage(id) => ("storages", "project_id", id),
        Scope::Prediction(id) => ("predictions", "project_id", id),
        Scope::Draft(id) => ("drafts", "project_id", id),
        Scope::View(id) => ("dm_views", "project_id", id),
    };
    let sql = format!(
        "SELECT p, EXISTS(SELECT 1 FROM project_members WHERE project_id = p AND user_id = ?2)
         FROM (SELECT {column} AS p FROM {table} WHERE id = ?1)"
    );
    Ok(conn
        .query_row(&sql, params![id, user_id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?)
}

/// Adds a member; adding one twice changes nothing. False when the user does not exist.
pub(super) fn add(
    conn: &Connection,
    project_id: i64,
    user_id: i64,
    now: &str,
) -> Result<bool, DbError> {
    Ok(conn.execute(
        "INSERT OR IGNORE INTO project_members (project_id, user_id, created_at)
         SELECT ?1, id, ?3 FROM users WHERE id = ?2",
        params![project_id, user_id, now],
    )? > 0
        || is_member(conn, project_id, user_id)?)
}

/// Removes a member; false if they were not one.
pub(super) fn remove(conn: &Connection, project_id: i64, user_id: i64) -> Result<bool, DbError> {
    Ok(conn.execute(
        "DELETE FROM project_members WHERE project_id = ?1 AND user_id = ?2",
        params![project_id, user_id],
    )? > 0)
}

/// How many members a project has.
pub(super) fn count(conn: &Connection, project_id: i64) -> Result<i64, DbError> {
    Ok(conn.query_row(
        "SELECT COUNT(*) FROM project_members WHERE project_id = ?1",
        [project_id],
        |r| r.get(0),
    )?)
}

pub(super) fn is_member(conn: &Connection, project_id: i64, user_id: i64) -> Result<bool, DbError> {
    Ok(conn.query_row(
        "SELECT EXISTS(SELECT 1 FROM project_members WHERE project_id = ?1 AND user_id = ?2)",
        params![project_id, user_id],
        |r| r.get(0),
    )?)
}

/// The members of a project, in the order they joined.
pub(super) fn of_project(conn: &Connection, project_id: i64) -> Result<Vec<User>, DbError> {
    let sql = format!(
        "SELECT {USER_COLUMNS} FROM project_members m JOIN users u ON u.id = m.user_id
         WHERE m.project_id = ?1 ORDER BY m.created_at, u.id"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map([project_id], user_from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// What removing a member did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberRemoval {
    Removed,
    /// The user is not a member of the project.
    NotMember,
    /// The user is the project's last member, who stays so that someone can still reach it.
    LastMember,
}

/// Removes a member unless they are the last one.
fn remove_unless_last(
    conn: &Connection,
    project_id: i64,
    user_id: i64,
) -> Result<MemberRemoval, DbError> {
    if !is_member(conn, project_id, user_id)? {
        return Ok(MemberRemoval::NotMember);
    }
    if count(conn, project_id)? == 1 {
        return Ok(MemberRemoval::LastMember);
    }
    remove(conn, project_id, user_id)?;
    Ok(MemberRemoval::Removed)
}

/// Adds a member and returns them; `None` when the user does not exist.
fn add_returning_user(
    conn: &Connection,
    project_id: i64,
    user_id: i64,
) -> Result<Option<User>, DbError> {
    if !add(conn, project_id, user_id, &crate::time::now_iso())? {
        return Ok(None);
    }
    super::users::by_id(conn, user_id)
}

impl super::Db {
    /// The project `scope` belongs to and whether `user_id` is a member of it; `None` when
    /// the thing does not exist.
    pub async fn access(&self, user_id: i64, scope: Scope) -> Result<Option<(i64, bool)>, DbError> {
        self.call(move |conn| access(conn, user_id, scope)).await
    }

    /// The members of a project, in the order they joined.
    pub async fn members_of(&self, project_id: i64) -> Result<Vec<User>, DbError> {
        self.call(move |conn| of_project(conn, project_id)).await
    }

    /// Makes the user a member of the project (once) and returns them; `None` when the user
    /// does not exist.
    pub async fn add_member(&self, project_id: i64, user_id: i64) -> Result<Option<User>, DbError> {
        self.write(move |tx| add_returning_user(tx, project_id, user_id))
            .await
    }

    /// Removes a member of the project, unless they are its last one.
    pub async fn remove_member(
        &self,
        project_id: i64,
        user_id: i64,
    ) -> Result<MemberRemoval, DbError> {
        self.write(move |tx| remove_unless_last(tx, project_id, user_id))
            .await
    }
}
