package report_test

import (
	"encoding/json"
	"time"

	"github.com/ramp-release/ramp/internal/ingest"
	"github.com/ramp-release/ramp/internal/report"
	"github.com/ramp-release/ramp/internal/rollout"
	"github.com/ramp-release/ramp/internal/store"
)

// t0 is a Monday, 09:00 UTC.
var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

func at(h, m int) time.Time { return t0.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute) }

// fixture builds a report's input by hand: decisions as the controller logs them
// and analysis points as package ingest records them.
type fixture struct {
	in  report.Input
	seq int64
}

func (f *fixture) decide(when time.Time, actor, kind string, from, to int, reason string, ev *rollout.Evidence, holds ...rollout.HoldReason) {
	f.seq++
	fromStatus, toStatus := rollout.Running, rollout.Running
	switch kind {
	case "start":
		fromStatus = rollout.Draft
	case "pause":
		toStatus = rollout.Paused
	case "resume":
		fromStatus = rollout.Paused
	case "complete":
		toStatus = rollout.Completed
	case "rollback":
		toStatus = rollout.RolledBack
	}
	f.in.Decisions = append(f.in.Decisions, store.RolloutDecision{Seq: f.seq, RolloutID: f.in.Rollout.ID, At: when, Actor: actor, Kind: kind,
		From: fromStatus, To: toStatus, FromStage: from, ToStage: to, Reason: reason, Holds: holds, Evidence: ev, AuditSeq: 100 + f.seq})
}

func (f *fixture) point(when time.Time, stage int, nt, nc float64, ms ...ingest.PointMetric) {
	p := ingest.Point{At: when, Stage: stage, AsOf: when.Add(-time.Minute), UnitsTreatment: nt, UnitsControl: nc, Metrics: ms}
	data, err := json.Marshal(p)
	if err != nil {
		panic(err)
	}
	f.in.Points = append(f.in.Points, store.AnalysisPoint{RolloutID: f.in.Rollout.ID, At: when, Stage: stage, Data: data})
}

func fp(x float64) *float64 { return &x }

// pm is one metric of a point: role, status, the arms' means and the difference
// with its bounds, and the units per arm.
func pm(metric, role, status string, t, c, lo, hi, nt, nc float64, crossedIn ...string) ingest.PointMetric {
	name := metric
	if role == ingest.RoleGate {
		name = "gate:" + metric
	}
	return ingest.PointMetric{Name: name, Metric: metric, Role: role, Status: status, Treatment: fp(t), Control: fp(c),
		Diff: fp(t - c), Lower: fp(lo), Upper: fp(hi), NT: nt, NC: nc, Crossed: crossedIn}
}

var fixtureMetrics = map[string]store.MetricDefinition{
	"error_rate":     {Key: "error_rate", Kind: "proportion", Direction: "lower_is_better"},
	"latency":        {Key: "latency", Kind: "mean", Direction: "lower_is_better", Transform: "log"},
	"thumbs_up_rate": {Key: "thumbs_up_rate", Kind: "proportion", Direction: "higher_is_better"},
	"conversion":     {Key: "conversion", Kind: "proportion", Direction: "higher_is_better"},
}

func fixturePlan() rollout.Plan {
	hour := rollout.Duration(time.Hour)
	return rollout.Plan{
		Name: "smart-reply-production", Template: "ai-standard", Flag: "smart-reply", Environment: "production",
		Treatment: "on", Control: "off", HoldoutPercent: 5,
		Stages: []rollout.Stage{
			{Name: "beta", Segments: []string{"beta"}, MinDuration: hour},
			{Name: "ring-5", Percent: 5, MinDuration: 2 * hour},
			{Name: "ring-25", Percent: 25, MinDuration: 2 * hour, RequireApproval: true},
			{Name: "ring-100", Percent: 100, MinDuration: hour},
		},
		Guardrails: []rollout.Guardrail{
			{Metric: "error_rate", Kind: rollout.Proportion, Direction: rollout.Increase, Tolerance: rollout.Amount{Relative: 0.1}, Action: rollout.Rollback},
			{Metric: "latency", Kind: rollout.Mean, Direction: rollout.Increase, Tolerance: rollout.Amount{Relative: 0.15}, Action: rollout.Pause},
			{Metric: "thumbs_up_rate", Kind: rollout.Proportion, Direction: rollout.Decrease, Tolerance: rollout.Amount{Absolute: 0.02}, Action: rollout.Pause},
		},
		Gates: []rollout.Gate{{Metric: "conversion", Direction: rollout.Increase, Margin: rollout.Amount{Absolute: 0.01}}},
	}
}

