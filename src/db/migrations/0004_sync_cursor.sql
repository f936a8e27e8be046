-- Where a sync cut short by a stopped server resumes: the last object key whose tasks are
-- committed, in the provider's listing order. NULL once a sync ends, however it ends.
ALTER TABLE storages ADD COLUMN sync_cursor TEXT;

-- Task files whose tasks are being inserted batch by batch (files too large for one
-- transaction). A key listed here has some of its tasks, not all: the next sync reads it
-- again, and the (storage, key, row) links keep it from adding a task twice.
CREATE TABLE partial_task_files (
    storage_id INTEGER NOT NULL REFERENCES storages(id) ON DELETE CASCADE,
    key        TEXT NOT NULL,
    PRIMARY KEY (storage_id, key)
) WITHOUT ROWID;
