-- The first schema of ramp's PostgreSQL store. Tables are created in the connection's
-- current schema (the first of search_path), so several stores can share a database.

-- +goose Up
-- One row per lock; writers serialise by locking a row (SELECT ... FOR UPDATE) for the
-- rest of their transaction. "write" covers configuration and the audit log, "events"
-- the event queue.
CREATE TABLE store_locks (
    name TEXT PRIMARY KEY
);
INSERT INTO store_locks (name) VALUES ('write'), ('events');

CREATE TABLE environments (
    key         TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    created_at  TIMESTAMPTZ NOT NULL,
    -- revision increases with every change visible in the environment.
    revision    BIGINT NOT NULL
);

-- A flag's definition, shared by all environments.
CREATE TABLE flags (
    key           TEXT PRIMARY KEY,
    type          TEXT NOT NULL,
    description   TEXT NOT NULL DEFAULT '',
    variants      JSONB NOT NULL,
    salt          TEXT NOT NULL DEFAULT '',
    bucket_by     TEXT NOT NULL DEFAULT '',
    metadata      JSONB,
    client_side   BOOLEAN NOT NULL DEFAULT false,
    tags          JSONB,
    -- the state the flag was created with, given to environments created later
    initial_state JSONB NOT NULL,
    version       BIGINT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL
);

-- A flag's state in one environment.
CREATE TABLE flag_states (
    environment        TEXT NOT NULL REFERENCES environments (key),
    flag               TEXT NOT NULL REFERENCES flags (key) ON DELETE CASCADE,
    enabled            BOOLEAN NOT NULL,
    off_variant        TEXT NOT NULL DEFAULT '',
    rules              JSONB,
    default_allocation JSONB,
    version            BIGINT NOT NULL,
    updated_at         TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (environment, flag)
);
CREATE INDEX flag_states_flag ON flag_states (flag);

CREATE TABLE segments (
    environment TEXT NOT NULL REFERENCES environments (key),
    key         TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    included    JSONB,
    excluded    JSONB,
    rules       JSONB,
    version     BIGINT NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (environment, key)
);

CREATE TABLE api_tokens (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    role       TEXT NOT NULL,
    hash       TEXT NOT NULL UNIQUE, -- SHA-256 of the secret
    prefix     TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    created_by TEXT NOT NULL,
    revoked_at TIMESTAMPTZ
);

CREATE TABLE sdk_keys (
    id          TEXT PRIMARY KEY,
    environment TEXT NOT NULL REFERENCES environments (key),
    kind        TEXT NOT NULL,
    name        TEXT NOT NULL,
    hash        TEXT NOT NULL UNIQUE, -- SHA-256 of the secret
    prefix      TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    revoked_at  TIMESTAMPTZ
);
CREATE INDEX sdk_keys_environment ON sdk_keys (environment);

-- The hash-chained audit log. before_json and after_json are TEXT, not JSONB, because
-- the hash covers the exact bytes and JSONB would rewrite them.
CREATE TABLE audit_log (
    seq         BIGINT PRIMARY KEY,
    logged_at   TIMESTAMPTZ NOT NULL,
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL,
    environment TEXT NOT NULL DEFAULT '',
    target      TEXT NOT NULL,
    before_json TEXT,
    after_json  TEXT,
    reason      TEXT NOT NULL DEFAULT '',
    prev_hash   TEXT NOT NULL,
    hash        TEXT NOT NULL
);
CREATE INDEX audit_log_target ON audit_log (target, seq);
CREATE INDEX audit_log_environment ON audit_log (environment, seq);

-- The durable event queue. Appends take the "events" lock until they commit, so seq
-- values become visible in order.
CREATE TABLE event_batches (
    seq         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    environment TEXT NOT NULL REFERENCES environments (key),
    batch_id    TEXT NOT NULL,
    received_at TIMESTAMPTZ NOT NULL,
    payload     BYTEA NOT NULL,
    UNIQUE (environment, batch_id)
);

-- +goose Down
DROP TABLE event_batches;
DROP TABLE audit_log;
DROP TABLE sdk_keys;
DROP TABLE api_tokens;
DROP TABLE segments;
DROP TABLE flag_states;
DROP TABLE flags;
DROP TABLE environments;
DROP TABLE store_locks;
