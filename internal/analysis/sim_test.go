package analysis

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"gonum.org/v1/gonum/stat/distuv"
)

// This file is a small, pure simulation of rollouts: a stage gains unitsPerTick units a tick, each in
// treatment with the stage's real share, and every test is checked after every tick, as the
// controller does. It reproduces STATISTICS.md §5 (false rollbacks in A/A runs, treatment units at
// detection against Wald's oracle). The CI-sized runs assert; the heavy runs (RAMP_HEAVY=1 or
// -tags heavy) print the table that docs/statistics.md quotes.

const (
	unitsPerTick = 1000
	plannedShare = 0.05
)

// normalQuantile is Φ⁻¹(p), for the naive z-test's critical value.
func normalQuantile(p float64) float64 {
	return -math.Sqrt2 * math.Erfcinv(2*p)
}

// heavy reports whether the long simulations run.
func heavy() bool { return heavyTag || os.Getenv("RAMP_HEAVY") == "1" }

// binomial draws Bin(n, p) exactly: by geometric skips between successes when they are rare (cost
// O(np)), by n Bernoulli draws otherwise.
func binomial(r *rand.Rand, n int, p float64) int {
	if p <= 0 || n == 0 {
		return 0
	}
	if p >= 1 {
		return n
	}
	if p > 0.5 {
		return n - binomial(r, n, 1-p)
	}
	if p > 0.125 {
		k := 0
		for range n {
			if r.Float64() < p {
				k++
			}
		}
		return k
	}
	lq := math.Log1p(-p)
	k, pos := 0, 0
	for {
		// Failures before the next success: floor(ln U / ln(1−p)).
		pos += int(math.Log(1-r.Float64())/lq) + 1
		if pos > n {
			return k
		}
		k++
	}
}

// simScenario is one row of the table: a metric, how its units are drawn, and the tests run on it.
type simScenario struct {
	name     string
	metric   Metric
	oracle   float64 // Wald's E[N] in treatment units (all units for SRM) at the test's α
	alpha    float64 // α of each test
	capUnits int     // the stage's maximum, in all units
	segments int     // >0: units spread evenly over this many segment values, each tested too
	srm      bool    // the test is the SRM check (counts all units)
	// realShare is the share of units that really lands in treatment (the planned share but for
	// SRM scenarios).
	realShare float64
	// draw adds a tick's units to the arms: arms[0] is the total, arms[1+i] segment value i.
	draw func(r *rand.Rand, nT, nC int, arms []Arms, effect bool)
}

// proportionDraw draws units with an outcome at rate pC (control) and pT (treatment, with effect).
func proportionDraw(pC, pT float64) func(*rand.Rand, int, int, []Arms, bool) {
	return func(r *rand.Rand, nT, nC int, arms []Arms, effect bool) {
		pt := pC
		if effect {
			pt = pT
		}
		add := func(m *Moments, n int, p float64) {
			h := float64(binomial(r, n, p))
			m.N += float64(n)
			m.Sum += h
			m.SumSq += h
		}
		add(&arms[0].Treatment.Moments, nT, pt)
		add(&arms[0].Control.Moments, nC, pC)
	}
}

// normalDraw draws per-unit values from N(mu, sd²), shifted by shift in treatment with effect.
func normalDraw(mu, sd, shift float64) func(*rand.Rand, int, int, []Arms, bool) {
	return func(r *rand.Rand, nT, nC int, arms []Arms, effect bool) {
		mt := mu
		if effect {
			mt += shift
		}
		for range nT {
			arms[0].Treatment.Moments.Add(mt + sd*r.NormFloat64())
		}
		for range nC {
			arms[0].Control.Moments.Add(mu + sd*r.NormFloat64())
		}
	}
}

