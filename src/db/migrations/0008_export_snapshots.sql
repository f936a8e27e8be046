-- Export snapshots (Label Studio's /api/projects/<id>/exports/): the file lives in the data
-- directory (exports/<id>.json); the row says what it holds.
CREATE TABLE export_snapshots (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id   INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    title        TEXT NOT NULL DEFAULT '',
    created_by   INTEGER REFERENCES users(id) ON DELETE SET NULL,
    created_at   TEXT NOT NULL,
    finished_at  TEXT,
    status       TEXT NOT NULL DEFAULT 'created',
    md5          TEXT NOT NULL DEFAULT '',
    task_number  INTEGER NOT NULL DEFAULT 0,
    -- Formats the snapshot was converted to, as a JSON list of names.
    converted    TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX export_snapshots_by_project ON export_snapshots (project_id, id);
