-- Metric definitions, the event aggregator's checkpoint, feedback comments and the
-- analysis history.

-- +goose Up
INSERT INTO store_locks (name) VALUES ('ingest');

CREATE TABLE metrics (
    key        TEXT PRIMARY KEY,
    spec       TEXT NOT NULL,        -- JSON store.MetricDefinition
    version    BIGINT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

-- One row: the last event batch the aggregator folded in, and its state after it.
CREATE TABLE ingest_checkpoint (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    seq      BIGINT NOT NULL,
    state    BYTEA NOT NULL,
    saved_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE feedback (
    seq        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    rollout_id TEXT NOT NULL,
    stage      INTEGER NOT NULL,
    stage_name TEXT NOT NULL,
    arm        TEXT NOT NULL,
    variant    TEXT NOT NULL,
    unit       TEXT NOT NULL,
    metric     TEXT NOT NULL,
    value      DOUBLE PRECISION NOT NULL,
    comment    TEXT NOT NULL,
    at         TIMESTAMPTZ NOT NULL
);
CREATE INDEX feedback_arm ON feedback (rollout_id, stage, arm, seq);

CREATE TABLE analysis_points (
    rollout_id TEXT NOT NULL,
    n          BIGINT NOT NULL,      -- 1, 2, … per rollout
    at         TIMESTAMPTZ NOT NULL,
    stage      INTEGER NOT NULL,
    data       TEXT NOT NULL,
    PRIMARY KEY (rollout_id, n)
);

-- +goose Down
DROP TABLE analysis_points;
DROP TABLE feedback;
DROP TABLE ingest_checkpoint;
DROP TABLE metrics;
DELETE FROM store_locks WHERE name = 'ingest';
