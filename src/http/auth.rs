//! Browser sign-in (`/user/login`, `/user/signup` for the first user, `/user/logout`) and
//! the current user's API (`/api/current-user/whoami`, `/api/current-user/token`).

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;
use serde_json::json;

use super::identity::{AuthUser, SESSION_COOKIE};
use super::{State, slash_optional};
use crate::auth::{self, SESSION_DAYS};
use crate::error::ApiError;

pub(super) fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource(slash_optional("/user/login/"))
            .get(login_page)
            .post(login),
    )
    .service(
        web::resource(slash_optional("/user/signup/"))
            .get(signup_page)
            .post(signup),
    )
    .service(
        web::resource(slash_optional("/user/logout/"))
            .get(logout)
            .post(logout),
    )
    .service(web::resource(slash_optional("/api/current-user/whoami/")).get(whoami))
    .service(web::resource(slash_optional("/api/current-user/token/")).get(token))
    .service(web::resource(slash_optional("/api/current-user/reset-token/")).post(reset_token));
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage<'a> {
    heading: &'a str,
    action: &'a str,
    button: &'a str,
    error: Option<&'a str>,
    signup_open: bool,
}

#[derive(Debug, Deserialize)]
struct Credentials {
    email: String,
    password: String,
}

fn page(page: &LoginPage<'_>, status: actix_web::http::StatusCode) -> HttpResponse {
    match page.render() {
        Ok(html) => HttpResponse::build(status)
            .content_type("text/html; charset=utf-8")
            .body(html),
        Err(err) => actix_web::ResponseError::error_response(&ApiError::Internal(err.to_string())),
    }
}

async fn signup_open(state: &State) -> Result<bool, ApiError> {
    Ok(state.db.user_count().await? == 0)
}

async fn login_page(state: State) -> Result<HttpResponse, ApiError> {
    let signup_open = signup_open(&state).await?;
    Ok(page(
        &LoginPage {
            heading: "Sign in",
            action: "/user/login",
            button: "Sign in",
            error: None,
            signup_open,
        },
        actix_web::http::StatusCode::OK,
    ))
}

async fn login(state: State, form: web::Form<Credentials>) -> Result<HttpResponse, ApiError> {
    let Credentials { email, password } = form.into_inner();
    let found = state.db.user_with_password_hash(email.trim()).await?;
    let verified = match found {
        Some((user, hash)) => {
            web::block(move || auth::verify_password(&password, &hash).then_some(user))
                .await
                .map_err(|err| ApiError::Internal(err.to_string()))?
        }
        None => None,
    };
    match verified {
        Some(user) => signed_in(&state, user.id).await,
        None => Ok(page(
            &LoginPage {
                heading: "Sign in",
                action: "/user/login",
                button: "Sign in",
                error: Some("Wrong e-mail or password."),
                signup_open: false,
            },
            actix_web::http::StatusCode::UNAUTHORIZED,
        )),
    }
}

async fn signup_page(state: State) -> Result<HttpResponse, ApiError> {
    if !signup_open(&state).await? {
        return Ok(redirect("/user/login"));
    }
    Ok(page(
        &LoginPage {
            heading: "Create the first user",
            action: "/user/signup",
            button: "Create user",
            error: None,
            signup_open: true,
        },
        actix_web::http::StatusCode::OK,
    ))
}

/// Creates the first user; refused once any user exists.
async fn signup(state: State, form: web::Form<Credentials>) -> Result<HttpResponse, ApiError> {
    let Credentials { email, password } = form.into_inner();
    let email = email.trim().to_owned();
    if email.is_empty() || password.len() < 8 {
        return Ok(page(
            &LoginPage {
                heading: "Create the first user",
                action: "/user/signup",
                button: "Create user",
                error: Some("Enter an e-mail and a password of at least 8 characters."),
                signup_open: true,
            },
            actix_web::http::StatusCode::BAD_REQUEST,
        ));
    }
    let hash = web::block(move || auth::hash_password(&password))
        .await
        .map_err(|err| ApiError::Internal(err.to_string()))?;
    let created = state
        .db
        .sign_up_first_user(&email, hash, auth::new_secret())
        .await?;
    match created {
        Some(user_id) => signed_in(&state, user_id).await,
        None => Err(ApiError::Forbidden(
            "A user already exists; sign in instead.".to_owned(),
        )),
    }
}

async fn signed_in(state: &State, user_id: i64) -> Result<HttpResponse, ApiError> {
    let session = auth::start_session(&state.db, user_id).await?;
    let cookie = Cookie::build(SESSION_COOKIE, session)
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .max_age(actix_web::cookie::time::Duration::days(SESSION_DAYS))
        .finish();
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, "/"))
        .cookie(cookie)
        .finish())
}

