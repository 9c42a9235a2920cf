-- The first schema of ramp's embedded store. Times are UTC text at microsecond
-- precision (2006-01-02T15:04:05.000000Z), so text order is time order; JSON is text.

-- +goose Up
CREATE TABLE environments (
    key         TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    created_at  TEXT NOT NULL,
    -- revision increases with every change visible in the environment.
    revision    INTEGER NOT NULL
) STRICT;

-- A flag's definition, shared by all environments.
CREATE TABLE flags (
    key           TEXT PRIMARY KEY,
    type          TEXT NOT NULL,
    description   TEXT NOT NULL DEFAULT '',
    variants      TEXT NOT NULL,     -- JSON object
    salt          TEXT NOT NULL DEFAULT '',
    bucket_by     TEXT NOT NULL DEFAULT '',
    metadata      TEXT,              -- JSON object
    client_side   INTEGER NOT NULL DEFAULT 0,
    tags          TEXT,              -- JSON array
    -- the state the flag was created with, given to environments created later
    initial_state TEXT NOT NULL,     -- JSON
    version       INTEGER NOT NULL,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
) STRICT;

-- A flag's state in one environment.
CREATE TABLE flag_states (
    environment        TEXT NOT NULL REFERENCES environments (key),
    flag               TEXT NOT NULL REFERENCES flags (key) ON DELETE CASCADE,
    enabled            INTEGER NOT NULL,
    off_variant        TEXT NOT NULL DEFAULT '',
    rules              TEXT,         -- JSON array
    default_allocation TEXT,         -- JSON object
    version            INTEGER NOT NULL,
    updated_at         TEXT NOT NULL,
    PRIMARY KEY (environment, flag)
) STRICT;
CREATE INDEX flag_states_flag ON flag_states (flag);

CREATE TABLE segments (
    environment TEXT NOT NULL REFERENCES environments (key),
    key         TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    included    TEXT,                -- JSON array
    excluded    TEXT,                -- JSON array
    rules       TEXT,                -- JSON array
    version     INTEGER NOT NULL,
    updated_at  TEXT NOT NULL,
    PRIMARY KEY (environment, key)
) STRICT;

CREATE TABLE api_tokens (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    role       TEXT NOT NULL,
    hash       TEXT NOT NULL UNIQUE, -- SHA-256 of the secret
    prefix     TEXT NOT NULL,
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL,
    revoked_at TEXT
) STRICT;

CREATE TABLE sdk_keys (
    id          TEXT PRIMARY KEY,
    environment TEXT NOT NULL REFERENCES environments (key),
    kind        TEXT NOT NULL,
    name        TEXT NOT NULL,
    hash        TEXT NOT NULL UNIQUE, -- SHA-256 of the secret
    prefix      TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    revoked_at  TEXT
) STRICT;
CREATE INDEX sdk_keys_environment ON sdk_keys (environment);

-- The hash-chained audit log. before_json and after_json are kept as text, byte for
-- byte, because the hash covers the exact bytes.
CREATE TABLE audit_log (
    seq         INTEGER PRIMARY KEY,
    logged_at   TEXT NOT NULL,
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL,
    environment TEXT NOT NULL DEFAULT '',
    target      TEXT NOT NULL,
    before_json TEXT,
    after_json  TEXT,
    reason      TEXT NOT NULL DEFAULT '',
    prev_hash   TEXT NOT NULL,
    hash        TEXT NOT NULL
) STRICT;
CREATE INDEX audit_log_target ON audit_log (target, seq);
CREATE INDEX audit_log_environment ON audit_log (environment, seq);

-- The durable event queue. AUTOINCREMENT: a seq is never reused, even after the
-- newest batches are pruned.
CREATE TABLE event_batches (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    environment TEXT NOT NULL REFERENCES environments (key),
    batch_id    TEXT NOT NULL,
    received_at TEXT NOT NULL,
    payload     BLOB NOT NULL,
    UNIQUE (environment, batch_id)
) STRICT;

-- +goose Down
DROP TABLE event_batches;
DROP TABLE audit_log;
DROP TABLE sdk_keys;
DROP TABLE api_tokens;
DROP TABLE segments;
DROP TABLE flag_states;
DROP TABLE flags;
DROP TABLE environments;
