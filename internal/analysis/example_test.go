package analysis_test

import (
	"fmt"

	"github.com/ramp-release/ramp/internal/analysis"
)

// An error-rate guardrail at a 5 % ring: errors are counted on units, so each unit adds 0 and
// becomes 1 with its first error, however many follow.
func ExampleEvaluate() {
	errorRate := analysis.Metric{Name: "error rate", Kind: analysis.KindProportion, Direction: analysis.LowerIsBetter}

	var treatment, control analysis.Moments
	for unit := range 5000 {
		treatment.Add(0)
		if unit < 100 { // 2 % of treatment units see an error, some of them many
			treatment.UpdateOccurrence(0, 7)
		}
	}
	for unit := range 95000 {
		control.Add(0)
		if unit < 950 { // 1 % of control units
			control.UpdateOccurrence(0, 1)
		}
	}

	r, err := analysis.Evaluate(errorRate, analysis.Arms{
		Treatment: analysis.Stats{Moments: treatment},
		Control:   analysis.Stats{Moments: control},
	}, 0.05, 0.01)
	if err != nil {
		panic(err)
	}
	fmt.Printf("%s by %s: %.1f %% against %.1f %% (relative %+.0f %%), harm at least %.2f points\n",
		r.Status, r.Method, 100*r.Treatment.Mean, 100*r.Control.Mean, 100*r.Relative, 100*r.ExcessBounds.Lower)
	// Output: crossed by exact_count: 2.0 % against 1.0 % (relative +100 %), harm at least 0.31 points
}

// A per-unit value that grows event by event: the sums move by deltas, so any split of the events
// gives the same totals.
func ExampleMoments_Update() {
	var m analysis.Moments
	m.Add(0)       // a unit is exposed with no cost yet
	m.Update(0, 3) // an event adds 3 to its running total (0 → 3)
	m.Update(3, 2) // another adds 2 (3 → 5)
	m.Add(1)       // a second unit, with 1
	fmt.Println(m.N, m.Sum, m.SumSq, m.Mean())
	// Output: 2 6 26 3
}

// The α budget of a plan with six stages and four guardrails analysed in three dimensions.
func ExampleNewBudget() {
	b, err := analysis.NewBudget(analysis.BudgetSpec{Alpha: 0.01, Stages: 6, Metrics: 4, Dimensions: 3})
	if err != nil {
		panic(err)
	}
	fmt.Printf("per stage %.2g, per guardrail %.2g, overall test %.2g, each of %d segment tests %.2g\n",
		b.Stage, b.Metric, b.Total, b.SegmentTests, b.Segment)
	// Output: per stage 0.0017, per guardrail 0.00042, overall test 0.00021, each of 153 segment tests 1.4e-06
}
