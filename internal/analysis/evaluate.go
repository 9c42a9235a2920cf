package analysis

import (
	"fmt"
	"math"
)

// Status is what a test concluded.
type Status string

// Statuses.
const (
	// Crossed: the treatment is worse than its tolerance allows (the lower bound of the harm beyond
	// the tolerance is above 0): roll back or pause, as the guardrail says.
	Crossed Status = "crossed"
	// Clear: non-inferiority shown (the upper bound of the harm beyond the tolerance is below 0): a
	// gate may pass.
	Clear Status = "clear"
	// NotEnoughEvidence: neither yet; hold at the current stage.
	NotEnoughEvidence Status = "not_enough_evidence"
)

// Stats is one arm's statistics for one metric. Tests read Moments; distribution metrics read
// Histogram.
type Stats struct {
	// Moments are the per-unit sums (every kind but distribution).
	Moments Moments `json:"moments"`
	// Histogram holds a distribution metric's values.
	Histogram Histogram `json:"histogram,omitzero"`
}

// Arms holds a metric's statistics for treatment and control.
type Arms struct {
	// Treatment is the arm with the new variant, Control the randomised baseline of the same stage.
	Treatment Stats `json:"treatment"`
	Control   Stats `json:"control"`
}

// Interval is an anytime-valid interval: each bound holds at the test's α at every sample size.
// Unbounded sides are infinite (null in JSON).
type Interval struct {
	// Lower and Upper are the bounds.
	Lower float64 `json:"lower"`
	Upper float64 `json:"upper"`
}

// Contains reports whether x lies in the interval.
func (i Interval) Contains(x float64) bool { return i.Lower <= x && x <= i.Upper }

// Segment names a segment value; the zero Segment is the whole stage.
type Segment struct {
	// Dimension is the analysis dimension (country) and Value its value (BR, or OtherValue).
	Dimension string `json:"dimension,omitempty"`
	Value     string `json:"value,omitempty"`
}

// ArmSummary is what a result says about one arm.
type ArmSummary struct {
	// Units is the number of units.
	Units float64 `json:"units"`
	// Mean is the arm's estimate: mean per-unit value, or Σy/Σx for ratio and quantile metrics.
	Mean float64 `json:"mean"`
	// Harmful is the number of harmful units (exact count test only).
	Harmful float64 `json:"harmful,omitempty"`
}

// Result is one test of one metric in one segment.
type Result struct {
	// Metric is the metric's name; Segment the segment value tested (zero: the whole stage).
	Metric  string  `json:"metric"`
	Segment Segment `json:"segment,omitzero"`
	// Method is the test used and Status what it concluded.
	Method Method `json:"method"`
	Status Status `json:"status"`
	// Alpha is the level this test was given by the α budget.
	Alpha float64 `json:"alpha"`
	// Treatment and Control summarise the arms.
	Treatment ArmSummary `json:"treatment"`
	Control   ArmSummary `json:"control"`
	// Diff is m_T − m_C (a log ratio for LogScale metrics), with DiffBounds its anytime-valid
	// bounds at the same α, tolerance aside.
	Diff       float64  `json:"diff"`
	DiffBounds Interval `json:"diff_bounds"`
	// Relative is m_T / m_C − 1 (exp(Diff) − 1 on the log scale); NaN when m_C is 0.
	Relative float64 `json:"relative"`
	// Excess is how far the treatment is beyond its tolerance on the harmful side, in the metric's
	// units: dir·d − δ for an absolute tolerance, dir·(m_T − (1 + dir·δ) m_C) for a relative one, with
	// dir = +1 when lower is better. Crossed ⟺ ExcessBounds.Lower > 0; Clear ⟺ ExcessBounds.Upper < 0.
	// For the exact count test both come from the test's own view of the data: the ratio ρ of the
	// arms' harmful-unit rates implied by how harmful units split between the arms under the planned
	// share, as (ρ − (1+δ))·q_C with q_C control's harmful-unit rate.
	Excess       float64  `json:"excess"`
	ExcessBounds Interval `json:"excess_bounds"`
	// LogE is the log e-value (likelihood ratio or Bayes factor) for harm beyond the tolerance and
	// LogEClear the one for non-inferiority; a status is reached when it is ≥ ln(1/α). Both are 0
	// for the asymptotic method, which has no e-value.
	LogE      float64 `json:"log_e"`
	LogEClear float64 `json:"log_e_clear"`
	// Note says why there is not enough evidence when the data cannot be tested yet.
	Note string `json:"note,omitempty"`
}

