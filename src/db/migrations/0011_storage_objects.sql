-- What each object of a source storage looked like when its tasks were imported (its
-- ETag, or size and time), so a later sync can tell it changed; and each task's state
-- against its object: NULL, 'vanished' (no longer listed) or 'changed' (different since its
-- import). Few tasks are flagged: a partial index finds them.
ALTER TABLE task_links ADD COLUMN fingerprint TEXT;
ALTER TABLE tasks ADD COLUMN storage_state TEXT;
CREATE INDEX tasks_flagged ON tasks (storage_state) WHERE storage_state IS NOT NULL;
