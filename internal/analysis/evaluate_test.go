package analysis

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"gonum.org/v1/gonum/mathext"
	"pgregory.net/rapid"
)

// sampleUnits draws n per-unit values from a seeded normal(mean, sd).
func sampleUnits(seed uint64, n int, mean, sd float64) []float64 {
	r := rand.New(rand.NewPCG(seed, 7))
	ys := make([]float64, n)
	for i := range ys {
		ys[i] = mean + sd*r.NormFloat64()
	}
	return ys
}

func momentsOf(ys []float64) Moments {
	var m Moments
	for _, y := range ys {
		m.Add(y)
	}
	return m
}

func armsOf(t, c []float64) Arms {
	return Arms{Treatment: Stats{Moments: momentsOf(t)}, Control: Stats{Moments: momentsOf(c)}}
}

// referenceOneSided recomputes a one-sided mixture result from raw units: the contrast
// sign·(m_T − k m_C) − shift, its variance s_T²/n_T + k² s_C²/n_C with each s² at least half the
// pooled one, ln Λ⁺ written out again, and the bound by bisection.
func referenceOneSided(ts, cs []float64, sign, k, shift, tau, alpha float64) (excess, logE, lower float64) {
	mt, vt := twoPass(ts)
	mc, vc := twoPass(cs)
	_, vp := twoPass(append(append([]float64(nil), ts...), cs...))
	vt, vc = math.Max(vt, vp/2), math.Max(vc, vp/2)
	excess = sign*(mt-k*mc) - shift
	v := vt/float64(len(ts)) + k*k*vc/float64(len(cs))
	lam := func(x float64) float64 {
		u := x * tau / math.Sqrt(v*(v+tau*tau))
		return math.Log(2 * math.Sqrt(v/(v+tau*tau)) * math.Exp(u*u/2) * 0.5 * math.Erfc(-u/math.Sqrt2))
	}
	c := bisect(func(x float64) float64 { return lam(x) - math.Log(1/alpha) }, 0, 1e3*math.Sqrt(v)+10*tau)
	return excess, lam(excess), excess - c
}

func TestEvaluateMixtureReproducesTheFormulas(t *testing.T) {
	ctl := sampleUnits(1, 900, 5.0, 0.6)
	trt := sampleUnits(2, 120, 5.1, 0.6)
	tests := []struct {
		name           string
		metric         Metric
		sign, k, shift float64
	}{
		{
			"latency on the log scale with any harm",
			Metric{Name: "latency", Kind: KindMean, Direction: LowerIsBetter, LogScale: true},
			1, 1, 0,
		},
		{
			"latency on the log scale with a 15 % relative tolerance is a shift of ln 1.15",
			Metric{Name: "latency", Kind: KindMean, Direction: LowerIsBetter, LogScale: true, Tolerance: Tolerance{Relative, 0.15}},
			1, 1, math.Log(1.15),
		},
		{
			"a lower-is-better mean with a 10 % relative tolerance is m_T − 1.1 m_C",
			Metric{Name: "cost", Kind: KindMean, Direction: LowerIsBetter, Tau: 0.2, Tolerance: Tolerance{Relative, 0.1}},
			1, 1.1, 0,
		},
		{
			"a higher-is-better mean with a 10 % relative tolerance is 0.9 m_C − m_T",
			Metric{Name: "score", Kind: KindMean, Direction: HigherIsBetter, Tau: 0.2, Tolerance: Tolerance{Relative, 0.1}},
			-1, 0.9, 0,
		},
		{
			"a higher-is-better mean with an absolute tolerance is −d − δ",
			Metric{Name: "score", Kind: KindMean, Direction: HigherIsBetter, Tau: 0.2, Tolerance: Tolerance{Absolute, 0.05}},
			-1, 1, 0.05,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			const alpha = 0.01
			m := tt.metric.WithDefaults()
			r, err := Evaluate(tt.metric, armsOf(trt, ctl), 0.05, alpha)
			if err != nil {
				t.Fatal(err)
			}
			excess, logE, lower := referenceOneSided(trt, ctl, tt.sign, tt.k, tt.shift, m.Tau, alpha)
			assertClose(t, "excess", r.Excess, excess, 1e-9)
			assertClose(t, "ln e", r.LogE, logE, 1e-9)
			assertClose(t, "lower bound", r.ExcessBounds.Lower, lower, 1e-9)
			assertClose(t, "upper bound", r.ExcessBounds.Upper, 2*excess-lower, 1e-9)
			mt, _ := twoPass(trt)
			mc, _ := twoPass(ctl)
			assertClose(t, "diff", r.Diff, mt-mc, 1e-12)
			if m.LogScale {
				assertClose(t, "relative", r.Relative, math.Exp(mt-mc)-1, 1e-12)
			} else {
				assertClose(t, "relative", r.Relative, mt/mc-1, 1e-12)
			}
			want := NotEnoughEvidence
			if logE >= math.Log(1/alpha) {
				want = Crossed
			}
			if r.Status != want && r.Status != Clear {
				t.Errorf("status = %q, want %q", r.Status, want)
			}
		})
	}
}

