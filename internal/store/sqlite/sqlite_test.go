package sqlite_test

import (
	"path/filepath"
	"testing"

	"github.com/ramp-release/ramp/internal/audit"
	"github.com/ramp-release/ramp/internal/store"
	"github.com/ramp-release/ramp/internal/store/sqlite"
	"github.com/ramp-release/ramp/internal/store/storetest"
)

// open opens a store in a new file of its own, closed when t ends.
func open(t *testing.T) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "data", "ramp.db"))
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
	storetest.Run(t, func(t *testing.T) store.Store { return open(t) })
}

func TestAuditTamper(t *testing.T) {
	s := open(t)
	storetest.RunTamper(t, s, func(t *testing.T, seq int64) {
		if _, err := s.DB().ExecContext(t.Context(), `UPDATE audit_log SET reason = 'nothing to see' WHERE seq = $1`, seq); err != nil {
			t.Fatal(err)
		}
	})
}

// TestReopen checks that data and the audit chain survive closing and reopening the
// file, and that migrations run again without harm.
func TestReopen(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "ramp.db")
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateEnvironment(ctx, store.Environment{Key: "prod"}, store.Change{Actor: "alice"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.GetEnvironment(ctx, "prod"); err != nil {
		t.Errorf("after reopening: %v", err)
	}
	if _, err := s.AppendAudit(ctx, store.AuditEntry{Actor: "alice", Action: "sign_in", Target: "user:alice"}); err != nil {
		t.Fatal(err)
	}
	es, err := s.AllAudit(ctx)
	if err != nil || len(es) != 2 {
		t.Fatalf("after reopening: %d entries, %v; want 2", len(es), err)
	}
}

// TestTwoProcesses opens the same file twice, as two ramp processes would, and writes
// through both at once: the busy timeout and IMMEDIATE transactions must keep every
// write and one audit chain.
func TestTwoProcesses(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "ramp.db")
	a, b := openPath(t, path), openPath(t, path)
	done := make(chan error, 2)
	for _, s := range []*sqlite.Store{a, b} {
		go func() {
			for range 25 {
				if _, err := s.AppendAudit(ctx, store.AuditEntry{Actor: "alice", Action: "sign_in", Target: "user:alice"}); err != nil {
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
	es, err := a.AllAudit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 50 {
		t.Errorf("%d entries; want 50", len(es))
	}
	if err := audit.Verify(es); err != nil {
		t.Error(err)
	}
}

func openPath(t *testing.T, path string) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}
