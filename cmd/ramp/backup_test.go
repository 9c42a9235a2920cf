package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// serveOn runs `ramp serve` in-process over storeURL and returns the environment
// of a CLI user; token is the admin token when the store already has one.
func serveOn(t *testing.T, storeURL, token string) map[string]string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var stdout bytes.Buffer
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- serve(ctx, &stdout, io.Discard, "127.0.0.1:0", storeURL, "text", ready) }()
	var addr string
	select {
	case addr = <-ready:
	case err := <-done:
		t.Fatalf("serve ended: %v", err)
	case <-time.After(60 * time.Second):
		t.Fatal("serve did not start")
	}
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	if token == "" {
		token = regexp.MustCompile(`ramp_api_[a-z0-9]+`).FindString(stdout.String())
	}
	return map[string]string{"RAMP_URL": "http://" + addr, "RAMP_TOKEN": token}
}

// TestBackupAndRestoreOnPostgres checks the two ways docs/operations.md gives to
// back ramp up: `ramp export` (configuration as YAML) applied to a fresh
// installation gives back the same configuration, and pg_dump of the schema
// restored into another database gives back everything — configuration, rollouts
// and an audit log whose hash chain still verifies.
func TestBackupAndRestoreOnPostgres(t *testing.T) {
	base := postgresBase(t)
	dir := t.TempDir()
	src := newDatabase(t, base)
	env := serveOn(t, src.url, "")
	flagFile := filepath.Join(dir, "summarize.yaml")
	os.WriteFile(flagFile, []byte(`key: summarize
type: json
variants:
  control:   {model: small-v1, temperature: 0.2}
  treatment: {model: large-v2, temperature: 0.1}
off_variant: control
enabled: true
rules:
  - id: eu-first
    conditions: [{attribute: country, op: in, values: [DE, FR]}]
    serve: {variant: treatment}
default:
  split: [{variant: treatment, weight: 10000}, {variant: control, weight: 90000}]
`), 0o644)
	segFile := filepath.Join(dir, "internal.yaml")
	os.WriteFile(segFile, []byte("key: internal\nincluded: [ana, bo]\nrules:\n  - conditions: [{attribute: email, op: ends_with, value: \"@acme.com\"}]\n"), 0o644)
	planFile := filepath.Join(dir, "plan.yaml")
	os.WriteFile(planFile, []byte(`name: summarize-production
flag: summarize
environment: production
treatment: treatment
control: control
stages:
  - {name: ring-10, percent: 10, min_duration: 1h}
  - {name: ring-100, percent: 100, min_duration: 1h}
guardrails:
  - {metric: error_rate, direction: increase, tolerance: {relative: 0.1}}
`), 0o644)
	mustRamp(t, env, "flags", "create", "-f", flagFile)
	mustRamp(t, env, "segments", "create", "-f", segFile, "-e", "production")
	mustRamp(t, env, "plans", "apply", "-f", planFile)
	mustRamp(t, env, "flags", "disable", "summarize", "-e", "development", "--reason", "not yet")
	id := regexp.MustCompile(`ro_[0-9a-f]+`).FindString(mustRamp(t, env, "rollout", "create", "--plan", "summarize-production"))
	mustRamp(t, env, "rollout", "start", id, "--reason", "backup test")
	exported := filepath.Join(dir, "ramp.yaml")
	mustRamp(t, env, "export", "-f", exported)
	want, _ := os.ReadFile(exported)

	t.Run("ramp export, then ramp apply to a fresh installation", func(t *testing.T) {
		dst := newDatabase(t, base)
		fresh := serveOn(t, dst.url, "")
		if out := mustRamp(t, fresh, "apply", "-f", exported); !strings.Contains(out, "applied") {
			t.Fatalf("apply:\n%s", out)
		}
		again := filepath.Join(t.TempDir(), "again.yaml")
		mustRamp(t, fresh, "export", "-f", again)
		if got, _ := os.ReadFile(again); !bytes.Equal(got, want) {
			t.Errorf("the restored installation exports differently:\n--- original\n%s\n--- restored\n%s", want, got)
		}
		if out := mustRamp(t, fresh, "apply", "-f", exported); !strings.Contains(out, "no changes") {
			t.Errorf("applying the export again changed something:\n%s", out)
		}
	})

	t.Run("pg_dump of the schema, pg_restore into another database", func(t *testing.T) {
		for _, tool := range []string{"pg_dump", "pg_restore"} {
			if _, err := exec.LookPath(tool); err != nil {
				msg := tool + " is missing: apt-get install -y postgresql-client"
				if os.Getenv("CI") == "true" {
					t.Fatal(msg)
				}
				t.Skip(msg)
			}
		}
		dump := filepath.Join(t.TempDir(), "ramp.dump")
		if out, err := exec.Command("pg_dump", "--format=custom", "--schema="+src.schema, "--file="+dump, pgDSN(t, base)).CombinedOutput(); err != nil {
			t.Fatalf("pg_dump: %v\n%s", err, out)
		}
		restoreURL := newDatabaseNamed(t, base)
		if out, err := exec.Command("pg_restore", "--no-owner", "--dbname="+pgDSN(t, restoreURL), dump).CombinedOutput(); err != nil {
			t.Fatalf("pg_restore: %v\n%s", err, out)
		}
		u, _ := url.Parse(restoreURL)
		q := u.Query()
		q.Set("search_path", src.schema)
		u.RawQuery = q.Encode()
		restored := serveOn(t, u.String(), env["RAMP_TOKEN"])
		again := filepath.Join(t.TempDir(), "again.yaml")
		mustRamp(t, restored, "export", "-f", again)
		if got, _ := os.ReadFile(again); !bytes.Equal(got, want) {
			t.Errorf("the restored database exports differently:\n--- original\n%s\n--- restored\n%s", want, got)
		}
		if out := mustRamp(t, restored, "audit", "verify"); !strings.Contains(out, "intact") {
			t.Errorf("audit verify on the restored database:\n%s", out)
		}
		if out := mustRamp(t, restored, "rollout", "status", id); !strings.Contains(out, "running") {
			t.Errorf("the rollout on the restored database:\n%s", out)
		}
	})
}

// pgDSN turns a postgres:// URL into what libpq tools accept: the same URL without
// the parameters only pgx knows.
func pgDSN(t *testing.T, u string) string {
	t.Helper()
	p, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	q := p.Query()
	q.Del("search_path")
	p.RawQuery = q.Encode()
	return p.String()
}

// newDatabaseNamed creates an empty database next to base's, dropped when the test
// ends, and returns its URL.
func newDatabaseNamed(t *testing.T, base string) string {
	t.Helper()
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 6)
	rand.Read(b)
	name := "ramp_restore_" + hex.EncodeToString(b)
	if _, err := admin.Exec(`CREATE DATABASE ` + pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := admin.Exec(`DROP DATABASE ` + pgx.Identifier{name}.Sanitize() + ` WITH (FORCE)`); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
		admin.Close()
	})
	u, _ := url.Parse(base)
	u.Path = "/" + name
	return u.String()
}
