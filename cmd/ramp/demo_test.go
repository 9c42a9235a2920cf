package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ramp-release/ramp/internal/audit"
	"github.com/ramp-release/ramp/internal/rollout"
	"github.com/ramp-release/ramp/internal/store"
	"github.com/ramp-release/ramp/internal/store/sqlite"
)

func TestParseDemoRegression(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     *demoRegression
	}{
		{"an error regression from ring 25", "error_rate=+60%@ring:25",
			&demoRegression{Metric: "error_rate", Effect: 0.6, Onset: "ring-25"}},
		{"a regression confined to one country", "error_rate=+100%@ring:10 segment:country=BR",
			&demoRegression{Metric: "error_rate", Effect: 1, Onset: "ring-10", Attribute: "country", Value: "BR"}},
		{"a regression without an onset starts at once", "latency_p95=+40%",
			&demoRegression{Metric: "latency_p95", Effect: 0.4}},
		{"an unsigned effect is an increase", "support_tickets_per_user=150%@beta",
			&demoRegression{Metric: "support_tickets_per_user", Effect: 1.5, Onset: "beta"}},
		{"thumbs-up regresses when it falls", "thumbs_up_rate=-10%@ring-5 segment:plan=enterprise",
			&demoRegression{Metric: "thumbs_up_rate", Effect: -0.1, Onset: "ring-5", Attribute: "plan", Value: "enterprise"}},
		{"latency and tickets_per_user are aliases", "latency=+20%@alpha",
			&demoRegression{Metric: "latency_p95", Effect: 0.2, Onset: "alpha"}},
		{"extra spaces are fine", "  error_rate=+60%@ring:25   segment:platform=ios ",
			&demoRegression{Metric: "error_rate", Effect: 0.6, Onset: "ring-25", Attribute: "platform", Value: "ios"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseDemoRegression(tc.in)
			if err != nil {
				t.Fatalf("parseDemoRegression(%q): %v", tc.in, err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("parseDemoRegression(%q) (-want +got):\n%s", tc.in, diff)
			}
		})
	}
}

func TestParseDemoRegressionSaysWhatIsWrong(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
	}{
		{"empty", "  ", "empty; write METRIC=EFFECT@STAGE"},
		{"no effect at all", "error_rate", `"error_rate" has no '='; write METRIC=EFFECT@STAGE, e.g. error_rate=+60%@ring:25`},
		{"an unknown metric", "cpu=+10%@ring:25", `unknown metric "cpu"; use error_rate, latency_p95, thumbs_up_rate or support_tickets_per_user`},
		{"an effect without a percent sign", "error_rate=+60@ring:25", `effect "+60": write a relative change in percent, e.g. +60%`},
		{"an effect that is not a number", "error_rate=lots%", `effect "lots%": write a relative change in percent`},
		{"a zero effect", "error_rate=0%@ring:25", "effect 0% changes nothing; leave --regression out"},
		{"an error rate that falls is no regression", "error_rate=-20%", "effect -20% would improve error_rate, which gets worse when it rises: write +20%"},
		{"a thumbs-up rate that rises is no regression", "thumbs_up_rate=+10%", "effect +10% would improve thumbs_up_rate, which gets worse when it falls: write -10%"},
		{"a rate cannot fall by more than all of it", "thumbs_up_rate=-150%", "thumbs_up_rate cannot fall by more than 100%"},
		{"an absurd effect", "error_rate=+5000%", "is above +1000%"},
		{"a ring the plan does not have", "error_rate=+60%@ring:30", `stage "ring:30": the demo plan's rings are 1, 5, 10, 25, 50 and 100 (write ring:25)`},
		{"an unknown stage", "error_rate=+60%@gamma", `unknown stage "gamma" after '@'; use alpha, beta or ring:N`},
		{"two onsets", "error_rate=+60%@ring:25@ring:50", `"@ring:25@ring:50": give one stage after '@'`},
		{"a stray word", "error_rate=+60%@ring:25 BR", `unexpected "BR" after the effect; only segment:ATTRIBUTE=VALUE may follow`},
		{"a segment without a value", "error_rate=+60%@ring:25 segment:country", `segment "country": write segment:ATTRIBUTE=VALUE, e.g. segment:country=BR`},
		{"a segment on an attribute that is not analysed", "error_rate=+60%@ring:25 segment:city=Paris", `segment attribute "city": use country, plan or platform`},
		{"a country the users do not come from", "error_rate=+60%@ring:25 segment:country=XX", "segment country=XX: the demo's users have country US, BR, IN"},
		{"two segments", "error_rate=+60%@ring:25 segment:country=BR segment:plan=pro", `"segment:plan=pro": give one segment`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseDemoRegression(tc.in)
			if err == nil {
				t.Fatalf("parseDemoRegression(%q) = %+v, want an error containing %q", tc.in, got, tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("parseDemoRegression(%q) error:\n  %v\nwant it to contain:\n  %s", tc.in, err, tc.want)
			}
		})
	}
}

