package ingest_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ramp-release/ramp/events"
	"github.com/ramp-release/ramp/internal/analysis"
	"github.com/ramp-release/ramp/internal/ingest"
	"github.com/ramp-release/ramp/internal/store"
)

var allMetrics = []string{"error_rate", "latency", "latency_p95", "thumbs_up_rate", "user_rating", "cost_per_request",
	"support_tickets_per_user", "revenue_per_user", "conversion", "task_completion"}

// traffic is a random stream of exposures and metric events for n units, some of
// them exposed in both arms, some metric events older than the evidence period, and
// what it should add up to.
type traffic struct {
	batches [][]events.Event
	arm     map[string]string // unit → arm, "multi" for both
	country map[string]string
	metrics map[string][]metricValue // unit → its counted metric events
}

type metricValue struct {
	name string
	v    float64
}

func newTraffic(seed uint64, n int) *traffic {
	rng := rand.New(rand.NewPCG(seed, 1))
	tr := &traffic{arm: map[string]string{}, country: map[string]string{}, metrics: map[string][]metricValue{}}
	countries := []string{"DE", "FR", "US", "BR", "JP"}
	var exps, mets []events.Event
	for i := range n {
		u := fmt.Sprintf("user-%05d", i)
		arm := "control"
		if rng.Float64() < 0.1 {
			arm = "treatment"
		}
		c := countries[rng.IntN(len(countries))]
		dims := map[string]string{"country": c, "plan": []string{"free", "pro"}[rng.IntN(2)]}
		tr.country[u], tr.arm[u] = c, arm
		at := t0.Add(time.Duration(rng.IntN(3600)) * time.Second)
		exps = append(exps, exposure(u, arm, at, dims))
		if rng.Float64() < 0.3 {
			exps = append(exps, exposure(u, arm, at.Add(time.Second), dims)) // a repeat
		}
		if rng.Float64() < 0.005 {
			other := map[string]string{"treatment": "control", "control": "treatment"}[arm]
			exps = append(exps, exposure(u, other, at.Add(2*time.Second), dims))
			tr.arm[u] = "multi"
		}
		for range rng.IntN(8) {
			var m metricValue
			switch k := rng.IntN(9); k {
			case 0:
				m = metricValue{"error", float64(rng.IntN(2))}
			case 1, 2:
				m = metricValue{"latency_ms", math.Exp(5 + 0.6*rng.NormFloat64())}
			case 3:
				m = metricValue{"thumbs_up", float64(rng.IntN(2))}
			case 4:
				m = metricValue{"rating", float64(1 + rng.IntN(5))}
			case 5:
				m = metricValue{"tokens", float64(100 + rng.IntN(900))}
			case 6:
				m = metricValue{"support_ticket", 1}
			case 7:
				m = metricValue{"revenue", math.Round(rng.Float64()*5000) / 100}
			case 8:
				m = metricValue{"task_completed", float64(rng.IntN(2))}
			}
			mt := at.Add(time.Duration(1+rng.IntN(600)) * time.Second)
			if rng.Float64() < 0.02 {
				mt = t0.Add(-time.Hour) // before the evidence period: not counted
			} else {
				tr.metrics[u] = append(tr.metrics[u], m)
			}
			ev := metric(u, m.name, m.v, mt)
			if m.name == "rating" && rng.Float64() < 0.2 {
				ev.Comment = "comment from " + u
			}
			mets = append(mets, ev)
		}
	}
	mets = append(mets, metric("never-exposed", "error", 1, t0.Add(time.Minute)))
	rng.Shuffle(len(mets), func(i, j int) { mets[i], mets[j] = mets[j], mets[i] })
	all := append(exps, mets...)
	for len(all) > 0 {
		k := min(len(all), 1+rng.IntN(300))
		tr.batches = append(tr.batches, all[:k])
		all = all[k:]
	}
	return tr
}

// want computes, from the traffic's truth, the moments a test of def should have per
// arm: each unit's value from all its events at once.
func (tr *traffic) want(def store.MetricDefinition, country string) [2]analysis.Moments {
	var out [2]analysis.Moments
	for u, arm := range tr.arm {
		if arm == "multi" || (country != "" && tr.country[u] != country) {
			continue
		}
		var a, b, c float64
		for _, m := range tr.metrics[u] {
			v := m.v
			switch {
			case m.name == def.Denominator:
				b += v
				c++
				continue
			case m.name != def.Event:
				continue
			}
			if def.Scale != 0 {
				v *= def.Scale
			}
			if def.Transform == "log" {
				v = math.Log(v)
			}
			c++
			switch def.Kind {
			case "proportion":
				if v > 0 {
					a++
				}
			case "ratio":
				a += v
				if def.Denominator == "" {
					b++
				}
			default:
				a += v
			}
		}
		if def.Population == ingest.PopulationActive && c == 0 {
			continue
		}
		var y float64
		switch {
		case def.Kind == "proportion":
			y = analysis.Occurred(a)
		case def.Kind == "mean" && def.Aggregate != ingest.AggregateSum:
			y = a / c
		default:
			y = a
		}
		i := 1
		if arm == "treatment" {
			i = 0
		}
		if def.Kind == "ratio" {
			out[i].AddRatio(y, b)
		} else {
			out[i].Add(y)
		}
	}
	return out
}

