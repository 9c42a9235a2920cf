// Package sqlite is ramp's embedded store: one SQLite file (modernc.org/sqlite, pure Go)
// in WAL mode, so ramp needs no database server.
//
// Writes go through a single connection whose transactions begin IMMEDIATE, so
// mutations queue in Go rather than failing with SQLITE_BUSY, and a busy timeout
// covers any other process that opens the file. Reads use a small pool of query-only
// connections and, thanks to WAL, never wait for the writer.
//
// Durability: synchronous=NORMAL in WAL mode. A commit survives the ramp process being
// killed at any point; an operating-system crash or power loss may lose the last
// commits before a checkpoint, but never corrupts the file or forks the audit chain.
package sqlite
