//! The API fields of storages: what each takes, how it is checked, its default, and how the
//! wizard shows it. Each provider lists its fields (its own and the shared ones below); the
//! API's parsing, defaults, secrets and responses, and the wizard's forms, all read these
//! tables, so a field is described once.

use serde_json::{Map, Value, json};

use super::Direction;
use crate::error::FieldErrors;

/// How a field's value is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    /// A string or null.
    Text,
    /// A boolean.
    Bool,
    /// A boolean or null.
    OptionalBool,
    /// A whole number of at least 1.
    Count,
    /// One of these values.
    Choice(&'static [Choice]),
    /// A number above 0, or null.
    OptionalPositive,
}

/// A value a choice field takes, and what the wizard calls it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Choice {
    pub value: &'static str,
    pub label: &'static str,
}

/// Where a field applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applies {
    Both,
    ImportOnly,
    ExportOnly,
}

/// A field's value when a create request omits it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Default {
    Null,
    Bool(bool),
    Int(i64),
    Text(&'static str),
}

/// Where the wizard shows a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Configure Connection.
    Connection,
    /// Import Settings & Preview (sources only).
    Import,
    /// Not in the wizard (the API takes it).
    Hidden,
}

/// How the wizard lets a person enter a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input {
    Text,
    /// A multi-line text (a service account key).
    Textarea,
    Toggle,
    Number {
        min: i64,
        max: i64,
    },
    /// An absolute path on the server, under the document root.
    LocalPath,
    /// One of the field's choices.
    Select,
}

/// One API field of a storage type, with how the wizard shows it.
#[derive(Debug, Clone, Copy)]
pub struct FieldSpec {
    pub name: &'static str,
    pub kind: FieldKind,
    pub default: Default,
    pub applies: Applies,
    /// Write-only: stored apart and never returned.
    pub secret: bool,
    pub step: Step,
    pub input: Input,
    pub label: &'static str,
    pub placeholder: &'static str,
    pub help: &'static str,
    pub required: bool,
    /// Changing it keeps a passed connection test (it does not change what is reached).
    pub keeps_test: bool,
}

/// A text field shown on the connection step.
pub const fn text(name: &'static str, label: &'static str, placeholder: &'static str) -> FieldSpec {
    FieldSpec {
        name,
        kind: FieldKind::Text,
        default: Default::Null,
        applies: Applies::Both,
        secret: false,
        step: Step::Connection,
        input: Input::Text,
        label,
        placeholder,
        help: "",
        required: false,
        keeps_test: false,
    }
}

/// An on/off switch with its default.
pub const fn toggle(name: &'static str, label: &'static str, default: bool) -> FieldSpec {
    FieldSpec {
        kind: FieldKind::Bool,
        default: Default::Bool(default),
        input: Input::Toggle,
        ..text(name, label, "")
    }
}

/// A credential: write-only, never returned, shown as a password.
pub const fn secret(
    name: &'static str,
    label: &'static str,
    placeholder: &'static str,
) -> FieldSpec {
    FieldSpec {
        secret: true,
        ..text(name, label, placeholder)
    }
}

impl FieldSpec {
    pub const fn required(self) -> FieldSpec {
        FieldSpec {
            required: true,
            ..self
        }
    }

    pub const fn help(self, help: &'static str) -> FieldSpec {
        FieldSpec { help, ..self }
    }

    pub const fn only(self, applies: Applies) -> FieldSpec {
        FieldSpec { applies, ..self }
    }

    pub const fn input(self, input: Input) -> FieldSpec {
        FieldSpec { input, ..self }
    }

    pub const fn on(self, step: Step) -> FieldSpec {
        FieldSpec { step, ..self }
    }

    fn applies_to(&self, direction: Direction) -> bool {
        match self.applies {
            Applies::Both => true,
            Applies::ImportOnly => direction == Direction::Import,
            Applies::ExportOnly => direction == Direction::Export,
        }
    }

