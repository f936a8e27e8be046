//! Users, API tokens and browser sessions.

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

use super::DbError;

/// A user as the rest of the server sees it (never the password hash).
#[derive(Debug, Clone, Serialize)]
pub struct User {
    pub id: i64,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
}

pub(super) const USER_COLUMNS: &str = "u.id, u.email, u.first_name, u.last_name";

pub(super) fn user_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<User> {
    Ok(User {
        id: row.get(0)?,
        email: row.get(1)?,
        first_name: row.get(2)?,
        last_name: row.get(3)?,
    })
}

pub fn count(conn: &Connection) -> Result<i64, DbError> {
    Ok(conn.query_row("SELECT COUNT(*) FROM users", [], |r| r.get(0))?)
}

pub fn insert(
    conn: &Connection,
    email: &str,
    password_hash: &str,
    now: &str,
) -> Result<User, DbError> {
    conn.execute(
        "INSERT INTO users (email, password_hash, created_at) VALUES (?1, ?2, ?3)",
        params![email, password_hash, now],
    )?;
    Ok(User {
        id: conn.last_insert_rowid(),
        email: email.to_owned(),
        first_name: String::new(),
        last_name: String::new(),
    })
}

pub fn by_email(conn: &Connection, email: &str) -> Result<Option<(User, String)>, DbError> {
    let sql = format!("SELECT {USER_COLUMNS}, u.password_hash FROM users u WHERE u.email = ?1");
    Ok(conn
        .query_row(&sql, [email], |row| Ok((user_from_row(row)?, row.get(4)?)))
        .optional()?)
}

pub fn set_names(conn: &Connection, id: i64, first: &str, last: &str) -> Result<(), DbError> {
    conn.execute(
        "UPDATE users SET first_name = ?2, last_name = ?3 WHERE id = ?1",
        params![id, first, last],
    )?;
    Ok(())
}

pub fn by_id(conn: &Connection, id: i64) -> Result<Option<User>, DbError> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users u WHERE u.id = ?1");
    Ok(conn.query_row(&sql, [id], user_from_row).optional()?)
}

pub fn by_token(conn: &Connection, token: &str) -> Result<Option<User>, DbError> {
    let sql = format!(
        "SELECT {USER_COLUMNS} FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.key = ?1"
    );
    Ok(conn.query_row(&sql, [token], user_from_row).optional()?)
}

pub fn by_session(conn: &Connection, session: &str, now: &str) -> Result<Option<User>, DbError> {
    let sql = format!(
        "SELECT {USER_COLUMNS} FROM sessions s JOIN users u ON u.id = s.user_id
         WHERE s.id = ?1 AND s.expires_at > ?2"
    );
    Ok(conn
        .query_row(&sql, params![session, now], user_from_row)
        .optional()?)
}

/// The user's API token, if one was issued.
pub fn token_of(conn: &Connection, user_id: i64) -> Result<Option<String>, DbError> {
    Ok(conn
        .query_row(
            "SELECT key FROM api_tokens WHERE user_id = ?1 ORDER BY created_at LIMIT 1",
            [user_id],
            |r| r.get(0),
        )
        .optional()?)
}

/// Makes `token` the user's only API token.
pub fn replace_token(
    conn: &Connection,
    user_id: i64,
    token: &str,
    now: &str,
) -> Result<(), DbError> {
    conn.execute("DELETE FROM api_tokens WHERE user_id = ?1", [user_id])?;
    conn.execute(
        "INSERT INTO api_tokens (key, user_id, created_at) VALUES (?1, ?2, ?3)",
        params![token, user_id, now],
    )?;
    Ok(())
}

pub fn insert_session(
    conn: &Connection,
    id: &str,
    user_id: i64,
    expires_at: &str,
) -> Result<(), DbError> {
    conn.execute(
        "INSERT INTO sessions (id, user_id, expires_at) VALUES (?1, ?2, ?3)",
        params![id, user_id, expires_at],
    )?;
    Ok(())
}

pub fn delete_session(conn: &Connection, id: &str) -> Result<(), DbError> {
    conn.execute("DELETE FROM sessions WHERE id = ?1", [id])?;
    Ok(())
}

/// Every user, in the order they were created.
pub fn all(conn: &Connection) -> Result<Vec<User>, DbError> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users u ORDER BY u.id");
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map([], user_from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Users with the given ids (one query).
pub fn by_ids(conn: &Connection, ids: &[i64]) -> Result<Vec<User>, DbError> {
    let sql = format!(
        "SELECT {USER_COLUMNS} FROM users u WHERE u.id IN (SELECT value FROM json_each(?1))"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map([serde_json::to_string(ids)?], user_from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The server's JWT signing key, created on first use.
pub fn signing_key(conn: &Connection, fresh: &str) -> Result<String, DbError> {
    conn.execute(
        "INSERT INTO server_secrets (name, value) VALUES ('jwt_signing_key', ?1) ON CONFLICT DO NOTHING",
        [fresh],
    )?;
    Ok(conn.query_row(
        "SELECT value FROM server_secrets WHERE name = 'jwt_signing_key'",
        [],
        |r| r.get(0),
    )?)
}

/// Records a new personal access token id.
pub fn insert_personal_token(
    conn: &Connection,
    jti: &str,
    user_id: i64,
    created_at: &str,
    expires_at: &str,
) -> Result<(), DbError> {
    conn.execute(
        "INSERT INTO personal_tokens (jti, user_id, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)",
        params![jti, user_id, created_at, expires_at],
    )?;
    Ok(())
}

/// True when the token id was issued and not revoked.
pub fn personal_token_valid(conn: &Connection, jti: &str, user_id: i64) -> Result<bool, DbError> {
    Ok(conn.query_row(
        "SELECT EXISTS(SELECT 1 FROM personal_tokens WHERE jti = ?1 AND user_id = ?2 AND revoked = 0)",
        params![jti, user_id],
        |r| r.get(0),
    )?)
}

pub fn revoke_personal_token(conn: &Connection, jti: &str) -> Result<(), DbError> {
    conn.execute(
        "UPDATE personal_tokens SET revoked = 1 WHERE jti = ?1",
        [jti],
    )?;
    Ok(())
}

/// A user's personal tokens: (id, created, expires), newest first.
pub fn personal_tokens_of(
    conn: &Connection,
    user_id: i64,
) -> Result<Vec<(String, String, String)>, DbError> {
    let mut stmt = conn.prepare_cached(
        "SELECT jti, created_at, expires_at FROM personal_tokens WHERE user_id = ?1 AND revoked = 0 ORDER BY created_at DESC",
    )?;
    let rows = stmt.query_map([user_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}
