//! Who is asking: the user a request's credentials name.
//!
//! API clients send `Authorization: Token <key>` (Label Studio's legacy header; `Bearer`
//! is accepted too, with an API key or a personal access token). Browsers carry an
//! HttpOnly, SameSite=Lax `sessionid` cookie; a state-changing request authenticated by
//! that cookie must also come from this site (its `Origin` or `Referer` names our host),
//! which stops cross-site request forgery.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::Method;
use actix_web::{FromRequest, HttpRequest, web};

use super::AppState;
use crate::db::users::User;
use crate::error::ApiError;

/// The cookie that carries a browser session.
pub(super) const SESSION_COOKIE: &str = "sessionid";

/// The authenticated user of a request; a handler taking it answers 401 without one.
#[derive(Debug, Clone)]
pub(super) struct AuthUser {
    pub(super) user: User,
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
pub(super) async fn authenticate(req: &HttpRequest) -> Result<AuthUser, ApiError> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or_else(|| ApiError::Internal("no app state".into()))?;
    if let Some(token) = header_token(req)? {
        let user = if crate::jwt::looks_like_jwt(&token) {
            let claims = state
                .keys
                .verify(&token, "access")
                .ok_or(ApiError::InvalidToken)?;
            state.db.user(claims.user_id).await?
        } else {
            state.db.user_by_token(&token).await?
        };
        return user
            .map(|user| AuthUser { user })
            .ok_or(ApiError::InvalidToken);
    }
    let Some(cookie) = req.cookie(SESSION_COOKIE) else {
        return Err(ApiError::NotAuthenticated);
    };
    let session = cookie.value().to_owned();
    let user = state.db.user_by_session(&session).await?;
    let user = user.ok_or(ApiError::NotAuthenticated)?;
    if !is_safe_method(req.method()) && !same_origin(req) {
        return Err(ApiError::Forbidden(
            "CSRF check failed: a browser request that changes data must come from this site."
                .to_owned(),
        ));
    }
    Ok(AuthUser { user })
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
pub(super) fn same_origin(req: &HttpRequest) -> bool {
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
