package controller_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ramp-release/ramp/flags"
	"github.com/ramp-release/ramp/internal/controller"
	"github.com/ramp-release/ramp/internal/notify"
	"github.com/ramp-release/ramp/internal/rollout"
	"github.com/ramp-release/ramp/internal/store"
	"github.com/ramp-release/ramp/internal/store/sqlite"
)

// t0 is a Monday, 09:00 UTC.
var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

var (
	alice = controller.Actor{Name: "alice", Role: store.RoleReleaseManager}
	bob   = controller.Actor{Name: "bob", Role: store.RoleReleaseManager}
	eve   = controller.Actor{Name: "eve", Role: store.RoleEditor}
)

// openStore opens a real SQLite store in path, closed when t ends.
func openStore(t *testing.T, path string) *sqlite.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// world creates environment production with segments internal and beta, and an
// enabled bool flag smart-reply that forces qa-user on and serves off otherwise.
func world(t *testing.T, st store.Store) {
	t.Helper()
	ctx := context.Background()
	c := store.Change{Actor: "setup"}
	if _, err := st.CreateEnvironment(ctx, store.Environment{Key: "production"}, c); err != nil {
		t.Fatal(err)
	}
	for _, seg := range []store.Segment{
		{Environment: "production", Key: "internal", Included: []string{"ana"}},
		{Environment: "production", Key: "beta", Included: []string{"ben"}},
	} {
		if _, err := st.PutSegment(ctx, seg, 0, c); err != nil {
			t.Fatal(err)
		}
	}
	def := store.FlagDefinition{Key: "smart-reply", Type: flags.TypeBool, Variants: map[string]any{"on": true, "off": false}}
	init := store.FlagState{Enabled: true, OffVariant: "off", Default: &flags.Allocation{Variant: "off"},
		Rules: []flags.Rule{{ID: "qa", Conditions: []flags.Condition{{Attribute: "key", Op: flags.OpEquals, Value: "qa-user"}}, Serve: flags.Allocation{Variant: "on"}}}}
	if err := st.CreateFlag(ctx, def, init, c); err != nil {
		t.Fatal(err)
	}
}

// testPlan: alpha (internal, split 50/50), ring-10 (approval), ring-100; each stage at
// least an hour and 100 units per arm; error_rate rolls back, thumbs_up pauses.
func testPlan() rollout.Plan {
	hour := rollout.Duration(time.Hour)
	return rollout.Plan{
		Name: "smart-reply", Flag: "smart-reply", Environment: "production", Treatment: "on", Control: "off",
		Stages: []rollout.Stage{
			{Name: "alpha", Segments: []string{"internal"}, MinDuration: hour, MinUnitsPerArm: 100},
			{Name: "ring-10", Percent: 10, MinDuration: hour, MinUnitsPerArm: 100, RequireApproval: true},
			{Name: "ring-100", Percent: 100, MinDuration: hour},
		},
		Guardrails: []rollout.Guardrail{
			{Metric: "error_rate", Direction: rollout.Increase, Tolerance: rollout.Amount{Relative: 0.1}, Action: rollout.Rollback},
			{Metric: "thumbs_up", Direction: rollout.Decrease, Tolerance: rollout.Amount{Absolute: 0.02}, Action: rollout.Pause},
		},
	}
}

func createRollout(t *testing.T, st store.Store, p rollout.Plan, by string) store.Rollout {
	t.Helper()
	if err := p.Validate(rollout.ValidateOptions{}); err != nil {
		t.Fatal(err)
	}
	r, err := st.CreateRollout(context.Background(), store.Rollout{Plan: p, Flag: p.Flag, Environment: p.Environment,
		State: rollout.State{Status: rollout.Draft, Since: t0, Reason: "created"}}, store.Change{Actor: by})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// fakeAnalysis returns fresh results at the clock's time for the rollout's current
// evidence period: every guardrail clear and 1 000 units per arm unless told
// otherwise.
type fakeAnalysis struct {
	clock *controller.ManualClock
	mu    sync.Mutex
	none  bool
	over  map[string]rollout.Verdict
	calls int
}

func (f *fakeAnalysis) set(metric string, v rollout.Verdict) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.over == nil {
		f.over = map[string]rollout.Verdict{}
	}
	f.over[metric] = v
}

