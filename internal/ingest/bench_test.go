package ingest

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"github.com/ramp-release/ramp/events"
	"github.com/ramp-release/ramp/flags"
	"github.com/ramp-release/ramp/internal/rollout"
	"github.com/ramp-release/ramp/internal/store"
	"github.com/ramp-release/ramp/internal/store/sqlite"
)

// benchPlan guards a 5 % ring with four metrics: error rate (exact count test),
// latency (mean of ln), p95 latency (exceedance) and thumbs-up rate.
func benchPlan(flag string) rollout.Plan {
	return rollout.Plan{Flag: flag, Environment: "prod", Treatment: "on", Control: "off",
		Stages: []rollout.Stage{{Name: "ring-5", Percent: 5}, {Name: "all", Percent: 100}},
		Guardrails: []rollout.Guardrail{
			{Metric: "error_rate", Direction: rollout.Increase, Tolerance: rollout.Amount{Relative: 0.1}},
			{Metric: "latency", Direction: rollout.Increase},
			{Metric: "latency_p95", Direction: rollout.Increase, Tolerance: rollout.Amount{Relative: 0.15}},
			{Metric: "thumbs_up_rate", Direction: rollout.Decrease, Tolerance: rollout.Amount{Absolute: 0.02}},
		}}
}

// benchSetup creates n running rollouts (flags f0…) in a SQLite store and an
// aggregator into which units exposed units per rollout are folded, spread over 3
// dimensions of 60 values each (so 50 are tested and the rest fold into "other").
// Above maxReal units, maxReal real units are folded and every sum is scaled up: the
// analysis reads only sums, so its cost is the same as with that many real units.
func benchSetup(b *testing.B, n int, units float64) (*sqlite.Store, *Aggregator, []store.Rollout) {
	b.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "ramp.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	c := store.Change{Actor: "bench"}
	if _, err := st.CreateEnvironment(ctx, store.Environment{Key: "prod"}, c); err != nil {
		b.Fatal(err)
	}
	agg := New(st, Options{QuantileWarmup: 100})
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	var rs []store.Rollout
	const maxReal = 1_000_000
	real := int(math.Min(units, maxReal))
	scale := units / float64(real)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range n {
		flag := fmt.Sprintf("f%d", i)
		def := store.FlagDefinition{Key: flag, Type: flags.TypeBool, Variants: map[string]any{"on": true, "off": false}}
		if err := st.CreateFlag(ctx, def, store.FlagState{OffVariant: "off", Default: &flags.Allocation{Variant: "off"}}, c); err != nil {
			b.Fatal(err)
		}
		p := benchPlan(flag)
		r, err := st.CreateRollout(ctx, store.Rollout{ID: "ro_" + flag, Plan: p, Flag: flag, Environment: "prod",
			State: rollout.State{Status: rollout.Running, StageStarted: t0, EvidenceStart: t0, Since: t0}}, c)
		if err != nil {
			b.Fatal(err)
		}
		rs = append(rs, r)
		agg.Sync(ctx, r)
		var batch events.Batch
		flush := func() {
			agg.mu.Lock()
			agg.foldBatch(ctx, "prod", t0.Add(time.Hour), &batch)
			agg.mu.Unlock()
			batch.Events = batch.Events[:0]
		}
		for u := range real {
			arm := "control"
			if rng.Float64() < 0.05 {
				arm = "treatment"
			}
			key := fmt.Sprintf("u%d-%d", i, u)
			at := t0.Add(time.Minute)
			dims := map[string]string{"country": fmt.Sprint("c", rng.IntN(60)), "plan": fmt.Sprint("p", rng.IntN(60)), "platform": fmt.Sprint("x", rng.IntN(60))}
			batch.Events = append(batch.Events,
				events.Event{Kind: events.KindExposure, Time: at, Unit: key, Rollout: r.ID, Stage: "ring-5", Arm: arm, RuleID: "rollout.ring." + arm, Dimensions: dims},
				metricEv(key, "error", float64(rng.IntN(100)/99), at),
				metricEv(key, "latency_ms", math.Exp(5+0.6*rng.NormFloat64()), at),
				metricEv(key, "thumbs_up", float64(rng.IntN(5)/4), at))
			if len(batch.Events) >= 4000 {
				flush()
			}
		}
		flush()
		if scale > 1 {
			g := agg.stages[r.ID]
			g.NT *= scale
			g.NC *= scale
			for ti := range g.Tests {
				t := &g.Tests[ti]
				scaleArms(&t.Total, scale)
				for d := range t.Segs {
					for v := range t.Segs[d] {
						scaleArms(&t.Segs[d][v], scale)
					}
				}
			}
		}
	}
	return st, agg, rs
}

func metricEv(unit, name string, v float64, at time.Time) events.Event {
	return events.Event{Kind: events.KindMetric, Time: at, Unit: unit, Metric: name, Value: &v}
}

func scaleArms(a *armStats, k float64) {
	for i := range a {
		m := &a[i].Moments
		m.N, m.Sum, m.SumSq, m.SumX, m.SumXSq, m.SumXY = m.N*k, m.Sum*k, m.SumSq*k, m.SumX*k, m.SumXSq*k, m.SumXY*k
	}
}

// BenchmarkAnalysisTick is one controller tick's analysis of one rollout at 10⁶
// exposed units (CLARIFICATIONS §28: ≤ 5 ms): copy the stage's sums, test four
// metrics overall and in 3 dimensions × 50 values + other, SRM, multiple exposure, the
// verdicts — without writing the point.
func BenchmarkAnalysisTick(b *testing.B) {
	for _, units := range []float64{1e3, 1e6} {
		b.Run(fmt.Sprintf("units=%.0e", units), func(b *testing.B) {
			_, agg, rs := benchSetup(b, 1, units)
			src := &Source{Agg: agg}
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				a, err := src.Analysis(ctx, rs[0])
				if err != nil || a == nil || len(a.Guardrails) != 4 {
					b.Fatalf("analysis %+v, %v", a, err)
				}
			}
		})
	}
}

// BenchmarkFullTick is the whole analysis of a controller tick for 20 running
// rollouts × 4 metrics × (total + 3 dimensions × 50 values + other): read the
// rollouts from the store, analyse each, and write each one's point of history to the
// store (goal ≤ 100 ms, flat in units).
func BenchmarkFullTick(b *testing.B) {
	for _, units := range []float64{1e3, 1e7} {
		b.Run(fmt.Sprintf("units=%.0e", units), func(b *testing.B) {
			st, agg, _ := benchSetup(b, 20, units)
			src := &Source{Agg: agg, Points: st}
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				rs, err := st.ListRollouts(ctx, store.RolloutFilter{Statuses: store.ActiveStatuses, Limit: 1000})
				if err != nil || len(rs) != 20 {
					b.Fatalf("%d rollouts, %v", len(rs), err)
				}
				for _, r := range rs {
					a, err := src.Analysis(ctx, r)
					if err != nil || a == nil {
						b.Fatalf("analysis %+v, %v", a, err)
					}
				}
			}
		})
	}
}
