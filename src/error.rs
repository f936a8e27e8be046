//! The one place where an internal error becomes an HTTP response.
//!
//! Every 4xx/5xx from the API uses Label Studio's error envelope:
//! `{"id", "status_code", "version", "detail", "exc_info": null, "validation_errors"?}`.
//! Internal errors are logged in full and answered with a generic text, so SQL, paths of
//! the server and provider internals never reach a client.

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde_json::json;

/// Field name → messages, as in DRF's `validation_errors`.
pub type FieldErrors = BTreeMap<String, Vec<String>>;

/// An error answered to an API client.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("Validation error")]
    Validation(FieldErrors),
    #[error("Authentication credentials were not provided.")]
    NotAuthenticated,
    #[error("Invalid token.")]
    InvalidToken,
    #[error("{0}")]
    Forbidden(String),
    #[error("Not found.")]
    NotFound,
    #[error("{0}")]
    MethodNotAllowed(String),
    /// The server cannot take this work now (it is stopping).
    #[error("{0}")]
    Unavailable(String),
    /// A request body that could not be parsed at all (DRF's `ParseError`).
    #[error("{0}")]
    Parse(String),
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    /// A 400 with one message under `field` (`non_field_errors` for the whole request).
    pub fn field(field: &str, message: impl Into<String>) -> ApiError {
        ApiError::Validation(BTreeMap::from([(field.to_owned(), vec![message.into()])]))
    }

    /// A 400 about the request as a whole.
    pub fn invalid(message: impl Into<String>) -> ApiError {
        ApiError::field("non_field_errors", message)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::Validation(_) | ApiError::Parse(_) => StatusCode::BAD_REQUEST,
            ApiError::NotAuthenticated | ApiError::InvalidToken => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        let id = uuid::Uuid::new_v4().to_string();
        let detail = match self {
            ApiError::Internal(message) => {
                tracing::error!(error_id = %id, "{message}");
                "Internal server error; the server log has details under this error id.".to_owned()
            }
            other => other.to_string(),
        };
        let mut body = json!({
            "id": id,
            "status_code": status.as_u16(),
            "version": env!("CARGO_PKG_VERSION"),
            "detail": detail,
            "exc_info": null,
        });
        if let ApiError::Validation(errors) = self {
            body["validation_errors"] = json!(errors);
        }
        HttpResponse::build(status).json(body)
    }
}
