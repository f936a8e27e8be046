-- What a sync's dedupe reads of a source storage's links (sync::known: 24 bytes per
-- object), kept after a sync that could tell it, so the next sync reads a few rows instead
-- of every link: a million links took half a second of CPU from the walk beside it. A
-- digest holds only while the storage's links are exactly as they were when it was
-- written: every change to them moves the storage's `links_version` (a deleted or changed
-- link by these triggers, whichever statement makes the change; inserted links by the
-- insert itself, once per batch), and a digest of another version is never read.
ALTER TABLE storages ADD COLUMN links_version INTEGER NOT NULL DEFAULT 0;

CREATE TABLE link_digests (
    storage_id    INTEGER NOT NULL REFERENCES storages(id) ON DELETE CASCADE,
    chunk         INTEGER NOT NULL,
    links_version INTEGER NOT NULL,
    entries       BLOB NOT NULL,
    PRIMARY KEY (storage_id, chunk)
);

CREATE TRIGGER task_links_deleted AFTER DELETE ON task_links BEGIN
    UPDATE storages SET links_version = links_version + 1 WHERE id = OLD.storage_id;
END;

CREATE TRIGGER task_links_changed AFTER UPDATE ON task_links BEGIN
    UPDATE storages SET links_version = links_version + 1
    WHERE id IN (OLD.storage_id, NEW.storage_id);
END;

CREATE TRIGGER partial_task_files_marked AFTER INSERT ON partial_task_files BEGIN
    UPDATE storages SET links_version = links_version + 1 WHERE id = NEW.storage_id;
END;

CREATE TRIGGER partial_task_files_unmarked AFTER DELETE ON partial_task_files BEGIN
    UPDATE storages SET links_version = links_version + 1 WHERE id = OLD.storage_id;
END;
