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

pub(super) fn count(conn: &Connection) -> Result<i64, DbError> {
    Ok(conn.query_row("SELECT COUNT(*) FROM users", [], |r| r.get(0))?)
}

pub(super) fn insert(
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

pub(super) fn by_email(conn: &Connection, email: &str) -> Result<Option<(User, String)>, DbError> {
    let sql = format!("SELECT {USER_COLUMNS}, u.password_hash FROM users u WHERE u.email = ?1");
    Ok(conn
        .query_row(&sql, [email], |row| Ok((user_from_row(row)?, row.get(4)?)))
        .optional()?)
}

pub(super) fn set_names(
    conn: &Connection,
    id: i64,
    first: &str,
    last: &str,
) -> Result<(), DbError> {
    conn.execute(
        "UPDATE users SET first_name = ?2, last_name = ?3 WHERE id = ?1",
        params![id, first, last],
    )?;
    Ok(())
}

pub(super) fn by_id(conn: &Connection, id: i64) -> Result<Option<User>, DbError> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users u WHERE u.id = ?1");
    Ok(conn.query_row(&sql, [id], user_from_row).optional()?)
}

pub(super) fn by_token(conn: &Connection, token: &str) -> Result<Option<User>, DbError> {
    let sql = format!(
        "SELECT {USER_COLUMNS} FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.key = ?1"
    );
    Ok(conn.query_row(&sql, [token], user_from_row).optional()?)
}

pub(super) fn by_session(
    conn: &Connection,
    session: &str,
    now: &str,
) -> Result<Option<User>, DbError> {
    let sql = format!(
        "SELECT {USER_COLUMNS} FROM sessions s JOIN users u ON u.id = s.user_id
         WHERE s.id = ?1 AND s.expires_at > ?2"
    );
    Ok(conn
        .query_row(&sql, params![session, now], user_from_row)
        .optional()?)
}

/// The user's API token, if one was issued.
pub(super) fn token_of(conn: &Connection, user_id: i64) -> Result<Option<String>, DbError> {
    Ok(conn
        .query_row(
            "SELECT key FROM api_tokens WHERE user_id = ?1 ORDER BY created_at LIMIT 1",
            [user_id],
            |r| r.get(0),
        )
        .optional()?)
}

