package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/pressly/goose/v3"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/ramp-release/ramp/internal/store"
	"github.com/ramp-release/ramp/internal/store/internal/sqlstore"
)

//go:embed migrations/*.sql
var migrations embed.FS

// busyTimeout is how long a connection waits for a lock another process holds.
const busyTimeout = 10 * time.Second

// Store is a store.Store kept in one SQLite file.
type Store struct {
	*sqlstore.Store
	w *sql.DB
}

var _ store.Store = (*Store)(nil)

// Open opens (creating it and its directory when missing) the SQLite database at path
// and brings its schema up to date.
func Open(ctx context.Context, path string) (_ *Store, err error) {
	defer func() {
		if err != nil {
			err = fmt.Errorf("open SQLite store %s: %w", path, err)
		}
	}()
	if path == "" || path == ":memory:" || strings.HasPrefix(path, "file:") || strings.ContainsRune(path, '?') {
		return nil, errors.New("give the path of a database file (it is created when missing; no URI, no '?')")
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, err
	}
	// Every connection waits for locks held by other processes, enforces foreign keys
	// and syncs in WAL's NORMAL mode; the writer also switches the file to WAL (a
	// lasting setting) and begins its transactions IMMEDIATE, readers are query-only.
	common := url.Values{
		"_busy_timeout": {fmt.Sprint(busyTimeout.Milliseconds())},
		"_foreign_keys": {"1"},
		"_synchronous":  {"NORMAL"},
	}
	params := func(extra ...string) string {
		q := url.Values{}
		for k, v := range common {
			q[k] = v
		}
		for i := 0; i+1 < len(extra); i += 2 {
			q.Set(extra[i], extra[i+1])
		}
		return path + "?" + q.Encode()
	}

	w, err := sql.Open("sqlite", params("_journal_mode", "WAL", "_txlock", "immediate"))
	if err != nil {
		return nil, err
	}
	// One writer: mutations queue for this connection instead of contending for the
	// database lock.
	w.SetMaxOpenConns(1)
	w.SetConnMaxIdleTime(0)
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return nil, err
	}
	if err := migrate(ctx, w); err != nil {
		w.Close()
		return nil, err
	}
	r, err := sql.Open("sqlite", params("_query_only", "1"))
	if err != nil {
		w.Close()
		return nil, err
	}
	r.SetMaxOpenConns(max(4, runtime.NumCPU()))
	r.SetMaxIdleConns(max(4, runtime.NumCPU()))
	d := sqlstore.Dialect{
		Time:              func(t time.Time) any { return t.Format(sqlstore.TimeLayout) },
		IsUniqueViolation: isUniqueViolation,
	}
	return &Store{Store: sqlstore.New(w, r, d), w: w}, nil
}

// migrate applies the embedded migrations that db has not seen yet.
func migrate(ctx context.Context, db *sql.DB) error {
	fsys, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return err
	}
	p, err := goose.NewProvider(goose.DialectSQLite3, db, fsys, goose.WithDisableGlobalRegistry(true))
	if err != nil {
		return fmt.Errorf("prepare migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

func isUniqueViolation(err error) bool {
	var e *sqlite.Error
	if !errors.As(err, &e) {
		return false
	}
	return e.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || e.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
}

// DB returns the writer's database handle, for tests that edit rows directly.
func (s *Store) DB() *sql.DB { return s.w }
