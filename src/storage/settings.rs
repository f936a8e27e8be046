//! A storage's settings, read once: the fields every storage has, typed ([`Common`]), and
//! the provider's own fields and credentials, which its `open` reads. Everything that
//! needs a setting (sync, media, file serving, the API) takes it from here; each default
//! is the field table's.

use std::sync::Arc;

use serde_json::{Map, Value};

use super::fields;
use super::provider::Provider;
use super::{Direction, ProviderContext, Storage, StorageError};
use crate::error::FieldErrors;

/// The settings every storage has, typed.
#[derive(Debug, Clone, PartialEq)]
pub struct Common {
    /// Where objects live in the storage: a bucket prefix, a key prefix or a directory.
    pub location: Option<String>,
    pub regex_filter: Option<String>,
    /// One task per object (the object's URI as its data), instead of task files.
    pub use_blob_urls: bool,
    pub recursive_scan: bool,
    /// Media as presigned URLs (else streamed through the server).
    pub presign: bool,
    pub presign_ttl_minutes: u64,
    /// A target may delete what it wrote when the annotation goes.
    pub can_delete_objects: bool,
    /// A target writes one `<task id>.json` per task (else one object per annotation).
    pub task_layout: bool,
    /// A source syncs every so many minutes by itself.
    pub sync_interval_minutes: Option<f64>,
    /// A Local Files source watches its folder.
    pub watch: bool,
    /// A sync deletes the unannotated tasks of objects no longer listed.
    pub remove_vanished: bool,
    /// A sync imports again a changed task file whose tasks have no annotation.
    pub reimport_changed: bool,
}

/// A storage's settings and credentials, as stored, with the common ones read.
#[derive(Clone)]
pub struct StorageSettings {
    pub provider: &'static Provider,
    pub direction: Direction,
    pub common: Common,
    /// Non-secret fields, as stored (and returned).
    fields: Map<String, Value>,
    /// Credentials: never returned, never logged.
    secrets: Map<String, Value>,
}

