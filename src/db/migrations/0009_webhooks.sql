-- Webhooks (Label Studio's /api/webhooks/) and their persisted outbox.
--
-- An event is written in the transaction of the change it reports, only when an active
-- webhook wants it, with a delivery row per such webhook. `refs` names what changed; the
-- payload is built from it right after the commit (`payload` stays NULL until then). An
-- event goes when none of its deliveries is pending; the deliveries stay as history.
CREATE TABLE webhooks (
    id                   INTEGER PRIMARY KEY AUTOINCREMENT,
    -- NULL: every project its creator is a member of (Label Studio's organization webhook).
    project_id           INTEGER REFERENCES projects(id) ON DELETE CASCADE,
    url                  TEXT NOT NULL,
    send_payload         INTEGER NOT NULL DEFAULT 1,
    send_for_all_actions INTEGER NOT NULL DEFAULT 1,
    headers              TEXT NOT NULL DEFAULT '{}',
    is_active            INTEGER NOT NULL DEFAULT 1,
    actions              TEXT NOT NULL DEFAULT '[]',
    -- Signs each body (HMAC-SHA256); never shown by the API.
    secret               TEXT,
    created_by           INTEGER REFERENCES users(id) ON DELETE SET NULL,
    created_at           TEXT NOT NULL,
    updated_at           TEXT NOT NULL
);
CREATE INDEX webhooks_by_project ON webhooks (project_id);

CREATE TABLE webhook_events (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    -- No foreign key: PROJECT_DELETED outlives its project.
    project_id INTEGER,
    action     TEXT NOT NULL,
    refs       TEXT NOT NULL,
    payload    TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX webhook_events_unrendered ON webhook_events (id) WHERE payload IS NULL;

CREATE TABLE webhook_deliveries (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    webhook_id  INTEGER NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
    event_id    INTEGER REFERENCES webhook_events(id) ON DELETE SET NULL,
    action      TEXT NOT NULL,
    -- pending, delivered or failed (refused by the receiver, or given up after days).
    status      TEXT NOT NULL DEFAULT 'pending',
    attempts    INTEGER NOT NULL DEFAULT 0,
    not_before  TEXT NOT NULL,
    status_code INTEGER,
    error       TEXT,
    created_at  TEXT NOT NULL,
    finished_at TEXT
);
CREATE INDEX webhook_deliveries_pending ON webhook_deliveries (webhook_id, id) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_by_webhook ON webhook_deliveries (webhook_id, id);
CREATE INDEX webhook_deliveries_by_event ON webhook_deliveries (event_id);
