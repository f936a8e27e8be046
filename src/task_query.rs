//! Label Studio's Data Manager query language, read and checked: filters (`filter:tasks:…`
//! items joined by `and`/`or`), ordering (`tasks:…`, `-` for descending) and the selected
//! items. Everything a client can send is turned into typed values here, so an unknown
//! column, operator or value is a clear 400 and never a filter silently ignored;
//! [`crate::db::task_search`] turns the typed query into SQL.

use serde_json::{Map, Value};

/// A query over a project's tasks.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TaskQuery {
    pub filters: Vec<Filter>,
    pub conjunction: Conjunction,
    pub ordering: Option<Ordering>,
    pub selection: Selection,
    /// Only tasks with at least one annotation (`?only_annotated=true`).
    pub annotated_only: bool,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Conjunction {
    #[default]
    And,
    Or,
}

/// Sort by one column (Label Studio sorts by the first entry of `ordering` only).
#[derive(Debug, Clone, PartialEq)]
pub struct Ordering {
    pub column: Column,
    pub descending: bool,
}

/// Which tasks a query covers before its filters: all but some, or only some.
#[derive(Debug, Clone, PartialEq)]
pub enum Selection {
    All { excluded: Vec<i64> },
    Only(Vec<i64>),
}

impl Default for Selection {
    fn default() -> Self {
        Selection::All {
            excluded: Vec::new(),
        }
    }
}

/// One filter item: a column and what its value must satisfy.
#[derive(Debug, Clone, PartialEq)]
pub struct Filter {
    pub column: Column,
    pub condition: Condition,
}

/// What a column holds, which decides the operators and values it takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Number,
    Datetime,
    Boolean,
    String,
    /// Several values per task (annotators, model versions, results): `contains` asks for
    /// one of them.
    List,
}

/// A Data Manager column a query can filter or sort on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Column {
    Id,
    InnerId,
    CompletedAt,
    CreatedAt,
    UpdatedAt,
    TotalAnnotations,
    CancelledAnnotations,
    TotalPredictions,
    /// Users who annotated the task (ids).
    Annotators,
    UpdatedBy,
    StorageFilename,
    /// `vanished` or `changed`: the task's object since its import (labelsync's).
    StorageState,
    FileUpload,
    IsLabeled,
    PredictionsScore,
    PredictionsModelVersions,
    AnnotationsResults,
    PredictionsResults,
    AvgLeadTime,
    DraftExists,
    GroundTruth,
    /// `tasks:data.<field>`, compared as the kind the client says it holds.
    Data {
        field: String,
        kind: Kind,
    },
}

const ORDERED: &[&str] = &[
    "equal",
    "not_equal",
    "less",
    "greater",
    "less_or_equal",
    "greater_or_equal",
    "in",
    "not_in",
    "in_list",
    "not_in_list",
    "empty",
];
const TEXT: &[&str] = &[
    "equal",
    "not_equal",
    "contains",
    "not_contains",
    "regex",
    "in_list",
    "not_in_list",
    "empty",
];
const BOOLEAN: &[&str] = &["equal", "not_equal", "empty"];
const MEMBERS: &[&str] = &["contains", "not_contains", "empty"];
const RESULTS: &[&str] = &["contains", "not_contains", "equal", "not_equal", "empty"];

/// A built-in column: its name after `tasks:`, what it holds, the operators it takes.
struct BuiltIn {
    name: &'static str,
    column: Column,
    kind: Kind,
    operators: &'static [&'static str],
}

const fn built_in(
    name: &'static str,
    column: Column,
    kind: Kind,
    operators: &'static [&'static str],
) -> BuiltIn {
    BuiltIn {
        name,
        column,
        kind,
        operators,
    }
}

