package rollout

import (
	"fmt"
	"math"
	"time"
)

// Sizing is how much evidence a stage needs to see the harm its guardrails guard
// against (CLARIFICATIONS §41), and how long that takes at a given traffic.
type Sizing struct {
	Stage     int    `json:"stage"`
	StageName string `json:"stage_name"`
	// TreatmentShare is π, the treated share of the units the stage compares.
	TreatmentShare float64 `json:"treatment_share"`
	// Alpha is the one-sided error rate per test used: the plan's alpha split
	// evenly over the stages with a control arm and the guardrails.
	Alpha float64 `json:"alpha"`
	// Metric is the guardrail that needs the most units; Treatment and Control
	// are the recommended minimum units per arm (0 when nothing could be sized).
	Metric    string `json:"metric,omitempty"`
	Treatment int64  `json:"treatment"`
	Control   int64  `json:"control"`
	// PerMetric lists every guardrail's own requirement.
	PerMetric []MetricSizing `json:"per_metric,omitempty"`
	// UnitsPerHour is the traffic the expected duration was computed for: new
	// distinct units per hour entering the units the stage compares.
	UnitsPerHour float64 `json:"units_per_hour,omitempty"`
	// Expected is the time to collect Treatment and Control units at that traffic.
	Expected Duration `json:"expected,omitempty"`
	// Warnings say what is too short or could not be sized.
	Warnings []string `json:"warnings,omitempty"`
}

// MetricSizing is one guardrail's requirement.
type MetricSizing struct {
	Metric    string `json:"metric"`
	Treatment int64  `json:"treatment"`
	Control   int64  `json:"control"`
	// Note says why the metric was not sized, when it was not.
	Note string `json:"note,omitempty"`
}

// Size recommends stage i's minimum sample and the time it takes at unitsPerHour
// (0 when unknown), and warns when the stage is too short to see harm.
//
// The formula is the fixed-horizon, one-sided normal approximation: to detect a
// harm h beyond the tolerance t (both in the metric's units) with power 1−β at
// level α, when a share π of the compared units is treated,
//
//	n_T = (z_{1−α} + z_{1−β})² · (σ_T² + σ_C² · π/(1−π)) / (h − t)²,   n_C = n_T · (1−π)/π
//
// with σ² = b(1−b) for a proportion with baseline b (b shifted by the harm for the
// treatment) and σ = SD otherwise (quantiles are treated like means: a rough
// guide). α is the plan's alpha divided by (stages with a control × guardrails), the
// Bonferroni split that keeps the whole plan's false-rollback rate at alpha. The
// sequential tests ramp runs may look at any time, which costs somewhat more than
// this fixed-horizon figure (STATISTICS.md §5: about 1.5×), so treat it as a floor.
//
// π is the ring (or segment share) of the stage; a 100 % stage is compared with the
// holdout, π = (100000−H)/100000, and cannot be sized without one.
func (p *Plan) Size(i int, unitsPerHour float64) Sizing {
	sz := Sizing{Stage: i, UnitsPerHour: unitsPerHour}
	if i < 0 || i >= len(p.Stages) {
		sz.Warnings = append(sz.Warnings, fmt.Sprintf("stage %d does not exist", i))
		return sz
	}
	st := p.Stages[i]
	sz.StageName = st.Name
	sz.TreatmentShare = p.treatmentShare(i)
	if len(p.Guardrails) == 0 {
		sz.Warnings = append(sz.Warnings, fmt.Sprintf("stage %q: the plan has no guardrails, so nothing can catch harm", st.Name))
		return sz
	}
	if !p.HasControl(i) {
		sz.Warnings = append(sz.Warnings, fmt.Sprintf("stage %q serves everyone and the plan has no holdout: there is no control to compare with, so the stage is timed only", st.Name))
		return sz
	}
	tests := 0
	for j := range p.Stages {
		if p.HasControl(j) {
			tests++
		}
	}
	sz.Alpha = p.alpha() / float64(tests*len(p.Guardrails))
	z := zQuantile(1-sz.Alpha) + zQuantile(p.power())
	pi := sz.TreatmentShare
	for _, g := range p.Guardrails {
		ms := MetricSizing{Metric: g.Metric}
		sigmaT, sigmaC, delta, note := g.moments()
		if note != "" {
			ms.Note = note
			sz.Warnings = append(sz.Warnings, fmt.Sprintf("stage %q: guardrail %s cannot be sized: %s", st.Name, g.Metric, note))
		} else {
			nt := math.Ceil(z * z * (sigmaT*sigmaT + sigmaC*sigmaC*pi/(1-pi)) / (delta * delta))
			ms.Treatment = int64(nt)
			ms.Control = int64(math.Ceil(nt * (1 - pi) / pi))
			if ms.Treatment > sz.Treatment {
				sz.Metric, sz.Treatment, sz.Control = g.Metric, ms.Treatment, ms.Control
			}
		}
		sz.PerMetric = append(sz.PerMetric, ms)
	}
	if sz.Treatment == 0 {
		return sz
	}
	catch := fmt.Sprintf("to catch %s on %s with %.0f %% power", p.harmOf(sz.Metric), sz.Metric, p.power()*100)
	if st.MinUnitsPerArm > 0 && st.MinUnitsPerArm < sz.Treatment {
		sz.Warnings = append(sz.Warnings, fmt.Sprintf("stage %q: min_units_per_arm %d is below the %d treatment units needed %s", st.Name, st.MinUnitsPerArm, sz.Treatment, catch))
	}
	if unitsPerHour > 0 {
		hours := float64(sz.Treatment) / (unitsPerHour * pi)
		sz.Expected = Duration(time.Duration(hours * float64(time.Hour)).Round(time.Minute))
		if sz.Expected < st.MinDuration {
			sz.Expected = st.MinDuration
		}
		if st.MinDuration < sz.Expected {
			sz.Warnings = append(sz.Warnings, fmt.Sprintf("stage %q: min_duration %s is shorter than the ~%s it takes at %.0f units/h to collect %d treatment units, enough %s", st.Name, st.MinDuration, sz.Expected, unitsPerHour, sz.Treatment, catch))
		}
		if st.MaxDuration > 0 && st.MaxDuration < sz.Expected {
			sz.Warnings = append(sz.Warnings, fmt.Sprintf("stage %q: max_duration %s is shorter than the ~%s the evidence takes at %.0f units/h; the stage will likely pause for lack of evidence", st.Name, st.MaxDuration, sz.Expected, unitsPerHour))
		}
	}
	return sz
}

