package sim

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/ramp-release/ramp/internal/analysis"
	"github.com/ramp-release/ramp/internal/rollout"
)

// Scenario is the truth of a simulation: what the treatment really does, to whom,
// from when. The simulator knows it; ramp has to find it out.
type Scenario struct {
	// Name is the scenario's short name ("aa", "error", …); Description says what it
	// injects.
	Name        string `json:"name"`
	Description string `json:"description"`
	Effect      Effect `json:"effect"`
	// Onset is when the effect starts.
	Onset Onset `json:"onset"`
}

// Metrics an Effect can change.
const (
	EffectError   = "error"   // the error rate, relative: 0.5 is 1.0 % → 1.5 %
	EffectThumbs  = "thumbs"  // the thumbs-up rate, absolute: 0.04 is 0.80 → 0.76
	EffectLatency = "latency" // latency, relative: 0.15 is +15 % on every request
	EffectTickets = "tickets" // tickets per user, relative
)

// Effect is what the treatment does to the units that get it.
type Effect struct {
	// Metric is one of EffectError, EffectThumbs, EffectLatency, EffectTickets, or
	// empty for no effect on outcomes.
	Metric string `json:"metric,omitempty"`
	// Size is the change: relative for error, latency and tickets, absolute (a drop)
	// for thumbs.
	Size float64 `json:"size,omitempty"`
	// PerDay makes the effect a drift: it grows by PerDay for every virtual day since
	// the onset (added to Size).
	PerDay float64 `json:"per_day,omitempty"`
	// Dimension and Value confine the effect to units with that attribute value
	// ("country", "BR").
	Dimension string `json:"dimension,omitempty"`
	Value     string `json:"value,omitempty"`
	// SRM, when not 0 or 1, is a bug in the assignment: the treatment's share of the
	// exposures logged is SRM × the planned share (exposures of the other arm are
	// lost, as when one code path fails to log them).
	SRM float64 `json:"srm,omitempty"`
}

// None reports whether the effect changes nothing: an A/A scenario.
func (e Effect) None() bool {
	return (e.Metric == "" || e.Size == 0 && e.PerDay == 0) && (e.SRM == 0 || e.SRM == 1)
}

// Onset is when an effect starts: After the rollout enters Stage. An empty Stage is
// the default onset stage (see DefaultOnsetStage).
type Onset struct {
	Stage string        `json:"stage,omitempty"`
	After time.Duration `json:"after,omitempty"`
}

// ScenarioNames lists the built-in scenarios in their order.
func ScenarioNames() []string {
	return []string{"aa", "error", "thumbs", "latency", "segment", "drift", "srm"}
}

// BuiltinScenario returns a built-in scenario: the effects of STATISTICS.md §3 and a
// drift and an SRM bug.
func BuiltinScenario(name string) (Scenario, bool) {
	switch name {
	case "aa":
		return Scenario{Name: name, Description: "A/A: the treatment is the control"}, true
	case "error":
		return Scenario{Name: name, Description: "error rate +50 % (1.0 → 1.5 %)", Effect: Effect{Metric: EffectError, Size: 0.5}}, true
	case "thumbs":
		return Scenario{Name: name, Description: "thumbs-up rate −4 points (0.80 → 0.76)", Effect: Effect{Metric: EffectThumbs, Size: 0.04}}, true
	case "latency":
		return Scenario{Name: name, Description: "latency +15 % on every request", Effect: Effect{Metric: EffectLatency, Size: 0.15}}, true
	case "segment":
		return Scenario{Name: name, Description: "error rate +100 % for country=BR only (10 % of units)",
			Effect: Effect{Metric: EffectError, Size: 1, Dimension: DimCountry, Value: "BR"}}, true
	case "drift":
		return Scenario{Name: name, Description: "error rate drifting up by +50 % a day (1.0 % → 1.5 % after one day)",
			Effect: Effect{Metric: EffectError, PerDay: 0.5}}, true
	case "srm":
		return Scenario{Name: name, Description: "assignment bug: treatment's logged share is 1.1 × the planned one (5.5 % at a 5 % ring)",
			Effect: Effect{SRM: 1.1}}, true
	}
	return Scenario{}, false
}

// ParseScenarios reads a comma-separated list of built-in scenario names.
func ParseScenarios(list string) ([]Scenario, error) {
	var out []Scenario
	for name := range strings.SplitSeq(list, ",") {
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		sc, ok := BuiltinScenario(name)
		if !ok {
			return nil, fmt.Errorf("unknown scenario %q; the scenarios are %s", name, strings.Join(ScenarioNames(), ", "))
		}
		if slices.ContainsFunc(out, func(s Scenario) bool { return s.Name == name }) {
			continue
		}
		out = append(out, sc)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no scenario given; choose from %s", strings.Join(ScenarioNames(), ", "))
	}
	return out, nil
}

