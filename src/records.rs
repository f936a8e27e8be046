//! JSON shapes of projects, storages, tasks, annotations and predictions, shared by the
//! API, the export and webhook payloads.
//!
//! Field names and types follow Label Studio's serializers, so its SDK and scripts parse
//! them unchanged. Blob tasks are stored under `$undefined$` and shown under the labeling
//! config's first data variable, here and nowhere else.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use crate::db::annotations::AnnotationRow;
use crate::db::drafts::DraftRow;
use crate::db::predictions::PredictionRow;
use crate::db::projects::ProjectWithStats;
use crate::db::storages::StorageRow;
use crate::db::tasks::{AnnotationSummary, TaskParts, TaskRow};
use crate::db::users::User;
use crate::label_config::UNDEFINED_DATA_KEY;

/// Parses stored task data and renames `$undefined$` to `data_key` when there is one.
pub fn task_data(stored: &str, data_key: Option<&str>) -> Value {
    let mut data: Value = serde_json::from_str(stored).unwrap_or_else(|_| json!({}));
    if let (Some(key), Value::Object(map)) = (data_key, &mut data)
        && let Some(value) = map.remove(UNDEFINED_DATA_KEY)
    {
        map.insert(key.to_owned(), value);
    }
    data
}

fn parse_json(text: &str, fallback: Value) -> Value {
    serde_json::from_str(text).unwrap_or(fallback)
}

/// Fields every task shape has.
fn task_common(task: &TaskRow, data: Value) -> Map<String, Value> {
    let fields = json!({
        "id": task.id,
        "data": data,
        "meta": parse_json(&task.meta, json!({})),
        "created_at": task.created_at,
        "updated_at": task.updated_at,
        "is_labeled": task.is_labeled,
        "overlap": task.overlap,
        "inner_id": task.inner_id,
        "total_annotations": task.total_annotations,
        "cancelled_annotations": task.cancelled_annotations,
        "total_predictions": task.total_predictions,
        "comment_count": 0,
        "unresolved_comment_count": 0,
        "last_comment_updated_at": null,
        "project": task.project_id,
        "file_upload": null,
        "comment_authors": [],
    });
    match fields {
        Value::Object(map) => map,
        _ => unreachable!("json! object literal"),
    }
}

/// A task as the task list (Data Manager) shows it by default: counters and summaries,
/// without its annotations and predictions.
pub fn task_list_item(task: &TaskRow, data: Value, summary: Option<&AnnotationSummary>) -> Value {
    let mut map = task_common(task, data);
    let ids = summary.map(|s| join_ids(&s.annotation_ids));
    map.insert("drafts".into(), json!([]));
    map.insert(
        "annotators".into(),
        json!(summary.map(|s| s.annotators.clone()).unwrap_or_default()),
    );
    map.insert("completed_at".into(), json!(task.completed_at));
    map.insert("annotations_results".into(), json!(""));
    map.insert("predictions_results".into(), json!(""));
    map.insert("predictions_score".into(), json!(task.predictions_score));
    map.insert("storage_filename".into(), json!(task.storage_filename));
    map.insert("annotations_ids".into(), json!(ids.unwrap_or_default()));
    map.insert("predictions_model_versions".into(), json!(""));
    map.insert("updated_by".into(), updated_by_list(task.updated_by));
    Value::Object(map)
}

/// A task with its annotations, predictions and the user's drafts, as `GET /api/tasks/<id>`
/// and the task list with `fields=all` show it.
pub fn task_full(task: &TaskRow, data: Value, parts: &TaskParts, now: DateTime<Utc>) -> Value {
    let own = PartsOfTask::of(parts, task.id);
    let mut map = Map::new();
    map.insert("id".into(), json!(task.id));
    insert_nested(&mut map, &own, now);
    insert_facts(&mut map, task, &own);
    for (key, value) in task_common(task, data) {
        map.entry(key).or_insert(value);
    }
    Value::Object(map)
}

