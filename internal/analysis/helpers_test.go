package analysis

import (
	"math"
	"testing"
)

// This file holds independent second implementations used as references by the tests: they reach
// the same numbers by another route (raw per-unit data, numerical integration, sequential products,
// finite sums), so a wrong formula in the package cannot agree with them by construction.

// closeTo reports whether got is within tol of want, relative to max(1, |want|).
func closeTo(got, want, tol float64) bool {
	if math.IsInf(want, 0) || math.IsNaN(want) {
		return got == want || (math.IsNaN(got) && math.IsNaN(want))
	}
	return math.Abs(got-want) <= tol*math.Max(1, math.Abs(want))
}

func assertClose(t *testing.T, name string, got, want, tol float64) {
	t.Helper()
	if !closeTo(got, want, tol) {
		t.Errorf("%s = %.15g, want %.15g (tolerance %g)", name, got, want, tol)
	}
}

// twoPass returns the mean and sample variance of xs the textbook way.
func twoPass(xs []float64) (mean, variance float64) {
	for _, x := range xs {
		mean += x
	}
	mean /= float64(len(xs))
	for _, x := range xs {
		variance += (x - mean) * (x - mean)
	}
	return mean, variance / float64(len(xs)-1)
}

// deltaRatio returns R = Σy/Σx and its delta-method variance from raw per-unit pairs, two-pass.
func deltaRatio(ys, xs []float64) (r, v float64) {
	n := float64(len(ys))
	my, _ := twoPass(ys)
	mx, _ := twoPass(xs)
	var syy, sxx, sxy float64
	for i := range ys {
		syy += (ys[i] - my) * (ys[i] - my)
		sxx += (xs[i] - mx) * (xs[i] - mx)
		sxy += (ys[i] - my) * (xs[i] - mx)
	}
	syy, sxx, sxy = syy/(n-1), sxx/(n-1), sxy/(n-1)
	r = my / mx
	return r, (syy - 2*r*sxy + r*r*sxx) / (n * mx * mx)
}

// simpson integrates f over [a, b] with n (even) intervals.
func simpson(f func(float64) float64, a, b float64, n int) float64 {
	h := (b - a) / float64(n)
	s := f(a) + f(b)
	for i := 1; i < n; i++ {
		w := 2.0
		if i%2 == 1 {
			w = 4
		}
		s += w * f(a+float64(i)*h)
	}
	return s * h / 3
}

// bisect finds x in [lo, hi] with f(x) = 0 for f changing sign on the interval.
func bisect(f func(float64) float64, lo, hi float64) float64 {
	flo := f(lo)
	for range 200 {
		mid := (lo + hi) / 2
		fm := f(mid)
		if (fm < 0) == (flo < 0) {
			lo, flo = mid, fm
		} else {
			hi = mid
		}
	}
	return (lo + hi) / 2
}

// polyaLogBF is the Dirichlet-multinomial Bayes factor computed as a product of one-step predictive
// probabilities (a Pólya urn) over a sequence that interleaves the arms: no gamma function involved.
func polyaLogBF(counts, shares []float64, prior float64) float64 {
	seen := make([]float64, len(counts))
	left := append([]float64(nil), counts...)
	var total, logBF float64
	for {
		progressed := false
		for i := range left {
			if left[i] <= 0 {
				continue
			}
			// predictive (a_i + n_i) / (A + n) over the null's p_i
			logBF += math.Log((prior*shares[i] + seen[i]) / (prior + total) / shares[i])
			seen[i]++
			total++
			left[i]--
			progressed = true
		}
		if !progressed {
			return logBF
		}
	}
}

// binomialTail is I_x(a, b) for whole a, b by the finite sum P(Bin(a+b−1, x) ≥ a).
func binomialTail(a, b int, x float64) float64 {
	n := a + b - 1
	var s float64
	for j := a; j <= n; j++ {
		lc, _ := math.Lgamma(float64(n + 1))
		l1, _ := math.Lgamma(float64(j + 1))
		l2, _ := math.Lgamma(float64(n - j + 1))
		s += math.Exp(lc - l1 - l2 + float64(j)*math.Log(x) + float64(n-j)*math.Log1p(-x))
	}
	return s
}
