package analysis

import (
	"errors"
	"fmt"
	"math"
)

// Kind is what a metric's per-unit value is, which decides its sufficient statistics and test.
type Kind string

// Metric kinds.
const (
	// KindProportion: a share of units with an outcome (error rate: units with ≥ 1 error; thumbs-up
	// rate). Moments hold 0/1 per unit, so Sum = SumSq = the number of units with the outcome.
	KindProportion Kind = "proportion"
	// KindMean: the mean of a per-unit value (mean ln latency per unit, cost per unit).
	KindMean Kind = "mean"
	// KindRatio: Σy/Σx with per-unit numerator and denominator (errors per request, cost per
	// token); delta-method variance.
	KindRatio Kind = "ratio"
	// KindCount: the mean of a per-unit count (support tickets per user); tested like a mean.
	KindCount Kind = "count"
	// KindQuantile: a quantile (p95 latency) in exceedance form: per-unit counts of requests on the
	// bad side of a fixed threshold over per-unit requests, a ratio metric. See ExceedanceThresholds.
	KindQuantile Kind = "quantile"
	// KindDistribution: a distribution (model scores, inputs) compared by drift, not tested.
	KindDistribution Kind = "distribution"
)

// Direction says which way a metric gets better.
type Direction string

// Directions.
const (
	HigherIsBetter Direction = "higher_is_better"
	LowerIsBetter  Direction = "lower_is_better"
)

// harmSign is +1 when a higher value is worse, −1 when a lower value is worse.
func (d Direction) harmSign() float64 {
	if d == HigherIsBetter {
		return -1
	}
	return 1
}

// ToleranceKind says how a tolerance is measured.
type ToleranceKind string

// Tolerance kinds.
const (
	// Absolute tolerances are in the metric's units ("thumbs-up not worse by 2 points": 0.02).
	Absolute ToleranceKind = "absolute"
	// Relative tolerances are a fraction of control's value ("error rate at most 10 % above
	// control": 0.10), tested as the linear hypothesis m_T − (1 + δ) m_C ≤ 0 without the delta method.
	Relative ToleranceKind = "relative"
)

// Tolerance is how much worse than control the treatment may be before a guardrail crosses. The zero
// value is "any harm" (absolute 0), what rollback guardrails use; a gate needs a positive tolerance
// to ever show non-inferiority.
type Tolerance struct {
	// Kind says how Value is measured (Absolute when empty).
	Kind ToleranceKind `json:"kind,omitempty"`
	// Value is the tolerated harm, ≥ 0.
	Value float64 `json:"value"`
}

// Method is the sequential test a metric uses.
type Method string

// Methods.
const (
	// MethodMixture is the one-sided normal-mixture mSPRT (harmful side for crossing, mirrored for
	// non-inferiority): the default for means, ratios, counts, quantiles and higher-is-better
	// proportions.
	MethodMixture Method = "mixture"
	// MethodMixtureTwoSided is the two-sided normal-mixture mSPRT confidence sequence.
	MethodMixtureTwoSided Method = "mixture_two_sided"
	// MethodAsymptotic is the asymptotic confidence sequence of Waudby-Smith et al. (two-sided);
	// it needs PlannedUnits.
	MethodAsymptotic Method = "asymptotic"
	// MethodExactCount is the exact one-sided count test on harmful units: the default for
	// lower-is-better proportions (error rate).
	MethodExactCount Method = "exact_count"
)

// Shipped defaults (one configuration per metric, never tuned to an injected effect).
const (
	// DefaultHarmRatio is the count test's relative harm worth catching, r = 1.25 (A = 344 at π = 5 %).
	DefaultHarmRatio = 1.25
	// DefaultProportionTau is τ of the mixture for proportions: 0.02 absolute (two points).
	DefaultProportionTau = 0.02
	// DefaultRelativeTau is τ of the mixture for means, ratios and counts without a Tau, as a
	// fraction of the control mean (a plug-in; set Tau for a constant τ).
	DefaultRelativeTau = 0.10
	// DefaultQuantile is the quantile of a quantile metric without one: p95.
	DefaultQuantile = 0.95
	// DefaultMinUnits is the number of units each arm needs before a mixture or asymptotic test
	// reports anything: the plug-in variance is unreliable on fewer.
	DefaultMinUnits = 30
)

