package analysis

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestBudgetKeepsThePlansFamilyWiseAlpha(t *testing.T) {
	tests := []struct {
		name string
		spec BudgetSpec
		want Budget
	}{
		{
			"one metric without dimensions gets the whole stage's alpha",
			BudgetSpec{Alpha: 0.01, Stages: 1, Metrics: 1},
			Budget{Stage: 0.01, Metric: 0.01, Total: 0.01, SRM: 0.01},
		},
		{
			"four guardrails and three dimensions over six stages",
			BudgetSpec{Alpha: 0.01, Stages: 6, Metrics: 4, Dimensions: 3},
			Budget{
				Stage: 0.01 / 6, Metric: 0.01 / 24, Total: 0.01 / 48,
				SegmentTests: 153, Segment: 0.01 / 48 / 153, SRM: 0.01 / 6,
			},
		},
		{
			"an equal split gives every test the same alpha",
			BudgetSpec{Alpha: 0.01, Stages: 1, Metrics: 1, Dimensions: 1, TopValues: 10, TotalShare: 1.0 / 12},
			Budget{Stage: 0.01, Metric: 0.01, Total: 0.01 / 12, SegmentTests: 11, Segment: 0.01 / 12, SRM: 0.01},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := NewBudget(tt.spec)
			if err != nil {
				t.Fatal(err)
			}
			tt.want.BudgetSpec = got.BudgetSpec
			if diff := cmp.Diff(tt.want, got, cmpApprox); diff != "" {
				t.Errorf("budget (-want +got):\n%s", diff)
			}
			// Bonferroni: the α of every test of the plan adds up to at most the plan's α.
			spent := float64(got.Stages) * float64(max(got.Metrics, 1)) * (got.Total + float64(got.SegmentTests)*got.Segment)
			if spent > got.Alpha*(1+1e-12) {
				t.Errorf("the plan's tests spend %v, more than α = %v", spent, got.Alpha)
			}
		})
	}
}

var cmpApprox = cmp.Comparer(func(a, b float64) bool { return closeTo(a, b, 1e-12) })

func TestNewBudgetDefaultsAndErrors(t *testing.T) {
	b, err := NewBudget(BudgetSpec{Metrics: 2, Dimensions: 1})
	if err != nil {
		t.Fatal(err)
	}
	if b.Alpha != DefaultAlpha || b.Stages != 1 || b.TopValues != DefaultTopValues || b.TotalShare != DefaultTotalShare {
		t.Errorf("defaults not applied: %+v", b.BudgetSpec)
	}
	for _, spec := range []BudgetSpec{
		{Alpha: 0.6},
		{Stages: -1},
		{TotalShare: 1.5},
		{Metrics: 1, Dimensions: 1, TotalShare: 1},
	} {
		if _, err := NewBudget(spec); err == nil {
			t.Errorf("NewBudget(%+v) accepted an impossible split", spec)
		}
	}
}

// propArms returns a proportion's arms with the given units and units with the outcome.
func propArms(nt, ht, nc, hc float64) Arms {
	return Arms{
		Treatment: Stats{Moments: Moments{N: nt, Sum: ht, SumSq: ht}},
		Control:   Stats{Moments: Moments{N: nc, Sum: hc, SumSq: hc}},
	}
}

// stage builds a stage at a 5 % ring with an error-rate guardrail broken down by country, where
// the countries in harmed have twice control's error rate in treatment.
func stage(countries int, harmed map[string]bool) StageInput {
	segs := map[string]Arms{}
	var total Arms
	for i := range countries {
		name := fmt.Sprintf("c%03d", i)
		units := float64(20000 - 10*i) // a strict order by units
		nt, nc := units*0.05, units*0.95
		ht := nt * 0.01
		if harmed[name] {
			ht = nt * 0.04
		}
		a := propArms(nt, math.Round(ht), nc, math.Round(nc*0.01))
		segs[name] = a
		mergeArms(&total, a)
	}
	return StageInput{
		Alpha: 0.01, Stages: 6, Dimensions: []string{"country", "plan"},
		TreatmentShare: 0.05, TreatmentUnits: total.Treatment.Moments.N, ControlUnits: total.Control.Moments.N,
		Metrics: []MetricData{{
			Metric:   Metric{Name: "errors", Kind: KindProportion, Direction: LowerIsBetter},
			Total:    total,
			Segments: map[string]map[string]Arms{"country": segs},
		}},
	}
}

func TestAnalyzeFoldsValuesBeyondTheTopIntoOther(t *testing.T) {
	in := stage(60, nil)
	in.TopValues = 50
	rep, err := Analyze(in)
	if err != nil {
		t.Fatal(err)
	}
	segs := rep.Metrics[0].Segments
	if len(segs) != 51 {
		t.Fatalf("got %d segment results, want 50 values and other", len(segs))
	}
	if segs[0].Segment.Value != "c000" || segs[49].Segment.Value != "c049" || segs[50].Segment.Value != OtherValue {
		t.Errorf("segment order: first %q, 50th %q, last %q; want c000, c049, other", segs[0].Segment.Value, segs[49].Segment.Value, segs[50].Segment.Value)
	}
	var want Moments
	for i := 50; i < 60; i++ {
		want.Merge(in.Metrics[0].Segments["country"][fmt.Sprintf("c%03d", i)].Treatment.Moments)
	}
	if got := segs[50].Treatment.Units; got != want.N {
		t.Errorf("other has %v treatment units, want the %v of the ten smallest values", got, want.N)
	}
	for _, s := range segs {
		if s.Alpha != rep.Budget.Segment {
			t.Fatalf("segment %q got α %v, the budget says %v", s.Segment.Value, s.Alpha, rep.Budget.Segment)
		}
	}
	if rep.Metrics[0].Total.Alpha != rep.Budget.Total {
		t.Errorf("the overall test got α %v, the budget says %v", rep.Metrics[0].Total.Alpha, rep.Budget.Total)
	}
}

