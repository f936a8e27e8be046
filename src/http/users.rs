//! `/api/users/` (list, create) and `/api/projects/<id>/members/`: the people of the one
//! organization and which projects each may work in.

use actix_web::{HttpResponse, web};
use serde_json::{Value, json};

use super::access::Member;
use super::identity::AuthUser;
use super::{State, json_object, opt_int, slash_optional};
use crate::auth;
use crate::db::members::MemberRemoval;
use crate::db::users::NewUser;
use crate::error::ApiError;
use crate::records::user_json;

/// Shortest password accepted, as on the sign-up page.
const MIN_PASSWORD: usize = 8;

pub(super) fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource(slash_optional("/api/users/"))
            .get(list_users)
            .post(create_user),
    )
    .service(
        web::resource(slash_optional("/api/users/{user}/"))
            .get(get_user)
            .patch(update_user),
    )
    .service(
        web::resource(slash_optional("/api/projects/{id}/members/"))
            .get(list_members)
            .post(add_member),
    )
    .service(
        web::resource(slash_optional("/api/projects/{id}/members/{user}/")).delete(remove_member),
    );
}

async fn list_users(state: State, _user: AuthUser) -> Result<HttpResponse, ApiError> {
    let all = state.db.users().await?;
    Ok(HttpResponse::Ok().json(all.iter().map(user_json).collect::<Vec<_>>()))
}

/// `GET /api/users/<id>/`: any user of the one organization (as `GET /api/users/` lists).
async fn get_user(
    state: State,
    _user: AuthUser,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let found = state.db.user(id.into_inner()).await?;
    Ok(HttpResponse::Ok().json(user_json(&found.ok_or(ApiError::NotFound)?)))
}

/// `PATCH /api/users/<id>/`: a user changes their own names (Label Studio Community lets
/// only the user do so); other fields are not theirs to change here.
async fn update_user(
    state: State,
    user: AuthUser,
    id: web::Path<i64>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    if id != user.user.id {
        return Err(ApiError::Forbidden(
            "You may change only your own account.".to_owned(),
        ));
    }
    let body = json_object(&body)?;
    let name = |field: &str| -> Result<Option<String>, ApiError> {
        match body.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(text)) => Ok(Some(text.trim().to_owned())),
            Some(_) => Err(ApiError::field(field, "Not a valid string.")),
        }
    };
    let (first, last) = (name("first_name")?, name("last_name")?);
    let changed = state.db.rename_user(id, first, last).await?;
    Ok(HttpResponse::Ok().json(user_json(&changed.ok_or(ApiError::NotFound)?)))
}

/// Creates a user of the organization (any signed-in user may, as a Label Studio
/// Community invite lets anyone join); they see no project until a member adds them.
async fn create_user(
    state: State,
    _user: AuthUser,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let body = json_object(&body)?;
    let text = |name: &str| body.get(name).and_then(Value::as_str).map(str::trim);
    let email = text("email").unwrap_or_default().to_owned();
    if !email.contains('@') {
        return Err(ApiError::field("email", "Enter a valid email address."));
    }
    let password = body
        .get("password")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    if password.chars().count() < MIN_PASSWORD {
        return Err(ApiError::field(
            "password",
            format!("Ensure this field has at least {MIN_PASSWORD} characters."),
        ));
    }
    let (first_name, last_name) = (
        text("first_name").unwrap_or_default().to_owned(),
        text("last_name").unwrap_or_default().to_owned(),
    );
    let password_hash = web::block(move || auth::hash_password(&password))
        .await
        .map_err(|err| ApiError::Internal(err.to_string()))?;
    let new = NewUser {
        email,
        password_hash,
        first_name,
        last_name,
    };
    let created = state
        .db
        .create_user(new, auth::new_secret())
        .await?
        .ok_or_else(|| ApiError::field("email", "A user with this email already exists."))?;
    Ok(HttpResponse::Created().json(user_json(&created)))
}

async fn list_members(
    state: State,
    _member: Member,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let project_id = id.into_inner();
    let found = state.db.members_of(project_id).await?;
    let listed: Vec<Value> = found
        .iter()
        .map(|u| json!({"user": user_json(u)}))
        .collect();
    Ok(HttpResponse::Ok().json(listed))
}

/// `{"user": <id>}` joins the project; joining twice changes nothing.
async fn add_member(
    state: State,
    _member: Member,
    id: web::Path<i64>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let project_id = id.into_inner();
    let user_id = opt_int(&json_object(&body)?, "user")?
        .ok_or_else(|| ApiError::field("user", "This field is required."))?;
    let added = state
        .db
        .add_member(project_id, user_id)
        .await?
        .ok_or_else(|| {
            ApiError::field(
                "user",
                format!("Invalid pk \"{user_id}\" - object does not exist."),
            )
        })?;
    Ok(HttpResponse::Created().json(json!({"user": user_json(&added)})))
}

/// Removes a member; the last one stays, so that someone can still reach the project.
async fn remove_member(
    state: State,
    _member: Member,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, ApiError> {
    let (project_id, user_id) = path.into_inner();
    match state.db.remove_member(project_id, user_id).await? {
        MemberRemoval::Removed => Ok(HttpResponse::NoContent().finish()),
        MemberRemoval::NotMember => Err(ApiError::NotFound),
        MemberRemoval::LastMember => Err(ApiError::invalid(
            "This is the project's last member: add someone else before removing them.",
        )),
    }
}
