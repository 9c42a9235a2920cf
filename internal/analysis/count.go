package analysis

import (
	"math"

	"gonum.org/v1/gonum/mathext"
)

// This file holds the exact one-sided count test for proportions counted on units. Under the null
// hypothesis each harmful unit (≥ 1 error, or no thumbs-up) lands in treatment with probability θ₀ —
// the planned treatment share π when the tolerance is 0 — independently of the others, whatever the
// base rate. The Dirichlet-multinomial (here beta-binomial) Bayes factor of Lindon & Malek applied to
// the harmful-unit counts (h_T, h_C) is an e-process: valid at every sample size by Ville's inequality.

// CountPriorSize is the prior size A of the count test for a null share θ₀ and the relative harm r
// worth catching: A = max(1, θ₀(1−θ₀)/(θ₁−θ₀)² − 1) with θ₁ = θ₀ r / (θ₀ r + 1 − θ₀), the share of
// harmful units that treatment would get if its rate were r times control's. The prior Beta(Aθ₀,
// A(1−θ₀)) then has its standard deviation at the harm worth catching.
func CountPriorSize(theta0, r float64) float64 {
	theta1 := theta0 * r / (theta0*r + 1 - theta0)
	return math.Max(1, theta0*(1-theta0)/((theta1-theta0)*(theta1-theta0))-1)
}

// NullShare is θ₀, the probability that a harmful unit is in treatment when treatment's rate of
// harmful units is exactly k times control's and a share π of units is in treatment:
// θ₀ = πk / (πk + 1 − π). k = 1 + δ for a relative tolerance δ.
func NullShare(share, k float64) float64 {
	return share * k / (share*k + 1 - share)
}

// CountEvidence holds the count test's log Bayes factors for one pair of harmful-unit counts.
type CountEvidence struct {
	// LogBF is the two-sided ln BF: the beta-binomial marginal over the likelihood at θ₀.
	LogBF float64 `json:"log_bf"`
	// LogBFPlus is ln BF⁺, the prior restricted to θ > θ₀: evidence that treatment is worse.
	LogBFPlus float64 `json:"log_bf_plus"`
	// LogBFMinus is ln BF⁻, the prior restricted to θ < θ₀: evidence that treatment is not worse
	// (non-inferiority).
	LogBFMinus float64 `json:"log_bf_minus"`
}

// CountTest computes the count test's Bayes factors for hT harmful units in treatment and hC in
// control, null share θ₀ and prior size A:
//
//	BF  = Γ(A)/Γ(A+n) · Γ(Aθ₀+h_T)/Γ(Aθ₀) · Γ(A(1−θ₀)+h_C)/Γ(A(1−θ₀)) / (θ₀^{h_T} (1−θ₀)^{h_C})
//	BF⁺ = BF · (1 − I_θ₀(Aθ₀+h_T, A(1−θ₀)+h_C)) / (1 − I_θ₀(Aθ₀, A(1−θ₀)))
//	BF⁻ = BF · I_θ₀(Aθ₀+h_T, A(1−θ₀)+h_C) / I_θ₀(Aθ₀, A(1−θ₀))
//
// with I the regularised incomplete beta function. Each tail is computed in the orientation where it
// is small, so a tiny tail keeps its precision.
func CountTest(hT, hC, theta0, prior float64) CountEvidence {
	a, b := prior*theta0, prior*(1-theta0)
	two := countLogBF(hT, hC, theta0, a, b)
	upperPost, lowerPost := betaTails(a+hT, b+hC, theta0)
	upperPrior, lowerPrior := betaTails(a, b, theta0)
	return CountEvidence{
		LogBF:      two,
		LogBFPlus:  two + upperPost - upperPrior,
		LogBFMinus: two + lowerPost - lowerPrior,
	}
}

// countLogBF is the two-sided ln BF with prior Beta(a, b).
func countLogBF(hT, hC, theta0, a, b float64) float64 {
	lg := func(x float64) float64 { v, _ := math.Lgamma(x); return v }
	return lg(a+b) - lg(a+b+hT+hC) + lg(a+hT) - lg(a) + lg(b+hC) - lg(b) -
		xlogy(hT, theta0) - xlogy(hC, 1-theta0)
}

