package analysis

import (
	"math"
	"testing"

	"gonum.org/v1/gonum/mathext"
	"pgregory.net/rapid"
)

func TestCountPriorSizeOfTheShippedErrorRateIs344(t *testing.T) {
	// By hand: θ₁ = 0.05·1.25 / (0.0625 + 0.95) = 0.0617284; (θ₁ − π)² = 1.37555e-4;
	// π(1−π) / that − 1 = 344.31.
	theta1 := 0.0625 / 1.0125
	want := 0.05*0.95/((theta1-0.05)*(theta1-0.05)) - 1
	assertClose(t, "A", CountPriorSize(0.05, 1.25), want, 1e-12)
	if a := CountPriorSize(0.05, 1.25); math.Round(a) != 344 {
		t.Errorf("A = %v, want 344 as STATISTICS.md ships", a)
	}
	if a := CountPriorSize(0.5, 100); a != 1 {
		t.Errorf("A for a huge harm = %v, want the floor 1", a)
	}
}

func TestNullShareOfARelativeTolerance(t *testing.T) {
	assertClose(t, "θ₀ without tolerance", NullShare(0.05, 1), 0.05, 1e-15)
	// 5 % of units at 1.1× the rate: 0.055 / (0.055 + 0.95).
	assertClose(t, "θ₀ at +10 %", NullShare(0.05, 1.1), 0.055/1.005, 1e-15)
}

func TestCountTestReproducesIndependentComputations(t *testing.T) {
	// Whole prior parameters (A = 340, θ₀ = 0.05 → a = 17, b = 323) so the incomplete beta has the
	// finite binomial-sum form; the two-sided factor comes from a Pólya urn, with no gamma function.
	tests := []struct {
		name   string
		hT, hC float64
	}{
		{"no harmful units in treatment", 0, 60},
		{"the planned split of harmful units", 3, 57},
		{"twice the planned share in treatment", 12, 108},
		{"a strong regression", 40, 160},
		{"a strong improvement", 1, 300},
	}
	const prior, theta0 = 340.0, 0.05
	a, b := 17, 323
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := CountTest(tt.hT, tt.hC, theta0, prior)
			two := polyaLogBF([]float64{tt.hT, tt.hC}, []float64{theta0, 1 - theta0}, prior)
			assertClose(t, "ln BF", got.LogBF, two, 1e-9)

			lowerPost := binomialTail(a+int(tt.hT), b+int(tt.hC), theta0)
			lowerPrior := binomialTail(a, b, theta0)
			plus := two + math.Log(1-lowerPost) - math.Log(1-lowerPrior)
			minus := two + math.Log(lowerPost) - math.Log(lowerPrior)
			assertClose(t, "ln BF⁺", got.LogBFPlus, plus, 1e-9)
			assertClose(t, "ln BF⁻", got.LogBFMinus, minus, 1e-9)
		})
	}
}

func TestCountTestKeepsPrecisionInATinyTail(t *testing.T) {
	// A strong improvement: P(θ > θ₀ | data) is far below 1e-16, which 1 − I would round to 0.
	got := CountTest(0, 2000, 0.05, 344)
	if math.IsInf(got.LogBFPlus, 0) || math.IsNaN(got.LogBFPlus) {
		t.Fatalf("ln BF⁺ = %v, want a finite (very negative) number", got.LogBFPlus)
	}
	if !(got.LogBFMinus > math.Log(100)) {
		t.Errorf("ln BF⁻ = %v: 2 000 harmful units all in control should show non-inferiority", got.LogBFMinus)
	}
}

