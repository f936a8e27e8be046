-- What each object of a source storage looked like when its tasks were imported (its
-- size and time), so a later sync can tell it changed; and each task's state against its
-- object: NULL, 'vanished' (no longer listed) or 'changed' (different since its import).
CREATE TABLE object_fingerprints (
    storage_id  INTEGER NOT NULL REFERENCES storages(id) ON DELETE CASCADE,
    key         TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    PRIMARY KEY (storage_id, key)
) WITHOUT ROWID;
ALTER TABLE tasks ADD COLUMN storage_state TEXT;
