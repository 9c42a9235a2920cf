// Package postgres is ramp's PostgreSQL store (pgx v5 under database/sql), for running
// several stateless replicas against one database.
//
// The store lives in the connection's current schema: give search_path in the URL
// (postgres://host/db?search_path=ramp) to keep it apart from other data; Open creates
// that schema when it is missing. Writers serialise on a lock row per kind of write, so
// replicas never fork the audit chain and optimistic-concurrency checks always read the
// latest committed version.
package postgres
