-- Leases: named, expiring claims that one replica holds at a time, each with a
-- fencing epoch that increases whenever the lease passes to a new holder. The
-- controller's leader holds the lease named 'controller' (CLARIFICATIONS §35).
-- Plain rows and conditional updates, so that it works on PostgreSQL-compatible
-- databases without advisory locks.

-- +goose Up
CREATE TABLE leader_lease (
    name        TEXT PRIMARY KEY,
    holder      TEXT NOT NULL,        -- '' before anyone took it
    epoch       BIGINT NOT NULL,      -- the fencing token: +1 with every new holder
    expires_at  TIMESTAMPTZ NOT NULL, -- by the database's clock
    acquired_at TIMESTAMPTZ NOT NULL  -- when the current holder took it
);

-- +goose Down
DROP TABLE leader_lease;
