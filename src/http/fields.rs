//! Request bodies in the three encodings Label Studio's API (Django REST framework) parses:
//! JSON, form-encoded and multipart. [`Fields`] reads any of them into one JSON object, so
//! a handler checks its fields once; form values arrive as text, and the field readers
//! accept DRF's spellings (`"true"`, `"5"`).

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header::{self, HeaderMap};
use actix_web::{FromRequest, HttpRequest, web};
use futures_util::StreamExt;
use serde_json::{Map, Value};

use super::json_object;
use crate::error::ApiError;

/// The body's fields, whichever encoding the client chose.
pub(super) struct Fields(pub(super) Map<String, Value>);

impl FromRequest for Fields {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Fields, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let headers = req.headers().clone();
        let bytes = web::Bytes::from_request(req, payload);
        Box::pin(async move {
            let body = bytes.await.map_err(|err| {
                ApiError::Parse(format!("the request body could not be read: {err}"))
            })?;
            parse(&headers, body).await.map(Fields)
        })
    }
}

async fn parse(headers: &HeaderMap, body: web::Bytes) -> Result<Map<String, Value>, ApiError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let essence = content_type.split(';').next().unwrap_or_default().trim();
    match essence {
        "application/x-www-form-urlencoded" => {
            let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(&body)
                .map_err(|err| ApiError::Parse(format!("Form parse error - {err}")))?;
            Ok(pairs
                .into_iter()
                .map(|(k, v)| (k, Value::String(v)))
                .collect())
        }
        "multipart/form-data" => multipart(headers, body).await,
        _ => json_object(&body),
    }
}

/// The text fields of a multipart body (files are not fields of these resources).
async fn multipart(headers: &HeaderMap, body: web::Bytes) -> Result<Map<String, Value>, ApiError> {
    let broken = |err: actix_multipart::MultipartError| {
        ApiError::Parse(format!("Multipart form parse error - {err}"))
    };
    let stream =
        futures_util::stream::once(async move { Ok::<_, actix_web::error::PayloadError>(body) });
    let mut form = actix_multipart::Multipart::new(headers, stream);
    let mut fields = Map::new();
    while let Some(part) = form.next().await {
        let mut part = part.map_err(broken)?;
        let Some(name) = part.name().map(str::to_owned) else {
            continue;
        };
        if part
            .content_disposition()
            .and_then(|d| d.get_filename())
            .is_some()
        {
            continue;
        }
        let mut text = Vec::new();
        while let Some(chunk) = part.next().await {
            text.extend_from_slice(&chunk.map_err(broken)?);
        }
        let text =
            String::from_utf8(text).map_err(|_| ApiError::field(&name, "Not valid UTF-8 text."))?;
        fields.insert(name, Value::String(text));
    }
    Ok(fields)
}