// segmentDraw spreads units evenly over k segment values; value 0 ("BR") has error rate pT in
// treatment with effect, everything else pC.
func segmentDraw(k int, pC, pT float64) func(*rand.Rand, int, int, []Arms, bool) {
	return func(r *rand.Rand, nT, nC int, arms []Arms, effect bool) {
		split := func(n int, treatment bool) {
			left := n
			for i := range k {
				ni := left
				if i < k-1 {
					ni = binomial(r, left, 1/float64(k-i))
				}
				left -= ni
				p := pC
				if treatment && effect && i == 0 {
					p = pT
				}
				h := float64(binomial(r, ni, p))
				for _, a := range []*Arms{&arms[0], &arms[1+i]} {
					m := &a.Control.Moments
					if treatment {
						m = &a.Treatment.Moments
					}
					m.N += float64(ni)
					m.Sum += h
					m.SumSq += h
				}
			}
		}
		split(nT, true)
		split(nC, false)
	}
}

// shippedScenarios are STATISTICS.md §5's scenarios with ramp's shipped defaults.
func shippedScenarios() []simScenario {
	errRate := Metric{Name: "error rate", Kind: KindProportion, Direction: LowerIsBetter}
	return []simScenario{
		{
			name: "error 1.0 → 1.5 %", metric: errRate, alpha: 0.01, capUnits: 400_000,
			oracle: WaldExpectedN(0.01, 0.1, KLBernoulli(0.015, 0.01)),
			draw:   proportionDraw(0.01, 0.015),
		},
		{
			name:   "thumbs-up 0.80 → 0.76",
			metric: Metric{Name: "thumbs-up", Kind: KindProportion, Direction: HigherIsBetter}, alpha: 0.01, capUnits: 400_000,
			oracle: WaldExpectedN(0.01, 0.1, KLBernoulli(0.76, 0.80)),
			draw:   proportionDraw(0.80, 0.76),
		},
		{
			name:   "latency +15 %, mean ln latency",
			metric: Metric{Name: "latency", Kind: KindMean, Direction: LowerIsBetter, LogScale: true}, alpha: 0.01, capUnits: 400_000,
			oracle: WaldExpectedN(0.01, 0.1, KLNormal(math.Log(1.15), 0.6)),
			draw:   normalDraw(math.Log(300), 0.6, math.Log(1.15)),
		},
		{
			name: "errors ×2 in BR only, α/11 per test", metric: errRate, alpha: 0.01 / 11, capUnits: 4_000_000, segments: 10,
			oracle: 10 * WaldExpectedN(0.01/11, 0.1, KLBernoulli(0.02, 0.01)),
			draw:   segmentDraw(10, 0.01, 0.02),
		},
		{
			name: "SRM 5.5 % vs planned 5 %", srm: true, alpha: 0.01, capUnits: 400_000, realShare: 0.055,
			oracle: WaldExpectedN(0.01, 0.1, KLBernoulli(0.055, 0.05)),
		},
	}
}

// runOutcome is one simulated stage.
type runOutcome struct {
	detected bool    // the test crossed (or SRM flagged) before the cap
	units    float64 // treatment units at detection (all units for SRM)
	naive    bool    // the naive fixed-horizon z-test, checked every tick, crossed before the cap
}

// simulate runs one stage of sc until its test crosses or the cap; with naive it also runs the
// naive z-test on every tick until the cap (A/A runs) to show the inflation it suffers.
func simulate(sc simScenario, seed uint64, effect, naive bool) runOutcome {
	r := rand.New(rand.NewPCG(seed, uint64(len(sc.name))))
	m := sc.metric.WithDefaults()
	real := plannedShare
	if sc.srm && effect {
		real = sc.realShare
	}
	arms := make([]Arms, 1+sc.segments)
	var out runOutcome
	var nT, nC float64
	zCrit := normalQuantile(1 - sc.alpha/2)
	for total := unitsPerTick; total <= sc.capUnits; total += unitsPerTick {
		t := binomial(r, unitsPerTick, real)
		nT += float64(t)
		nC += float64(unitsPerTick - t)
		if sc.srm {
			res, _ := CheckSRM(nT, nC, plannedShare, sc.alpha, 0)
			if res.Mismatch {
				return runOutcome{detected: true, units: nT + nC}
			}
			continue
		}
		sc.draw(r, t, unitsPerTick-t, arms, effect)
		for _, a := range arms {
			if !out.detected {
				if res := evaluate(m, a, plannedShare, sc.alpha, false); res.Status == Crossed {
					out.detected, out.units = true, nT
				}
			}
			if naive && !out.naive && naiveZCrosses(m, a, zCrit) {
				out.naive = true
			}
		}
		if out.detected && (!naive || out.naive) {
			break
		}
	}
	return out
}

