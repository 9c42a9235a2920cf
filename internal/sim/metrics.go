package sim

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/ramp-release/ramp/internal/analysis"
	"github.com/ramp-release/ramp/internal/analysis/quantile"
	"github.com/ramp-release/ramp/internal/ingest"
	"github.com/ramp-release/ramp/internal/rollout"
	"github.com/ramp-release/ramp/internal/store"
)

// signal is the outcome of a simulated request that feeds a metric, named by the
// metric event the SDK would send.
type signal int

const (
	sigError      signal = iota // "error": 1 for a unit with an error, 0 reports a success
	sigThumbs                   // "thumbs_up": 1 up, 0 down, only from units that rate
	sigLatency                  // "latency_ms"
	sigTickets                  // "support_ticket": one event per ticket
	sigTokens                   // "tokens": tokens of the request
	sigConversion               // "conversion": 1 when the unit converts
)

var signalEvents = map[string]signal{
	"error": sigError, "thumbs_up": sigThumbs, "latency_ms": sigLatency,
	"support_ticket": sigTickets, "tokens": sigTokens, "conversion": sigConversion,
}

// test is one guardrail or gate of the plan, defined as the aggregator defines it:
// the built-in metric definition, validated, turned into an analysis.Metric by
// ingest.TestMetric with the plan's tolerance, and the plan's direction.
type test struct {
	name, metric, role string
	def                store.MetricDefinition
	spec               analysis.Metric
	sig                signal
	// like names the built-in metric a plan metric that is not built in is simulated as.
	like string
}

// planTests builds the tests of the plan's guardrails and gates (ingest's newStage).
func planTests(p *rollout.Plan) ([]test, error) {
	var tests []test
	var errs []error
	add := func(metric, role string, worse rollout.Direction, amount *ingest.Amount, superior bool, kind rollout.MetricKind) {
		def, like, err := simulatedMetric(metric, kind)
		if err != nil {
			errs = append(errs, err)
			return
		}
		if err := ingest.ValidateMetric(&def); err != nil {
			errs = append(errs, fmt.Errorf("metric %q: %w", metric, err))
			return
		}
		sig, ok := signalEvents[def.Event]
		if !ok {
			errs = append(errs, fmt.Errorf("metric %q is fed by event %q, which the simulated traffic does not produce", metric, def.Event))
			return
		}
		name := metric
		if slices.ContainsFunc(tests, func(t test) bool { return t.name == name }) {
			name = role + ":" + metric
		}
		t := test{name: name, metric: metric, role: role, def: def, sig: sig, like: like,
			spec: ingest.TestMetric(def, name, role == ingest.RoleGuardrail, amount, superior)}
		// The plan says which way is worse; it wins over the definition's direction.
		switch worse {
		case rollout.Increase:
			t.spec.Direction = analysis.LowerIsBetter
		case rollout.Decrease:
			t.spec.Direction = analysis.HigherIsBetter
		}
		if t.spec.Kind == analysis.KindDistribution {
			errs = append(errs, fmt.Errorf("%s %q: distribution metrics (drift) are not simulated", role, metric))
			return
		}
		if err := t.spec.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("%s %q: %w", role, metric, err))
			return
		}
		tests = append(tests, t)
	}
	for _, g := range p.Guardrails {
		add(g.Metric, ingest.RoleGuardrail, g.Direction, &ingest.Amount{Relative: g.Tolerance.Relative, Absolute: g.Tolerance.Absolute}, false, g.Kind)
	}
	for _, g := range p.Gates {
		worse := rollout.Direction("")
		switch g.Direction {
		case rollout.Increase:
			worse = rollout.Decrease
		case rollout.Decrease:
			worse = rollout.Increase
		}
		add(g.Metric, ingest.RoleGate, worse, &ingest.Amount{Relative: g.Margin.Relative, Absolute: g.Margin.Absolute}, g.Superior, "")
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return tests, nil
}

