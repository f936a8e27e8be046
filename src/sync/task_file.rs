//! Task files: one JSON object, a JSON array, or JSON Lines, into tasks.
//!
//! The same rules serve storage sync (task mode) and the project import API: an object
//! with a `data` object uses it as the task data and may carry `annotations`,
//! `predictions`, `meta`; any other object is the task data itself.

use std::io::{BufRead, Read};

use serde_json::{Map, Value};

use std::sync::Arc;

use crate::db::tasks::{Link, NewAnnotation, NewPrediction, NewTask};
use crate::label_config::ControlTag;

/// How imported tasks are read into rows: who is credited with the annotations that name no
/// author, and the project's control tags, which turn predictions written in Label Studio's
/// short forms (`"cat"`, `{"choices": [...]}`) into regions.
#[derive(Debug, Clone, Default)]
pub struct Reader {
    pub author: i64,
    pub controls: Arc<[ControlTag]>,
}

impl Reader {
    /// A reader for a project with this labeling config.
    pub fn new(author: i64, label_config: &str) -> Reader {
        Reader {
            author,
            controls: crate::label_config::control_tags(label_config).into(),
        }
    }
}

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

/// Parses a whole task file held in memory. Nothing is returned unless every task in it
/// is valid, so a file is imported completely or not at all.
pub fn parse_task_file(bytes: &[u8]) -> Result<Vec<ParsedTask>, String> {
    let mut tasks = Vec::new();
    for_each_task(bytes, |task| {
        tasks.push(task);
        Ok(())
    })?;
    Ok(tasks)
}

const NOT_TASKS: &str = "not a JSON object, array or JSON Lines file. If you're trying to import binary objects, perhaps you forgot to enable the \"Files\" import method (use_blob_urls)?";

/// Streams the tasks of a task file to `each` one at a time, so a file of any size is read
/// with memory bounded by its largest task. A JSON array gives rows 0, 1, ...; so do JSON
/// Lines; a file holding one object gives one task without a row. Stops at the first
/// invalid task or at an error of `each`; returns how many tasks went through.
pub fn for_each_task(
    mut reader: impl BufRead,
    mut each: impl FnMut(ParsedTask) -> Result<(), String>,
) -> Result<u64, String> {
    let (first, blank_lines) = first_byte(&mut reader)?;
    match first {
        Some(b'[') => each_array_item(reader, &mut each),
        Some(b'{') => each_line_or_object(reader, blank_lines, &mut each),
        _ => Err(NOT_TASKS.to_owned()),
    }
}

/// The first byte after a byte-order mark and white space, left unread, and the number of
/// lines that white space took (so messages still name the file's own line numbers).
fn first_byte(reader: &mut impl BufRead) -> Result<(Option<u8>, usize), String> {
    let unreadable = |err: std::io::Error| format!("cannot read the file: {err}");
    let mut at_start = true;
    let mut lines = 0;
    loop {
        let buffer = reader.fill_buf().map_err(unreadable)?;
        if buffer.is_empty() {
            return Ok((None, lines));
        }
        if let Err(err) = std::str::from_utf8(buffer)
            && err.error_len().is_some()
        {
            return Err(format!("the file is not UTF-8 text ({err})"));
        }
        let bom = if at_start && buffer.starts_with(b"\xef\xbb\xbf") {
            3
        } else {
            0
        };
        at_start = false;
        let blank = buffer[bom..]
            .iter()
            .take_while(|b| b.is_ascii_whitespace())
            .count();
        lines += buffer[bom..bom + blank]
            .iter()
            .filter(|b| **b == b'\n')
            .count();
        let next = buffer.get(bom + blank).copied();
        reader.consume(bom + blank);
        if next.is_some() {
            return Ok((next, lines));
        }
    }
}

/// A top-level JSON array, item by item (never the whole array in memory).
fn each_array_item(
    reader: impl BufRead,
    each: &mut dyn FnMut(ParsedTask) -> Result<(), String>,
) -> Result<u64, String> {
    let mut failure = None;
    let mut de = serde_json::Deserializer::from_reader(reader);
    let items = ArrayItems {
        each,
        failure: &mut failure,
    };
    let outcome =
        serde::Deserializer::deserialize_seq(&mut de, items).and_then(|n| de.end().map(|()| n));
    match (outcome, failure) {
        (_, Some(message)) => Err(message),
        (Ok(count), None) => Ok(count),
        (Err(err), None) => Err(format!("invalid JSON array: {err}")),
    }
}

