//! The delivery worker: posts webhook payloads, in order per webhook, until each is
//! delivered, refused, or too old.
//!
//! A delivery that gets no answer, a timeout or a server error (5xx, 408, 429) is tried
//! again with exponential backoff (1 s doubling to 5 minutes), across restarts (it is a
//! row, not a future). One a receiver refuses (another 4xx) is marked failed at once:
//! sending it again would get the same answer. A delivery still failing after
//! [`GIVE_UP_AFTER`] is marked failed, so a dead URL cannot hold a webhook's queue forever.

use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::{StreamExt, stream};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use super::Hooks;
use crate::db::Db;
use crate::db::webhooks::{Attempt, DueDelivery};

/// How long one delivery may take, connecting included.
const TIMEOUT: Duration = Duration::from_secs(10);
/// Deliveries attempted at once (to different webhooks).
const CONCURRENCY: usize = 8;
/// How long the worker sleeps when nothing woke it.
const IDLE_WAIT: Duration = Duration::from_millis(500);
/// Longest wait between two attempts.
const MAX_BACKOFF_SECONDS: i64 = 300;
/// Age after which a failing delivery is given up.
const GIVE_UP_AFTER: chrono::Duration = chrono::Duration::days(3);

/// The header carrying `sha256=<hex HMAC-SHA256 of the body, keyed by the secret>`.
pub const SIGNATURE_HEADER: &str = "X-Labelsync-Signature";

/// Runs until `stop`: builds payloads the requests did not (background events), then
/// posts what is due. What is pending at the stop stays in the database for the next start.
pub async fn run(db: Db, hooks: Hooks, stop: CancellationToken) {
    let client = match client() {
        Ok(client) => client,
        Err(err) => {
            tracing::error!("webhooks are not delivered: no HTTP client: {err}");
            return;
        }
    };
    while !stop.is_cancelled() {
        if let Err(err) = hooks.render_pending().await {
            tracing::error!("webhook payloads: {err}");
        }
        let due = match db.due_webhook_deliveries(&crate::time::now_iso(), 64).await {
            Ok(due) => due,
            Err(err) => {
                tracing::error!("webhook deliveries: {err}");
                Vec::new()
            }
        };
        if due.is_empty() {
            tokio::select! {
                _ = stop.cancelled() => {}
                _ = tokio::time::timeout(IDLE_WAIT, hooks.wakeup.notified()) => {}
            }
            continue;
        }
        let round = stream::iter(due).for_each_concurrent(CONCURRENCY, |due| {
            let (db, client) = (&db, &client);
            async move {
                let attempt = attempt(client, &due).await;
                if let Err(err) = db.record_webhook_attempt(due.id, attempt).await {
                    tracing::error!("webhook delivery {}: {err}", due.id);
                }
            }
        });
        tokio::select! {
            _ = stop.cancelled() => {}
            _ = round => {}
        }
    }
}

fn client() -> reqwest::Result<reqwest::Client> {
    crate::storage::object::install_crypto();
    reqwest::Client::builder()
        .timeout(TIMEOUT)
        .connect_timeout(TIMEOUT)
        // A redirect would send the payload (and the user's headers) somewhere the user
        // did not name.
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("labelsync/", env!("CARGO_PKG_VERSION")))
        .build()
}

/// The body a webhook gets: the whole payload, or only the action when it asked for no
/// payload (as Label Studio does).
fn body(due: &DueDelivery) -> String {
    if due.send_payload {
        due.payload.clone()
    } else {
        json!({ "action": due.action }).to_string()
    }
}

/// Posts one delivery and says how it went.
async fn attempt(client: &reqwest::Client, due: &DueDelivery) -> Attempt {
    let body = body(due);
    let mut request = client
        .post(&due.url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header("X-Labelsync-Event", &due.action)
        .header("X-Labelsync-Delivery", due.id.to_string());
    for (name, value) in &due.headers {
        let value = match value {
            Value::String(text) => text.clone(),
            other => other.to_string(),
        };
        request = request.header(name.as_str(), value);
    }
    if let Some(secret) = due.secret.as_deref().filter(|s| !s.is_empty()) {
        request = request.header(SIGNATURE_HEADER, signature(secret, body.as_bytes()));
    }
    match request.body(body).send().await {
        Ok(response) if response.status().is_success() => Attempt::Delivered {
            status_code: response.status().as_u16(),
        },
        Ok(response) => {
            let status = response.status();
            let error = format!("the receiver answered {status}");
            if retryable(status) {
                retry(due, Some(status.as_u16()), error)
            } else {
                Attempt::Failed {
                    status_code: Some(status.as_u16()),
                    error,
                }
            }
        }
        // Without the URL: it may carry a token of the user's.
        Err(err) => retry(due, None, describe(&err.without_url())),
    }
}

/// Server errors, timeouts and rate limits may pass; other refusals will not.
fn retryable(status: reqwest::StatusCode) -> bool {
    status.is_server_error()
        || status == reqwest::StatusCode::REQUEST_TIMEOUT
        || status == reqwest::StatusCode::TOO_MANY_REQUESTS
}

/// A request error with its causes (reqwest's own message is often just "error sending
/// request").
fn describe(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Another attempt after the backoff, or failed when the delivery is too old.
fn retry(due: &DueDelivery, status_code: Option<u16>, error: String) -> Attempt {
    let now = Utc::now();
    let created = DateTime::parse_from_rfc3339(&due.created_at)
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or(now);
    if now - created > GIVE_UP_AFTER {
        return Attempt::Failed {
            status_code,
            error: format!("gave up after {} attempts: {error}", due.attempts + 1),
        };
    }
    let wait = backoff_seconds(due.attempts);
    Attempt::Retry {
        status_code,
        error,
        not_before: crate::time::iso(now + chrono::Duration::seconds(wait)),
    }
}

/// Seconds before the next attempt after `attempts` failed ones: 1, 2, 4, ... 300.
fn backoff_seconds(attempts: i64) -> i64 {
    1_i64
        .checked_shl(attempts.clamp(0, 20) as u32)
        .unwrap_or(MAX_BACKOFF_SECONDS)
        .min(MAX_BACKOFF_SECONDS)
}

/// `sha256=<hex>`: the HMAC-SHA256 of `body` keyed by the webhook's secret, as GitHub
/// signs its webhooks, so receivers can use the checks they already have.
pub fn signature(secret: &str, body: &[u8]) -> String {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.as_bytes());
    let tag = ring::hmac::sign(&key, body);
    let hex: String = tag.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256={hex}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_five_minutes() {
        let waits: Vec<i64> = (0..12).map(backoff_seconds).collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300, 300]);
        assert_eq!(backoff_seconds(1000), 300);
    }

    /// RFC 4231 test case 2.
    #[test]
    fn signature_is_hmac_sha256_in_hex() {
        assert_eq!(
            signature("Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn only_server_errors_timeouts_and_rate_limits_are_retried() {
        use reqwest::StatusCode;
        assert!(retryable(StatusCode::BAD_GATEWAY));
        assert!(retryable(StatusCode::TOO_MANY_REQUESTS));
        assert!(retryable(StatusCode::REQUEST_TIMEOUT));
        assert!(!retryable(StatusCode::NOT_FOUND));
        assert!(!retryable(StatusCode::UNAUTHORIZED));
    }
}