/// Makes `token` the user's only API token.
pub(super) fn replace_token(
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

pub(super) fn insert_session(
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

pub(super) fn delete_session(conn: &Connection, id: &str) -> Result<(), DbError> {
    conn.execute("DELETE FROM sessions WHERE id = ?1", [id])?;
    Ok(())
}

/// Every user, in the order they were created.
pub(super) fn all(conn: &Connection) -> Result<Vec<User>, DbError> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users u ORDER BY u.id");
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map([], user_from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Users with the given ids (one query).
pub(super) fn by_ids(conn: &Connection, ids: &[i64]) -> Result<Vec<User>, DbError> {
    let sql = format!(
        "SELECT {USER_COLUMNS} FROM users u WHERE u.id IN (SELECT value FROM json_each(?1))"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map([serde_json::to_string(ids)?], user_from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The server's JWT signing key, created on first use.
pub(super) fn signing_key(conn: &Connection, fresh: &str) -> Result<String, DbError> {
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
pub(super) fn insert_personal_token(
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
pub(super) fn personal_token_valid(
    conn: &Connection,
    jti: &str,
    user_id: i64,
) -> Result<bool, DbError> {
    Ok(conn.query_row(
        "SELECT EXISTS(SELECT 1 FROM personal_tokens WHERE jti = ?1 AND user_id = ?2 AND revoked = 0)",
        params![jti, user_id],
        |r| r.get(0),
    )?)
}

pub(super) fn revoke_personal_token(conn: &Connection, jti: &str) -> Result<(), DbError> {
    conn.execute(
        "UPDATE personal_tokens SET revoked = 1 WHERE jti = ?1",
        [jti],
    )?;
    Ok(())
}

/// A user's personal tokens: (id, created, expires), newest first.
pub(super) fn personal_tokens_of(
    conn: &Connection,
    user_id: i64,
) -> Result<Vec<(String, String, String)>, DbError> {
    let mut stmt = conn.prepare_cached(
        "SELECT jti, created_at, expires_at FROM personal_tokens WHERE user_id = ?1 AND revoked = 0 ORDER BY created_at DESC",
    )?;
    let rows = stmt.query_map([user_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// What [`Db::ensure_first_user`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FirstUserOutcome {
    Created,
    Existed,
    /// The user does not exist and no password was given to create it.
    NeedsPassword,
}

/// A user to create, with their password already hashed.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub email: String,
    pub password_hash: String,
    pub first_name: String,
    pub last_name: String,
}

/// Creates the configured first user when missing (given a password hash) and gives them
/// `token`, or `fresh_token` when they have no token yet.
fn ensure_first(
    conn: &Connection,
    email: &str,
    password_hash: Option<&str>,
    token: Option<&str>,
    fresh_token: &str,
) -> Result<FirstUserOutcome, DbError> {
    let now = crate::time::now_iso();
    let (user, created) = match by_email(conn, email)? {
        Some((user, _)) => (user, false),
        None => match password_hash {
            Some(hash) => (insert(conn, email, hash, &now)?, true),
            None => return Ok(FirstUserOutcome::NeedsPassword),
        },
    };
    match token {
        Some(token) => replace_token(conn, user.id, token, &now)?,
        None if token_of(conn, user.id)?.is_none() => {
            replace_token(conn, user.id, fresh_token, &now)?
        }
        None => {}
    }
    Ok(if created {
        FirstUserOutcome::Created
    } else {
        FirstUserOutcome::Existed
    })
}

/// Creates a user with their names and API token; `None` when the e-mail is taken.
fn create(conn: &Connection, new: &NewUser, token: &str) -> Result<Option<User>, DbError> {
    if by_email(conn, &new.email)?.is_some() {
        return Ok(None);
    }
    let now = crate::time::now_iso();
    let user = insert(conn, &new.email, &new.password_hash, &now)?;
    set_names(conn, user.id, &new.first_name, &new.last_name)?;
    replace_token(conn, user.id, token, &now)?;
    by_id(conn, user.id)
}

/// Creates the very first user with their API token; `None` once any user exists.
fn sign_up_first(
    conn: &Connection,
    email: &str,
    password_hash: &str,
    token: &str,
) -> Result<Option<i64>, DbError> {
    if count(conn)? > 0 {
        return Ok(None);
    }
    let now = crate::time::now_iso();
    let user = insert(conn, email, password_hash, &now)?;
    replace_token(conn, user.id, token, &now)?;
    Ok(Some(user.id))
}

/// The user's API token; `fresh` becomes it when they have none.
fn token_or(conn: &Connection, user_id: i64, fresh: &str) -> Result<String, DbError> {
    match token_of(conn, user_id)? {
        Some(token) => Ok(token),
        None => {
            replace_token(conn, user_id, fresh, &crate::time::now_iso())?;
            Ok(fresh.to_owned())
        }
    }
}

impl super::Db {
    /// How many users exist.
    pub async fn user_count(&self) -> Result<i64, DbError> {
        self.call(|conn| count(conn)).await
    }

    /// Every user, in the order they were created.
    pub async fn users(&self) -> Result<Vec<User>, DbError> {
        self.call(|conn| all(conn)).await
    }

    /// The user with this id.
    pub async fn user(&self, id: i64) -> Result<Option<User>, DbError> {
        self.call(move |conn| by_id(conn, id)).await
    }

    /// Whether a user has this e-mail.
    pub async fn user_exists(&self, email: &str) -> Result<bool, DbError> {
        let email = email.to_owned();
        self.call(move |conn| Ok(by_email(conn, &email)?.is_some()))
            .await
    }

    /// The user with this e-mail and their password hash (to check a sign-in).
    pub async fn user_with_password_hash(
        &self,
        email: &str,
    ) -> Result<Option<(User, String)>, DbError> {
        let email = email.to_owned();
        self.call(move |conn| by_email(conn, &email)).await
    }

    /// The owner of an API token.
    pub async fn user_by_token(&self, token: &str) -> Result<Option<User>, DbError> {
        let token = token.to_owned();
        self.call(move |conn| by_token(conn, &token)).await
    }

    /// The user of a browser session that has not expired.
    pub async fn user_by_session(&self, session: &str) -> Result<Option<User>, DbError> {
        let session = session.to_owned();
        self.call(move |conn| by_session(conn, &session, &crate::time::now_iso()))
            .await
    }

    /// Creates the configured first user when missing (only with a password hash) and sets
    /// their API token: `token` when given, else `fresh_token` if they have none yet.
    pub async fn ensure_first_user(
        &self,
        email: &str,
        password_hash: Option<String>,
        token: Option<String>,
        fresh_token: String,
    ) -> Result<FirstUserOutcome, DbError> {
        let email = email.to_owned();
        self.write(move |tx| {
            ensure_first(
                tx,
                &email,
                password_hash.as_deref(),
                token.as_deref(),
                &fresh_token,
            )
        })
        .await
    }

    /// Creates the very first user with `token` as their API token; `None` (nothing
    /// created) once any user exists.
    pub async fn sign_up_first_user(
        &self,
        email: &str,
        password_hash: String,
        token: String,
    ) -> Result<Option<i64>, DbError> {
        let email = email.to_owned();
        self.write(move |tx| sign_up_first(tx, &email, &password_hash, &token))
            .await
    }

    /// Creates a user with their names and `token` as their API token; `None` (nothing
    /// created) when the e-mail is taken.
    pub async fn create_user(&self, new: NewUser, token: String) -> Result<Option<User>, DbError> {
        self.write(move |tx| create(tx, &new, &token)).await
    }

    /// Replaces the user's API token with `fresh` (the old one stops working at once).
    pub async fn reset_api_token(&self, user_id: i64, fresh: String) -> Result<(), DbError> {
        self.write(move |tx| replace_token(tx, user_id, &fresh, &crate::time::now_iso()))
            .await
    }

    /// Changes a user's names; the user as they are now, `None` when there is no such user.
    pub async fn rename_user(
        &self,
        id: i64,
        first_name: Option<String>,
        last_name: Option<String>,
    ) -> Result<Option<User>, DbError> {
        self.write(move |tx| {
            let Some(user) = by_id(tx, id)? else {
                return Ok(None);
            };
            let first = first_name.unwrap_or(user.first_name);
            let last = last_name.unwrap_or(user.last_name);
            set_names(tx, id, &first, &last)?;
            by_id(tx, id)
        })
        .await
    }

    /// The user's API token; `fresh` becomes it when they have none yet.
    pub async fn ensure_api_token(&self, user_id: i64, fresh: String) -> Result<String, DbError> {
        self.write(move |tx| token_or(tx, user_id, &fresh)).await
    }

    /// Records a browser session of the user, valid until `expires_at`.
    pub async fn open_session(
        &self,
        session: &str,
        user_id: i64,
        expires_at: &str,
    ) -> Result<(), DbError> {
        let (session, expires_at) = (session.to_owned(), expires_at.to_owned());
        self.call(move |conn| insert_session(conn, &session, user_id, &expires_at))
            .await
    }

    /// Ends a browser session.
    pub async fn end_session(&self, session: &str) -> Result<(), DbError> {
        let session = session.to_owned();
        self.call(move |conn| delete_session(conn, &session)).await
    }

    /// The server's JWT signing key; `fresh` becomes it on first use.
    pub async fn signing_key(&self, fresh: String) -> Result<String, DbError> {
        self.call(move |conn| signing_key(conn, &fresh)).await
    }

    /// Records a new personal access token id of the user.
    pub async fn record_personal_token(
        &self,
        jti: &str,
        user_id: i64,
        created_at: &str,
        expires_at: &str,
    ) -> Result<(), DbError> {
        let (jti, created_at, expires_at) =
            (jti.to_owned(), created_at.to_owned(), expires_at.to_owned());
        self.call(move |conn| insert_personal_token(conn, &jti, user_id, &created_at, &expires_at))
            .await
    }

    /// The user's personal tokens not revoked: (id, created, expires), newest first.
    pub async fn personal_tokens(
        &self,
        user_id: i64,
    ) -> Result<Vec<(String, String, String)>, DbError> {
        self.call(move |conn| personal_tokens_of(conn, user_id))
            .await
    }

    /// True when the personal token id was issued to the user and not revoked.
    pub async fn personal_token_valid(&self, jti: &str, user_id: i64) -> Result<bool, DbError> {
        let jti = jti.to_owned();
        self.call(move |conn| personal_token_valid(conn, &jti, user_id))
            .await
    }

    /// Revokes a personal token.
    pub async fn revoke_personal_token(&self, jti: &str) -> Result<(), DbError> {
        let jti = jti.to_owned();
        self.call(move |conn| revoke_personal_token(conn, &jti))
            .await
    }
}