const (
	ctl = rollout.ControllerActor
	gr  = ingest.RoleGuardrail
	gt  = ingest.RoleGate
)

// completedFixture is a rollout that paused once on latency, was resumed by a
// person, waited for an approval and completed, with a holdout and adoption data.
func completedFixture() report.Input {
	f := &fixture{}
	p := fixturePlan()
	f.in.Rollout = store.Rollout{ID: "ro_0001", PlanName: "smart-reply-production", Plan: p, Flag: p.Flag, Environment: p.Environment,
		State:       rollout.State{RolloutID: "ro_0001", Status: rollout.Completed, Stage: 3, StageStarted: at(6, 0), EvidenceStart: at(6, 0), Since: at(7, 0), Reason: "stage \"ring-100\", the last, passed"},
		RequestedBy: "alice", Version: 20, CreatedAt: at(0, -30), UpdatedAt: at(7, 0)}
	f.in.Metrics = fixtureMetrics
	latencyCrossed := &rollout.MetricResult{Metric: "latency", Verdict: rollout.Crossed, Summary: "+21.4 % [+16.2, +26.9] (540 vs 10260 units)"}

	f.decide(at(0, 0), "alice", "start", 0, 0, "smart reply v2 is ready", nil)
	f.decide(at(0, 5), ctl, "hold", 0, 0, "stage \"beta\" has run 5m of its minimum 1h", &rollout.Evidence{UnitsTreatment: 40, UnitsControl: 41}, rollout.HoldTime)
	f.point(at(0, 30), 0, 220, 215, pm("error_rate", gr, "not_enough_evidence", 0.021, 0.020, -0.02, 0.03, 220, 215),
		pm("latency", gr, "not_enough_evidence", 6.02, 6.00, -0.05, 0.09, 220, 215),
		pm("thumbs_up_rate", gr, "not_enough_evidence", 0.61, 0.60, -0.08, 0.10, 220, 215),
		pm("conversion", gt, "not_enough_evidence", 0.122, 0.118, -0.05, 0.06, 220, 215))
	f.point(at(0, 55), 0, 410, 402, pm("error_rate", gr, "clear", 0.020, 0.020, -0.01, 0.012, 410, 402),
		pm("latency", gr, "clear", 6.01, 6.00, -0.03, 0.05, 410, 402),
		pm("thumbs_up_rate", gr, "clear", 0.62, 0.60, -0.03, 0.07, 410, 402),
		pm("conversion", gt, "clear", 0.125, 0.118, -0.004, 0.018, 410, 402))
	f.decide(at(1, 0), ctl, "advance", 0, 1, "stage \"beta\" passed after 1h with 410 treatment and 402 control units; advancing to \"ring-5\"",
		&rollout.Evidence{StageName: "beta", UnitsTreatment: 410, UnitsControl: 402})
	f.decide(at(1, 5), ctl, "hold", 1, 1, "stage \"ring-5\" has run 5m of its minimum 2h", nil, rollout.HoldTime)
	f.point(at(1, 30), 1, 300, 5700, pm("error_rate", gr, "not_enough_evidence", 0.020, 0.020, -0.01, 0.011, 300, 5700),
		pm("latency", gr, "not_enough_evidence", 6.15, 6.00, 0.05, 0.25, 300, 5700),
		pm("thumbs_up_rate", gr, "not_enough_evidence", 0.61, 0.60, -0.04, 0.06, 300, 5700),
		pm("conversion", gt, "not_enough_evidence", 0.121, 0.118, -0.02, 0.03, 300, 5700))
	f.point(at(1, 55), 1, 540, 10260, pm("error_rate", gr, "not_enough_evidence", 0.020, 0.020, -0.008, 0.009, 540, 10260),
		pm("latency", gr, "crossed", 6.194, 6.00, 0.150, 0.238, 540, 10260),
		pm("thumbs_up_rate", gr, "clear", 0.61, 0.60, -0.015, 0.035, 540, 10260),
		pm("conversion", gt, "clear", 0.123, 0.118, -0.004, 0.014, 540, 10260))
	f.decide(at(2, 0), ctl, "pause", 1, 1, "guardrail latency crossed: latency rose beyond its tolerance of 15 % relative; pausing at stage \"ring-5\" (+21.4 % [+16.2, +26.9] (540 vs 10260 units))",
		&rollout.Evidence{StageName: "ring-5", Trigger: latencyCrossed, UnitsTreatment: 560, UnitsControl: 10640})
	f.decide(at(2, 0), ctl, "hold", 1, 1, "the rollout is paused; resume it to continue", nil, rollout.HoldPaused)
	f.decide(at(2, 40), "bob", "resume", 1, 1, "the latency came from a dependency outage, fixed at 11:20", nil)
	f.point(at(3, 30), 1, 1500, 28500, pm("error_rate", gr, "clear", 0.0201, 0.0200, -0.004, 0.0045, 1500, 28500),
		pm("latency", gr, "clear", 6.02, 6.00, -0.01, 0.05, 1500, 28500),
		pm("thumbs_up_rate", gr, "clear", 0.615, 0.600, 0.002, 0.028, 1500, 28500),
		pm("conversion", gt, "clear", 0.1255, 0.1180, 0.0021, 0.0129, 1500, 28500))
	f.decide(at(3, 5), ctl, "hold", 1, 1, "stage \"ring-25\" needs the approval of a release-manager other than the requester", nil, rollout.HoldApproval)
	f.decide(at(4, 0), ctl, "advance", 1, 2, "stage \"ring-5\" passed after 3h with 1500 treatment and 28500 control units; advancing to \"ring-25\"",
		&rollout.Evidence{StageName: "ring-5", UnitsTreatment: 1500, UnitsControl: 28500, Approval: &rollout.Approval{Stage: 2, Approver: "bob", ApproverRole: "release-manager", Requester: "alice", At: at(3, 55)}})
	f.decide(at(4, 5), ctl, "hold", 2, 2, "stage \"ring-25\" has run 5m of its minimum 2h; not enough evidence yet for gate conversion", nil, rollout.HoldTime, rollout.HoldEvidence)
	f.point(at(5, 55), 2, 7400, 22300, pm("error_rate", gr, "clear", 0.0199, 0.0200, -0.0025, 0.0023, 7400, 22300),
		pm("latency", gr, "clear", 6.01, 6.00, -0.005, 0.025, 7400, 22300),
		pm("thumbs_up_rate", gr, "clear", 0.612, 0.601, 0.001, 0.021, 7400, 22300),
		pm("conversion", gt, "clear", 0.1262, 0.1181, 0.0035, 0.0127, 7400, 22300))
	f.decide(at(6, 0), ctl, "advance", 2, 3, "stage \"ring-25\" passed after 1h55m with 7400 treatment and 22300 control units; advancing to \"ring-100\"",
		&rollout.Evidence{StageName: "ring-25", UnitsTreatment: 7400, UnitsControl: 22300})
	f.point(at(6, 55), 3, 11300, 600, pm("error_rate", gr, "clear", 0.0201, 0.0199, -0.006, 0.0065, 11300, 600),
		pm("latency", gr, "clear", 6.01, 6.00, -0.03, 0.05, 11300, 600),
		pm("thumbs_up_rate", gr, "clear", 0.611, 0.598, -0.02, 0.046, 11300, 600),
		pm("conversion", gt, "clear", 0.1259, 0.1170, -0.0040, 0.0218, 11300, 600))
	f.decide(at(7, 0), ctl, "complete", 3, 3, "stage \"ring-100\", the last, passed after 1h with 11300 treatment and 600 control units; completing",
		&rollout.Evidence{StageName: "ring-100", UnitsTreatment: 11300, UnitsControl: 600})
	f.in.Adoption = &report.Adoption{Metric: "smart_reply_used", AsOf: at(24*9, 0),
		Treatment: report.AdoptionCounts{Exposed: 20610, Used: 12400, Day1Eligible: 20610, Day1: 7300, Day7Eligible: 20610, Day7: 4100},
		Control:   report.AdoptionCounts{Exposed: 51002}}
	return f.in
}

