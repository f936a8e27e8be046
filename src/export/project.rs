//! Project export in Label Studio's formats (`GET /api/projects/<id>/export`): JSON (its
//! task format), JSON_MIN, CSV and TSV, streamed a page of tasks at a time, so an export of
//! any size holds one page in memory.
//!
//! JSON_MIN, CSV and TSV are built the way Label Studio's converter builds them from the
//! JSON export: one record per annotation that was not skipped (newest first), the task's
//! data and id, each control's values by its name (one choice or one text as itself), the
//! annotator, annotation id, times and lead time.

use std::collections::HashMap;

use bytes::Bytes;
use chrono::Utc;
use futures_util::{Stream, StreamExt};
use serde_json::{Map, Value, json};

use crate::db::exports::{ExportColumns, TaskSelection};
use crate::db::{Db, DbError};
use crate::label_config::{self, UNDEFINED_DATA_KEY};
use crate::records;

use super::vision::Vision;

/// Tasks read per page (one page in memory at a time).
const PAGE: i64 = 500;

/// The formats a project exports to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportType {
    Json,
    JsonMin,
    Csv,
    Tsv,
    /// Zips, written by [`super::vision`].
    Coco,
    CocoWithImages,
    Yolo,
    YoloWithImages,
}

/// Label Studio's format list: (name, title, description, tags); those without a
/// writer here are listed `disabled`, as Label Studio lists the ones a config cannot use.
const FORMATS: [(&str, &str, &str, &[&str]); 10] = [
    (
        "JSON",
        "JSON",
        "List of items in raw JSON format stored in one JSON file. Use to export both the data and the annotations for a dataset. It's Label Studio Common Format",
        &[],
    ),
    (
        "JSON_MIN",
        "JSON-MIN",
        "List of items where only \"from_name\", \"to_name\" values from the raw JSON format are exported. Use to export only the annotations for a dataset.",
        &[],
    ),
    (
        "CSV",
        "CSV",
        "Results are stored as comma-separated values with the column names specified by the values of the \"from_name\" and \"to_name\" fields.",
        &[],
    ),
    (
        "TSV",
        "TSV",
        "Results are stored in tab-separated tabular file with column names specified by \"from_name\" \"to_name\" values",
        &[],
    ),
    (
        "COCO",
        "COCO",
        "Popular machine learning format used by the COCO dataset for object detection and image segmentation tasks with polygons and rectangles.",
        &["image segmentation", "object detection", "keypoints"],
    ),
    (
        "COCO_WITH_IMAGES",
        "COCO with Images",
        "COCO format with images downloaded.",
        &["image segmentation", "object detection", "keypoints"],
    ),
    (
        "VOC",
        "Pascal VOC XML",
        "Popular XML format used for object detection and polygon image segmentation tasks.",
        &["image segmentation", "object detection"],
    ),
    (
        "YOLO",
        "YOLO",
        "Popular TXT format is created for each image file. Each txt file contains annotations for the corresponding image file, that is object class, object coordinates, height & width.",
        &["image segmentation", "object detection", "keypoints"],
    ),
    (
        "YOLO_WITH_IMAGES",
        "YOLO with Images",
        "YOLO format with images downloaded.",
        &["image segmentation", "object detection", "keypoints"],
    ),
    (
        "CONLL2003",
        "CONLL2003",
        "Popular format used for the CoNLL-2003 named entity recognition challenge.",
        &[
            "sequence labeling",
            "text tagging",
            "named entity recognition",
        ],
    ),
];

