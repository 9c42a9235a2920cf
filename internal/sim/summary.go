package sim

import (
	"cmp"
	"context"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"gonum.org/v1/gonum/stat/distuv"
)

// RunMany runs n rollouts with seeds derived from seed, on workers goroutines (at
// least one). progress, when not nil, is called after each run with the number
// done; it may be called from any worker. The results are in seed order and do
// not depend on the number of workers. It stops early when ctx ends.
func (s *Sim) RunMany(ctx context.Context, n int, seed uint64, workers int, progress func(done int)) ([]RunResult, error) {
	out := make([]RunResult, n)
	var next, done atomic.Int64
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	for range max(workers, 1) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				r, err := s.Run(RunSeed(seed, i))
				if err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
					return
				}
				out[i] = r
				d := done.Add(1)
				if progress != nil {
					progress(int(d))
				}
			}
		})
	}
	wg.Wait()
	if first != nil {
		return nil, first
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// RunSeed is the seed of run i of a batch started with seed: runs of one batch are
// independent streams, and the same batch seed gives the same runs.
func RunSeed(seed uint64, i int) uint64 {
	// SplitMix64 of the pair, so neighbouring seeds give unrelated runs.
	z := seed*0x9e3779b97f4a7c15 + uint64(i) + 1
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// Summary aggregates the runs of one scenario.
type Summary struct {
	Scenario    string `json:"scenario"`
	Description string `json:"description"`
	// AA is set for scenarios without an effect: detections are false alarms.
	AA bool `json:"aa"`
	// ErrorEffect: the effect is on the error rate (what the threshold check watches);
	// SRMEffect: the effect is an assignment bug (which only the SRM check tests).
	ErrorEffect bool `json:"error_effect,omitempty"`
	SRMEffect   bool `json:"srm_effect,omitempty"`
	Runs        int  `json:"runs"`
	// Onset names the stage (and delay) the effect starts at; effect runs start there.
	Onset string `json:"onset,omitempty"`
	// Observe: the rollout was held at the onset stage and no decision applied.
	Observe bool `json:"observe,omitempty"`
	// Outcomes counts how the runs ended.
	Outcomes map[Stop]int `json:"outcomes"`
	// Triggers counts the tests that stopped rollouts ("error_rate", "srm", …).
	Triggers map[string]int `json:"triggers,omitempty"`
	// Ramp, ZTest and Threshold are the detectors; Threshold is absent when the plan
	// has no error-rate guardrail for it to watch. Ramp counts stops on a guardrail
	// (rollbacks and guardrails' pauses), or SRM pauses in an SRM scenario; SRM
	// counts the SRM pauses of the other scenarios (false alarms of a family with its
	// own α).
	Ramp      DetectorSummary  `json:"ramp"`
	SRM       DetectorSummary  `json:"srm_alarms"`
	ZTest     DetectorSummary  `json:"z_test"`
	Threshold *DetectorSummary `json:"threshold,omitempty"`
	// Oracle is the SPRT oracle of the scenario's effect, when it has one.
	Oracle *Oracle `json:"oracle,omitempty"`
	// Blast is the blast radius: units served the treatment while the effect was on,
	// over the runs with an effect (median and p90).
	Blast Quantiles `json:"blast"`
	// To100 is the virtual time from the start to the stage serving 100 % of units,
	// over the runs that got there (Reached of them); Complete the time to completion.
	To100    Quantiles `json:"to_100"`
	Reached  int       `json:"reached_100"`
	Complete Quantiles `json:"complete"`
}

// DetectorSummary is how often a detector fired and how fast.
type DetectorSummary struct {
	// Fired counts runs where it fired after the onset (false alarms in A/A), and
	// Rate is Fired/Runs with its Clopper–Pearson 95 % interval [Lower, Upper].
	Fired int     `json:"fired"`
	Rate  float64 `json:"rate"`
	Lower float64 `json:"lower"`
	Upper float64 `json:"upper"`
	// BeforeOnset counts runs where it fired before the effect started.
	BeforeOnset int `json:"before_onset,omitempty"`
	// TreatmentUnits and Delay are the detection delay: compared treatment units
	// since the onset (all units for SRM) and virtual time since the onset. Their
	// median and p90 are over all runs, a run where the detector did not fire
	// counting as never: −1 when fewer than half (a tenth) of the runs fired. The
	// mean is over the runs where it fired.
	TreatmentUnits Quantiles `json:"treatment_units"`
	Delay          Durations `json:"delay"`
	// Ratio is the median of TreatmentUnits over the oracle's E[N] (0 without one,
	// or when the median is not reached).
	Ratio float64 `json:"ratio,omitempty"`
}

// Quantiles are the median, p90 and mean of a sample (zero, with N 0, when empty).
// N is the number of values; for detection delays, of runs where the detector
// fired.
type Quantiles struct {
	N      int     `json:"n"`
	Median float64 `json:"median"`
	P90    float64 `json:"p90"`
	Mean   float64 `json:"mean"`
}

// Durations are Quantiles of virtual times.
type Durations struct {
	N      int           `json:"n"`
	Median time.Duration `json:"median"`
	P90    time.Duration `json:"p90"`
}

// Summarize aggregates the runs of the simulation's scenario.
func (s *Sim) Summarize(runs []RunResult) Summary {
	sc := s.cfg.Scenario
	sum := Summary{
		Scenario: sc.Name, Description: sc.Description, AA: sc.Effect.None(), Runs: len(runs),
		Observe: s.cfg.Observe, Outcomes: map[Stop]int{}, Triggers: map[string]int{},
		ErrorEffect: sc.Effect.Metric == EffectError, SRMEffect: sc.Effect.SRM != 0 && sc.Effect.SRM != 1,
	}
	if !sum.AA || s.cfg.Observe {
		sum.Onset = s.plan.Stages[s.onsetStage].Name
		if a := sc.Onset.After; a > 0 {
			sum.Onset += "+" + a.String()
		}
	}
	if s.hasOracle || s.oracle.Note != "" {
		o := s.oracle
		sum.Oracle = &o
	}
	var blast, to100, complete []float64
	for _, r := range runs {
		sum.Outcomes[r.Stop]++
		for _, d := range []Detection{r.Ramp, r.SRM} {
			if d.Fired && d.Test != "" {
				sum.Triggers[d.Test]++
			}
		}
		if !sum.AA {
			blast = append(blast, r.Blast)
		}
		if r.Reached100 > 0 {
			to100 = append(to100, float64(r.Reached100))
		}
		if r.Stop == StopCompleted {
			complete = append(complete, float64(r.Completed))
		}
	}
	sum.Reached = len(to100)
	sum.Blast = quantiles(blast)
	sum.To100 = quantiles(to100)
	sum.Complete = quantiles(complete)
	ramp, srm := func(r *RunResult) Detection { return r.Ramp }, func(r *RunResult) Detection { return r.SRM }
	if sum.SRMEffect {
		ramp, srm = srm, ramp
	}
	sum.Ramp = detectorSummary(runs, ramp, sum.Oracle)
	sum.SRM = detectorSummary(runs, srm, nil)
	sum.ZTest = detectorSummary(runs, func(r *RunResult) Detection { return r.ZTest }, sum.Oracle)
	if s.threshold >= 0 {
		th := detectorSummary(runs, func(r *RunResult) Detection { return r.Threshold }, sum.Oracle)
		sum.Threshold = &th
	}
	return sum
}

func detectorSummary(runs []RunResult, f func(*RunResult) Detection, o *Oracle) DetectorSummary {
	var d DetectorSummary
	var units, delays []float64
	for i := range runs {
		det := f(&runs[i])
		switch {
		case det.Fired && det.BeforeOnset:
			d.BeforeOnset++
		case det.Fired:
			d.Fired++
			u := det.TreatmentUnits
			if det.Test == "srm" {
				u = det.Units
			}
			units = append(units, u)
			delays = append(delays, float64(det.Delay))
		}
	}
	d.Rate = float64(d.Fired) / float64(max(len(runs), 1))
	d.Lower, d.Upper = ClopperPearson(d.Fired, len(runs))
	d.TreatmentUnits = censored(units, len(runs))
	q := censored(delays, len(runs))
	d.Delay = Durations{N: q.N, Median: time.Duration(q.Median), P90: time.Duration(q.P90)}
	if q.Median < 0 {
		d.Delay.Median = -1
	}
	if q.P90 < 0 {
		d.Delay.P90 = -1
	}
	if o != nil && o.Units > 0 && d.TreatmentUnits.N > 0 && d.TreatmentUnits.Median >= 0 {
		d.Ratio = d.TreatmentUnits.Median / o.Units
	}
	return d
}

// censored returns the quantiles of detection delays xs observed in len(xs) of n
// runs, the other runs counting as never: a quantile the detections do not reach is
// −1. The mean is over xs.
func censored(xs []float64, n int) Quantiles {
	q := quantiles(xs)
	if q.N == 0 {
		return q
	}
	s := slices.Clone(xs)
	slices.SortFunc(s, cmp.Compare[float64])
	rank := func(p float64) float64 {
		i := max(int(math.Ceil(p*float64(n)))-1, 0)
		if i >= len(s) {
			return -1
		}
		return s[i]
	}
	q.Median, q.P90 = rank(0.5), rank(0.9)
	return q
}

// quantiles returns the median and p90 (nearest rank) and the mean.
func quantiles(xs []float64) Quantiles {
	q := Quantiles{N: len(xs)}
	if len(xs) == 0 {
		return q
	}
	s := slices.Clone(xs)
	slices.SortFunc(s, cmp.Compare[float64])
	rank := func(p float64) float64 { return s[max(int(math.Ceil(p*float64(len(s))))-1, 0)] }
	q.Median, q.P90 = rank(0.5), rank(0.9)
	var sum float64
	for _, x := range s {
		sum += x
	}
	q.Mean = sum / float64(len(s))
	return q
}

// ClopperPearson is the exact 95 % confidence interval of a rate k/n.
func ClopperPearson(k, n int) (lo, hi float64) {
	if n == 0 {
		return 0, 1
	}
	if k > 0 {
		lo = distuv.Beta{Alpha: float64(k), Beta: float64(n - k + 1)}.Quantile(0.025)
	}
	hi = 1
	if k < n {
		hi = distuv.Beta{Alpha: float64(k + 1), Beta: float64(n - k)}.Quantile(0.975)
	}
	return lo, hi
}
