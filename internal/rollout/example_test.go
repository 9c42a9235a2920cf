package rollout_test

import (
	"fmt"
	"time"

	"github.com/ramp-release/ramp/internal/rollout"
)

// The controller's loop: decide, apply, render — then persist, stream, notify, in
// that order. Here the analysis is made up: every guardrail is clear until the
// error rate crosses its tolerance at the 50 % ring.
func Example() {
	plan, err := rollout.Instantiate(rollout.TemplateProgressive24h, rollout.Plan{
		Name: "smart-reply", Flag: "smart-reply", Environment: "production", Treatment: "on", Control: "off",
	})
	if err != nil {
		panic(err)
	}
	if err := plan.Validate(rollout.ValidateOptions{}); err != nil {
		panic(err)
	}
	start := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	state, _, _ := rollout.NewState("r-42", start).Start(&plan, "alice", "ship smart replies", start)

	for now := start; !state.Status.Terminal(); now = now.Add(time.Hour) {
		errors := rollout.MetricResult{Metric: "error_rate", Verdict: rollout.Clear}
		if plan.Stages[state.Stage].Percent == 50 {
			errors = rollout.MetricResult{Metric: "error_rate", Verdict: rollout.Crossed, Summary: "+0.6 pp [+0.2, +1.0]"}
		}
		analysis := &rollout.Analysis{
			AsOf: now, Stage: state.Stage, EvidenceStart: state.EvidenceStart,
			Guardrails:     []rollout.MetricResult{errors, {Metric: "latency_p95", Verdict: rollout.Clear}},
			UnitsTreatment: 5000, UnitsControl: 5000,
		}
		d := rollout.Decide(&plan, state, analysis, nil, now)
		next, transition, err := state.Apply(&plan, d)
		if err != nil {
			panic(err)
		}
		if !transition.Changed() {
			continue // a hold: nothing to persist, stream or announce
		}
		rules := rollout.Render(&plan, next)
		// 1. persist next, the flag with rules installed (rollout.Install) and the
		//    audit entry (d.Reason, d.Evidence) in one transaction;
		// 2. stream the new flag version to the SDKs;
		// 3. notify (d.Alert says whether to page).
		last := rules[len(rules)-1].Metadata
		fmt.Printf("%s %-8s → %s (%s), catch-all arm %s\n", now.Format("15:04"), d.Action, next.Status, last[rollout.MetaStage], last[rollout.MetaArm])
		if d.Action == rollout.Rollback {
			fmt.Println(d.Reason)
		}
		state = next
	}
	// Output:
	// 12:00 advance  → running (ring-10), catch-all arm control
	// 15:00 advance  → running (ring-25), catch-all arm control
	// 21:00 advance  → running (ring-50), catch-all arm control
	// 22:00 rollback → rolled_back (ring-50), catch-all arm rolled_back
	// guardrail error_rate crossed: error_rate rose beyond its tolerance of 10 % relative; rolling back to "off" (+0.6 pp [+0.2, +1.0])
}
