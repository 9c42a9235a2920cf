package postgres_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"hash/fnv"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver for the admin connection

	"github.com/ramp-release/ramp/flags"
	"github.com/ramp-release/ramp/internal/audit"
	"github.com/ramp-release/ramp/internal/store"
	"github.com/ramp-release/ramp/internal/store/postgres"
	"github.com/ramp-release/ramp/internal/store/storetest"
)

const urlEnv = "RAMP_TEST_POSTGRES_URL"

// server returns the test server's URL and an admin connection to it, or skips the
// test (fails it under CI=true) when RAMP_TEST_POSTGRES_URL is not set.
func server(t *testing.T) (string, *sql.DB) {
	t.Helper()
	base := os.Getenv(urlEnv)
	if base == "" {
		msg := "set " + urlEnv + "=postgres://postgres@127.0.0.1:5432/test?sslmode=disable to run the PostgreSQL contract tests"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Close() })
	return base, admin
}

// open opens a store in a fresh schema with a random name, dropped when t ends.
func open(t *testing.T, base string, admin *sql.DB) *postgres.Store {
	t.Helper()
	b := make([]byte, 6)
	rand.Read(b)
	schema := "ramp_test_" + hex.EncodeToString(b)
	if _, err := admin.ExecContext(t.Context(), `CREATE SCHEMA `+pgx.Identifier{schema}.Sanitize()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// t.Context() is done by now.
		if _, err := admin.Exec(`DROP SCHEMA ` + pgx.Identifier{schema}.Sanitize() + ` CASCADE`); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("%s is not a URL: %v", urlEnv, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	s, err := postgres.Open(t.Context(), u.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s
}

func TestContract(t *testing.T) {
	base, admin := server(t)
	storetest.Run(t, func(t *testing.T) store.Store { return open(t, base, admin) })
}

func TestAuditTamper(t *testing.T) {
	base, admin := server(t)
	s := open(t, base, admin)
	storetest.RunTamper(t, s, func(t *testing.T, seq int64) {
		if _, err := s.DB().ExecContext(t.Context(), `UPDATE audit_log SET reason = 'nothing to see' WHERE seq = $1`, seq); err != nil {
			t.Fatal(err)
		}
	})
}

// TestReplicas opens the same schema twice, as two replicas would, and writes through
// both at once: the lock row must keep one audit chain and every event batch once.
func TestReplicas(t *testing.T) {
	base, admin := server(t)
	a := open(t, base, admin)
	u, _ := url.Parse(base)
	var schema string
	if err := a.DB().QueryRowContext(t.Context(), `SELECT current_schema()`).Scan(&schema); err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	b, err := postgres.Open(t.Context(), u.String()) // migrations are already applied: a no-op
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ctx := t.Context()
	if _, err := a.CreateEnvironment(ctx, store.Environment{Key: "prod"}, store.Change{Actor: "alice"}); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 2)
	for _, s := range []*postgres.Store{a, b} {
		go func() {
			for i := range 20 {
				if _, err := s.AppendAudit(ctx, store.AuditEntry{Actor: "alice", Action: "sign_in", Target: "user:alice"}); err != nil {
					done <- err
					return
				}
				if _, _, err := s.AppendEventBatch(ctx, "prod", string(rune('a'+i)), []byte("x")); err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}()
	}
	for range 2 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	es, err := b.AllAudit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 41 {
		t.Errorf("%d audit entries; want 41", len(es))
	}
	if err := audit.Verify(es); err != nil {
		t.Error(err)
	}
	bs, err := a.EventBatches(ctx, 0, 100)
	if err != nil || len(bs) != 20 {
		t.Errorf("%d event batches, %v; want 20 (each id stored once)", len(bs), err)
	}
}

// TestOpenCreatesTheSchema checks that Open creates the schema search_path names.
func TestOpenCreatesTheSchema(t *testing.T) {
	base, admin := server(t)
	b := make([]byte, 6)
	rand.Read(b)
	schema := "ramp_test_" + hex.EncodeToString(b)
	t.Cleanup(func() { admin.Exec(`DROP SCHEMA IF EXISTS ` + schema + ` CASCADE`) })
	u, _ := url.Parse(base)
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	s, err := postgres.Open(t.Context(), u.String())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Ping(t.Context()); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := admin.QueryRowContext(t.Context(), `SELECT count(*) FROM pg_tables WHERE schemaname = $1 AND tablename = 'audit_log'`, schema).Scan(&n); err != nil || n != 1 {
		t.Errorf("audit_log in %s: count %d, %v; want 1", schema, n, err)
	}
}

// TestChangeFeed checks that a change committed through one replica reaches another
// replica's feed as the environment it changed, that stores in other schemas do not
// hear it, and that the feed survives losing its connection and then asks for a
// full resync.
func TestChangeFeed(t *testing.T) {
	base, admin := server(t)
	a := open(t, base, admin)
	var schema string
	if err := a.DB().QueryRowContext(t.Context(), `SELECT current_schema()`).Scan(&schema); err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(base)
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	b, err := postgres.Open(t.Context(), u.String())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	other := open(t, base, admin)

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	feed, err := b.Changes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	otherFeed, err := other.Changes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	next := func(feed <-chan string, what string) string {
		t.Helper()
		select {
		case env, ok := <-feed:
			if !ok {
				t.Fatalf("%s: the feed closed", what)
			}
			return env
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: no notification within 10s", what)
		}
		return ""
	}
	if got := next(feed, "on connecting"); got != store.AllEnvironments {
		t.Fatalf("on connecting the feed sent %q; want %q", got, store.AllEnvironments)
	}
	next(otherFeed, "the other schema's feed on connecting")

	change := store.Change{Actor: "alice"}
	for _, env := range []string{"prod", "dev"} {
		if _, err := a.CreateEnvironment(ctx, store.Environment{Key: env}, change); err != nil {
			t.Fatal(err)
		}
	}
	def := store.FlagDefinition{Key: "summarize", Type: flags.TypeBool, Variants: map[string]any{"on": true, "off": false}}
	if err := a.CreateFlag(ctx, def, store.FlagState{OffVariant: "off", Default: &flags.Allocation{Variant: "off"}}, change); err != nil {
		t.Fatal(err)
	}
	if got := next(feed, "after creating a flag"); got != store.AllEnvironments {
		t.Errorf("a flag created in every environment was announced as %q; want %q", got, store.AllEnvironments)
	}
	f, err := a.GetFlag(ctx, "dev", "summarize")
	if err != nil {
		t.Fatal(err)
	}
	f.State.Enabled = true
	if _, err := a.UpdateFlagState(ctx, "dev", "summarize", f.State, f.State.Version, change); err != nil {
		t.Fatal(err)
	}
	if got := next(feed, "after enabling the flag in dev"); got != "dev" {
		t.Errorf("a change in dev was announced as %q", got)
	}
	if _, err := a.PutNotificationChannel(ctx, store.NotificationChannel{Environment: "dev", Name: "hook", Type: "webhook", Config: []byte(`{}`)}, 0, change); err != nil {
		t.Fatal(err)
	}
	if got := next(feed, "after creating a notification channel"); got != store.ChannelsChanged {
		t.Errorf("a new notification channel was announced as %q; want %q", got, store.ChannelsChanged)
	}
	select {
	case env := <-otherFeed:
		t.Errorf("a store in another schema heard %q", env)
	default:
	}

	// Cut the feed's connection from the server side: it reconnects and asks for a
	// resync, and then hears changes again.
	channel := fmt.Sprintf("ramp_changes_%016x", fnv64(schema))
	res, err := admin.ExecContext(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query = $1`, `LISTEN "`+channel+`"`)
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		t.Fatalf("terminated %d listening backends; want 1", n)
	}
	if got := next(feed, "after losing the connection"); got != store.AllEnvironments {
		t.Errorf("after reconnecting the feed sent %q; want %q", got, store.AllEnvironments)
	}
	f.State.Enabled = false
	f.State.Version++
	if _, err := a.UpdateFlagState(ctx, "dev", "summarize", f.State, f.State.Version, change); err != nil {
		t.Fatal(err)
	}
	if got := next(feed, "after reconnecting and disabling the flag"); got != "dev" {
		t.Errorf("a change after the reconnection was announced as %q", got)
	}
	cancel()
	for range feed { // closed once ctx ends
	}
}

func fnv64(s string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	return h.Sum64()
}