impl ExportType {
    /// Every format there is a writer for, by Label Studio's name.
    pub const ALL: [(ExportType, &'static str); 8] = [
        (Self::Json, "JSON"),
        (Self::JsonMin, "JSON_MIN"),
        (Self::Csv, "CSV"),
        (Self::Tsv, "TSV"),
        (Self::Coco, "COCO"),
        (Self::CocoWithImages, "COCO_WITH_IMAGES"),
        (Self::Yolo, "YOLO"),
        (Self::YoloWithImages, "YOLO_WITH_IMAGES"),
    ];

    /// Reads `exportType`; the error names the formats there are.
    pub fn parse(name: &str) -> Result<Self, String> {
        Self::ALL
            .iter()
            .find(|(_, known)| *known == name)
            .map(|(kind, _)| *kind)
            .ok_or_else(|| {
                format!(
                    "exportType {name:?} is not available: choose one of JSON, JSON_MIN, CSV, TSV, COCO, COCO_WITH_IMAGES, YOLO, YOLO_WITH_IMAGES."
                )
            })
    }

    /// Label Studio's name of the format.
    pub fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(kind, _)| *kind == self)
            .map_or("JSON", |(_, name)| name)
    }

    pub fn extension(self) -> &'static str {
        match self {
            Self::Json | Self::JsonMin => "json",
            Self::Csv => "csv",
            Self::Tsv => "tsv",
            _ => "zip",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Self::Json | Self::JsonMin => "application/json",
            Self::Csv => "text/csv; charset=utf-8",
            Self::Tsv => "text/tab-separated-values; charset=utf-8",
            _ => "application/zip",
        }
    }

    /// The converter of a zip format, and whether it copies the images.
    pub fn vision(self) -> Option<(Vision, bool)> {
        match self {
            Self::Coco => Some((Vision::Coco, false)),
            Self::CocoWithImages => Some((Vision::Coco, true)),
            Self::Yolo => Some((Vision::Yolo, false)),
            Self::YoloWithImages => Some((Vision::Yolo, true)),
            _ => None,
        }
    }

    /// Why the project's config cannot be exported to this format, if it cannot.
    pub fn unavailable(self, label_config: &str) -> Option<String> {
        let (vision, _) = self.vision()?;
        super::vision::unavailable(vision, &label_config::detection(label_config))
    }

    /// Whether the format is a table, whose columns are read before its first row.
    pub fn is_table(self) -> bool {
        matches!(self, Self::Csv | Self::Tsv)
    }
}

/// `GET /api/projects/<id>/export/formats`, in Label Studio's shape: the formats the
/// project's config can be exported to first, then the others, `disabled`.
pub fn formats(label_config: &str) -> Value {
    let (enabled, disabled): (Vec<Value>, Vec<Value>) = FORMATS
        .iter()
        .map(|(name, title, description, tags)| {
            let disabled = ExportType::parse(name)
                .map_or(true, |kind| kind.unavailable(label_config).is_some());
            let mut format = json!({
                "name": name,
                "title": title,
                "description": description,
                "link": format!("https://labelstud.io/guide/export.html#{name}"),
                "disabled": disabled,
            });
            if !tags.is_empty() {
                format["tags"] = json!(tags);
            }
            format
        })
        .partition(|format| format["disabled"] == false);
    Value::Array(enabled.into_iter().chain(disabled).collect())
}

/// Writes tasks, given in their JSON export shape, in one format.
pub struct Renderer {
    kind: ExportType,
    /// Control name → tag (`label` → `RectangleLabels`).
    controls: HashMap<String, String>,
    /// A table's columns, in order.
    columns: Vec<String>,
    /// Items written so far (JSON separators).
    written: usize,
}

impl Renderer {
    /// A renderer for a project's `label_config`; a table needs its `columns`.
    pub fn new(kind: ExportType, label_config: &str, columns: Option<&ExportColumns>) -> Self {
        let controls: HashMap<String, String> = label_config::control_tags(label_config)
            .into_iter()
            .map(|control| (control.name, control.tag))
            .collect();
        let data_key = label_config::first_data_variable(label_config);
        let columns = columns.map_or_else(Vec::new, |columns| {
            table_columns(columns, &controls, data_key.as_deref())
        });
        Self {
            kind,
            controls,
            columns,
            written: 0,
        }
    }

    pub fn head(&self) -> Vec<u8> {
        match self.kind {
            ExportType::Json | ExportType::JsonMin => b"[".to_vec(),
            ExportType::Csv | ExportType::Tsv => {
                let names: Vec<Value> = self.columns.iter().map(|c| json!(c)).collect();
                self.row(&names)
            }
            // Zips are written by `vision`, not rendered.
            _ => Vec::new(),
        }
    }

    pub fn tail(&self) -> Vec<u8> {
        match self.kind {
            ExportType::Json => b"]".to_vec(),
            ExportType::JsonMin => b"\n]".to_vec(),
            _ => Vec::new(),
        }
    }

    /// One task: itself (JSON), or its records.
    pub fn task(&mut self, task: &Value) -> Result<Vec<u8>, serde_json::Error> {
        let mut out = Vec::new();
        if self.kind == ExportType::Json {
            self.separate(&mut out);
            serde_json::to_writer(&mut out, task)?;
            return Ok(out);
        }
        let annotator_as_text = self.kind != ExportType::JsonMin;
        for record in min_records(task, &self.controls, annotator_as_text) {
            if self.kind == ExportType::JsonMin {
                self.separate(&mut out);
                serde_json::to_writer_pretty(&mut out, &record)?;
            } else {
                let cells: Vec<Value> = self
                    .columns
                    .iter()
                    .map(|c| record.get(c).cloned().unwrap_or(Value::Null))
                    .collect();
                out.extend(self.row(&cells));
            }
        }
        Ok(out)
    }