const BUILT_IN: &[BuiltIn] = &[
    built_in("id", Column::Id, Kind::Number, ORDERED),
    built_in("inner_id", Column::InnerId, Kind::Number, ORDERED),
    built_in("completed_at", Column::CompletedAt, Kind::Datetime, ORDERED),
    built_in("created_at", Column::CreatedAt, Kind::Datetime, ORDERED),
    built_in("updated_at", Column::UpdatedAt, Kind::Datetime, ORDERED),
    built_in(
        "total_annotations",
        Column::TotalAnnotations,
        Kind::Number,
        ORDERED,
    ),
    built_in(
        "cancelled_annotations",
        Column::CancelledAnnotations,
        Kind::Number,
        ORDERED,
    ),
    built_in(
        "total_predictions",
        Column::TotalPredictions,
        Kind::Number,
        ORDERED,
    ),
    built_in("annotators", Column::Annotators, Kind::List, MEMBERS),
    built_in("updated_by", Column::UpdatedBy, Kind::List, MEMBERS),
    built_in(
        "storage_filename",
        Column::StorageFilename,
        Kind::String,
        TEXT,
    ),
    built_in("storage_state", Column::StorageState, Kind::String, TEXT),
    built_in("file_upload", Column::FileUpload, Kind::String, TEXT),
    built_in("is_labeled", Column::IsLabeled, Kind::Boolean, BOOLEAN),
    built_in(
        "predictions_score",
        Column::PredictionsScore,
        Kind::Number,
        ORDERED,
    ),
    built_in(
        "predictions_model_versions",
        Column::PredictionsModelVersions,
        Kind::List,
        MEMBERS,
    ),
    built_in(
        "annotations_results",
        Column::AnnotationsResults,
        Kind::List,
        RESULTS,
    ),
    built_in(
        "predictions_results",
        Column::PredictionsResults,
        Kind::List,
        RESULTS,
    ),
    built_in("avg_lead_time", Column::AvgLeadTime, Kind::Number, ORDERED),
    built_in("draft_exists", Column::DraftExists, Kind::Boolean, BOOLEAN),
    built_in("ground_truth", Column::GroundTruth, Kind::Boolean, BOOLEAN),
];

impl Column {
    /// Reads `tasks:<name>` or `tasks:data.<field>`; `data_kind` is the kind a data field
    /// is compared as.
    fn parse(name: &str, data_kind: Kind) -> Result<Column, String> {
        let Some(rest) = name.strip_prefix("tasks:") else {
            return Err(format!(
                "unknown column \"{name}\": columns are named tasks:<column> or tasks:data.<field>"
            ));
        };
        if let Some(field) = rest.strip_prefix("data.") {
            if field.is_empty() || field.contains('"') || field.chars().any(char::is_control) {
                return Err(format!("column \"{name}\" names no usable data field"));
            }
            return Ok(Column::Data {
                field: field.to_owned(),
                kind: data_kind,
            });
        }
        BUILT_IN
            .iter()
            .find(|known| known.name == rest)
            .map(|known| known.column.clone())
            .ok_or_else(|| {
                let names: Vec<&str> = BUILT_IN.iter().map(|known| known.name).collect();
                format!(
                    "unknown column \"{name}\"; known: tasks:{} and tasks:data.<field>",
                    names.join(", tasks:")
                )
            })
    }

    fn built_in(&self) -> Option<&'static BuiltIn> {
        BUILT_IN.iter().find(|known| known.column == *self)
    }

    /// What the column holds.
    pub fn kind(&self) -> Kind {
        match self {
            Column::Data { kind, .. } => *kind,
            other => other.built_in().map_or(Kind::String, |known| known.kind),
        }
    }

    /// The operators a filter on this column may use.
    fn operators(&self) -> &'static [&'static str] {
        match self {
            Column::Data { kind, .. } => match kind {
                Kind::Number | Kind::Datetime => ORDERED,
                Kind::Boolean => BOOLEAN,
                Kind::String | Kind::List => TEXT,
            },
            other => other.built_in().map_or(TEXT, |known| known.operators),
        }
    }

    /// The column's name as the frontend writes it (`tasks:id`, `tasks:data.text`).
    pub fn name(&self) -> String {
        match self {
            Column::Data { field, .. } => format!("tasks:data.{field}"),
            other => other
                .built_in()
                .map_or_else(String::new, |known| format!("tasks:{}", known.name)),
        }
    }
}

/// The longest text a filter compares with, and the most values a list filter names: a
/// query stays a query, not a way to make the database refuse a statement.
pub const MAX_VALUE_CHARS: usize = 10_000;
pub const MAX_LIST_VALUES: usize = 10_000;

/// A value a filter compares with, already in the column's kind.
#[derive(Debug, Clone, PartialEq)]
pub enum Scalar {
    Number(f64),
    /// Text, or a time spelled as the database stores it (`2026-11-27T07:55:10.044224Z`).
    Text(String),
    Bool(bool),
}

