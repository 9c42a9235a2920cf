-- Metric definitions, the event aggregator's checkpoint, feedback comments and the
-- analysis history. Times are UTC text as in 00001; JSON is text.

-- +goose Up
CREATE TABLE metrics (
    key        TEXT PRIMARY KEY,
    spec       TEXT NOT NULL,        -- JSON store.MetricDefinition
    version    INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
) STRICT;

-- One row: the last event batch the aggregator folded in, and its state after it.
CREATE TABLE ingest_checkpoint (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    seq      INTEGER NOT NULL,
    state    BLOB NOT NULL,
    saved_at TEXT NOT NULL
) STRICT;

CREATE TABLE feedback (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    rollout_id TEXT NOT NULL,
    stage      INTEGER NOT NULL,
    stage_name TEXT NOT NULL,
    arm        TEXT NOT NULL,
    variant    TEXT NOT NULL,
    unit       TEXT NOT NULL,
    metric     TEXT NOT NULL,
    value      REAL NOT NULL,
    comment    TEXT NOT NULL,
    at         TEXT NOT NULL
) STRICT;
CREATE INDEX feedback_arm ON feedback (rollout_id, stage, arm, seq);

CREATE TABLE analysis_points (
    rollout_id TEXT NOT NULL,
    n          INTEGER NOT NULL,     -- 1, 2, … per rollout
    at         TEXT NOT NULL,
    stage      INTEGER NOT NULL,
    data       TEXT NOT NULL,
    PRIMARY KEY (rollout_id, n)
) STRICT;

-- +goose Down
DROP TABLE analysis_points;
DROP TABLE feedback;
DROP TABLE ingest_checkpoint;
DROP TABLE metrics;
