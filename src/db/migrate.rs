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
    (
        "0014_links_in_task_rows",
        include_str!("migrations/0014_links_in_task_rows.sql"),
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

    /// A task's id and its link: storage, key, row, fingerprint.
    type TaskLink = (
        i64,
        Option<i64>,
        Option<String>,
        Option<i64>,
        Option<String>,
    );

    #[test]
    fn links_move_into_their_task_rows_and_a_deleted_storage_forgets_them() {
        let mut conn = Connection::open_in_memory().unwrap();
        let before_fold = MIGRATIONS
            .iter()
            .position(|(name, _)| *name == "0014_links_in_task_rows")
            .unwrap();
        for (index, (name, sql)) in MIGRATIONS.iter().enumerate().take(before_fold) {
            apply_one(&mut conn, index + 1, name, sql).unwrap();
        }
        conn.execute_batch(
            "INSERT INTO projects (id, created_at, updated_at) VALUES (1, 't', 't');
             INSERT INTO storages (id, project_id, direction, type, created_at)
                 VALUES (7, 1, 'import', 'localfiles', 't'), (8, 1, 'import', 'localfiles', 't');
             INSERT INTO tasks (id, project_id, data, inner_id, created_at, updated_at)
                 VALUES (1, 1, '{}', 1, 't', 't'), (2, 1, '{}', 2, 't', 't'), (3, 1, '{}', 3, 't', 't');
             INSERT INTO task_links (storage_id, key, row_index, task_id, fingerprint, created_at)
                 VALUES (7, 'a.json', 0, 1, '1:2', 't'), (8, 'b.png', -1, 2, NULL, 't');",
        )
        .unwrap();
        apply(&mut conn).unwrap();
        let links = |conn: &Connection| -> Vec<TaskLink> {
            conn.prepare(
                "SELECT id, link_storage_id, link_key, link_row_index, link_fingerprint
                 FROM tasks ORDER BY id",
            )
            .unwrap()
            .query_map([], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
        };
        let unlinked = |id| (id, None, None, None, None);
        assert_eq!(
            links(&conn),
            [
                (
                    1,
                    Some(7),
                    Some("a.json".into()),
                    Some(0),
                    Some("1:2".into())
                ),
                (2, Some(8), Some("b.png".into()), Some(-1), None),
                unlinked(3),
            ]
        );
        let again = conn.execute(
            "INSERT INTO tasks (project_id, data, inner_id, created_at, updated_at,
                 link_storage_id, link_key, link_row_index)
             VALUES (1, '{}', 4, 't', 't', 8, 'b.png', -1) ON CONFLICT DO NOTHING",
            [],
        );
        assert_eq!(again.unwrap(), 0, "one task per (storage, key, row)");
        conn.execute("DELETE FROM storages WHERE id = 8", [])
            .unwrap();
        assert_eq!(links(&conn)[1], unlinked(2), "the task stays, unlinked");
    }
}
