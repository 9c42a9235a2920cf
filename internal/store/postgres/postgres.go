package postgres

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"io/fs"
	"log/slog"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/ramp-release/ramp/internal/store"
	"github.com/ramp-release/ramp/internal/store/internal/sqlstore"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Store is a store.Store kept in PostgreSQL.
type Store struct {
	*sqlstore.Store
	db *sql.DB
	// cfg connects the change feed's own connection; channel is the NOTIFY channel
	// of the store's schema.
	cfg     *pgx.ConnConfig
	channel string
	log     *slog.Logger
}

var (
	_ store.Store      = (*Store)(nil)
	_ store.ChangeFeed = (*Store)(nil)
)

// Option configures Open.
type Option func(*Store)

// WithLog sets where the change feed reports losing and regaining its connection.
func WithLog(log *slog.Logger) Option { return func(s *Store) { s.log = log } }

// Open connects to the database at url (a postgres:// URL or a key=value connection
// string), creates the schema named first in its search_path when missing, and brings
// the store's tables up to date.
func Open(ctx context.Context, url string, opts ...Option) (_ *Store, err error) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		// pgx redacts the password in its message.
		return nil, fmt.Errorf("open PostgreSQL store: %w (expected e.g. postgres://user@host:5432/db?sslmode=disable)", err)
	}
	defer func() {
		if err != nil {
			err = fmt.Errorf("open PostgreSQL store on %s/%s: %w", cfg.Host, cfg.Database, err)
		}
	}()
	db := stdlib.OpenDB(*cfg)
	db.SetMaxOpenConns(16)
	db.SetMaxIdleConns(4)
	db.SetConnMaxIdleTime(5 * time.Minute)
	schema, err := setUp(ctx, db, cfg.RuntimeParams["search_path"])
	if err != nil {
		db.Close()
		return nil, err
	}
	channel := changesChannel(schema)
	d := sqlstore.Dialect{
		Lock: func(ctx context.Context, tx *sql.Tx, name string) error {
			var got string
			return tx.QueryRowContext(ctx, `SELECT name FROM store_locks WHERE name = $1 FOR UPDATE`, name).Scan(&got)
		},
		Time:              func(t time.Time) any { return t },
		IsUniqueViolation: isUniqueViolation,
		Notify: func(ctx context.Context, tx *sql.Tx, env string) error {
			_, err := tx.ExecContext(ctx, `SELECT pg_notify($1, $2)`, channel, env)
			return err
		},
		Now: func(ctx context.Context, tx *sql.Tx) (time.Time, error) {
			var now time.Time
			err := tx.QueryRowContext(ctx, `SELECT clock_timestamp()`).Scan(&now)
			return now, err
		},
		ShareLock: " FOR SHARE",
	}
	s := &Store{Store: sqlstore.New(db, db, d), db: db, cfg: cfg, channel: channel,
		log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	for _, o := range opts {
		o(s)
	}
	return s, nil
}

// changesChannel is the NOTIFY channel of the store in schema. Channels are per
// database, so stores in other schemas of the same database need channels of their
// own; a hash keeps the name a short, plain identifier.
func changesChannel(schema string) string {
	h := fnv.New64a()
	h.Write([]byte(schema))
	return fmt.Sprintf("ramp_changes_%016x", h.Sum64())
}

// setUp creates the schema searchPath names first, if any, migrates it, and
// returns its name.
func setUp(ctx context.Context, db *sql.DB, searchPath string) (string, error) {
	if err := db.PingContext(ctx); err != nil {
		return "", err
	}
	if first := strings.TrimSpace(strings.Split(searchPath, ",")[0]); first != "" && first != `"$user"` && first != "public" {
		// Unquoted identifiers fold to lower case, as PostgreSQL reads search_path.
		name := strings.ToLower(first)
		if strings.HasPrefix(first, `"`) {
			name = strings.ReplaceAll(strings.Trim(first, `"`), `""`, `"`)
		}
		if _, err := db.ExecContext(ctx, `CREATE SCHEMA IF NOT EXISTS `+pgx.Identifier{name}.Sanitize()); err != nil {
			return "", fmt.Errorf("create schema %q: %w", name, err)
		}
	}
	var schema sql.NullString
	if err := db.QueryRowContext(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		return "", err
	}
	if !schema.Valid {
		return "", errors.New("no schema of the search_path exists; create one or name one in the URL (?search_path=ramp)")
	}
	return schema.String, migrate(ctx, db, schema.String)
}

// migrate applies the embedded migrations that schema has not seen yet. Replicas
// starting together take turns through an advisory lock keyed by the schema, so
// stores in other schemas of the database migrate independently.
func migrate(ctx context.Context, db *sql.DB, schema string) error {
	fsys, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return err
	}
	h := fnv.New64a()
	h.Write([]byte("ramp migrations " + schema))
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockID(int64(h.Sum64())), lock.WithLockTimeout(1, 300))
	if err != nil {
		return err
	}
	p, err := goose.NewProvider(goose.DialectPostgres, db, fsys,
		goose.WithDisableGlobalRegistry(true), goose.WithSessionLocker(locker))
	if err != nil {
		return fmt.Errorf("prepare migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrate schema %q: %w", schema, err)
	}
	return nil
}

func isUniqueViolation(err error) bool {
	var e *pgconn.PgError
	return errors.As(err, &e) && e.Code == "23505"
}

// DB returns the database handle, for tests that edit rows directly.
func (s *Store) DB() *sql.DB { return s.db }
