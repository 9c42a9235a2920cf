package storetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/ramp-release/ramp/flags"
	"github.com/ramp-release/ramp/internal/audit"
	"github.com/ramp-release/ramp/internal/store"
)

// testCase is one rule of the contract.
type testCase struct {
	name        string
	explanation string
	f           func(t *testing.T, s store.Store)
}

// Run runs every case of the contract, each in a subtest of its own against a fresh,
// empty store from open. open must register the store's cleanup (Close) with t. The
// cases run in parallel.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	for _, group := range [][]testCase{configCases, recordCases, rolloutCases, ingestCases, leaseCases} {
		for _, c := range group {
			t.Run(c.name, func(t *testing.T) {
				t.Parallel()
				defer func() {
					if t.Failed() {
						t.Logf("This case checks that %s", c.explanation)
					}
				}()
				c.f(t, open(t))
			})
		}
	}
}

// RunTamper writes a few audit entries through s, asks edit to change the stored entry
// with sequence number 3 directly in the database (as an intruder would), and checks
// that audit.Verify names entry 3.
func RunTamper(t *testing.T, s store.Store, edit func(t *testing.T, seq int64)) {
	ctx := t.Context()
	env(t, s, "prod")
	createFlag(t, s, boolDef("summarize"), offState())
	updateState(t, s, "prod", "summarize", func(st *store.FlagState) { st.Enabled = true })
	if _, err := s.AppendAudit(ctx, store.AuditEntry{Actor: "alice", Action: "config.export", Target: "environment:prod"}); err != nil {
		t.Fatal(err)
	}
	if err := audit.Verify(allAudit(t, s)); err != nil {
		t.Fatalf("before tampering: %v", err)
	}
	edit(t, 3)
	err := audit.Verify(allAudit(t, s))
	var broken *audit.BrokenError
	if !errors.As(err, &broken) {
		t.Fatalf("after editing entry 3, Verify = %v; want an *audit.BrokenError", err)
	}
	if broken.Seq != 3 {
		t.Errorf("Verify names entry %d (%v); want 3", broken.Seq, err)
	}
}

// change is the Change every case's mutations carry.
var change = store.Change{Actor: "alice@example.com", Reason: "storetest"}

// cmpOpts compare store values: empty and nil collections are equal.
var cmpOpts = []cmp.Option{cmpopts.EquateEmpty()}

func env(t *testing.T, s store.Store, keys ...string) {
	t.Helper()
	for _, k := range keys {
		if _, err := s.CreateEnvironment(t.Context(), store.Environment{Key: k, Name: strings.ToUpper(k)}, change); err != nil {
			t.Fatal(err)
		}
	}
}

func boolDef(key string) store.FlagDefinition {
	return store.FlagDefinition{Key: key, Type: flags.TypeBool, Description: "a boolean flag",
		Variants: map[string]any{"on": true, "off": false}}
}

// offState serves "off" to everyone.
func offState() store.FlagState {
	return store.FlagState{OffVariant: "off", Default: &flags.Allocation{Variant: "off"}}
}

func createFlag(t *testing.T, s store.Store, def store.FlagDefinition, init store.FlagState) {
	t.Helper()
	if err := s.CreateFlag(t.Context(), def, init, change); err != nil {
		t.Fatal(err)
	}
}

func getFlag(t *testing.T, s store.Store, env, key string) store.Flag {
	t.Helper()
	f, err := s.GetFlag(t.Context(), env, key)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// updateState reads the flag, applies edit to its state and writes it back.
func updateState(t *testing.T, s store.Store, env, key string, edit func(*store.FlagState)) store.Flag {
	t.Helper()
	f := getFlag(t, s, env, key)
	st := f.State
	edit(&st)
	out, err := s.UpdateFlagState(t.Context(), env, key, st, f.State.Version, change)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func putSegment(t *testing.T, s store.Store, seg store.Segment, expectVersion int64) store.Segment {
	t.Helper()
	out, err := s.PutSegment(t.Context(), seg, expectVersion, change)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func revision(t *testing.T, s store.Store, env string) int64 {
	t.Helper()
	r, err := s.Revision(t.Context(), env)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func allAudit(t *testing.T, s store.Store) []store.AuditEntry {
	t.Helper()
	es, err := s.AllAudit(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return es
}

// wantErr fails unless errors.Is(err, target); it returns err's message.
func wantErr(t *testing.T, what string, err, target error) string {
	t.Helper()
	if !errors.Is(err, target) {
		t.Errorf("%s: err = %v; want %v", what, err, target)
		return ""
	}
	return err.Error()
}

// wantValidation fails unless err wraps store.ErrInvalid and flags.ValidationErrors, one
// of which has a path containing pathPart; it returns the validation errors.
func wantValidation(t *testing.T, what string, err error, pathPart string) flags.ValidationErrors {
	t.Helper()
	if !errors.Is(err, store.ErrInvalid) {
		t.Errorf("%s: err = %v; want store.ErrInvalid", what, err)
		return nil
	}
	var ve flags.ValidationErrors
	if !errors.As(err, &ve) {
		t.Errorf("%s: err = %v; want it to wrap flags.ValidationErrors", what, err)
		return nil
	}
	for _, e := range ve {
		if strings.Contains(e.Path, pathPart) {
			return ve
		}
	}
	t.Errorf("%s: no validation error has a path containing %q: %v", what, pathPart, ve)
	return ve
}

// decodeObject decodes audit JSON into a map (numbers as json.Number).
func decodeObject(t *testing.T, raw json.RawMessage) map[string]any {
	t.Helper()
	if len(raw) == 0 {
		return nil
	}
	var m map[string]any
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("audit JSON %s: %v", raw, err)
	}
	return m
}

// parallel runs f(0..n-1) in goroutines and waits for them.
func parallel(n int, f func(i int)) {
	done := make(chan struct{}, n)
	for i := range n {
		go func() {
			defer func() { done <- struct{}{} }()
			f(i)
		}()
	}
	for range n {
		<-done
	}
}

func keys(n int, format string) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf(format, i)
	}
	return out
}