/// One task's share of a page's [`TaskParts`].
struct PartsOfTask<'a> {
    annotations: &'a [AnnotationRow],
    predictions: &'a [PredictionRow],
    drafts: &'a [DraftRow],
    users: &'a HashMap<i64, User>,
}

impl<'a> PartsOfTask<'a> {
    fn of(parts: &'a TaskParts, task_id: i64) -> PartsOfTask<'a> {
        PartsOfTask {
            annotations: parts
                .annotations
                .get(&task_id)
                .map_or(&[][..], Vec::as_slice),
            predictions: parts
                .predictions
                .get(&task_id)
                .map_or(&[][..], Vec::as_slice),
            drafts: parts.drafts.get(&task_id).map_or(&[][..], Vec::as_slice),
            users: &parts.users,
        }
    }

    fn author(&self, id: Option<i64>) -> Option<&'a User> {
        id.and_then(|id| self.users.get(&id))
    }
}

/// The task's predictions, annotations and drafts, each in its API shape.
fn insert_nested(map: &mut Map<String, Value>, own: &PartsOfTask<'_>, now: DateTime<Utc>) {
    map.insert(
        "predictions".into(),
        own.predictions.iter().map(|p| prediction(p, now)).collect(),
    );
    map.insert(
        "annotations".into(),
        own.annotations
            .iter()
            .map(|a| annotation(a, own.author(a.completed_by), now))
            .collect(),
    );
    map.insert(
        "drafts".into(),
        own.drafts
            .iter()
            .map(|d| draft(d, own.author(Some(d.user_id)), now))
            .collect(),
    );
}

/// What the Data Manager's columns show of the task's annotations and predictions.
fn insert_facts(map: &mut Map<String, Value>, task: &TaskRow, own: &PartsOfTask<'_>) {
    let (annotations, predictions) = (own.annotations, own.predictions);
    let annotators = distinct(annotations.iter().filter_map(|a| a.completed_by));
    let versions = distinct(predictions.iter().map(|p| p.model_version.as_str()));
    let lead_times: Vec<f64> = annotations.iter().filter_map(|a| a.lead_time).collect();
    let avg_lead_time =
        (!lead_times.is_empty()).then(|| lead_times.iter().sum::<f64>() / lead_times.len() as f64);
    let annotation_ids: Vec<i64> = annotations.iter().map(|a| a.id).collect();
    map.insert("annotators".into(), json!(annotators));
    map.insert("completed_at".into(), json!(task.completed_at));
    map.insert(
        "annotations_results".into(),
        json!(pretty_results(
            annotations.iter().map(|a| a.result.as_str())
        )),
    );
    map.insert(
        "predictions_results".into(),
        json!(pretty_results(
            predictions.iter().map(|p| p.result.as_str())
        )),
    );
    map.insert("predictions_score".into(), json!(task.predictions_score));
    map.insert("storage_filename".into(), json!(task.storage_filename));
    map.insert("annotations_ids".into(), json!(join_ids(&annotation_ids)));
    map.insert(
        "predictions_model_versions".into(),
        json!(versions.join(",")),
    );
    map.insert("avg_lead_time".into(), json!(avg_lead_time));
    map.insert("draft_exists".into(), json!(!own.drafts.is_empty()));
    map.insert("updated_by".into(), updated_by_list(task.updated_by));
}

/// The items in first-seen order, each once.
fn distinct<T: PartialEq>(items: impl Iterator<Item = T>) -> Vec<T> {
    let mut seen = Vec::new();
    for item in items {
        if !seen.contains(&item) {
            seen.push(item);
        }
    }
    seen
}

fn join_ids(ids: &[i64]) -> String {
    ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
}