func TestEvaluateTwoSidedAndAsymptoticIntervals(t *testing.T) {
	ctl := sampleUnits(3, 2000, 0.3, 1)
	trt := sampleUnits(4, 400, 0.45, 1)
	mt, vt := twoPass(trt)
	mc, vc := twoPass(ctl)
	_, vp := twoPass(append(append([]float64(nil), trt...), ctl...))
	v := math.Max(vt, vp/2)/400 + math.Max(vc, vp/2)/2000
	d := mt - mc
	tests := []struct {
		name      string
		metric    Metric
		halfWidth float64
	}{
		{"the two-sided mixture interval is d ± the closed-form half-width",
			Metric{Name: "m", Kind: KindMean, Direction: LowerIsBetter, Method: MethodMixtureTwoSided, Tau: 0.1},
			math.Sqrt(v * (v + 0.01) / 0.01 * (2*math.Log(100) + math.Log((v+0.01)/v)))},
		{"the asymptotic interval is tightest near the planned units",
			Metric{Name: "m", Kind: KindMean, Direction: LowerIsBetter, Method: MethodAsymptotic, PlannedUnits: 5000},
			AsymptoticHalfWidth(v, 2400, 5000, 0.01)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Evaluate(tt.metric, armsOf(trt, ctl), 0.2, 0.01)
			if err != nil {
				t.Fatal(err)
			}
			assertClose(t, "lower", r.ExcessBounds.Lower, d-tt.halfWidth, 1e-9)
			assertClose(t, "upper", r.ExcessBounds.Upper, d+tt.halfWidth, 1e-9)
			assertClose(t, "diff lower", r.DiffBounds.Lower, d-tt.halfWidth, 1e-9)
			want := NotEnoughEvidence
			if d-tt.halfWidth > 0 {
				want = Crossed
			}
			if r.Status != want {
				t.Errorf("status = %q, want %q (bounds %v)", r.Status, want, r.ExcessBounds)
			}
		})
	}
}

