package analysis

import (
	"math"
	"strings"
	"testing"
)

func TestSRMPriorSizeOfOnePointAtFivePercentIs475(t *testing.T) {
	assertClose(t, "A", SRMPriorSize(0.05, 0.01), 475, 1e-12)
	if DefaultSRMPrior != 475 {
		t.Errorf("DefaultSRMPrior = %v, want 475 (STATISTICS.md shipped defaults)", DefaultSRMPrior)
	}
}

func TestSRMLogBFMatchesAPolyaUrn(t *testing.T) {
	tests := []struct {
		name   string
		counts []float64
		shares []float64
		prior  float64
	}{
		{"a healthy 5 % split", []float64{52, 948}, []float64{0.05, 0.95}, 475},
		{"a broken 5 % split", []float64{550, 9450}, []float64{0.05, 0.95}, 475},
		{"an even split with a small prior", []float64{480, 520}, []float64{0.5, 0.5}, 100},
		{"three arms", []float64{100, 120, 780}, []float64{0.1, 0.1, 0.8}, 100},
		{"an empty arm", []float64{0, 30}, []float64{0.05, 0.95}, 475},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := polyaLogBF(tt.counts, tt.shares, tt.prior)
			assertClose(t, "ln BF", SRMLogBF(tt.counts, tt.shares, tt.prior), want, 1e-9)
		})
	}
}

func TestCheckSRM(t *testing.T) {
	tests := []struct {
		name         string
		t, c, share  float64
		wantMismatch bool
	}{
		{"the planned split is no mismatch", 5000, 95000, 0.05, false},
		{"no units yet is no mismatch", 0, 0, 0.05, false},
		{"5.5 % of 100 000 units against a planned 5 % is a mismatch", 5500, 94500, 0.05, true},
		{"4.5 % of 100 000 units against a planned 5 % is a mismatch", 4500, 95500, 0.05, true},
		{"a 50 % ring a little off is no mismatch", 50100, 49900, 0.5, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := CheckSRM(tt.t, tt.c, tt.share, 0.01, 0)
			if err != nil {
				t.Fatal(err)
			}
			if r.Mismatch != tt.wantMismatch {
				t.Errorf("mismatch = %v (ln BF %v), want %v", r.Mismatch, r.LogBF, tt.wantMismatch)
			}
			if r.Prior != DefaultSRMPrior {
				t.Errorf("prior = %v, want the default %v", r.Prior, DefaultSRMPrior)
			}
			if got := r.LogBF >= math.Log(100); got != r.Mismatch {
				t.Errorf("mismatch %v disagrees with ln BF %v against ln 100", r.Mismatch, r.LogBF)
			}
		})
	}
}

func TestCheckSRMRejectsImpossibleInputs(t *testing.T) {
	tests := []struct {
		name               string
		t, c, share, alpha float64
		prior              float64
		want               string
	}{
		{"a share of 0", 1, 1, 0, 0.01, 0, "planned treatment share"},
		{"a share of 1", 1, 1, 1, 0.01, 0, "planned treatment share"},
		{"an alpha of 0", 1, 1, 0.5, 0, 0, "alpha"},
		{"a negative prior", 1, 1, 0.5, 0.01, -1, "prior"},
		{"negative units", -1, 1, 0.5, 0.01, 0, "negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := CheckSRM(tt.t, tt.c, tt.share, tt.alpha, tt.prior)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v, want one mentioning %q", err, tt.want)
			}
		})
	}
}

func TestMultipleExposureAboveOnePercentIsFlagged(t *testing.T) {
	tests := []struct {
		name     string
		multi    float64
		exceeded bool
	}{
		{"no unit in both arms", 0, false},
		{"exactly one percent", 1000, false},
		{"just above one percent", 1011, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// 99 000 single-arm units plus the multiply exposed ones.
			r := CheckMultipleExposure(tt.multi, 4950, 94050)
			if r.Exceeded != tt.exceeded {
				t.Errorf("exceeded = %v at share %v, want %v", r.Exceeded, r.Share, tt.exceeded)
			}
		})
	}
}