/// How a column's value is compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparison {
    Equal,
    NotEqual,
    Less,
    Greater,
    LessOrEqual,
    GreaterOrEqual,
}

/// What a filter asks of its column.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    Compare(Comparison, Scalar),
    /// `in` (`negated: false`) and `not_in`: between `min` and `max`, both included.
    Range {
        min: Scalar,
        max: Scalar,
        negated: bool,
    },
    /// `in_list` / `not_in_list`: one of the values.
    OneOf {
        values: Vec<Scalar>,
        negated: bool,
    },
    /// `contains` / `not_contains`: a substring (case-insensitive) of a text column; for a
    /// list column, a member matching one of the values (`not_contains`: none of them).
    Contains {
        values: Vec<Scalar>,
        negated: bool,
    },
    Regex(String),
    /// `empty`: `true` asks for no value, `false` for some value.
    Empty(bool),
}

/// The largest regular expression a filter may compile to, so that no filter can make the
/// server build a huge automaton.
pub const REGEX_SIZE_LIMIT: usize = 1 << 20;

impl TaskQuery {
    /// Reads a query object (`{"filters", "ordering", "selectedItems"}`), as sent in
    /// `?query=`, in an action's body or stored in a view's `data`. Missing parts mean no
    /// filter, the default order and every task.
    pub fn from_json(value: &Value) -> Result<TaskQuery, String> {
        let empty = Map::new();
        let object = match value {
            Value::Object(object) => object,
            Value::Null => &empty,
            _ => return Err("the query must be a JSON object".to_owned()),
        };
        let (conjunction, filters) = read_filters(object.get("filters"))?;
        Ok(TaskQuery {
            filters,
            conjunction,
            ordering: read_ordering(object.get("ordering"))?,
            selection: read_selection(object.get("selectedItems"))?,
            annotated_only: false,
        })
    }

    /// Reads the query text of `?query=`.
    pub fn from_text(text: &str) -> Result<TaskQuery, String> {
        let value: Value = serde_json::from_str(text)
            .map_err(|err| format!("the query is not valid JSON: {err}"))?;
        TaskQuery::from_json(&value)
    }
}

fn read_filters(value: Option<&Value>) -> Result<(Conjunction, Vec<Filter>), String> {
    let object = match value {
        None | Some(Value::Null) => return Ok((Conjunction::And, Vec::new())),
        Some(Value::Object(object)) => object,
        Some(_) => {
            return Err(
                "filters must be an object: {\"conjunction\": \"and\" or \"or\", \"items\": [...]}"
                    .to_owned(),
            );
        }
    };
    let conjunction = match object.get("conjunction") {
        None | Some(Value::Null) => Conjunction::And,
        Some(Value::String(c)) if c.eq_ignore_ascii_case("and") => Conjunction::And,
        Some(Value::String(c)) if c.eq_ignore_ascii_case("or") => Conjunction::Or,
        Some(other) => {
            return Err(format!(
                "filters.conjunction must be \"and\" or \"or\", not {other}"
            ));
        }
    };
    let items = match object.get("items") {
        None | Some(Value::Null) => return Ok((conjunction, Vec::new())),
        Some(Value::Array(items)) => items,
        Some(_) => return Err("filters.items must be a list".to_owned()),
    };
    let mut filters = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        if let Some(filter) =
            read_filter(item).map_err(|err| format!("filters.items[{i}]: {err}"))?
        {
            filters.push(filter);
        }
    }
    Ok((conjunction, filters))
}

