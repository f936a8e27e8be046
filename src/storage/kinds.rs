//! Storage types and the fields each one takes over the API.
//!
//! One table per type says which fields exist, their kind and default, which direction
//! uses them and which are secrets. Request parsing, defaults, secret handling and the
//! response shape are all driven by these tables, so a new provider only adds a table.

use serde_json::{Map, Value};

use crate::db::storages::Direction;
use crate::error::FieldErrors;

/// Field name → value, as stored for a storage (settings, or secrets apart).
pub type Settings = Map<String, Value>;

/// A storage type, named as in Label Studio's API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StorageType {
    S3,
    Gcs,
    Azure,
    Redis,
    LocalFiles,
}

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
}

/// One API field of a storage type.
#[derive(Debug, Clone, Copy)]
pub struct FieldSpec {
    pub name: &'static str,
    pub kind: FieldKind,
    pub default: Default,
    pub applies: Applies,
    /// Write-only: stored apart and never returned.
    pub secret: bool,
}

const fn field(
    name: &'static str,
    kind: FieldKind,
    default: Default,
    applies: Applies,
) -> FieldSpec {
    FieldSpec {
        name,
        kind,
        default,
        applies,
        secret: false,
    }
}

const fn text(name: &'static str) -> FieldSpec {
    field(name, FieldKind::Text, Default::Null, Applies::Both)
}

const fn secret(name: &'static str) -> FieldSpec {
    FieldSpec {
        name,
        kind: FieldKind::Text,
        default: Default::Null,
        applies: Applies::Both,
        secret: true,
    }
}

use Applies::{ExportOnly, ImportOnly};

const USE_BLOB_URLS: FieldSpec = field(
    "use_blob_urls",
    FieldKind::Bool,
    Default::Bool(false),
    Applies::Both,
);
const RECURSIVE_SCAN: FieldSpec = field(
    "recursive_scan",
    FieldKind::Bool,
    Default::Bool(false),
    ImportOnly,
);
const PRESIGN: FieldSpec = field("presign", FieldKind::Bool, Default::Bool(true), ImportOnly);
const PRESIGN_TTL: FieldSpec = field("presign_ttl", FieldKind::Count, Default::Int(1), ImportOnly);
const CAN_DELETE: FieldSpec = field(
    "can_delete_objects",
    FieldKind::OptionalBool,
    Default::Null,
    ExportOnly,
);

const S3_FIELDS: &[FieldSpec] = &[
    text("bucket"),
    text("prefix"),
    text("regex_filter"),
    USE_BLOB_URLS,
    RECURSIVE_SCAN,
    text("region_name"),
    text("s3_endpoint"),
    secret("aws_access_key_id"),
    secret("aws_secret_access_key"),
    secret("aws_session_token"),
    text("aws_sse_kms_key_id"),
    PRESIGN,
    PRESIGN_TTL,
    CAN_DELETE,
];

const GCS_FIELDS: &[FieldSpec] = &[
    text("bucket"),
    text("prefix"),
    text("regex_filter"),
    USE_BLOB_URLS,
    RECURSIVE_SCAN,
    secret("google_application_credentials"),
    text("google_project_id"),
    text("gcs_endpoint"),
    PRESIGN,
    PRESIGN_TTL,
    CAN_DELETE,
];

const AZURE_FIELDS: &[FieldSpec] = &[
    text("container"),
    text("prefix"),
    text("regex_filter"),
    USE_BLOB_URLS,
    RECURSIVE_SCAN,
    secret("account_name"),
    secret("account_key"),
    text("azure_endpoint"),
    PRESIGN,
    PRESIGN_TTL,
    CAN_DELETE,
];

const REDIS_FIELDS: &[FieldSpec] = &[
    text("path"),
    text("host"),
    text("port"),
    secret("password"),
    field("db", FieldKind::Count, Default::Int(1), ImportOnly),
    field("db", FieldKind::Count, Default::Int(2), ExportOnly),
    text("regex_filter"),
    CAN_DELETE,
];

const LOCAL_FILES_FIELDS: &[FieldSpec] = &[
    text("path"),
    text("regex_filter"),
    USE_BLOB_URLS,
    RECURSIVE_SCAN,
    CAN_DELETE,
];