func TestAnalyzeFindsARegressionInOneSegment(t *testing.T) {
	rep, err := Analyze(stage(10, map[string]bool{"c003": true}))
	if err != nil {
		t.Fatal(err)
	}
	want := []Finding{{Metric: "errors", Segment: Segment{Dimension: "country", Value: "c003"}}}
	if diff := cmp.Diff(want, rep.Summary.Crossed); diff != "" {
		t.Errorf("crossed tests (-want +got):\n%s", diff)
	}
	if !rep.Summary.AnyCrossed || rep.Summary.AllClear {
		t.Errorf("summary = %+v, want a crossing and not all clear", rep.Summary)
	}
}

func TestAnalyzeOfAHealthyStage(t *testing.T) {
	in := stage(10, nil)
	in.Metrics = append(in.Metrics,
		MetricData{
			Metric: Metric{Name: "thumbs-up", Kind: KindProportion, Direction: HigherIsBetter, Tolerance: Tolerance{Absolute, 0.02}},
			Total:  propArms(10000, 8000, 190000, 152000),
		},
		MetricData{
			Metric: Metric{Name: "scores", Kind: KindDistribution, Direction: LowerIsBetter},
			Total: Arms{
				Treatment: Stats{Histogram: Histogram{[]float64{0, 0.5, 1}, []float64{5000, 5000}}},
				Control:   Stats{Histogram: Histogram{[]float64{0, 0.5, 1}, []float64{50000, 50000}}},
			},
		},
	)
	rep, err := Analyze(in)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Summary.AnyCrossed || rep.Summary.SampleRatioMismatch || rep.Summary.MultipleExposure {
		t.Errorf("summary = %+v, want nothing wrong", rep.Summary)
	}
	if rep.Budget.Metrics != 2 {
		t.Errorf("budget counts %d tested metrics, want 2 (drift is not a test)", rep.Budget.Metrics)
	}
	if got := rep.Metrics[1].Total.Status; got != Clear {
		t.Errorf("thumbs-up at the control's rate with a 2-point tolerance: %q, want clear", got)
	}
	if rep.Summary.AllClear {
		t.Error("all clear although the error rate (tolerance 0) cannot show non-inferiority")
	}
	if rep.Metrics[2].Drift == nil || rep.Summary.Drift != DriftNone {
		t.Errorf("drift = %v, summary drift %q; want none", rep.Metrics[2].Drift, rep.Summary.Drift)
	}
	if _, err := json.Marshal(rep); err != nil {
		t.Errorf("the report does not encode as JSON: %v", err)
	}
}

func TestAnalyzeFlagsABrokenSplit(t *testing.T) {
	in := stage(3, nil)
	in.TreatmentUnits, in.ControlUnits = 5600, 94400
	in.MultiExposedUnits = 2000
	rep, err := Analyze(in)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Summary.SampleRatioMismatch || !rep.Summary.MultipleExposure {
		t.Errorf("summary = %+v, want SRM and multiple exposure", rep.Summary)
	}
	if rep.SRM.Alpha != rep.Budget.SRM {
		t.Errorf("SRM tested at %v, budget says %v", rep.SRM.Alpha, rep.Budget.SRM)
	}
}

func TestAnalyzeRejectsInvalidInput(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*StageInput)
		want   string
	}{
		{"an invalid metric", func(in *StageInput) { in.Metrics[0].Metric.Kind = "median" }, "metrics[0]"},
		{"a metric named twice", func(in *StageInput) { in.Metrics = append(in.Metrics, in.Metrics[0]) }, "used twice"},
		{"a dimension the plan does not declare", func(in *StageInput) { in.Dimensions = []string{"plan"} }, `dimension "country"`},
		{"a planned share of 0", func(in *StageInput) { in.TreatmentShare = 0 }, "share"},
		{"a plan alpha of 0.7", func(in *StageInput) { in.Alpha = 0.7 }, "alpha"},
		{"mismatched drift bins", func(in *StageInput) {
			in.Metrics = append(in.Metrics, MetricData{
				Metric: Metric{Name: "d", Kind: KindDistribution, Direction: LowerIsBetter},
				Total: Arms{
					Treatment: Stats{Histogram: Histogram{[]float64{0, 1}, []float64{1}}},
					Control:   Stats{Histogram: Histogram{[]float64{0, 2}, []float64{1}}},
				},
			})
		}, "different bin edges"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := stage(3, nil)
			tt.modify(&in)
			_, err := Analyze(in)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v, want one mentioning %q", err, tt.want)
			}
		})
	}
}
