//! Webhooks and their outbox: the webhooks users register, the events written in the
//! transactions of the changes they report, and one delivery per (event, webhook).
//!
//! [`emit`] is the only way an event is born: called inside the change's transaction, it
//! writes nothing at all unless an active webhook wants the event, so a project without
//! webhooks pays one indexed lookup per change.

use rusqlite::{Connection, OptionalExtension, params};
use serde_json::{Map, Value};

use super::{Db, DbError};

/// What a webhook can be told about: Label Studio's actions, then labelsync's own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    ProjectCreated,
    ProjectUpdated,
    ProjectDeleted,
    TasksCreated,
    TasksDeleted,
    AnnotationCreated,
    AnnotationsCreated,
    AnnotationUpdated,
    AnnotationsDeleted,
    StorageSyncStarted,
    StorageSyncCompleted,
    StorageSyncFailed,
}

impl Action {
    /// Every action, in the order `/api/webhooks/info/` lists them.
    pub const ALL: [Action; 12] = [
        Action::ProjectCreated,
        Action::ProjectUpdated,
        Action::ProjectDeleted,
        Action::TasksCreated,
        Action::TasksDeleted,
        Action::AnnotationCreated,
        Action::AnnotationsCreated,
        Action::AnnotationUpdated,
        Action::AnnotationsDeleted,
        Action::StorageSyncStarted,
        Action::StorageSyncCompleted,
        Action::StorageSyncFailed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Action::ProjectCreated => "PROJECT_CREATED",
            Action::ProjectUpdated => "PROJECT_UPDATED",
            Action::ProjectDeleted => "PROJECT_DELETED",
            Action::TasksCreated => "TASKS_CREATED",
            Action::TasksDeleted => "TASKS_DELETED",
            Action::AnnotationCreated => "ANNOTATION_CREATED",
            Action::AnnotationsCreated => "ANNOTATIONS_CREATED",
            Action::AnnotationUpdated => "ANNOTATION_UPDATED",
            Action::AnnotationsDeleted => "ANNOTATIONS_DELETED",
            Action::StorageSyncStarted => "STORAGE_SYNC_STARTED",
            Action::StorageSyncCompleted => "STORAGE_SYNC_COMPLETED",
            Action::StorageSyncFailed => "STORAGE_SYNC_FAILED",
        }
    }

    pub fn parse(name: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.as_str() == name)
    }

    /// Label Studio sends these to organization webhooks only: a project webhook cannot
    /// exist before its project is created, nor hear of its deletion.
    pub fn organization_only(self) -> bool {
        matches!(self, Action::ProjectCreated | Action::ProjectDeleted)
    }
}

/// A webhook as stored (its secret included: never put it in a response).
#[derive(Debug, Clone)]
pub struct WebhookRow {
    pub id: i64,
    /// `None`: every project its creator is a member of.
    pub project_id: Option<i64>,
    pub url: String,
    pub send_payload: bool,
    pub send_for_all_actions: bool,
    pub headers: Map<String, Value>,
    pub is_active: bool,
    pub actions: Vec<String>,
    pub secret: Option<String>,
    pub created_by: Option<i64>,
    pub created_at: String,
    pub updated_at: String,
}

/// Fields of a create or a change; `None` keeps what is stored (or the default).
#[derive(Debug, Clone, Default)]
pub struct WebhookFields {
    pub project_id: Option<Option<i64>>,
    pub url: Option<String>,
    pub send_payload: Option<bool>,
    pub send_for_all_actions: Option<bool>,
    pub headers: Option<Map<String, Value>>,
    pub is_active: Option<bool>,
    pub actions: Option<Vec<String>>,
    /// `Some(None)` removes the secret.
    pub secret: Option<Option<String>>,
}

const COLUMNS: &str = "id, project_id, url, send_payload, send_for_all_actions, headers, is_active,
    actions, secret, created_by, created_at, updated_at";

fn from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<(WebhookRow, String, String)> {
    Ok((
        WebhookRow {
            id: row.get(0)?,
            project_id: row.get(1)?,
            url: row.get(2)?,
            send_payload: row.get(3)?,
            send_for_all_actions: row.get(4)?,
            headers: Map::new(),
            is_active: row.get(6)?,
            actions: Vec::new(),
            secret: row.get(8)?,
            created_by: row.get(9)?,
            created_at: row.get(10)?,
            updated_at: row.get(11)?,
        },
        row.get(5)?,
        row.get(7)?,
    ))
}

fn finish(
    (mut row, headers, actions): (WebhookRow, String, String),
) -> Result<WebhookRow, DbError> {
    row.headers = serde_json::from_str(&headers)?;
    row.actions = serde_json::from_str(&actions)?;
    Ok(row)
}

