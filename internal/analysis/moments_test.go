package analysis

import (
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"pgregory.net/rapid"
)

func TestMomentsMatchTwoPassStatistics(t *testing.T) {
	tests := []struct {
		name string
		ys   []float64
	}{
		{"two units", []float64{1, 3}},
		{"proportions on units", []float64{0, 1, 0, 0, 1, 1, 0}},
		{"log latencies", []float64{4.1, 5.3, 4.8, 6.2, 5.0, 4.4}},
		{"large values with a small spread", []float64{1e6 + 1, 1e6 + 2, 1e6 + 3, 1e6 + 4}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var m Moments
			for _, y := range tt.ys {
				m.Add(y)
			}
			mean, variance := twoPass(tt.ys)
			assertClose(t, "mean", m.Mean(), mean, 1e-12)
			assertClose(t, "variance", m.Variance(), variance, 1e-6)
		})
	}
}

func TestRatioVarianceMatchesTheDeltaMethodOnRawUnits(t *testing.T) {
	ys := []float64{0, 2, 1, 0, 5, 0, 1, 3}
	xs := []float64{10, 40, 12, 3, 80, 7, 20, 33}
	var m Moments
	for i := range ys {
		m.AddRatio(ys[i], xs[i])
	}
	r, v := deltaRatio(ys, xs)
	assertClose(t, "R", m.Ratio(), r, 1e-12)
	assertClose(t, "Var(R)", m.RatioVariance(), v, 1e-9)
}

func TestMomentsWithoutEnoughUnitsAreUndefined(t *testing.T) {
	var m Moments
	if !math.IsNaN(m.Mean()) || !math.IsNaN(m.Variance()) || !math.IsNaN(m.Ratio()) || !math.IsNaN(m.RatioVariance()) {
		t.Errorf("empty moments gave mean %v, variance %v, ratio %v, ratio variance %v; want NaN", m.Mean(), m.Variance(), m.Ratio(), m.RatioVariance())
	}
	m.AddRatio(1, 2)
	if !math.IsNaN(m.Variance()) || !math.IsNaN(m.RatioVariance()) {
		t.Errorf("one unit gave variance %v and ratio variance %v; want NaN", m.Variance(), m.RatioVariance())
	}
}

func TestUnitOccurrenceCountsUnitsNotEvents(t *testing.T) {
	// Three units: one with 500 errors, one with 1, one with none.
	var m Moments
	events := []float64{0, 0, 0}
	for range 3 {
		m.Add(0)
	}
	add := func(unit int, n float64) {
		m.UpdateOccurrence(events[unit], n)
		events[unit] += n
	}
	for range 500 {
		add(0, 1)
	}
	add(1, 1)
	add(2, 0)
	want := Moments{N: 3, Sum: 2, SumSq: 2}
	if diff := cmp.Diff(want, m); diff != "" {
		t.Errorf("moments (-want +got):\n%s", diff)
	}
}

// event is one update of a unit in a generated stream.
type event struct {
	unit   int
	dy, dx float64
}

func genEvents(t *rapid.T, units int) []event {
	n := rapid.IntRange(0, 60).Draw(t, "events")
	evs := make([]event, n)
	for i := range evs {
		evs[i] = event{
			unit: rapid.IntRange(0, units-1).Draw(t, "unit"),
			dy:   float64(rapid.IntRange(-3, 20).Draw(t, "dy")),
			dx:   float64(rapid.IntRange(0, 30).Draw(t, "dx")),
		}
	}
	return evs
}

func TestDeltaUpdatesGiveTheSumsOfTheFinalValues(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		units := rapid.IntRange(1, 12).Draw(t, "units")
		evs := genEvents(t, units)
		ys, xs := make([]float64, units), make([]float64, units)
		var m Moments
		for range units {
			m.AddRatio(0, 0)
		}
		for _, e := range evs {
			m.UpdateRatio(ys[e.unit], xs[e.unit], e.dy, e.dx)
			ys[e.unit] += e.dy
			xs[e.unit] += e.dx
		}
		var want Moments
		for i := range ys {
			want.AddRatio(ys[i], xs[i])
		}
		if diff := cmp.Diff(want, m, cmpopts.EquateApprox(0, 1e-9)); diff != "" {
			t.Fatalf("delta-updated moments differ from recomputed ones (-want +got):\n%s", diff)
		}
	})
}

func TestMergingAnySplitOfUnitsGivesTheTotal(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(0, 50).Draw(t, "units")
		parts := rapid.IntRange(1, 5).Draw(t, "parts")
		var total Moments
		split := make([]Moments, parts)
		for i := range n {
			y := float64(rapid.IntRange(-50, 50).Draw(t, "y")) / 4
			x := float64(rapid.IntRange(0, 40).Draw(t, "x"))
			total.AddRatio(y, x)
			split[rapid.IntRange(0, parts-1).Draw(t, "part")].AddRatio(y, x)
			_ = i
		}
		var merged Moments
		for _, p := range rapid.Permutation(split).Draw(t, "order") {
			merged.Merge(p)
		}
		if diff := cmp.Diff(total, merged, cmpopts.EquateApprox(0, 1e-9)); diff != "" {
			t.Fatalf("merged moments differ from the total (-want +got):\n%s", diff)
		}
	})
}