// simulatedMetric returns the built-in definition of key. A key that is not built
// in (the ecommerce template's checkout_error_rate) is simulated as the built-in
// metric its name and kind suggest, and like names it.
func simulatedMetric(key string, kind rollout.MetricKind) (def store.MetricDefinition, like string, err error) {
	if def, ok := ingest.Builtin(key); ok {
		return def, "", nil
	}
	k := strings.ToLower(key)
	switch {
	case strings.Contains(k, "error"):
		like = "error_rate"
	case strings.Contains(k, "latency") && (kind == rollout.Quantile || strings.Contains(k, "_p")):
		like = "latency_p95"
	case strings.Contains(k, "latency"):
		like = "latency"
	case strings.Contains(k, "thumbs"):
		like = "thumbs_up_rate"
	case strings.Contains(k, "ticket"):
		like = "support_tickets_per_user"
	case strings.Contains(k, "cost"):
		like = "cost_per_request"
	case strings.Contains(k, "conversion"):
		like = "conversion"
	default:
		return def, "", fmt.Errorf("metric %q is neither built in nor like one the simulated traffic produces (error_rate, latency, latency_p95, thumbs_up_rate, support_tickets_per_user, cost_per_request, conversion)", key)
	}
	def, _ = ingest.Builtin(like)
	def.Key, def.BuiltIn = key, false
	return def, like, nil
}

// armStats are one test's statistics per arm: [0] treatment, [1] control.
type armStats [2]analysis.Stats

// testStats are one test's statistics in one stage, overall and per segment value.
type testStats struct {
	total armStats
	segs  [3][]armStats
	// Quantile tests: control's values are sketched until QuantileWarmup of them,
	// then control's quantile is frozen into the exceedance thresholds.
	sketch *quantile.Sketch
	frozen bool
	thr    [2]float64
}

// stageStats are the sufficient statistics of one stage's evidence period.
type stageStats struct {
	tests  []testStats
	nT, nC float64
	// input is reused from tick to tick: only the arms change.
	input analysis.StageInput
}

func newStageStats(tests []test, t *Traffic) *stageStats {
	s := &stageStats{tests: make([]testStats, len(tests))}
	sizes := [3]int{len(t.Countries), len(t.Plans), len(t.Platforms)}
	for i := range s.tests {
		for d := range sizes {
			s.tests[i].segs[d] = make([]armStats, sizes[d])
		}
	}
	s.input.Metrics = make([]analysis.MetricData, len(tests))
	for i, tt := range tests {
		s.input.Metrics[i] = analysis.MetricData{Metric: tt.spec, Segments: map[string]map[string]analysis.Arms{}}
	}
	return s
}

// add folds one unit's outcome into the statistics, as the aggregator folds its
// events: per test, the unit's value for the metric, in its arm overall and in its
// segment value of each dimension.
func (s *stageStats) add(tests []test, arm uint8, u *Unit, o *Outcome) {
	a := int(arm) - 1
	if arm == armTreatment {
		s.nT++
	} else {
		s.nC++
	}
	for i := range tests {
		t, ts := &tests[i], &s.tests[i]
		v, has := o.value(t.sig)
		if !has && t.def.Population != ingest.PopulationExposed {
			continue
		}
		if has && t.def.Scale != 0 {
			v *= t.def.Scale
		}
		if has && t.def.Transform == "log" {
			if !(v > 0) {
				continue
			}
			v = math.Log(v)
		}
		var y, x float64
		switch t.spec.Kind {
		case analysis.KindProportion:
			y = analysis.Occurred(v)
		case analysis.KindQuantile:
			if !ts.frozen {
				ts.warm(t, a, v)
				continue
			}
			beyond := v > ts.thr[a]
			if t.spec.Direction == analysis.HigherIsBetter {
				beyond = v < ts.thr[a]
			}
			if beyond {
				y = 1
			}
			x = 1
		case analysis.KindRatio:
			// The request is the denominator (an event of the metric's own).
			y, x = v, 1
		default: // mean, count, sum: one event, so the unit's mean or sum is v
			y = v
		}
		ratio := t.spec.Kind == analysis.KindRatio || t.spec.Kind == analysis.KindQuantile
		fold := func(st *analysis.Stats) {
			if ratio {
				st.Moments.AddRatio(y, x)
			} else {
				st.Moments.Add(y)
			}
		}
		fold(&ts.total[a])
		for d := range ts.segs {
			fold(&ts.segs[d][u.Dims[d]][a])
		}
	}
}