fn get(conn: &Connection, id: i64) -> Result<Option<WebhookRow>, DbError> {
    let sql = format!("SELECT {COLUMNS} FROM webhooks WHERE id = ?1");
    conn.query_row(&sql, [id], from_row)
        .optional()?
        .map(finish)
        .transpose()
}

/// The webhooks `user_id` may see: those of the projects they are a member of (only
/// `project`'s when given), and the organization webhooks they created.
fn visible_to(
    conn: &Connection,
    user_id: i64,
    project: Option<i64>,
) -> Result<Vec<WebhookRow>, DbError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM webhooks w
         WHERE CASE WHEN ?2 IS NOT NULL THEN w.project_id = ?2
               ELSE (w.project_id IS NULL AND w.created_by = ?1)
                 OR w.project_id IN (SELECT project_id FROM project_members WHERE user_id = ?1) END
         ORDER BY w.id"
    );
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map(params![user_id, project], from_row)?;
    rows.map(|row| finish(row?)).collect()
}

fn insert(
    conn: &Connection,
    fields: &WebhookFields,
    user_id: i64,
    now: &str,
) -> Result<i64, DbError> {
    conn.execute(
        "INSERT INTO webhooks (project_id, url, send_payload, send_for_all_actions, headers,
            is_active, actions, secret, created_by, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10)",
        params![
            fields.project_id.flatten(),
            fields.url.as_deref().unwrap_or_default(),
            fields.send_payload.unwrap_or(true),
            fields.send_for_all_actions.unwrap_or(true),
            Value::Object(fields.headers.clone().unwrap_or_default()).to_string(),
            fields.is_active.unwrap_or(true),
            serde_json::to_string(&fields.actions.clone().unwrap_or_default())?,
            fields.secret.clone().flatten(),
            user_id,
            now,
        ],
    )?;
    Ok(conn.last_insert_rowid())
}

fn update(conn: &Connection, id: i64, fields: &WebhookFields, now: &str) -> Result<bool, DbError> {
    let Some(old) = get(conn, id)? else {
        return Ok(false);
    };
    conn.execute(
        "UPDATE webhooks SET project_id = ?2, url = ?3, send_payload = ?4, send_for_all_actions = ?5,
            headers = ?6, is_active = ?7, actions = ?8, secret = ?9, updated_at = ?10 WHERE id = ?1",
        params![
            id,
            fields.project_id.unwrap_or(old.project_id),
            fields.url.as_ref().unwrap_or(&old.url),
            fields.send_payload.unwrap_or(old.send_payload),
            fields.send_for_all_actions.unwrap_or(old.send_for_all_actions),
            Value::Object(fields.headers.clone().unwrap_or(old.headers)).to_string(),
            fields.is_active.unwrap_or(old.is_active),
            serde_json::to_string(fields.actions.as_ref().unwrap_or(&old.actions))?,
            fields.secret.clone().unwrap_or(old.secret),
            now,
        ],
    )?;
    Ok(true)
}

/// The webhooks that want `action` about `project` (`None`: not about one project), as
/// an SQL condition on `w` over the parameters ?1 project, ?2 action, ?3 organization-only.
const WANTS: &str = "w.is_active = 1
    AND (w.send_for_all_actions = 1 OR EXISTS (SELECT 1 FROM json_each(w.actions) WHERE value = ?2))
    AND ((w.project_id IS NOT NULL AND w.project_id = ?1 AND ?3 = 0)
      OR (w.project_id IS NULL AND (?1 IS NULL OR EXISTS (SELECT 1 FROM project_members m
            WHERE m.project_id = ?1 AND m.user_id = w.created_by))))";

/// Records that `action` happened, in the caller's transaction: an event with `refs`
/// (what its payload is built from) and a pending delivery for each webhook that wants
/// it; nothing when none does.
pub(super) fn emit(
    conn: &Connection,
    project_id: Option<i64>,
    action: Action,
    refs: &Value,
    now: &str,
) -> Result<(), DbError> {
    let org_only = action.organization_only();
    let added = conn
        .prepare_cached(&format!(
            "INSERT INTO webhook_events (project_id, action, refs, created_at)
             SELECT ?1, ?2, ?4, ?5 WHERE EXISTS (SELECT 1 FROM webhooks w WHERE {WANTS})"
        ))?
        .execute(params![
            project_id,
            action.as_str(),
            org_only,
            refs.to_string(),
            now
        ])?;
    if added == 0 {
        return Ok(());
    }
    let event_id = conn.last_insert_rowid();
    conn.prepare_cached(&format!(
        "INSERT INTO webhook_deliveries (webhook_id, event_id, action, not_before, created_at)
         SELECT w.id, ?4, ?2, ?5, ?5 FROM webhooks w WHERE {WANTS}"
    ))?
    .execute(params![
        project_id,
        action.as_str(),
        org_only,
        event_id,
        now
    ])?;
    Ok(())
}