func (f *fakeAnalysis) noData(none bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.none = none
}

func (f *fakeAnalysis) Analysis(_ context.Context, r store.Rollout) (*rollout.Analysis, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.none {
		return nil, nil
	}
	a := &rollout.Analysis{AsOf: f.clock.Now(), Stage: r.State.Stage, EvidenceStart: r.State.EvidenceStart, UnitsTreatment: 1000, UnitsControl: 1000}
	for _, g := range r.Plan.Guardrails {
		v := rollout.Clear
		if o, ok := f.over[g.Metric]; ok {
			v = o
		}
		a.Guardrails = append(a.Guardrails, rollout.MetricResult{Metric: g.Metric, Verdict: v, Summary: "made up"})
	}
	return a, nil
}

// journal records the controller's effects in order: what was committed when it
// was published, and what was announced.
type journal struct {
	st      store.Store
	mu      sync.Mutex
	entries []string
	events  []notify.Event
}

func (j *journal) publish(ctx context.Context, env string) error {
	rev, err := j.st.Revision(ctx, env)
	if err != nil {
		return err
	}
	f, err := j.st.GetFlag(ctx, env, "smart-reply")
	if err != nil {
		return err
	}
	last := f.State.Rules[len(f.State.Rules)-1]
	j.mu.Lock()
	defer j.mu.Unlock()
	j.entries = append(j.entries, fmt.Sprintf("publish %s rev %d: flag v%d %s/%s", env, rev, f.State.Version,
		last.Metadata[rollout.MetaStage], last.Metadata[rollout.MetaArm]))
	return nil
}

func (j *journal) Dispatch(e notify.Event) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.entries = append(j.entries, fmt.Sprintf("notify %s %s", e.Kind, e.Stage))
	j.events = append(j.events, e)
	return nil
}

func (j *journal) take() []string {
	j.mu.Lock()
	defer j.mu.Unlock()
	out := slices.Clone(j.entries)
	j.entries = nil
	return out
}

func (j *journal) kinds() []notify.Kind {
	j.mu.Lock()
	defer j.mu.Unlock()
	var out []notify.Kind
	for _, e := range j.events {
		out = append(out, e.Kind)
	}
	return out
}

// rig is a controller over a real store, a manual clock, made-up analysis and a journal.
type rig struct {
	t        *testing.T
	st       store.Store
	clock    *controller.ManualClock
	analysis *fakeAnalysis
	j        *journal
	c        *controller.Controller
}

func newRig(t *testing.T, path string) *rig {
	t.Helper()
	if path == "" {
		path = filepath.Join(t.TempDir(), "ramp.db")
	}
	st := openStore(t, path)
	clock := controller.NewManualClock(t0)
	r := &rig{t: t, st: st, clock: clock, analysis: &fakeAnalysis{clock: clock}, j: &journal{st: st}}
	r.c = controller.New(st, controller.Options{Clock: clock, Analysis: r.analysis, Publish: r.j.publish, Notifier: r.j})
	return r
}

func (r *rig) tick(d time.Duration) {
	r.t.Helper()
	r.clock.Advance(d)
	if err := r.c.Tick(context.Background()); err != nil {
		r.t.Fatalf("tick at %s: %v", r.clock.Now().Format(time.RFC3339), err)
	}
}

func (r *rig) get(id string) store.Rollout {
	r.t.Helper()
	ro, err := r.st.GetRollout(context.Background(), id)
	if err != nil {
		r.t.Fatal(err)
	}
	return ro
}

func (r *rig) decisions(id string) []store.RolloutDecision {
	r.t.Helper()
	ds, err := r.st.ListRolloutDecisions(context.Background(), id, 0, 0)
	if err != nil {
		r.t.Fatal(err)
	}
	return ds
}

func kindsOf(ds []store.RolloutDecision) []string {
	var out []string
	for _, d := range ds {
		out = append(out, d.Kind)
	}
	return out
}

// wantState fails unless the rollout is in status at stage.
func wantState(t *testing.T, r store.Rollout, status rollout.Status, stage int) {
	t.Helper()
	if r.State.Status != status || r.State.Stage != stage {
		t.Fatalf("rollout is %s at stage %d (%s); want %s at stage %d", r.State.Status, r.State.Stage, r.State.Reason, status, stage)
	}
}