    fn default_value(&self) -> Value {
        match self.default {
            Default::Null => Value::Null,
            Default::Bool(b) => Value::Bool(b),
            Default::Int(n) => Value::from(n),
            Default::Text(text) => Value::from(text),
        }
    }

    /// The field as the wizard reads it (`/api/storages/providers`).
    fn describe(&self) -> Value {
        let (input, min, max) = match self.input {
            Input::Text if self.secret => ("password", None, None),
            Input::Text => ("text", None, None),
            Input::Textarea => ("textarea", None, None),
            Input::Toggle => ("toggle", None, None),
            Input::Number { min, max } => ("number", Some(min), Some(max)),
            Input::LocalPath => ("local_path", None, None),
            Input::Select => ("select", None, None),
        };
        let choices: Vec<Value> = match self.kind {
            FieldKind::Choice(choices) => choices
                .iter()
                .map(|c| json!({"value": c.value, "label": c.label}))
                .collect(),
            _ => Vec::new(),
        };
        let step = match self.step {
            Step::Connection => "connection",
            Step::Import => "import",
            Step::Hidden => "hidden",
        };
        json!({
            "name": self.name, "label": self.label, "input": input, "step": step,
            "placeholder": self.placeholder, "help": self.help, "required": self.required,
            "secret": self.secret, "default": self.default_value(), "min": min, "max": max,
            "keeps_test": self.keeps_test, "choices": choices,
        })
    }
}

// The fields every object store shares.

pub const PREFIX_IMPORT: FieldSpec = text(
    "prefix",
    "Bucket Prefix (optional)",
    "path/to/files/ or leave empty for root",
)
.help("Specify the folder path within your bucket where your files are located")
.only(Applies::ImportOnly)
.on(Step::Import)
.keeps();
pub const PREFIX_EXPORT: FieldSpec =
    text("prefix", "Bucket Prefix", "path/to/annotations").only(Applies::ExportOnly);
pub const REGEX_FILTER: FieldSpec = text("regex_filter", "File Name Filter (optional)", "")
    .help("Use regex patterns to filter which files are imported")
    .on(Step::Import)
    .keeps();
pub const USE_BLOB_URLS: FieldSpec = toggle("use_blob_urls", "Import Method (optional)", false)
    .help("Choose how to interpret your data from storage")
    .on(Step::Import)
    .keeps();
pub const RECURSIVE_SCAN: FieldSpec = toggle("recursive_scan", "Scan all sub-folders", false)
    .help("Include files from all nested folders")
    .only(Applies::ImportOnly)
    .on(Step::Import)
    .keeps();
pub const PRESIGN: FieldSpec = toggle(
    "presign",
    "Use pre-signed URLs (On) / Proxy through the platform (Off)",
    true,
)
.help("When pre-signed URLs are enabled, all data bypasses the platform and user browsers directly read data from storage")
.only(Applies::ImportOnly)
.keeps();
pub const PRESIGN_TTL: FieldSpec = FieldSpec {
    kind: FieldKind::Count,
    default: Default::Int(1),
    input: Input::Number {
        min: 1,
        max: 10_080,
    },
    ..text("presign_ttl", "Expire pre-signed URLs (minutes)", "")
}
.only(Applies::ImportOnly)
.keeps();
pub const CAN_DELETE: FieldSpec = FieldSpec {
    kind: FieldKind::OptionalBool,
    input: Input::Toggle,
    ..text("can_delete_objects", "Can delete objects from storage", "")
}
.help("If unchecked, annotations will not be deleted from storage")
.only(Applies::ExportOnly);
/// A source's schedule: a sync every so many minutes (null: only when asked).
pub const SYNC_INTERVAL: FieldSpec = FieldSpec {
    kind: FieldKind::OptionalPositive,
    input: Input::Number {
        min: 1,
        max: 10_080,
    },
    ..text(
        "sync_interval",
        "Sync automatically every (minutes, optional)",
        "off",
    )
}
.help("New objects become tasks without anyone pressing Sync; leave empty to sync only when asked")
.only(Applies::ImportOnly)
.on(Step::Import)
.keeps();
/// What a sync does with the tasks of objects that are gone, or changed since import.
pub const REMOVE_VANISHED: FieldSpec = toggle("remove_vanished", "Remove tasks of deleted objects", false)
    .help("Tasks nobody annotated go when their object is deleted; annotated ones stay, flagged in the Data Manager")
    .only(Applies::ImportOnly)
    .on(Step::Import)
    .keeps();
