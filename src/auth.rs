//! Who is asking: API tokens, browser sessions, password hashes, the first user.
//!
//! API clients send `Authorization: Token <key>` (Label Studio's legacy header; `Bearer`
//! is accepted too). Browsers carry an HttpOnly, SameSite=Lax `sessionid` cookie; a
//! state-changing request authenticated by that cookie must also come from this site
//! (its `Origin` or `Referer` names our host), which stops cross-site request forgery.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::Method;
use actix_web::{FromRequest, HttpRequest, web};
use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use chrono::Utc;

use crate::app::AppState;
use crate::config::FirstUser;
use crate::db::users::{self, User};
use crate::db::{Db, DbError};
use crate::error::ApiError;

/// The cookie that carries a browser session.
pub const SESSION_COOKIE: &str = "sessionid";
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

/// How a request was authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    Token,
    Session,
}

/// The authenticated user of a request; a handler taking it answers 401 without one.
#[derive(Debug, Clone)]
pub struct AuthUser {
    pub user: User,
    pub via: Via,
}

impl FromRequest for AuthUser {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<AuthUser, ApiError>>>>;

    fn from_request(req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { authenticate(&req).await })
    }
}

/// Authenticates a request by token header, else by session cookie.
pub async fn authenticate(req: &HttpRequest) -> Result<AuthUser, ApiError> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or_else(|| ApiError::Internal("no app state".into()))?;
    if let Some(token) = header_token(req)? {
        let user = if crate::jwt::looks_like_jwt(&token) {
            let claims = state
                .keys
                .verify(&token, "access")
                .ok_or(ApiError::InvalidToken)?;
            state
                .db
                .call(move |conn| users::by_id(conn, claims.user_id))
                .await?
        } else {
            state
                .db
                .call(move |conn| users::by_token(conn, &token))
                .await?
        };
        return user
            .map(|user| AuthUser {
                user,
                via: Via::Token,
            })
            .ok_or(ApiError::InvalidToken);
    }
    let Some(cookie) = req.cookie(SESSION_COOKIE) else {
        return Err(ApiError::NotAuthenticated);
    };
    let session = cookie.value().to_owned();
    let user = state
        .db
        .call(move |conn| users::by_session(conn, &session, &crate::time::now_iso()))
        .await?;
    let user = user.ok_or(ApiError::NotAuthenticated)?;
    if !is_safe_method(req.method()) && !same_origin(req) {
        return Err(ApiError::Forbidden(
            "CSRF check failed: a browser request that changes data must come from this site."
                .to_owned(),
        ));
    }
    Ok(AuthUser {
        user,
        via: Via::Session,
    })
}

fn header_token(req: &HttpRequest) -> Result<Option<String>, ApiError> {
    let Some(value) = req.headers().get(actix_web::http::header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value.to_str().map_err(|_| ApiError::InvalidToken)?.trim();
    let token = ["Token ", "token ", "Bearer ", "bearer "]
        .iter()
        .find_map(|scheme| value.strip_prefix(scheme));
    match token.map(str::trim) {
        Some(token) if !token.is_empty() => Ok(Some(token.to_owned())),
        _ => Err(ApiError::InvalidToken),
    }
}

fn is_safe_method(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// True when the request's `Origin` (or, lacking it, `Referer`) is this server.
pub fn same_origin(req: &HttpRequest) -> bool {
    let host = req.connection_info().host().to_owned();
    let source = req
        .headers()
        .get("origin")
        .or_else(|| req.headers().get("referer"))
        .and_then(|value| value.to_str().ok());
    source.is_some_and(|source| {
        let rest = source.split_once("://").map_or(source, |(_, rest)| rest);
        rest.split('/').next() == Some(host.as_str())
    })
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
