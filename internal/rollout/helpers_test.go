package rollout

import (
	"testing"
	"time"

	"github.com/ramp-release/ramp/flags"
)

// t0 is a Monday, 10:00 UTC.
var t0 = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

// testPlan is a small valid plan: alpha (segment internal), ring 10 % with an
// approval, ring 100 %.
func testPlan() *Plan {
	return &Plan{
		Name:        "smart-reply",
		Flag:        "smart-reply",
		Environment: "production",
		Treatment:   "on",
		Control:     "off",
		Stages: []Stage{
			{Name: "alpha", Segments: []string{"internal"}, MinDuration: hour, MinUnitsPerArm: 100, MaxDuration: day},
			{Name: "ring-10", Percent: 10, MinDuration: hour, MinUnitsPerArm: 100, RequireApproval: true, MaxDuration: day},
			{Name: "ring-100", Percent: 100, MinDuration: hour},
		},
		Guardrails: []Guardrail{
			{Metric: "error_rate", Direction: Increase, Tolerance: Amount{Relative: 0.1}, Action: Rollback},
			{Metric: "thumbs_up", Direction: Decrease, Tolerance: Amount{Absolute: 0.02}, Action: Pause},
		},
	}
}

func mustValidate(t testing.TB, p *Plan) *Plan {
	t.Helper()
	if err := p.Validate(ValidateOptions{}); err != nil {
		t.Fatalf("plan does not validate: %v", err)
	}
	return p
}

// running returns a rollout that entered stage i at start.
func running(i int, start time.Time) State {
	return State{RolloutID: "r1", Status: Running, Stage: i, StageStarted: start, EvidenceStart: start, Since: start}
}

// clearAnalysis is fresh data at now for stage i: everything clear, units plenty.
func clearAnalysis(p *Plan, s State, now time.Time) *Analysis {
	a := &Analysis{AsOf: now, Stage: s.Stage, EvidenceStart: s.EvidenceStart, UnitsTreatment: 1_000_000, UnitsControl: 1_000_000}
	for _, g := range p.Guardrails {
		a.Guardrails = append(a.Guardrails, MetricResult{Metric: g.Metric, Verdict: Clear})
	}
	for _, g := range p.Gates {
		a.Gates = append(a.Gates, MetricResult{Metric: g.Metric, Verdict: Clear})
	}
	return a
}

func goodApproval(stage int, at time.Time) Approval {
	return Approval{RolloutID: "r1", Stage: stage, Approver: "bob", ApproverRole: RoleReleaseManager, Requester: "alice", At: at}
}

// testFlag is the flag a test plan rolls out, with a user rule forcing QA on.
func testFlag() *flags.Flag {
	return &flags.Flag{
		Key:      "smart-reply",
		Type:     flags.TypeBool,
		Variants: map[string]any{"on": true, "off": false},
		Enabled:  true,
		Rules: []flags.Rule{{
			ID:         "qa",
			Conditions: []flags.Condition{{Attribute: "key", Op: flags.OpEquals, Value: "qa-user"}},
			Serve:      flags.Allocation{Variant: "on"},
		}},
		Default: &flags.Allocation{Variant: "off"},
	}
}
