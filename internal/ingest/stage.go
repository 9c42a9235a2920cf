package ingest

import (
	"math"
	"strings"
	"time"

	"github.com/ramp-release/ramp/internal/analysis"
	"github.com/ramp-release/ramp/internal/analysis/quantile"
	"github.com/ramp-release/ramp/internal/rollout"
	"github.com/ramp-release/ramp/internal/store"
)

// Arms of a unit in a stage's aggregate. A unit seen in both randomised arms is
// multiply exposed: counted apart and left out of every statistic (CLARIFICATIONS §39).
const (
	armTreatment uint8 = 1
	armControl   uint8 = 2
	armMulti     uint8 = 3
)

// Roles of a test.
const (
	RoleGuardrail = "guardrail"
	RoleGate      = "gate"
)

// Audiences a stage compares within (CLARIFICATIONS §23).
const (
	audienceRing    = "ring"
	audienceSegment = "segment"
)

// UnknownValue is the segment value of a unit whose exposure lacks the dimension.
const UnknownValue = "unknown"

// perUnit is the number of running totals a unit keeps per test: a (numerator:
// outcomes, Σ values, exceedances), b (denominator) and c (events counted).
const perUnit = 3

// armStats are one test's statistics per arm: [0] treatment, [1] control.
type armStats [2]analysis.Stats

// test is one metric of a stage's analysis: a plan guardrail or gate with its
// metric's definition, and its statistics overall and per segment value.
type test struct {
	Name   string // the analysis name: the metric key, or "gate:"+key when it is also a guardrail
	Metric string // the metric key the plan names
	Role   string
	Def    store.MetricDefinition
	Spec   analysis.Metric
	Total  armStats
	// Segs[d][v] are the statistics of value v of dimension d.
	Segs [][]armStats
	// Sketch holds the values per arm of a quantile metric; Frozen says the
	// exceedance thresholds are fixed (from control's quantile after QuantileWarmup
	// values) and Threshold holds them.
	Sketch    [2]*quantile.Sketch
	Frozen    bool
	Threshold [2]float64
}

func (t *test) exposed() bool {
	return t.Def.Population == PopulationExposed && t.Spec.Kind != analysis.KindDistribution
}

func (t *test) ratio() bool {
	return t.Spec.Kind == analysis.KindRatio || t.Spec.Kind == analysis.KindQuantile
}

// value is a unit's (y, x) for this test from its running totals.
func (t *test) value(a, b, c float64) (y, x float64) {
	switch {
	case t.Spec.Kind == analysis.KindProportion:
		return analysis.Occurred(a), 0
	case t.Spec.Kind == analysis.KindMean && t.Def.Aggregate != AggregateSum:
		if c == 0 {
			return 0, 0
		}
		return a / c, 0
	case t.ratio():
		return a, b
	}
	return a, 0
}

// stageAgg is the aggregate of one rollout's current stage and evidence period:
// each unit's arm, segment values and running totals, and the per-arm sums.
type stageAgg struct {
	Rollout       string
	Env           string
	Flag          string
	Stage         int
	StageName     string
	EvidenceStart time.Time
	// AsOf is the time of the newest event folded in.
	AsOf time.Time
	// Share is the planned treatment share π of the compared audience.
	Share          float64
	Audience       string
	HoldoutControl bool
	Treatment      string // variant names
	Control        string
	Alpha          float64
	TestedStages   int
	Dims           []string
	DimValues      [][]string
	Tests          []test
	NT, NC, NMulti float64

	// Units, in insertion order: key, arm, segment value per dimension, running totals.
	Keys []string
	Arms []uint8
	DimV []int16
	Vals []float64

	dimIndex []map[string]int16
	byEvent  map[string][]int // event name → tests it feeds as numerator
	byDenom  map[string][]int // event name → ratio tests it feeds as denominator
	dead     bool
}

// index rebuilds the lookup maps (after creation or a restore).
func (g *stageAgg) index() {
	g.dimIndex = make([]map[string]int16, len(g.Dims))
	for d := range g.Dims {
		if d >= len(g.DimValues) {
			g.DimValues = append(g.DimValues, nil)
		}
		g.dimIndex[d] = make(map[string]int16, len(g.DimValues[d]))
		for i, v := range g.DimValues[d] {
			g.dimIndex[d][v] = int16(i)
		}
	}
	g.byEvent, g.byDenom = map[string][]int{}, map[string][]int{}
	for i, t := range g.Tests {
		g.byEvent[t.Def.Event] = append(g.byEvent[t.Def.Event], i)
		if t.Def.Denominator != "" {
			g.byDenom[t.Def.Denominator] = append(g.byDenom[t.Def.Denominator], i)
		}
	}
}

