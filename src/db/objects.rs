//! A source storage's objects as their tasks knew them: each link's fingerprint of its
//! object at import (`task_links.fingerprint`: ETag, or size and time), and each task's
//! state against its object (`tasks.storage_state`: `vanished`, `changed`), which the Data
//! Manager filters on.
//!
//! A sync reads these in three cheap steps rather than one costly join: every (key,
//! fingerprint) of the storage in key order (the links' own b-tree, nothing else touched),
//! then the tasks of the few objects that vanished or changed, then the few tasks already
//! flagged (a partial index holds just those).

use rusqlite::{Connection, params};

use super::{Db, DbError};

/// One object of a storage as its tasks know it.
#[derive(Debug, Clone, Copy)]
pub struct LinkedKey<'a> {
    pub key: &'a str,
    /// Its fingerprint when its (first) task was imported.
    pub fingerprint: Option<&'a str>,
    /// How many tasks came from it.
    pub links: u64,
}

/// Hands each object of a storage to `visit` once, in key order, without copying its key
/// (a storage may have millions). The primary key keeps an object's links together, so
/// they are counted as they pass instead of grouped in SQL.
fn visit_keys(
    conn: &Connection,
    storage_id: i64,
    visit: &mut dyn FnMut(LinkedKey<'_>),
) -> Result<(), DbError> {
    let mut stmt = conn.prepare(
        "SELECT key, fingerprint FROM task_links WHERE storage_id = ?1 ORDER BY key, row_index",
    )?;
    let mut rows = stmt.query([storage_id])?;
    let (mut key, mut fingerprint, mut links) = (String::new(), None::<String>, 0);
    while let Some(row) = rows.next()? {
        let next = row.get_ref(0)?.as_str().map_err(rusqlite::Error::from)?;
        if links > 0 && next == key {
            links += 1;
            continue;
        }
        if links > 0 {
            visit(LinkedKey {
                key: &key,
                fingerprint: fingerprint.as_deref(),
                links,
            });
        }
        key.clear();
        key.push_str(next);
        let then = row
            .get_ref(1)?
            .as_str_or_null()
            .map_err(rusqlite::Error::from)?;
        match (&mut fingerprint, then) {
            (Some(held), Some(then)) => {
                held.clear();
                held.push_str(then);
            }
            (held, then) => *held = then.map(str::to_owned),
        }
        links = 1;
    }
    if links > 0 {
        visit(LinkedKey {
            key: &key,
            fingerprint: fingerprint.as_deref(),
            links,
        });
    }
    Ok(())
}

/// An object whose tasks a sync may act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkedObject {
    pub key: String,
    pub task_ids: Vec<i64>,
    /// Some task of it has an annotation (skipped ones count: work was done on it).
    pub annotated: bool,
}

fn objects_of(
    conn: &Connection,
    storage_id: i64,
    keys: &[String],
) -> Result<Vec<LinkedObject>, DbError> {
    let mut stmt = conn.prepare(
        "SELECT l.key, json_group_array(l.task_id), max(t.total_annotations + t.cancelled_annotations > 0)
         FROM task_links l JOIN tasks t ON t.id = l.task_id
         WHERE l.storage_id = ?1 AND l.key IN (SELECT value FROM json_each(?2))
         GROUP BY l.key ORDER BY l.key",
    )?;
    let rows = stmt.query_map(params![storage_id, serde_json::to_string(keys)?], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, bool>(2)?,
        ))
    })?;
    rows.map(|row| {
        let (key, ids, annotated) = row?;
        Ok(LinkedObject {
            key,
            task_ids: serde_json::from_str(&ids)?,
            annotated,
        })
    })
    .collect()
}

/// The storage's flagged tasks: (key of their object, task id).
fn flagged(conn: &Connection, storage_id: i64) -> Result<Vec<(String, i64)>, DbError> {
    // CROSS JOIN keeps the few flagged tasks as the outer loop: left to itself, SQLite
    // walked every link of the storage and probed the flagged index for each (23 ms at
    // 100,000 links, on every sync).
    let mut stmt = conn.prepare(
        "SELECT l.key, t.id FROM tasks t INDEXED BY tasks_flagged
         CROSS JOIN task_links l ON l.task_id = t.id
         WHERE t.storage_state IS NOT NULL AND l.storage_id = ?1",
    )?;
    let rows = stmt.query_map([storage_id], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
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

impl ObjectChanges {
    /// Nothing to do (a sync where nothing vanished or changed).
    pub fn is_empty(&self) -> bool {
        self.remove.is_empty()
            && self.flag_vanished.is_empty()
            && self.flag_changed.is_empty()
            && self.clear.is_empty()
            && self.adopt.is_empty()
            && self.reimport.is_empty()
    }
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

fn apply(
    tx: &Connection,
    project_id: i64,
    storage_id: i64,
    changes: &ObjectChanges,
) -> Result<(), DbError> {
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
    let mut adopt = tx.prepare_cached(
        "UPDATE task_links SET fingerprint = ?3 WHERE storage_id = ?1 AND key = ?2",
    )?;
    for (key, fingerprint) in &changes.adopt {
        adopt.execute(params![storage_id, key, fingerprint])?;
    }
    Ok(())
}

impl Db {
    /// Hands each object a storage's tasks came from to `visit` (which owns `state`), in
    /// key order; returns the state.
    pub async fn visit_linked_keys<S, F>(
        &self,
        storage_id: i64,
        mut state: S,
        mut visit: F,
    ) -> Result<S, DbError>
    where
        S: Send + 'static,
        F: FnMut(&mut S, LinkedKey<'_>) + Send + 'static,
    {
        self.call(move |conn| {
            visit_keys(conn, storage_id, &mut |object| visit(&mut state, object))?;
            Ok(state)
        })
        .await
    }

    /// Keys of the storage's task files whose import is under way or was cut short: a sync
    /// reads them again.
    pub async fn partial_task_files(&self, storage_id: i64) -> Result<Vec<String>, DbError> {
        self.call(move |conn| super::tasks::partial_task_files(conn, storage_id))
            .await
    }

    /// The tasks of these objects of a storage, and whether someone worked on them.
    pub async fn linked_objects(
        &self,
        storage_id: i64,
        keys: Vec<String>,
    ) -> Result<Vec<LinkedObject>, DbError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        self.call(move |conn| objects_of(conn, storage_id, &keys))
            .await
    }

    /// The storage's flagged tasks, with the keys of their objects.
    pub async fn flagged_tasks(&self, storage_id: i64) -> Result<Vec<(String, i64)>, DbError> {
        self.call(move |conn| flagged(conn, storage_id)).await
    }

    /// Carries out what a sync decided about the objects of a project's storage, in one
    /// transaction.
    pub async fn apply_object_changes(
        &self,
        project_id: i64,
        storage_id: i64,
        changes: ObjectChanges,
    ) -> Result<(), DbError> {
        self.write(move |tx| apply(tx, project_id, storage_id, &changes))
            .await
    }
}