// naiveZCrosses is the fixed-horizon two-sided z-test at α, rolling back when it is significant on
// the harmful side (d / sqrt(V) ≥ z_{1−α/2}): what a dashboard that "checks significance" every tick
// does, and the baseline of STATISTICS.md §5.
func naiveZCrosses(m Metric, a Arms, zCrit float64) bool {
	t, c := a.Treatment.Moments, a.Control.Moments
	if t.N < 2 || c.N < 2 {
		return false
	}
	v := t.Variance()/t.N + c.Variance()/c.N
	if !(v > 0) {
		return false
	}
	return m.Direction.harmSign()*(t.Mean()-c.Mean())/math.Sqrt(v) >= zCrit
}

// simSummary aggregates runs of one scenario.
type simSummary struct {
	runs, detected, naive int
	units                 []float64
}

func runMany(sc simScenario, runs int, effect, naive bool, seed0 uint64) simSummary {
	outs := make([]runOutcome, runs)
	var wg sync.WaitGroup
	workers := 2
	for w := range workers {
		wg.Go(func() {
			for i := w; i < runs; i += workers {
				outs[i] = simulate(sc, seed0+uint64(i), effect, naive)
			}
		})
	}
	wg.Wait()
	s := simSummary{runs: runs}
	for _, o := range outs {
		if o.detected {
			s.detected++
			s.units = append(s.units, o.units)
		}
		if o.naive {
			s.naive++
		}
	}
	slices.Sort(s.units)
	return s
}

func quantileOf(sorted []float64, q float64) float64 {
	if len(sorted) == 0 {
		return math.NaN()
	}
	return sorted[int(math.Ceil(q*float64(len(sorted))))-1]
}

