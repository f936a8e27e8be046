-- Ids are never used twice. Without AUTOINCREMENT SQLite hands out MAX(id) + 1, so deleting
-- the newest annotation and creating another gave the new one the same id, and its JSON
-- overwrote the deleted annotation's object in every target storage. Every table whose id a
-- client or an exported object name can see is rebuilt with AUTOINCREMENT (SQLite's
-- documented way: create, copy, drop, rename; the runner turns foreign keys off around it
-- and checks them before committing). Copying the rows seeds each sequence with today's
-- highest id. Tasks gain the two facts the Data Manager filters and sorts on.

CREATE TABLE users_new (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    email         TEXT NOT NULL UNIQUE COLLATE NOCASE,
    first_name    TEXT NOT NULL DEFAULT '',
    last_name     TEXT NOT NULL DEFAULT '',
    password_hash TEXT NOT NULL,
    created_at    TEXT NOT NULL
);
INSERT INTO users_new (id, email, first_name, last_name, password_hash, created_at)
    SELECT id, email, first_name, last_name, password_hash, created_at FROM users;
DROP TABLE users;
ALTER TABLE users_new RENAME TO users;

CREATE TABLE projects_new (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    title               TEXT NOT NULL DEFAULT '',
    description         TEXT NOT NULL DEFAULT '',
    label_config        TEXT NOT NULL DEFAULT '<View></View>',
    expert_instruction  TEXT NOT NULL DEFAULT '',
    maximum_annotations INTEGER NOT NULL DEFAULT 1,
    color               TEXT NOT NULL DEFAULT '#FFFFFF',
    options             TEXT NOT NULL DEFAULT '{}',
    next_inner_id       INTEGER NOT NULL DEFAULT 1,
    created_by          INTEGER REFERENCES users(id) ON DELETE SET NULL,
    created_at          TEXT NOT NULL,
    updated_at          TEXT NOT NULL
);
INSERT INTO projects_new (id, title, description, label_config, expert_instruction,
        maximum_annotations, color, options, next_inner_id, created_by, created_at, updated_at)
    SELECT id, title, description, label_config, expert_instruction,
        maximum_annotations, color, options, next_inner_id, created_by, created_at, updated_at
    FROM projects;
DROP TABLE projects;
ALTER TABLE projects_new RENAME TO projects;

