package analysis

import "math"

// The oracle: Wald's sequential probability ratio test of a simple null against a simple alternative,
// with everything but the effect known, needs the fewest samples on average of any test with the same
// error rates. No test that must work for effects of unknown size reaches it; the ratio of a method's
// median sample at detection to the oracle's E[N] is how ramp measures its detection speed.

// WaldExpectedN is the oracle's expected sample size under the alternative,
//
//	E[N | H1] ≈ ((1−β) ln((1−β)/α) + β ln(β/(1−α))) / KL,
//
// for type-I error α, type-II error β and KL the Kullback–Leibler divergence per sample of the
// alternative from the null.
func WaldExpectedN(alpha, beta, kl float64) float64 {
	return ((1-beta)*math.Log((1-beta)/alpha) + beta*math.Log(beta/(1-alpha))) / kl
}

// KLBernoulli is KL(p1 ‖ p0) = p1 ln(p1/p0) + (1−p1) ln((1−p1)/(1−p0)) for proportions.
func KLBernoulli(p1, p0 float64) float64 {
	return xlogy(p1, p1/p0) + xlogy(1-p1, (1-p1)/(1-p0))
}

// KLNormal is Δ²/(2σ²), the divergence of a normal mean shift Δ with known standard deviation σ.
func KLNormal(delta, sigma float64) float64 {
	return delta * delta / (2 * sigma * sigma)
}