func TestEvaluateRatioUsesTheDeltaMethod(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	gen := func(n int, rate float64) (ys, xs []float64, m Moments) {
		for range n {
			x := float64(1 + rng.IntN(40))
			y := 0.0
			for range int(x) {
				if rng.Float64() < rate {
					y++
				}
			}
			ys, xs = append(ys, y), append(xs, x)
			m.AddRatio(y, x)
		}
		return ys, xs, m
	}
	tys, txs, tm := gen(300, 0.03)
	cys, cxs, cm := gen(3000, 0.02)
	metric := Metric{Name: "errors per request", Kind: KindRatio, Direction: LowerIsBetter, Tau: 0.005, Tolerance: Tolerance{Relative, 0.1}}
	r, err := Evaluate(metric, Arms{Stats{Moments: tm}, Stats{Moments: cm}}, 0.1, 0.01)
	if err != nil {
		t.Fatal(err)
	}
	rt, vt := deltaRatio(tys, txs)
	rc, vc := deltaRatio(cys, cxs)
	// The pooled linearized variance, scaled to each arm: n x̄² Var(R) is the per-unit variance.
	_, vp := deltaRatio(append(append([]float64(nil), tys...), cys...), append(append([]float64(nil), txs...), cxs...))
	np, xp := 3300.0, (sum(txs)+sum(cxs))/3300
	perUnitPool := vp * np * xp * xp
	xt, xc := sum(txs)/300, sum(cxs)/3000
	vt = math.Max(vt*300*xt*xt, perUnitPool/2) / (300 * xt * xt)
	vc = math.Max(vc*3000*xc*xc, perUnitPool/2) / (3000 * xc * xc)
	excess := rt - 1.1*rc
	v := vt + 1.21*vc
	u := excess * 0.005 / math.Sqrt(v*(v+0.005*0.005))
	logE := math.Ln2 + 0.5*math.Log(v/(v+0.005*0.005)) + u*u/2 + math.Log(0.5*math.Erfc(-u/math.Sqrt2))
	assertClose(t, "excess", r.Excess, excess, 1e-9)
	assertClose(t, "ln e", r.LogE, logE, 1e-9)
	assertClose(t, "treatment ratio", r.Treatment.Mean, rt, 1e-12)
}

func TestEvaluateExactCountReproducesTheBayesFactor(t *testing.T) {
	tests := []struct {
		name       string
		metric     Metric
		t, c       Moments
		hT, hC     float64
		k          float64
		wantStatus Status
	}{
		{
			"errors at 2 % against 1 % in control cross",
			Metric{Name: "errors", Kind: KindProportion, Direction: LowerIsBetter},
			Moments{N: 5000, Sum: 100, SumSq: 100}, Moments{N: 95000, Sum: 950, SumSq: 950},
			100, 950, 1, Crossed,
		},
		{
			"errors at the control's rate are not enough evidence",
			Metric{Name: "errors", Kind: KindProportion, Direction: LowerIsBetter},
			Moments{N: 5000, Sum: 50, SumSq: 50}, Moments{N: 95000, Sum: 950, SumSq: 950},
			50, 950, 1, NotEnoughEvidence,
		},
		{
			"errors at half the control's rate clear a 10 % relative tolerance",
			Metric{Name: "errors", Kind: KindProportion, Direction: LowerIsBetter, Tolerance: Tolerance{Relative, 0.1}},
			Moments{N: 20000, Sum: 100, SumSq: 100}, Moments{N: 380000, Sum: 3800, SumSq: 3800},
			100, 3800, 1.1, Clear,
		},
		{
			"a higher-is-better proportion counts units without the outcome as harmful",
			Metric{Name: "thumbs-up", Kind: KindProportion, Direction: HigherIsBetter, Method: MethodExactCount},
			Moments{N: 5000, Sum: 3600, SumSq: 3600}, Moments{N: 95000, Sum: 76000, SumSq: 76000},
			1400, 19000, 1, Crossed,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			const share, alpha = 0.05, 0.01
			r, err := Evaluate(tt.metric, Arms{Stats{Moments: tt.t}, Stats{Moments: tt.c}}, share, alpha)
			if err != nil {
				t.Fatal(err)
			}
			theta0 := share * tt.k / (share*tt.k + 1 - share)
			theta1 := theta0 * 1.25 / (theta0*1.25 + 1 - theta0)
			prior := theta0*(1-theta0)/((theta1-theta0)*(theta1-theta0)) - 1
			a, b := prior*theta0, prior*(1-theta0)
			two := polyaLogBF([]float64{tt.hT, tt.hC}, []float64{theta0, 1 - theta0}, prior)
			// Upper tails as I_{1−x}(b, a), so a tail far below 1e-16 keeps its digits.
			plus := two + math.Log(mathext.RegIncBeta(b+tt.hC, a+tt.hT, 1-theta0)) - math.Log(mathext.RegIncBeta(b, a, 1-theta0))
			minus := two + math.Log(mathext.RegIncBeta(a+tt.hT, b+tt.hC, theta0)) - math.Log(mathext.RegIncBeta(a, b, theta0))
			assertClose(t, "ln BF⁺", r.LogE, plus, 1e-9)
			if !math.IsInf(minus, -1) {
				assertClose(t, "ln BF⁻", r.LogEClear, minus, 1e-7)
			}
			if r.Status != tt.wantStatus {
				t.Errorf("status = %q (ln BF⁺ %v, ln BF⁻ %v), want %q", r.Status, r.LogE, r.LogEClear, tt.wantStatus)
			}
			if r.Treatment.Harmful != tt.hT || r.Control.Harmful != tt.hC {
				t.Errorf("harmful units = (%v, %v), want (%v, %v)", r.Treatment.Harmful, r.Control.Harmful, tt.hT, tt.hC)
			}
			if !r.ExcessBounds.Contains(r.Excess) {
				t.Errorf("bounds %v miss the estimate %v", r.ExcessBounds, r.Excess)
			}
			if got := statusFromBounds(r.ExcessBounds); got != r.Status {
				t.Errorf("bounds %v say %q, the test says %q", r.ExcessBounds, got, r.Status)
			}
		})
	}
}

