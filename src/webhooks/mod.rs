//! Webhooks: Label Studio's actions, and labelsync's storage sync events, posted to the
//! URLs users register, from a persisted outbox.
//!
//! An event is born in the database transaction of the change it reports
//! (`db::webhooks::emit`), so a change and its event are stored together or not at all.
//! Its payload is built right after the commit by [`Hooks::after_change`]: the HTTP layer
//! calls it before it answers a write, so a payload shows the change as it was made, not
//! what a later request made of it. Events of background work (syncs) are built by the
//! [`delivery`] worker, which also posts every payload, retrying while a receiver is down.

pub mod delivery;

use std::sync::Arc;

use chrono::Utc;
use serde_json::{Map, Value, json};
use tokio::sync::{Mutex, Notify};

use crate::db::webhooks::{Action, UnrenderedEvent};
use crate::db::{Db, DbError};
use crate::label_config;
use crate::records;

/// Events built per round.
const RENDER_ROUND: i64 = 50;

/// Builds pending payloads and wakes the delivery worker; cheap to clone.
#[derive(Clone)]
pub struct Hooks {
    db: Db,
    wakeup: Arc<Notify>,
    /// One builder at a time: a request and the worker never build the same event twice.
    rendering: Arc<Mutex<()>>,
}

impl Hooks {
    pub fn new(db: Db) -> Hooks {
        Hooks {
            db,
            wakeup: Arc::new(Notify::new()),
            rendering: Arc::new(Mutex::new(())),
        }
    }

    /// Builds the payloads of the events the last changes caused, then wakes the worker.
    /// A failure is logged, not returned: the change is stored, and the worker retries.
    pub async fn after_change(&self) {
        match self.render_pending().await {
            Ok(0) => {}
            Ok(_) => self.wakeup.notify_one(),
            Err(err) => tracing::error!("webhook payloads: {err}"),
        }
    }

    /// Builds every payload still missing; returns how many it built.
    async fn render_pending(&self) -> Result<usize, DbError> {
        let _one_at_a_time = self.rendering.lock().await;
        let mut built = 0;
        loop {
            let events = self.db.unrendered_webhook_events(RENDER_ROUND).await?;
            if events.is_empty() {
                return Ok(built);
            }
            for event in events {
                let payload = payload(&self.db, &event).await?;
                self.db
                    .set_webhook_payload(event.id, payload.to_string())
                    .await?;
                built += 1;
            }
        }
    }
}

/// Ids listed under `key` in an event's refs.
fn ids(refs: &Value, key: &str) -> Vec<i64> {
    refs[key]
        .as_array()
        .map(|list| list.iter().filter_map(Value::as_i64).collect())
        .unwrap_or_default()
}

fn only_ids(ids: &[i64]) -> Value {
    Value::Array(ids.iter().map(|id| json!({ "id": id })).collect())
}

/// The payload of an event, in Label Studio's shape: `action`, what it is about, and the
/// project (but for a deleted project, of which only the id is left).
async fn payload(db: &Db, event: &UnrenderedEvent) -> Result<Value, DbError> {
    let mut body = Map::new();
    body.insert("action".into(), json!(event.action));
    let action = Action::parse(&event.action);
    if action == Some(Action::ProjectDeleted) {
        body.insert("project".into(), json!({ "id": event.project_id }));
        return Ok(Value::Object(body));
    }
    let project = match event.project_id {
        Some(id) => db.project_with_stats(id).await?,
        None => None,
    };
    let data_key = project
        .as_ref()
        .and_then(|p| label_config::first_data_variable(&p.project.label_config));
    if let Some(action) = action {
        add_subject(db, action, &event.refs, data_key.as_deref(), &mut body).await?;
    }
    if let Some(project) = &project {
        body.insert("project".into(), records::project(project));
    }
    Ok(Value::Object(body))
}