-- completed_at: when a labeled task got its newest annotation (Label Studio's definition),
-- NULL until it is labeled. predictions_score: the mean score of its predictions of the
-- project's model version (of all of them while the project names none). annotators and
-- model_versions: who annotated it and which model versions predicted it, each value
-- between unit separators (char 31), NULL for none. All kept current by the writes that
-- change them, so filters and ordering read a column instead of aggregating per task.
CREATE TABLE tasks_new (
    id                    INTEGER PRIMARY KEY AUTOINCREMENT,
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
    completed_at          TEXT,
    predictions_score     REAL,
    annotators            TEXT,
    model_versions        TEXT,
    updated_by            INTEGER REFERENCES users(id) ON DELETE SET NULL,
    created_at            TEXT NOT NULL,
    updated_at            TEXT NOT NULL
);
INSERT INTO tasks_new (id, project_id, data, meta, inner_id, overlap, is_labeled, allow_skip,
        total_annotations, cancelled_annotations, total_predictions, completed_at,
        predictions_score, annotators, model_versions, updated_by, created_at, updated_at)
    SELECT t.id, t.project_id, t.data, t.meta, t.inner_id, t.overlap, t.is_labeled, t.allow_skip,
        t.total_annotations, t.cancelled_annotations, t.total_predictions,
        CASE WHEN t.is_labeled THEN (SELECT a.created_at FROM annotations a
                                     WHERE a.task_id = t.id ORDER BY a.id DESC LIMIT 1) END,
        (SELECT AVG(p.score) FROM predictions p, projects j
         WHERE p.task_id = t.id AND j.id = t.project_id
           AND COALESCE(json_extract(j.options, '$.model_version'), '') IN ('', p.model_version)),
        (SELECT char(31) || group_concat(v, char(31)) || char(31)
         FROM (SELECT DISTINCT a.completed_by AS v FROM annotations a WHERE a.task_id = t.id ORDER BY v)),
        (SELECT char(31) || group_concat(v, char(31)) || char(31)
         FROM (SELECT DISTINCT p.model_version AS v FROM predictions p WHERE p.task_id = t.id ORDER BY v)),
        t.updated_by, t.created_at, t.updated_at
    FROM tasks t;
DROP TABLE tasks;
ALTER TABLE tasks_new RENAME TO tasks;
CREATE INDEX tasks_project ON tasks(project_id, id);
-- The facts of a task the Data Manager filters on most, so a filter or a count over them
-- reads this narrow index alone, never the task rows and their data. The counters come
-- first: the project's counters and "has annotations" are range scans of it.
CREATE INDEX tasks_facts ON tasks(project_id, total_annotations, cancelled_annotations,
    total_predictions, is_labeled, predictions_score, completed_at);
-- Partial indexes: a task enters them only once labeled, annotated or predicted, so a sync
-- inserting fresh tasks pays nothing for them. Each holds the counters a count sums.
CREATE INDEX tasks_completed ON tasks(project_id, completed_at, total_annotations,
    total_predictions) WHERE completed_at IS NOT NULL;
CREATE INDEX tasks_scored ON tasks(project_id, predictions_score, total_annotations,
    total_predictions) WHERE predictions_score IS NOT NULL;
CREATE INDEX tasks_annotators ON tasks(project_id, annotators, total_annotations,
    total_predictions) WHERE annotators IS NOT NULL;
CREATE INDEX tasks_model_versions ON tasks(project_id, model_versions, total_annotations,
    total_predictions) WHERE model_versions IS NOT NULL;

CREATE TABLE annotations_new (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
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
INSERT INTO annotations_new (id, task_id, project_id, result, completed_by, updated_by,
        was_cancelled, ground_truth, lead_time, import_id, last_action, bulk_created,
        parent_prediction, parent_annotation, draft_created_at, created_at, updated_at)
    SELECT id, task_id, project_id, result, completed_by, updated_by,
        was_cancelled, ground_truth, lead_time, import_id, last_action, bulk_created,
        parent_prediction, parent_annotation, draft_created_at, created_at, updated_at
    FROM annotations;
DROP TABLE annotations;
ALTER TABLE annotations_new RENAME TO annotations;
CREATE INDEX annotations_task ON annotations(task_id);
CREATE INDEX annotations_project ON annotations(project_id, id);

CREATE TABLE predictions_new (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    task_id       INTEGER NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
    project_id    INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    result        TEXT NOT NULL DEFAULT '[]',
    score         REAL,
    model_version TEXT NOT NULL DEFAULT '',
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);
INSERT INTO predictions_new (id, task_id, project_id, result, score, model_version,
        created_at, updated_at)
    SELECT id, task_id, project_id, result, score, model_version, created_at, updated_at
    FROM predictions;
DROP TABLE predictions;
ALTER TABLE predictions_new RENAME TO predictions;
CREATE INDEX predictions_task ON predictions(task_id);
CREATE INDEX predictions_project ON predictions(project_id);

CREATE TABLE storages_new (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
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
    created_at      TEXT NOT NULL,
    sync_cursor     TEXT
);
INSERT INTO storages_new (id, project_id, direction, type, title, description, synchronizable,
        settings, secrets, status, last_sync, last_sync_count, last_sync_job, traceback, meta,
        created_at, sync_cursor)
    SELECT id, project_id, direction, type, title, description, synchronizable,
        settings, secrets, status, last_sync, last_sync_count, last_sync_job, traceback, meta,
        created_at, sync_cursor
    FROM storages;
DROP TABLE storages;
ALTER TABLE storages_new RENAME TO storages;
CREATE INDEX storages_project ON storages(project_id, direction);

-- Annotations name exported objects. One deleted before this migration left no row, so its
-- id may be above every surviving one and its object may still be in a target storage:
-- new annotations start above the newest id the outbox remembers, plus a margin of 1,000
-- for the newest ones deleted without a trace.
INSERT INTO sqlite_sequence (name, seq)
    SELECT 'annotations', 0 WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'annotations');
UPDATE sqlite_sequence
    SET seq = MAX(seq, (SELECT COALESCE(MAX(annotation_id), 0) FROM export_outbox)) + 1000
    WHERE name = 'annotations';

-- Drafts: what a user typed on a task without submitting it. Never exported.
CREATE TABLE drafts (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    task_id       INTEGER NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
    project_id    INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    user_id       INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    -- The annotation being edited, or NULL for a draft of a new annotation.
    annotation_id INTEGER REFERENCES annotations(id) ON DELETE CASCADE,
    result        TEXT NOT NULL DEFAULT '[]',
    lead_time     REAL,
    was_postponed INTEGER NOT NULL DEFAULT 0,
    import_id     INTEGER,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);
CREATE INDEX drafts_task ON drafts(task_id, user_id);

-- Data Manager views (tabs): the frontend's `data` (title, filters, ordering, columns, ...)
-- kept as sent, once its filters and ordering have been checked.
CREATE TABLE dm_views (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    user_id    INTEGER REFERENCES users(id) ON DELETE SET NULL,
    data       TEXT NOT NULL DEFAULT '{}',
    position   INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX dm_views_project ON dm_views(project_id, position, id);