/// An event whose payload is still to be built.
#[derive(Debug, Clone)]
pub struct UnrenderedEvent {
    pub id: i64,
    pub project_id: Option<i64>,
    pub action: String,
    pub refs: Value,
}

fn unrendered(conn: &Connection, limit: i64) -> Result<Vec<UnrenderedEvent>, DbError> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, project_id, action, refs FROM webhook_events WHERE payload IS NULL ORDER BY id LIMIT ?1",
    )?;
    let rows = stmt.query_map([limit], |r| {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get::<_, String>(3)?))
    })?;
    rows.map(|row| {
        let (id, project_id, action, refs) = row?;
        Ok(UnrenderedEvent {
            id,
            project_id,
            action,
            refs: serde_json::from_str(&refs)?,
        })
    })
    .collect()
}

/// A delivery the worker should attempt now: the oldest pending one of its webhook
/// (deliveries to one webhook go in order), with what the request needs.
#[derive(Debug, Clone)]
pub struct DueDelivery {
    pub id: i64,
    pub action: String,
    pub attempts: i64,
    pub created_at: String,
    pub payload: String,
    pub url: String,
    pub headers: Map<String, Value>,
    pub secret: Option<String>,
    pub send_payload: bool,
}

fn due(conn: &Connection, now: &str, limit: i64) -> Result<Vec<DueDelivery>, DbError> {
    let mut stmt = conn.prepare_cached(
        "SELECT d.id, d.action, d.attempts, d.created_at, e.payload, w.url, w.headers, w.secret, w.send_payload
         FROM webhook_deliveries d
         JOIN webhooks w ON w.id = d.webhook_id
         JOIN webhook_events e ON e.id = d.event_id
         WHERE d.id IN (SELECT MIN(id) FROM webhook_deliveries WHERE status = 'pending' GROUP BY webhook_id)
           AND d.not_before <= ?1 AND w.is_active = 1 AND e.payload IS NOT NULL
         ORDER BY d.id LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![now, limit], |r| {
        Ok((
            DueDelivery {
                id: r.get(0)?,
                action: r.get(1)?,
                attempts: r.get(2)?,
                created_at: r.get(3)?,
                payload: r.get(4)?,
                url: r.get(5)?,
                headers: Map::new(),
                secret: r.get(7)?,
                send_payload: r.get(8)?,
            },
            r.get::<_, String>(6)?,
        ))
    })?;
    rows.map(|row| {
        let (mut due, headers) = row?;
        due.headers = serde_json::from_str(&headers)?;
        Ok(due)
    })
    .collect()
}

/// How an attempt ended.
#[derive(Debug, Clone)]
pub enum Attempt {
    /// The receiver answered 2xx.
    Delivered { status_code: u16 },
    /// Worth trying again at `not_before` (no answer, or a server error).
    Retry {
        status_code: Option<u16>,
        error: String,
        not_before: String,
    },
    /// Not worth trying again: the receiver refused it, or it is too old.
    Failed {
        status_code: Option<u16>,
        error: String,
    },
}

/// Deliveries kept per webhook once done (the Settings > Webhooks history).
const HISTORY: i64 = 100;

fn record_attempt(conn: &Connection, id: i64, attempt: &Attempt, now: &str) -> Result<(), DbError> {
    let (status, code, error, not_before) = match attempt {
        Attempt::Delivered { status_code } => ("delivered", Some(*status_code), None, None),
        Attempt::Retry {
            status_code,
            error,
            not_before,
        } => (
            "pending",
            *status_code,
            Some(error.as_str()),
            Some(not_before.as_str()),
        ),
        Attempt::Failed { status_code, error } => {
            ("failed", *status_code, Some(error.as_str()), None)
        }
    };
    conn.execute(
        "UPDATE webhook_deliveries SET status = ?2, status_code = ?3, error = ?4,
            attempts = attempts + 1, not_before = COALESCE(?5, not_before),
            finished_at = CASE WHEN ?2 = 'pending' THEN NULL ELSE ?6 END
         WHERE id = ?1",
        params![id, status, code, error, not_before, now],
    )?;
    if status != "pending" {
        forget_finished(conn, id)?;
    }
    Ok(())
}

