package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/ramp-release/ramp/internal/store"
)

// Lock names; writers taking the same lock are serialised.
const (
	// LockWrite serialises every mutation of configuration and the audit log.
	LockWrite = "write"
	// LockEvents serialises appends to the event queue, so that sequence numbers
	// become visible in order and a consumer reading "after seq" never skips one.
	LockEvents = "events"
)

// Dialect is what differs between engines.
type Dialect struct {
	// Lock takes the named lock until tx ends. Nil when beginning a write
	// transaction already serialises writers (SQLite's BEGIN IMMEDIATE on its single
	// writer connection).
	Lock func(ctx context.Context, tx *sql.Tx, name string) error
	// Time turns a UTC time into a query argument for a time column.
	Time func(time.Time) any
	// IsUniqueViolation reports whether err is a unique-constraint violation.
	IsUniqueViolation func(err error) bool
	// Notify, when set, tells other processes sharing the database that env's
	// revision changes when tx commits (store.AllEnvironments: every environment's).
	// PostgreSQL sends a NOTIFY, which is delivered at commit and only then.
	Notify func(ctx context.Context, tx *sql.Tx, env string) error
	// Now, when set, reads the database's clock inside tx: leases expire by it, so
	// that replicas whose clocks differ still agree on who holds one. Nil uses the
	// process's clock (one process, or one machine, uses the database).
	Now func(ctx context.Context, tx *sql.Tx) (time.Time, error)
	// ShareLock is appended to a SELECT of one row to keep it from changing until
	// the transaction ends (" FOR SHARE"); "" when write transactions already
	// exclude each other.
	ShareLock string
}

// Default and maximum sizes of a page of results.
const (
	DefaultLimit = 100
	MaxLimit     = 1000
)

// Store implements store.Store over database/sql.
type Store struct {
	w, r *sql.DB
	d    Dialect
	now  func() time.Time
}

// New returns a Store that writes through w and reads through r (they may be the same).
// The store owns both and closes them on Close.
func New(w, r *sql.DB, d Dialect) *Store {
	return &Store{w: w, r: r, d: d, now: func() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }}
}

var _ store.Store = (*Store)(nil)

// Ping checks that the store answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.w.PingContext(ctx); err != nil {
		return fmt.Errorf("ping store: %w", err)
	}
	if s.r != s.w {
		if err := s.r.PingContext(ctx); err != nil {
			return fmt.Errorf("ping store readers: %w", err)
		}
	}
	return nil
}

// Close closes the database handles.
func (s *Store) Close() error {
	err := s.w.Close()
	if s.r != s.w {
		err = errors.Join(err, s.r.Close())
	}
	return err
}

// wrap prefixes a non-nil *err with the operation, in the manner of pkgsite's derrors.Wrap.
func wrap(err *error, format string, args ...any) {
	if *err != nil {
		*err = fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), *err)
	}
}

// tx is a transaction with the time the mutation happens at.
type tx struct {
	*sql.Tx
	ctx context.Context
	s   *Store
	now time.Time
}

// write runs fn in a write transaction holding lock ("" for none: the rows fn
// updates are all it locks), and commits when fn succeeds.
func (s *Store) write(ctx context.Context, lock string, fn func(t *tx) error) error {
	sqlTx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin write transaction: %w", err)
	}
	defer sqlTx.Rollback() //nolint:errcheck // a no-op after Commit
	if s.d.Lock != nil && lock != "" {
		if err := s.d.Lock(ctx, sqlTx, lock); err != nil {
			return fmt.Errorf("take the %s lock: %w", lock, err)
		}
	}
	// The clock is read under the lock, so audit times follow the chain's order.
	t := &tx{Tx: sqlTx, ctx: ctx, s: s, now: s.now()}
	if err := fn(t); err != nil {
		return err
	}
	if err := sqlTx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// read runs fn in a read-only transaction that sees one consistent state.
func (s *Store) read(ctx context.Context, fn func(t *tx) error) error {
	sqlTx, err := s.r.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	if err != nil {
		return fmt.Errorf("begin read transaction: %w", err)
	}
	defer sqlTx.Rollback() //nolint:errcheck // read-only: nothing to commit
	return fn(&tx{Tx: sqlTx, ctx: ctx, s: s, now: s.now()})
}

func (t *tx) exec(query string, args ...any) (sql.Result, error) {
	return t.ExecContext(t.ctx, query, args...)
}

func (t *tx) query(query string, args ...any) (*sql.Rows, error) {
	return t.QueryContext(t.ctx, query, args...)
}

func (t *tx) queryRow(query string, args ...any) *sql.Row {
	return t.QueryRowContext(t.ctx, query, args...)
}

// time converts a time for a query argument.
func (t *tx) time(v time.Time) any { return t.s.d.Time(v.UTC().Truncate(time.Microsecond)) }

// nullTime converts an optional time for a query argument.
func (t *tx) nullTime(v *time.Time) any {
	if v == nil {
		return nil
	}
	return t.time(*v)
}

// exists reports whether query returns a row.
func (t *tx) exists(query string, args ...any) (bool, error) {
	var one int
	err := t.queryRow(query, args...).Scan(&one)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return false, nil
	case err != nil:
		return false, err
	}
	return true, nil
}

// environmentExists fails with store.ErrNotFound when env is not an environment.
func (t *tx) environmentExists(env string) error {
	ok, err := t.exists(`SELECT 1 FROM environments WHERE key = $1`, env)
	if err != nil {
		return fmt.Errorf("look up environment %q: %w", env, err)
	}
	if !ok {
		return fmt.Errorf("environment %q %w", env, store.ErrNotFound)
	}
	return nil
}

// bumpRevision increases the revision of env, or of every environment when env is "".
func (t *tx) bumpRevision(env string) error {
	var err error
	if env == "" {
		_, err = t.exec(`UPDATE environments SET revision = revision + 1`)
	} else {
		_, err = t.exec(`UPDATE environments SET revision = revision + 1 WHERE key = $1`, env)
	}
	if err != nil {
		return fmt.Errorf("advance the revision: %w", err)
	}
	if env == "" {
		env = store.AllEnvironments
	}
	return t.notify(env)
}

// notify tells the other processes sharing the database about the change (see
// store.ChangeFeed) when the transaction commits.
func (t *tx) notify(change string) error {
	if t.s.d.Notify == nil {
		return nil
	}
	if err := t.s.d.Notify(t.ctx, t.Tx, change); err != nil {
		return fmt.Errorf("notify the other replicas: %w", err)
	}
	return nil
}

// limit applies the default and the cap to a requested page size.
func limit(n int) int {
	switch {
	case n <= 0:
		return DefaultLimit
	case n > MaxLimit:
		return MaxLimit
	}
	return n
}