struct ArrayItems<'a> {
    each: &'a mut dyn FnMut(ParsedTask) -> Result<(), String>,
    /// Why a task was refused: kept apart so the message is not buried in serde's.
    failure: &'a mut Option<String>,
}

impl<'de> serde::de::Visitor<'de> for ArrayItems<'_> {
    type Value = u64;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON array of tasks")
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<u64, A::Error> {
        let mut index = 0u64;
        while let Some(item) = seq.next_element::<Value>()? {
            let accepted = task_from_value(item, Some(index as i64)).and_then(&mut *self.each);
            if let Err(err) = accepted {
                *self.failure = Some(format!("item {index}: {err}"));
                return Err(serde::de::Error::custom("task refused"));
            }
            index += 1;
        }
        Ok(index)
    }
}

/// A file that starts with `{`: JSON Lines when its first line is a whole JSON value,
/// else one (pretty-printed) object.
fn each_line_or_object(
    mut reader: impl BufRead,
    blank_lines: usize,
    each: &mut dyn FnMut(ParsedTask) -> Result<(), String>,
) -> Result<u64, String> {
    let first = read_line(&mut reader)?.unwrap_or_default();
    let Ok(first_value) = serde_json::from_slice::<Value>(&first) else {
        let first_line = [first.as_slice(), b"\n"].concat();
        let value: Value = serde_json::from_reader(std::io::Cursor::new(first_line).chain(reader))
            .map_err(|err| format!("line {}: invalid JSON: {err}", err.line() + blank_lines))?;
        each(task_from_value(value, None)?)?;
        return Ok(1);
    };
    // The first task waits until a second line says whether this is JSON Lines.
    let mut pending = Some(first_value);
    let mut row = 0u64;
    let first_line = blank_lines + 1;
    let mut line_number = first_line;
    loop {
        let line = read_line(&mut reader)?;
        line_number += 1;
        let Some(line) = line else { break };
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let value: Value = serde_json::from_slice(&line)
            .map_err(|err| format!("line {line_number}: invalid JSON: {err}"))?;
        if let Some(first) = pending.take() {
            task_from_value(first, Some(0))
                .and_then(&mut *each)
                .map_err(|err| format!("line {first_line}: {err}"))?;
            row = 1;
        }
        task_from_value(value, Some(row as i64))
            .and_then(&mut *each)
            .map_err(|err| format!("line {line_number}: {err}"))?;
        row += 1;
    }
    match pending {
        Some(only) => each(task_from_value(only, None)?).map(|()| 1),
        None => Ok(row),
    }
}

