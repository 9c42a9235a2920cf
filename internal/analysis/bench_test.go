package analysis

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// benchStage builds one rollout's stage at a 5 % ring with the four shipped guardrails (error rate,
// thumbs-up, ln latency, p95 exceedance), each overall and in 3 dimensions × 50 values, over the
// given number of units. Only the sums depend on the units; their number never reaches Analyze.
func benchStage(units float64) StageInput {
	r := rand.New(rand.NewPCG(1, 2))
	dims := []string{"country", "plan", "platform"}
	metrics := []Metric{
		{Name: "error rate", Kind: KindProportion, Direction: LowerIsBetter},
		{Name: "thumbs-up", Kind: KindProportion, Direction: HigherIsBetter},
		{Name: "latency", Kind: KindMean, Direction: LowerIsBetter, LogScale: true},
		{Name: "p95 latency", Kind: KindQuantile, Direction: LowerIsBetter, Tolerance: Tolerance{Relative, 0.15}},
	}
	arm := func(m Metric, n float64) Stats {
		var s Moments
		switch m.Kind {
		case KindProportion:
			p := 0.01
			if m.Direction == HigherIsBetter {
				p = 0.8
			}
			h := float64(int(n*p + r.NormFloat64()*0.1*n*p))
			s = Moments{N: n, Sum: h, SumSq: h}
		case KindMean:
			s = Moments{N: n, Sum: 5 * n, SumSq: (25 + 0.36) * n}
		case KindQuantile:
			req := 20 * n
			s = Moments{N: n, Sum: 0.05 * req, SumSq: 0.05 * req * 3, SumX: req, SumXSq: 500 * n, SumXY: 0.05 * req * 25}
		}
		return Stats{Moments: s}
	}
	armsFor := func(m Metric, n float64) Arms {
		return Arms{Treatment: arm(m, n*0.05), Control: arm(m, n*0.95)}
	}
	in := StageInput{
		Alpha: 0.01, Stages: 6, Dimensions: dims, TreatmentShare: 0.05,
		TreatmentUnits: units * 0.05, ControlUnits: units * 0.95,
	}
	for _, m := range metrics {
		md := MetricData{Metric: m, Total: armsFor(m, units), Segments: map[string]map[string]Arms{}}
		for _, d := range dims {
			vals := map[string]Arms{}
			for v := range 50 {
				vals[fmt.Sprintf("%s-%02d", d, v)] = armsFor(m, units/50)
			}
			md.Segments[d] = vals
		}
		in.Metrics = append(in.Metrics, md)
	}
	return in
}

// BenchmarkAnalyze is one rollout's analysis tick: 4 metrics × (total + 3 dimensions × 50 values),
// SRM included. Its cost must not depend on the number of units.
func BenchmarkAnalyze(b *testing.B) {
	for _, units := range []float64{1e3, 1e6, 1e7} {
		b.Run(fmt.Sprintf("units=%.0e", units), func(b *testing.B) {
			in := benchStage(units)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Analyze(in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkEvaluate is one test of each method.
func BenchmarkEvaluate(b *testing.B) {
	in := benchStage(1e6)
	for _, md := range in.Metrics {
		b.Run(md.Metric.Name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Evaluate(md.Metric, md.Total, 0.05, 0.01/48); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func TestBenchStageIsValid(t *testing.T) {
	for _, units := range []float64{1e3, 1e7} {
		rep, err := Analyze(benchStage(units))
		if err != nil {
			t.Fatal(err)
		}
		if n := len(rep.Metrics[0].Segments); n != 150 {
			t.Errorf("%v units: %d segment results per metric, want 150", units, n)
		}
	}
}
