//! JSON shapes of tasks, annotations and predictions, shared by the API and the export.
//!
//! Field names and types follow Label Studio's serializers, so its SDK and scripts parse
//! them unchanged. Blob tasks are stored under `$undefined$` and shown under the labeling
//! config's first data variable, here and nowhere else.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use crate::db::annotations::AnnotationRow;
use crate::db::tasks::{AnnotationSummary, PredictionRow, TaskRow};
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

/// A task as the task list (Data Manager) shows it.
pub fn task_list_item(task: &TaskRow, data: Value, summary: Option<&AnnotationSummary>) -> Value {
    let mut map = task_common(task, data);
    let ids = summary.map(|s| {
        s.annotation_ids
            .iter()
            .map(i64::to_string)
            .collect::<Vec<_>>()
            .join(",")
    });
    map.insert("drafts".into(), json!([]));
    map.insert(
        "annotators".into(),
        json!(summary.map(|s| s.annotators.clone()).unwrap_or_default()),
    );
    map.insert("annotations_results".into(), json!(""));
    map.insert("predictions_results".into(), json!(""));
    map.insert("storage_filename".into(), json!(task.storage_filename));
    map.insert("annotations_ids".into(), json!(ids.unwrap_or_default()));
    map.insert("predictions_model_versions".into(), json!(""));
    map.insert("updated_by".into(), updated_by_list(task.updated_by));
    Value::Object(map)
}

/// A task as `GET /api/tasks/<id>` shows it, with its annotations and predictions.
pub fn task_detail(
    task: &TaskRow,
    data: Value,
    annotations: Vec<Value>,
    predictions: Vec<Value>,
) -> Value {
    let mut map = task_common(task, data);
    map.insert("predictions".into(), Value::Array(predictions));
    map.insert("annotations".into(), Value::Array(annotations));
    map.insert("drafts".into(), json!([]));
    map.insert("annotators".into(), json!([]));
    map.insert("completed_at".into(), Value::Null);
    map.insert("annotations_results".into(), json!(""));
    map.insert("predictions_results".into(), json!(""));
    map.insert("predictions_score".into(), Value::Null);
    map.insert("storage_filename".into(), json!(task.storage_filename));
    map.insert("annotations_ids".into(), json!(""));
    map.insert("predictions_model_versions".into(), json!(""));
    map.insert("avg_lead_time".into(), Value::Null);
    map.insert("draft_exists".into(), json!(false));
    map.insert("updated_by".into(), updated_by_list(task.updated_by));
    Value::Object(map)
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

/// A prediction as the task API shows it.
pub fn prediction(row: &PredictionRow) -> Value {
    json!({
        "id": row.id,
        "result": parse_json(&row.result, json!([])),
        "score": row.score,
        "model_version": row.model_version,
        "cluster": null,
        "neighbors": null,
        "mislabeling": 0.0,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
        "task": row.task_id,
        "project": row.project_id,
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