// valueIndex interns a segment value of dimension d; values beyond maxValues fold
// into analysis.OtherValue.
func (g *stageAgg) valueIndex(d int, v string, maxValues int) int16 {
	if v == "" {
		v = UnknownValue
	}
	if i, ok := g.dimIndex[d][v]; ok {
		return i
	}
	if len(g.DimValues[d]) >= maxValues {
		v = analysis.OtherValue
		if i, ok := g.dimIndex[d][v]; ok {
			return i
		}
	}
	i := int16(len(g.DimValues[d]))
	g.DimValues[d] = append(g.DimValues[d], v)
	g.dimIndex[d][v] = i
	for ti := range g.Tests {
		g.Tests[ti].Segs[d] = append(g.Tests[ti].Segs[d], armStats{})
	}
	return i
}

// armOf maps an exposure to the arm it counts in, or 0 when the stage does not
// compare it (another audience, excluded, retained, outside).
func (g *stageAgg) armOf(arm, ruleID string) uint8 {
	audience := func() bool {
		if ruleID == "" {
			return true
		}
		switch g.Audience {
		case audienceRing:
			return strings.HasPrefix(ruleID, rollout.RuleIDPrefix+"ring.")
		case audienceSegment:
			return strings.HasPrefix(ruleID, rollout.RuleIDPrefix+"segment.")
		}
		return false
	}
	switch rollout.Arm(arm) {
	case rollout.ArmTreatment:
		if audience() {
			return armTreatment
		}
	case rollout.ArmControl:
		if audience() {
			return armControl
		}
	case rollout.ArmHoldout:
		if g.HoldoutControl {
			return armControl
		}
	}
	return 0
}

// addUnit counts a newly exposed unit.
func (g *stageAgg) addUnit(key string, arm uint8, dims map[string]string, maxValues int) int32 {
	idx := int32(len(g.Keys))
	g.Keys = append(g.Keys, key)
	g.Arms = append(g.Arms, arm)
	for d, name := range g.Dims {
		g.DimV = append(g.DimV, g.valueIndex(d, dims[name], maxValues))
	}
	for range len(g.Tests) * perUnit {
		g.Vals = append(g.Vals, 0)
	}
	if arm == armTreatment {
		g.NT++
	} else {
		g.NC++
	}
	for ti := range g.Tests {
		t := &g.Tests[ti]
		if t.exposed() {
			g.apply(idx, t, func(s *analysis.Stats) { addValue(t, &s.Moments, 0, 0) })
		}
	}
	return idx
}

// apply runs f on the unit's statistics of test t: overall and in each of its segments.
func (g *stageAgg) apply(idx int32, t *test, f func(*analysis.Stats)) {
	a := int(g.Arms[idx]) - 1
	f(&t.Total[a])
	nd := len(g.Dims)
	for d := range nd {
		v := g.DimV[int(idx)*nd+d]
		f(&t.Segs[d][v][a])
	}
}

func addValue(t *test, m *analysis.Moments, y, x float64) {
	if t.ratio() {
		m.AddRatio(y, x)
	} else {
		m.Add(y)
	}
}

func removeValue(t *test, m *analysis.Moments, y, x float64) {
	m.N--
	m.Sum -= y
	m.SumSq -= y * y
	if t.ratio() {
		m.SumX -= x
		m.SumXSq -= x * x
		m.SumXY -= x * y
	}
}

// markMulti moves a unit seen in both arms out of every statistic.
func (g *stageAgg) markMulti(idx int32) {
	for ti := range g.Tests {
		t := &g.Tests[ti]
		base := (int(idx)*len(g.Tests) + ti) * perUnit
		a, b, c := g.Vals[base], g.Vals[base+1], g.Vals[base+2]
		if t.Spec.Kind == analysis.KindDistribution || (!t.exposed() && c == 0) {
			continue
		}
		y, x := t.value(a, b, c)
		g.apply(idx, t, func(s *analysis.Stats) { removeValue(t, &s.Moments, y, x) })
	}
	if g.Arms[idx] == armTreatment {
		g.NT--
	} else {
		g.NC--
	}
	g.NMulti++
	g.Arms[idx] = armMulti
}

