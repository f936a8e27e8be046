//! The database half of a first sync alone: N blob tasks with their links inserted through
//! the sync's own insert (batches of 5,000, each moving the cursor) into a fresh data file.
//! Usage: `insert_floor <scratch.sqlite3> <n>`; prints `tasks seconds`.

use std::time::Instant;

use labelsync::db::Db;
use labelsync::db::tasks::{Link, NewTask, SyncCursor};

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let path = std::path::PathBuf::from(args.next().expect("scratch database path"));
    let n: usize = args.next().expect("n").parse().expect("a number");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    let db = Db::open(&path).expect("open");
    let conn = rusqlite::Connection::open(&path).expect("open");
    conn.execute_batch(
        "INSERT INTO projects (id, created_at, updated_at) VALUES (1, 'now', 'now');
         INSERT INTO storages (id, project_id, direction, type, created_at) VALUES (1, 1, 'import', 'localfiles', 'now');",
    )
    .expect("project and storage");
    if let Ok(sql) = std::env::var("INSERT_FLOOR_SQL") {
        conn.execute_batch(&sql).expect("experiment");
    }
    let started = Instant::now();
    for first in (0..n).step_by(5_000) {
        let tasks: Vec<NewTask> = (first..n.min(first + 5_000))
            .map(|i| {
                let key = format!("/tmp/root/blobs/d{:03}/s{}/img_{i:07}.png", i / 1000, (i / 100) % 10);
                NewTask {
                    data: format!(
                        "{{\"$undefined$\": \"/data/local-files/?d=blobs/d{:03}/s{}/img_{i:07}.png\"}}",
                        i / 1000,
                        (i / 100) % 10
                    ),
                    meta: "{}".into(),
                    allow_skip: true,
                    annotations: Vec::new(),
                    predictions: Vec::new(),
                    link: Some(Link::to(1, key.clone(), Some("8:1732738485724".into()))),
                }
            })
            .collect();
        let cursor = SyncCursor {
            project_id: 1,
            storage_id: 1,
            key: format!("{first}"),
            settings: "{}".into(),
        };
        db.insert_tasks_and_move_cursor(cursor, tasks)
            .await
            .expect("insert");
    }
    println!("{n} {:.6}", started.elapsed().as_secs_f64());
}
