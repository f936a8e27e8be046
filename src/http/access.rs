//! Who may touch what: a signed-in user reaches a project, and everything in it, only as
//! one of its members.
//!
//! [`Member`] is the extractor of every route that names a project's thing in its path or
//! `?project=`: it signs the user in, finds the project from the route (`/api/projects/{id}`,
//! `/api/tasks/{id}`, `/api/annotations/{id}`, `/api/storages/.../{id}`, `/api/predictions/{id}`,
//! `/api/drafts/{id}`, `/api/dm/views/{id}`, `/tasks/{id}/...`, `/projects/{id}/...`) and answers 404 when the thing does not exist, 403 when the user
//! is not a member. Handlers that find the project in the request body call [`require`].

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};

use super::AppState;
use super::identity::AuthUser;
use crate::db::Db;
use crate::db::members::Scope;
use crate::error::ApiError;

/// Django REST framework's words, which Label Studio clients know.
const NO_PERMISSION: &str = "You do not have permission to perform this action.";

/// A signed-in member of the project the request names (on a list route called without
/// `?project=`, just a signed-in user: its handler refuses the request).
pub(super) struct Member {
    auth: AuthUser,
}

impl Member {
    pub(super) fn user_id(&self) -> i64 {
        self.auth.user.id
    }
}

impl FromRequest for Member {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Member, ApiError>>>>;

    fn from_request(req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let auth = super::identity::authenticate(&req).await?;
            if let Some(scope) = scope_of(&req)? {
                let state = req
                    .app_data::<web::Data<AppState>>()
                    .ok_or_else(|| ApiError::Internal("no app state".into()))?;
                require(&state.db, auth.user.id, scope).await?;
            }
            Ok(Member { auth })
        })
    }
}

/// The project of `scope` when `user_id` may work in it; 404 if it does not exist, 403
/// if the user is not a member.
pub(super) async fn require(db: &Db, user_id: i64, scope: Scope) -> Result<i64, ApiError> {
    match db.access(user_id, scope).await? {
        None => Err(ApiError::NotFound),
        Some((_, false)) => Err(ApiError::Forbidden(NO_PERMISSION.to_owned())),
        Some((project_id, true)) => Ok(project_id),
    }
}

/// The project a request body names in `project`: a field error when it does not exist
/// (Django REST framework's words), 403 when the user is not a member.
pub(super) async fn require_body_project(
    db: &Db,
    user_id: i64,
    project_id: i64,
) -> Result<(), ApiError> {
    match require(db, user_id, Scope::Project(project_id)).await {
        Err(ApiError::NotFound) => Err(ApiError::field(
            "project",
            format!("Invalid pk \"{project_id}\" - object does not exist."),
        )),
        other => other.map(drop),
    }
}

/// What the route names: its `{id}`, read by the path it is under, else `?project=`. A
/// `?project=` that is not a plain id is refused here, so that no handler can read a
/// project from it that this check did not see.
fn scope_of(req: &HttpRequest) -> Result<Option<Scope>, ApiError> {
    let path = req.path();
    if let Some(id) = req.match_info().get("id").and_then(|id| id.parse().ok()) {
        let kind = [
            ("/api/projects/", Scope::Project as fn(i64) -> Scope),
            ("/projects/", Scope::Project),
            ("/api/tasks/", Scope::Task),
            ("/tasks/", Scope::Task),
            ("/api/annotations/", Scope::Annotation),
            ("/api/storages/", Scope::Storage),
            ("/api/predictions/", Scope::Prediction),
            ("/api/drafts/", Scope::Draft),
            ("/api/dm/views/", Scope::View),
        ]
        .into_iter()
        .find(|(prefix, _)| path.starts_with(prefix))
        .map(|(_, kind)| kind);
        if let Some(kind) = kind {
            return Ok(Some(kind(id)));
        }
    }
    let query = web::Query::<ProjectQuery>::from_query(req.query_string())
        .map_err(|err| ApiError::invalid(err.to_string()))?;
    match query.project.as_deref() {
        None | Some("") => Ok(None),
        project => super::required_project(project).map(|id| Some(Scope::Project(id))),
    }
}

#[derive(serde::Deserialize)]
struct ProjectQuery {
    project: Option<String>,
}
