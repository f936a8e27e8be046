-- Users, their API tokens and browser sessions.
CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE COLLATE NOCASE,
    first_name    TEXT NOT NULL DEFAULT '',
    last_name     TEXT NOT NULL DEFAULT '',
    password_hash TEXT NOT NULL,
    created_at    TEXT NOT NULL
);
CREATE TABLE api_tokens (
    key        TEXT PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at TEXT NOT NULL
);
CREATE INDEX api_tokens_user ON api_tokens(user_id);
CREATE TABLE sessions (
    id         TEXT PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    expires_at TEXT NOT NULL
);

CREATE TABLE projects (
    id                  INTEGER PRIMARY KEY,
    title               TEXT NOT NULL DEFAULT '',
    description         TEXT NOT NULL DEFAULT '',
    label_config        TEXT NOT NULL DEFAULT '<View></View>',
    expert_instruction  TEXT NOT NULL DEFAULT '',
    maximum_annotations INTEGER NOT NULL DEFAULT 1,
    color               TEXT NOT NULL DEFAULT '#FFFFFF',
    -- Label Studio project flags labelsync stores and echoes back but does not act on.
    options             TEXT NOT NULL DEFAULT '{}',
    -- Next task inner_id: one counter row update per import batch instead of a MAX() scan.
    next_inner_id       INTEGER NOT NULL DEFAULT 1,
    created_by          INTEGER REFERENCES users(id) ON DELETE SET NULL,
    created_at          TEXT NOT NULL,
    updated_at          TEXT NOT NULL
);

CREATE TABLE tasks (
    id                    INTEGER PRIMARY KEY,
    project_id            INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    data                  TEXT NOT NULL,
    meta                  TEXT NOT NULL DEFAULT '{}',
    inner_id              INTEGER NOT NULL,
    overlap               INTEGER NOT NULL DEFAULT 1,
    is_labeled            INTEGER NOT NULL DEFAULT 0,
    allow_skip            INTEGER NOT NULL DEFAULT 1,
    total_annotations     INTEGER NOT NULL DEFAULT 0,
    cancelled_annotations INTEGER NOT NULL DEFAULT 0,
    total_predictions     INTEGER NOT NULL DEFAULT 0,
    updated_by            INTEGER REFERENCES users(id) ON DELETE SET NULL,
    created_at            TEXT NOT NULL,
    updated_at            TEXT NOT NULL
);
CREATE INDEX tasks_project ON tasks(project_id, id);

CREATE TABLE annotations (
    id                INTEGER PRIMARY KEY,
    task_id           INTEGER NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
    project_id        INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    result            TEXT NOT NULL DEFAULT '[]',
    completed_by      INTEGER REFERENCES users(id) ON DELETE SET NULL,
    updated_by        INTEGER REFERENCES users(id) ON DELETE SET NULL,
    was_cancelled     INTEGER NOT NULL DEFAULT 0,
    ground_truth      INTEGER NOT NULL DEFAULT 0,
    lead_time         REAL,
    import_id         INTEGER,
    last_action       TEXT,
    bulk_created      INTEGER NOT NULL DEFAULT 0,
    parent_prediction INTEGER,
    parent_annotation INTEGER,
    draft_created_at  TEXT,
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL
);
CREATE INDEX annotations_task ON annotations(task_id);
CREATE INDEX annotations_project ON annotations(project_id, id);

CREATE TABLE predictions (
    id            INTEGER PRIMARY KEY,
    task_id       INTEGER NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
    project_id    INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    result        TEXT NOT NULL DEFAULT '[]',
    score         REAL,
    model_version TEXT NOT NULL DEFAULT '',
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);
CREATE INDEX predictions_task ON predictions(task_id);

-- Source (import) and target (export) storages of every type in one table. Provider fields
-- live in `settings`; credentials in `secrets`, which no response ever serializes.
CREATE TABLE storages (
    id              INTEGER PRIMARY KEY,
    project_id      INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    direction       TEXT NOT NULL CHECK (direction IN ('import', 'export')),
    type            TEXT NOT NULL,
    title           TEXT,
    description     TEXT,
    synchronizable  INTEGER NOT NULL DEFAULT 1,
    settings        TEXT NOT NULL DEFAULT '{}',
    secrets         TEXT NOT NULL DEFAULT '{}',
    status          TEXT NOT NULL DEFAULT 'initialized',
    last_sync       TEXT,
    last_sync_count INTEGER,
    last_sync_job   TEXT,
    traceback       TEXT,
    meta            TEXT NOT NULL DEFAULT '{}',
    created_at      TEXT NOT NULL
);
CREATE INDEX storages_project ON storages(project_id, direction);

-- Which object a task came from. The primary key makes a second task from the same object
-- impossible; row_index is -1 for an object that holds a single task (Label Studio's null),
-- because SQLite treats NULLs as distinct in a unique key.
CREATE TABLE task_links (
    storage_id INTEGER NOT NULL REFERENCES storages(id) ON DELETE CASCADE,
    key        TEXT NOT NULL,
    row_index  INTEGER NOT NULL DEFAULT -1,
    task_id    INTEGER NOT NULL UNIQUE REFERENCES tasks(id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    PRIMARY KEY (storage_id, key, row_index)
) WITHOUT ROWID;

-- Which annotation was written to which target storage, under which key.
CREATE TABLE export_links (
    storage_id    INTEGER NOT NULL REFERENCES storages(id) ON DELETE CASCADE,
    annotation_id INTEGER NOT NULL REFERENCES annotations(id) ON DELETE CASCADE,
    key           TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    PRIMARY KEY (storage_id, annotation_id)
) WITHOUT ROWID;
CREATE INDEX export_links_annotation ON export_links(annotation_id);

-- Export work written in the same transaction as the annotation change, drained by the
-- export worker, so a crash or a storage outage never loses an export. annotation_id has
-- no foreign key on purpose: a 'delete' entry outlives its annotation.
CREATE TABLE export_outbox (
    id            INTEGER PRIMARY KEY,
    storage_id    INTEGER NOT NULL REFERENCES storages(id) ON DELETE CASCADE,
    annotation_id INTEGER NOT NULL,
    op            TEXT NOT NULL CHECK (op IN ('save', 'delete')),
    attempts      INTEGER NOT NULL DEFAULT 0,
    last_error    TEXT,
    not_before    TEXT NOT NULL,
    created_at    TEXT NOT NULL
);
CREATE INDEX export_outbox_due ON export_outbox(not_before, id);