/// Label Studio's one-line summary of results (`annotations_results`): every result list,
/// floats rounded to two places, as Python prints JSON, without quotes, cut at 500 chars.
pub fn pretty_results<'a>(results: impl Iterator<Item = &'a str>) -> String {
    let lists: Vec<Value> = results
        .filter_map(|text| serde_json::from_str::<Value>(text).ok())
        .filter(|value| !value.is_null())
        .map(round_floats)
        .collect();
    if lists.is_empty() {
        return String::new();
    }
    let text = python_json(&Value::Array(lists));
    let inner = &text[1..text.len() - 1];
    let cut: String = inner.chars().take(500).collect();
    cut.replace(",\"", ", \"")
        .replace("],[", "] [")
        .replace('"', "")
}

fn round_floats(value: Value) -> Value {
    match value {
        Value::Number(n) if n.is_f64() => n
            .as_f64()
            .map(|f| json!((f * 100.0).round() / 100.0))
            .unwrap_or(Value::Number(n)),
        Value::Array(items) => Value::Array(items.into_iter().map(round_floats).collect()),
        Value::Object(map) => {
            Value::Object(map.into_iter().map(|(k, v)| (k, round_floats(v))).collect())
        }
        other => other,
    }
}

/// JSON as Python's `json.dumps` writes it: `", "` between items, `": "` after keys.
fn python_json(value: &Value) -> String {
    match value {
        Value::Array(items) => {
            let inner: Vec<String> = items.iter().map(python_json).collect();
            format!("[{}]", inner.join(", "))
        }
        Value::Object(map) => {
            let inner: Vec<String> = map
                .iter()
                .map(|(k, v)| format!("{}: {}", Value::String(k.clone()), python_json(v)))
                .collect();
            format!("{{{}}}", inner.join(", "))
        }
        other => other.to_string(),
    }
}

/// A task as nested in exported annotations (raw storage URIs, no annotations inside).
pub fn storage_task(task: &TaskRow, data: Value) -> Value {
    let mut map = task_common(task, data);
    map.insert("allow_skip".into(), json!(task.allow_skip));
    map.insert("precomputed_agreement".into(), Value::Null);
    map.insert("updated_by".into(), json!(task.updated_by));
    Value::Object(map)
}

fn updated_by_list(user: Option<i64>) -> Value {
    match user {
        Some(id) => json!([{ "user_id": id }]),
        None => json!([]),
    }
}

/// An annotation as the API shows it; `completed_by` is the user id.
pub fn annotation(row: &AnnotationRow, author: Option<&User>, now: DateTime<Utc>) -> Value {
    json!({
        "id": row.id,
        "result": parse_json(&row.result, json!([])),
        "created_username": author.map(created_username).unwrap_or_default(),
        "created_ago": created_ago(&row.created_at, now),
        "completed_by": row.completed_by,
        "was_cancelled": row.was_cancelled,
        "ground_truth": row.ground_truth,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
        "draft_created_at": row.draft_created_at,
        "lead_time": row.lead_time,
        "import_id": row.import_id,
        "last_action": row.last_action,
        "bulk_created": row.bulk_created,
        "task": row.task_id,
        "project": row.project_id,
        "updated_by": row.updated_by,
        "parent_prediction": row.parent_prediction,
        "parent_annotation": row.parent_annotation,
        "last_created_by": null,
    })
}

/// An annotation as Label Studio's project export and its webhooks show it: the model's
/// fields, with `result_count` and no author name.
pub fn plain_annotation(row: &AnnotationRow, now: DateTime<Utc>) -> Value {
    let mut value = annotation(row, None, now);
    if let Value::Object(map) = &mut value {
        map.remove("created_username");
        map.remove("created_ago");
        let count = map["result"].as_array().map_or(0, Vec::len);
        map.insert("prediction".into(), json!({}));
        map.insert("result_count".into(), json!(count));
    }
    value
}