func closeMoments(a, b analysis.Moments) bool {
	near := func(x, y float64) bool { return math.Abs(x-y) <= 1e-9*math.Max(1, math.Max(math.Abs(x), math.Abs(y))) }
	return near(a.N, b.N) && near(a.Sum, b.Sum) && near(a.SumSq, b.SumSq) && near(a.SumX, b.SumX) && near(a.SumXSq, b.SumXSq) && near(a.SumXY, b.SumXY)
}

func foldAll(t *testing.T, agg *ingest.Aggregator) {
	t.Helper()
	for {
		n, err := agg.Step(t.Context(), 50)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
	}
}

func snapshot(t *testing.T, agg *ingest.Aggregator, st store.Store) ingest.Snapshot {
	t.Helper()
	r, err := st.GetRollout(t.Context(), "ro_test")
	if err != nil {
		t.Fatal(err)
	}
	s, ok := agg.Snapshot(t.Context(), r)
	if !ok {
		t.Fatal("no aggregate for the rollout's stage")
	}
	return s
}

// TestFoldByDeltaEqualsRecomputation checks that folding events one by one into
// per-unit running totals and updating the sums by delta gives the sums computed
// from each unit's final value, overall and per segment, for every metric kind, with
// multiply exposed units, events before the evidence period and metric events of
// units never exposed left out.
func TestFoldByDeltaEqualsRecomputation(t *testing.T) {
	st := openStore(t)
	setup(t, st, ringPlan(allMetrics...))
	tr := newTraffic(7, 3000)
	for _, b := range tr.batches {
		appendBatch(t, st, b)
	}
	agg := ingest.New(st, ingest.Options{})
	if err := agg.Restore(t.Context()); err != nil {
		t.Fatal(err)
	}
	foldAll(t, agg)
	s := snapshot(t, agg, st)

	var nt, nc, multi float64
	for _, arm := range tr.arm {
		switch arm {
		case "treatment":
			nt++
		case "control":
			nc++
		default:
			multi++
		}
	}
	if s.Input.TreatmentUnits != nt || s.Input.ControlUnits != nc || s.Input.MultiExposedUnits != multi || multi == 0 {
		t.Errorf("units: %v treatment, %v control, %v multiple; want %v, %v, %v (> 0)", s.Input.TreatmentUnits, s.Input.ControlUnits, s.Input.MultiExposedUnits, nt, nc, multi)
	}
	if s.Input.TreatmentShare != 0.1 {
		t.Errorf("treatment share %v; want 0.1", s.Input.TreatmentShare)
	}
	for i, md := range s.Input.Metrics {
		def := s.Tests[i].Def
		if def.Kind == "quantile" {
			continue // thresholds freeze mid-stream: see TestQuantileExceedance
		}
		want := tr.want(def, "")
		got := [2]analysis.Moments{md.Total.Treatment.Moments, md.Total.Control.Moments}
		for a := range 2 {
			if !closeMoments(got[a], want[a]) {
				t.Errorf("%s arm %d: got %+v, want %+v", def.Key, a, got[a], want[a])
			}
		}
		wantBR := tr.want(def, "BR")
		br := md.Segments["country"]["BR"]
		if !closeMoments(br.Treatment.Moments, wantBR[0]) || !closeMoments(br.Control.Moments, wantBR[1]) {
			t.Errorf("%s country=BR: got %+v / %+v, want %+v / %+v", def.Key, br.Treatment.Moments, br.Control.Moments, wantBR[0], wantBR[1])
		}
	}
	if st := agg.Status(); st.Events == 0 || st.Malformed != 0 {
		t.Errorf("status %+v", st)
	}
}

