-- Release plans, rollouts, their approvals and decision log, and notification
-- channels and deliveries. Times are UTC text as in 00001; JSON is text.

-- +goose Up
-- Saved plans, also usable as the user's own templates.
CREATE TABLE plans (
    name       TEXT PRIMARY KEY,
    spec       TEXT NOT NULL,        -- JSON rollout.Plan
    version    INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
) STRICT;

-- One run of a plan for one flag in one environment. No foreign key to flags: the
-- history of a rollout outlives its flag.
CREATE TABLE rollouts (
    id           TEXT PRIMARY KEY,
    plan_name    TEXT NOT NULL DEFAULT '',
    plan         TEXT NOT NULL,      -- JSON snapshot of the plan
    flag         TEXT NOT NULL,
    environment  TEXT NOT NULL REFERENCES environments (key),
    status       TEXT NOT NULL,      -- state.status, for queries
    state        TEXT NOT NULL,      -- JSON rollout.State
    waiting      TEXT,               -- JSON array of hold reasons
    fingerprint  TEXT NOT NULL DEFAULT '',
    requested_by TEXT NOT NULL,
    version      INTEGER NOT NULL,
    -- the highest fencing epoch of the controller writes (CLARIFICATIONS §35)
    epoch        INTEGER NOT NULL,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL
) STRICT;
CREATE INDEX rollouts_flag ON rollouts (environment, flag, created_at);
CREATE INDEX rollouts_created ON rollouts (created_at);
-- At most one unfinished rollout per flag and environment.
CREATE UNIQUE INDEX rollouts_one_active ON rollouts (environment, flag)
    WHERE status IN ('draft', 'scheduled', 'running', 'paused');

CREATE TABLE rollout_approvals (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    rollout_id    TEXT NOT NULL REFERENCES rollouts (id),
    stage         INTEGER NOT NULL,
    approver      TEXT NOT NULL,
    approver_role TEXT NOT NULL,
    requester     TEXT NOT NULL,
    approved_at   TEXT NOT NULL
) STRICT;
CREATE INDEX rollout_approvals_rollout ON rollout_approvals (rollout_id, id);

CREATE TABLE rollout_decisions (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    rollout_id   TEXT NOT NULL REFERENCES rollouts (id),
    decided_at   TEXT NOT NULL,
    actor        TEXT NOT NULL,
    kind         TEXT NOT NULL,
    action       TEXT NOT NULL DEFAULT '',
    from_status  TEXT NOT NULL,
    to_status    TEXT NOT NULL,
    from_stage   INTEGER NOT NULL,
    to_stage     INTEGER NOT NULL,
    reason       TEXT NOT NULL,
    holds        TEXT,               -- JSON array
    evidence     TEXT,               -- JSON rollout.Evidence
    flag_version INTEGER NOT NULL DEFAULT 0,
    audit_seq    INTEGER NOT NULL
) STRICT;
CREATE INDEX rollout_decisions_rollout ON rollout_decisions (rollout_id, seq);

-- config holds the integration's settings with secrets in clear: the API never
-- returns it.
CREATE TABLE notification_channels (
    environment TEXT NOT NULL REFERENCES environments (key),
    name        TEXT NOT NULL,
    type        TEXT NOT NULL,
    kinds       TEXT,                -- JSON array; NULL for every kind
    config      TEXT NOT NULL,
    version     INTEGER NOT NULL,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    PRIMARY KEY (environment, name)
) STRICT;

CREATE TABLE notification_deliveries (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    channel     TEXT NOT NULL,
    environment TEXT NOT NULL,
    event_id    TEXT NOT NULL,
    kind        TEXT NOT NULL,
    flag        TEXT NOT NULL,
    rollout_id  TEXT NOT NULL DEFAULT '',
    dedup_key   TEXT NOT NULL DEFAULT '',
    status      TEXT NOT NULL,
    attempts    INTEGER NOT NULL,
    last_error  TEXT NOT NULL DEFAULT '',
    queued_at   TEXT NOT NULL,
    done_at     TEXT NOT NULL
) STRICT;
CREATE INDEX notification_deliveries_environment ON notification_deliveries (environment, seq);
CREATE INDEX notification_deliveries_rollout ON notification_deliveries (rollout_id, seq);

-- +goose Down
DROP TABLE notification_deliveries;
DROP TABLE notification_channels;
DROP TABLE rollout_decisions;
DROP TABLE rollout_approvals;
DROP TABLE rollouts;
DROP TABLE plans;