/// A task as Label Studio's project export (JSON) writes it: every annotation, every
/// user's draft, and its predictions by id.
pub fn export_task(task: &TaskRow, data: Value, parts: &TaskParts, now: DateTime<Utc>) -> Value {
    let own = PartsOfTask::of(parts, task.id);
    let annotations: Vec<Value> = own
        .annotations
        .iter()
        .map(|a| plain_annotation(a, now))
        .collect();
    let drafts: Vec<Value> = own
        .drafts
        .iter()
        .map(|d| draft(d, own.author(Some(d.user_id)), now))
        .collect();
    let predictions: Vec<i64> = own.predictions.iter().map(|p| p.id).collect();
    let mut map = Map::new();
    map.insert("id".into(), json!(task.id));
    map.insert("annotations".into(), json!(annotations));
    map.insert("drafts".into(), json!(drafts));
    map.insert("predictions".into(), json!(predictions));
    let mut common = task_common(task, data);
    for key in ["is_labeled", "overlap", "file_upload"] {
        common.remove(key);
    }
    map.extend(common);
    map.insert("allow_skip".into(), json!(task.allow_skip));
    map.insert("updated_by".into(), json!(task.updated_by));
    Value::Object(map)
}

/// A task as a target storage with the task layout writes it (`<task id>.json`): the
/// JSON export's shape with its predictions whole (so a source storage imports them back)
/// and without drafts, which are their authors' own until submitted.
pub fn stored_task(task: &TaskRow, data: Value, parts: &TaskParts, now: DateTime<Utc>) -> Value {
    let mut value = export_task(task, data, parts, now);
    let own = PartsOfTask::of(parts, task.id);
    let predictions: Vec<Value> = own.predictions.iter().map(|p| prediction(p, now)).collect();
    if let Value::Object(map) = &mut value {
        map.remove("drafts");
        map.insert("predictions".into(), Value::Array(predictions));
    }
    value
}

/// An annotation as written to target storages: the author expanded, the task nested.
pub fn exported_annotation(
    row: &AnnotationRow,
    author: Option<&User>,
    task: Value,
    now: DateTime<Utc>,
) -> Value {
    let mut value = annotation(row, author, now);
    value["completed_by"] = match author {
        Some(user) => json!({
            "id": user.id, "first_name": user.first_name, "last_name": user.last_name, "email": user.email,
        }),
        None => Value::Null,
    };
    value["task"] = task;
    value
}

/// [`exported_annotation`] with its [`storage_task`], serialized straight from the rows:
/// the same document byte for byte, without `Value` trees (an export of 100,000
/// annotations spent most of its time building and freeing them). Stored JSON that does
/// not parse fails the serialization; the caller then falls back to the trees, whose
/// fallbacks say what such text exports as.
#[derive(serde::Serialize)]
pub struct ExportedAnnotation<'a> {
    id: i64,
    result: Embedded<'a>,
    created_username: String,
    created_ago: String,
    completed_by: Option<Author<'a>>,
    was_cancelled: bool,
    ground_truth: bool,
    created_at: &'a str,
    updated_at: &'a str,
    draft_created_at: Option<&'a str>,
    lead_time: Option<f64>,
    import_id: Option<i64>,
    last_action: Option<&'a str>,
    bulk_created: bool,
    task: StorageTask<'a>,
    project: i64,
    updated_by: Option<i64>,
    parent_prediction: Option<i64>,
    parent_annotation: Option<i64>,
    last_created_by: (),
}

#[derive(serde::Serialize)]
struct Author<'a> {
    id: i64,
    first_name: &'a str,
    last_name: &'a str,
    email: &'a str,
}

/// [`storage_task`]'s fields, in its order (`()` is null, `[(); 0]` an empty list).
#[derive(serde::Serialize)]
struct StorageTask<'a> {
    id: i64,
    data: Value,
    meta: Embedded<'a>,
    created_at: &'a str,
    updated_at: &'a str,
    is_labeled: bool,
    overlap: i64,
    inner_id: i64,
    total_annotations: i64,
    cancelled_annotations: i64,
    total_predictions: i64,
    comment_count: u8,
    unresolved_comment_count: u8,
    last_comment_updated_at: (),
    project: i64,
    file_upload: (),
    comment_authors: [(); 0],
    allow_skip: bool,
    precomputed_agreement: (),
    updated_by: Option<i64>,
}

