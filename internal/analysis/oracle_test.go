package analysis

import (
	"math"
	"testing"
)

func TestWaldOracleReproducesTheStatisticsTable(t *testing.T) {
	// STATISTICS.md §3 at β = 0.1: KL per unit and E[N] rounded to whole units.
	tests := []struct {
		name   string
		kl     float64
		wantKL float64
		want01 float64
		want05 float64
	}{
		{"error rate 1.0 % → 1.5 %", KLBernoulli(0.015, 0.01), 0.001095, 3490, 2171},
		{"thumbs-up 0.80 → 0.76", KLBernoulli(0.76, 0.80), 0.004774, 800, 498},
		{"error 1 % → 2 % in one country", KLBernoulli(0.02, 0.01), 0.003914, 976, 607},
		{"latency +15 %, log-sd 0.6", KLNormal(math.Log(1.15), 0.6), 0.02713, 141, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if math.Abs(tt.kl-tt.wantKL) > 5e-7*math.Max(1, tt.wantKL*1000) {
				t.Errorf("KL = %.7f, want %.6f", tt.kl, tt.wantKL)
			}
			if got := math.Round(WaldExpectedN(0.01, 0.1, tt.kl)); got != tt.want01 {
				t.Errorf("E[N] at α 0.01 = %v, want %v", got, tt.want01)
			}
			if tt.want05 > 0 {
				if got := math.Round(WaldExpectedN(0.05, 0.1, tt.kl)); got != tt.want05 {
					t.Errorf("E[N] at α 0.05 = %v, want %v", got, tt.want05)
				}
			}
		})
	}
}

func TestWaldOracleForSegmentAndSRMScenarios(t *testing.T) {
	// Errors doubled in a country with 10 % of units, at α/11: 15 274 treatment units in total.
	if got := math.Round(10 * WaldExpectedN(0.01/11, 0.1, KLBernoulli(0.02, 0.01))); math.Abs(got-15274) > 1 {
		t.Errorf("segment oracle = %v, want 15 274", got)
	}
	// SRM 5.5 % against a planned 5 %, counting all units: 14 969.
	if got := WaldExpectedN(0.01, 0.1, KLBernoulli(0.055, 0.05)); math.Abs(got-14969) > 1 {
		t.Errorf("SRM oracle = %v, want 14 969", got)
	}
}
