//! SQLite through one door: an r2d2 pool on one file, WAL mode, foreign keys, busy timeout.
//!
//! The rest of the server reaches the database only through [`Db`]'s methods, each one
//! domain action (`create_annotation`, `record_delivery`, ...) defined in an `impl Db`
//! block beside its queries. Each runs on tokio's blocking pool (`Db::call`), so rusqlite
//! never blocks an async worker; an action that writes runs whole in one `BEGIN IMMEDIATE`
//! transaction (`Db::write`), so that two writers queue on the busy timeout instead of
//! failing half-way with "database is locked". Neither door is open outside this module:
//! no closure over a connection, and no SQL, lives anywhere else. WAL checkpoints run on a
//! connection of their own ([`Db::checkpoint`], called by the background runner), so a
//! large import never stalls on copying the log back into the database.

pub mod annotations;
mod checkpoint;
pub mod drafts;
pub mod exports;
mod functions;
pub mod members;
mod migrate;
pub mod objects;
pub mod outbox;
pub mod predictions;
pub mod projects;
pub mod snapshots;
pub mod storages;
pub mod task_search;
pub mod tasks;
pub mod users;
pub mod views;
pub mod webhooks;

use std::any::Any;
use std::path::Path;
use std::time::Duration;

use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::{Connection, Transaction, TransactionBehavior};

/// A query for the blocking pool, its result boxed (see `Db::run_blocking`).
type BlockingJob = Box<dyn FnOnce(&mut Connection) -> Box<dyn Any + Send> + Send>;

/// What can go wrong talking to the database.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("database pool error: {0}")]
    Pool(#[from] r2d2::Error),
    #[error("stored JSON is invalid: {0}")]
    Json(#[from] serde_json::Error),
    #[error(
        "the database was written by a newer version of labelsync (schema version {found}, this binary knows up to {supported}); upgrade labelsync or use another --data-dir"
    )]
    TooNew { found: usize, supported: usize },
    #[error("database task failed: {0}")]
    Join(String),
    #[error("stored data is not what this labelsync reads: {0}")]
    Invalid(String),
    #[error("database migration {name} was not applied, nothing changed: {reason}")]
    Migration { name: String, reason: String },
}

/// A database failure is an internal error to an API client: logged in full, answered
/// with an error id.
impl From<DbError> for crate::error::ApiError {
    fn from(err: DbError) -> crate::error::ApiError {
        crate::error::ApiError::Internal(err.to_string())
    }
}

/// The database handle shared by the whole server; cheap to clone.
#[derive(Clone)]
pub struct Db {
    pool: r2d2::Pool<SqliteConnectionManager>,
    /// The folder of the database file: large temporary files go there, on the same disk,
    /// never in memory (`/tmp` may be a RAM disk).
    scratch: std::sync::Arc<std::path::PathBuf>,
    /// The connection WAL checkpoints run on.
    checkpointer: std::sync::Arc<checkpoint::Checkpointer>,
    /// Taken by each write transaction of [`Db::write`] (first come, first served).
    writers: std::sync::Arc<tokio::sync::Mutex<()>>,
}