/// One filter item; `None` for one still being written (its column and operator are
/// checked, but it has no value yet: Label Studio skips it too, and its frontend keeps such
/// half-made filters in a view).
fn read_filter(item: &Value) -> Result<Option<Filter>, String> {
    let Value::Object(item) = item else {
        return Err("a filter must be an object with filter, operator, type and value".to_owned());
    };
    let text = |name: &str| match item.get(name) {
        Some(Value::String(s)) => Ok(s.as_str()),
        _ => Err(format!("\"{name}\" is required (a string)")),
    };
    let name = text("filter")?;
    let name = name.strip_prefix("filter:").unwrap_or(name);
    let data_kind = match item.get("type") {
        Some(Value::String(t)) => kind_of_type(t),
        _ => Kind::String,
    };
    let column = Column::parse(name, data_kind)?;
    let operator = text("operator")?;
    let kind = column.kind();
    if !column.operators().contains(&operator) {
        let known = ORDERED.iter().chain(TEXT).any(|op| *op == operator);
        let what = if known {
            "does not apply to"
        } else {
            "is unknown for"
        };
        return Err(format!(
            "operator \"{operator}\" {what} {}; use one of: {}",
            column.name(),
            column.operators().join(", ")
        ));
    }
    let value = item.get("value").unwrap_or(&Value::Null);
    if is_unfinished(value) {
        return Ok(None);
    }
    let condition = read_condition(operator, value, kind)
        .and_then(|condition| fit_to_column(&column, condition))
        .map_err(|err| format!("{} {operator}: {err}", column.name()))?;
    Ok(Some(Filter { column, condition }))
}

/// A value not given yet: none at all, a range with an end missing, an empty list.
fn is_unfinished(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Array(items) => items.is_empty(),
        Value::Object(range) => ["min", "max"]
            .iter()
            .any(|end| range.get(*end).is_none_or(Value::is_null)),
        _ => false,
    }
}

/// Checks what only some columns need: user ids for the user columns, JSON for a result
/// compared whole.
fn fit_to_column(column: &Column, condition: Condition) -> Result<Condition, String> {
    match (column, condition) {
        (Column::Annotators | Column::UpdatedBy, Condition::Contains { values, negated }) => {
            let values = values
                .into_iter()
                .map(|value| match value {
                    Scalar::Text(text) => text
                        .trim()
                        .parse::<i64>()
                        .map(|id| Scalar::Number(id as f64))
                        .map_err(|_| format!("\"{text}\" is not a user id")),
                    other => Ok(other),
                })
                .collect::<Result<_, _>>()?;
            Ok(Condition::Contains { values, negated })
        }
        (
            Column::AnnotationsResults | Column::PredictionsResults,
            Condition::Compare(comparison, Scalar::Text(text)),
        ) => {
            serde_json::from_str::<Value>(&text)
                .map_err(|err| format!("the value must be a result as JSON text: {err}"))?;
            Ok(Condition::Compare(comparison, Scalar::Text(text)))
        }
        (
            Column::Data {
                kind: Kind::Datetime,
                ..
            },
            condition,
        ) => Ok(map_texts(condition, sqlite_time)),
        (_, condition) => Ok(condition),
    }
}

/// A time as SQLite's `strftime('%Y-%m-%dT%H:%M:%f')` spells it (the data side of a filter
/// on a data field holding times): the stored spelling cut to the millisecond.
fn sqlite_time(iso: String) -> String {
    iso.chars().take(23).collect()
}

/// The condition with each text value mapped.
fn map_texts(condition: Condition, map: fn(String) -> String) -> Condition {
    let scalar = |value: Scalar| match value {
        Scalar::Text(text) => Scalar::Text(map(text)),
        other => other,
    };
    match condition {
        Condition::Compare(op, value) => Condition::Compare(op, scalar(value)),
        Condition::Range { min, max, negated } => Condition::Range {
            min: scalar(min),
            max: scalar(max),
            negated,
        },
        Condition::OneOf { values, negated } => Condition::OneOf {
            values: values.into_iter().map(scalar).collect(),
            negated,
        },
        other => other,
    }
}

/// The kind a data field is compared as, from the frontend's column type. Types it shows
/// as text (String, Image, Audio, Unknown, ...) compare as strings.
fn kind_of_type(name: &str) -> Kind {
    match name {
        "Number" => Kind::Number,
        "Datetime" => Kind::Datetime,
        "Boolean" => Kind::Boolean,
        _ => Kind::String,
    }
}