// DefaultOnsetStage is the stage effects start in by default: the first ring of at
// least 5 % (the bars' 5 % ring), else the first ring, else the first stage.
func DefaultOnsetStage(p *rollout.Plan) int {
	first := -1
	for i, s := range p.Stages {
		if s.Percent >= 5 && s.Percent < 100 {
			return i
		}
		if s.Percent > 0 && first < 0 {
			first = i
		}
	}
	return max(first, 0)
}

// ParseOnset reads "STAGE" or "STAGE+DURATION" (e.g. "ring-5+2h").
func ParseOnset(s string) (Onset, error) {
	stage, after, ok := strings.Cut(s, "+")
	o := Onset{Stage: strings.TrimSpace(stage)}
	if ok {
		d, err := rollout.ParseDuration(after)
		if err != nil {
			return o, fmt.Errorf("onset %q: %w", s, err)
		}
		o.After = d.D()
	}
	return o, nil
}

// dimIndex returns the index of dimension dim and of its value in the traffic, or
// ok false.
func (t *Traffic) dimIndex(dim, value string) (d int, v uint8, ok bool) {
	d = slices.Index(Dimensions, dim)
	if d < 0 {
		return 0, 0, false
	}
	for i, s := range [][]Share{t.Countries, t.Plans, t.Platforms}[d] {
		if s.Value == value {
			return d, uint8(i), true
		}
	}
	return 0, 0, false
}

// effect is a scenario's effect prepared for one simulation.
type effect struct {
	Effect
	seg      bool
	dim      int
	value    uint8
	segShare float64
}

func newEffect(e Effect, t *Traffic) (effect, error) {
	ef := effect{Effect: e}
	switch e.Metric {
	case "", EffectError, EffectThumbs, EffectLatency, EffectTickets:
	default:
		return ef, fmt.Errorf("effect on %q: the metrics are %s, %s, %s and %s", e.Metric, EffectError, EffectThumbs, EffectLatency, EffectTickets)
	}
	if e.Dimension != "" {
		d, v, ok := t.dimIndex(e.Dimension, e.Value)
		if !ok {
			return ef, fmt.Errorf("effect confined to %s=%s: the traffic has no such dimension value", e.Dimension, e.Value)
		}
		ef.seg, ef.dim, ef.value = true, d, v
		ef.segShare = [][]Share{t.Countries, t.Plans, t.Platforms}[d][v].Share
	}
	if e.SRM < 0 {
		return ef, fmt.Errorf("srm factor %v must be positive", e.SRM)
	}
	return ef, nil
}

// applies reports whether the effect changes unit u's outcomes.
func (e *effect) applies(u *Unit) bool {
	return e.Metric != "" && (!e.seg || u.Dims[e.dim] == e.value)
}

// shift returns the treatment's condition for a unit since onset.
func (e *effect) shift(c condition, since time.Duration) condition {
	size := e.Size + e.PerDay*since.Hours()/24
	switch e.Metric {
	case EffectError:
		c.errorRate = math.Min(1, c.errorRate*(1+size))
	case EffectThumbs:
		c.thumbsUp = math.Max(0, c.thumbsUp-size)
	case EffectLatency:
		c.latencyShift += math.Log1p(size)
	case EffectTickets:
		c.ticketFactor *= 1 + size
	}
	return c
}

// srmDrop returns the probability with which an exposure of the arm is lost, so that
// treatment's share of logged exposures is SRM × π.
func (e *effect) srmDrop(pi float64, arm uint8) float64 {
	if e.SRM == 0 || e.SRM == 1 {
		return 0
	}
	s := math.Min(e.SRM*pi, 0.999)
	if s > pi {
		// Lose control exposures: π / (π + (1−π)(1−q)) = s.
		if arm == armControl {
			return 1 - pi*(1-s)/(s*(1-pi))
		}
		return 0
	}
	if arm == armTreatment {
		return 1 - s*(1-pi)/(pi*(1-s))
	}
	return 0
}