    /// What goes before the next JSON item: nothing before the first (a line break in
    /// JSON_MIN, which puts one item per block), a comma between.
    fn separate(&mut self, out: &mut Vec<u8>) {
        let separator: &[u8] = match (self.kind, self.written) {
            (ExportType::JsonMin, 0) => b"\n",
            (_, 0) => b"",
            (ExportType::Json, _) => b",",
            _ => b",\n",
        };
        out.extend_from_slice(separator);
        self.written += 1;
    }

    /// A table row as Python's csv module writes it (non-numeric quoting, CRLF).
    fn row(&self, cells: &[Value]) -> Vec<u8> {
        let separator = if self.kind == ExportType::Tsv {
            "\t"
        } else {
            ","
        };
        let mut line = cells.iter().map(cell).collect::<Vec<_>>().join(separator);
        line.push_str("\r\n");
        line.into_bytes()
    }
}

/// A table cell as Python's csv module writes it with non-numeric quoting: numbers bare,
/// text quoted, lists and objects as quoted JSON, null as an empty quoted text.
fn cell(value: &Value) -> String {
    let quoted = |text: &str| format!("\"{}\"", text.replace('"', "\"\""));
    match value {
        Value::Null => quoted(""),
        Value::Number(number) => number.to_string(),
        Value::Bool(flag) => if *flag { "True" } else { "False" }.to_owned(),
        Value::String(text) => quoted(text),
        other => quoted(&other.to_string()),
    }
}

/// What every record says of its annotation.
const ANNOTATION_FACTS: [&str; 5] = [
    "annotator",
    "annotation_id",
    "created_at",
    "updated_at",
    "lead_time",
];

/// A table's columns in Label Studio's order (sorted by name): the data keys, `id`, the
/// annotated controls, and the annotation's facts.
fn table_columns(
    columns: &ExportColumns,
    controls: &HashMap<String, String>,
    data_key: Option<&str>,
) -> Vec<String> {
    let mut names: Vec<String> = columns
        .data_keys
        .iter()
        .map(|key| match (key.as_str(), data_key) {
            (UNDEFINED_DATA_KEY, Some(named)) => named.to_owned(),
            _ => key.clone(),
        })
        .collect();
    names.push("id".into());
    names.extend(
        columns
            .from_names
            .iter()
            .filter(|name| controls.contains_key(*name))
            .cloned(),
    );
    // Always there, as in Label Studio's converter: null for a task without annotations.
    names.extend(ANNOTATION_FACTS.map(String::from));
    names.sort();
    names.dedup();
    names
}

/// The converter's records of one task: one per annotation not skipped, newest first; a
/// task without annotations is its data alone.
fn min_records(
    task: &Value,
    controls: &HashMap<String, String>,
    annotator_as_text: bool,
) -> Vec<Map<String, Value>> {
    let base = || {
        let mut record = task["data"].as_object().cloned().unwrap_or_default();
        record.insert("id".into(), task["id"].clone());
        record
    };
    let all = task["annotations"]
        .as_array()
        .map_or(&[][..], Vec::as_slice);
    if all.is_empty() {
        let mut record = base();
        for fact in ANNOTATION_FACTS {
            record.insert(fact.into(), Value::Null);
        }
        return vec![record];
    }
    let mut kept: Vec<&Value> = all
        .iter()
        .filter(|a| a["was_cancelled"] != json!(true))
        .collect();
    kept.sort_by(|a, b| b["created_at"].as_str().cmp(&a["created_at"].as_str()));
    kept.into_iter()
        .map(|annotation| {
            let mut record = base();
            for (name, values) in outputs(annotation, controls) {
                record.insert(name, prettify(values));
            }
            let annotator = &annotation["completed_by"];
            record.insert(
                "annotator".into(),
                match (annotator_as_text, annotator) {
                    (true, Value::Number(id)) => json!(id.to_string()),
                    _ => annotator.clone(),
                },
            );
            for fact in ["created_at", "updated_at", "lead_time"] {
                if fact == "created_at" {
                    record.insert("annotation_id".into(), annotation["id"].clone());
                }
                record.insert(fact.into(), annotation[fact].clone());
            }
            record
        })
        .collect()
}

