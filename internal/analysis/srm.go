package analysis

import (
	"fmt"
	"math"
)

// DefaultSRMPrior is the shipped Dirichlet prior size A of the sample-ratio-mismatch check: 475 is
// π(1−π)/δ² for a mismatch δ of one percentage point at π = 5 % (a 20 % relative mismatch of the
// planned share worth catching).
const DefaultSRMPrior = 475

// SRMPriorSize is A = π(1−π)/δ² for a planned share π and the smallest mismatch δ (absolute, in
// share units) worth catching.
func SRMPriorSize(share, mismatch float64) float64 {
	return share * (1 - share) / (mismatch * mismatch)
}

// SRMLogBF is the log Bayes factor of Lindon & Malek ("Anytime-valid inference for multinomial count
// data", NeurIPS 2022) for unit counts n_i per arm against planned shares p_i, with the Dirichlet
// prior a_i = A p_i:
//
//	ln BF = ln Γ(Σa) − ln Γ(Σa + n) + Σ [ln Γ(a_i + n_i) − ln Γ(a_i)] − Σ n_i ln p_i
//
// It is an e-process under the planned split: BF ≥ 1/α means the assignment is broken, at level α,
// however often it is checked. counts and shares must have the same length; shares sum to 1.
func SRMLogBF(counts, shares []float64, prior float64) float64 {
	lg := func(x float64) float64 { v, _ := math.Lgamma(x); return v }
	var n, sa, s float64
	for i, c := range counts {
		a := prior * shares[i]
		s += lg(a+c) - lg(a) - xlogy(c, shares[i])
		n += c
		sa += a
	}
	return s + lg(sa) - lg(sa+n)
}

// SRMResult is the sample-ratio-mismatch check of one stage. A mismatch means the assignment, not the
// feature, is at fault: pause and investigate, do not roll back on the guardrails' evidence.
type SRMResult struct {
	// Treatment and Control are the distinct units exposed in each arm.
	Treatment float64 `json:"treatment"`
	Control   float64 `json:"control"`
	// PlannedShare is the share of units the plan sends to treatment; ObservedShare what arrived.
	PlannedShare  float64 `json:"planned_share"`
	ObservedShare float64 `json:"observed_share"`
	// Prior is the Dirichlet prior size A.
	Prior float64 `json:"prior"`
	// LogBF is ln BF; Alpha the level it is compared with (mismatch when LogBF ≥ ln(1/α)).
	LogBF float64 `json:"log_bf"`
	Alpha float64 `json:"alpha"`
	// Mismatch reports a broken split.
	Mismatch bool `json:"mismatch"`
}

// CheckSRM runs the two-arm sample-ratio-mismatch check for a stage with planned treatment share
// plannedShare, at level alpha, with Dirichlet prior size prior (DefaultSRMPrior when 0).
func CheckSRM(treatment, control, plannedShare, alpha, prior float64) (SRMResult, error) {
	if prior == 0 {
		prior = DefaultSRMPrior
	}
	switch {
	case !(plannedShare > 0 && plannedShare < 1):
		return SRMResult{}, fmt.Errorf("srm: planned treatment share %v is not strictly between 0 and 1", plannedShare)
	case !(alpha > 0 && alpha < 1):
		return SRMResult{}, fmt.Errorf("srm: alpha %v is not strictly between 0 and 1", alpha)
	case !(prior > 0):
		return SRMResult{}, fmt.Errorf("srm: prior size %v is not positive", prior)
	case treatment < 0 || control < 0:
		return SRMResult{}, fmt.Errorf("srm: negative unit counts (%v, %v)", treatment, control)
	}
	r := SRMResult{Treatment: treatment, Control: control, PlannedShare: plannedShare, Prior: prior, Alpha: alpha}
	if n := treatment + control; n > 0 {
		r.ObservedShare = treatment / n
	}
	r.LogBF = SRMLogBF([]float64{treatment, control}, []float64{plannedShare, 1 - plannedShare}, prior)
	r.Mismatch = r.LogBF >= math.Log(1/alpha)
	return r, nil
}

// MultipleExposureLimit is the share of a stage's units seen in both arms above which the stage is
// paused like a sample-ratio mismatch (such units are left out of the analysis).
const MultipleExposureLimit = 0.01

// MultipleExposureResult reports units seen in both arms within the stage.
type MultipleExposureResult struct {
	// Units is the number of units seen in both arms; Share their share of all the stage's units.
	Units float64 `json:"units"`
	Share float64 `json:"share"`
	// Exceeded is true above MultipleExposureLimit.
	Exceeded bool `json:"exceeded"`
}

// CheckMultipleExposure compares the units seen in both arms with the stage's distinct units (both
// arms plus the multiply exposed ones).
func CheckMultipleExposure(multiple, treatment, control float64) MultipleExposureResult {
	r := MultipleExposureResult{Units: multiple}
	if total := multiple + treatment + control; total > 0 {
		r.Share = multiple / total
	}
	r.Exceeded = r.Share > MultipleExposureLimit
	return r
}
