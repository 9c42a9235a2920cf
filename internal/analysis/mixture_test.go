package analysis

import (
	"math"
	"testing"

	"pgregory.net/rapid"
)

func TestMixtureHalfWidthIsWhereTheLikelihoodRatioReachesOneOverAlpha(t *testing.T) {
	tests := []struct {
		name          string
		v, tau, alpha float64
	}{
		{"a small variance and the default alpha", 1e-6, 0.005, 0.01},
		{"a variance equal to the mixing variance", 4e-4, 0.02, 0.01},
		{"a large variance and a loose alpha", 0.3, 0.1, 0.05},
		{"a tiny alpha from a Bonferroni split", 2e-5, 0.01, 0.01 / 616},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Reference: solve ln Λ(d) = ln(1/α) numerically on the closed-form Λ of the issue,
			// written out again here.
			lam := func(d float64) float64 {
				t2 := tt.tau * tt.tau
				return math.Log(math.Sqrt(tt.v/(tt.v+t2))*math.Exp(t2*d*d/(2*tt.v*(tt.v+t2)))) - math.Log(1/tt.alpha)
			}
			want := bisect(lam, 0, 100*math.Sqrt(tt.v)+10*tt.tau)
			assertClose(t, "half-width", MixtureHalfWidth(tt.v, tt.tau, tt.alpha), want, 1e-9)
			assertClose(t, "ln Λ at the bound", MixtureLogLR(want, tt.v, tt.tau), math.Log(1/tt.alpha), 1e-9)
		})
	}
}

func TestMixtureLogLRMatchesTheMixtureIntegral(t *testing.T) {
	// Λ = ∫ N(d; θ, V) / N(d; 0, V) · N(θ; 0, τ²) dθ, integrated numerically.
	tests := []struct {
		name      string
		d, v, tau float64
	}{
		{"no difference", 0, 1e-4, 0.02},
		{"a difference of two standard errors", 0.02, 1e-4, 0.02},
		{"a negative difference", -0.015, 4e-5, 0.01},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := func(th float64) float64 {
				logRatio := (tt.d*tt.d - (tt.d-th)*(tt.d-th)) / (2 * tt.v)
				return math.Exp(logRatio-th*th/(2*tt.tau*tt.tau)) / (tt.tau * math.Sqrt(2*math.Pi))
			}
			want := math.Log(simpson(f, -12*tt.tau, 12*tt.tau, 200000))
			assertClose(t, "ln Λ", MixtureLogLR(tt.d, tt.v, tt.tau), want, 1e-9)
		})
	}
}

func TestOneSidedMixtureLogLRMatchesTheHalfNormalIntegral(t *testing.T) {
	// Λ⁺ = ∫_{θ>0} N(x; θ, V)/N(x; 0, V) · 2 N(θ; 0, τ²) dθ.
	tests := []struct {
		name      string
		x, v, tau float64
	}{
		{"no harm", 0, 1e-4, 0.02},
		{"harm of three standard errors", 0.03, 1e-4, 0.02},
		{"a benefit, where Λ⁺ is small", -0.03, 1e-4, 0.02},
		{"latency on the log scale", 0.1, 0.36 / 200 * 2, math.Log(1.1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := func(th float64) float64 {
				logRatio := (tt.x*tt.x - (tt.x-th)*(tt.x-th)) / (2 * tt.v)
				return 2 * math.Exp(logRatio-th*th/(2*tt.tau*tt.tau)) / (tt.tau * math.Sqrt(2*math.Pi))
			}
			want := math.Log(simpson(f, 0, 14*tt.tau, 400000))
			assertClose(t, "ln Λ⁺", OneSidedMixtureLogLR(tt.x, tt.v, tt.tau), want, 1e-9)
		})
	}
}

