// Package sqlstore implements [store.Store] once, over database/sql, for the SQLite and
// PostgreSQL engines. The two engines own their drivers, schemas and migrations and hand
// this package a [Dialect] for the few things that differ: how writers are serialised,
// how times are passed, and how a unique violation is recognised. Queries use $1-style
// placeholders, which both PostgreSQL and SQLite understand.
//
// Every mutation runs in one write transaction that first takes the engine's write lock,
// so mutations are serialised: optimistic-concurrency checks read the latest committed
// data, and the audit entry written in the same transaction is sealed onto the chain's
// true head. Reads that must be consistent (Snapshot) run in one read-only, repeatable-read
// transaction.
package sqlstore
