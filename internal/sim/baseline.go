package sim

import (
	"math"

	"github.com/ramp-release/ramp/internal/analysis"
)

// The baselines ramp's decisions are compared with, run on the same simulated data.

// ZTest is the fixed-horizon test a dashboard that "checks significance" runs, peeked
// at every tick: Welch's two-sample z statistic (the t-test at these sample sizes)
// for the contrast ramp tests — the excess of harm beyond the tolerance,
// sign·(m_T − k·m_C) − shift with variance s_T²/n_T + k²·s_C²/n_C (ratio metrics: the
// delta-method variances) — rolling back when it is significant on the harmful side
// of a two-sided test at α: Z ≥ z_{1−α/2}. It needs MinUnits (30) units per arm. It is
// valid once, at a horizon fixed in advance; checked every tick it rolls back healthy
// features far more often than α (STATISTICS.md §2, "peeking").
func ZTest(m analysis.Metric, arms analysis.Arms, alpha float64) (z float64, crossed bool) {
	m = m.WithDefaults()
	t, c := arms.Treatment.Moments, arms.Control.Moments
	minUnits := math.Max(m.MinUnits, analysis.DefaultMinUnits)
	if t.N < minUnits || c.N < minUnits {
		return 0, false
	}
	var mt, mc, vt, vc float64
	if m.Kind == analysis.KindRatio || m.Kind == analysis.KindQuantile {
		mt, mc, vt, vc = t.Ratio(), c.Ratio(), t.RatioVariance(), c.RatioVariance()
	} else {
		mt, mc, vt, vc = t.Mean(), c.Mean(), t.Variance()/t.N, c.Variance()/c.N
	}
	sign, k, shift := contrast(m)
	v := vt + k*k*vc
	if !(v > 0) || math.IsNaN(mt) || math.IsNaN(mc) {
		return 0, false
	}
	z = (sign*(mt-k*mc) - shift) / math.Sqrt(v)
	return z, z >= zQuantile(1-alpha/2)
}

// contrast is the tested contrast of package analysis (evaluate.go): excess =
// sign·(m_T − k·m_C) − shift is positive when the treatment is worse than the
// tolerance allows.
func contrast(m analysis.Metric) (sign, k, shift float64) {
	sign, k = 1, 1
	if m.Direction == analysis.HigherIsBetter {
		sign = -1
	}
	switch {
	case m.Kind == analysis.KindQuantile:
		sign = 1
	case m.Tolerance.Kind == analysis.Absolute || m.Tolerance.Kind == "":
		shift = m.Tolerance.Value
	case m.LogScale:
		shift = sign * math.Log1p(sign*m.Tolerance.Value)
	default:
		k = 1 + sign*m.Tolerance.Value
	}
	return sign, k, shift
}

// zQuantile is the standard normal quantile Φ⁻¹(q).
func zQuantile(q float64) float64 { return -math.Sqrt2 * math.Erfcinv(2*q) }

// Threshold is the fixed-threshold check of Flagger's shape (CLARIFICATIONS §31):
// every tick, the treatment's error rate over the last tick (5 minutes) above
// Factor × control's is a failed check, and Failures consecutive failed checks roll
// back. The zero value uses Flagger's shape: factor 1.5, three failures.
type Threshold struct {
	Factor   float64
	Failures int
	failed   int
}

// Check records one tick: errors and units in each arm during the tick. It reports
// whether the check rolls back now. A tick without units in either arm checks
// nothing.
func (th *Threshold) Check(errT, unitsT, errC, unitsC float64) bool {
	factor, failures := th.Factor, th.Failures
	if factor == 0 {
		factor = 1.5
	}
	if failures == 0 {
		failures = 3
	}
	if unitsT == 0 || unitsC == 0 {
		return false
	}
	if errT/unitsT > factor*errC/unitsC {
		th.failed++
	} else {
		th.failed = 0
	}
	return th.failed >= failures
}

// Reset forgets the failed checks (a new stage starts a new analysis).
func (th *Threshold) Reset() { th.failed = 0 }

// Oracle is Wald's SPRT's expected sample size under the alternative, the fewest
// units any test with the same error rates needs on average (analysis.WaldExpectedN
// with β = 0.1), for one scenario's effect on the test it harms, at the α the plan
// gives that test.
type Oracle struct {
	// Units is E[N] in treatment units (all units for SRM).
	Units float64 `json:"units"`
	// Alpha is the α of the test (CLARIFICATIONS §26: the plan's share for it).
	Alpha float64 `json:"alpha"`
	// Test names the test the oracle is for, e.g. "error_rate" or "error_rate@country=BR".
	Test string `json:"test"`
	// Note explains how E[N] was computed.
	Note string `json:"note,omitempty"`
}

// OracleBeta is the oracle's type-II error.
const OracleBeta = 0.1
