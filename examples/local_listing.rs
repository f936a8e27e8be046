//! The listing a Local Files sync makes, alone (`scripts/bench-scale`): walk the tree, stat
//! each file and sort by file name, then read every object, with no database.
//! Usage: `local_listing <dir>`; prints `files seconds`.

use std::path::Path;
use std::time::Instant;

use futures_util::StreamExt;
use labelsync::config::LocalFilesConfig;
use labelsync::storage::Storage;
use labelsync::storage::local::LocalDirectory;

#[tokio::main]
async fn main() {
    let dir = std::env::args().nth(1).expect("directory");
    let dir = std::fs::canonicalize(dir).expect("an existing directory");
    let config = LocalFilesConfig {
        serving_enabled: true,
        document_root: dir.parent().unwrap_or(Path::new("/")).to_owned(),
    };
    let storage = LocalDirectory::new(dir.to_str().expect("a UTF-8 path"), &config).expect("open");
    let started = Instant::now();
    let files = storage
        .list(true)
        .fold(0usize, |n, object| async move {
            object.expect("listed");
            n + 1
        })
        .await;
    println!("{files} {:.6}", started.elapsed().as_secs_f64());
}
