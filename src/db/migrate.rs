//! Forward-only numbered migrations, embedded in the binary and applied at start.
//!
//! `PRAGMA user_version` records the last applied migration; each migration runs in its
//! own transaction together with the version bump. A database written by a newer labelsync
//! is refused rather than guessed at. Foreign keys are not enforced while a migration runs,
//! so that it may rebuild a table the way SQLite documents (create, copy, drop, rename);
//! `PRAGMA foreign_key_check` must find nothing wrong before the migration commits.

use rusqlite::Connection;

use super::DbError;

/// Every migration in order; the position + 1 is its version number.
const MIGRATIONS: &[(&str, &str)] = &[
    ("0001_init", include_str!("migrations/0001_init.sql")),
    (
        "0002_personal_tokens",
        include_str!("migrations/0002_personal_tokens.sql"),
    ),
    (
        "0003_prediction_project_index",
        include_str!("migrations/0003_prediction_project_index.sql"),
    ),
    (
        "0004_sync_cursor",
        include_str!("migrations/0004_sync_cursor.sql"),
    ),
    (
        "0005_project_members",
        include_str!("migrations/0005_project_members.sql"),
    ),
    (
        "0006_task_counter_index",
        include_str!("migrations/0006_task_counter_index.sql"),
    ),
    (
        "0007_ids_never_reused",
        include_str!("migrations/0007_ids_never_reused.sql"),
    ),
    (
        "0008_export_snapshots",
        include_str!("migrations/0008_export_snapshots.sql"),
    ),
    (
        "0009_webhooks",
        include_str!("migrations/0009_webhooks.sql"),
    ),
    (
        "0010_export_task_layout",
        include_str!("migrations/0010_export_task_layout.sql"),
    ),
    (
        "0011_storage_objects",
        include_str!("migrations/0011_storage_objects.sql"),
    ),
    (
        "0012_project_counters",
        include_str!("migrations/0012_project_counters.sql"),
    ),
    (
        "0013_link_digests",
        include_str!("migrations/0013_link_digests.sql"),
    ),
];

/// Brings the schema up to date.
pub(super) fn apply(conn: &mut Connection) -> Result<(), DbError> {
    let current: i64 = conn.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    let current = usize::try_from(current).unwrap_or(0);
    let latest = MIGRATIONS.len();
    if current > latest {
        return Err(DbError::TooNew {
            found: current,
            supported: latest,
        });
    }
    if current == latest {
        return Ok(());
    }
    // The pragma is a no-op inside a transaction: it is switched around them.
    conn.pragma_update(None, "foreign_keys", false)?;
    let applied = MIGRATIONS
        .iter()
        .enumerate()
        .skip(current)
        .try_for_each(|(index, (name, sql))| apply_one(conn, index + 1, name, sql));
    conn.pragma_update(None, "foreign_keys", true)?;
    applied
}

fn apply_one(conn: &mut Connection, version: usize, name: &str, sql: &str) -> Result<(), DbError> {
    tracing::info!(migration = name, version, "applying database migration");
    let tx = conn.transaction()?;
    tx.execute_batch(sql)?;
    let broken: Vec<String> = tx
        .prepare("PRAGMA foreign_key_check")?
        .query_map([], |r| {
            Ok(format!(
                "{} row {:?}",
                r.get::<_, String>(0)?,
                r.get::<_, Option<i64>>(1)?
            ))
        })?
        .collect::<Result<_, _>>()?;
    if !broken.is_empty() {
        return Err(DbError::Migration {
            name: name.to_owned(),
            reason: format!(
                "rows refer to rows that do not exist: {}",
                broken.join(", ")
            ),
        });
    }
    tx.pragma_update(None, "user_version", version as i64)?;
    tx.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn applies_all_and_refuses_a_newer_database() {
        let mut conn = Connection::open_in_memory().unwrap();
        apply(&mut conn).unwrap();
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(version as usize, MIGRATIONS.len());
        apply(&mut conn).unwrap(); // idempotent
        conn.pragma_update(None, "user_version", MIGRATIONS.len() as i64 + 1)
            .unwrap();
        let err = apply(&mut conn).unwrap_err();
        assert!(
            err.to_string().contains("newer version of labelsync"),
            "{err}"
        );
    }
}