// Evaluate tests one metric: arms are the two arms' statistics, share the planned treatment share
// of the stage (the exact count test's null) and alpha the level the α budget gives this test.
// It fails only on an invalid metric or level; data that cannot be tested yet give NotEnoughEvidence
// with a Note.
func Evaluate(m Metric, arms Arms, share, alpha float64) (Result, error) {
	m = m.WithDefaults()
	if err := m.validate(); err != nil {
		return Result{}, fmt.Errorf("metric %q: %w", m.Name, err)
	}
	if m.Kind == KindDistribution {
		return Result{}, fmt.Errorf("metric %q: distribution metrics are graded by Drift, not tested", m.Name)
	}
	if !(alpha > 0 && alpha < 0.5) {
		return Result{}, fmt.Errorf("metric %q: alpha %v is not in (0, 0.5)", m.Name, alpha)
	}
	if !(share > 0 && share < 1) {
		return Result{}, fmt.Errorf("metric %q: planned treatment share %v is not strictly between 0 and 1", m.Name, share)
	}
	return evaluate(m, arms, share, alpha, true), nil
}

// evaluate is Evaluate for a metric with defaults applied and validated. Without bounds the exact
// count test skips inverting itself into bounds (the costly part); the status is the same.
func evaluate(m Metric, arms Arms, share, alpha float64, bounds bool) Result {
	t, c := arms.Treatment.Moments, arms.Control.Moments
	r := Result{
		Metric:       m.Name,
		Method:       m.Method,
		Status:       NotEnoughEvidence,
		Alpha:        alpha,
		Treatment:    ArmSummary{Units: t.N},
		Control:      ArmSummary{Units: c.N},
		DiffBounds:   unbounded,
		ExcessBounds: unbounded,
		Relative:     math.NaN(),
	}
	// Each arm's per-unit variance is at least half the variance of both arms pooled. The plug-in
	// variance of a small arm can collapse (30 control units of a segment, all with a thumbs-up, have
	// variance 0) and a test at a segment's tiny α would then cross on noise. Under the null both arms
	// share one variance, which the pooled estimate knows better; half of it catches a collapse while
	// leaving ordinary sampling noise (which self-normalises the harmful side) alone, and the floor
	// never makes the interval narrower than the plug-in's.
	ratio := m.Kind == KindRatio || m.Kind == KindQuantile
	pool := t
	pool.Merge(c)
	var vt, vc float64
	if ratio {
		r.Treatment.Mean, r.Control.Mean = t.Ratio(), c.Ratio()
		floor := varianceFloor * pool.linearizedVariance()
		xt, xc := t.SumX/t.N, c.SumX/c.N
		vt = math.Max(t.linearizedVariance(), floor) / (t.N * xt * xt)
		vc = math.Max(c.linearizedVariance(), floor) / (c.N * xc * xc)
	} else {
		r.Treatment.Mean, r.Control.Mean = t.Mean(), c.Mean()
		floor := varianceFloor * pool.Variance()
		vt, vc = math.Max(t.Variance(), floor)/t.N, math.Max(c.Variance(), floor)/c.N
	}
	mt, mc := r.Treatment.Mean, r.Control.Mean
	r.Diff = mt - mc
	switch {
	case m.LogScale:
		r.Relative = math.Expm1(r.Diff)
	case mc != 0:
		r.Relative = mt/mc - 1
	}

	// The contrast: Excess = sign·(m_T − k·m_C) − shift, positive when harmful beyond the tolerance.
	sign, k, shift := m.Direction.harmSign(), 1.0, 0.0
	switch {
	case m.Kind == KindQuantile:
		// Exceedance shares: higher is worse whatever the direction, and the tolerance is in the
		// thresholds already (ExceedanceThresholds).
		sign = 1
	case m.Tolerance.Kind == Absolute:
		shift = m.Tolerance.Value
	case m.LogScale:
		shift = sign * math.Log1p(sign*m.Tolerance.Value)
	default:
		k = 1 + sign*m.Tolerance.Value
	}
	r.Excess = sign*(mt-k*mc) - shift

	if m.Method == MethodExactCount {
		return exactCount(m, r, t, c, share, alpha, k, bounds)
	}

	switch {
	case t.N < m.MinUnits || c.N < m.MinUnits:
		r.Note = "an arm has fewer units than min_units"
		return r
	case math.IsNaN(mt) || math.IsNaN(mc):
		r.Note = "an arm's denominator is 0"
		return r
	}
	v := vt + k*k*vc // variance of m_T − k m_C
	vd := vt + vc    // variance of m_T − m_C
	if !(v > 0) || !(vd > 0) || math.IsInf(v, 0) {
		r.Note = "no variation in either arm yet"
		return r
	}
	tau := m.Tau
	if tau == 0 {
		tau = m.RelativeTau * math.Abs(mc)
		if !(tau > 0) {
			r.Note = "relative τ needs a non-zero control mean"
			return r
		}
	}

	target := math.Log(1 / alpha)
	var w, wd float64
	switch m.Method {
	case MethodMixture:
		r.LogE = OneSidedMixtureLogLR(r.Excess, v, tau)
		r.LogEClear = OneSidedMixtureLogLR(-r.Excess, v, tau)
		w = OneSidedMixtureBound(v, tau, alpha)
		wd = w
		if vd != v {
			wd = OneSidedMixtureBound(vd, tau, alpha)
		}
	case MethodMixtureTwoSided:
		r.LogE = MixtureLogLR(math.Max(r.Excess, 0), v, tau)
		r.LogEClear = MixtureLogLR(math.Max(-r.Excess, 0), v, tau)
		w, wd = MixtureHalfWidth(v, tau, alpha), MixtureHalfWidth(vd, tau, alpha)
	case MethodAsymptotic:
		n := t.N + c.N
		w, wd = AsymptoticHalfWidth(v, n, m.PlannedUnits, alpha), AsymptoticHalfWidth(vd, n, m.PlannedUnits, alpha)
	}
	r.ExcessBounds = Interval{r.Excess - w, r.Excess + w}
	r.DiffBounds = Interval{r.Diff - wd, r.Diff + wd}
	if m.Method == MethodAsymptotic {
		r.Status = statusFromBounds(r.ExcessBounds)
	} else {
		r.Status = statusFromEvidence(r.LogE, r.LogEClear, target)
	}
	return r
}

