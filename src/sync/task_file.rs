//! Task files: one JSON object, a JSON array, or JSON Lines, into tasks.
//!
//! The same rules serve storage sync (task mode) and the project import API: an object
//! with a `data` object uses it as the task data and may carry `annotations`,
//! `predictions`, `meta`; any other object is the task data itself.

use serde_json::{Map, Value};

use crate::db::tasks::{NewAnnotation, NewPrediction, NewTask};

/// One task read from a file, before it is stored.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedTask {
    /// Position in an array or JSON Lines file; `None` for a file holding one object.
    pub row_index: Option<i64>,
    pub data: Map<String, Value>,
    pub meta: Map<String, Value>,
    pub allow_skip: bool,
    pub annotations: Vec<Value>,
    pub predictions: Vec<Value>,
}

/// Parses a whole task file. Nothing is returned unless every task in it is valid, so a
/// file is imported completely or not at all.
pub fn parse_task_file(bytes: &[u8]) -> Result<Vec<ParsedTask>, String> {
    let text =
        std::str::from_utf8(bytes).map_err(|err| format!("the file is not UTF-8 text ({err})"))?;
    let text = text.trim_start_matches('\u{feff}');
    match text.trim_start().as_bytes().first() {
        Some(b'[') => {
            let items: Vec<Value> = serde_json::from_str(text).map_err(|err| format!("invalid JSON array: {err}"))?;
            items
                .into_iter()
                .enumerate()
                .map(|(index, item)| task_from_value(item, Some(index as i64)).map_err(|err| format!("item {index}: {err}")))
                .collect()
        }
        Some(b'{') => match serde_json::from_str::<Value>(text) {
            Ok(value) => Ok(vec![task_from_value(value, None)?]),
            Err(_) => parse_json_lines(text),
        },
        _ => Err("not a JSON object, array or JSON Lines file. If you're trying to import binary objects, perhaps you forgot to enable the \"Files\" import method (use_blob_urls)?".to_owned()),
    }
}

fn parse_json_lines(text: &str) -> Result<Vec<ParsedTask>, String> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .enumerate()
        .map(|(row, (line_number, line))| {
            let value: Value = serde_json::from_str(line)
                .map_err(|err| format!("line {}: invalid JSON: {err}", line_number + 1))?;
            task_from_value(value, Some(row as i64))
                .map_err(|err| format!("line {}: {err}", line_number + 1))
        })
        .collect()
}

/// Turns one JSON value into a task.
pub fn task_from_value(value: Value, row_index: Option<i64>) -> Result<ParsedTask, String> {
    let Value::Object(mut object) = value else {
        return Err(format!(
            "a task must be a JSON object, not {}",
            kind_of(&value)
        ));
    };
    let allow_skip = object
        .get("allow_skip")
        .and_then(Value::as_bool)
        .unwrap_or(true);
    let annotations = take_list(&mut object, "annotations")?;
    let predictions = take_list(&mut object, "predictions")?;
    let (data, meta) = match object.remove("data") {
        Some(Value::Object(data)) => {
            let meta = match object.remove("meta") {
                Some(Value::Object(meta)) => meta,
                _ => Map::new(),
            };
            (data, meta)
        }
        Some(other) => {
            return Err(format!(
                "\"data\" must be a JSON object, not {}",
                kind_of(&other)
            ));
        }
        None if !annotations.is_empty() || !predictions.is_empty() => {
            return Err(
                "a task with \"annotations\" or \"predictions\" must put its data under \"data\""
                    .to_owned(),
            );
        }
        None => (object, Map::new()),
    };
    Ok(ParsedTask {
        row_index,
        data,
        meta,
        allow_skip,
        annotations,
        predictions,
    })
}

fn take_list(object: &mut Map<String, Value>, name: &str) -> Result<Vec<Value>, String> {
    match object.remove(name) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => Ok(items),
        Some(other) => Err(format!(
            "\"{name}\" must be a list, not {}",
            kind_of(&other)
        )),
    }
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

impl ParsedTask {
    /// The row to insert; annotations without a known author are credited to `author`.
    pub fn into_new_task(
        self,
        author: i64,
        link: Option<(i64, String)>,
    ) -> Result<NewTask, String> {
        let annotations = self
            .annotations
            .into_iter()
            .enumerate()
            .map(|(i, a)| new_annotation(a, author).map_err(|err| format!("annotation {i}: {err}")))
            .collect::<Result<_, _>>()?;
        let predictions = self
            .predictions
            .into_iter()
            .enumerate()
            .map(|(i, p)| new_prediction(p).map_err(|err| format!("prediction {i}: {err}")))
            .collect::<Result<_, _>>()?;
        Ok(NewTask {
            data: Value::Object(self.data).to_string(),
            meta: Value::Object(self.meta).to_string(),
            allow_skip: self.allow_skip,
            annotations,
            predictions,
            link: link.map(|(storage, key)| (storage, key, self.row_index.unwrap_or(-1))),
        })
    }
}