async fn logout(state: State, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    if let Some(cookie) = req.cookie(SESSION_COOKIE) {
        let session = cookie.value().to_owned();
        state.db.end_session(&session).await?;
    }
    let mut removal = Cookie::build(SESSION_COOKIE, "")
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .finish();
    removal.make_removal();
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, "/user/login"))
        .cookie(removal)
        .finish())
}

fn redirect(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .finish()
}

async fn whoami(user: AuthUser) -> HttpResponse {
    HttpResponse::Ok().json(crate::records::user_json(&user.user))
}

/// The user's own API token (Label Studio's Account page shows the same).
async fn token(state: State, user: AuthUser) -> Result<HttpResponse, ApiError> {
    let user_id = user.user.id;
    let token = state
        .db
        .ensure_api_token(user_id, auth::new_secret())
        .await?;
    Ok(HttpResponse::Ok().json(json!({"token": token})))
}

/// A new API token for the user; the old one stops working at once.
async fn reset_token(state: State, user: AuthUser) -> Result<HttpResponse, ApiError> {
    let token = auth::new_secret();
    state
        .db
        .reset_api_token(user.user.id, token.clone())
        .await?;
    Ok(HttpResponse::Ok().json(json!({"token": token})))
}

/// Routes of personal access tokens (JWT), as Label Studio 1.23 serves them.
pub(super) fn token_routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource(slash_optional("/api/token/"))
            .get(list_tokens)
            .post(create_token),
    )
    .service(web::resource(slash_optional("/api/token/refresh/")).post(refresh_token))
    .service(web::resource(slash_optional("/api/token/blacklist/")).post(revoke_token));
}

/// Issues a personal access token (a long-lived refresh JWT) for the signed-in user.
async fn create_token(state: State, user: AuthUser) -> Result<HttpResponse, ApiError> {
    let (token, claims) = state.keys.issue(
        "refresh",
        user.user.id,
        chrono::Duration::days(crate::jwt::REFRESH_LIFETIME_DAYS),
    );
    let created_at =
        crate::time::iso(chrono::DateTime::from_timestamp(claims.iat, 0).unwrap_or_default());
    let expires_at =
        crate::time::iso(chrono::DateTime::from_timestamp(claims.exp, 0).unwrap_or_default());
    state
        .db
        .record_personal_token(&claims.jti, claims.user_id, &created_at, &expires_at)
        .await?;
    Ok(HttpResponse::Created()
        .json(json!({"token": token, "created_at": created_at, "expires_at": expires_at})))
}

/// The user's personal tokens, without their values.
async fn list_tokens(state: State, user: AuthUser) -> Result<HttpResponse, ApiError> {
    let user_id = user.user.id;
    let tokens = state.db.personal_tokens(user_id).await?;
    let listed: Vec<_> = tokens
        .into_iter()
        .map(|(jti, created_at, expires_at)| json!({"id": jti, "created_at": created_at, "expires_at": expires_at}))
        .collect();
    Ok(HttpResponse::Ok().json(listed))
}

#[derive(Debug, Deserialize)]
struct RefreshBody {
    refresh: String,
}

/// The claims of a well-signed, unexpired personal (refresh) token.
fn refresh_claims(state: &State, token: &str) -> Result<crate::jwt::Claims, ApiError> {
    state
        .keys
        .verify(token, "refresh")
        .ok_or(ApiError::InvalidToken)
}

/// Trades a personal token for a short-lived access token (no other credential needed).
async fn refresh_token(
    state: State,
    body: web::Json<RefreshBody>,
) -> Result<HttpResponse, ApiError> {
    let claims = refresh_claims(&state, &body.refresh)?;
    if !state
        .db
        .personal_token_valid(&claims.jti, claims.user_id)
        .await?
    {
        return Err(ApiError::InvalidToken);
    }
    let (access, _) = state.keys.issue(
        "access",
        claims.user_id,
        chrono::Duration::minutes(crate::jwt::ACCESS_LIFETIME_MINUTES),
    );
    Ok(HttpResponse::Ok().json(json!({"access": access})))
}

/// Revokes a personal token.
async fn revoke_token(
    state: State,
    _user: AuthUser,
    body: web::Json<RefreshBody>,
) -> Result<HttpResponse, ApiError> {
    let claims = refresh_claims(&state, &body.refresh)?;
    state.db.revoke_personal_token(&claims.jti).await?;
    Ok(HttpResponse::NoContent().finish())
}