// metricEvent folds one value of a metric event (or of an exposure, for "$exposure"
// metrics) into the unit's running totals of test ti and the sums, by delta.
func (g *stageAgg) metricEvent(idx int32, ti int, v float64, denominator bool, warmup float64) {
	t := &g.Tests[ti]
	arm := g.Arms[idx]
	if arm == armMulti {
		return
	}
	ai := int(arm) - 1
	base := (int(idx)*len(g.Tests) + ti) * perUnit
	a, b, c := g.Vals[base], g.Vals[base+1], g.Vals[base+2]
	na, nb, nc := a, b, c
	if !denominator && t.Def.Scale != 0 {
		v *= t.Def.Scale
	}
	if !denominator && t.Def.Transform == "log" {
		if !(v > 0) {
			return // ln is undefined; such a value is a client bug, not an observation
		}
		v = math.Log(v)
	}
	switch {
	case denominator:
		nb, nc = b+v, c+1
	case t.Spec.Kind == analysis.KindDistribution:
		t.Total[ai].Histogram.Add(v)
		g.Vals[base+2] = c + 1
		return
	case t.Spec.Kind == analysis.KindQuantile:
		if t.Sketch[ai] == nil {
			t.Sketch[ai], _ = quantile.New(quantile.DefaultAccuracy)
		}
		_ = t.Sketch[ai].Add(v)
		if !t.Frozen {
			g.maybeFreeze(t, warmup)
			return
		}
		beyond := v > t.Threshold[ai]
		if t.Spec.Direction == analysis.HigherIsBetter {
			beyond = v < t.Threshold[ai]
		}
		if beyond {
			na = a + 1
		}
		nb, nc = b+1, c+1
	case t.Spec.Kind == analysis.KindProportion:
		if v > 0 {
			na = a + 1
		}
		nc = c + 1
	case t.Spec.Kind == analysis.KindRatio:
		na, nc = a+v, c+1
		if t.Def.Denominator == "" {
			nb = b + 1
		}
	default: // mean, count
		na, nc = a+v, c+1
	}
	g.Vals[base], g.Vals[base+1], g.Vals[base+2] = na, nb, nc
	counted := t.exposed() || c > 0
	y0, x0 := t.value(a, b, c)
	y1, x1 := t.value(na, nb, nc)
	if counted && y0 == y1 && x0 == x1 {
		return
	}
	g.apply(idx, t, func(s *analysis.Stats) {
		m := &s.Moments
		switch {
		case !counted:
			addValue(t, m, y1, x1)
		case t.ratio():
			m.UpdateRatio(y0, x0, y1-y0, x1-x0)
		default:
			m.Update(y0, y1-y0)
		}
	})
}

// maybeFreeze fixes a quantile test's exceedance thresholds once control has
// warmup values: control's quantile q, and the thresholds of
// analysis.ExceedanceThresholds. Values before are only sketched.
func (g *stageAgg) maybeFreeze(t *test, warmup float64) {
	c := t.Sketch[1]
	if c == nil || c.Count() < warmup {
		return
	}
	q, err := c.Quantile(t.Spec.WithDefaults().Quantile)
	if err != nil {
		return
	}
	t.Threshold[0], t.Threshold[1] = analysis.ExceedanceThresholds(t.Spec, q)
	t.Frozen = true
}

// restart begins a new evidence period of the same stage (CLARIFICATIONS §40): units
// keep their arms, their totals and the sums start again.
func (g *stageAgg) restart(at time.Time) {
	g.EvidenceStart = at
	g.AsOf = time.Time{}
	clear(g.Vals)
	for ti := range g.Tests {
		t := &g.Tests[ti]
		t.Total = armStats{}
		initHistograms(t, &t.Total)
		for d := range t.Segs {
			clear(t.Segs[d])
		}
		t.Sketch = [2]*quantile.Sketch{}
		t.Frozen, t.Threshold = false, [2]float64{}
	}
	for idx := range g.Keys {
		if g.Arms[idx] == armMulti {
			continue
		}
		for ti := range g.Tests {
			t := &g.Tests[ti]
			if t.exposed() {
				g.apply(int32(idx), t, func(s *analysis.Stats) { addValue(t, &s.Moments, 0, 0) })
			}
		}
	}
}

func initHistograms(t *test, s *armStats) {
	if t.Spec.Kind != analysis.KindDistribution {
		return
	}
	for a := range s {
		s[a].Histogram, _ = analysis.NewHistogram(t.Def.Bins)
	}
}

// design is how a stage's analysis compares arms: the audience, the planned
// treatment share π and whether the holdout is the control (a 100 % ring).
type design struct {
	audience       string
	share          float64
	holdoutControl bool
}

// stageDesign is the plan's comparison for stage i (rollout.Plan.Comparison).
func stageDesign(p *rollout.Plan, i int) (design, bool) {
	c, ok := p.Comparison(i)
	return design{audience: c.Audience, share: c.Share, holdoutControl: c.HoldoutControl}, ok
}