func meanOf(xs []float64) float64 {
	var s float64
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

// clopperPearson is the exact 95 % interval for k successes out of n.
func clopperPearson(k, n int) (lo, hi float64) {
	if k > 0 {
		lo = distuv.Beta{Alpha: float64(k), Beta: float64(n - k + 1)}.Quantile(0.025)
	}
	hi = 1
	if k < n {
		hi = distuv.Beta{Alpha: float64(k + 1), Beta: float64(n - k)}.Quantile(0.975)
	}
	return lo, hi
}

func TestBinomialSamplerMatchesItsMoments(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	for _, tt := range []struct {
		n int
		p float64
	}{{50, 0.01}, {950, 0.015}, {1000, 0.2}, {950, 0.8}, {10, 0.5}} {
		var s, s2 float64
		const reps = 20000
		for range reps {
			k := float64(binomial(r, tt.n, tt.p))
			s += k
			s2 += k * k
		}
		mean, variance := s/reps, s2/reps-(s/reps)*(s/reps)
		wantMean, wantVar := float64(tt.n)*tt.p, float64(tt.n)*tt.p*(1-tt.p)
		// Five standard errors of the mean and a 10 % band on the variance.
		if math.Abs(mean-wantMean) > 5*math.Sqrt(wantVar/reps) || math.Abs(variance/wantVar-1) > 0.1 {
			t.Errorf("Bin(%d, %v): mean %v, variance %v; want %v, %v", tt.n, tt.p, mean, variance, wantMean, wantVar)
		}
	}
}

func TestStatusIsTheSameWithoutBounds(t *testing.T) {
	m := Metric{Name: "errors", Kind: KindProportion, Direction: LowerIsBetter}.WithDefaults()
	for _, h := range []float64{0, 5, 10, 20, 40} {
		a := propArms(1000, h, 19000, 190)
		with, without := evaluate(m, a, 0.05, 0.01, true), evaluate(m, a, 0.05, 0.01, false)
		if with.Status != without.Status || with.LogE != without.LogE {
			t.Errorf("%v harmful units: with bounds %q (%v), without %q (%v)", h, with.Status, with.LogE, without.Status, without.LogE)
		}
	}
}

// TestAAFalseRollbacksAreRare runs 100 healthy rollouts per shipped metric, each checked every
// tick to the 400 000-unit cap: the anytime-valid tests must roll back at most a few (each has
// α = 1 %), where the naive z-test checked as often rolls back many more.
func TestAAFalseRollbacksAreRare(t *testing.T) {
	const runs = 100
	var ours, naive int
	for i, sc := range shippedScenarios()[:3] {
		s := runMany(sc, runs, false, true, 1000*uint64(i+1))
		t.Logf("%s: %d/%d false rollbacks (naive z-test: %d/%d)", sc.name, s.detected, runs, s.naive, runs)
		if s.detected > 3 {
			t.Errorf("%s: %d false rollbacks in %d healthy rollouts at α = 1 %%", sc.name, s.detected, runs)
		}
		ours += s.detected
		naive += s.naive
	}
	if naive < ours+3 {
		t.Errorf("the naive z-test rolled back %d healthy rollouts and ours %d: the simulation no longer shows the peeking problem", naive, ours)
	}
}

// TestPowerOnErrorRegression runs 50 rollouts where treatment's error rate is 1.5 % against 1 %:
// the exact count test must catch nearly all, with a median sample near the oracle's 3 490.
func TestPowerOnErrorRegression(t *testing.T) {
	sc := shippedScenarios()[0]
	s := runMany(sc, 50, true, false, 77)
	med := quantileOf(s.units, 0.5)
	t.Logf("%s: detected %d/50, median %v treatment units (%.2f× the oracle's %.0f)", sc.name, s.detected, med, med/sc.oracle, sc.oracle)
	if s.detected < 45 {
		t.Errorf("detected %d of 50 regressions, want at least 45", s.detected)
	}
	if med < 0.8*sc.oracle || med > 2.5*sc.oracle {
		t.Errorf("median treatment units at detection = %v, want between 0.8× and 2.5× the oracle's %.0f", med, sc.oracle)
	}
}

// TestHeavySimulationTable reproduces STATISTICS.md §5 with 1 000 A/A and 1 000 power runs per
// scenario and prints the table for docs/statistics.md.
func TestHeavySimulationTable(t *testing.T) {
	if !heavy() {
		t.Skip("set RAMP_HEAVY=1 or build with -tags heavy to run the 1 000-run simulations")
	}
	const runs = 1000
	var b strings.Builder
	fmt.Fprintf(&b, "\n%d runs per cell; π = 5 %%, %d units a tick, checked every tick; shipped defaults.\n\n", runs, unitsPerTick)
	fmt.Fprintln(&b, "| scenario | α per test | A/A false rollbacks (95 % CP) | naive z-test A/A | detected | median T units (× oracle) | mean | p90 | oracle E[N] |")
	fmt.Fprintln(&b, "|---|---|---|---|---|---|---|---|---|")
	for i, sc := range shippedScenarios() {
		aaRuns := runs
		if sc.segments > 0 {
			aaRuns = runs / 5 // 4 000 ticks of 11 tests each: fewer runs keep this under a few minutes
		}
		aa := runMany(sc, aaRuns, false, !sc.srm, 1_000_000*uint64(i+1))
		pw := runMany(sc, runs, true, false, 2_000_000*uint64(i+1))
		lo, hi := clopperPearson(aa.detected, aa.runs)
		med := quantileOf(pw.units, 0.5)
		naive := "—"
		if !sc.srm {
			naive = fmt.Sprintf("%d/%d", aa.naive, aa.runs)
		}
		fmt.Fprintf(&b, "| %s | %.4g | %d/%d (%.2f–%.2f %%) | %s | %d/%d | %.0f (%.2f×) | %.0f | %.0f | %.0f |\n",
			sc.name, sc.alpha, aa.detected, aa.runs, 100*lo, 100*hi, naive, pw.detected, pw.runs,
			med, med/sc.oracle, meanOf(pw.units), quantileOf(pw.units, 0.9), sc.oracle)
	}
	t.Log(b.String())
	fmt.Print(b.String())
}