func TestCountBoundsAgreeWithTheTestAtTheNull(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		hT := float64(rapid.IntRange(0, 400).Draw(t, "hT"))
		hC := float64(rapid.IntRange(0, 4000).Draw(t, "hC"))
		if hT+hC == 0 {
			return
		}
		share := rapid.Float64Range(0.01, 0.5).Draw(t, "share")
		alpha := rapid.Float64Range(1e-6, 0.1).Draw(t, "alpha")
		prior := CountPriorSize(share, 1.25)
		ev := CountTest(hT, hC, share, prior)
		lo, hi := countBounds(hT, hC, share, prior, alpha, ev)
		mle := hT / (hT + hC)
		if !(lo <= mle && mle <= hi) {
			t.Fatalf("bounds [%v, %v] miss the estimate %v", lo, hi, mle)
		}
		target := math.Log(1 / alpha)
		// Away from the boundary (where the root finder's last digits decide), the bound and the
		// test agree.
		if ev.LogBFPlus > target+1e-6 && !(lo > share) {
			t.Fatalf("BF⁺ crossed (%v > %v) but the lower bound %v is not above θ₀ = %v", ev.LogBFPlus, target, lo, share)
		}
		if ev.LogBFPlus < target-1e-6 && lo > share {
			t.Fatalf("BF⁺ did not cross (%v < %v) but the lower bound %v is above θ₀ = %v", ev.LogBFPlus, target, lo, share)
		}
		if ev.LogBFMinus > target+1e-6 && !(hi < share) {
			t.Fatalf("BF⁻ crossed but the upper bound %v is not below θ₀ = %v", hi, share)
		}
		if ev.LogBFMinus < target-1e-6 && hi < share {
			t.Fatalf("BF⁻ did not cross but the upper bound %v is below θ₀ = %v", hi, share)
		}
	})
}

func TestCountEvidenceGrowsWithHarmfulUnitsInTreatment(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		hT := float64(rapid.IntRange(0, 300).Draw(t, "hT"))
		hC := float64(rapid.IntRange(1, 3000).Draw(t, "hC"))
		a := CountTest(hT, hC, 0.05, 344).LogBFPlus
		b := CountTest(hT+1, hC, 0.05, 344).LogBFPlus
		if !(b > a) {
			t.Fatalf("ln BF⁺ went from %v to %v with one more harmful unit in treatment", a, b)
		}
	})
}

func TestLogIncompleteBetaContinuedFractionMatchesGonum(t *testing.T) {
	tests := []struct {
		name    string
		a, b, x float64
	}{
		{"a prior tail", 17.2, 326.8, 0.03},
		{"a posterior tail", 60, 1300, 0.03},
		{"a small tail", 500, 9000, 0.04},
		{"whole parameters", 3, 40, 0.01},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assertClose(t, "ln I", logIncBetaCF(tt.a, tt.b, tt.x), math.Log(mathext.RegIncBeta(tt.a, tt.b, tt.x)), 1e-11)
		})
	}
}

func TestCountTestStaysRightWhereTheIncompleteBetaUnderflows(t *testing.T) {
	// 400 harmful units all in treatment: overwhelming harm. The posterior mass below θ₀ is about
	// e^-1000, below any float64; BF⁻ must say "no evidence of non-inferiority", not cross.
	a := CountPriorSize(0.0625, 1.25)
	got := CountTest(400, 0, 0.0625, a)
	if !(got.LogBFMinus < 0) {
		t.Errorf("ln BF⁻ = %v, want negative", got.LogBFMinus)
	}
	if !(got.LogBFPlus > 100) {
		t.Errorf("ln BF⁺ = %v, want overwhelming", got.LogBFPlus)
	}
	// The log-space tail continues the exact one smoothly: compare at whole parameters, where the
	// binomial sum reaches far below the float64 range in logs.
	lt := logIncBetaCF(300, 50, 0.5)
	var logSum float64 = math.Inf(-1)
	n := 349
	for j := 300; j <= n; j++ {
		lc, _ := math.Lgamma(float64(n + 1))
		l1, _ := math.Lgamma(float64(j + 1))
		l2, _ := math.Lgamma(float64(n - j + 1))
		term := lc - l1 - l2 + float64(n)*math.Log(0.5)
		logSum = math.Max(logSum, term) + math.Log1p(math.Exp(-math.Abs(logSum-term)))
	}
	assertClose(t, "ln I_0.5(300, 50)", lt, logSum, 1e-10)
}