// oracleFor is the SPRT oracle for the scenario at the onset stage: the effect on
// the test it harms, at that test's α. The oracle tests the hypothesis ramp tests: its
// null is the guardrail's tolerance (control's value when the tolerance is 0, as in
// the bars), its alternative the injected effect. ok is false for scenarios without
// one (A/A, drift), for plans without a guardrail on the harmed metric and for
// effects within the tolerance (which are, by the plan's definition, no harm).
func (s *Sim) oracleFor(sc Scenario, ef effect) (Oracle, bool) {
	e := sc.Effect
	if e.SRM != 0 && e.SRM != 1 {
		pi := s.design[s.onsetStage].share
		if pi == 0 {
			return Oracle{}, false
		}
		return Oracle{
			Units: analysis.WaldExpectedN(s.budget.SRM, OracleBeta, analysis.KLBernoulli(math.Min(e.SRM*pi, 0.999), pi)),
			Alpha: s.budget.SRM, Test: "srm",
			Note: fmt.Sprintf("all units; logged treatment share %.4g against %.4g", math.Min(e.SRM*pi, 0.999), pi),
		}, true
	}
	if e.Metric == "" || e.PerDay != 0 || e.Size == 0 {
		return Oracle{}, false
	}
	ti := s.harmedTest(e.Metric)
	if ti < 0 {
		return Oracle{}, false
	}
	t := s.traffic
	m := s.tests[ti].spec.WithDefaults()
	tol := m.Tolerance
	// null returns the tolerance's boundary for a baseline b where higher is worse
	// (dir +1) or lower is worse (dir −1).
	null := func(b, dir float64) float64 {
		if tol.Kind == analysis.Relative {
			return b * (1 + dir*tol.Value)
		}
		return b + dir*tol.Value
	}
	var kl float64
	var note string
	within := false
	switch {
	case e.Metric == EffectError:
		p0, p1 := null(t.ErrorRate, 1), math.Min(1, t.ErrorRate*(1+e.Size))
		within = p1 <= p0
		kl = analysis.KLBernoulli(p1, p0)
		note = fmt.Sprintf("Bernoulli %.4g (null) → %.4g per unit", p0, p1)
	case e.Metric == EffectThumbs:
		p0, p1 := null(t.ThumbsUp, -1), t.ThumbsUp-e.Size
		within = p1 >= p0
		kl = analysis.KLBernoulli(p1, p0) * t.RatingShare
		note = fmt.Sprintf("Bernoulli %.4g (null) → %.4g per rating unit; %.0f %% of units rate", p0, p1, 100*t.RatingShare)
	case e.Metric == EffectLatency && m.Kind == analysis.KindQuantile:
		// Exceedance form: the treatment's share beyond (1+δ)·q against control's 1 − Q.
		q := m.Quantile
		p0 := 1 - q
		shift := math.Log1p(e.Size)
		q95 := t.LatencyMedianMs * math.Exp(zQuantile(q)*t.LatencyLogSD)
		thrT, thrC := analysis.ExceedanceThresholds(m, q95)
		bound := math.Log(thrT / thrC)
		p1 := 1 - normalCDF(zQuantile(q)+(bound-shift)/t.LatencyLogSD)
		within = p1 <= p0
		kl = analysis.KLBernoulli(p1, p0)
		note = fmt.Sprintf("exceedance: share of requests beyond the threshold %.4g (null) → %.4g", p0, p1)
	case e.Metric == EffectLatency:
		d := math.Log1p(e.Size)
		if tol.Kind == analysis.Relative {
			d -= math.Log1p(tol.Value)
		} else {
			d -= tol.Value
		}
		within = d <= 0
		kl = analysis.KLNormal(d, t.LatencyLogSD)
		note = fmt.Sprintf("normal mean of ln latency shifted by %.4g beyond the tolerance, sd %.4g", d, t.LatencyLogSD)
	case e.Metric == EffectTickets:
		l0, l1 := null(t.TicketsPerUser, 1), t.TicketsPerUser*(1+e.Size)
		within = l1 <= l0
		kl = l1*math.Log(l1/l0) - l1 + l0 // KL of Poisson(λ₁) from Poisson(λ₀)
		note = fmt.Sprintf("Poisson tickets per unit %.4g (null) → %.4g", l0, l1)
	}
	name := s.tests[ti].name
	alpha := s.budget.Total
	if ef.seg {
		alpha = s.budget.Segment
		kl *= ef.segShare
		name += "@" + e.Dimension + "=" + e.Value
		note += fmt.Sprintf("; only in %s=%s (%.0f %% of units)", e.Dimension, e.Value, 100*ef.segShare)
	}
	if within {
		return Oracle{Test: name, Note: "the effect is within the guardrail's tolerance: by the plan's definition no harm, so no detection is expected"}, false
	}
	return Oracle{Units: analysis.WaldExpectedN(alpha, OracleBeta, kl), Alpha: alpha, Test: name, Note: note}, true
}

func normalCDF(x float64) float64 { return 0.5 * math.Erfc(-x/math.Sqrt2) }

// harmedTest returns the index of the guardrail that watches the effect's metric: for
// latency the mean of ln latency if the plan has it, else the quantile.
func (s *Sim) harmedTest(metric string) int {
	want := map[string]signal{EffectError: sigError, EffectThumbs: sigThumbs, EffectLatency: sigLatency, EffectTickets: sigTickets}[metric]
	best := -1
	for i, t := range s.tests {
		if t.role != "guardrail" || t.sig != want {
			continue
		}
		if best < 0 || (t.sig == sigLatency && t.spec.Kind == analysis.KindMean && s.tests[best].spec.Kind != analysis.KindMean) {
			best = i
		}
	}
	return best
}