pub const REIMPORT_CHANGED: FieldSpec = toggle("reimport_changed", "Import changed task files again", false)
    .help("A task file overwritten in the storage replaces its tasks when none has an annotation; otherwise they are flagged")
    .only(Applies::ImportOnly)
    .on(Step::Import)
    .keeps();
/// A Local Files source that watches its folder.
pub const WATCH: FieldSpec = toggle("watch", "Watch the folder", false)
    .help("A file written into the folder becomes a task within a second")
    .only(Applies::ImportOnly)
    .on(Step::Import)
    .keeps();

/// What a target writes: Label Studio's one object per annotation, or one per task.
pub const EXPORT_LAYOUT: FieldSpec = FieldSpec {
    kind: FieldKind::Choice(&[
        Choice {
            value: "annotation",
            label: "One object per annotation, named by its id (Label Studio's default)",
        },
        Choice {
            value: "task",
            label: "One <task id>.json per task with all its annotations (importable as a source)",
        },
    ]),
    default: Default::Text("annotation"),
    input: Input::Select,
    ..text("export_layout", "Objects written", "")
}
.help("The task layout keeps each task whole: point a source storage at it to import the tasks with their annotations")
.only(Applies::ExportOnly);

impl FieldSpec {
    const fn keeps(self) -> FieldSpec {
        FieldSpec {
            keeps_test: true,
            ..self
        }
    }
}

/// The fields of `all` that apply in `direction`.
pub fn in_direction(
    all: &'static [FieldSpec],
    direction: Direction,
) -> impl Iterator<Item = &'static FieldSpec> {
    all.iter().filter(move |f| f.applies_to(direction))
}

/// The fields of one direction as the wizard reads them. Targets have no import step: the
/// API takes their import-step fields (a filter, the blob mode) but the wizard hides them,
/// as a target's exports are written whole, never filtered or read back.
pub fn describe(all: &'static [FieldSpec], direction: Direction) -> Vec<Value> {
    in_direction(all, direction)
        .map(|f| {
            let mut value = f.describe();
            if direction == Direction::Export && f.step == Step::Import {
                value["step"] = json!("hidden");
            }
            value
        })
        .collect()
}

/// Non-secret settings of a new storage: each field's default.
pub fn defaults(all: &'static [FieldSpec], direction: Direction) -> Map<String, Value> {
    in_direction(all, direction)
        .filter(|f| !f.secret)
        .map(|f| (f.name.to_owned(), f.default_value()))
        .collect()
}

/// The default of a field in a direction (`Null` when the provider has no such field).
pub fn default_of(all: &'static [FieldSpec], direction: Direction, name: &str) -> Value {
    in_direction(all, direction)
        .find(|f| f.name == name)
        .map_or(Value::Null, FieldSpec::default_value)
}

/// Applies the fields present in a request body to stored settings and secrets. Omitted
/// fields keep their value, so a PATCH (or a validate with `id`) that leaves a secret out
/// keeps the stored one; an empty secret removes it.
pub fn apply_body(
    all: &'static [FieldSpec],
    direction: Direction,
    body: &Map<String, Value>,
    settings: &mut Map<String, Value>,
    secrets: &mut Map<String, Value>,
) -> FieldErrors {
    let mut errors = FieldErrors::new();
    for spec in in_direction(all, direction) {
        let Some(raw) = body.get(spec.name) else {
            continue;
        };
        match coerce(spec.kind, raw) {
            Err(message) => {
                errors.insert(spec.name.to_owned(), vec![message]);
            }
            Ok(Value::String(s)) if spec.secret && !s.is_empty() => {
                secrets.insert(spec.name.to_owned(), Value::String(s));
            }
            Ok(_) if spec.secret => {
                secrets.remove(spec.name);
            }
            Ok(value) => {
                settings.insert(spec.name.to_owned(), value);
            }
        }
    }
    errors
}

