package rollout

import (
	"math"
	"strings"
	"testing"
	"time"
)

// sizingPlan has one 5 % ring to size (the 100 % stage has no control) and one
// guardrail, so the per-test α is the plan's α = 0.01.
func sizingPlan() *Plan {
	return &Plan{
		Flag: "f", Environment: "production", Treatment: "on", Control: "off",
		Stages: []Stage{
			{Name: "ring-5", Percent: 5, MinDuration: 4 * hour, MinUnitsPerArm: 1000, MaxDuration: 2 * day},
			{Name: "ring-100", Percent: 100},
		},
		Guardrails: []Guardrail{{Metric: "error_rate", Kind: Proportion, Direction: Increase, Harm: Amount{Relative: 0.5}, Baseline: 0.01}},
	}
}

func TestSizeMatchesTheNormalApproximationByHand(t *testing.T) {
	p := mustValidate(t, sizingPlan())
	sz := p.Size(0, 1000)
	// z_{0.99} + z_{0.80} from tables; error 1 % → 1.5 %, π = 5 %.
	z := 2.3263478740408408 + 0.8416212335729143
	varT, varC, pi, delta := 0.015*0.985, 0.01*0.99, 0.05, 0.005
	wantT := math.Ceil(z * z * (varT + varC*pi/(1-pi)) / (delta * delta))
	wantC := math.Ceil(wantT * (1 - pi) / pi)
	if sz.Treatment != int64(wantT) || sz.Control != int64(wantC) || sz.Metric != "error_rate" {
		t.Errorf("Size = %d/%d on %s, want %v/%v", sz.Treatment, sz.Control, sz.Metric, wantT, wantC)
	}
	if sz.Treatment != 6141 {
		t.Errorf("treatment units %d, want 6141", sz.Treatment)
	}
	if sz.Alpha != 0.01 || sz.TreatmentShare != 0.05 {
		t.Errorf("alpha %v, share %v", sz.Alpha, sz.TreatmentShare)
	}
	// 6141 treatment units at 5 % of 1000 units/h.
	if want := Duration((time.Duration(6141.0 / 50 * float64(time.Hour))).Round(time.Minute)); sz.Expected != want {
		t.Errorf("Expected = %s, want %s", sz.Expected, want)
	}
	for _, want := range []string{"min_units_per_arm 1000 is below the 6141", "min_duration 4h is shorter than the ~5d2h49m", "max_duration 2d", "to catch +50 % on error_rate with 80 % power"} {
		if !strings.Contains(strings.Join(sz.Warnings, "\n"), want) {
			t.Errorf("warnings lack %q:\n%s", want, strings.Join(sz.Warnings, "\n"))
		}
	}
}

func TestSizeSplitsAlphaOverStagesAndGuardrails(t *testing.T) {
	p := sizingPlan()
	p.HoldoutPercent = 5
	p.Guardrails = append(p.Guardrails, Guardrail{Metric: "latency", Kind: Mean, Direction: Increase, Tolerance: Amount{Absolute: 10}, Harm: Amount{Absolute: 30}, SD: 200})
	mustValidate(t, p)
	sz := p.Size(1, 0)
	// Two stages with a control (the 100 % stage is compared with the holdout) × two guardrails.
	if math.Abs(sz.Alpha-0.01/4) > 1e-15 || sz.TreatmentShare != 0.95 {
		t.Errorf("alpha %v share %v", sz.Alpha, sz.TreatmentShare)
	}
	z := zQuantile(1-0.0025) + zQuantile(0.8)
	want := math.Ceil(z * z * (200*200 + 200*200*0.95/0.05) / (20 * 20))
	if got := sz.PerMetric[1].Treatment; got != int64(want) {
		t.Errorf("latency needs %d, want %v", got, want)
	}
	if sz.Expected != 0 {
		t.Error("expected time without traffic")
	}
}

func TestSizeSaysWhatItCannotSize(t *testing.T) {
	tests := []struct {
		name string
		edit func(p *Plan)
		want string
	}{
		{"a guardrail without harm", func(p *Plan) { p.Guardrails[0].Harm = Amount{} }, "give the smallest harm"},
		{"a proportion without baseline", func(p *Plan) { p.Guardrails[0].Baseline = 0 }, "give control's expected value"},
		{"a mean without sd", func(p *Plan) { p.Guardrails[0].Kind = Mean; p.Guardrails[0].Baseline = 200 }, "standard deviation"},
		{"a plan without guardrails", func(p *Plan) { p.Guardrails = nil }, "no guardrails"},
		{"a harm below the tolerance", func(p *Plan) { p.Guardrails[0].Tolerance = Amount{Relative: 0.6} }, "does not exceed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := sizingPlan()
			tt.edit(p)
			sz := p.Size(0, 100)
			if sz.Treatment != 0 || !strings.Contains(strings.Join(sz.Warnings, "\n"), tt.want) {
				t.Errorf("Size = %d, warnings %v", sz.Treatment, sz.Warnings)
			}
		})
	}
	p := sizingPlan()
	if sz := p.Size(1, 100); !strings.Contains(strings.Join(sz.Warnings, ""), "no control") {
		t.Errorf("100 %% stage: %v", sz.Warnings)
	}
	if sz := p.Size(5, 100); len(sz.Warnings) == 0 {
		t.Error("no warning for a missing stage")
	}
}

func TestSizeStagesSizesEveryStageAtItsTraffic(t *testing.T) {
	p := mustValidate(t, sizingPlan())
	p.Guardrails[0].Kind = "" // proportions are the default kind
	p.Guardrails[0].Direction = Decrease
	p.Guardrails[0].Harm = Amount{Absolute: 0.005}
	all := p.SizeStages(func(i int) float64 { return 1000 * float64(i+1) })
	if len(all) != 2 || all[0].UnitsPerHour != 1000 || all[1].UnitsPerHour != 2000 || all[0].Treatment == 0 {
		t.Errorf("SizeStages = %+v", all)
	}
	if none := p.SizeStages(nil); none[0].Expected != 0 {
		t.Error("expected time without traffic")
	}
	// A long enough stage gets no duration warning.
	p.Stages[0].MinDuration = 7 * day
	p.Stages[0].MaxDuration = 0
	p.Stages[0].MinUnitsPerArm = 0
	if sz := p.Size(0, 1000); len(sz.Warnings) != 0 || sz.Expected != 7*day {
		t.Errorf("warnings %v, expected %s", sz.Warnings, sz.Expected)
	}
}

func TestTheTemplatesSizeTheirErrorGuardrail(t *testing.T) {
	p, _ := Instantiate(TemplateAIStandard, Plan{Flag: "f", Environment: "e", Treatment: "on", Control: "off"})
	sz := p.Size(p.StageIndex("ring-5"), 10_000)
	if sz.Treatment == 0 || sz.Metric == "" {
		t.Errorf("ai-standard ring-5 not sized: %+v", sz)
	}
}
