-- Leases: named, expiring claims that one process holds at a time, each with a
-- fencing epoch that increases whenever the lease passes to a new holder. The
-- controller's leader holds the lease named 'controller' (CLARIFICATIONS §35).
-- Times are UTC text as in 00001.

-- +goose Up
CREATE TABLE leader_lease (
    name        TEXT PRIMARY KEY,
    holder      TEXT NOT NULL,        -- '' before anyone took it
    epoch       INTEGER NOT NULL,     -- the fencing token: +1 with every new holder
    expires_at  TEXT NOT NULL,
    acquired_at TEXT NOT NULL         -- when the current holder took it
) STRICT;

-- +goose Down
DROP TABLE leader_lease;