func TestEvaluateQuantileComparesExceedanceShares(t *testing.T) {
	m := Metric{Name: "p95 latency", Kind: KindQuantile, Direction: LowerIsBetter, Tolerance: Tolerance{Relative, 0.15}}
	tq, cq := ExceedanceThresholds(m, 800)
	if !closeTo(tq, 920, 1e-12) || cq != 800 {
		t.Fatalf("thresholds = (%v, %v), want (920, 800)", tq, cq)
	}
	// Treatment: 9 % of its requests above 920 ms; control: 5 % above 800 ms.
	var tm, cm Moments
	for range 400 {
		tm.AddRatio(9, 100)
	}
	tm.AddRatio(0, 100)
	for range 4000 {
		cm.AddRatio(5, 100)
	}
	cm.AddRatio(10, 100)
	r, err := Evaluate(m, Arms{Stats{Moments: tm}, Stats{Moments: cm}}, 0.1, 0.01)
	if err != nil {
		t.Fatal(err)
	}
	assertClose(t, "excess", r.Excess, tm.Ratio()-cm.Ratio(), 1e-12)
	if r.Status != Crossed {
		t.Errorf("status = %q, want crossed for 9 %% against 5 %% exceedance", r.Status)
	}
	if !closeTo(m.WithDefaults().Tau, 0.025, 1e-12) {
		t.Errorf("default τ of a p95 metric = %v, want 0.025", m.WithDefaults().Tau)
	}
	hb := Metric{Name: "p5 quality", Kind: KindQuantile, Quantile: 0.05, Direction: HigherIsBetter, Tolerance: Tolerance{Absolute, 0.1}}
	if tq, cq := ExceedanceThresholds(hb, 0.6); !closeTo(tq, 0.5, 1e-12) || cq != 0.6 {
		t.Errorf("higher-is-better thresholds = (%v, %v), want (0.5, 0.6)", tq, cq)
	}
}

