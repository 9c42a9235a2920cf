package controller_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/ramp-release/ramp/flags"
	"github.com/ramp-release/ramp/internal/controller"
	"github.com/ramp-release/ramp/internal/notify"
	"github.com/ramp-release/ramp/internal/rollout"
	"github.com/ramp-release/ramp/internal/store"
	"github.com/ramp-release/ramp/internal/store/sqlite"
)

// The controller's order of effects: each decision is persisted (one transaction:
// rollout state, flag rules, decision log, audit), then published to the SDK
// streams, then announced. Here the analysis is made up and time is a manual clock.
func Example() {
	dir, _ := os.MkdirTemp("", "ramp-example")
	defer os.RemoveAll(dir)
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "ramp.db"))
	if err != nil {
		panic(err)
	}
	defer st.Close()
	setup := store.Change{Actor: "setup"}
	st.CreateEnvironment(ctx, store.Environment{Key: "production"}, setup)
	st.CreateFlag(ctx, store.FlagDefinition{Key: "smart-reply", Type: flags.TypeBool, Variants: map[string]any{"on": true, "off": false}},
		store.FlagState{Enabled: true, Default: &flags.Allocation{Variant: "off"}}, setup)
	plan, _ := rollout.Instantiate(rollout.TemplateProgressive24h, rollout.Plan{Flag: "smart-reply", Environment: "production", Treatment: "on", Control: "off"})
	r, err := st.CreateRollout(ctx, store.Rollout{Plan: plan, Flag: "smart-reply", Environment: "production"}, store.Change{Actor: "alice"})
	if err != nil {
		panic(err)
	}

	clock := controller.NewManualClock(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	errorRate := rollout.Clear
	analysis := controller.AnalysisFunc(func(_ context.Context, r store.Rollout) (*rollout.Analysis, error) {
		return &rollout.Analysis{AsOf: clock.Now(), Stage: r.State.Stage, EvidenceStart: r.State.EvidenceStart,
			UnitsTreatment: 5000, UnitsControl: 5000,
			Guardrails: []rollout.MetricResult{{Metric: "error_rate", Verdict: errorRate}, {Metric: "latency_p95", Verdict: rollout.Clear}}}, nil
	})
	publish := func(ctx context.Context, env string) error {
		f, _ := st.GetFlag(ctx, env, "smart-reply")
		fmt.Printf("  2. stream: flag version %d to the SDKs of %s\n", f.State.Version, env)
		return nil
	}
	announce := notifierFunc(func(e notify.Event) error {
		fmt.Printf("  3. notify: %s\n", e.Summary())
		return nil
	})
	c := controller.New(st, controller.Options{Clock: clock, Analysis: analysis, Publish: publish, Notifier: announce})

	fmt.Println("start:")
	c.Start(ctx, r.ID, controller.Actor{Name: "alice", Role: store.RoleReleaseManager}, "low-risk change")
	for range 4 {
		clock.Advance(time.Hour)
		c.Tick(ctx)
	}
	fmt.Println("error rate crossed:")
	errorRate = rollout.Crossed
	clock.Advance(5 * time.Second)
	c.Tick(ctx)
	log, _ := st.ListRolloutDecisions(ctx, r.ID, 0, 0)
	for _, d := range log {
		fmt.Printf("1. persisted: %-16s %s → %s by %s\n", d.Kind, d.From, d.To, d.Actor)
	}
	// Output:
	// start:
	//   2. stream: flag version 2 to the SDKs of production
	//   3. notify: Stage advanced: smart-reply in production (stage ring-5)
	//   2. stream: flag version 3 to the SDKs of production
	//   3. notify: Stage advanced: smart-reply in production (stage ring-10)
	// error rate crossed:
	//   2. stream: flag version 4 to the SDKs of production
	//   3. notify: Rolled back: smart-reply in production (stage ring-10)
	// 1. persisted: start            draft → running by alice
	// 1. persisted: hold             running → running by controller
	// 1. persisted: advance          running → running by controller
	// 1. persisted: hold             running → running by controller
	// 1. persisted: rollback         running → rolled_back by controller
}

type notifierFunc func(notify.Event) error

func (f notifierFunc) Dispatch(e notify.Event) error { return f(e) }