/// After a delivery finished: its event goes once no delivery of it is pending, and its
/// webhook keeps the last [`HISTORY`] finished deliveries.
fn forget_finished(conn: &Connection, delivery_id: i64) -> Result<(), DbError> {
    let (webhook_id, event_id): (i64, Option<i64>) = conn.query_row(
        "SELECT webhook_id, event_id FROM webhook_deliveries WHERE id = ?1",
        [delivery_id],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    conn.execute(
        "DELETE FROM webhook_events WHERE id = ?1 AND NOT EXISTS
            (SELECT 1 FROM webhook_deliveries WHERE event_id = ?1 AND status = 'pending')",
        [event_id],
    )?;
    conn.execute(
        "DELETE FROM webhook_deliveries WHERE webhook_id = ?1 AND status != 'pending' AND id <
            (SELECT MIN(id) FROM (SELECT id FROM webhook_deliveries
               WHERE webhook_id = ?1 AND status != 'pending' ORDER BY id DESC LIMIT ?2))",
        params![webhook_id, HISTORY],
    )?;
    Ok(())
}

/// A delivery as the Settings > Webhooks screen lists it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DeliveryRow {
    pub id: i64,
    pub action: String,
    pub status: String,
    pub attempts: i64,
    pub status_code: Option<i64>,
    pub error: Option<String>,
    pub created_at: String,
    pub finished_at: Option<String>,
    /// When a pending delivery is tried next.
    pub next_attempt_at: Option<String>,
}

fn deliveries_of(
    conn: &Connection,
    webhook_id: i64,
    limit: i64,
) -> Result<Vec<DeliveryRow>, DbError> {
    let mut stmt = conn.prepare(
        "SELECT id, action, status, attempts, status_code, error, created_at, finished_at, not_before
         FROM webhook_deliveries WHERE webhook_id = ?1 ORDER BY id DESC LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![webhook_id, limit], |r| {
        let status: String = r.get(2)?;
        let next: String = r.get(8)?;
        Ok(DeliveryRow {
            id: r.get(0)?,
            action: r.get(1)?,
            next_attempt_at: (status == "pending").then_some(next),
            status,
            attempts: r.get(3)?,
            status_code: r.get(4)?,
            error: r.get(5)?,
            created_at: r.get(6)?,
            finished_at: r.get(7)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

impl Db {
    pub async fn webhook(&self, id: i64) -> Result<Option<WebhookRow>, DbError> {
        self.call(move |conn| get(conn, id)).await
    }

    /// The webhooks a user may see (see [`visible_to`]).
    pub async fn webhooks_visible_to(
        &self,
        user_id: i64,
        project: Option<i64>,
    ) -> Result<Vec<WebhookRow>, DbError> {
        self.call(move |conn| visible_to(conn, user_id, project))
            .await
    }

    pub async fn create_webhook(
        &self,
        fields: WebhookFields,
        user_id: i64,
    ) -> Result<i64, DbError> {
        self.write(move |tx| insert(tx, &fields, user_id, &crate::time::now_iso()))
            .await
    }

    /// Changes a webhook; `false` when it does not exist.
    pub async fn update_webhook(&self, id: i64, fields: WebhookFields) -> Result<bool, DbError> {
        self.write(move |tx| update(tx, id, &fields, &crate::time::now_iso()))
            .await
    }

    /// Deletes a webhook with its deliveries; `false` when it does not exist.
    pub async fn delete_webhook(&self, id: i64) -> Result<bool, DbError> {
        self.write(move |tx| {
            let gone = tx.execute("DELETE FROM webhooks WHERE id = ?1", [id])? > 0;
            tx.execute(
                "DELETE FROM webhook_events WHERE NOT EXISTS
                    (SELECT 1 FROM webhook_deliveries d WHERE d.event_id = webhook_events.id AND d.status = 'pending')",
                [],
            )?;
            Ok(gone)
        })
        .await
    }

    /// Events whose payload is still to be built, oldest first.
    pub async fn unrendered_webhook_events(
        &self,
        limit: i64,
    ) -> Result<Vec<UnrenderedEvent>, DbError> {
        self.call(move |conn| unrendered(conn, limit)).await
    }

    /// Stores the payload built for an event.
    pub async fn set_webhook_payload(&self, event_id: i64, payload: String) -> Result<(), DbError> {
        self.call(move |conn| {
            conn.execute(
                "UPDATE webhook_events SET payload = ?2 WHERE id = ?1",
                params![event_id, payload],
            )?;
            Ok(())
        })
        .await
    }

    /// Deliveries to attempt at `now` (one per webhook, oldest first).
    pub async fn due_webhook_deliveries(
        &self,
        now: &str,
        limit: i64,
    ) -> Result<Vec<DueDelivery>, DbError> {
        let now = now.to_owned();
        self.call(move |conn| due(conn, &now, limit)).await
    }

    /// Records how an attempt ended.
    pub async fn record_webhook_attempt(&self, id: i64, attempt: Attempt) -> Result<(), DbError> {
        self.write(move |tx| record_attempt(tx, id, &attempt, &crate::time::now_iso()))
            .await
    }

    /// The last deliveries of a webhook, newest first.
    pub async fn webhook_deliveries(
        &self,
        webhook_id: i64,
        limit: i64,
    ) -> Result<Vec<DeliveryRow>, DbError> {
        self.call(move |conn| deliveries_of(conn, webhook_id, limit))
            .await
    }
}
