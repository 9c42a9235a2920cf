package analysis

import (
	"errors"
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"
	"pgregory.net/rapid"
)

func TestHistogramBins(t *testing.T) {
	h, err := NewHistogram([]float64{0, 0.25, 0.5, 1})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		v    float64
		want int
	}{
		{"a value below the first edge goes to the first bin", -3, 0},
		{"the first edge is in the first bin", 0, 0},
		{"an inner edge starts its bin", 0.25, 1},
		{"a value inside the middle bin", 0.3, 1},
		{"the last edge is in the last bin", 1, 2},
		{"a value above the last edge goes to the last bin", 7, 2},
		{"NaN has no bin", math.NaN(), -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := h.Bin(tt.v); got != tt.want {
				t.Errorf("Bin(%v) = %d, want %d", tt.v, got, tt.want)
			}
		})
	}
	if h.Add(math.NaN()) {
		t.Error("Add(NaN) reported it counted the value")
	}
}

func TestNewHistogramRejectsBadEdges(t *testing.T) {
	for name, edges := range map[string][]float64{
		"a single edge":      {1},
		"edges out of order": {0, 2, 1},
		"a repeated edge":    {0, 1, 1},
		"a NaN edge":         {0, math.NaN()},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := NewHistogram(edges); err == nil {
				t.Errorf("NewHistogram(%v) accepted the edges", edges)
			}
		})
	}
}

func TestHistogramsMergeByAddingCounts(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		edges := []float64{0, 1, 2, 5, 10}
		whole, _ := NewHistogram(edges)
		a, _ := NewHistogram(edges)
		b, _ := NewHistogram(edges)
		for _, v := range rapid.SliceOf(rapid.Float64Range(-1, 12)).Draw(t, "values") {
			whole.Add(v)
			if rapid.Bool().Draw(t, "left") {
				a.Add(v)
			} else {
				b.Add(v)
			}
		}
		var merged Histogram
		for _, h := range []Histogram{a, b} {
			if err := merged.Merge(h); err != nil {
				t.Fatal(err)
			}
		}
		if diff := cmp.Diff(whole, merged); diff != "" {
			t.Fatalf("merged histogram differs (-whole +merged):\n%s", diff)
		}
	})
}

func TestMergingHistogramsWithOtherEdgesFails(t *testing.T) {
	a, _ := NewHistogram([]float64{0, 1, 2})
	b, _ := NewHistogram([]float64{0, 1, 3})
	if err := a.Merge(b); !errors.Is(err, ErrEdgesDiffer) {
		t.Errorf("Merge = %v, want ErrEdgesDiffer", err)
	}
	if _, err := PSI(a, b); !errors.Is(err, ErrEdgesDiffer) {
		t.Errorf("PSI = %v, want ErrEdgesDiffer", err)
	}
}

func TestPSIAndKSByHand(t *testing.T) {
	edges := []float64{0, 1, 2, 3}
	tr := Histogram{Edges: edges, Counts: []float64{10, 20, 70}}
	co := Histogram{Edges: edges, Counts: []float64{30, 30, 40}}
	// Smoothed shares: treatment (10.5, 20.5, 70.5)/101.5, control (30.5, 30.5, 40.5)/101.5.
	var want float64
	for i, tc := range []float64{10.5, 20.5, 70.5} {
		ti, ci := tc/101.5, []float64{30.5, 30.5, 40.5}[i]/101.5
		want += (ti - ci) * math.Log(ti/ci)
	}
	psi, err := PSI(tr, co)
	if err != nil {
		t.Fatal(err)
	}
	assertClose(t, "PSI", psi, want, 1e-12)
	// CDFs: treatment 0.1, 0.3, 1; control 0.3, 0.6, 1 → max gap 0.3.
	ks, _ := KS(tr, co)
	assertClose(t, "KS", ks, 0.3, 1e-12)
}

func TestDriftLevels(t *testing.T) {
	edges := []float64{0, 1, 2}
	tests := []struct {
		name   string
		tr, co []float64
		cfg    DriftConfig
		want   DriftLevel
	}{
		{"the same distribution is no drift", []float64{5000, 5000}, []float64{5000, 5000}, DriftConfig{}, DriftNone},
		{"a moderate shift warns", []float64{3300, 6700}, []float64{5000, 5000}, DriftConfig{}, DriftWarn},
		{"a large shift acts", []float64{2000, 8000}, []float64{5000, 5000}, DriftConfig{}, DriftAct},
		{"too few values per arm is not enough data", []float64{20, 80}, []float64{50, 50}, DriftConfig{}, DriftNotEnoughData},
		{"a lower minimum count lets small arms through", []float64{20, 80}, []float64{50, 50}, DriftConfig{MinCount: 10}, DriftAct},
		{"a higher warning threshold silences a moderate shift", []float64{3500, 6500}, []float64{5000, 5000}, DriftConfig{Warn: 0.2, Act: 0.3}, DriftNone},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Drift(Histogram{edges, tt.tr}, Histogram{edges, tt.co}, tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			if r.Level != tt.want {
				t.Errorf("level = %q (PSI %v), want %q", r.Level, r.PSI, tt.want)
			}
		})
	}
}

func TestDriftRejectsBadConfigAndHistograms(t *testing.T) {
	good := Histogram{[]float64{0, 1}, []float64{1}}
	if _, err := Drift(good, good, DriftConfig{Warn: 0.3, Act: 0.2}); err == nil {
		t.Error("warn above act was accepted")
	}
	if _, err := Drift(Histogram{[]float64{0, 1}, []float64{-1}}, good, DriftConfig{}); err == nil {
		t.Error("a negative count was accepted")
	}
	if _, err := Drift(Histogram{[]float64{0, 1}, nil}, good, DriftConfig{}); err == nil {
		t.Error("a histogram without counts was accepted")
	}
}

func TestPSIIsNonNegativeAndZeroForEqualShares(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		k := rapid.IntRange(1, 12).Draw(t, "bins")
		edges := make([]float64, k+1)
		for i := range edges {
			edges[i] = float64(i)
		}
		tc := make([]float64, k)
		cc := make([]float64, k)
		for i := range k {
			tc[i] = float64(rapid.IntRange(0, 1000).Draw(t, "t"))
			cc[i] = float64(rapid.IntRange(0, 1000).Draw(t, "c"))
		}
		psi, err := PSI(Histogram{edges, tc}, Histogram{edges, cc})
		if err != nil || psi < 0 {
			t.Fatalf("PSI = %v, %v; want ≥ 0", psi, err)
		}
		self, _ := PSI(Histogram{edges, tc}, Histogram{edges, tc})
		if self != 0 {
			t.Fatalf("PSI of a histogram against itself = %v", self)
		}
		ks, _ := KS(Histogram{edges, tc}, Histogram{edges, cc})
		if ks < 0 || ks > 1 {
			t.Fatalf("KS = %v, want in [0, 1]", ks)
		}
	})
}