/// The next line without its end (`None` at the end of the file), checked to be UTF-8.
fn read_line(reader: &mut impl BufRead) -> Result<Option<Vec<u8>>, String> {
    let mut line = Vec::new();
    let read = reader
        .read_until(b'\n', &mut line)
        .map_err(|err| format!("cannot read the file: {err}"))?;
    if read == 0 {
        return Ok(None);
    }
    std::str::from_utf8(&line).map_err(|err| format!("the file is not UTF-8 text ({err})"))?;
    while line.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
        line.pop();
    }
    Ok(Some(line))
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
    /// The row to insert, read as `reader` says.
    pub fn into_new_task(self, reader: &Reader, link: Option<Link>) -> Result<NewTask, String> {
        let annotations = self
            .annotations
            .into_iter()
            .enumerate()
            .map(|(i, a)| {
                new_annotation(a, reader.author).map_err(|err| format!("annotation {i}: {err}"))
            })
            .collect::<Result<_, _>>()?;
        let predictions = self
            .predictions
            .into_iter()
            .enumerate()
            .map(|(i, p)| {
                new_prediction(p, &reader.controls).map_err(|err| format!("prediction {i}: {err}"))
            })
            .collect::<Result<_, _>>()?;
        Ok(NewTask {
            data: Value::Object(self.data).to_string(),
            meta: Value::Object(self.meta).to_string(),
            allow_skip: self.allow_skip,
            annotations,
            predictions,
            link: link.map(|link| Link {
                row_index: self.row_index.unwrap_or(-1),
                ..link
            }),
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

/// A prediction of an imported task, read as the predictions API reads one (its model
/// version is `undefined` when it names none, as Label Studio's import writes).
fn new_prediction(value: Value, controls: &[ControlTag]) -> Result<NewPrediction, String> {
    let Value::Object(object) = value else {
        return Err("must be a JSON object".to_owned());
    };
    crate::predictions::from_object(
        &object,
        controls,
        crate::predictions::DefaultVersion::Undefined,
    )
    .map_err(|refused| format!("\"{}\": {}", refused.field, refused.message))
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
            .into_new_task(
                &Reader {
                    author: 7,
                    ..Reader::default()
                },
                Some(Link::to(3, "k".into(), Some("2:1".into()))),
            )
            .unwrap();
        assert_eq!(new.annotations[0].completed_by, 7);
        assert_eq!(new.link, Some(Link::to(3, "k".into(), Some("2:1".into()))));
    }

    #[test]
    fn pretty_objects_byte_order_marks_and_tiny_reads() {
        let pretty =
            parse_task_file(b"\xef\xbb\xbf\n{\n  \"text\": \"hi\",\n  \"n\": 1\n}\n").unwrap();
        assert_eq!(data_of(&pretty), vec![json!({"text": "hi", "n": 1})]);
        assert_eq!(pretty[0].row_index, None);
        // A reader that hands out one byte at a time sees the same tasks.
        let text = b"[{\"t\": 1}, {\"data\": {\"t\": 2}}]";
        let mut seen = Vec::new();
        let count = for_each_task(std::io::BufReader::with_capacity(1, &text[..]), |task| {
            seen.push(task);
            Ok(())
        })
        .unwrap();
        assert_eq!(count, 2);
        assert_eq!(seen, parse_task_file(text).unwrap());
    }

    #[test]
    fn a_refusal_of_the_consumer_stops_the_stream() {
        let mut calls = 0;
        let err = for_each_task(&b"{\"t\": 1}\n{\"t\": 2}\n{\"t\": 3}\n"[..], |_| {
            calls += 1;
            if calls == 2 {
                Err("full".to_owned())
            } else {
                Ok(())
            }
        })
        .unwrap_err();
        assert_eq!((calls, err.as_str()), (2, "line 2: full"));
    }

    #[test]
    fn malformed_files_say_where() {
        let err = parse_task_file(b"{\"t\": 1}\n{oops\n").unwrap_err();
        assert!(err.starts_with("line 2: invalid JSON"), "{err}");
        let err = parse_task_file(b"\n\n{\"t\": 1}\n{\"t\": 2}\n{oops\n").unwrap_err();
        assert!(err.starts_with("line 5: invalid JSON"), "{err}");
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
            .into_new_task(&Reader::default(), None)
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
                    let _ = task.into_new_task(&Reader::default(), Some(Link::to(1, "k".into(), None)));
                }
            }
        }

        #[test]
        fn json_shaped_text_parses_or_fails_cleanly(text in r#"[\[\]{}",:0-9a-z\n ]{0,200}"#) {
            if let Ok(tasks) = parse_task_file(text.as_bytes()) {
                for task in tasks {
                    let _ = task.into_new_task(&Reader::default(), None);
                }
            }
        }

        /// Streaming through any read size finds the same tasks, or the same error.
        #[test]
        fn read_size_does_not_change_the_outcome(
            text in r#"[\[\]{}",:0-9a-z\n ]{0,200}"#,
            capacity in 1usize..16,
        ) {
            let mut streamed = Vec::new();
            let outcome = for_each_task(std::io::BufReader::with_capacity(capacity, text.as_bytes()), |task| {
                streamed.push(task);
                Ok(())
            });
            match parse_task_file(text.as_bytes()) {
                Ok(whole) => prop_assert_eq!(outcome.map(|_| streamed), Ok(whole)),
                Err(err) => prop_assert_eq!(outcome, Err(err)),
            }
        }
    }
}
