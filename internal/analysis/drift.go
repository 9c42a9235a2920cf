package analysis

import (
	"fmt"
	"math"
	"slices"
)

// Shipped drift thresholds. Drift is a descriptive alarm with thresholds, not an α-controlled test:
// PSI has no null distribution that holds when checked every tick, so say so wherever it is shown.
const (
	// DefaultPSIWarn is the population stability index at which drift is worth a warning.
	DefaultPSIWarn = 0.1
	// DefaultPSIAct is the index at which the plan's drift action applies.
	DefaultPSIAct = 0.25
	// DefaultDriftMinCount is the minimum number of values per arm before PSI is reported: with
	// k bins PSI's noise is about (k − 1)(1/n_T + 1/n_C), 0.02 for 10 bins at 1 000 per arm.
	DefaultDriftMinCount = 1000
	// psiSmoothing is added to every bin's count before shares are taken, so an empty bin does not
	// make ln(t/c) infinite.
	psiSmoothing = 0.5
)

// DriftConfig sets the thresholds of a distribution metric. Zero fields take the defaults.
type DriftConfig struct {
	// Warn and Act are the PSI thresholds (DefaultPSIWarn, DefaultPSIAct).
	Warn float64 `json:"warn,omitempty"`
	Act  float64 `json:"act,omitempty"`
	// MinCount is the number of values each arm needs (DefaultDriftMinCount).
	MinCount float64 `json:"min_count,omitempty"`
}

func (c DriftConfig) withDefaults() DriftConfig {
	if c.Warn == 0 {
		c.Warn = DefaultPSIWarn
	}
	if c.Act == 0 {
		c.Act = DefaultPSIAct
	}
	if c.MinCount == 0 {
		c.MinCount = DefaultDriftMinCount
	}
	return c
}

func (c DriftConfig) validate() error {
	c = c.withDefaults()
	if !(c.Warn > 0) || !(c.Act >= c.Warn) || !(c.MinCount >= 1) {
		return fmt.Errorf("drift thresholds: need 0 < warn ≤ act and min_count ≥ 1, got warn %v, act %v, min_count %v", c.Warn, c.Act, c.MinCount)
	}
	return nil
}

// DriftLevel grades a PSI against the thresholds.
type DriftLevel string

// Drift levels, from least to most severe.
const (
	// DriftNotEnoughData: an arm has fewer values than the minimum count.
	DriftNotEnoughData DriftLevel = "not_enough_data"
	// DriftNone: PSI below the warning threshold.
	DriftNone DriftLevel = "none"
	// DriftWarn: PSI at or above the warning threshold.
	DriftWarn DriftLevel = "warn"
	// DriftAct: PSI at or above the action threshold.
	DriftAct DriftLevel = "act"
)

// DriftResult is the drift of one distribution metric between treatment and control.
type DriftResult struct {
	// PSI is the population stability index of treatment against control with +0.5 smoothing.
	PSI float64 `json:"psi"`
	// KS is the two-sample Kolmogorov–Smirnov statistic on the same bins, a second opinion.
	KS float64 `json:"ks"`
	// Treatment and Control are the number of values per arm.
	Treatment float64 `json:"treatment"`
	Control   float64 `json:"control"`
	// Level grades PSI against Config.
	Level DriftLevel `json:"level"`
	// Config is the configuration used, defaults filled in.
	Config DriftConfig `json:"config"`
}

// PSI is the population stability index Σ (t_i − c_i) ln(t_i / c_i) over the bins, with shares
// t_i = (T_i + ½) / (N_T + k/2) and likewise c_i: the +0.5 smoothing per bin keeps empty bins finite.
func PSI(treatment, control Histogram) (float64, error) {
	if err := sameBins(treatment, control); err != nil {
		return 0, err
	}
	k := float64(len(treatment.Counts))
	nt := treatment.Total() + psiSmoothing*k
	nc := control.Total() + psiSmoothing*k
	var psi float64
	for i := range treatment.Counts {
		t := (treatment.Counts[i] + psiSmoothing) / nt
		c := (control.Counts[i] + psiSmoothing) / nc
		psi += (t - c) * math.Log(t/c)
	}
	return psi, nil
}

// KS is the two-sample Kolmogorov–Smirnov statistic max_j |F_T(j) − F_C(j)| over the bins' upper
// edges, on the unsmoothed empirical distributions (0 when an arm is empty).
func KS(treatment, control Histogram) (float64, error) {
	if err := sameBins(treatment, control); err != nil {
		return 0, err
	}
	nt, nc := treatment.Total(), control.Total()
	if nt == 0 || nc == 0 {
		return 0, nil
	}
	var ct, cc, d float64
	for i := range treatment.Counts {
		ct += treatment.Counts[i]
		cc += control.Counts[i]
		d = math.Max(d, math.Abs(ct/nt-cc/nc))
	}
	return d, nil
}

// Drift grades the drift of treatment against control with the thresholds of cfg (defaults for zero
// fields).
func Drift(treatment, control Histogram, cfg DriftConfig) (DriftResult, error) {
	if err := cfg.validate(); err != nil {
		return DriftResult{}, err
	}
	cfg = cfg.withDefaults()
	psi, err := PSI(treatment, control)
	if err != nil {
		return DriftResult{}, err
	}
	ks, _ := KS(treatment, control)
	r := DriftResult{PSI: psi, KS: ks, Treatment: treatment.Total(), Control: control.Total(), Config: cfg}
	switch {
	case r.Treatment < cfg.MinCount || r.Control < cfg.MinCount:
		r.Level = DriftNotEnoughData
	case psi >= cfg.Act:
		r.Level = DriftAct
	case psi >= cfg.Warn:
		r.Level = DriftWarn
	default:
		r.Level = DriftNone
	}
	return r, nil
}

func sameBins(a, b Histogram) error {
	if err := a.validate(); err != nil {
		return fmt.Errorf("treatment %w", err)
	}
	if err := b.validate(); err != nil {
		return fmt.Errorf("control %w", err)
	}
	if !slices.Equal(a.Edges, b.Edges) {
		return ErrEdgesDiffer
	}
	return nil
}