// rolledBackFixture is a rollout whose thumbs-up guardrail crossed in one country,
// paused a tick later (the first crossing came with stale data), and that a person
// rolled back half an hour after the pause.
func rolledBackFixture() report.Input {
	f := &fixture{}
	p := fixturePlan()
	p.Name, p.Template, p.HoldoutPercent = "", "", 0
	f.in.Rollout = store.Rollout{ID: "ro_0002", Plan: p, Flag: p.Flag, Environment: "staging",
		State:       rollout.State{RolloutID: "ro_0002", Status: rollout.RolledBack, Stage: 1, StageStarted: at(25, 0), EvidenceStart: at(25, 0), Since: at(26, 50), Reason: "thumbs down in BR"},
		RequestedBy: "alice", Version: 9, CreatedAt: at(23, 0), UpdatedAt: at(26, 50)}
	f.in.Metrics = fixtureMetrics
	f.decide(at(24, 0), "alice", "start", 0, 0, "", nil)
	f.point(at(24, 55), 0, 400, 400, pm("thumbs_up_rate", gr, "clear", 0.60, 0.60, -0.05, 0.05, 400, 400))
	f.decide(at(25, 0), "carol", "advance", 0, 1, "beta looks fine", &rollout.Evidence{StageName: "beta", UnitsTreatment: 400, UnitsControl: 400})
	f.point(at(26, 0), 1, 500, 9500, pm("thumbs_up_rate", gr, "not_enough_evidence", 0.58, 0.60, -0.06, 0.02, 500, 9500))
	f.point(at(26, 15), 1, 620, 11800, pm("thumbs_up_rate", gr, "not_enough_evidence", 0.57, 0.60, -0.06, 0.0, 620, 11800, "country=BR"))
	f.point(at(26, 20), 1, 660, 12500, pm("thumbs_up_rate", gr, "not_enough_evidence", 0.57, 0.60, -0.055, -0.005, 660, 12500, "country=BR"))
	trigger := &rollout.MetricResult{Metric: "thumbs_up_rate", Verdict: rollout.Crossed, Dimension: "country=BR", Summary: "-9.10 pp [-14.20, -4.00] (80 vs 1500 units)"}
	f.decide(at(26, 20), ctl, "pause", 1, 1, "guardrail thumbs_up_rate crossed in country=BR: thumbs_up_rate fell beyond its tolerance of 0.02 absolute; pausing at stage \"ring-5\" (-9.10 pp [-14.20, -4.00] (80 vs 1500 units))",
		&rollout.Evidence{StageName: "ring-5", Trigger: trigger, UnitsTreatment: 660, UnitsControl: 12500})
	f.point(at(26, 45), 1, 790, 15000, pm("thumbs_up_rate", gr, "not_enough_evidence", 0.571, 0.600, -0.05, -0.008, 790, 15000, "country=BR"))
	f.decide(at(26, 50), "bob", "rollback", 1, 1, "thumbs down in BR", nil)
	return f.in
}

// runningFixture has started and holds in its first stage.
func runningFixture() report.Input {
	f := &fixture{}
	p := fixturePlan()
	p.Template = "progressive-24h"
	f.in.Rollout = store.Rollout{ID: "ro_0003", Plan: p, Flag: "summarizer", Environment: "production",
		State: rollout.State{RolloutID: "ro_0003", Status: rollout.Running, Stage: 0, StageStarted: at(24*8, 0), EvidenceStart: at(24*8, 0), Since: at(24*8, 0)}}
	f.decide(at(24*8, 0), "alice", "start", 0, 0, "", nil)
	f.decide(at(24*8, 5), ctl, "hold", 0, 0, "no analysis of this evidence period yet; waiting for fresh data", nil, rollout.HoldStaleData)
	return f.in
}