/// JSON kept as text, written into the document as JSON (indented with it).
struct Embedded<'a>(&'a str);

impl serde::Serialize for Embedded<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut json = serde_json::Deserializer::from_str(self.0);
        serde_transcode::transcode(&mut json, serializer)
    }
}

impl<'a> ExportedAnnotation<'a> {
    /// `data`: the task's data as [`task_data`] gives it.
    pub fn new(
        row: &'a AnnotationRow,
        author: Option<&'a User>,
        task: &'a TaskRow,
        data: Value,
        now: DateTime<Utc>,
    ) -> ExportedAnnotation<'a> {
        ExportedAnnotation {
            id: row.id,
            result: Embedded(&row.result),
            created_username: author.map(created_username).unwrap_or_default(),
            created_ago: created_ago(&row.created_at, now),
            completed_by: author.map(|user| Author {
                id: user.id,
                first_name: &user.first_name,
                last_name: &user.last_name,
                email: &user.email,
            }),
            was_cancelled: row.was_cancelled,
            ground_truth: row.ground_truth,
            created_at: &row.created_at,
            updated_at: &row.updated_at,
            draft_created_at: row.draft_created_at.as_deref(),
            lead_time: row.lead_time,
            import_id: row.import_id,
            last_action: row.last_action.as_deref(),
            bulk_created: row.bulk_created,
            task: StorageTask::new(task, data),
            project: row.project_id,
            updated_by: row.updated_by,
            parent_prediction: row.parent_prediction,
            parent_annotation: row.parent_annotation,
            last_created_by: (),
        }
    }
}