var unbounded = Interval{math.Inf(-1), math.Inf(1)}

// varianceFloor is the fraction of the pooled per-unit variance below which an arm's own variance is
// not believed.
const varianceFloor = 0.5

func statusFromEvidence(logE, logEClear, target float64) Status {
	switch {
	case logE >= target:
		return Crossed
	case logEClear >= target:
		return Clear
	}
	return NotEnoughEvidence
}

func statusFromBounds(b Interval) Status {
	switch {
	case b.Lower > 0:
		return Crossed
	case b.Upper < 0:
		return Clear
	}
	return NotEnoughEvidence
}

// exactCount finishes r with the exact count test on harmful units. k = 1 + δ is the relative
// tolerance's factor (1 without one).
func exactCount(m Metric, r Result, t, c Moments, share, alpha, k float64, bounds bool) Result {
	// Harmful units: with the outcome for lower-is-better, without it for higher-is-better.
	ht, hc := t.Sum, c.Sum
	if m.Direction == HigherIsBetter {
		ht, hc = t.N-t.Sum, c.N-c.Sum
	}
	r.Treatment.Harmful, r.Control.Harmful = ht, hc
	if ht < 0 || hc < 0 || ht > t.N || hc > c.N {
		r.Note = "harmful-unit counts outside [0, units]: a proportion's sums must count units"
		return r
	}
	if ht+hc == 0 {
		r.Note = "no harmful units in either arm yet"
		return r
	}
	theta0 := NullShare(share, k)
	prior := CountPriorSize(theta0, m.HarmRatio)
	ev := CountTest(ht, hc, theta0, prior)
	r.LogE, r.LogEClear = ev.LogBFPlus, ev.LogBFMinus
	r.Status = statusFromEvidence(r.LogE, r.LogEClear, math.Log(1/alpha))
	if !bounds {
		return r
	}

	// Bounds on θ (the share of harmful units in treatment) → the rate ratio ρ = q_T/q_C, shown in
	// the metric's units with control's harmful rate plugged in (the pooled rate when control has
	// none).
	lo, hi := countBounds(ht, hc, theta0, prior, alpha, ev)
	rhoLo, rhoHi := rateRatio(lo, share), rateRatio(hi, share)
	qc := hc / c.N
	if !(qc > 0) {
		qc = (ht + hc) / (t.N + c.N)
	}
	if !(qc > 0) || math.IsNaN(qc) {
		return r
	}
	// Excess = q_T − k q_C in harmful-rate units, which is the metric's harm for both directions.
	// The estimate is taken the way the test sees the data (ρ̂ from the split of harmful units under
	// the planned share), so it always lies within its bounds.
	r.Excess = (rateRatio(ht/(ht+hc), share) - k) * qc
	r.ExcessBounds = Interval{(rhoLo - k) * qc, (rhoHi - k) * qc}
	d := Interval{(rhoLo - 1) * qc, (rhoHi - 1) * qc} // bounds on q_T − q_C
	if m.Direction == HigherIsBetter {
		d = Interval{-d.Upper, -d.Lower}
	}
	r.DiffBounds = d
	return r
}

// rateRatio maps θ, the probability that a harmful unit is in treatment, to the ratio of the arms'
// harmful rates when a share π of units is in treatment: ρ = θ(1−π) / ((1−θ)π).
func rateRatio(theta, share float64) float64 {
	if theta >= 1 {
		return math.Inf(1)
	}
	return theta * (1 - share) / ((1 - theta) * share)
}