// DefaultLogTau is τ of the mixture for metrics on the log scale (latency): ln 1.10, a 10 % change
// of the geometric mean.
var DefaultLogTau = math.Log(1.10)

// Metric defines how one metric is tested. Zero fields take the shipped defaults: error rate
// (proportion, lower is better) → exact count test on units, r = 1.25; thumbs-up-like proportions
// (higher is better) → one-sided mixture, τ = 0.02; latency (mean with LogScale, per-unit mean of
// ln latency) → one-sided mixture, τ = ln 1.10.
type Metric struct {
	// Name identifies the metric in results.
	Name string `json:"name"`
	// Kind decides the statistics and the test.
	Kind Kind `json:"kind"`
	// Direction says which way is better.
	Direction Direction `json:"direction"`
	// Tolerance is the harm allowed before the guardrail crosses.
	Tolerance Tolerance `json:"tolerance"`
	// Method overrides the kind's default test.
	Method Method `json:"method,omitempty"`
	// Tau is the mixture's standard deviation in the tested contrast's units: the smallest harm worth
	// catching (never the effect a simulation injects).
	Tau float64 `json:"tau,omitempty"`
	// RelativeTau sets τ as a fraction of the control mean when Tau is 0 (means, ratios, counts).
	RelativeTau float64 `json:"relative_tau,omitempty"`
	// HarmRatio is r, the relative harm the exact count test is tuned to catch.
	HarmRatio float64 `json:"harm_ratio,omitempty"`
	// LogScale says the per-unit values are logarithms (ln latency): differences are log ratios, a
	// relative tolerance δ is the shift ln(1+δ) and the relative difference is exp(d) − 1.
	LogScale bool `json:"log_scale,omitempty"`
	// Quantile is q of a quantile metric (0.95 for p95).
	Quantile float64 `json:"quantile,omitempty"`
	// PlannedUnits is t*, the number of units (both arms) where the asymptotic sequence is tightest.
	PlannedUnits float64 `json:"planned_units,omitempty"`
	// MinUnits is the number of units each arm needs before the test reports anything.
	MinUnits float64 `json:"min_units,omitempty"`
	// Drift sets the thresholds of a distribution metric.
	Drift DriftConfig `json:"drift,omitzero"`
}

// WithDefaults returns m with the shipped defaults filled in for its zero fields.
func (m Metric) WithDefaults() Metric {
	if m.Tolerance.Kind == "" {
		m.Tolerance.Kind = Absolute
	}
	if m.Kind == KindQuantile && m.Quantile == 0 {
		m.Quantile = DefaultQuantile
	}
	if m.Kind == KindDistribution {
		m.Drift = m.Drift.withDefaults()
		return m
	}
	if m.Method == "" {
		m.Method = MethodMixture
		if m.Kind == KindProportion && m.Direction == LowerIsBetter {
			m.Method = MethodExactCount
		}
	}
	if m.Method == MethodExactCount {
		if m.HarmRatio == 0 {
			m.HarmRatio = DefaultHarmRatio
		}
		return m
	}
	if m.Tau == 0 {
		switch {
		case m.LogScale:
			m.Tau = DefaultLogTau
		case m.Kind == KindProportion:
			m.Tau = DefaultProportionTau
		case m.Kind == KindQuantile:
			// Harm worth catching: the share beyond the threshold up by half (5 % → 7.5 % for p95).
			m.Tau = (1 - m.Quantile) / 2
		case m.RelativeTau == 0:
			m.RelativeTau = DefaultRelativeTau
		}
	}
	if m.MinUnits == 0 {
		m.MinUnits = DefaultMinUnits
	}
	return m
}