func TestTheDemoClockRunsCompressedBehindTheWallClock(t *testing.T) {
	c := newDemoClock(3600, 2*time.Minute)
	now := c.Now()
	if !now.Before(time.Now()) {
		t.Errorf("the demo clock is at %s, not behind the wall clock", now)
	}
	if !c.origin.Equal(c.origin.Truncate(24*time.Hour)) || c.origin.After(time.Now().Add(-2*time.Minute*3599)) {
		t.Errorf("the demo clock starts at %s; want a midnight UTC at least 2 min × 3599 before now", c.origin)
	}
	if got := c.toReal(time.Hour); got != time.Second {
		t.Errorf("an hour at speed 3600 takes %s of real time, want 1s", got)
	}
}

// demoRun runs the demo in-process on a fresh store and returns its report, what
// it printed and the store's directory.
func demoRun(t *testing.T, o demoOptions) (*demoReport, string, string) {
	t.Helper()
	o.dataDir = filepath.Join(t.TempDir(), "demo")
	var out bytes.Buffer
	rep, err := runDemo(context.Background(), &out, o)
	if err != nil {
		t.Fatalf("runDemo: %v\n%s", err, out.String())
	}
	t.Logf("the demo printed:\n%s", out.String())
	return rep, out.String(), o.dataDir
}

// CLARIFICATIONS §30: the demo's rollback is the controller's, on the analysis'
// evidence, and its audit entry says so.
func TestTheDemoRollsBackARegressionAndItsAuditEntryCitesTheEvidence(t *testing.T) {
	reg, err := parseDemoRegression("error_rate=+300%@ring:5")
	if err != nil {
		t.Fatal(err)
	}
	// A strong regression and a fast clock keep the run short: detection is expected
	// at ring-5 or ring-10.
	rep, out, dir := demoRun(t, demoOptions{speed: 7200, duration: 25 * time.Second, users: 8000, seed: 7, reg: reg})
	if rep.Status != rollout.RolledBack {
		t.Fatalf("the rollout ended %s at %s, want rolled_back", rep.Status, rep.Stage)
	}
	template, _ := rollout.Template(rollout.TemplateAIStandard)
	if template.StageIndex(rep.Stage) < template.StageIndex("ring-5") {
		t.Errorf("rolled back at %s, before the regression's onset at ring-5", rep.Stage)
	}
	for _, want := range []string{"⟲ ROLLBACK", "alert received by the Slack webhook", "Rolled back: smart-reply in production",
		"trigger    error_rate crossed", "hash chain intact"} {
		if !strings.Contains(out, want) {
			t.Errorf("the demo did not print %q", want)
		}
	}
	if len(rep.Alerts) == 0 || !strings.Contains(rep.Alerts[len(rep.Alerts)-1], "Rolled back") {
		t.Errorf("the local Slack receiver got %q, want the rollback's alert", rep.Alerts)
	}

	// The store itself, read after the demo: the rollback's audit entry.
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "ramp.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	entries, err := st.ListAudit(ctx, store.AuditFilter{Target: "rollout:" + rep.RolloutID, Action: "rollout.rollback"})
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Fatalf("%d rollback audit entries, want 1", len(entries))
	}
	e := entries[0]
	if e.Actor != rollout.ControllerActor || !strings.Contains(e.Reason, "guardrail error_rate crossed") {
		t.Errorf("the rollback's audit entry is by %q for %q; want the controller, citing the guardrail", e.Actor, e.Reason)
	}
	var after struct {
		Decision store.RolloutDecision `json:"decision"`
	}
	if err := json.Unmarshal(e.After, &after); err != nil {
		t.Fatalf("the audit entry's after: %v\n%s", err, e.After)
	}
	ev := after.Decision.Evidence
	if ev == nil || ev.Trigger == nil {
		t.Fatalf("the rollback's audit entry records no trigger:\n%s", e.After)
	}
	if ev.Trigger.Metric != "error_rate" || ev.Trigger.Verdict != rollout.Crossed || !strings.Contains(ev.Trigger.Summary, "units") {
		t.Errorf("the trigger is %+v; want error_rate crossed, with the estimate and its units", *ev.Trigger)
	}
	if ev.UnitsTreatment == 0 || ev.UnitsControl == 0 || len(ev.Guardrails) != 4 || ev.StageName != rep.Stage {
		t.Errorf("the evidence has %d treatment and %d control units, %d guardrails, stage %q; want units in both arms, the 4 guardrails, stage %q",
			ev.UnitsTreatment, ev.UnitsControl, len(ev.Guardrails), ev.StageName, rep.Stage)
	}
	all, err := st.AllAudit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := audit.Verify(all); err != nil {
		t.Errorf("the audit chain: %v", err)
	}
}

func TestTheDemoWithoutARegressionReachesEveryone(t *testing.T) {
	rep, out, _ := demoRun(t, demoOptions{speed: 10_000, duration: 25 * time.Second, users: 3000, seed: 3})
	if rep.Status != rollout.Completed || rep.Stage != "ring-100" {
		t.Fatalf("the rollout ended %s at %s, want completed at ring-100", rep.Status, rep.Stage)
	}
	for _, want := range []string{"▶ start     alpha", "⬆ advance   beta", "⬆ advance   ring-100", "✔ complete  ring-100",
		"Completed: smart-reply in production", "outcome       completed"} {
		if !strings.Contains(out, want) {
			t.Errorf("the demo did not print %q", want)
		}
	}
	if strings.Contains(out, "ROLLBACK") || strings.Contains(out, "PAUSE") {
		t.Errorf("a healthy treatment was stopped")
	}
}
