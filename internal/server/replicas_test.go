package server_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver for the admin connection

	"github.com/ramp-release/ramp/internal/server"
	"github.com/ramp-release/ramp/internal/store"
	"github.com/ramp-release/ramp/internal/store/postgres"
	"github.com/ramp-release/ramp/internal/store/sqlite"
)

// replica starts a server over st and returns an env for it; the admin token and
// SDK key are the first replica's (they live in the shared store).
func replica(t *testing.T, st store.Store, cfg server.Config, first *env) *env {
	t.Helper()
	cfg.Heartbeat = time.Hour
	srv := server.New(st, nil, cfg)
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		srv.Close()
		hs.Close()
		st.Close()
	})
	e := &env{t: t, url: hs.URL, srv: srv}
	if first != nil {
		e.admin, e.sdkKey = first.admin, first.sdkKey
		return e
	}
	token, err := srv.Bootstrap(context.Background())
	if err != nil || token == "" {
		t.Fatalf("Bootstrap = %q, %v", token, err)
	}
	e.admin = token
	e.mustDo("POST", "/api/v1/environments", token, `{"key":"production"}`, http.StatusCreated, nil)
	var key struct{ Secret string }
	e.mustDo("POST", "/api/v1/environments/production/sdk-keys", token, `{"kind":"server"}`, http.StatusCreated, &key)
	e.sdkKey = key.Secret
	return e
}

// checkFanOut makes changes on a and checks that b's stream sees each of them.
func checkFanOut(t *testing.T, a, b *env) {
	t.Helper()
	a.mustDo("POST", "/api/v1/flags", a.admin, summarizeFlag, http.StatusCreated, nil)
	ch := openStream(t, b, "")
	if first := next(t, ch); first.event != "snapshot" {
		t.Fatalf("first event on B = %+v", first)
	}
	for i, op := range []string{"disable", "enable", "disable"} {
		a.mustDo("POST", "/api/v1/environments/production/flags/summarize/"+op, a.admin, "", http.StatusOK, nil)
		ev := next(t, ch)
		_, h, _ := a.do("GET", "/sdk/v1/flags", a.sdkKey, "")
		if want := h.Get("ETag"); `"production-`+ev.id+`"` != want {
			t.Errorf("change %d (%s) on A: B's stream sent revision %s; A serves %s", i, op, ev.id, want)
		}
	}
}

// TestChangesReachEveryReplica runs two servers over one store, as two replicas
// behind a load balancer, and checks that a change made through one reaches the
// other's SDK streams.
func TestChangesReachEveryReplica(t *testing.T) {
	t.Run("by polling revisions, over a store without a change feed (SQLite)", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "ramp.db")
		open := func() store.Store {
			st, err := sqlite.Open(context.Background(), path)
			if err != nil {
				t.Fatal(err)
			}
			return st
		}
		cfg := server.Config{ChangePoll: 20 * time.Millisecond}
		a := replica(t, open(), cfg, nil)
		b := replica(t, open(), cfg, a)
		checkFanOut(t, a, b)
	})
	t.Run("by LISTEN/NOTIFY on PostgreSQL, with polling out of the way", func(t *testing.T) {
		u := freshSchema(t)
		open := func() store.Store {
			st, err := postgres.Open(context.Background(), u)
			if err != nil {
				t.Fatal(err)
			}
			return st
		}
		// An hour between polls: only the notifications can deliver in time.
		cfg := server.Config{ChangePoll: time.Hour}
		a := replica(t, open(), cfg, nil)
		b := replica(t, open(), cfg, a)
		checkFanOut(t, a, b)
	})
}

// freshSchema returns RAMP_TEST_POSTGRES_URL with a search_path naming a new schema,
// dropped when t ends. It skips t without the variable (fails it under CI=true).
func freshSchema(t *testing.T) string {
	t.Helper()
	base := os.Getenv("RAMP_TEST_POSTGRES_URL")
	if base == "" {
		msg := "set RAMP_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test?sslmode=disable to run the PostgreSQL replica tests"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 6)
	rand.Read(b)
	schema := "ramp_test_" + hex.EncodeToString(b)
	if _, err := admin.Exec(`CREATE SCHEMA ` + pgx.Identifier{schema}.Sanitize()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		admin.Exec(`DROP SCHEMA ` + pgx.Identifier{schema}.Sanitize() + ` CASCADE`)
		admin.Close()
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