func TestEvaluateWithoutEnoughData(t *testing.T) {
	lat := Metric{Name: "latency", Kind: KindMean, Direction: LowerIsBetter, LogScale: true}
	errs := Metric{Name: "errors", Kind: KindProportion, Direction: LowerIsBetter}
	cost := Metric{Name: "cost", Kind: KindMean, Direction: LowerIsBetter}
	ratio := Metric{Name: "per request", Kind: KindRatio, Direction: LowerIsBetter, Tau: 0.1}
	tests := []struct {
		name   string
		metric Metric
		arms   Arms
		note   string
	}{
		{"an arm below the minimum units", lat, armsOf(sampleUnits(1, 10, 5, 1), sampleUnits(2, 500, 5, 1)), "fewer units than min_units"},
		{"no variation in either arm", lat, armsOf(make([]float64, 40), make([]float64, 400)), "no variation"},
		{"no harmful units yet", errs, Arms{Stats{Moments: Moments{N: 50}}, Stats{Moments: Moments{N: 950}}}, "no harmful units"},
		{"harmful units above the units", errs, Arms{Stats{Moments: Moments{N: 5, Sum: 9, SumSq: 9}}, Stats{Moments: Moments{N: 950}}}, "outside"},
		{"a relative τ against a zero control mean", cost, armsOf(sampleUnits(1, 40, 1, 1), make([]float64, 400)), "non-zero control mean"},
		{"a ratio without denominators", ratio, Arms{Stats{Moments: Moments{N: 40, Sum: 3}}, Stats{Moments: Moments{N: 40, Sum: 3}}}, "denominator"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Evaluate(tt.metric, tt.arms, 0.05, 0.01)
			if err != nil {
				t.Fatal(err)
			}
			if r.Status != NotEnoughEvidence || !strings.Contains(r.Note, tt.note) {
				t.Errorf("status %q, note %q; want not enough evidence with a note mentioning %q", r.Status, r.Note, tt.note)
			}
			if _, err := json.Marshal(r); err != nil {
				t.Errorf("the result does not encode as JSON: %v", err)
			}
		})
	}
}

func TestEvaluateRejectsInvalidDefinitions(t *testing.T) {
	base := Metric{Name: "m", Kind: KindMean, Direction: LowerIsBetter}
	with := func(f func(*Metric)) Metric { m := base; f(&m); return m }
	tests := []struct {
		name         string
		metric       Metric
		share, alpha float64
		want         string
	}{
		{"an unknown kind", with(func(m *Metric) { m.Kind = "median" }), 0.05, 0.01, "kind"},
		{"no direction", with(func(m *Metric) { m.Direction = "" }), 0.05, 0.01, "direction"},
		{"an unknown tolerance kind", with(func(m *Metric) { m.Tolerance.Kind = "percent" }), 0.05, 0.01, "tolerance kind"},
		{"a negative tolerance", with(func(m *Metric) { m.Tolerance.Value = -1 }), 0.05, 0.01, "tolerance"},
		{"a relative tolerance of 100 % on a higher-is-better metric", with(func(m *Metric) {
			m.Direction, m.Tolerance = HigherIsBetter, Tolerance{Relative, 1}
		}), 0.05, 0.01, "below 1"},
		{"the count test on a mean", with(func(m *Metric) { m.Method = MethodExactCount }), 0.05, 0.01, "needs kind proportion"},
		{"the count test with an absolute tolerance", Metric{Name: "e", Kind: KindProportion, Direction: LowerIsBetter, Tolerance: Tolerance{Absolute, 0.01}}, 0.05, 0.01, "relative tolerance only"},
		{"the count test with a harm ratio of 1", Metric{Name: "e", Kind: KindProportion, Direction: LowerIsBetter, HarmRatio: 1}, 0.05, 0.01, "harm_ratio"},
		{"the asymptotic method without planned units", with(func(m *Metric) { m.Method = MethodAsymptotic }), 0.05, 0.01, "planned_units"},
		{"an unknown method", with(func(m *Metric) { m.Method = "t-test" }), 0.05, 0.01, "method"},
		{"a negative τ", with(func(m *Metric) { m.Tau = -1 }), 0.05, 0.01, "tau"},
		{"a minimum of one unit", with(func(m *Metric) { m.MinUnits = 1 }), 0.05, 0.01, "min_units"},
		{"a quantile of 1", Metric{Name: "q", Kind: KindQuantile, Direction: LowerIsBetter, Quantile: 1}, 0.05, 0.01, "quantile"},
		{"a distribution metric", Metric{Name: "d", Kind: KindDistribution, Direction: LowerIsBetter}, 0.05, 0.01, "Drift"},
		{"an alpha of 0.5", base, 0.05, 0.5, "alpha"},
		{"a planned share of 1", base, 1, 0.01, "share"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Evaluate(tt.metric, Arms{}, tt.share, tt.alpha)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v, want one mentioning %q", err, tt.want)
			}
		})
	}
}