impl Db {
    /// Opens (creating if needed) the database file and applies pending migrations.
    pub fn open(path: &Path) -> Result<Db, DbError> {
        let manager = SqliteConnectionManager::file(path).with_init(configure_connection);
        let mut first = Connection::open(path)?;
        configure_connection(&mut first)?;
        first.pragma_update(None, "journal_mode", "WAL")?;
        migrate::apply(&mut first)?;
        drop(first);
        let pool = r2d2::Pool::builder()
            .max_size(8)
            .connection_timeout(Duration::from_secs(30))
            .build(manager)?;
        let checkpointer = checkpoint::Checkpointer::open(path)?;
        let scratch = path
            .parent()
            .filter(|dir| !dir.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .to_owned();
        Ok(Db {
            pool,
            scratch: std::sync::Arc::new(scratch),
            checkpointer: std::sync::Arc::new(checkpointer),
            writers: Default::default(),
        })
    }

    /// An anonymous temporary file beside the database, removed when dropped.
    pub fn scratch_file(&self) -> std::io::Result<std::fs::File> {
        tempfile::tempfile_in(self.scratch.as_path())
    }

    /// Copies the WAL back into the database: passively, or (`last`, or when the log grew
    /// large) waiting for readers and truncating the log.
    pub async fn checkpoint(&self, last: bool) {
        let checkpointer = self.checkpointer.clone();
        if let Err(err) = tokio::task::spawn_blocking(move || checkpointer.run(last)).await {
            tracing::warn!("WAL checkpoint stopped: {err}");
        }
    }

    /// Empties the page caches of the connections no one is using (8 MB each at most), then
    /// gives the allocator's free memory back to the system: after large work, so an idle
    /// server holds little.
    pub async fn release_memory(&self) {
        let pool = self.pool.clone();
        let released = tokio::task::spawn_blocking(move || {
            let idle: Vec<_> = std::iter::from_fn(|| pool.try_get()).collect();
            for conn in &idle {
                if let Err(err) = conn.execute_batch("PRAGMA shrink_memory") {
                    tracing::debug!("a connection kept its cache: {err}");
                }
            }
            drop(idle);
            crate::memory::give_back();
        });
        if let Err(err) = released.await {
            tracing::warn!("memory release stopped: {err}");
        }
    }

    /// Runs `f` with a pooled connection on the blocking pool.
    pub(in crate::db) async fn call<T, F>(&self, f: F) -> Result<T, DbError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, DbError> + Send + 'static,
    {
        let output = self
            .run_blocking(Box::new(move |conn| Box::new(f(conn))))
            .await?;
        *output
            .downcast::<Result<T, DbError>>()
            .expect("a job returns the type its caller boxed")
    }

    /// The one blocking task behind every `call`: the job and its result are boxed so that
    /// the runtime's task machinery is compiled once, not once for each of the ~140 queries
    /// (a fifth of the LLVM IR labelsync generated, 13 s of its release build).
    async fn run_blocking(&self, job: BlockingJob) -> Result<Box<dyn Any + Send>, DbError> {
        let pool = self.pool.clone();
        let span = tracing::Span::current();
        tokio::task::spawn_blocking(move || {
            let _entered = span.enter();
            let mut conn = pool.get()?;
            Ok(job(&mut conn))
        })
        .await
        .map_err(|err| match err.try_into_panic() {
            Ok(panic) => std::panic::resume_unwind(panic),
            Err(err) => DbError::Join(err.to_string()),
        })?
    }

    /// Runs `f` inside one `BEGIN IMMEDIATE` transaction on the blocking pool. Writers take
    /// turns in the order they asked (a fair lock in front of SQLite's, which only polls):
    /// a user's save that comes during a large sync goes in after the sync's transaction
    /// under way, however closely the sync's transactions follow each other.
    pub(in crate::db) async fn write<T, F>(&self, f: F) -> Result<T, DbError>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>) -> Result<T, DbError> + Send + 'static,
    {
        let _turn = self.writers.lock().await;
        let written = self.call(move |conn| write_tx(conn, f)).await;
        self.checkpointer.note_write();
        written
    }
}

/// Runs `f` in a `BEGIN IMMEDIATE` transaction, committing on `Ok`.
pub(in crate::db) fn write_tx<T>(
    conn: &mut Connection,
    f: impl FnOnce(&Transaction<'_>) -> Result<T, DbError>,
) -> Result<T, DbError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let value = f(&tx)?;
    tx.commit()?;
    Ok(value)
}

fn configure_connection(conn: &mut Connection) -> Result<(), rusqlite::Error> {
    conn.busy_timeout(Duration::from_secs(30))?;
    // Checkpoints are the checkpoint thread's job, not the committing writer's.
    conn.execute_batch(
        "PRAGMA wal_autocheckpoint = 0;
         PRAGMA foreign_keys = ON;
         PRAGMA synchronous = NORMAL;
         PRAGMA temp_store = MEMORY;
         PRAGMA cache_size = -8000;",
    )?;
    conn.set_prepared_statement_cache_capacity(64);
    functions::register(conn)
}

/// The rows `sql` selects for the given tasks (the ids go in as a JSON list, `?1`; `extra`
/// fills the parameters after it), grouped by task, each group in the query's order.
fn rows_by_task<T>(
    conn: &Connection,
    sql: &str,
    task_ids: &[i64],
    extra: &[&dyn rusqlite::ToSql],
    from_row: fn(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    task_of: fn(&T) -> i64,
) -> Result<std::collections::HashMap<i64, Vec<T>>, DbError> {
    let ids = serde_json::to_string(task_ids)?;
    let mut params: Vec<&dyn rusqlite::ToSql> = vec![&ids];
    params.extend_from_slice(extra);
    let mut stmt = conn.prepare_cached(sql)?;
    let mut groups: std::collections::HashMap<i64, Vec<T>> = Default::default();
    for row in stmt.query_map(params.as_slice(), from_row)? {
        let row = row?;
        groups.entry(task_of(&row)).or_default().push(row);
    }
    Ok(groups)
}

/// Reads a JSON text column into a value (`{}` when the column is empty).
fn json_column(text: &str) -> Result<serde_json::Value, DbError> {
    if text.is_empty() {
        return Ok(serde_json::Value::Object(serde_json::Map::new()));
    }
    Ok(serde_json::from_str(text)?)
}

/// An in-memory database with the full schema, for unit tests of the query modules.
#[cfg(test)]
pub(crate) fn memory() -> Connection {
    let mut conn = Connection::open_in_memory().expect("in-memory database");
    configure_connection(&mut conn).expect("configure");
    migrate::apply(&mut conn).expect("migrate");
    conn
}
