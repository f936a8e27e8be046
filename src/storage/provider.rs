//! The providers: each storage type is one file (`s3.rs`, `gcs.rs`, `azure.rs`, `redis.rs`,
//! `local.rs`) exporting a [`Provider`], and [`PROVIDERS`] lists them.
//!
//! To add a provider: write `storage/<name>.rs` with its field table, its `open` function
//! and `pub const PROVIDER: Provider`, declare the module in `storage/mod.rs`, and add
//! `&<name>::PROVIDER` to [`PROVIDERS`]. The API (`/api/storages/<name>/...`), its checks,
//! sync, export, media and the wizard then know it.

use std::sync::Arc;

use serde_json::{Value, json};

use super::fields::{self, FieldSpec};
use super::{Direction, ProviderContext, Storage, StorageError, StorageSettings};
use crate::error::FieldErrors;

/// One storage type: its name and fields, and how to open it.
pub struct Provider {
    /// The API name (`s3`): in paths and in a storage's `type`.
    pub name: &'static str,
    /// The title Label Studio's API gives the type (`/api/storages/types`).
    pub title: &'static str,
    /// The name the wizard's provider tiles show.
    pub label: &'static str,
    /// One line for the wizard's provider tiles.
    pub description: &'static str,
    /// Blob URIs of this type the media resolver serves: `scheme://<bucket field>/key`.
    pub uri: Option<UriScheme>,
    /// The field naming where objects live inside the storage (a prefix or a path).
    pub location_field: &'static str,
    /// How a storage card names the place: (label, field) lines.
    pub card: &'static [(&'static str, &'static str)],
    pub fields: &'static [FieldSpec],
    /// Errors across fields (a key without its secret), after each field was checked.
    pub check: fn(&StorageSettings) -> FieldErrors,
    /// A field value as stored (a path cleaned up), after it was checked.
    pub normalize: fn(&str, Value) -> Value,
    /// Opens a storage with these settings; checks nothing the field table already checked.
    pub open: OpenFn,
}

/// How a provider opens a storage from its settings.
pub type OpenFn = fn(&StorageSettings, &ProviderContext) -> Result<Arc<dyn Storage>, StorageError>;

/// Blob URIs of a provider: `scheme://bucket/key`, the bucket named by `bucket_field`.
#[derive(Debug, Clone, Copy)]
pub struct UriScheme {
    pub scheme: &'static str,
    pub bucket_field: &'static str,
}

impl std::fmt::Debug for Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

impl PartialEq for Provider {
    fn eq(&self, other: &Provider) -> bool {
        self.name == other.name
    }
}

/// No check across fields.
pub fn no_check(_: &StorageSettings) -> FieldErrors {
    FieldErrors::new()
}

/// Values stored as given.
pub fn as_given(_: &str, value: Value) -> Value {
    value
}

/// Every provider, in Label Studio's listing order.
pub static PROVIDERS: [&Provider; 5] = [
    &super::s3::PROVIDER,
    &super::gcs::PROVIDER,
    &super::azure::PROVIDER,
    &super::redis::PROVIDER,
    &super::local::PROVIDER,
];

/// The provider of an API name.
pub fn provider(name: &str) -> Option<&'static Provider> {
    PROVIDERS.iter().copied().find(|p| p.name == name)
}

impl Provider {
    /// The provider as the wizard reads it (`/api/storages/providers`).
    pub fn describe(&self) -> Value {
        json!({
            "name": self.name,
            "title": self.title,
            "label": self.label,
            "description": self.description,
            "uri_scheme": self.uri.map(|u| u.scheme),
            "location_field": self.location_field,
            "card": self.card.iter().map(|(label, field)| json!({"label": label, "field": field})).collect::<Vec<_>>(),
            "fields": {
                "import": fields::describe(self.fields, Direction::Import),
                "export": fields::describe(self.fields, Direction::Export),
            },
        })
    }

    /// Where it comes in Label Studio's listing order.
    pub fn position(&self) -> usize {
        PROVIDERS
            .iter()
            .position(|p| p.name == self.name)
            .unwrap_or(usize::MAX)
    }
}