// TestRestartResumesExactly drops an aggregator without a final checkpoint (as kill
// -9 would) after it folded past its last checkpoint, starts another one from the
// store, and checks that its totals equal, bit for bit, those of one that folded the
// whole log without stopping, and that feedback was kept exactly once.
func TestRestartResumesExactly(t *testing.T) {
	ctx := t.Context()
	st := openStore(t)
	setup(t, st, ringPlan(allMetrics...))
	tr := newTraffic(11, 2000)
	half := len(tr.batches) / 2
	for _, b := range tr.batches[:half] {
		appendBatch(t, st, b)
	}
	first := ingest.New(st, ingest.Options{})
	if err := first.Restore(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := first.Step(ctx, half/2); err != nil {
		t.Fatal(err)
	}
	if err := first.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	foldAll(t, first) // past the checkpoint; then "killed": no final checkpoint
	for _, b := range tr.batches[half:] {
		appendBatch(t, st, b)
	}

	second := ingest.New(st, ingest.Options{})
	if err := second.Restore(ctx); err != nil {
		t.Fatal(err)
	}
	if got := second.Status().Seq; got == 0 || got >= int64(half) {
		t.Fatalf("restored at seq %d; want the checkpoint's, inside the first half (%d batches)", got, half)
	}
	foldAll(t, second)
	if err := second.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	// A third restart from the final checkpoint must change nothing either.
	third := ingest.New(st, ingest.Options{})
	if err := third.Restore(ctx); err != nil {
		t.Fatal(err)
	}

	ref := openStore(t)
	setup(t, ref, ringPlan(allMetrics...))
	for _, b := range tr.batches {
		appendBatch(t, ref, b)
	}
	whole := ingest.New(ref, ingest.Options{})
	if err := whole.Restore(ctx); err != nil {
		t.Fatal(err)
	}
	foldAll(t, whole)

	want := snapshot(t, whole, ref)
	for name, agg := range map[string]*ingest.Aggregator{"resumed": second, "restored": third} {
		got := snapshot(t, agg, st)
		if !reflect.DeepEqual(got.Input, want.Input) {
			t.Errorf("%s after a crash: the stage input differs from an uninterrupted run:\n%s", name, cmp.Diff(want.Input, got.Input))
		}
	}
	for _, md := range want.Input.Metrics {
		if md.Metric.Name == "error_rate" {
			w := tr.want(ingest.BuiltinMetrics()[2], "")
			if !closeMoments(md.Total.Treatment.Moments, w[0]) || !closeMoments(md.Total.Control.Moments, w[1]) {
				t.Errorf("error_rate totals %+v / %+v; sent %+v / %+v", md.Total.Treatment.Moments, md.Total.Control.Moments, w[0], w[1])
			}
		}
	}
	fb, err := st.ListFeedback(ctx, store.FeedbackFilter{RolloutID: "ro_test", Stage: -1, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	wantComments := 0
	for _, b := range tr.batches {
		for _, e := range b {
			if e.Comment != "" && e.Time.After(t0) && tr.arm[e.Unit] != "multi" {
				wantComments++
			}
		}
	}
	seen := map[string]int{}
	for _, f := range fb {
		seen[f.Unit+f.Comment+f.Time.String()]++
		if f.Variant != map[string]string{"treatment": "on", "control": "off"}[f.Arm] || f.StageName != "ring-10" {
			t.Errorf("feedback %+v: variant or stage wrong", f)
		}
	}
	if len(fb) != wantComments || len(seen) != len(fb) {
		t.Errorf("%d comments kept (%d distinct); want each of the %d sent once", len(fb), len(seen), wantComments)
	}
}

// TestEvidenceRestartKeepsArmsAndResetsSums checks CLARIFICATIONS §40: a new evidence
// period keeps the units' arms and counts no earlier metric event.
func TestEvidenceRestartKeepsArmsAndResetsSums(t *testing.T) {
	ctx := t.Context()
	st := openStore(t)
	r := setup(t, st, ringPlan("error_rate", "latency"))
	appendBatch(t, st, []events.Event{exposure("a", "treatment", t0.Add(time.Minute), nil), exposure("b", "control", t0.Add(time.Minute), nil),
		metric("a", "error", 1, t0.Add(2*time.Minute)), metric("b", "latency_ms", 100, t0.Add(2*time.Minute))})
	agg := ingest.New(st, ingest.Options{})
	if err := agg.Restore(ctx); err != nil {
		t.Fatal(err)
	}
	foldAll(t, agg)
	restart := t0.Add(time.Hour)
	r.State.EvidenceStart = restart
	agg.Sync(ctx, r)
	appendBatch(t, st, []events.Event{metric("a", "error", 1, t0.Add(30*time.Minute)), metric("b", "error", 1, restart.Add(time.Minute))})
	foldAll(t, agg)
	s, ok := agg.Snapshot(ctx, r)
	if !ok {
		t.Fatal("no aggregate")
	}
	er := s.Input.Metrics[0].Total
	if er.Treatment.Moments != (analysis.Moments{N: 1}) || er.Control.Moments != (analysis.Moments{N: 1, Sum: 1, SumSq: 1}) {
		t.Errorf("error_rate after the restart: %+v / %+v; want a's old error gone and b's new one counted", er.Treatment.Moments, er.Control.Moments)
	}
	if lat := s.Input.Metrics[1].Total; lat.Control.Moments.N != 0 {
		t.Errorf("latency kept a unit from the old period: %+v", lat.Control.Moments)
	}
	if s.Input.TreatmentUnits != 1 || s.Input.ControlUnits != 1 || !s.EvidenceStart.Equal(restart) {
		t.Errorf("units %v/%v, evidence start %v", s.Input.TreatmentUnits, s.Input.ControlUnits, s.EvidenceStart)
	}
}

// TestQuantileExceedance checks the p95 guardrail: values before control has
// QuantileWarmup values only feed the sketches; after, each unit counts its requests
// beyond the frozen thresholds.
func TestQuantileExceedance(t *testing.T) {
	ctx := t.Context()
	st := openStore(t)
	setup(t, st, ringPlan("latency_p95"))
	var evs []events.Event
	for i := range 200 {
		u := fmt.Sprintf("c%d", i)
		evs = append(evs, exposure(u, "control", t0.Add(time.Second), nil), metric(u, "latency_ms", float64(1+i%100), t0.Add(2*time.Second)))
	}
	evs = append(evs, exposure("t1", "treatment", t0.Add(time.Second), nil))
	appendBatch(t, st, evs)
	appendBatch(t, st, []events.Event{metric("t1", "latency_ms", 1000, t0.Add(3*time.Second)), metric("t1", "latency_ms", 10, t0.Add(3*time.Second)),
		metric("c0", "latency_ms", 1000, t0.Add(3*time.Second))})
	agg := ingest.New(st, ingest.Options{QuantileWarmup: 200})
	if err := agg.Restore(ctx); err != nil {
		t.Fatal(err)
	}
	foldAll(t, agg)
	s := snapshot(t, agg, st)
	info := s.Tests[0]
	if !info.Frozen || info.Thresholds[1] < 90 || info.Thresholds[1] > 100 {
		t.Fatalf("thresholds %v (frozen %v); want control's p95 ≈ 95", info.Thresholds, info.Frozen)
	}
	tot := s.Input.Metrics[0].Total
	if tot.Treatment.Moments != (analysis.Moments{N: 1, Sum: 1, SumSq: 1, SumX: 2, SumXSq: 4, SumXY: 2}) {
		t.Errorf("treatment exceedances %+v; want 1 of 2 requests beyond", tot.Treatment.Moments)
	}
	if tot.Control.Moments.N != 1 || tot.Control.Moments.Sum != 1 {
		t.Errorf("control exceedances %+v; want unit c0 with 1 of 1 beyond", tot.Control.Moments)
	}
}

// TestAnalysisSourceSeesARegression closes the loop from events to verdicts: errors
// doubled in treatment cross the error-rate guardrail, a point is recorded, and SRM
// stays quiet for a split that matches the plan.
func TestAnalysisSourceSeesARegression(t *testing.T) {
	ctx := t.Context()
	st := openStore(t)
	r := setup(t, st, ringPlan("error_rate", "thumbs_up_rate"))
	rng := rand.New(rand.NewPCG(3, 4))
	var evs []events.Event
	for i := range 40000 {
		u := fmt.Sprintf("u%d", i)
		arm, p := "control", 0.05
		if rng.Float64() < 0.1 {
			arm, p = "treatment", 0.15
		}
		at := t0.Add(time.Duration(i) * time.Millisecond)
		evs = append(evs, exposure(u, arm, at, map[string]string{"country": "DE"}), metric(u, "error", b2f(rng.Float64() < p), at))
		if len(evs) >= 2000 {
			appendBatch(t, st, evs)
			evs = nil
		}
	}
	agg := ingest.New(st, ingest.Options{})
	if err := agg.Restore(ctx); err != nil {
		t.Fatal(err)
	}
	foldAll(t, agg)
	src := &ingest.Source{Agg: agg, Points: st}
	a, err := src.Analysis(ctx, r)
	if err != nil || a == nil {
		t.Fatalf("Analysis = %v, %v", a, err)
	}
	if a.Stage != 0 || !a.EvidenceStart.Equal(t0) || a.AsOf.IsZero() || a.SRM || a.UnitsTreatment+a.UnitsControl != 40000 {
		t.Errorf("analysis %+v", a)
	}
	if len(a.Guardrails) != 2 || a.Guardrails[0].Metric != "error_rate" || a.Guardrails[0].Verdict != "crossed" {
		t.Errorf("guardrails %+v; want error_rate crossed", a.Guardrails)
	}
	if a.Guardrails[1].Verdict != "not_enough_evidence" {
		t.Errorf("thumbs_up_rate without data: %+v", a.Guardrails[1])
	}
	ps, err := st.AnalysisPoints(ctx, "ro_test", 0, 0)
	if err != nil || len(ps) != 1 {
		t.Fatalf("points %v, %v", ps, err)
	}
	if err := context.Cause(ctx); err != nil {
		t.Fatal(err)
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