/// The non-secret settings in field order, for responses.
pub fn public(
    all: &'static [FieldSpec],
    direction: Direction,
    settings: &Map<String, Value>,
) -> Map<String, Value> {
    in_direction(all, direction)
        .filter(|f| !f.secret)
        .map(|f| {
            (
                f.name.to_owned(),
                settings.get(f.name).cloned().unwrap_or(Value::Null),
            )
        })
        .collect()
}

/// Checks and converts one value, accepting DRF's lenient spellings of booleans.
fn coerce(kind: FieldKind, raw: &Value) -> Result<Value, String> {
    if let FieldKind::Choice(choices) = kind {
        return match raw.as_str().map(str::trim) {
            Some(text) if choices.iter().any(|c| c.value == text) => Ok(Value::from(text)),
            _ => Err(format!(
                "\"{}\" is not a valid choice: use one of {}.",
                raw.as_str().map_or_else(|| raw.to_string(), str::to_owned),
                choices
                    .iter()
                    .map(|c| c.value)
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        };
    }
    coerce_plain(kind, raw).map_err(str::to_owned)
}

fn coerce_plain(kind: FieldKind, raw: &Value) -> Result<Value, &'static str> {
    const COUNT: &str = "Ensure this value is a whole number greater than or equal to 1.";
    const BOOLEAN: &str = "Must be a valid boolean.";
    const POSITIVE: &str =
        "Ensure this value is a number of minutes greater than 0, or null for no schedule.";
    match (kind, raw) {
        (FieldKind::Count, Value::Number(n)) => {
            n.as_i64().filter(|n| *n >= 1).map(Value::from).ok_or(COUNT)
        }
        (FieldKind::Count, Value::String(s)) => s
            .trim()
            .parse::<i64>()
            .ok()
            .filter(|n| *n >= 1)
            .map(Value::from)
            .ok_or(COUNT),
        (FieldKind::Count, _) => Err(COUNT),
        (FieldKind::Text, Value::Null) | (FieldKind::OptionalBool, Value::Null) => Ok(Value::Null),
        (FieldKind::Text, Value::String(_)) => Ok(raw.clone()),
        (FieldKind::Text, Value::Number(n)) => Ok(Value::String(n.to_string())),
        (FieldKind::Text, _) => Err("Not a valid string."),
        (FieldKind::Bool | FieldKind::OptionalBool, Value::Bool(_)) => Ok(raw.clone()),
        (FieldKind::Bool | FieldKind::OptionalBool, Value::String(s)) => {
            crate::config::parse_bool(s).map(Value::Bool).ok_or(BOOLEAN)
        }
        (FieldKind::Bool | FieldKind::OptionalBool, Value::Number(n)) => match n.as_i64() {
            Some(0) => Ok(Value::Bool(false)),
            Some(1) => Ok(Value::Bool(true)),
            _ => Err(BOOLEAN),
        },
        (FieldKind::Bool | FieldKind::OptionalBool, _) => Err(BOOLEAN),
        (FieldKind::Choice(_), _) => Err("Not a valid choice."),
        (FieldKind::OptionalPositive, Value::Null) => Ok(Value::Null),
        (FieldKind::OptionalPositive, Value::String(s)) if s.trim().is_empty() => Ok(Value::Null),
        (FieldKind::OptionalPositive, Value::Number(n)) => n
            .as_f64()
            .filter(|n| *n > 0.0)
            .map(|_| raw.clone())
            .ok_or(POSITIVE),
        (FieldKind::OptionalPositive, Value::String(s)) => s
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|n| *n > 0.0 && n.is_finite())
            .and_then(|n| serde_json::Number::from_f64(n).map(Value::Number))
            .ok_or(POSITIVE),
        (FieldKind::OptionalPositive, _) => Err(POSITIVE),
    }
}