impl std::fmt::Debug for StorageSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StorageSettings")
            .field("provider", &self.provider.name)
            .field("direction", &self.direction)
            .field("fields", &self.fields)
            .field("secrets", &self.secrets.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl StorageSettings {
    /// The settings of a stored storage.
    pub fn stored(
        provider: &'static Provider,
        direction: Direction,
        fields: Map<String, Value>,
        secrets: Map<String, Value>,
    ) -> StorageSettings {
        let common = read_common(provider, direction, &fields);
        StorageSettings {
            provider,
            direction,
            common,
            fields,
            secrets,
        }
    }

    /// A new storage's settings: every field's default.
    pub fn defaults(provider: &'static Provider, direction: Direction) -> StorageSettings {
        StorageSettings::stored(
            provider,
            direction,
            fields::defaults(provider.fields, direction),
            Map::new(),
        )
    }

    /// The settings a request body describes, over the defaults.
    pub fn from_body(
        provider: &'static Provider,
        direction: Direction,
        body: &Map<String, Value>,
    ) -> Result<StorageSettings, FieldErrors> {
        let mut settings = StorageSettings::defaults(provider, direction);
        settings.apply_body(body)?;
        Ok(settings)
    }

    /// Applies the fields a request body carries (see [`fields::apply_body`]), checked,
    /// normalized and checked across fields.
    pub fn apply_body(&mut self, body: &Map<String, Value>) -> Result<(), FieldErrors> {
        let provider = self.provider;
        let mut errors = fields::apply_body(
            provider.fields,
            self.direction,
            body,
            &mut self.fields,
            &mut self.secrets,
        );
        for (name, value) in self.fields.iter_mut() {
            *value = (provider.normalize)(name, value.take());
        }
        self.common = read_common(provider, self.direction, &self.fields);
        errors.extend((provider.check)(self));
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    /// A provider field's text, trimmed (`None` when empty).
    pub fn text(&self, name: &str) -> Option<&str> {
        non_empty(self.fields.get(name))
    }

    /// A provider field's whole number.
    pub fn number(&self, name: &str) -> Option<i64> {
        self.fields.get(name).and_then(Value::as_i64)
    }

    /// A credential, trimmed (`None` when not stored).
    pub fn secret(&self, name: &str) -> Option<&str> {
        non_empty(self.secrets.get(name))
    }

    pub fn has_secret(&self, name: &str) -> bool {
        self.secrets.contains_key(name)
    }

    /// The non-secret fields in field order, for responses.
    pub fn public(&self) -> Map<String, Value> {
        fields::public(self.provider.fields, self.direction, &self.fields)
    }

    /// The fields and the credentials as stored (JSON objects).
    pub fn to_stored(&self) -> (String, String) {
        (
            Value::Object(self.fields.clone()).to_string(),
            Value::Object(self.secrets.clone()).to_string(),
        )
    }

    /// The bucket of the storage's blob URIs with their scheme (`("s3", "photos")`), for
    /// providers whose media the server resolves.
    pub fn uri_bucket(&self) -> Option<(&'static str, &str)> {
        let uri = self.provider.uri?;
        Some((uri.scheme, self.text(uri.bucket_field)?))
    }

    /// Opens the storage.
    pub fn open(&self, ctx: &ProviderContext) -> Result<Arc<dyn Storage>, StorageError> {
        (self.provider.open)(self, ctx)
    }
}

fn non_empty(value: Option<&Value>) -> Option<&str> {
    value
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// The common settings, each from its field or, missing there, the field table's default.
fn read_common(provider: &Provider, direction: Direction, stored: &Map<String, Value>) -> Common {
    let value = |name: &str| {
        stored
            .get(name)
            .filter(|v| !v.is_null())
            .cloned()
            .unwrap_or_else(|| fields::default_of(provider.fields, direction, name))
    };
    let flag = |name: &str| value(name).as_bool().unwrap_or(false);
    let text = |name: &str| {
        value(name)
            .as_str()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    Common {
        location: text(provider.location_field),
        regex_filter: text("regex_filter"),
        use_blob_urls: flag("use_blob_urls"),
        recursive_scan: flag("recursive_scan"),
        presign: flag("presign"),
        presign_ttl_minutes: value("presign_ttl").as_u64().unwrap_or(1).max(1),
        can_delete_objects: flag("can_delete_objects"),
        task_layout: value("export_layout") == "task",
        sync_interval_minutes: value("sync_interval").as_f64().filter(|m| *m > 0.0),
        watch: flag("watch"),
        remove_vanished: flag("remove_vanished"),
        reimport_changed: flag("reimport_changed"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::provider;
    use serde_json::json;

    #[test]
    fn defaults_follow_direction_and_the_field_table() {
        let local = provider::provider("localfiles").unwrap();
        let import = StorageSettings::defaults(local, Direction::Import);
        assert_eq!(import.public().get("recursive_scan"), Some(&json!(false)));
        assert!(!import.public().contains_key("can_delete_objects"));
        let export = StorageSettings::defaults(local, Direction::Export);
        assert_eq!(
            export.public().get("can_delete_objects"),
            Some(&Value::Null)
        );
        assert!(!export.public().contains_key("recursive_scan"));
        let s3 = StorageSettings::defaults(provider::provider("s3").unwrap(), Direction::Import);
        assert_eq!(
            (s3.common.presign, s3.common.presign_ttl_minutes),
            (true, 1)
        );
    }

    #[test]
    fn a_body_is_checked_normalized_and_read() {
        let local = provider::provider("localfiles").unwrap();
        let body = json!({"path": "/a//b/", "use_blob_urls": "true", "unknown": 1});
        let settings =
            StorageSettings::from_body(local, Direction::Import, body.as_object().unwrap())
                .unwrap();
        assert_eq!(settings.public()["path"], json!("/a/b"));
        assert_eq!(settings.common.location.as_deref(), Some("/a/b"));
        assert!(settings.common.use_blob_urls);
        assert!(!settings.public().contains_key("unknown"));
        let bad = json!({"recursive_scan": [1]});
        let errors = StorageSettings::from_body(local, Direction::Import, bad.as_object().unwrap())
            .unwrap_err();
        assert_eq!(
            errors["recursive_scan"],
            vec!["Must be a valid boolean.".to_owned()]
        );
    }

    #[test]
    fn secrets_are_kept_apart_and_never_printed() {
        let s3 = provider::provider("s3").unwrap();
        let body = json!({"bucket": "b", "aws_access_key_id": "KEYID", "aws_secret_access_key": "hunter2-secret"});
        let settings =
            StorageSettings::from_body(s3, Direction::Import, body.as_object().unwrap()).unwrap();
        assert_eq!(
            settings.secret("aws_secret_access_key"),
            Some("hunter2-secret")
        );
        assert!(!settings.public().contains_key("aws_secret_access_key"));
        assert!(!format!("{settings:?}").contains("hunter2"));
        let half = json!({"bucket": "b", "aws_access_key_id": "KEYID"});
        let errors = StorageSettings::from_body(s3, Direction::Import, half.as_object().unwrap())
            .unwrap_err();
        assert!(errors.contains_key("aws_secret_access_key"), "{errors:?}");
    }
}