// SizeStages sizes every stage; unitsPerHour gives each stage's traffic (nil for unknown).
func (p *Plan) SizeStages(unitsPerHour func(stage int) float64) []Sizing {
	out := make([]Sizing, len(p.Stages))
	for i := range p.Stages {
		var u float64
		if unitsPerHour != nil {
			u = unitsPerHour(i)
		}
		out[i] = p.Size(i, u)
	}
	return out
}

func (p *Plan) harmOf(metric string) string {
	for _, g := range p.Guardrails {
		if g.Metric == metric {
			if g.Harm.Relative != 0 {
				return fmt.Sprintf("%+g %%", g.Harm.Relative*100)
			}
			return fmt.Sprintf("%+g", g.Harm.Absolute)
		}
	}
	return ""
}

// treatmentShare is π for stage i: the ring or segment share, or against the
// holdout when the stage treats everyone.
func (p *Plan) treatmentShare(i int) float64 {
	st := p.Stages[i]
	pct := st.Percent
	if pct == 0 {
		pct = p.segmentPercent(i)
	}
	if pct < 100 {
		return pct / 100
	}
	return float64(p.eligibleBuckets()) / TotalBuckets
}

// moments returns the per-unit standard deviations of the treatment and control
// arms and the detectable difference h − t in the metric's units, or a note saying
// what is missing.
func (g Guardrail) moments() (sigmaT, sigmaC, delta float64, note string) {
	if g.Harm.IsZero() {
		return 0, 0, 0, "give the smallest harm worth catching (harm)"
	}
	if g.Baseline <= 0 && (g.Harm.Relative != 0 || g.Kind == Proportion || g.Kind == "") {
		return 0, 0, 0, "give control's expected value (baseline)"
	}
	delta = g.Harm.of(g.Baseline) - g.Tolerance.of(g.Baseline)
	if delta <= 0 {
		return 0, 0, 0, "the harm does not exceed the tolerance"
	}
	switch g.Kind {
	case Proportion, "":
		b := g.Baseline
		if b >= 1 {
			return 0, 0, 0, "a proportion's baseline must be below 1"
		}
		bt := b + g.Harm.of(b)
		if g.Direction == Decrease {
			bt = b - g.Harm.of(b)
		}
		bt = min(max(bt, 0), 1)
		return math.Sqrt(bt * (1 - bt)), math.Sqrt(b * (1 - b)), delta, ""
	}
	if g.SD <= 0 {
		return 0, 0, 0, "give the per-unit standard deviation (sd)"
	}
	return g.SD, g.SD, delta, ""
}

// zQuantile is the standard normal quantile Φ⁻¹(q).
func zQuantile(q float64) float64 { return math.Sqrt2 * math.Erfinv(2*q-1) }