impl<'a> StorageTask<'a> {
    fn new(task: &'a TaskRow, data: Value) -> StorageTask<'a> {
        StorageTask {
            id: task.id,
            data,
            meta: Embedded(&task.meta),
            created_at: &task.created_at,
            updated_at: &task.updated_at,
            is_labeled: task.is_labeled,
            overlap: task.overlap,
            inner_id: task.inner_id,
            total_annotations: task.total_annotations,
            cancelled_annotations: task.cancelled_annotations,
            total_predictions: task.total_predictions,
            comment_count: 0,
            unresolved_comment_count: 0,
            last_comment_updated_at: (),
            project: task.project_id,
            file_upload: (),
            comment_authors: [],
            allow_skip: task.allow_skip,
            precomputed_agreement: (),
            updated_by: task.updated_by,
        }
    }
}

/// A prediction as Label Studio's API shows it.
pub fn prediction(row: &PredictionRow, now: DateTime<Utc>) -> Value {
    json!({
        "id": row.id,
        "result": parse_json(&row.result, json!([])),
        "model_version": row.model_version,
        "created_ago": created_ago(&row.created_at, now),
        "score": row.score,
        "cluster": null,
        "neighbors": null,
        "mislabeling": 0.0,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
        "model": null,
        "model_run": null,
        "task": row.task_id,
        "project": row.project_id,
    })
}

/// A draft as Label Studio's API shows it; `user` is the author's email.
pub fn draft(row: &DraftRow, author: Option<&User>, now: DateTime<Utc>) -> Value {
    json!({
        "id": row.id,
        "user": author.map(|u| u.email.clone()).unwrap_or_default(),
        "created_username": author.map(|u| created_username(u).trim_start().to_owned()).unwrap_or_default(),
        "created_ago": created_ago(&row.created_at, now),
        "result": parse_json(&row.result, json!([])),
        "lead_time": row.lead_time,
        "was_postponed": row.was_postponed,
        "import_id": row.import_id,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
        "task": row.task_id,
        "annotation": row.annotation_id,
    })
}

/// A user as Label Studio's `/api/current-user/whoami` and `/api/users/` show one.
pub fn user_json(user: &User) -> Value {
    json!({
        "id": user.id, "first_name": user.first_name, "last_name": user.last_name,
        "username": user.email, "email": user.email, "avatar": null,
        "initials": user.email.chars().next().map(|c| c.to_string()).unwrap_or_default(),
    })
}

/// Label Studio's `created_username`: `"<first> <last> <email>, <id>"`.
pub fn created_username(user: &User) -> String {
    let name = [user.first_name.as_str(), user.last_name.as_str()]
        .iter()
        .filter(|s| !s.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join(" ");
    format!("{name} {}, {}", user.email, user.id)
}

/// Django's `timesince` (two largest units, non-breaking spaces), e.g. `"2\u{a0}minutes"`.
pub fn created_ago(created_at: &str, now: DateTime<Utc>) -> String {
    let Ok(created) = DateTime::parse_from_rfc3339(created_at) else {
        return String::new();
    };
    let seconds = (now - created.with_timezone(&Utc)).num_seconds().max(0);
    const UNITS: [(i64, &str, &str); 6] = [
        (365 * 24 * 3600, "year", "years"),
        (30 * 24 * 3600, "month", "months"),
        (7 * 24 * 3600, "week", "weeks"),
        (24 * 3600, "day", "days"),
        (3600, "hour", "hours"),
        (60, "minute", "minutes"),
    ];
    let Some(first) = UNITS.iter().position(|(size, ..)| seconds >= *size) else {
        return "0\u{a0}minutes".to_owned();
    };
    let mut parts = Vec::new();
    let mut rest = seconds;
    for (size, one, many) in UNITS.iter().skip(first).take(2) {
        let count = rest / size;
        rest -= count * size;
        if count > 0 || parts.is_empty() {
            parts.push(format!(
                "{count}\u{a0}{}",
                if count == 1 { one } else { many }
            ));
        } else {
            break;
        }
    }
    parts.join(", ")
}

/// Label Studio project flags labelsync keeps and echoes back, with their defaults.
pub fn project_option_defaults() -> Map<String, Value> {
    let defaults = json!({
        "show_instruction": false,
        "show_skip_button": true,
        "enable_empty_annotation": true,
        "show_annotation_history": false,
        "is_published": false,
        "model_version": "",
        "is_draft": false,
        "min_annotations_to_start_training": 0,
        "start_training_on_annotation_update": false,
        "show_collab_predictions": true,
        "sampling": "Sequential sampling",
        "show_ground_truth_first": false,
        "show_overlap_first": false,
        "overlap_cohort_percentage": 100,
        "control_weights": {},
        "evaluate_predictions_automatically": false,
        "skip_queue": "REQUEUE_FOR_OTHERS",
        "reveal_preannotations_interactively": false,
        "pinned_at": null,
    });
    defaults.as_object().cloned().unwrap_or_default()
}

/// A project in Label Studio's shape.
pub fn project(found: &ProjectWithStats) -> Value {
    let ProjectWithStats {
        project,
        stats,
        creator,
    } = found;
    let mut value = json!({
        "id": project.id,
        "title": project.title,
        "description": project.description,
        "label_config": project.label_config,
        "expert_instruction": project.expert_instruction,
        "organization": 1,
        "color": project.color,
        "maximum_annotations": project.maximum_annotations,
        "created_by": creator.as_ref().map(|u| json!({
            "id": u.id, "first_name": u.first_name, "last_name": u.last_name, "email": u.email, "avatar": null,
        })),
        "created_at": project.created_at,
        "updated_at": project.updated_at,
        "num_tasks_with_annotations": stats.num_tasks_with_annotations,
        "task_number": stats.task_number,
        "useful_annotation_number": stats.total_annotations_number,
        "ground_truth_number": 0,
        "skipped_annotations_number": stats.skipped_annotations_number,
        "total_annotations_number": stats.total_annotations_number,
        "total_predictions_number": stats.total_predictions_number,
        "finished_task_number": stats.num_tasks_with_annotations,
        "queue_total": stats.task_number,
        "queue_done": stats.num_tasks_with_annotations,
        "config_has_control_tags": project.label_config.contains("toName"),
        "parsed_label_config": crate::label_config::parsed(&project.label_config),
        "data_types": crate::label_config::data_types(&project.label_config).into_iter().map(|(k, v)| (k, Value::String(v))).collect::<serde_json::Map<String, Value>>(),
    });
    let mut options = project_option_defaults();
    if let Value::Object(stored) = &project.options {
        options.extend(stored.clone());
    }
    if let Value::Object(map) = &mut value {
        map.extend(options);
    }
    value
}

/// A storage in Label Studio's shape; secrets are never part of it.
pub fn storage(row: &StorageRow) -> Value {
    let mut map = Map::new();
    map.insert("id".into(), json!(row.id));
    map.insert("type".into(), json!(row.kind()));
    map.insert("synchronizable".into(), json!(row.synchronizable));
    map.extend(row.settings.public());
    map.insert("last_sync".into(), json!(row.last_sync));
    map.insert("last_sync_count".into(), json!(row.last_sync_count));
    map.insert("last_sync_job".into(), json!(row.last_sync_job));
    map.insert("status".into(), json!(row.status.as_str()));
    map.insert("traceback".into(), json!(row.traceback));
    map.insert("meta".into(), row.meta.clone());
    map.insert("title".into(), json!(row.title));
    map.insert("description".into(), json!(row.description));
    map.insert("created_at".into(), json!(row.created_at));
    map.insert("project".into(), json!(row.project_id));
    map.insert("next_sync_at".into(), json!(next_sync_at(row)));
    Value::Object(map)
}

/// When a scheduled storage syncs next (labelsync's): its last sync's queue time plus its
/// interval, now when it never synced, none while it syncs or without a schedule.
fn next_sync_at(row: &StorageRow) -> Option<String> {
    let minutes = row.settings.common.sync_interval_minutes?;
    if matches!(row.status.as_str(), "queued" | "in_progress") {
        return None;
    }
    let last = row.meta["time_queued"]
        .as_str()
        .and_then(|t| DateTime::parse_from_str(t, "%Y-%m-%d %H:%M:%S%.f%:z").ok());
    let next = match last {
        Some(last) => {
            last.with_timezone(&Utc) + chrono::Duration::milliseconds((minutes * 60_000.0) as i64)
        }
        None => Utc::now(),
    };
    Some(crate::time::iso(next))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn undefined_key_takes_the_first_config_variable() {
        let data = task_data(
            r#"{"$undefined$": "/data/local-files/?d=a.png"}"#,
            Some("image"),
        );
        assert_eq!(data, json!({"image": "/data/local-files/?d=a.png"}));
        let data = task_data(r#"{"$undefined$": "x"}"#, None);
        assert_eq!(data, json!({"$undefined$": "x"}));
    }

    #[test]
    fn results_summary_matches_label_studio() {
        let results = [
            r#"[{"value": {"x": 12.345, "rectanglelabels": ["Cat"]}, "id": "r12", "type": "rectanglelabels"}]"#,
        ];
        assert_eq!(
            pretty_results(results.into_iter()),
            "[{value: {x: 12.35, rectanglelabels: [Cat]}, id: r12, type: rectanglelabels}]"
        );
        assert_eq!(pretty_results(std::iter::empty()), "");
    }

    fn annotation_row(result: &str, lead_time: Option<f64>) -> AnnotationRow {
        AnnotationRow {
            id: 7,
            task_id: 3,
            project_id: 1,
            result: result.into(),
            completed_by: Some(2),
            updated_by: Some(2),
            was_cancelled: false,
            ground_truth: true,
            lead_time,
            import_id: None,
            last_action: Some("submitted".into()),
            bulk_created: false,
            parent_prediction: None,
            parent_annotation: Some(5),
            draft_created_at: None,
            created_at: "2026-01-02T01:03:00.000000Z".into(),
            updated_at: "2026-01-02T01:04:00.000000Z".into(),
        }
    }

    fn task_row(meta: &str) -> TaskRow {
        TaskRow {
            id: 3,
            project_id: 1,
            data: r#"{"$undefined$": "/data/local-files/?d=a b.png"}"#.into(),
            meta: meta.into(),
            inner_id: 3,
            overlap: 1,
            is_labeled: true,
            allow_skip: true,
            total_annotations: 1,
            cancelled_annotations: 0,
            total_predictions: 2,
            completed_at: None,
            predictions_score: Some(0.5),
            updated_by: Some(2),
            created_at: "2026-01-01T00:00:00.000000Z".into(),
            updated_at: "2026-01-02T00:00:00.000000Z".into(),
            storage_filename: None,
        }
    }

    #[test]
    fn an_exported_annotation_from_its_rows_is_the_tree_byte_for_byte() {
        let user = User {
            id: 2,
            email: "a\"b@example.com".into(),
            first_name: "Ann".into(),
            last_name: "É".into(),
        };
        let now = Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap();
        let results = [
            r#"[{"id": "r1", "type": "rectanglelabels", "value": {"x": 12.5, "y": 1e2, "rectanglelabels": ["Cat \"1\" ☃"]}, "score": null}]"#,
            "[]",
            r#"[{"nested": {"deep": [[1, -2, 3.25e-7], {}, []]}, "big": 18446744073709551615}]"#,
        ];
        for (result, meta, author, lead_time) in [
            (results[0], r#"{"source": "s3"}"#, Some(&user), Some(3.5)),
            (results[1], "{}", None, None),
            (
                results[2],
                r#"{"a": [1, {"b": null}]}"#,
                Some(&user),
                Some(f64::NAN),
            ),
        ] {
            let (row, task) = (annotation_row(result, lead_time), task_row(meta));
            let data = || task_data(&task.data, Some("image"));
            let tree = exported_annotation(&row, author, storage_task(&task, data()), now);
            let typed = ExportedAnnotation::new(&row, author, &task, data(), now);
            assert_eq!(
                String::from_utf8(serde_json::to_vec_pretty(&typed).unwrap()).unwrap(),
                String::from_utf8(serde_json::to_vec_pretty(&tree).unwrap()).unwrap(),
            );
        }
        let broken = annotation_row("[{not json", None);
        let task = task_row("{}");
        let typed = ExportedAnnotation::new(&broken, None, &task, json!({}), now);
        assert!(
            serde_json::to_vec_pretty(&typed).is_err(),
            "text that is not JSON fails (the caller falls back to the tree)"
        );
    }

    #[test]
    fn username_and_age_match_label_studio() {
        let user = User {
            id: 1,
            email: "bench@example.com".into(),
            first_name: String::new(),
            last_name: String::new(),
        };
        assert_eq!(created_username(&user), " bench@example.com, 1");
        let now = Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap();
        assert_eq!(
            created_ago("2026-01-02T03:04:00.000000Z", now),
            "0\u{a0}minutes"
        );
        assert_eq!(
            created_ago("2026-01-02T03:02:00.000000Z", now),
            "2\u{a0}minutes"
        );
        assert_eq!(
            created_ago("2026-01-02T01:03:00.000000Z", now),
            "2\u{a0}hours, 1\u{a0}minute"
        );
        assert_eq!(
            created_ago("2026-01-01T03:04:05.000000Z", now),
            "1\u{a0}day"
        );
    }
}