fn read_condition(operator: &str, value: &Value, kind: Kind) -> Result<Condition, String> {
    let comparison = |c| Ok(Condition::Compare(c, scalar(value, kind)?));
    match operator {
        "equal" => comparison(Comparison::Equal),
        "not_equal" => comparison(Comparison::NotEqual),
        "less" => comparison(Comparison::Less),
        "greater" => comparison(Comparison::Greater),
        "less_or_equal" => comparison(Comparison::LessOrEqual),
        "greater_or_equal" => comparison(Comparison::GreaterOrEqual),
        "in" | "not_in" => range(value, kind, operator == "not_in"),
        "in_list" | "not_in_list" => one_of(value, kind, operator == "not_in_list"),
        "contains" | "not_contains" => contains(value, kind, operator == "not_contains"),
        "regex" => regex_condition(value),
        "empty" => match value {
            Value::Bool(b) => Ok(Condition::Empty(*b)),
            Value::String(s) => crate::config::parse_bool(s)
                .map(Condition::Empty)
                .ok_or_else(|| "the value must be true or false".to_owned()),
            _ => Err("the value must be true or false".to_owned()),
        },
        other => Err(format!("unknown operator \"{other}\"")),
    }
}

/// `in_list` / `not_in_list`: one of the listed values.
fn one_of(value: &Value, kind: Kind, negated: bool) -> Result<Condition, String> {
    let Value::Array(items) = value else {
        return Err("the value must be a list".to_owned());
    };
    if items.len() > MAX_LIST_VALUES {
        return Err(format!("a list may name at most {MAX_LIST_VALUES} values"));
    }
    Ok(Condition::OneOf {
        values: items
            .iter()
            .map(|v| scalar(v, kind))
            .collect::<Result<_, _>>()?,
        negated,
    })
}

/// `contains` / `not_contains`: a text, or (on a list column) one member or several.
fn contains(value: &Value, kind: Kind, negated: bool) -> Result<Condition, String> {
    let values = match (kind, value) {
        (Kind::List, Value::Array(items)) if items.len() > MAX_LIST_VALUES => {
            return Err(format!("a list may name at most {MAX_LIST_VALUES} values"));
        }
        // A list column's frontend sends one member or several (a multi-select).
        (Kind::List, Value::Array(items)) => items
            .iter()
            .map(|v| scalar(v, Kind::String))
            .collect::<Result<Vec<_>, _>>()?,
        _ => vec![scalar(value, Kind::String)?],
    };
    if values.is_empty() {
        return Err("the value lists nothing to look for".to_owned());
    }
    Ok(Condition::Contains { values, negated })
}

/// `regex`: a pattern that compiles within the size limit.
fn regex_condition(value: &Value) -> Result<Condition, String> {
    let Value::String(pattern) = value else {
        return Err("the value must be a regular expression (a string)".to_owned());
    };
    if pattern.chars().count() > MAX_VALUE_CHARS {
        return Err(format!(
            "a value may be at most {MAX_VALUE_CHARS} characters long"
        ));
    }
    regex::RegexBuilder::new(pattern)
        .size_limit(REGEX_SIZE_LIMIT)
        .build()
        .map_err(|err| format!("invalid regular expression: {err}"))?;
    Ok(Condition::Regex(pattern.clone()))
}

fn range(value: &Value, kind: Kind, negated: bool) -> Result<Condition, String> {
    let bound = |name: &str| match value.get(name) {
        Some(v) if !v.is_null() => scalar(v, kind),
        _ => Err("the value must be {\"min\": ..., \"max\": ...}".to_owned()),
    };
    Ok(Condition::Range {
        min: bound("min")?,
        max: bound("max")?,
        negated,
    })
}

/// A filter value in the column's kind: numbers from numbers or numeric text, times from
/// any ISO-8601 spelling, booleans from JSON or DRF spellings.
fn scalar(value: &Value, kind: Kind) -> Result<Scalar, String> {
    if let Value::String(text) = value
        && text.chars().count() > MAX_VALUE_CHARS
    {
        return Err(format!(
            "a value may be at most {MAX_VALUE_CHARS} characters long"
        ));
    }
    match (kind, value) {
        (Kind::Number, Value::Number(n)) => n
            .as_f64()
            .map(Scalar::Number)
            .ok_or_else(|| format!("{n} is not a number")),
        (Kind::Number, Value::String(s)) => s
            .trim()
            .parse()
            .map(Scalar::Number)
            .map_err(|_| format!("\"{s}\" is not a number")),
        (Kind::Datetime, Value::String(s)) => datetime(s).map(Scalar::Text),
        (Kind::Boolean, Value::Bool(b)) => Ok(Scalar::Bool(*b)),
        (Kind::Boolean, Value::String(s)) => crate::config::parse_bool(s)
            .map(Scalar::Bool)
            .ok_or_else(|| format!("\"{s}\" is not true or false")),
        (Kind::String | Kind::List, Value::String(s)) => Ok(Scalar::Text(s.clone())),
        (Kind::String | Kind::List, Value::Number(n)) => Ok(Scalar::Text(n.to_string())),
        (Kind::String | Kind::List, Value::Bool(b)) => Ok(Scalar::Text(b.to_string())),
        (kind, other) => Err(format!("{other} is not a valid {kind:?} value")),
    }
}

