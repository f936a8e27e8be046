-- Which object a task came from now lives in the task's own row, not in a table beside it.
-- A first sync of 100,000 files wrote five b-trees per task (the task, its two indexes,
-- the link and the link's task-id index); a link held in the row costs one more index
-- entry, its unique (storage, key, row) key. The sync's own insert of 100,000 tasks with
-- their links (examples/insert_floor.rs) took 0.52-0.58 s before and 0.37-0.39 s after.
--
-- link_storage_id has no foreign key on purpose: a foreign key is checked on every insert,
-- and the one thing it did (forget the links of a deleted storage, keeping the tasks) is
-- the trigger below. link_row_index is -1 for an object that holds a single task (Label
-- Studio's null), because SQLite treats NULLs as distinct in a unique key. A task without
-- a link has NULL in all four.
ALTER TABLE tasks ADD COLUMN link_storage_id INTEGER;
ALTER TABLE tasks ADD COLUMN link_key TEXT;
ALTER TABLE tasks ADD COLUMN link_row_index INTEGER;
ALTER TABLE tasks ADD COLUMN link_fingerprint TEXT;

UPDATE tasks SET (link_storage_id, link_key, link_row_index, link_fingerprint) =
    (SELECT l.storage_id, l.key, l.row_index, l.fingerprint FROM task_links l
     WHERE l.task_id = tasks.id)
WHERE id IN (SELECT task_id FROM task_links);

DROP TABLE task_links;

-- The (storage, key, row) key makes a second task from the same object impossible, and
-- keeps a storage's links in key order for the sync's dedupe.
CREATE UNIQUE INDEX tasks_link ON tasks(link_storage_id, link_key, link_row_index)
    WHERE link_storage_id IS NOT NULL;

CREATE TRIGGER storages_unlinked AFTER DELETE ON storages BEGIN
    UPDATE tasks SET link_storage_id = NULL, link_key = NULL, link_row_index = NULL,
        link_fingerprint = NULL
    WHERE link_storage_id = OLD.id;
END;

-- The link digests' triggers (migration 0013), now on the rows that hold the links.
CREATE TRIGGER tasks_unlinked AFTER DELETE ON tasks WHEN OLD.link_storage_id IS NOT NULL BEGIN
    UPDATE storages SET links_version = links_version + 1 WHERE id = OLD.link_storage_id;
END;

CREATE TRIGGER tasks_relinked
AFTER UPDATE OF link_storage_id, link_key, link_row_index, link_fingerprint ON tasks BEGIN
    UPDATE storages SET links_version = links_version + 1
    WHERE id IN (OLD.link_storage_id, NEW.link_storage_id);
END;

-- The digests were written against the links as they were; they still describe them, but
-- a fresh scan costs one sync's read and proves nothing was lost in the move.
DELETE FROM link_digests;
