-- Secrets the server makes for itself (the JWT signing key), created at first start.
CREATE TABLE server_secrets (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- Personal access tokens (JWT refresh tokens, Label Studio 1.23's default for the SDK).
-- Only the token id is kept; a revoked id is refused even before it expires.
CREATE TABLE personal_tokens (
    jti        TEXT PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    revoked    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX personal_tokens_user ON personal_tokens(user_id);