/// A time in the stored spelling, so times compare as text. A date alone is its midnight
/// (UTC); a time without a zone is UTC.
fn datetime(text: &str) -> Result<String, String> {
    use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
    let text = text.trim();
    let parsed = DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .or_else(|_| {
            NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f").map(|t| t.and_utc())
        })
        .or_else(|_| {
            NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .map(|d| d.and_time(Default::default()).and_utc())
        })
        .map_err(|_| {
            format!("\"{text}\" is not a date and time (ISO 8601, e.g. 2026-11-27T08:00:00Z)")
        })?;
    Ok(crate::time::iso(parsed))
}

fn read_ordering(value: Option<&Value>) -> Result<Option<Ordering>, String> {
    let first = match value {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(s)) => s.as_str(),
        Some(Value::Array(items)) => match items.first() {
            None | Some(Value::Null) => return Ok(None),
            Some(Value::String(s)) => s.as_str(),
            Some(other) => return Err(format!("ordering: {other} is not a column name")),
        },
        Some(other) => {
            return Err(format!(
                "ordering must be a list of column names, not {other}"
            ));
        }
    };
    parse_ordering(first).map_err(|err| format!("ordering: {err}"))
}

/// One ordering entry: `tasks:id`, `-tasks:completed_at`, `tasks:data.text` (`filter:`
/// prefixes and bare names such as `id` are taken too).
pub fn parse_ordering(entry: &str) -> Result<Option<Ordering>, String> {
    let entry = entry.trim();
    if entry.is_empty() {
        return Ok(None);
    }
    let (descending, name) = match entry.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, entry),
    };
    let name = name.strip_prefix("filter:").unwrap_or(name);
    let name = if name.starts_with("tasks:") {
        name.to_owned()
    } else {
        format!("tasks:{name}")
    };
    let column = Column::parse(&name, Kind::String)?;
    Ok(Some(Ordering { column, descending }))
}