// warm sketches a quantile test's control values and freezes the thresholds once
// there are ingest.DefaultQuantileWarmup of them; the values themselves are not
// counted (as in the aggregator).
func (ts *testStats) warm(t *test, a int, v float64) {
	if a != 1 {
		return
	}
	if ts.sketch == nil {
		ts.sketch, _ = quantile.New(quantile.DefaultAccuracy)
	}
	_ = ts.sketch.Add(v)
	if ts.sketch.Count() < ingest.DefaultQuantileWarmup {
		return
	}
	q, err := ts.sketch.Quantile(t.spec.WithDefaults().Quantile)
	if err != nil {
		return
	}
	ts.thr[0], ts.thr[1] = analysis.ExceedanceThresholds(t.spec, q)
	ts.frozen = true
}

// value is the value of the outcome's event feeding sig, and whether the unit sent
// one at all.
func (o *Outcome) value(sig signal) (float64, bool) {
	switch sig {
	case sigError:
		return o.Error, true
	case sigThumbs:
		return o.Up, o.Rated
	case sigLatency:
		return o.Latency, true
	case sigTickets:
		return o.Tickets, o.Tickets > 0
	case sigTokens:
		return o.Tokens, true
	case sigConversion:
		return o.Convert, o.Convert > 0
	}
	return 0, false
}

// stageInput returns the analysis input of the stage's statistics, as the
// aggregator's Snapshot builds it: every dimension value with units, both arms.
func (s *stageStats) stageInput(t *Traffic, share, alpha float64, stages int) *analysis.StageInput {
	in := &s.input
	in.Alpha, in.Stages, in.Dimensions = alpha, stages, Dimensions
	in.TreatmentShare, in.TreatmentUnits, in.ControlUnits = share, s.nT, s.nC
	values := [3][]Share{t.Countries, t.Plans, t.Platforms}
	for i := range s.tests {
		ts := &s.tests[i]
		md := &in.Metrics[i]
		md.Total = analysis.Arms{Treatment: ts.total[0], Control: ts.total[1]}
		for d, dim := range Dimensions {
			for v, st := range ts.segs[d] {
				if st[0].Moments.N == 0 && st[1].Moments.N == 0 {
					continue
				}
				m := md.Segments[dim]
				if m == nil {
					m = make(map[string]analysis.Arms, len(values[d]))
					md.Segments[dim] = m
				}
				m[values[d][v].Value] = analysis.Arms{Treatment: st[0], Control: st[1]}
			}
		}
	}
	return in
}

// verdicts analyses the stage and translates the report into the verdicts
// rollout.Decide reads, with the production translation (ingest.Verdicts).
func verdicts(tests []test, in *analysis.StageInput, stage int, stageName string, evidenceStart, asOf time.Time) (*rollout.Analysis, analysis.Report, error) {
	rep, err := analysis.Analyze(*in)
	if err != nil {
		return nil, rep, err
	}
	snap := ingest.Snapshot{Stage: stage, StageName: stageName, EvidenceStart: evidenceStart, AsOf: asOf, Input: *in,
		Tests: make([]ingest.TestInfo, len(tests))}
	for i, t := range tests {
		snap.Tests[i] = ingest.TestInfo{Name: t.name, Metric: t.metric, Role: t.role, Def: t.def}
	}
	return ingest.Verdicts(snap, rep), rep, nil
}
