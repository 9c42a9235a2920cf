package ingest_test

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/ramp-release/ramp/events"
	"github.com/ramp-release/ramp/flags"
	"github.com/ramp-release/ramp/internal/rollout"
	"github.com/ramp-release/ramp/internal/store"
	"github.com/ramp-release/ramp/internal/store/sqlite"
)

var change = store.Change{Actor: "test", Reason: "test"}

// t0 is when the test rollouts' evidence periods begin.
var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

func openStore(t testing.TB) *sqlite.Store {
	t.Helper()
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "ramp.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// ringPlan is a plan whose stage 0 is a 10 % ring (π = 0.1) guarded by the given
// metrics, with a gate on task completion.
func ringPlan(guardrails ...string) rollout.Plan {
	p := rollout.Plan{Flag: "summarize", Environment: "prod", Treatment: "on", Control: "off",
		Stages: []rollout.Stage{{Name: "ring-10", Percent: 10, MinDuration: rollout.Duration(time.Hour)}, {Name: "all", Percent: 100}}}
	for _, m := range guardrails {
		p.Guardrails = append(p.Guardrails, rollout.Guardrail{Metric: m, Action: rollout.Pause})
	}
	return p
}

// setup creates environment prod, flag summarize and a running rollout of p at
// stage 0 whose evidence began at t0.
func setup(t testing.TB, st store.Store, p rollout.Plan) store.Rollout {
	t.Helper()
	ctx := t.Context()
	if _, err := st.CreateEnvironment(ctx, store.Environment{Key: "prod", Name: "prod"}, change); err != nil {
		t.Fatal(err)
	}
	def := store.FlagDefinition{Key: "summarize", Type: flags.TypeBool, Variants: map[string]any{"on": true, "off": false}}
	if err := st.CreateFlag(ctx, def, store.FlagState{OffVariant: "off", Default: &flags.Allocation{Variant: "off"}}, change); err != nil {
		t.Fatal(err)
	}
	r, err := st.CreateRollout(ctx, store.Rollout{ID: "ro_test", Plan: p, Flag: p.Flag, Environment: p.Environment,
		State: rollout.State{Status: rollout.Running, Stage: 0, StageStarted: t0, EvidenceStart: t0, Since: t0}}, change)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func exposure(unit, arm string, at time.Time, dims map[string]string) events.Event {
	return events.Event{Kind: events.KindExposure, Time: at, Unit: unit, Flag: "summarize", Variant: map[string]string{"treatment": "on", "control": "off"}[arm],
		FlagVersion: 3, RuleID: "rollout.ring." + arm, Rollout: "ro_test", Stage: "ring-10", Arm: arm, Dimensions: dims}
}

func metric(unit, name string, v float64, at time.Time) events.Event {
	return events.Event{Kind: events.KindMetric, Time: at, Unit: unit, Metric: name, Value: &v}
}

var batchN int

func appendBatch(t testing.TB, st store.Store, evs []events.Event) int64 {
	t.Helper()
	batchN++
	b := events.Batch{BatchID: fmt.Sprintf("b%06d", batchN), Events: evs}
	data, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	seq, _, err := st.AppendEventBatch(t.Context(), "prod", b.BatchID, data)
	if err != nil {
		t.Fatal(err)
	}
	return seq
}