func TestShippedDefaults(t *testing.T) {
	tests := []struct {
		name   string
		metric Metric
		want   Metric
	}{
		{
			"an error rate gets the exact count test with r = 1.25",
			Metric{Name: "errors", Kind: KindProportion, Direction: LowerIsBetter},
			Metric{Name: "errors", Kind: KindProportion, Direction: LowerIsBetter, Tolerance: Tolerance{Kind: Absolute}, Method: MethodExactCount, HarmRatio: 1.25},
		},
		{
			"a thumbs-up rate gets the one-sided mixture with τ = 0.02",
			Metric{Name: "thumbs-up", Kind: KindProportion, Direction: HigherIsBetter},
			Metric{Name: "thumbs-up", Kind: KindProportion, Direction: HigherIsBetter, Tolerance: Tolerance{Kind: Absolute}, Method: MethodMixture, Tau: 0.02, MinUnits: 30},
		},
		{
			"latency on the log scale gets the one-sided mixture with τ = ln 1.10",
			Metric{Name: "latency", Kind: KindMean, Direction: LowerIsBetter, LogScale: true},
			Metric{Name: "latency", Kind: KindMean, Direction: LowerIsBetter, LogScale: true, Tolerance: Tolerance{Kind: Absolute}, Method: MethodMixture, Tau: math.Log(1.1), MinUnits: 30},
		},
		{
			"tickets per user get a relative τ of 10 % of the control mean",
			Metric{Name: "tickets", Kind: KindCount, Direction: LowerIsBetter, Tolerance: Tolerance{Relative, 0.2}},
			Metric{Name: "tickets", Kind: KindCount, Direction: LowerIsBetter, Tolerance: Tolerance{Relative, 0.2}, Method: MethodMixture, RelativeTau: 0.1, MinUnits: 30},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, tt.metric.WithDefaults()); diff != "" {
				t.Errorf("defaults (-want +got):\n%s", diff)
			}
			if err := tt.metric.Validate(); err != nil {
				t.Errorf("the shipped default is invalid: %v", err)
			}
		})
	}
}

