//! Test helper for the SDK suite (`tests/sdk`): reads and writes objects in a storage through
//! labelsync's own providers, given the storage's API fields as JSON.
//! Usage: `storage_tool write|read|exists <type> <import|export> '<fields json>' <name> [content]`;
//! a content of `@<path>` writes that file's bytes (images for the browser tests).

use bytes::Bytes;
use labelsync::config::{CloudDefaults, LocalFilesConfig};
use labelsync::storage::{self, Direction, ProviderContext, StorageSettings};
use serde_json::Value;

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [command, kind, direction, fields, name, rest @ ..] = args.as_slice() else {
        panic!(
            "usage: storage_tool write|read|exists <type> <import|export> '<fields json>' <name> [content]"
        );
    };
    let provider = storage::provider(kind).expect("storage type");
    let direction = if direction == "export" {
        Direction::Export
    } else {
        Direction::Import
    };
    let fields: Value = serde_json::from_str(fields).expect("fields JSON");
    let settings =
        StorageSettings::from_body(provider, direction, fields.as_object().expect("an object"))
            .expect("valid fields");
    let root =
        std::env::var("LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT").unwrap_or_else(|_| "/".into());
    let ctx = ProviderContext {
        local_files: LocalFilesConfig {
            serving_enabled: true,
            document_root: std::fs::canonicalize(root).unwrap(),
        },
        cloud: CloudDefaults::default(),
    };
    let store = settings.open(&ctx).expect("storage");
    let key = store.key_for(name);
    match command.as_str() {
        "write" => {
            let content = rest.first().expect("content");
            let bytes = match content.strip_prefix('@') {
                Some(path) => std::fs::read(path).expect("content file"),
                None => content.clone().into_bytes(),
            };
            store.write(&key, Bytes::from(bytes)).await.expect("write")
        }
        "read" => print!(
            "{}",
            String::from_utf8_lossy(&store.read(&key).await.expect("read"))
        ),
        "exists" => std::process::exit(if store.read(&key).await.is_ok() { 0 } else { 1 }),
        other => panic!("unknown command {other}"),
    }
}