// xlogy is x·ln y with 0·ln 0 = 0.
func xlogy(x, y float64) float64 {
	if x == 0 {
		return 0
	}
	return x * math.Log(y)
}

// betaTails returns ln P(θ > x) and ln P(θ < x) for θ ~ Beta(a, b).
func betaTails(a, b, x float64) (logUpper, logLower float64) {
	// The lower tail I_x(a, b) is small when x is below the mean; the upper tail is I_{1−x}(b, a).
	if x < a/(a+b) {
		lower := logSmallTail(a, b, x)
		return math.Log1p(-math.Exp(lower)), lower
	}
	upper := logSmallTail(b, a, 1-x)
	return upper, math.Log1p(-math.Exp(upper))
}

// logSmallTail is ln I_x(a, b) for x below the mean of Beta(a, b). gonum's RegIncBeta is exact to
// double precision while the tail is a normal float64; beyond that it underflows (to subnormal
// garbage, then 0), where the evidence is overwhelming and only its logarithm is needed: there the
// continued fraction of I_x is evaluated in log space.
func logSmallTail(a, b, x float64) float64 {
	if v := mathext.RegIncBeta(a, b, x); v > 1e-280 {
		return math.Log(v)
	}
	return logIncBetaCF(a, b, x)
}

// logIncBetaCF is ln I_x(a, b) = a ln x + b ln(1−x) − ln a − ln B(a, b) + ln CF(a, b, x), with the
// continued fraction CF evaluated by the modified Lentz method (Numerical Recipes §6.4). It converges
// for x < (a+1)/(a+b+2).
func logIncBetaCF(a, b, x float64) float64 {
	const tiny, eps = 1e-300, 1e-15
	qab, qap, qam := a+b, a+1, a-1
	c, d := 1.0, 1-qab*x/qap
	if math.Abs(d) < tiny {
		d = tiny
	}
	d = 1 / d
	h := d
	for m := 1; m <= 10000; m++ {
		fm := float64(m)
		m2 := 2 * fm
		aa := fm * (b - fm) * x / ((qam + m2) * (a + m2))
		d = 1 + aa*d
		if math.Abs(d) < tiny {
			d = tiny
		}
		c = 1 + aa/c
		if math.Abs(c) < tiny {
			c = tiny
		}
		d = 1 / d
		h *= d * c
		aa = -(a + fm) * (qab + fm) * x / ((a + m2) * (qap + m2))
		d = 1 + aa*d
		if math.Abs(d) < tiny {
			d = tiny
		}
		c = 1 + aa/c
		if math.Abs(c) < tiny {
			c = tiny
		}
		d = 1 / d
		del := d * c
		h *= del
		if math.Abs(del-1) < eps {
			break
		}
	}
	return a*math.Log(x) + b*math.Log1p(-x) - math.Log(a) - mathext.Lbeta(a, b) + math.Log(h)
}

// countBounds inverts the one-sided count tests into anytime-valid bounds on θ, the probability that
// a harmful unit is in treatment. The prior Beta(Aθ₀, A(1−θ₀)) stays centred at the null θ₀ and is
// truncated at each candidate θ: BF⁺(θ) = ∫_{t>θ} L(t) dΠ(t) / (Π(t > θ) L(θ)) is an e-process under
// θ, so lower = the largest θ below the estimate with BF⁺(θ) ≥ 1/α (and upper, mirrored, from BF⁻)
// hold at level α. At θ = θ₀ this is exactly CountTest, and the bounds are made to agree with its
// decision there.
func countBounds(hT, hC, theta0, prior, alpha float64, ev CountEvidence) (lower, upper float64) {
	ci := newCountInverter(hT, hC, theta0, prior, alpha)
	lower, upper = 0, 1
	if hT > 0 {
		if z, ok := ci.solve(-1); ok {
			lower = logistic(z)
		}
		// The bound and the test at θ₀ must agree: θ₀ is inside the bounds unless the test rejects it.
		if ev.LogBFPlus < ci.target {
			lower = math.Min(lower, theta0)
		} else {
			lower = math.Max(lower, theta0)
		}
	}
	if hC > 0 {
		if z, ok := ci.solve(1); ok {
			upper = logistic(z)
		}
		if ev.LogBFMinus < ci.target {
			upper = math.Max(upper, theta0)
		} else {
			upper = math.Min(upper, theta0)
		}
	}
	return lower, upper
}

