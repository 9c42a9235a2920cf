package sim

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	yaml "go.yaml.in/yaml/v3"

	"github.com/ramp-release/ramp/flags"
	"github.com/ramp-release/ramp/internal/analysis"
	"github.com/ramp-release/ramp/internal/rollout"
)

// shortPlan is a plan whose runs last a few virtual hours: three rings, four
// guardrails acting on any harm, advancing on time.
func shortPlan() rollout.Plan {
	return rollout.Plan{
		Name: "short", AdvanceOn: rollout.OnTime,
		Stages: []rollout.Stage{
			{Name: "ring-5", Percent: 5, MinDuration: rollout.Duration(12 * time.Hour)},
			{Name: "ring-50", Percent: 50, MinDuration: rollout.Duration(3 * time.Hour)},
			{Name: "ring-100", Percent: 100, MinDuration: rollout.Duration(time.Hour)},
		},
		Guardrails: []rollout.Guardrail{
			{Metric: "error_rate", Direction: rollout.Increase},
			{Metric: "latency", Direction: rollout.Increase},
			{Metric: "thumbs_up_rate", Direction: rollout.Decrease, Action: rollout.Pause},
			{Metric: "support_tickets_per_user", Direction: rollout.Increase},
		},
	}
}

func newSim(t *testing.T, cfg Config) *Sim {
	t.Helper()
	if cfg.Traffic.UnitsPerTick == 0 {
		cfg.Traffic = DefaultTraffic()
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func scenario(t *testing.T, name string) Scenario {
	t.Helper()
	sc, ok := BuiltinScenario(name)
	if !ok {
		t.Fatalf("no scenario %q", name)
	}
	return sc
}

func TestTheSameSeedGivesTheSameRun(t *testing.T) {
	for _, name := range []string{"aa", "error", "srm"} {
		t.Run(name, func(t *testing.T) {
			s := newSim(t, Config{Plan: shortPlan(), Scenario: scenario(t, name)})
			a, err := s.Run(7)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := s.Run(7)
			if diff := cmp.Diff(a, b); diff != "" {
				t.Errorf("two runs with seed 7 differ (-first +second):\n%s", diff)
			}
			c, _ := s.Run(8)
			if cmp.Equal(a, c) {
				t.Errorf("seeds 7 and 8 gave the same run: %+v", a)
			}
		})
	}
}

func TestRunManyDoesNotDependOnTheWorkers(t *testing.T) {
	s := newSim(t, Config{Plan: shortPlan(), Scenario: scenario(t, "thumbs")})
	one, err := s.RunMany(context.Background(), 6, 3, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	calls := 0
	two, err := s.RunMany(context.Background(), 6, 3, 2, func(int) { calls++ })
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(one, two); diff != "" {
		t.Errorf("1 and 2 workers differ (-1 +2):\n%s", diff)
	}
	if calls != 6 {
		t.Errorf("progress called %d times for 6 runs", calls)
	}
}

// assignmentPlans are plans exercising every kind of rule Render writes.
func assignmentPlans() map[string]rollout.Plan {
	ai, _ := rollout.Template(rollout.TemplateAIStandard)
	full := ai
	full.Salt = "smart-reply-2026"
	full.HoldoutPercent = 5
	full.Exclusions = []rollout.Exclusion{{Segment: "enterprise", UntilStage: "ring-25"}, {Segment: "pro", UntilStage: ""}}
	full.Stages = []rollout.Stage{
		{Name: "alpha", Segments: []string{"internal"}, SegmentPercent: 20},
		{Name: "beta", Segments: []string{"beta"}, SegmentPercent: 50},
		{Name: "eu-5", Percent: 5, Regions: &rollout.Regions{Attribute: "region", Values: []string{"eu"}}},
		{Name: "br-25", Percent: 25, Regions: &rollout.Regions{Attribute: "region", Values: []string{"eu", "latam"}}},
		{Name: "ring-25", Percent: 25},
		{Name: "ring-100", Percent: 100},
	}
	countries := ai
	countries.Stages = []rollout.Stage{
		{Name: "au-kr", Percent: 10, Regions: &rollout.Regions{Attribute: "country", Values: []string{"AU", "KR"}}},
		{Name: "all", Percent: 100},
	}
	return map[string]rollout.Plan{"ai-standard": ai, "holdout, exclusions, regions, salt": full, "countries": countries}
}

func TestFastAssignmentEqualsFlagEvaluation(t *testing.T) {
	tr := DefaultTraffic()
	for name, p := range assignmentPlans() {
		t.Run(name, func(t *testing.T) {
			s := newSim(t, Config{Plan: p, Scenario: scenario(t, "aa")})
			plan := s.Plan()
			var states []rollout.State
			for i := range plan.Stages {
				states = append(states, rollout.State{RolloutID: "r", Status: rollout.Running, Stage: i})
			}
			states = append(states,
				rollout.State{RolloutID: "r", Status: rollout.Paused, Stage: 1},
				rollout.State{RolloutID: "r", Status: rollout.Completed, Stage: len(plan.Stages) - 1},
				rollout.State{RolloutID: "r", Status: rollout.RolledBack, Stage: 2},
				rollout.NewState("r", DefaultStart))
			pop := newPopulation(&tr)
			a := newAssigner(plan, &tr, false)
			for _, st := range states {
				if err := a.render(st); err != nil {
					t.Fatal(err)
				}
				if !a.fast {
					t.Fatalf("state %s/%d: the rendered rules have a condition the fast path does not know", st.Status, st.Stage)
				}
				r := newRand(uint64(st.Stage) + 100*uint64(len(st.Status)))
				treatedUnits := 0
				for range 4000 {
					u := pop.unit(r)
					res := a.evaluateFlag(&u)
					if res.ErrorCode != flags.ErrNone {
						t.Fatalf("evaluate: %s", res.ErrorMessage)
					}
					if got := a.fastRuleID(&u); got != res.RuleID {
						t.Fatalf("state %s/%d, unit %s %+v: fast path matched rule %q, the evaluator %q", st.Status, st.Stage, u.Key(), u, got, res.RuleID)
					}
					ft, farm, err := a.assign(&u)
					if err != nil {
						t.Fatal(err)
					}
					rt, rarm, _ := a.evaluate(&u)
					if ft != rt || farm != rarm {
						t.Fatalf("state %s/%d, unit %s: fast (treated %v, arm %d), evaluator (treated %v, arm %d)", st.Status, st.Stage, u.Key(), ft, farm, rt, rarm)
					}
					if ft {
						treatedUnits++
					}
				}
				t.Logf("state %s/%d: %d of 4000 units treated", st.Status, st.Stage, treatedUnits)
			}
		})
	}
}

func TestRealEvaluationGivesTheSameRuns(t *testing.T) {
	fast := newSim(t, Config{Plan: shortPlan(), Scenario: scenario(t, "error")})
	real := newSim(t, Config{Plan: shortPlan(), Scenario: scenario(t, "error"), RealEvaluation: true})
	for seed := range uint64(3) {
		a, err := fast.Run(seed)
		if err != nil {
			t.Fatal(err)
		}
		b, err := real.Run(seed)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(a, b); diff != "" {
			t.Errorf("seed %d: the fast path and the evaluator differ (-fast +evaluator):\n%s", seed, diff)
		}
	}
}

// TestDesignShareIsTheRenderedShare checks that the planned treatment share the
// analysis is given (π, from stageDesign) is the share the rendered rules treat
// among the units the stage compares.
func TestDesignShareIsTheRenderedShare(t *testing.T) {
	tr := DefaultTraffic()
	for name, p := range assignmentPlans() {
		s := newSim(t, Config{Plan: p, Scenario: scenario(t, "aa")})
		plan := s.Plan()
		pop := newPopulation(&tr)
		a := newAssigner(plan, &tr, false)
		r := newRand(42)
		for i := range plan.Stages {
			if err := a.render(rollout.State{RolloutID: "r", Status: rollout.Running, Stage: i}); err != nil {
				t.Fatal(err)
			}
			if !a.ok {
				continue
			}
			if a.design.holdoutControl && (len(plan.Exclusions) > 0 || i > 0 && len(plan.Stages[0].Segments) > 0) {
				// Known bug, reported: at a 100 % stage compared with the holdout, the
				// holdout rule (first in Render's block) also catches excluded and
				// earlier-stage segment members, which count as control while their
				// peers never reach the ring's treatment rule. The arms are then
				// different populations and the treated share is below π.
				t.Logf("%s, stage %s: skipped (holdout control includes excluded and retained segments)", name, plan.Stages[i].Name)
				continue
			}
			var nT, n float64
			for range 60000 {
				u := pop.unit(r)
				_, arm, _ := a.assign(&u)
				if arm == armTreatment {
					nT++
				}
				if arm != notCompared {
					n++
				}
			}
			pi := a.design.share
			sd := math.Sqrt(n * pi * (1 - pi))
			if n < 100 || math.Abs(nT-n*pi) > 5*sd+1 {
				t.Errorf("%s, stage %s: %v of %v compared units treated; π = %v", name, plan.Stages[i].Name, nT, n, pi)
			}
		}
	}
}

func TestAnInjectedRegressionIsDetectedAndAnAARunMostlyIsNot(t *testing.T) {
	const runs = 16
	ctx := context.Background()
	errors := scenario(t, "error")
	errors.Effect.Size = 1 // 1 % → 2 %: caught within the 12-hour 5 % ring
	for _, tt := range []struct {
		scenario Scenario
		stop     Stop
		test     string
	}{
		{errors, StopRolledBack, "error_rate"},
		{scenario(t, "thumbs"), StopPausedGuardrail, "thumbs_up_rate"},
		{scenario(t, "latency"), StopRolledBack, "latency"},
		{scenario(t, "srm"), StopPausedSRM, "srm"},
	} {
		s := newSim(t, Config{Plan: shortPlan(), Scenario: tt.scenario})
		res, err := s.RunMany(ctx, runs, 11, 2, nil)
		if err != nil {
			t.Fatal(err)
		}
		sum := s.Summarize(res)
		if sum.Ramp.Fired < runs-2 || sum.Outcomes[tt.stop] < runs-2 || sum.Triggers[tt.test] < runs-2 {
			t.Errorf("%s: ramp fired in %d of %d runs; outcomes %v, triggers %v", tt.scenario.Name, sum.Ramp.Fired, runs, sum.Outcomes, sum.Triggers)
		}
		if sum.Blast.N != runs || !(sum.Blast.Median > 0) || sum.Ramp.Delay.N != sum.Ramp.Fired {
			t.Errorf("%s: blast radius %+v, delays %+v", tt.scenario.Name, sum.Blast, sum.Ramp.Delay)
		}
	}
	s := newSim(t, Config{Plan: shortPlan(), Scenario: scenario(t, "aa")})
	res, err := s.RunMany(ctx, runs, 12, 2, nil)
	if err != nil {
		t.Fatal(err)
	}
	sum := s.Summarize(res)
	if sum.Ramp.Fired > 1 || sum.Outcomes[StopCompleted] < runs-1 || sum.Reached < runs-1 {
		t.Errorf("A/A: %d false alarms in %d runs; outcomes %v, %d reached 100 %%", sum.Ramp.Fired, runs, sum.Outcomes, sum.Reached)
	}
	// Completion takes the stages' minimum durations: 12 h + 3 h + 1 h.
	if got := time.Duration(sum.Complete.Median); got != 16*time.Hour {
		t.Errorf("A/A runs completed after %v, want 16h", got)
	}
	// The threshold check rolls back healthy features: at a 5 % ring, 50 treatment
	// units a tick with 1 % errors exceed 1.5 × control's rate in ~40 % of ticks.
	if sum.Threshold == nil || sum.Threshold.Fired < runs/2 {
		t.Errorf("the threshold check fired in %+v A/A runs; it should in most", sum.Threshold)
	}
}

func TestObservingHoldsTheStageUntilEveryDetectorFired(t *testing.T) {
	s := newSim(t, Config{Plan: shortPlan(), Scenario: scenario(t, "error"), Observe: true, Horizon: 7 * 24 * time.Hour})
	for seed := range uint64(3) {
		r, err := s.Run(seed)
		if err != nil {
			t.Fatal(err)
		}
		if !r.Ramp.Fired || !r.ZTest.Fired || !r.Threshold.Fired {
			t.Fatalf("seed %d: ramp %+v, z-test %+v, threshold %+v", seed, r.Ramp, r.ZTest, r.Threshold)
		}
		for _, d := range []Detection{r.Ramp, r.ZTest, r.Threshold} {
			if d.Stage != "ring-5" {
				t.Errorf("seed %d: a detector fired in %s; observing holds ring-5", seed, d.Stage)
			}
		}
	}
}

func TestZTestOnHandCheckedArms(t *testing.T) {
	prop := func(n, k float64) analysis.Stats {
		return analysis.Stats{Moments: analysis.Moments{N: n, Sum: k, SumSq: k}}
	}
	errRate := analysis.Metric{Name: "e", Kind: analysis.KindProportion, Direction: analysis.LowerIsBetter}
	arms := analysis.Arms{Treatment: prop(100, 20), Control: prop(100, 10)}
	// s_T² = (20 − 20²/100)/99 = 16/99, s_C² = 9/99: V = 0.25/99, z = 0.1/√V = 1.98997.
	tests := []struct {
		name    string
		m       analysis.Metric
		arms    analysis.Arms
		alpha   float64
		z       float64
		crossed bool
	}{
		{"significant at α 5 % (z ≥ 1.95996)", errRate, arms, 0.05, 1.98997487, true},
		{"not at α 4 % (z < 2.05375)", errRate, arms, 0.04, 1.98997487, false},
		{"a relative tolerance of 50 % tests m_T − 1.5 m_C: 0.05 / √(16/9900 + 2.25·9/9900)",
			func() analysis.Metric {
				m := errRate
				m.Tolerance = analysis.Tolerance{Kind: analysis.Relative, Value: 0.5}
				return m
			}(),
			arms, 0.05, 0.82629, false},
		{"higher is better: the treatment is better, z is negative",
			func() analysis.Metric { m := errRate; m.Direction = analysis.HigherIsBetter; return m }(), arms, 0.05, -1.98997487, false},
		{"fewer than 30 units per arm are not tested", errRate, analysis.Arms{Treatment: prop(29, 20), Control: prop(100, 10)}, 0.05, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			z, crossed := ZTest(tt.m, tt.arms, tt.alpha)
			if math.Abs(z-tt.z) > 1e-4 || crossed != tt.crossed {
				t.Errorf("z = %v, crossed %v; want %v, %v", z, crossed, tt.z, tt.crossed)
			}
		})
	}
}

func TestThresholdCheckNeedsThreeFailedTicksInARow(t *testing.T) {
	var th Threshold
	ticks := []struct {
		errT, nT, errC, nC float64
		fires              bool
	}{
		{2, 50, 5, 950, false},  // 4 % > 1.5 × 0.53 %: failure 1
		{1, 50, 10, 950, false}, // 2 % > 1.58 %: failure 2
		{0, 50, 9, 950, false},  // passes: the count restarts
		{1, 50, 9, 950, false},  // failure 1
		{0, 0, 9, 950, false},   // no treatment units: nothing checked
		{1, 50, 9, 950, false},  // failure 2
		{1, 50, 12, 950, true},  // 2 % > 1.89 %: failure 3, it fires
	}
	for i, tk := range ticks {
		if got := th.Check(tk.errT, tk.nT, tk.errC, tk.nC); got != tk.fires {
			t.Errorf("tick %d: fired %v, want %v", i, got, tk.fires)
		}
	}
	th.Reset()
	if th.Check(1, 50, 0, 950) {
		t.Error("one failure after a reset fired")
	}
}

func TestOracleTestsTheGuardrailsHypothesis(t *testing.T) {
	four := loadPlan(t, "testdata/four-guardrails.yaml")
	s := newSim(t, Config{Plan: four, Scenario: scenario(t, "error")})
	o, ok := s.Oracle()
	b := s.Budget()
	if want := analysis.WaldExpectedN(b.Total, OracleBeta, analysis.KLBernoulli(0.015, 0.01)); !ok || math.Abs(o.Units-want) > 1e-9 || o.Alpha != b.Total {
		t.Errorf("error oracle %+v, want E[N] %v at α %v", o, want, b.Total)
	}
	// At α = 0.01 the same formula gives STATISTICS.md §3's 3 490.
	if got := analysis.WaldExpectedN(0.01, OracleBeta, analysis.KLBernoulli(0.015, 0.01)); math.Round(got) != 3490 {
		t.Errorf("oracle at α 0.01 = %v, want 3 490", got)
	}
	seg := newSim(t, Config{Plan: four, Scenario: scenario(t, "segment")})
	if o, ok := seg.Oracle(); !ok || o.Alpha != b.Segment || o.Test != "error_rate@country=BR" ||
		math.Abs(o.Units-analysis.WaldExpectedN(b.Segment, OracleBeta, 0.10*analysis.KLBernoulli(0.02, 0.01))) > 1e-6 {
		t.Errorf("segment oracle %+v", o)
	}
	ai, _ := rollout.Template(rollout.TemplateAIStandard)
	// ai-standard's error_rate tolerates +10 %: the oracle's null is 1.1 %.
	s = newSim(t, Config{Plan: ai, Scenario: scenario(t, "error")})
	if o, ok := s.Oracle(); !ok || math.Abs(o.Units-analysis.WaldExpectedN(s.Budget().Total, OracleBeta, analysis.KLBernoulli(0.015, 0.011))) > 1e-6 {
		t.Errorf("ai-standard error oracle %+v", o)
	}
	// Its latency_p95 tolerates +15 %: a +15 % latency is no harm by its definition.
	s = newSim(t, Config{Plan: ai, Scenario: scenario(t, "latency")})
	if o, ok := s.Oracle(); ok || o.Note == "" {
		t.Errorf("ai-standard latency oracle %+v, %v: want none, with a note", o, ok)
	}
	if _, ok := newSim(t, Config{Plan: four, Scenario: scenario(t, "drift")}).Oracle(); ok {
		t.Error("a drift has an oracle")
	}
}

func TestClopperPearson(t *testing.T) {
	for _, tt := range []struct {
		k, n   int
		lo, hi float64
	}{
		{0, 10, 0, 0.30849710},
		{5, 10, 0.18708603, 0.81291397},
		{2, 1000, 0.00024225, 0.00720325},
	} {
		lo, hi := ClopperPearson(tt.k, tt.n)
		if math.Abs(lo-tt.lo) > 1e-5 || math.Abs(hi-tt.hi) > 1e-5 {
			t.Errorf("CP(%d, %d) = [%v, %v], want [%v, %v]", tt.k, tt.n, lo, hi, tt.lo, tt.hi)
		}
	}
}

func TestPlansThatCannotBeSimulatedSaySo(t *testing.T) {
	p := shortPlan()
	p.Stages[0].Segments = []string{"vip"}
	if _, err := New(Config{Plan: p, Traffic: DefaultTraffic(), Scenario: scenario(t, "aa")}); err == nil {
		t.Error("a plan with an unknown segment was accepted")
	}
	p = shortPlan()
	p.Guardrails[0].Metric = "frobnication"
	if _, err := New(Config{Plan: p, Traffic: DefaultTraffic(), Scenario: scenario(t, "aa")}); err == nil {
		t.Error("a plan with an unknown metric was accepted")
	}
	sc := scenario(t, "error")
	sc.Onset.Stage = "ring-7"
	if _, err := New(Config{Plan: shortPlan(), Traffic: DefaultTraffic(), Scenario: sc}); err == nil {
		t.Error("an onset at an unknown stage was accepted")
	}
	// The ecommerce template's metrics are not built in; they are simulated as the
	// built-in ones their names suggest.
	eco, _ := rollout.Template(rollout.TemplateEcommerce)
	s := newSim(t, Config{Plan: eco, Scenario: scenario(t, "aa")})
	if len(s.Notes()) != 3 {
		t.Errorf("notes %q", s.Notes())
	}
}

func TestTheDocumentedPlanIsTheTestdataPlan(t *testing.T) {
	doc, err := os.ReadFile("../../docs/simulate.md")
	if err != nil {
		t.Skip("docs/simulate.md:", err)
	}
	plan, err := os.ReadFile("testdata/four-guardrails.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !containsBlock(string(doc), string(plan)) {
		t.Error("docs/simulate.md does not show testdata/four-guardrails.yaml as it is; copy it into the page again")
	}
}

func loadPlan(t *testing.T, path string) rollout.Plan {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := yaml.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	js, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var p rollout.Plan
	if err := flags.DecodeJSON(js, &p); err != nil {
		t.Fatal(err)
	}
	return p
}
