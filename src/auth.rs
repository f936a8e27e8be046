//! Credentials: password hashes, API tokens and session ids, the first user. Which request
//! carries which credential is the HTTP layer's business (`http::identity`).

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use chrono::Utc;

use crate::config::FirstUser;
pub use crate::db::users::FirstUserOutcome;
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
    // Hashing is slow on purpose: only when the user is to be created.
    let hash = match (&first.password, db.user_exists(&first.email).await?) {
        (Some(password), false) => Some(hash_password(password)),
        _ => None,
    };
    db.ensure_first_user(&first.email, hash, first.token.clone(), new_secret())
        .await
}

/// Starts a browser session for `user`; returns its id.
pub async fn start_session(db: &Db, user_id: i64) -> Result<String, DbError> {
    let id = new_secret();
    let expires = crate::time::iso(Utc::now() + chrono::Duration::days(SESSION_DAYS));
    db.open_session(&id, user_id, &expires).await?;
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
