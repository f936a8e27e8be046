//! The floor a local sync is measured against (`scripts/bench-local-sync`): walk the same
//! tree and insert one row per file into a fresh SQLite file in one transaction.
//! Usage: `sync_floor <dir> <scratch.sqlite3>`; prints `files seconds walk_seconds` (the
//! walk alone: names only, no stat).

use std::path::{Path, PathBuf};
use std::time::Instant;

fn walk(dir: &Path, files: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).expect("read_dir").flatten() {
        let kind = entry.file_type().expect("file type");
        if kind.is_dir() {
            walk(&entry.path(), files);
        } else if kind.is_file() {
            files.push(
                entry
                    .path()
                    .into_os_string()
                    .into_string()
                    .expect("utf-8 name"),
            );
        }
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(args.next().expect("directory"));
    let db_path = PathBuf::from(args.next().expect("scratch database path"));
    let _ = std::fs::remove_file(&db_path);
    let started = Instant::now();
    let mut files = Vec::new();
    walk(&dir, &mut files);
    let walked = started.elapsed();
    let mut conn = rusqlite::Connection::open(&db_path).expect("open");
    conn.pragma_update(None, "journal_mode", "WAL")
        .expect("wal");
    conn.execute(
        "CREATE TABLE files (id INTEGER PRIMARY KEY, key TEXT NOT NULL)",
        [],
    )
    .expect("create");
    let tx = conn.transaction().expect("tx");
    {
        let mut insert = tx
            .prepare("INSERT INTO files (key) VALUES (?1)")
            .expect("prepare");
        for key in &files {
            insert.execute([key]).expect("insert");
        }
    }
    tx.commit().expect("commit");
    println!(
        "{} {:.6} {:.6}",
        files.len(),
        started.elapsed().as_secs_f64(),
        walked.as_secs_f64()
    );
}
