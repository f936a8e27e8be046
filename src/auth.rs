//! Credentials: password hashes, API tokens and session ids, the first user. Which request
//! carries which credential is the HTTP layer's business (`http::identity`).

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use chrono::Utc;

use crate::config::FirstUser;
use crate::db::users;
use crate::db::{Db, DbError};

/// How long a browser session lasts.
pub const SESSION_DAYS: i64 = 14;

/// Hashes a password with Argon2id and a random salt (PHC string).
pub fn hash_password(password: &str) -> String {
    // 16 random bytes from the OS generator (uuid v4 draws them from getrandom).
    let salt = SaltString::encode_b64(uuid::Uuid::new_v4().as_bytes())
        .expect("16 bytes is a valid salt length");
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .unwrap_or_default()
}

/// Checks a password against a stored PHC hash.
pub fn verify_password(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored).is_ok_and(|hash| {
        Argon2::default()
            .verify_password(password.as_bytes(), &hash)
            .is_ok()
    })
}

/// A new random API token or session id (40 hex characters, 160 random bits).
pub fn new_secret() -> String {
    let random = format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    random[..40].to_owned()
}

/// Creates the configured first user if missing, and sets its token when one is given.
pub async fn ensure_first_user(db: &Db, first: &FirstUser) -> Result<FirstUserOutcome, DbError> {
    let first = first.clone();
    let hash = match (&first.password, db_has_user(db, &first.email).await?) {
        (Some(password), false) => Some(hash_password(password)),
        _ => None,
    };
    db.write(move |tx| {
        let now = crate::time::now_iso();
        let (user, created) = match users::by_email(tx, &first.email)? {
            Some((user, _)) => (user, false),
            None => match &hash {
                Some(hash) => (users::insert(tx, &first.email, hash, &now)?, true),
                None => return Ok(FirstUserOutcome::NeedsPassword),
            },
        };
        match &first.token {
            Some(token) => users::replace_token(tx, user.id, token, &now)?,
            None if users::token_of(tx, user.id)?.is_none() => {
                users::replace_token(tx, user.id, &new_secret(), &now)?
            }
            None => {}
        }
        Ok(if created {
            FirstUserOutcome::Created
        } else {
            FirstUserOutcome::Existed
        })
    })
    .await
}

async fn db_has_user(db: &Db, email: &str) -> Result<bool, DbError> {
    let email = email.to_owned();
    db.call(move |conn| Ok(users::by_email(conn, &email)?.is_some()))
        .await
}

/// What [`ensure_first_user`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FirstUserOutcome {
    Created,
    Existed,
    /// The user does not exist and no password was given to create it.
    NeedsPassword,
}

/// Starts a browser session for `user`; returns its id.
pub async fn start_session(db: &Db, user_id: i64) -> Result<String, DbError> {
    let id = new_secret();
    let expires = crate::time::iso(Utc::now() + chrono::Duration::days(SESSION_DAYS));
    let session = id.clone();
    db.call(move |conn| users::insert_session(conn, &session, user_id, &expires))
        .await?;
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_round_trip_and_secrets_differ() {
        let hash = hash_password("s3cret pass");
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("s3cret pass", &hash));
        assert!(!verify_password("wrong", &hash));
        assert!(!verify_password("s3cret pass", "not a hash"));
        let (a, b) = (new_secret(), new_secret());
        assert_eq!(a.len(), 40);
        assert_ne!(a, b);
    }
}