// countInverter holds what every evaluation of the bound inversion shares.
type countInverter struct {
	h, c            float64 // harmful units in treatment and control
	a, b            float64 // the prior Beta(a, b)
	lbPost, lbPrior float64 // ln B(a+h, b+c), ln B(a, b)
	target          float64 // ln(1/α)
	zmle            float64 // logit of the estimate h/(h+c), clamped
	// Logit-normal approximations of the posterior and the prior (mean and sd of logit t), which
	// make a cheap first pass before the exact one.
	muPost, sdPost, muPrior, sdPrior float64
}

func newCountInverter(hT, hC, theta0, prior, alpha float64) countInverter {
	a, b := prior*theta0, prior*(1-theta0)
	ci := countInverter{
		h: hT, c: hC, a: a, b: b,
		lbPost:  mathext.Lbeta(a+hT, b+hC),
		lbPrior: mathext.Lbeta(a, b),
		target:  math.Log(1 / alpha),
		zmle:    math.Max(-maxLogit, math.Min(maxLogit, logit(hT/(hT+hC)))),
	}
	ci.muPost, ci.sdPost = logitMoments(a+hT, b+hC)
	ci.muPrior, ci.sdPrior = logitMoments(a, b)
	return ci
}

// logitMoments approximates the mean ψ(a) − ψ(b) and the sd sqrt(ψ'(a) + ψ'(b)) of logit t for
// t ~ Beta(a, b) by the digamma and trigamma functions' asymptotic series. Only the number of exact
// steps depends on its accuracy, never the result.
func logitMoments(a, b float64) (mu, sd float64) {
	psi := func(x float64) float64 { return math.Log(x) - 1/(2*x) - 1/(12*x*x) }
	tri := func(x float64) float64 { return 1/x + 1/(2*x*x) + 1/(6*x*x*x) }
	return psi(a) - psi(b), math.Sqrt(tri(a) + tri(b))
}

// eval is ln BF^±(θ) − ln(1/α) at θ = logistic(z) and its derivative in z: BF⁺ for dir = −1 (the
// prior and posterior tails above θ), BF⁻ for dir = +1 (below θ). exact selects the incomplete beta
// function over the logit-normal approximation of the tails.
func (ci countInverter) eval(z, dir float64, exact bool) (g, dg float64) {
	th := logistic(z)
	lt, l1t := math.Log(th), math.Log1p(-th)
	var tPost, tPrior, rPost, rPrior float64
	if exact {
		upPost, loPost := betaTails(ci.a+ci.h, ci.b+ci.c, th)
		upPrior, loPrior := betaTails(ci.a, ci.b, th)
		tPost, tPrior = upPost, upPrior
		if dir > 0 {
			tPost, tPrior = loPost, loPrior
		}
		// d/dθ ln P(t > θ) = −pdf(θ)/P(t > θ); d/dθ ln P(t < θ) = pdf(θ)/P(t < θ). In z: × θ(1−θ).
		rPost = math.Exp((ci.a+ci.h)*lt + (ci.b+ci.c)*l1t - ci.lbPost - tPost)
		rPrior = math.Exp(ci.a*lt + ci.b*l1t - ci.lbPrior - tPrior)
	} else {
		// Tail of a normal in z: ln Φ(∓(z − μ)/σ), derivative ∓φ/(Φσ).
		tail := func(mu, sd float64) (float64, float64) {
			u := -dir * (z - mu) / sd
			lp := logNormalCDF(-u)
			return lp, math.Exp(logNormalPDF(u)-lp) / sd
		}
		tPost, rPost = tail(ci.muPost, ci.sdPost)
		tPrior, rPrior = tail(ci.muPrior, ci.sdPrior)
	}
	g = ci.lbPost - ci.lbPrior + tPost - tPrior - ci.h*lt - ci.c*l1t - ci.target
	dg = dir*(rPost-rPrior) - ci.h*(1-th) + ci.c*th
	return g, dg
}