func TestResultsRoundTripThroughJSON(t *testing.T) {
	r, err := Evaluate(Metric{Name: "latency", Kind: KindMean, Direction: LowerIsBetter, LogScale: true},
		armsOf(sampleUnits(1, 5, 5, 1), sampleUnits(2, 500, 5, 1)), 0.05, 0.01)
	if err != nil {
		t.Fatal(err)
	}
	r.Relative = math.NaN()
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"excess_bounds":{"lower":null,"upper":null}`) || !strings.Contains(string(b), `"relative":null`) {
		t.Errorf("JSON %s does not write undefined values as null", b)
	}
	var back Result
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(r, back, cmpopts.EquateNaNs()); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
}

func TestEvaluateProperties(t *testing.T) {
	methods := []Method{MethodMixture, MethodMixtureTwoSided, MethodAsymptotic}
	rapid.Check(t, func(t *rapid.T) {
		nt := rapid.IntRange(30, 2000).Draw(t, "nt")
		nc := rapid.IntRange(30, 20000).Draw(t, "nc")
		mt := rapid.Float64Range(-1, 1).Draw(t, "mt")
		mc := rapid.Float64Range(-1, 1).Draw(t, "mc")
		st := rapid.Float64Range(0.05, 3).Draw(t, "st")
		sc := rapid.Float64Range(0.05, 3).Draw(t, "sc")
		arms := Arms{
			Treatment: Stats{Moments: Moments{N: float64(nt), Sum: mt * float64(nt), SumSq: (st*st*float64(nt-1) + mt*mt*float64(nt))}},
			Control:   Stats{Moments: Moments{N: float64(nc), Sum: mc * float64(nc), SumSq: (sc*sc*float64(nc-1) + mc*mc*float64(nc))}},
		}
		m := Metric{
			Name: "m", Kind: KindMean, Tau: 0.1, PlannedUnits: 5000,
			Direction: rapid.SampledFrom([]Direction{LowerIsBetter, HigherIsBetter}).Draw(t, "direction"),
			Method:    rapid.SampledFrom(methods).Draw(t, "method"),
			Tolerance: Tolerance{
				Kind:  rapid.SampledFrom([]ToleranceKind{Absolute, Relative}).Draw(t, "tolerance kind"),
				Value: rapid.Float64Range(0, 0.5).Draw(t, "tolerance"),
			},
		}
		alpha := rapid.Float64Range(1e-6, 0.2).Draw(t, "alpha")
		r, err := Evaluate(m, arms, 0.05, alpha)
		if err != nil {
			t.Fatal(err)
		}
		if !r.ExcessBounds.Contains(r.Excess) || !r.DiffBounds.Contains(r.Diff) {
			t.Fatalf("bounds %v / %v miss the estimates %v / %v", r.ExcessBounds, r.DiffBounds, r.Excess, r.Diff)
		}
		// The status and the bounds say the same thing (away from the boundary's last digits).
		gap := math.Min(math.Abs(r.ExcessBounds.Lower), math.Abs(r.ExcessBounds.Upper))
		if gap > 1e-9*math.Max(1, math.Abs(r.Excess)) {
			if got := statusFromBounds(r.ExcessBounds); got != r.Status {
				t.Fatalf("bounds %v say %q, the test says %q", r.ExcessBounds, got, r.Status)
			}
		}
		// A smaller α never gives a narrower interval.
		r2, _ := Evaluate(m, arms, 0.05, alpha/10)
		if !(r2.ExcessBounds.Lower <= r.ExcessBounds.Lower && r2.ExcessBounds.Upper >= r.ExcessBounds.Upper) {
			t.Fatalf("bounds at α/10 %v are not wider than at α %v", r2.ExcessBounds, r.ExcessBounds)
		}
		if r.Status == Crossed && r2.Status == Clear || r.Status == Clear && r2.Status == Crossed {
			t.Fatalf("a smaller α flipped the status from %q to %q", r.Status, r2.Status)
		}
	})
}

func sum(xs []float64) float64 {
	var s float64
	for _, x := range xs {
		s += x
	}
	return s
}

func TestASmallArmWithoutVariationDoesNotCrossOnNoise(t *testing.T) {
	// 30 control units of a segment, all with a thumbs-up, against 327 treatment units at the usual
	// 82 %: the plug-in variance of control is 0, which would make the gap look like 5 standard
	// errors. At a segment's α the pooled variance keeps it from crossing.
	m := Metric{Name: "thumbs-up", Kind: KindProportion, Direction: HigherIsBetter}
	r, err := Evaluate(m, propArms(327, 267, 30, 30), 0.9, 1.36e-6)
	if err != nil {
		t.Fatal(err)
	}
	if r.Status == Crossed {
		t.Errorf("crossed with ln e %v on a control arm without variation", r.LogE)
	}
}

func TestAnArmWithLittleSpreadIsHeldAtHalfThePooledVariance(t *testing.T) {
	// Control's spread (0.05) is far below the pooled one (treatment spreads 1.0), so control's
	// variance term is half the pooled variance, not its own.
	ctl := sampleUnits(11, 200, 1.0, 0.05)
	trt := sampleUnits(12, 60, 1.3, 1.0)
	_, vc := twoPass(ctl)
	_, vp := twoPass(append(append([]float64(nil), trt...), ctl...))
	if !(vc < vp/2) {
		t.Fatalf("the data do not exercise the floor: control variance %v, half the pooled %v", vc, vp/2)
	}
	m := Metric{Name: "m", Kind: KindMean, Direction: LowerIsBetter, Tau: 0.2}
	r, err := Evaluate(m, armsOf(trt, ctl), 0.2, 0.01)
	if err != nil {
		t.Fatal(err)
	}
	excess, logE, lower := referenceOneSided(trt, ctl, 1, 1, 0, 0.2, 0.01)
	assertClose(t, "excess", r.Excess, excess, 1e-9)
	assertClose(t, "ln e", r.LogE, logE, 1e-9)
	assertClose(t, "lower bound", r.ExcessBounds.Lower, lower, 1e-9)
}
