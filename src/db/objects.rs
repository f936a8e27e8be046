//! A source storage's objects as their tasks knew them: each link's fingerprint of its
//! object at import (`tasks.link_fingerprint`: ETag, or size and time), and each task's
//! state against its object (`tasks.storage_state`: `vanished`, `changed`), which the Data
//! Manager filters on.
//!
//! A sync reads these in three cheap steps rather than one costly query: every (key,
//! fingerprint) of the storage in key order (along the unique link key),
//! then the tasks of the few objects that vanished or changed, then the few tasks already
//! flagged (a partial index holds just those). The first step reads the storage's link
//! digest instead when one is current: what the last sync read and added, in a few rows,
//! valid while the storage's `links_version` has not moved since (migration 0013).

use rusqlite::{Connection, OptionalExtension, params};

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
/// (a storage may have millions). The unique link key keeps an object's links together, so
/// they are counted as they pass instead of grouped in SQL.
fn visit_keys(
    conn: &Connection,
    storage_id: i64,
    visit: &mut dyn FnMut(LinkedKey<'_>),
) -> Result<(), DbError> {
    let mut stmt = conn.prepare(
        "SELECT link_key, link_fingerprint FROM tasks INDEXED BY tasks_link
         WHERE link_storage_id = ?1 ORDER BY link_key, link_row_index",
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

/// What a storage's links looked like at one moment, as a sync's dedupe reads them: its
/// link digest, when one of this moment's `links_version` is stored, else every link
/// (visited), and the keys of its partly imported task files.
#[derive(Debug)]
pub struct LinksRead<S> {
    pub version: i64,
    /// Whether the digest's chunks were visited (rather than the links).
    pub from_digest: bool,
    pub partial: Vec<String>,
    pub state: S,
}

/// One piece of what [`Db::read_links`] hands its visitor.
#[derive(Debug, Clone, Copy)]
pub enum LinkPiece<'a> {
    /// A chunk of the storage's current link digest, in order.
    Digest(&'a [u8]),
    /// One linked object (when there is no current digest).
    Link(LinkedKey<'a>),
}

/// Reads a storage's links in one snapshot (see [`LinksRead`]).
fn read_links(
    conn: &mut Connection,
    storage_id: i64,
    visit: &mut dyn FnMut(LinkPiece<'_>),
) -> Result<(i64, bool, Vec<String>), DbError> {
    let tx = conn.transaction()?;
    let version = links_version(&tx, storage_id)?.unwrap_or(0);
    let partial = super::tasks::partial_task_files(&tx, storage_id)?;
    let mut stmt = tx.prepare_cached(
        "SELECT entries FROM link_digests WHERE storage_id = ?1 AND links_version = ?2
         ORDER BY chunk",
    )?;
    let mut chunks = stmt.query(params![storage_id, version])?;
    let mut from_digest = false;
    while let Some(row) = chunks.next()? {
        from_digest = true;
        let entries = row.get_ref(0)?.as_blob().map_err(rusqlite::Error::from)?;
        visit(LinkPiece::Digest(entries));
    }
    drop(chunks);
    drop(stmt);
    if !from_digest {
        visit_keys(&tx, storage_id, &mut |object| {
            visit(LinkPiece::Link(object))
        })?;
    }
    Ok((version, from_digest, partial))
}

/// A storage's `links_version`; `None` when the storage is gone.
fn links_version(conn: &Connection, storage_id: i64) -> Result<Option<i64>, DbError> {
    Ok(conn
        .query_row(
            "SELECT links_version FROM storages WHERE id = ?1",
            [storage_id],
            |r| r.get(0),
        )
        .optional()?)
}

/// Replaces a storage's link digest with `chunks` for `version`, unless its links moved
/// since; true when stored.
fn write_digest(
    tx: &rusqlite::Transaction<'_>,
    storage_id: i64,
    version: i64,
    chunks: &[Vec<u8>],
) -> Result<bool, DbError> {
    let now = links_version(tx, storage_id)?;
    tx.execute(
        "DELETE FROM link_digests WHERE storage_id = ?1",
        [storage_id],
    )?;
    if now != Some(version) {
        return Ok(false);
    }
    let mut insert = tx.prepare_cached(
        "INSERT INTO link_digests (storage_id, chunk, links_version, entries) VALUES (?1, ?2, ?3, ?4)",
    )?;
    for (number, chunk) in chunks.iter().enumerate() {
        insert.execute(params![storage_id, number as i64, version, chunk])?;
    }
    Ok(true)
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
        "SELECT link_key, json_group_array(id), max(total_annotations + cancelled_annotations > 0)
         FROM tasks WHERE link_storage_id = ?1 AND link_key IN (SELECT value FROM json_each(?2))
         GROUP BY link_key ORDER BY link_key",
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
    // The flagged index holds just the few flagged tasks: left to itself, SQLite could
    // walk every link of the storage instead (23 ms at 100,000 links, on every sync).
    let mut stmt = conn.prepare(
        "SELECT link_key, id FROM tasks INDEXED BY tasks_flagged
         WHERE storage_state IS NOT NULL AND link_storage_id = ?1",
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
        "UPDATE tasks SET link_fingerprint = ?3 WHERE link_storage_id = ?1 AND link_key = ?2",
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

    /// A storage's links as a sync's dedupe reads them, in one snapshot: the pieces go to
    /// `visit` (which owns `state`).
    pub async fn read_links<S, F>(
        &self,
        storage_id: i64,
        mut state: S,
        mut visit: F,
    ) -> Result<LinksRead<S>, DbError>
    where
        S: Send + 'static,
        F: FnMut(&mut S, LinkPiece<'_>) + Send + 'static,
    {
        self.call(move |conn| {
            let (version, from_digest, partial) =
                read_links(conn, storage_id, &mut |piece| visit(&mut state, piece))?;
            Ok(LinksRead {
                version,
                from_digest,
                partial,
                state,
            })
        })
        .await
    }

    /// Stores a storage's link digest (its chunks, in order) as of `version`: unless its
    /// links changed since, in which case any digest it had goes. True when stored.
    pub async fn write_link_digest(
        &self,
        storage_id: i64,
        version: i64,
        chunks: Vec<Vec<u8>>,
    ) -> Result<bool, DbError> {
        self.write(move |tx| write_digest(tx, storage_id, version, &chunks))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::tasks::{Link, NewTask, insert_batch};

    fn blob(key: &str) -> NewTask {
        NewTask {
            data: "{}".into(),
            meta: "{}".into(),
            allow_skip: true,
            annotations: Vec::new(),
            predictions: Vec::new(),
            link: Some(Link::to(7, key.to_owned(), Some("1:1".into()))),
        }
    }

    fn version(conn: &Connection) -> i64 {
        conn.query_row("SELECT links_version FROM storages WHERE id = 7", [], |r| {
            r.get(0)
        })
        .unwrap()
    }

    /// What `read_links` hands over: digest chunks, or the keys of the links.
    fn read(conn: &mut Connection) -> (i64, bool, Vec<String>) {
        let mut seen = Vec::new();
        let (version, from_digest, _) = read_links(conn, 7, &mut |piece| match piece {
            LinkPiece::Digest(bytes) => seen.push(format!("{} bytes", bytes.len())),
            LinkPiece::Link(object) => seen.push(object.key.to_owned()),
        })
        .unwrap();
        (version, from_digest, seen)
    }

    #[test]
    fn every_change_to_a_storages_links_makes_its_digest_stale() {
        let mut conn = crate::db::memory();
        conn.execute_batch(
            "INSERT INTO projects (id, created_at, updated_at) VALUES (1, 'now', 'now');
             INSERT INTO storages (id, project_id, direction, type, created_at) VALUES (7, 1, 'import', 'localfiles', 'now');",
        )
        .unwrap();
        let tx = conn.transaction().unwrap();
        let outcome = insert_batch(&tx, 1, &[blob("a"), blob("b")], "now").unwrap();
        tx.commit().unwrap();
        assert_eq!(outcome.links_version, Some(1), "one move per insert");
        assert_eq!(read(&mut conn), (1, false, vec!["a".into(), "b".into()]));

        let store = |conn: &mut Connection, version: i64| {
            let tx = conn.transaction().unwrap();
            let stored = write_digest(&tx, 7, version, &[vec![0; 24], vec![1; 48]]).unwrap();
            tx.commit().unwrap();
            stored
        };
        assert!(!store(&mut conn, 0), "not over links that moved since");
        assert!(store(&mut conn, 1));
        assert_eq!(
            read(&mut conn),
            (1, true, vec!["24 bytes".into(), "48 bytes".into()])
        );

        let changes = [
            "DELETE FROM tasks WHERE id = (SELECT MIN(id) FROM tasks WHERE link_storage_id IS NOT NULL)",
            "UPDATE tasks SET link_fingerprint = '2:2'",
            "INSERT INTO partial_task_files (storage_id, key) VALUES (7, 'b')",
            "DELETE FROM partial_task_files",
        ];
        for change in changes {
            let now = version(&conn);
            assert!(store(&mut conn, now));
            let before = version(&conn);
            conn.execute_batch(change).unwrap();
            assert!(version(&conn) > before, "{change}");
            let (_, from_digest, _) = read(&mut conn);
            assert!(!from_digest, "a stale digest is not read after: {change}");
        }
    }
}