// maxLogit bounds the search on the logit scale: θ within 1e-15 of 0 or 1 is as good as the end.
const maxLogit = 34.5

// solve finds the root of ln BF^± − ln(1/α) nearest the estimate on side dir (−1: the lower bound
// from BF⁺, +1: the upper bound from BF⁻); the function is negative at the estimate and grows away
// from it. A first pass runs Newton's method on the cheap approximation from the root of the
// likelihood part; the exact pass then needs one or two Newton steps, kept inside the bracket found
// so far with bisection as the fallback. ok is false when the function stays negative up to
// ±maxLogit.
func (ci countInverter) solve(dir float64) (z float64, ok bool) {
	z = ci.start(dir)
	for range 20 {
		g, dg := ci.eval(z, dir, false)
		next := z - g/dg
		if math.IsNaN(next) || (next-ci.zmle)*dir <= 0 {
			break
		}
		next = math.Max(-maxLogit, math.Min(maxLogit, next))
		if math.Abs(next-z) < 1e-6 {
			z = next
			break
		}
		z = next
	}

	zin, zout, haveOut := ci.zmle, 0.0, false
	for range 60 {
		g, dg := ci.eval(z, dir, true)
		step := -g / dg
		if math.Abs(step) < 1e-6 && dg*dir > 0 {
			// Newton converges quadratically: after a step of 1e-6 the error is of order 1e-12.
			return z + step, true
		}
		if g >= 0 {
			zout, haveOut = z, true
		} else {
			zin = z
		}
		next := z + step
		switch {
		case haveOut && !(math.Min(zin, zout) < next && next < math.Max(zin, zout)):
			next = (zin + zout) / 2
		case !haveOut && (dir*(next-zin) <= 0 || math.IsNaN(next)):
			// Newton points back at the estimate: step outward instead.
			next = zin + dir*math.Max(1, 2*math.Abs(zin-ci.zmle))
		}
		next = math.Max(-maxLogit, math.Min(maxLogit, next))
		if haveOut && math.Abs(zout-zin) < 1e-10 {
			return zout, true
		}
		if !haveOut && z == dir*maxLogit && g < 0 {
			return 0, false
		}
		z = next
	}
	if haveOut {
		return zout, true
	}
	return 0, false
}

// start is the root on side dir of the likelihood part of ln BF^±: ln B(a+h, b+c) − ln B(a, b) −
// ℓ(θ) + ln 2 − ln(1/α), with the posterior tail taken as 1 and the prior tail as ½. The log
// likelihood ℓ is concave, so Newton's method converges from a point past the root.
func (ci countInverter) start(dir float64) float64 {
	n := ci.h + ci.c
	k := ci.lbPost - ci.lbPrior + math.Ln2 - ci.target
	mle := ci.h / n
	// Start a little away from the estimate, where the derivative is not 0.
	th := mle + dir*0.5*math.Sqrt(mle*(1-mle)/n)
	th = math.Max(1e-12, math.Min(1-1e-12, th))
	for range 30 {
		g := k - ci.h*math.Log(th) - ci.c*math.Log1p(-th)
		dg := -ci.h/th + ci.c/(1-th)
		if dg == 0 {
			break
		}
		next := th - g/dg
		if (next-mle)*dir <= 0 {
			// Newton pointed back across the estimate (g > 0 near it): the start is far enough.
			break
		}
		if next <= 0 || next >= 1 {
			next = (th + math.Max(0, math.Min(1, next))) / 2
		}
		if math.Abs(next-th) < 1e-9*th {
			th = next
			break
		}
		th = next
	}
	z := logit(math.Max(1e-15, math.Min(1-1e-15, th)))
	if (z-ci.zmle)*dir <= 0 {
		z = ci.zmle + dir*0.1
	}
	return math.Max(-maxLogit, math.Min(maxLogit, z))
}

func logistic(z float64) float64 { return 1 / (1 + math.Exp(-z)) }

func logit(p float64) float64 { return math.Log(p / (1 - p)) }
