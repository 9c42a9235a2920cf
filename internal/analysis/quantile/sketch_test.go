package quantile

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"pgregory.net/rapid"
)

func TestQuantilesAreWithinTheRelativeAccuracy(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	vals := make([]float64, 20000)
	var s Sketch
	for i := range vals {
		vals[i] = math.Exp(5.7 + 0.6*r.NormFloat64()) // log-normal latencies around 300 ms
		if err := s.Add(vals[i]); err != nil {
			t.Fatal(err)
		}
	}
	slices.Sort(vals)
	for _, q := range []float64{0.5, 0.9, 0.95, 0.99} {
		got, err := s.Quantile(q)
		if err != nil {
			t.Fatal(err)
		}
		// DDSketch's rank convention: the value at rank floor(q·(n−1)).
		want := vals[int(q*float64(len(vals)-1))]
		if math.Abs(got-want) > DefaultAccuracy*want*(1+1e-9) {
			t.Errorf("p%v = %v, want %v within %v %%", 100*q, got, want, 100*DefaultAccuracy)
		}
	}
}

func TestMergingAnySplitGivesTheWholeSketch(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		vals := rapid.SliceOfN(rapid.Float64Range(0.1, 1e5), 1, 300).Draw(t, "values")
		whole, _ := New(0.02)
		a, _ := New(0.02)
		b, _ := New(0.02)
		for _, v := range vals {
			_ = whole.Add(v)
			if rapid.Bool().Draw(t, "left") {
				_ = a.Add(v)
			} else {
				_ = b.Add(v)
			}
		}
		merged, _ := New(0.02)
		for _, p := range []*Sketch{b, a} {
			if err := merged.Merge(p); err != nil {
				t.Fatal(err)
			}
		}
		for _, q := range []float64{0, 0.5, 0.95, 1} {
			w, _ := whole.Quantile(q)
			m, _ := merged.Quantile(q)
			if w != m {
				t.Fatalf("q%v: merged %v, whole %v", q, m, w)
			}
		}
	})
}

func TestSketchesRoundTripThroughTheirEncoding(t *testing.T) {
	s, _ := New(0.005)
	for i := 1; i <= 1000; i++ {
		_ = s.AddWithCount(float64(i), 2)
	}
	b, err := s.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	var back Sketch
	if err := back.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	if back.Count() != 2000 || back.Accuracy() != s.Accuracy() {
		t.Errorf("decoded count %v, accuracy %v; want 2000, %v", back.Count(), back.Accuracy(), s.Accuracy())
	}
	w, _ := s.Quantile(0.95)
	g, _ := back.Quantile(0.95)
	if math.Abs(w-g) > 1e-9*w {
		t.Errorf("p95 after the round trip = %v, want %v", g, w)
	}
	if err := back.UnmarshalBinary([]byte{0xff, 0x01}); err == nil {
		t.Error("decoding garbage succeeded")
	}
}

func TestSketchErrors(t *testing.T) {
	var empty Sketch
	if _, err := empty.Quantile(0.5); !errors.Is(err, ErrEmpty) {
		t.Errorf("quantile of an empty sketch: %v, want ErrEmpty", err)
	}
	if _, err := New(0); err == nil {
		t.Error("New(0) accepted an accuracy of 0")
	}
	a, _ := New(0.01)
	b, _ := New(0.05)
	_ = b.Add(3)
	if err := a.Merge(b); err == nil {
		t.Error("merging sketches of different accuracies succeeded")
	}
	if err := a.Merge(&Sketch{}); err != nil {
		t.Errorf("merging an empty zero sketch: %v", err)
	}
}