impl StorageType {
    /// Every type, in Label Studio's listing order.
    pub const ALL: &'static [StorageType] = &[
        StorageType::S3,
        StorageType::Gcs,
        StorageType::Azure,
        StorageType::Redis,
        StorageType::LocalFiles,
    ];

    pub fn name(self) -> &'static str {
        match self {
            StorageType::S3 => "s3",
            StorageType::Gcs => "gcs",
            StorageType::Azure => "azure",
            StorageType::Redis => "redis",
            StorageType::LocalFiles => "localfiles",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            StorageType::S3 => "AWS S3",
            StorageType::Gcs => "Google Cloud Storage",
            StorageType::Azure => "Microsoft Azure",
            StorageType::Redis => "Redis",
            StorageType::LocalFiles => "Local files",
        }
    }

    pub fn parse(name: &str) -> Option<StorageType> {
        StorageType::ALL.iter().copied().find(|t| t.name() == name)
    }

    /// The blob URI scheme of this type and the setting that names its bucket, for the types
    /// whose media the server can resolve (`s3://bucket/key` and the like).
    pub fn uri_scheme(self) -> Option<(&'static str, &'static str)> {
        match self {
            StorageType::S3 => Some(("s3", "bucket")),
            StorageType::Gcs => Some(("gs", "bucket")),
            StorageType::Azure => Some(("azure-blob", "container")),
            StorageType::Redis | StorageType::LocalFiles => None,
        }
    }

    /// The fields this type takes in `direction`.
    pub fn fields(self, direction: Direction) -> impl Iterator<Item = &'static FieldSpec> {
        let all = match self {
            StorageType::S3 => S3_FIELDS,
            StorageType::Gcs => GCS_FIELDS,
            StorageType::Azure => AZURE_FIELDS,
            StorageType::Redis => REDIS_FIELDS,
            StorageType::LocalFiles => LOCAL_FILES_FIELDS,
        };
        all.iter().filter(move |f| match f.applies {
            Applies::Both => true,
            Applies::ImportOnly => direction == Direction::Import,
            Applies::ExportOnly => direction == Direction::Export,
        })
    }

    /// Settings of a new storage before the request body is applied.
    pub fn default_settings(self, direction: Direction) -> Map<String, Value> {
        self.fields(direction)
            .filter(|f| !f.secret)
            .map(|f| {
                (
                    f.name.to_owned(),
                    match f.default {
                        Default::Null => Value::Null,
                        Default::Bool(b) => Value::Bool(b),
                        Default::Int(n) => Value::from(n),
                    },
                )
            })
            .collect()
    }

    /// Settings and secrets of a new storage described by a request body: the type's
    /// defaults with the body applied.
    pub fn settings_from_body(
        self,
        direction: Direction,
        body: &Map<String, Value>,
    ) -> Result<(Settings, Settings), FieldErrors> {
        let (mut settings, mut secrets) = (self.default_settings(direction), Map::new());
        self.apply_body(direction, body, &mut settings, &mut secrets)?;
        Ok((settings, secrets))
    }

    /// Applies the fields present in a request body. Omitted fields keep their value, so
    /// a PATCH (or a validate with `id`) that leaves a secret out keeps the stored one.
    pub fn apply_body(
        self,
        direction: Direction,
        body: &Map<String, Value>,
        settings: &mut Map<String, Value>,
        secrets: &mut Map<String, Value>,
    ) -> Result<(), FieldErrors> {
        let mut errors = FieldErrors::new();
        for spec in self.fields(direction) {
            let Some(raw) = body.get(spec.name) else {
                continue;
            };
            match coerce(spec.kind, raw) {
                Err(message) => {
                    errors.insert(spec.name.to_owned(), vec![message.to_owned()]);
                }
                Ok(value) if spec.secret => match value {
                    Value::String(s) if !s.is_empty() => {
                        secrets.insert(spec.name.to_owned(), Value::String(s));
                    }
                    _ => {
                        secrets.remove(spec.name);
                    }
                },
                Ok(value) => {
                    settings.insert(spec.name.to_owned(), self.normalize(spec.name, value));
                }
            }
        }
        if self == StorageType::S3 {
            errors.extend(s3_key_pair_errors(secrets));
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    fn normalize(self, name: &str, value: Value) -> Value {
        match (self, name, value) {
            (StorageType::LocalFiles, "path", Value::String(path)) => {
                Value::String(super::local::normalize_storage_path(&path))
            }
            (_, _, value) => value,
        }
    }

    /// The non-secret settings in field order, for responses.
    pub fn public_settings(
        self,
        direction: Direction,
        settings: &Map<String, Value>,
    ) -> Map<String, Value> {
        self.fields(direction)
            .filter(|f| !f.secret)
            .map(|f| {
                (
                    f.name.to_owned(),
                    settings.get(f.name).cloned().unwrap_or(Value::Null),
                )
            })
            .collect()
    }
}

/// An S3 key id without its secret (or the reverse) can never sign a request.
fn s3_key_pair_errors(secrets: &Map<String, Value>) -> FieldErrors {
    let message = "Access Key ID and Secret Access Key must be provided together.";
    match (
        secrets.contains_key("aws_access_key_id"),
        secrets.contains_key("aws_secret_access_key"),
    ) {
        (true, false) => {
            FieldErrors::from([("aws_secret_access_key".to_owned(), vec![message.to_owned()])])
        }
        (false, true) => {
            FieldErrors::from([("aws_access_key_id".to_owned(), vec![message.to_owned()])])
        }
        _ => FieldErrors::new(),
    }
}

/// Checks and converts one value, accepting DRF's lenient spellings of booleans.
fn coerce(kind: FieldKind, raw: &Value) -> Result<Value, &'static str> {
    const COUNT: &str = "Ensure this value is a whole number greater than or equal to 1.";
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
        (FieldKind::Text, Value::Null) => Ok(Value::Null),
        (FieldKind::Text, Value::String(_)) => Ok(raw.clone()),
        (FieldKind::Text, Value::Number(n)) => Ok(Value::String(n.to_string())),
        (FieldKind::Text, _) => Err("Not a valid string."),
        (FieldKind::OptionalBool, Value::Null) => Ok(Value::Null),
        (FieldKind::Bool | FieldKind::OptionalBool, Value::Bool(_)) => Ok(raw.clone()),
        (FieldKind::Bool | FieldKind::OptionalBool, Value::String(s)) => {
            crate::config::parse_bool(s)
                .map(Value::Bool)
                .ok_or("Must be a valid boolean.")
        }
        (FieldKind::Bool | FieldKind::OptionalBool, Value::Number(n)) => match n.as_i64() {
            Some(0) => Ok(Value::Bool(false)),
            Some(1) => Ok(Value::Bool(true)),
            _ => Err("Must be a valid boolean."),
        },
        (FieldKind::Bool | FieldKind::OptionalBool, _) => Err("Must be a valid boolean."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn defaults_follow_direction() {
        let import = StorageType::LocalFiles.default_settings(Direction::Import);
        assert_eq!(import.get("recursive_scan"), Some(&json!(false)));
        assert!(!import.contains_key("can_delete_objects"));
        let export = StorageType::LocalFiles.default_settings(Direction::Export);
        assert_eq!(export.get("can_delete_objects"), Some(&Value::Null));
        assert!(!export.contains_key("recursive_scan"));
    }

    #[test]
    fn body_is_checked_and_normalized() {
        let mut settings = StorageType::LocalFiles.default_settings(Direction::Import);
        let mut secrets = Map::new();
        let body = json!({"path": "/a//b/", "use_blob_urls": "true", "unknown": 1});
        StorageType::LocalFiles
            .apply_body(
                Direction::Import,
                body.as_object().unwrap(),
                &mut settings,
                &mut secrets,
            )
            .unwrap();
        assert_eq!(settings["path"], json!("/a/b"));
        assert_eq!(settings["use_blob_urls"], json!(true));
        assert!(!settings.contains_key("unknown"));
        let bad = json!({"recursive_scan": [1]});
        let errors = StorageType::LocalFiles
            .apply_body(
                Direction::Import,
                bad.as_object().unwrap(),
                &mut settings,
                &mut secrets,
            )
            .unwrap_err();
        assert_eq!(
            errors["recursive_scan"],
            vec!["Must be a valid boolean.".to_owned()]
        );
    }
}