fn read_selection(value: Option<&Value>) -> Result<Selection, String> {
    let object = match value {
        None | Some(Value::Null) => return Ok(Selection::default()),
        Some(Value::Object(object)) => object,
        Some(_) => {
            return Err(
                "selectedItems must be {\"all\": true, \"excluded\": [...]} or {\"all\": false, \"included\": [...]}"
                    .to_owned(),
            );
        }
    };
    let ids = |name: &str| -> Result<Vec<i64>, String> {
        match object.get(name) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| {
                    v.as_i64()
                        .ok_or_else(|| format!("selectedItems.{name}: {v} is not a task id"))
                })
                .collect(),
            Some(_) => Err(format!("selectedItems.{name} must be a list of task ids")),
        }
    };
    match object.get("all") {
        Some(Value::Bool(false)) => Ok(Selection::Only(ids("included")?)),
        None | Some(Value::Bool(true)) => Ok(Selection::All {
            excluded: ids("excluded")?,
        }),
        Some(other) => Err(format!(
            "selectedItems.all must be true or false, not {other}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn one(filter: Value) -> Result<Filter, String> {
        let query =
            TaskQuery::from_json(&json!({"filters": {"conjunction": "and", "items": [filter]}}))?;
        Ok(query.filters.into_iter().next().unwrap())
    }

    #[test]
    fn reads_label_studio_samples() {
        let query = TaskQuery::from_json(&json!({
            "filters": {"conjunction": "and", "items": [
                {"filter": "filter:tasks:total_annotations", "operator": "greater", "type": "Number", "value": 0}]},
            "ordering": ["-tasks:id"]
        }))
        .unwrap();
        assert_eq!(
            query.filters,
            vec![Filter {
                column: Column::TotalAnnotations,
                condition: Condition::Compare(Comparison::Greater, Scalar::Number(0.0)),
            }]
        );
        assert_eq!(
            query.ordering,
            Some(Ordering {
                column: Column::Id,
                descending: true
            })
        );
        assert_eq!(query.selection, Selection::All { excluded: vec![] });
    }

    #[test]
    fn times_are_normalised_and_ranges_read() {
        let filter = one(
            json!({"filter": "filter:tasks:completed_at", "operator": "in", "type": "Datetime",
            "value": {"min": "2021-11-01T00:00:00.000000Z", "max": "2021-11-05"}}),
        )
        .unwrap();
        assert_eq!(
            filter.condition,
            Condition::Range {
                min: Scalar::Text("2021-11-01T00:00:00.000000Z".into()),
                max: Scalar::Text("2021-11-05T00:00:00.000000Z".into()),
                negated: false
            }
        );
    }

    #[test]
    fn data_fields_take_the_clients_type() {
        let filter = one(json!({"filter": "filter:tasks:data.size", "operator": "less", "type": "Number", "value": "12"})).unwrap();
        assert_eq!(
            filter.column,
            Column::Data {
                field: "size".into(),
                kind: Kind::Number
            }
        );
        assert_eq!(
            filter.condition,
            Condition::Compare(Comparison::Less, Scalar::Number(12.0))
        );
    }

    #[test]
    fn mistakes_are_named() {
        let err = one(json!({"filter": "filter:tasks:colour", "operator": "equal", "type": "String", "value": "x"})).unwrap_err();
        assert!(err.contains("unknown column \"tasks:colour\""), "{err}");
        let err = one(json!({"filter": "filter:tasks:id", "operator": "bigger", "type": "Number", "value": 1})).unwrap_err();
        assert!(err.contains("operator \"bigger\""), "{err}");
        let err = one(json!({"filter": "filter:tasks:id", "operator": "contains", "type": "Number", "value": 1})).unwrap_err();
        assert!(err.contains("does not apply to tasks:id"), "{err}");
        let err = one(json!({"filter": "filter:tasks:id", "operator": "greater", "type": "Number", "value": "many"})).unwrap_err();
        assert!(err.contains("\"many\" is not a number"), "{err}");
        let err = one(json!({"filter": "filter:tasks:data.t", "operator": "regex", "type": "String", "value": "("})).unwrap_err();
        assert!(err.contains("invalid regular expression"), "{err}");
        let err = TaskQuery::from_json(&json!({"ordering": ["-tasks:nope"]})).unwrap_err();
        assert!(err.contains("ordering: unknown column"), "{err}");
        let err =
            TaskQuery::from_json(&json!({"selectedItems": {"all": false, "included": ["a"]}}))
                .unwrap_err();
        assert!(err.contains("is not a task id"), "{err}");
    }

    #[test]
    fn unfinished_filters_are_skipped_but_still_checked() {
        let query = TaskQuery::from_json(&json!({"filters": {"conjunction": "and", "items": [
            {"filter": "filter:tasks:id", "operator": "greater", "type": "Number", "value": null},
            {"filter": "filter:tasks:id", "operator": "in", "type": "Number", "value": {"min": 1, "max": null}},
            {"filter": "filter:tasks:id", "operator": "equal", "type": "Number", "value": 3}]}}))
        .unwrap();
        assert_eq!(query.filters.len(), 1);
        let err = one(json!({"filter": "filter:tasks:nope", "operator": "equal", "type": "Number", "value": null})).unwrap_err();
        assert!(err.contains("unknown column"), "{err}");
        let long = "x".repeat(MAX_VALUE_CHARS + 1);
        let err = one(json!({"filter": "filter:tasks:data.t", "operator": "contains", "type": "String", "value": long})).unwrap_err();
        assert!(err.contains("at most"), "{err}");
    }

    #[test]
    fn nulls_mean_nothing_asked() {
        let query = TaskQuery::from_json(
            &json!({"filters": null, "ordering": null, "selectedItems": null}),
        )
        .unwrap();
        assert_eq!(query, TaskQuery::default());
        let query =
            TaskQuery::from_json(&json!({"selectedItems": {"all": false, "included": [3, 4]}}))
                .unwrap();
        assert_eq!(query.selection, Selection::Only(vec![3, 4]));
    }
}
