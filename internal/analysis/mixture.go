package analysis

import "math"

// This file holds the normal-mixture sequential probability ratio test (mSPRT) of Johari, Koomen,
// Pekelis and Walsh, "Always valid inference", Operations Research 2022, in its two-sided form and
// the one-sided (harmful-side) form. d is an estimated difference, v its squared standard error and
// tau the standard deviation of the normal mixing distribution over the true difference.

// MixtureLogLR is ln Λ of the two-sided normal-mixture likelihood ratio against "difference = 0":
//
//	ln Λ = ½ ln(V / (V + τ²)) + τ² d² / (2 V (V + τ²))
//
// Λ ≥ 1/α rejects d = 0 with type-I error ≤ α at every sample size.
func MixtureLogLR(d, v, tau float64) float64 {
	t2 := tau * tau
	return 0.5*math.Log(v/(v+t2)) + t2*d*d/(2*v*(v+t2))
}

// MixtureHalfWidth is the half-width of the two-sided always-valid confidence interval
// d ± sqrt( V (V + τ²) / τ² · (2 ln(1/α) + ln((V + τ²) / V)) ): the set of differences that
// MixtureLogLR does not reject at level α.
func MixtureHalfWidth(v, tau, alpha float64) float64 {
	t2 := tau * tau
	return math.Sqrt(v * (v + t2) / t2 * (2*math.Log(1/alpha) + math.Log((v+t2)/v)))
}

// OneSidedMixtureLogLR is ln Λ⁺, the mixture likelihood ratio whose mixing distribution is the
// half-normal on the harmful side, for x = harm (positive when the treatment is worse):
//
//	ln Λ⁺ = ln 2 + ½ ln(V / (V + τ²)) + τ² x² / (2 V (V + τ²)) + ln Φ(x τ / sqrt(V (V + τ²)))
//
// Λ⁺ ≥ 1/α shows harm (x > 0) at level α, anytime; it ignores the beneficial side, which makes it
// faster than the two-sided test for guardrails.
func OneSidedMixtureLogLR(x, v, tau float64) float64 {
	u := x * tau / math.Sqrt(v*(v+tau*tau))
	return math.Ln2 + 0.5*math.Log(v/(v+tau*tau)) + u*u/2 + logNormalCDF(u)
}

// OneSidedMixtureBound is the margin c of the one-sided always-valid bound: x − c is an anytime
// lower confidence bound for the harm x at level α (and x + c the mirrored upper bound). It solves
// OneSidedMixtureLogLR(c, v, tau) = ln(1/α); ln Λ⁺ is increasing in x, so "x − c > 0" and
// "Λ⁺(x) ≥ 1/α" are the same decision.
func OneSidedMixtureBound(v, tau, alpha float64) float64 {
	s := math.Sqrt(v * (v + tau*tau))
	// In u = x τ / s: u²/2 + ln Φ(u) = K.
	k := math.Log(1/alpha) - math.Ln2 - 0.5*math.Log(v/(v+tau*tau))
	return solveHalfNormalMixture(k) * s / tau
}

// solveHalfNormalMixture returns u with f(u) = u²/2 + ln Φ(u) = k. f is increasing and convex
// (its derivative u + φ/Φ is positive and its second derivative in (0, 1)), so Newton's method from a point right of the root converges
// monotonically.
func solveHalfNormalMixture(k float64) float64 {
	if k <= -math.Ln2 {
		// f(0) = −ln 2; the root is at u ≤ 0. Bisection on [−L, 0] is enough for this rare case
		// (α ≥ 1/2 only).
		lo, hi := -40.0, 0.0
		for range 200 {
			mid := (lo + hi) / 2
			if mid*mid/2+logNormalCDF(mid) < k {
				lo = mid
			} else {
				hi = mid
			}
		}
		return (lo + hi) / 2
	}
	// ln Φ(u) ≥ −ln 2 for u ≥ 0, so f(sqrt(2(k+ln 2))) ≥ k: start right of the root. Here u > 0, so Φ
	// is in (½, 1) and needs no log-space care.
	u := math.Sqrt(2 * (k + math.Ln2))
	for range 50 {
		phi := 0.5 * math.Erfc(-u/math.Sqrt2)
		f := u*u/2 + math.Log(phi) - k
		fp := u + math.Exp(-u*u/2)/(math.Sqrt(2*math.Pi)*phi)
		step := f / fp
		u -= step
		if math.Abs(step) <= 1e-13*u {
			break
		}
	}
	return u
}

// AsymptoticHalfWidth is the half-width of the asymptotic confidence sequence of Waudby-Smith,
// Arbour, Sinha, Kennedy and Ramdas ("Time-uniform central limit theory and asymptotic confidence
// sequences", Annals of Statistics 2024), with the plug-in s²/t → V for a two-arm difference:
//
//	sqrt( V · 2 (t ρ² + 1) / (t ρ²) · ln( sqrt(t ρ² + 1) / α ) ),  ρ² = (−2 ln α + ln(−2 ln α + 1)) / t*
//
// t is the number of units seen (both arms) and tStar the planned number where the sequence is
// tightest.
func AsymptoticHalfWidth(v, t, tStar, alpha float64) float64 {
	l := -2 * math.Log(alpha)
	rho2 := (l + math.Log(l+1)) / tStar
	tr := t * rho2
	return math.Sqrt(v * 2 * (tr + 1) / tr * math.Log(math.Sqrt(tr+1)/alpha))
}

// logNormalPDF is ln φ(u).
func logNormalPDF(u float64) float64 {
	return -u*u/2 - 0.5*math.Log(2*math.Pi)
}

// logNormalCDF is ln Φ(u), accurate far into the lower tail where Φ underflows.
func logNormalCDF(u float64) float64 {
	if u > -30 {
		return math.Log(0.5 * math.Erfc(-u/math.Sqrt2))
	}
	// Mills-ratio expansion: Φ(u) = φ(u)/|u| · (1 − 1/u² + 3/u⁴ − 15/u⁶ + 105/u⁸ − …).
	z := 1 / (u * u)
	series := 1 - z*(1-3*z*(1-5*z*(1-7*z)))
	return logNormalPDF(u) - math.Log(-u) + math.Log(series)
}