/// Adds what the event is about (the annotation and its task, the tasks, the storage and
/// its sync, or only ids of what is gone) to `body`.
async fn add_subject(
    db: &Db,
    action: Action,
    refs: &Value,
    data_key: Option<&str>,
    body: &mut Map<String, Value>,
) -> Result<(), DbError> {
    let now = Utc::now();
    match action {
        Action::AnnotationCreated | Action::AnnotationUpdated => {
            let id = refs["annotation"].as_i64().unwrap_or_default();
            let Some(row) = db.annotations_by_ids(vec![id]).await?.pop() else {
                body.insert("annotation".into(), json!({ "id": id }));
                return Ok(());
            };
            body.insert("annotation".into(), records::plain_annotation(&row, now));
            let task = tasks_json(db, vec![row.task_id], data_key).await?.pop();
            body.insert("task".into(), task.unwrap_or(Value::Null));
        }
        Action::AnnotationsCreated => {
            let rows = db.annotations_by_ids(ids(refs, "annotations")).await?;
            let list = rows.iter().map(|row| records::plain_annotation(row, now));
            body.insert("annotations".into(), Value::Array(list.collect()));
        }
        Action::AnnotationsDeleted => {
            body.insert("annotations".into(), only_ids(&ids(refs, "annotations")));
        }
        Action::TasksCreated => {
            let tasks = tasks_json(db, ids(refs, "tasks"), data_key).await?;
            body.insert("tasks".into(), Value::Array(tasks));
        }
        Action::TasksDeleted => {
            body.insert("tasks".into(), only_ids(&ids(refs, "tasks")));
        }
        Action::StorageSyncStarted | Action::StorageSyncCompleted | Action::StorageSyncFailed => {
            body.insert("storage".into(), storage_json(db, action, refs).await?);
            body.insert("sync".into(), sync_json(action, refs));
        }
        Action::ProjectCreated | Action::ProjectUpdated | Action::ProjectDeleted => {}
    }
    Ok(())
}

/// Tasks as Label Studio's webhooks show them (no annotations inside), in `ids` order.
async fn tasks_json(db: &Db, ids: Vec<i64>, data_key: Option<&str>) -> Result<Vec<Value>, DbError> {
    let (tasks, _) = db.tasks_with_summaries(ids).await?;
    Ok(tasks
        .iter()
        .map(|task| records::storage_task(task, records::task_data(&task.data, data_key)))
        .collect())
}

/// The storage of a sync event as the storage API shows it, with the status the event
/// reports (the storage may have moved on by the time the payload is built).
async fn storage_json(db: &Db, action: Action, refs: &Value) -> Result<Value, DbError> {
    let id = refs["storage"].as_i64().unwrap_or_default();
    let Some(row) = db.storage(id).await? else {
        return Ok(json!({ "id": id }));
    };
    let mut storage = records::storage(&row);
    storage["status"] = match action {
        Action::StorageSyncStarted => json!("in_progress"),
        _ => refs["status"].clone(),
    };
    Ok(storage)
}

/// What a sync event says about the sync itself: its job, and at its end the status,
/// the number of tasks created, the counts of its progress and the error.
fn sync_json(action: Action, refs: &Value) -> Value {
    let mut sync = Map::new();
    sync.insert("job".into(), refs["job"].clone());
    if action != Action::StorageSyncStarted {
        sync.insert("status".into(), refs["status"].clone());
        sync.insert("count".into(), refs["count"].clone());
        sync.insert("error".into(), refs["error"].clone());
        sync.insert("meta".into(), refs["meta"].clone());
    }
    Value::Object(sync)
}

/// `/api/webhooks/info/`: each action's name, description, payload key and whether only
/// organization webhooks receive it; Label Studio's table, then labelsync's own actions.
pub fn info(organization_only: Option<bool>) -> Map<String, Value> {
    Action::ALL
        .into_iter()
        .filter(|action| organization_only.is_none_or(|only| only == action.organization_only()))
        .map(|action| {
            let (name, key, description) = describe(action);
            (
                action.as_str().to_owned(),
                json!({
                    "name": name,
                    "description": description,
                    "key": key,
                    "organization-only": action.organization_only(),
                }),
            )
        })
        .collect()
}

fn describe(action: Action) -> (&'static str, &'static str, &'static str) {
    match action {
        Action::ProjectCreated => ("Project created", "project", ""),
        Action::ProjectUpdated => ("Project updated", "project", ""),
        Action::ProjectDeleted => ("Project deleted", "project", ""),
        Action::TasksCreated => ("Task created", "tasks", ""),
        Action::TasksDeleted => ("Task deleted", "tasks", ""),
        Action::AnnotationCreated => ("Annotation created", "annotation", ""),
        Action::AnnotationsCreated => ("Annotations created", "annotation", ""),
        Action::AnnotationUpdated => ("Annotation updated", "annotation", ""),
        Action::AnnotationsDeleted => ("Annotation deleted", "annotations", ""),
        Action::StorageSyncStarted => (
            "Storage sync started",
            "storage",
            "A source or target storage started a sync (labelsync).",
        ),
        Action::StorageSyncCompleted => (
            "Storage sync completed",
            "storage",
            "A storage sync ended, with or without errors: its counts (labelsync).",
        ),
        Action::StorageSyncFailed => (
            "Storage sync failed",
            "storage",
            "A storage sync stopped on an error: the error (labelsync).",
        ),
    }
}