// Validate reports what is wrong with the metric's definition, after defaults, in words that say
// how to fix it.
func (m Metric) Validate() error {
	err := m.WithDefaults().validate()
	if err != nil {
		return fmt.Errorf("metric %q: %w", m.Name, err)
	}
	return nil
}

func (m Metric) validate() error {
	switch m.Kind {
	case KindProportion, KindMean, KindRatio, KindCount, KindQuantile, KindDistribution:
	default:
		return fmt.Errorf("kind %q is not one of proportion, mean, ratio, count, quantile, distribution", m.Kind)
	}
	if m.Direction != HigherIsBetter && m.Direction != LowerIsBetter {
		return fmt.Errorf("direction %q is not higher_is_better or lower_is_better", m.Direction)
	}
	if m.Kind == KindDistribution {
		return m.Drift.validate()
	}
	switch m.Tolerance.Kind {
	case Absolute, Relative:
	default:
		return fmt.Errorf("tolerance kind %q is not absolute or relative", m.Tolerance.Kind)
	}
	if !(m.Tolerance.Value >= 0) || math.IsInf(m.Tolerance.Value, 0) {
		return fmt.Errorf("tolerance %v is not a finite number ≥ 0", m.Tolerance.Value)
	}
	if m.Tolerance.Kind == Relative && m.Direction == HigherIsBetter && !m.LogScale && m.Tolerance.Value >= 1 {
		return fmt.Errorf("relative tolerance %v of a higher-is-better metric must be below 1", m.Tolerance.Value)
	}
	if m.Kind == KindQuantile && !(m.Quantile > 0 && m.Quantile < 1) {
		return fmt.Errorf("quantile %v is not strictly between 0 and 1", m.Quantile)
	}
	switch m.Method {
	case MethodExactCount:
		if m.Kind != KindProportion {
			return errors.New("method exact_count needs kind proportion (it counts harmful units)")
		}
		if m.Tolerance.Value != 0 && (m.Tolerance.Kind != Relative || m.Direction != LowerIsBetter) {
			return errors.New("method exact_count takes a relative tolerance only for a lower_is_better proportion; use method mixture for this tolerance")
		}
		if !(m.HarmRatio > 1) {
			return fmt.Errorf("harm_ratio %v must be above 1", m.HarmRatio)
		}
		return nil
	case MethodMixture, MethodMixtureTwoSided:
	case MethodAsymptotic:
		if !(m.PlannedUnits > 0) {
			return errors.New("method asymptotic needs planned_units > 0 (the total units where the sequence is tightest)")
		}
	default:
		return fmt.Errorf("method %q is not one of mixture, mixture_two_sided, asymptotic, exact_count", m.Method)
	}
	if m.Tau < 0 || m.RelativeTau < 0 || (m.Tau == 0 && m.RelativeTau == 0 && m.Method != MethodAsymptotic) {
		return fmt.Errorf("tau %v / relative_tau %v: set a positive τ, the smallest harm worth catching", m.Tau, m.RelativeTau)
	}
	if m.MinUnits < 2 {
		return fmt.Errorf("min_units %v: a variance needs at least 2 units per arm", m.MinUnits)
	}
	return nil
}

// ExceedanceThresholds turns a quantile guardrail into the thresholds of its exceedance form. q is
// control's quantile (from a merged DDSketch), frozen for the stage before its data are counted.
// Each treatment unit counts its requests beyond the treatment threshold ((1+δ)q for a relative
// tolerance δ, q+δ for an absolute one) and each control unit those beyond q; "beyond" is above for
// lower-is-better metrics and below for higher-is-better ones. Treatment's share beyond its threshold
// exceeding control's share beyond q is exactly treatment's quantile exceeding the tolerance.
func ExceedanceThresholds(m Metric, q float64) (treatment, control float64) {
	m = m.WithDefaults()
	s := m.Direction.harmSign()
	switch m.Tolerance.Kind {
	case Relative:
		return q * (1 + s*m.Tolerance.Value), q
	default:
		return q + s*m.Tolerance.Value, q
	}
}