func TestOneSidedBoundIsWhereLambdaPlusReachesOneOverAlpha(t *testing.T) {
	tests := []struct {
		name          string
		v, tau, alpha float64
	}{
		{"thumbs-up at a thousand units", 0.16 / 50, 0.02, 0.01},
		{"latency early in a stage", 0.36/50 + 0.36/950, math.Log(1.1), 0.01},
		{"a segment test with a tiny alpha", 1e-4, 0.02, 1e-7},
		{"a loose alpha", 1e-4, 0.02, 0.2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := bisect(func(x float64) float64 {
				return OneSidedMixtureLogLR(x, tt.v, tt.tau) - math.Log(1/tt.alpha)
			}, 0, 100*math.Sqrt(tt.v)+10*tt.tau)
			assertClose(t, "bound", OneSidedMixtureBound(tt.v, tt.tau, tt.alpha), want, 1e-9)
		})
	}
}

func TestOneSidedIsFasterThanTwoSided(t *testing.T) {
	for _, v := range []float64{1e-6, 1e-4, 1e-2} {
		if one, two := OneSidedMixtureBound(v, 0.02, 0.01), MixtureHalfWidth(v, 0.02, 0.01); !(one < two) {
			t.Errorf("V = %g: one-sided bound %g is not below the two-sided half-width %g", v, one, two)
		}
	}
}

func TestAsymptoticHalfWidthMatchesTheOneSampleFormula(t *testing.T) {
	// The one-sample form m ± s·sqrt(2(tρ²+1)/(t²ρ²) · ln(sqrt(tρ²+1)/α)), with s² = V·t.
	tests := []struct {
		name               string
		v, n, tStar, alpha float64
	}{
		{"at the planned size", 1e-4, 10000, 10000, 0.01},
		{"early", 1e-3, 500, 20000, 0.01},
		{"late", 1e-6, 1e6, 20000, 0.05},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := math.Sqrt(tt.v * tt.n)
			l := -2 * math.Log(tt.alpha)
			rho2 := (l + math.Log(l+1)) / tt.tStar
			want := s * math.Sqrt(2*(tt.n*rho2+1)/(tt.n*tt.n*rho2)*math.Log(math.Sqrt(tt.n*rho2+1)/tt.alpha))
			assertClose(t, "half-width", AsymptoticHalfWidth(tt.v, tt.n, tt.tStar, tt.alpha), want, 1e-12)
		})
	}
}

func TestLogNormalCDFIsAccurateInTheFarTail(t *testing.T) {
	for _, u := range []float64{-30, -30.1, -33, -36} {
		// erfc is still a normal float64 down to about −37: compare the two branches there.
		want := math.Log(0.5 * math.Erfc(-u/math.Sqrt2))
		assertClose(t, "ln Φ", logNormalCDF(u), want, 1e-12)
	}
	if v := logNormalCDF(-100); math.IsInf(v, 0) || math.IsNaN(v) || v > -5000 {
		t.Errorf("ln Φ(−100) = %v, want a finite value near −5005", v)
	}
}

func TestMixtureIntervalProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		v := rapid.Float64Range(1e-8, 1).Draw(t, "v")
		tau := rapid.Float64Range(1e-4, 1).Draw(t, "tau")
		alpha := rapid.Float64Range(1e-8, 0.4).Draw(t, "alpha")
		smaller := alpha * rapid.Float64Range(0.01, 0.99).Draw(t, "shrink")
		for _, w := range []func(a float64) float64{
			func(a float64) float64 { return MixtureHalfWidth(v, tau, a) },
			func(a float64) float64 { return OneSidedMixtureBound(v, tau, a) },
			func(a float64) float64 { return AsymptoticHalfWidth(v, 1000, 5000, a) },
		} {
			wide, narrow := w(smaller), w(alpha)
			if !(narrow > 0) {
				t.Fatalf("half-width %v at α %v is not positive", narrow, alpha)
			}
			if !(wide > narrow) {
				t.Fatalf("half-width at α %v is %v, not wider than %v at α %v", smaller, wide, narrow, alpha)
			}
		}
		// ln Λ⁺ grows with the harm.
		x1 := rapid.Float64Range(-5, 5).Draw(t, "x1") * math.Sqrt(v)
		x2 := x1 + rapid.Float64Range(1e-3, 5).Draw(t, "dx")*math.Sqrt(v)
		if !(OneSidedMixtureLogLR(x2, v, tau) > OneSidedMixtureLogLR(x1, v, tau)) {
			t.Fatalf("ln Λ⁺ is not increasing between %v and %v", x1, x2)
		}
	})
}