/// An annotation's values by control, in result order, each with its control's tag and
/// the image size when the result has one.
fn outputs(annotation: &Value, controls: &HashMap<String, String>) -> Vec<(String, Vec<Value>)> {
    let mut outputs: Vec<(String, Vec<Value>)> = Vec::new();
    for result in annotation["result"]
        .as_array()
        .map_or(&[][..], Vec::as_slice)
    {
        let Some(name) = result["from_name"].as_str() else {
            continue;
        };
        let Some(tag) = controls.get(name) else {
            continue;
        };
        let mut value = result["value"].as_object().cloned().unwrap_or_default();
        value.insert("type".into(), json!(tag));
        for size in ["original_width", "original_height"] {
            if let Some(pixels) = result.get(size) {
                value.insert(size.into(), pixels.clone());
            }
        }
        match outputs.iter_mut().find(|(known, _)| known == name) {
            Some((_, values)) => values.push(Value::Object(value)),
            None => outputs.push((name.to_owned(), vec![Value::Object(value)])),
        }
    }
    outputs
}

/// The converter's `_prettify`: one choice or one text stands for itself.
fn prettify(values: Vec<Value>) -> Value {
    let mut out = Vec::with_capacity(values.len());
    let mut tag = String::new();
    for value in values {
        let Value::Object(mut fields) = value else {
            continue;
        };
        tag = fields
            .shift_remove("type")
            .and_then(|t| t.as_str().map(str::to_owned))
            .unwrap_or_default();
        let single = |key: &str| match fields.get(key).and_then(Value::as_array) {
            Some(items) if items.len() == 1 => Some(items[0].clone()),
            _ => None,
        };
        let alone = match tag.as_str() {
            "Choices" => single("choices"),
            "TextArea" => single("text"),
            _ => None,
        };
        out.push(alone.unwrap_or(Value::Object(fields)));
    }
    if matches!(tag.as_str(), "Choices" | "TextArea") && out.len() == 1 {
        return out.remove(0);
    }
    Value::Array(out)
}

/// One page of a project's tasks, read; [`TaskPage::tasks`] builds their JSON export shape
/// one at a time, so a page never holds its tasks twice.
pub struct TaskPage {
    rows: crate::db::exports::TaskExportPage,
    data_key: Option<String>,
}

impl TaskPage {
    /// The tasks as target storages with the task layout write them.
    pub fn stored_tasks(&self) -> impl Iterator<Item = (i64, Value)> + '_ {
        let now = Utc::now();
        self.rows.tasks.iter().map(move |task| {
            let data = records::task_data(&task.data, self.data_key.as_deref());
            (
                task.id,
                records::stored_task(task, data, &self.rows.parts, now),
            )
        })
    }

    pub fn tasks(&self) -> impl Iterator<Item = Value> + '_ {
        let now = Utc::now();
        self.rows.tasks.iter().map(move |task| {
            let data = records::task_data(&task.data, self.data_key.as_deref());
            records::export_task(task, data, &self.rows.parts, now)
        })
    }
}

/// The selected tasks of a project, a page at a time (the direct export and snapshots both
/// read them so).
pub fn task_pages(
    db: Db,
    project_id: i64,
    label_config: &str,
    selection: TaskSelection,
) -> impl Stream<Item = Result<TaskPage, DbError>> + use<> {
    let data_key = label_config::first_data_variable(label_config);
    futures_util::stream::unfold(Some(0_i64), move |after| {
        let (db, selection, data_key) = (db.clone(), selection.clone(), data_key.clone());
        async move {
            let rows = match db
                .project_export_page(project_id, selection, after?, PAGE)
                .await
            {
                Ok(rows) => rows,
                Err(err) => return Some((Err(err), None)),
            };
            let last = rows.tasks.last()?.id;
            Some((Ok(TaskPage { rows, data_key }), Some(last)))
        }
    })
}

/// The whole export as a stream of chunks: the head, one chunk per page of tasks, the
/// tail.
pub fn stream(
    db: Db,
    project_id: i64,
    label_config: &str,
    selection: TaskSelection,
    mut renderer: Renderer,
) -> impl Stream<Item = Result<Bytes, DbError>> + use<> {
    let (head, tail) = (renderer.head(), renderer.tail());
    let pages = task_pages(db, project_id, label_config, selection).map(move |page| {
        let mut chunk = Vec::new();
        for task in page?.tasks() {
            chunk.extend(renderer.task(&task)?);
        }
        Ok(Bytes::from(chunk))
    });
    futures_util::stream::once(std::future::ready(Ok(Bytes::from(head))))
        .chain(pages)
        .chain(futures_util::stream::once(std::future::ready(Ok(
            Bytes::from(tail),
        ))))
}
