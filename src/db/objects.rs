//! A source storage's objects as their tasks knew them: each object's fingerprint at
//! import (its size and time), and each task's state against its object (`vanished`,
//! `changed`), which the Data Manager filters on.

use rusqlite::{Connection, params};

use super::{Db, DbError};

/// Records the fingerprints of objects whose tasks were just imported, in the caller's
/// transaction.
pub(super) fn record(
    conn: &Connection,
    storage_id: i64,
    fingerprints: &[(String, String)],
) -> Result<(), DbError> {
    let mut stmt = conn.prepare_cached(
        "INSERT INTO object_fingerprints (storage_id, key, fingerprint) VALUES (?1, ?2, ?3)
         ON CONFLICT (storage_id, key) DO UPDATE SET fingerprint = excluded.fingerprint",
    )?;
    for (key, fingerprint) in fingerprints {
        stmt.execute(params![storage_id, key, fingerprint])?;
    }
    Ok(())
}

/// An object a storage's tasks came from.
#[derive(Debug, Clone)]
pub struct LinkedObject {
    pub key: String,
    /// As recorded at import (`None` for tasks imported before fingerprints were kept).
    pub fingerprint: Option<String>,
    pub task_ids: Vec<i64>,
    /// Some task of it has an annotation (skipped ones count: work was done on it).
    pub annotated: bool,
    /// Some task of it is flagged `vanished` or `changed`.
    pub flagged: bool,
}

/// Hands each object a storage's tasks came from to `visit`, one at a time (a storage may
/// have millions).
fn visit_linked(
    conn: &Connection,
    storage_id: i64,
    visit: &mut dyn FnMut(LinkedObject),
) -> Result<(), DbError> {
    let mut stmt = conn.prepare(
        "SELECT l.key, f.fingerprint, json_group_array(l.task_id),
                max(t.total_annotations + t.cancelled_annotations > 0),
                max(t.storage_state IS NOT NULL)
         FROM task_links l JOIN tasks t ON t.id = l.task_id
         LEFT JOIN object_fingerprints f ON f.storage_id = l.storage_id AND f.key = l.key
         WHERE l.storage_id = ?1 GROUP BY l.key",
    )?;
    let rows = stmt.query_map([storage_id], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, Option<String>>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, bool>(3)?,
            r.get::<_, bool>(4)?,
        ))
    })?;
    for row in rows {
        let (key, fingerprint, ids, annotated, flagged) = row?;
        visit(LinkedObject {
            key,
            fingerprint,
            task_ids: serde_json::from_str(&ids)?,
            annotated,
            flagged,
        });
    }
    Ok(())
}

/// What a sync decided about a storage's objects.
#[derive(Debug, Clone, Default)]
pub struct ObjectChanges {
    /// Tasks of vanished objects, without annotations, to delete (when the storage says so).
    pub remove: Vec<i64>,
    pub flag_vanished: Vec<i64>,
    pub flag_changed: Vec<i64>,
    /// Flagged tasks whose object is back as it was.
    pub clear: Vec<i64>,
    /// Fingerprints to record: objects imported before fingerprints were kept.
    pub adopt: Vec<(String, String)>,
    /// Changed task files to import again: their tasks go now, with their links.
    pub reimport: Vec<(String, Vec<i64>)>,
}

fn set_state(conn: &Connection, ids: &[i64], state: Option<&str>) -> Result<(), DbError> {
    if ids.is_empty() {
        return Ok(());
    }
    conn.prepare_cached(
        "UPDATE tasks SET storage_state = ?2 WHERE id IN (SELECT value FROM json_each(?1))",
    )?
    .execute(params![serde_json::to_string(ids)?, state])?;
    Ok(())
}

fn apply(tx: &Connection, storage_id: i64, changes: &ObjectChanges) -> Result<(), DbError> {
    let project_id: i64 = tx.query_row(
        "SELECT project_id FROM storages WHERE id = ?1",
        [storage_id],
        |r| r.get(0),
    )?;
    let now = crate::time::now_iso();
    let mut gone: Vec<i64> = changes.remove.clone();
    gone.extend(
        changes
            .reimport
            .iter()
            .flat_map(|(_, ids)| ids.iter().copied()),
    );
    if !gone.is_empty() {
        super::tasks::delete_many(tx, project_id, &gone, &now)?;
    }
    set_state(tx, &changes.flag_vanished, Some("vanished"))?;
    set_state(tx, &changes.flag_changed, Some("changed"))?;
    set_state(tx, &changes.clear, None)?;
    record(tx, storage_id, &changes.adopt)
}

impl Db {
    /// Hands each object a storage's tasks came from, with its fingerprint, to `visit`
    /// (which owns `state`); returns the state.
    pub async fn visit_linked_objects<S, F>(
        &self,
        storage_id: i64,
        mut state: S,
        mut visit: F,
    ) -> Result<S, DbError>
    where
        S: Send + 'static,
        F: FnMut(&mut S, LinkedObject) + Send + 'static,
    {
        self.call(move |conn| {
            visit_linked(conn, storage_id, &mut |object| visit(&mut state, object))?;
            Ok(state)
        })
        .await
    }

    /// Carries out what a sync decided about a storage's objects, in one transaction.
    pub async fn apply_object_changes(
        &self,
        storage_id: i64,
        changes: ObjectChanges,
    ) -> Result<(), DbError> {
        self.write(move |tx| apply(tx, storage_id, &changes)).await
    }
}