fn result_of(object: &Map<String, Value>) -> Result<String, String> {
    match object.get("result") {
        None | Some(Value::Null) => Ok("[]".to_owned()),
        Some(result @ Value::Array(_)) => Ok(result.to_string()),
        Some(other) => Err(format!("\"result\" must be a list, not {}", kind_of(other))),
    }
}

fn new_annotation(value: Value, author: i64) -> Result<NewAnnotation, String> {
    let Value::Object(object) = value else {
        return Err("must be a JSON object".to_owned());
    };
    Ok(NewAnnotation {
        result: result_of(&object)?,
        completed_by: author,
        was_cancelled: object
            .get("was_cancelled")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        ground_truth: object
            .get("ground_truth")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        lead_time: object.get("lead_time").and_then(Value::as_f64),
    })
}

fn new_prediction(value: Value) -> Result<NewPrediction, String> {
    let Value::Object(object) = value else {
        return Err("must be a JSON object".to_owned());
    };
    let score = match object.get("score") {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) => n.as_f64(),
        Some(other) => {
            return Err(format!(
                "\"score\" must be a number, not {}",
                kind_of(other)
            ));
        }
    };
    Ok(NewPrediction {
        result: result_of(&object)?,
        score,
        model_version: object
            .get("model_version")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn data_of(tasks: &[ParsedTask]) -> Vec<Value> {
        tasks
            .iter()
            .map(|t| Value::Object(t.data.clone()))
            .collect()
    }

    #[test]
    fn single_object_array_and_json_lines() {
        let one = parse_task_file(br#"{"image": "a.png"}"#).unwrap();
        assert_eq!(data_of(&one), vec![json!({"image": "a.png"})]);
        assert_eq!(one[0].row_index, None);

        let array = parse_task_file(br#" [{"data": {"t": 1}}, {"t": 2}]"#).unwrap();
        assert_eq!(data_of(&array), vec![json!({"t": 1}), json!({"t": 2})]);
        assert_eq!(array[1].row_index, Some(1));

        let lines = parse_task_file(b"{\"t\": 1}\n\n{\"t\": 2}\n").unwrap();
        assert_eq!(data_of(&lines), vec![json!({"t": 1}), json!({"t": 2})]);
        assert_eq!(
            lines.iter().map(|t| t.row_index).collect::<Vec<_>>(),
            vec![Some(0), Some(1)]
        );
    }

    #[test]
    fn data_wrapper_carries_annotations_predictions_and_meta() {
        let tasks = parse_task_file(
            br#"{"data": {"text": "hi"}, "meta": {"m": 1}, "annotations": [{"result": []}],
                 "predictions": [{"result": [], "score": 0.5}], "id": 99}"#,
        )
        .unwrap();
        assert_eq!(tasks[0].annotations.len(), 1);
        assert_eq!(tasks[0].predictions.len(), 1);
        assert_eq!(Value::Object(tasks[0].meta.clone()), json!({"m": 1}));
        let new = tasks[0]
            .clone()
            .into_new_task(7, Some((3, "k".into())))
            .unwrap();
        assert_eq!(new.annotations[0].completed_by, 7);
        assert_eq!(new.link, Some((3, "k".into(), -1)));
    }

    #[test]
    fn malformed_files_say_where() {
        let err = parse_task_file(b"{\"t\": 1}\n{oops\n").unwrap_err();
        assert!(err.starts_with("line 2: invalid JSON"), "{err}");
        let err = parse_task_file(br#"[{"t": 1}, 5]"#).unwrap_err();
        assert!(err.contains("item 1") && err.contains("a number"), "{err}");
        let err = parse_task_file(b"\x89PNG").unwrap_err();
        assert!(err.contains("not UTF-8"), "{err}");
        let err = parse_task_file(b"hello").unwrap_err();
        assert!(err.contains("use_blob_urls"), "{err}");
        let err = parse_task_file(br#"{"annotations": [{}], "text": "x"}"#).unwrap_err();
        assert!(err.contains("\"data\""), "{err}");
        let err = parse_task_file(br#"{"data": {}, "annotations": [{"result": 3}]}"#)
            .unwrap()
            .remove(0)
            .into_new_task(1, None)
            .unwrap_err();
        assert!(err.contains("annotation 0"), "{err}");
    }
}

#[cfg(test)]
mod properties {
    //! The task-file parser takes any bytes without panicking, and whatever it accepts
    //! converts into tasks or a readable error.
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn any_bytes_parse_or_fail_cleanly(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            if let Ok(tasks) = parse_task_file(&bytes) {
                for task in tasks {
                    let _ = task.into_new_task(1, Some((1, "k".into())));
                }
            }
        }

        #[test]
        fn json_shaped_text_parses_or_fails_cleanly(text in r#"[\[\]{}",:0-9a-z\n ]{0,200}"#) {
            if let Ok(tasks) = parse_task_file(text.as_bytes()) {
                for task in tasks {
                    let _ = task.into_new_task(1, None);
                }
            }
        }
    }
}
