package rollout

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"pgregory.net/rapid"
)

func TestDecide(t *testing.T) {
	now := t0.Add(2 * time.Hour) // Monday 12:00 UTC, two hours into the stage
	type input struct {
		p         *Plan
		s         State
		a         *Analysis
		approvals []Approval
	}
	// base returns inputs under which stage `stage` is ready to be left.
	base := func(stage int) input {
		p := mustValidate(t, testPlan())
		s := running(stage, t0)
		return input{p, s, clearAnalysis(p, s, now), []Approval{goodApproval(stage+1, now.Add(-time.Minute))}}
	}
	tests := []struct {
		name      string
		in        func() input
		action    Action
		hold      HoldReason
		reasonHas string
		check     func(t *testing.T, d Decision)
	}{
		{"a stage with clear evidence and an approval advances", func() input { return base(1 - 1) }, Advance, "", `advancing to "ring-10"`,
			func(t *testing.T, d Decision) {
				if d.ToStage != 1 || d.Evidence.Approval == nil || d.Evidence.Approval.Approver != "bob" {
					t.Errorf("to %d with approval %+v", d.ToStage, d.Evidence.Approval)
				}
			}},
		{"the last stage completes", func() input { return base(2) }, Complete, "", "completing", nil},
		{"a stage needing approval holds without one and asks for it", func() input {
			in := base(0)
			in.approvals = nil
			return in
		}, Hold, HoldApproval, "release-manager", func(t *testing.T, d Decision) {
			if !d.ApprovalNeeded {
				t.Error("ApprovalNeeded not set")
			}
		}},
		{"an approval by the requester does not count", func() input {
			in := base(0)
			in.approvals[0].Approver = "alice"
			return in
		}, Hold, HoldApproval, "", func(t *testing.T, d Decision) {
			if len(d.Evidence.ApprovalIssues) != 1 || !strings.Contains(d.Evidence.ApprovalIssues[0], "four eyes") {
				t.Errorf("issues %v", d.Evidence.ApprovalIssues)
			}
		}},
		{"an approval by an editor does not count", func() input {
			in := base(0)
			in.approvals[0].ApproverRole = "editor"
			return in
		}, Hold, HoldApproval, "", nil},
		{"an approval without a requester does not count", func() input {
			in := base(0)
			in.approvals[0].Requester = ""
			return in
		}, Hold, HoldApproval, "", nil},
		{"an approval without an approver does not count", func() input {
			in := base(0)
			in.approvals[0].Approver = ""
			return in
		}, Hold, HoldApproval, "", nil},
		{"an approval for another rollout does not count", func() input {
			in := base(0)
			in.approvals[0].RolloutID = "r2"
			return in
		}, Hold, HoldApproval, "", nil},
		{"an approval for another stage does not count", func() input {
			in := base(0)
			in.approvals[0].Stage = 2
			return in
		}, Hold, HoldApproval, "", nil},
		{"an approval dated in the future does not count", func() input {
			in := base(0)
			in.approvals[0].At = now.Add(time.Hour)
			return in
		}, Hold, HoldApproval, "", nil},
		{"an approval older than the evidence period does not count", func() input {
			in := base(0)
			in.approvals[0].At = t0.Add(-time.Minute)
			return in
		}, Hold, HoldApproval, "", nil},
		{"an admin's approval counts: roles are cumulative", func() input {
			in := base(0)
			in.approvals[0].ApproverRole = RoleAdmin
			return in
		}, Advance, "", "", nil},
		{"a crossed rollback guardrail rolls back even in a blackout", func() input {
			in := base(1)
			in.p.Blackouts = []Blackout{{Name: "freeze", From: "2026-03-01", To: "2026-03-31"}}
			in.a.Guardrails[0] = MetricResult{Metric: "error_rate", Verdict: Crossed, Dimension: "country=BR", Summary: "+0.5 pp"}
			return in
		}, Rollback, "", `guardrail error_rate crossed in country=BR: error_rate rose beyond its tolerance of 10 % relative; rolling back to "off" (+0.5 pp)`,
			func(t *testing.T, d Decision) {
				if !d.Alert || d.Evidence.Trigger == nil || d.Evidence.Trigger.Metric != "error_rate" {
					t.Errorf("alert %v trigger %+v", d.Alert, d.Evidence.Trigger)
				}
			}},
		{"a crossed rollback guardrail rolls back a paused rollout", func() input {
			in := base(1)
			in.s.Status = Paused
			in.a.Guardrails[0].Verdict = Crossed
			return in
		}, Rollback, "", "", nil},
		{"a crossed rollback guardrail on stale data of an earlier stage still rolls back", func() input {
			in := base(1)
			in.a.Stage = 0
			in.a.AsOf = t0.Add(-24 * time.Hour)
			in.a.Guardrails[0].Verdict = Crossed
			return in
		}, Rollback, "", "", nil},
		{"a crossed pause guardrail pauses", func() input {
			in := base(1)
			in.a.Guardrails[1].Verdict = Crossed
			return in
		}, Pause, "", "guardrail thumbs_up crossed: thumbs_up fell", nil},
		{"a crossed pause guardrail of an earlier period does not pause", func() input {
			in := base(1)
			in.s = running(1, now.Add(-time.Minute))
			in.a.Guardrails[1].Verdict = Crossed
			in.a.EvidenceStart = t0
			return in
		}, Hold, HoldStaleData, "no analysis of this evidence period", nil},
		{"a sample-ratio mismatch pauses and blames the assignment", func() input {
			in := base(1)
			in.a.SRM = true
			return in
		}, Pause, "", "assignment is at fault", nil},
		{"more than 1 % of units in both arms pauses", func() input {
			in := base(1)
			in.a.MultipleExposure = 0.012
			return in
		}, Pause, "", "1.20 % of units were seen in both arms", nil},
		{"exactly 1 % of units in both arms is tolerated", func() input {
			in := base(1)
			in.a.MultipleExposure = 0.01
			return in
		}, Advance, "", "", nil},
		{"data older than three ticks holds", func() input {
			in := base(1)
			in.a.AsOf = now.Add(-16 * time.Second)
			return in
		}, Hold, HoldStaleData, "the analysis is 16s old (stale after 15s)", nil},
		{"data three ticks old is still fresh", func() input {
			in := base(1)
			in.a.AsOf = now.Add(-15 * time.Second)
			return in
		}, Advance, "", "", nil},
		{"no fresh data for ten minutes pauses and alerts", func() input {
			in := base(1)
			in.a.AsOf = now.Add(-11 * time.Minute)
			return in
		}, Pause, "", "no fresh analysis for 11m (the bound is 10m)", func(t *testing.T, d Decision) {
			if !d.Alert {
				t.Error("no alert")
			}
		}},
		{"no analysis at all for ten minutes pauses", func() input {
			in := base(1)
			in.a = nil
			return in
		}, Pause, "", "no analysis of this evidence period yet", nil},
		{"no analysis yet right after entering a stage holds", func() input {
			in := base(1)
			in.s = running(1, now.Add(-time.Minute))
			in.a = nil
			return in
		}, Hold, HoldStaleData, "waiting for fresh data", nil},
		{"an analysis of the previous stage counts as missing", func() input {
			in := base(1)
			in.s = running(1, now.Add(-time.Minute))
			in.a.Stage = 0
			return in
		}, Hold, HoldStaleData, "", nil},
		{"the stale and pause bounds follow the plan's tick", func() input {
			in := base(1)
			in.p.Tick = Duration(5 * time.Minute)
			in.p.PauseWithoutDataAfter = Duration(time.Hour)
			in.a.AsOf = now.Add(-14 * time.Minute)
			return in
		}, Advance, "", "", nil},
		{"before the minimum duration it holds for time", func() input {
			in := base(1)
			in.s = running(1, now.Add(-30*time.Minute))
			in.a.EvidenceStart = in.s.EvidenceStart
			return in
		}, Hold, HoldTime, `stage "ring-10" has run 30m of its minimum 1h`, nil},
		{"a restarted evidence period restarts the minimum duration", func() input {
			in := base(1)
			in.s.EvidenceStart = now.Add(-10 * time.Minute)
			in.a.EvidenceStart = in.s.EvidenceStart
			return in
		}, Hold, HoldTime, "", nil},
		{"too few units in an arm holds for sample", func() input {
			in := base(1)
			in.a.UnitsControl = 99
			return in
		}, Hold, HoldSample, "1000000 treatment and 99 control units of the 100 per arm required", nil},
		{"a guardrail without enough evidence holds", func() input {
			in := base(1)
			in.a.Guardrails = in.a.Guardrails[:1]
			return in
		}, Hold, HoldEvidence, "not enough evidence yet for guardrail thumbs_up", nil},
		{"a plan that advances on time does not wait for guardrail evidence", func() input {
			in := base(1)
			in.p.AdvanceOn = OnTime
			in.a.Guardrails = nil
			return in
		}, Advance, "", "", nil},
		{"past the maximum duration without evidence it pauses", func() input {
			in := base(1)
			in.s = running(1, now.Add(-25*time.Hour))
			in.a.EvidenceStart = in.s.EvidenceStart
			in.a.Guardrails[1].Verdict = NotEnoughEvidence
			return in
		}, Pause, "", `stage "ring-10" reached its maximum duration of 1d without enough evidence`, nil},
		{"past the maximum duration with evidence it still advances", func() input {
			in := base(0)
			in.s = running(0, now.Add(-25*time.Hour))
			in.a.EvidenceStart = in.s.EvidenceStart
			return in
		}, Advance, "", "", nil},
		{"a gate shown worse than its margin pauses", func() input {
			in := base(1)
			in.p.Gates = []Gate{{Metric: "conversion", Direction: Increase, Margin: Amount{Relative: 0.01}}}
			in.a.Gates = []MetricResult{{Metric: "conversion", Verdict: Crossed}}
			return in
		}, Pause, "", "gate conversion failed", nil},
		{"a gate without enough evidence holds", func() input {
			in := base(1)
			in.p.Gates = []Gate{{Metric: "conversion", Direction: Increase}}
			return in
		}, Hold, HoldEvidence, "gate conversion", nil},
		{"a gate that applies from a later stage does not hold", func() input {
			in := base(0)
			in.p.Gates = []Gate{{Metric: "conversion", Direction: Increase, FromStage: "ring-10"}}
			return in
		}, Advance, "", "", nil},
		{"a 100 % stage without a holdout is timed only", func() input {
			in := base(2)
			in.a.Guardrails, in.a.UnitsControl = nil, 0
			in.p.Gates = []Gate{{Metric: "conversion", Direction: Increase}}
			return in
		}, Complete, "", "", nil},
		{"a 100 % stage with a holdout is compared with it", func() input {
			in := base(2)
			in.p.HoldoutPercent = 5
			in.a.Guardrails = nil
			return in
		}, Hold, HoldEvidence, "", nil},
		{"in a blackout it holds and says until when", func() input {
			in := base(1)
			in.p.Blackouts = []Blackout{{Name: "freeze", From: "2026-03-01", To: "2026-03-03"}}
			return in
		}, Hold, HoldBlackout, `blackout "freeze" until 2026-03-04T00:00:00Z`, nil},
		{"outside a window it holds and names the next opening", func() input {
			in := base(1)
			in.p.Windows = []Window{{Days: []string{"mon-thu"}, From: "13:00", To: "16:00"}}
			return in
		}, Hold, HoldWindow, "the next opens at 2026-03-02T13:00:00Z", nil},
		{"a window in a zone that is not resolved holds", func() input {
			in := base(1)
			in.p.TimeZone, in.p.Location = "Europe/Berlin", nil
			in.p.Windows = []Window{{Days: []string{"every day"}, From: "00:00", To: "24:00"}}
			return in
		}, Hold, HoldWindow, "cannot be read", nil},
		{"a blackout that cannot be read holds", func() input {
			in := base(1)
			in.p.TimeZone, in.p.Location = "Europe/Berlin", nil
			in.p.Blackouts = []Blackout{{Name: "x", From: "2030-01-01", To: "2030-01-02"}}
			return in
		}, Hold, HoldBlackout, "cannot be read", nil},
		{"every unmet condition is listed, evidence before calendar", func() input {
			in := base(0)
			in.s = running(0, now.Add(-30*time.Minute))
			in.a.EvidenceStart = in.s.EvidenceStart
			in.a.UnitsTreatment = 1
			in.approvals = nil
			in.p.Blackouts = []Blackout{{Name: "freeze", From: "2026-03-01", To: "2026-03-03"}}
			return in
		}, Hold, HoldTime, "", func(t *testing.T, d Decision) {
			want := []HoldReason{HoldTime, HoldSample, HoldBlackout, HoldApproval}
			if !slices.Equal(d.Holds, want) || d.ApprovalNeeded {
				t.Errorf("holds %v (approval needed %v), want %v", d.Holds, d.ApprovalNeeded, want)
			}
		}},
		{"a draft waits to be started", func() input {
			in := base(0)
			in.s = NewState("r1", t0)
			return in
		}, Hold, HoldNotStarted, "", nil},
		{"a paused rollout waits to be resumed", func() input {
			in := base(1)
			in.s.Status, in.s.Reason = Paused, "srm"
			return in
		}, Hold, HoldPaused, "paused (srm)", nil},
		{"a completed rollout has nothing left to decide", func() input {
			in := base(2)
			in.s.Status = Completed
			in.a.Guardrails[0].Verdict = Crossed
			return in
		}, Hold, HoldFinished, "", nil},
		{"a scheduled rollout starts at its time", func() input {
			in := base(0)
			in.s = State{RolloutID: "r1", Status: Scheduled, StartAt: now.Add(-time.Second)}
			return in
		}, Advance, "", `entering stage "alpha"`, nil},
		{"a scheduled rollout waits for its time", func() input {
			in := base(0)
			in.s = State{RolloutID: "r1", Status: Scheduled, StartAt: now.Add(time.Hour)}
			return in
		}, Hold, HoldTime, "scheduled to start", nil},
		{"a scheduled rollout does not start in a blackout", func() input {
			in := base(0)
			in.s = State{RolloutID: "r1", Status: Scheduled, StartAt: now.Add(-time.Second)}
			in.p.Blackouts = []Blackout{{Name: "freeze", From: "2026-03-01", To: "2026-03-03"}}
			return in
		}, Hold, HoldBlackout, "", func(t *testing.T, d Decision) {
			if d.ToStage != 0 {
				t.Errorf("ToStage %d", d.ToStage)
			}
		}},
		{"a scheduled rollout needs the first stage's approval", func() input {
			in := base(0)
			in.s = State{RolloutID: "r1", Status: Scheduled, StartAt: now.Add(-time.Second)}
			in.p.Stages[0].RequireApproval = true
			return in
		}, Hold, HoldApproval, "", nil},
		{"an unknown status pauses", func() input {
			in := base(0)
			in.s.Status = "confused"
			return in
		}, Pause, "", "unknown status", nil},
		{"a stage the plan does not have pauses", func() input {
			in := base(0)
			in.s.Stage = 9
			return in
		}, Pause, "", "the plan has 3 stages", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := tt.in()
			d := Decide(in.p, in.s, in.a, in.approvals, now)
			if d.Action != tt.action || d.Hold != tt.hold {
				t.Fatalf("Decide = %s/%s (%s), want %s/%s", d.Action, d.Hold, d.Reason, tt.action, tt.hold)
			}
			if !strings.Contains(d.Reason, tt.reasonHas) {
				t.Errorf("reason %q lacks %q", d.Reason, tt.reasonHas)
			}
			if d.Reason == "" || !d.At.Equal(now) {
				t.Errorf("decision without reason or time: %+v", d)
			}
			if (d.Action == Pause || d.Action == Rollback) != d.Alert {
				t.Errorf("alert %v for %s", d.Alert, d.Action)
			}
			if tt.check != nil {
				tt.check(t, d)
			}
			if _, _, err := in.s.Apply(in.p, d); err != nil && in.s.Status != "confused" {
				t.Errorf("the decision cannot be applied: %v", err)
			}
		})
	}
}

// scenario is a random rollout that is ready to leave its stage, and the
// violations applied to it.
type scenario struct {
	p         *Plan
	s         State
	a         *Analysis
	approvals []Approval
	now       time.Time

	blackout, window, approval, early, small, stale, missing, rollback bool
}

func (sc scenario) String() string {
	return fmt.Sprintf("stage %d of %d at %s; blackout=%v window=%v approval=%v early=%v small=%v stale=%v missing=%v rollback=%v",
		sc.s.Stage, len(sc.p.Stages), sc.now.Format(time.RFC3339), sc.blackout, sc.window, sc.approval, sc.early, sc.small, sc.stale, sc.missing, sc.rollback)
}

func (sc scenario) blocked() bool {
	return sc.blackout || sc.window || sc.approval || sc.early || sc.small || sc.stale || sc.missing
}

var zones = []string{"UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "Australia/Adelaide"}

func drawScenario(t *rapid.T) scenario {
	p := drawPlan(t)
	p.TimeZone = rapid.SampledFrom(zones).Draw(t, "zone")
	p.Tick = Duration(rapid.SampledFrom([]time.Duration{time.Second, 5 * time.Second, 5 * time.Minute}).Draw(t, "tick"))
	p.PauseWithoutDataAfter = Duration(max(10*time.Minute, 4*p.Tick.D()))
	p.AdvanceOn = rapid.SampledFrom([]Basis{"", OnTime}).Draw(t, "basis")
	for i := range p.Stages {
		st := &p.Stages[i]
		st.MinDuration = Duration(time.Duration(rapid.IntRange(0, 48).Draw(t, "min hours")) * time.Hour)
		st.MinUnitsPerArm = int64(rapid.IntRange(0, 5000).Draw(t, "min units"))
		st.RequireApproval = rapid.Bool().Draw(t, "approval")
		if rapid.Bool().Draw(t, "max") {
			st.MaxDuration = st.MinDuration + Duration(72*time.Hour)
		}
	}
	p.Guardrails = []Guardrail{
		{Metric: "error_rate", Direction: Increase, Action: Rollback},
		{Metric: "latency", Direction: Increase, Action: rapid.SampledFrom([]Action{Rollback, Pause}).Draw(t, "latency action")},
	}
	if rapid.Bool().Draw(t, "gate") {
		p.Gates = []Gate{{Metric: "conversion", Direction: Increase}}
	}
	if err := p.Validate(ValidateOptions{}); err != nil {
		t.Fatalf("generated plan does not validate: %v", err)
	}

	now := time.Unix(int64(rapid.IntRange(1_767_225_600, 1_830_297_600).Draw(t, "now")), 0).UTC() // 2026–2027
	sc := scenario{p: p, now: now}
	stage := rapid.IntRange(0, len(p.Stages)-1).Draw(t, "stage")
	st := p.Stages[stage]
	inStage := st.MinDuration.D() + time.Duration(rapid.IntRange(0, 24*60).Draw(t, "extra minutes"))*time.Minute
	if st.MaxDuration > 0 {
		inStage = min(inStage, st.MaxDuration.D())
	}
	sc.s = running(stage, now.Add(-inStage))
	maxAge := int(min(p.StaleAfterDuration(), inStage) / time.Second)
	sc.a = clearAnalysis(p, sc.s, now.Add(-time.Duration(rapid.IntRange(0, maxAge).Draw(t, "data age"))*time.Second))
	sc.a.UnitsTreatment = st.MinUnitsPerArm + int64(rapid.IntRange(0, 1000).Draw(t, "extra treatment"))
	sc.a.UnitsControl = st.MinUnitsPerArm + int64(rapid.IntRange(0, 1000).Draw(t, "extra control"))
	if next := stage + 1; next < len(p.Stages) {
		ap := goodApproval(next, sc.s.EvidenceStart.Add(time.Duration(rapid.Int64Range(0, int64(inStage)).Draw(t, "approved after"))))
		sc.approvals = []Approval{ap}
	}
	loc := p.Location
	local := now.In(loc)
	m := local.Hour()*60 + local.Minute()
	clock := func(minute int) string {
		minute = ((minute % 1440) + 1440) % 1440
		return fmt.Sprintf("%02d:%02d", minute/60, minute%60)
	}
	if rapid.Bool().Draw(t, "has windows") {
		// A window around now, every day, so the scenario can advance.
		before := rapid.IntRange(0, 600).Draw(t, "window opened minutes ago")
		p.Windows = []Window{{Days: []string{"every day"}, From: clock(m - before), To: clock(m + 1 + rapid.IntRange(0, 600).Draw(t, "window closes in"))}}
	}

	// Violations.
	sc.blackout = rapid.IntRange(0, 5).Draw(t, "blackout") == 0
	if sc.blackout {
		if rapid.Bool().Draw(t, "date blackout") {
			d := local.Format(time.DateOnly)
			p.Blackouts = append(p.Blackouts, Blackout{Name: "date", From: d, To: d})
		} else {
			from := now.Add(-time.Duration(rapid.IntRange(0, 1e6).Draw(t, "blackout began")) * time.Second)
			to := now.Add(time.Duration(rapid.IntRange(1, 1e6).Draw(t, "blackout ends")) * time.Second)
			p.Blackouts = append(p.Blackouts, Blackout{Name: "exact", From: from.Format(time.RFC3339), To: to.Format(time.RFC3339)})
		}
	} else if rapid.Bool().Draw(t, "past blackout") {
		p.Blackouts = append(p.Blackouts, Blackout{Name: "past", From: "2020-01-01", To: "2020-01-31"})
	}
	sc.window = rapid.IntRange(0, 5).Draw(t, "window") == 0
	if sc.window {
		// Open from after now, for less than the rest of the day: now is outside.
		after := rapid.IntRange(1, 700).Draw(t, "window opens in")
		length := rapid.IntRange(1, 1440-after-1).Draw(t, "window length")
		p.Windows = []Window{{Days: []string{"every day"}, From: clock(m + after), To: clock(m + after + length)}}
	}
	if next := stage + 1; next < len(p.Stages) && p.Stages[next].RequireApproval && rapid.IntRange(0, 3).Draw(t, "approval") == 0 {
		sc.approval = true
		ap := sc.approvals[0]
		switch rapid.IntRange(0, 6).Draw(t, "approval defect") {
		case 0:
			ap.Approver = ap.Requester
		case 1:
			ap.ApproverRole = rapid.SampledFrom([]string{"viewer", "editor", ""}).Draw(t, "role")
		case 2:
			ap.Stage = rapid.SampledFrom([]int{stage, stage + 2, -1}).Draw(t, "approved stage")
		case 3:
			ap.At = now.Add(time.Duration(rapid.IntRange(1, 1e6).Draw(t, "future")) * time.Second)
		case 4:
			ap.At = sc.s.EvidenceStart.Add(-time.Duration(rapid.IntRange(1, 1e6).Draw(t, "before")) * time.Second)
		case 5:
			ap.Requester = ""
		case 6:
			sc.approvals = nil
		}
		if sc.approvals != nil {
			sc.approvals[0] = ap
		}
	}
	if st.MinDuration > 0 && rapid.IntRange(0, 4).Draw(t, "early") == 0 {
		sc.early = true
		sc.s = running(stage, now.Add(-st.MinDuration.D()+time.Duration(rapid.IntRange(1, int(st.MinDuration.D()/time.Second)).Draw(t, "seconds short"))*time.Second))
		sc.a.EvidenceStart = sc.s.EvidenceStart
		if sc.a.AsOf.Before(sc.s.EvidenceStart) {
			sc.a.AsOf = now
		}
		for i := range sc.approvals {
			sc.approvals[i].At = sc.s.EvidenceStart
		}
	}
	if st.MinUnitsPerArm > 0 && rapid.IntRange(0, 4).Draw(t, "small") == 0 {
		sc.small = true
		short := st.MinUnitsPerArm - int64(rapid.IntRange(1, int(st.MinUnitsPerArm)).Draw(t, "units short"))
		if rapid.Bool().Draw(t, "short arm") || !p.HasControl(stage) {
			sc.a.UnitsTreatment = short
		} else {
			sc.a.UnitsControl = short
		}
	}
	switch rapid.IntRange(0, 9).Draw(t, "data") {
	case 0:
		sc.stale = true
		sc.a.AsOf = now.Add(-p.StaleAfterDuration() - time.Duration(rapid.IntRange(1, 1e5).Draw(t, "stale by"))*time.Second)
	case 1:
		sc.missing = true
		switch rapid.IntRange(0, 2).Draw(t, "missing how") {
		case 0:
			sc.a = nil
		case 1:
			sc.a.Stage = rapid.SampledFrom([]int{stage - 1, stage + 1}).Draw(t, "analysed stage")
		case 2:
			sc.a.EvidenceStart = sc.s.EvidenceStart.Add(-time.Duration(rapid.IntRange(1, 1e5).Draw(t, "older period")) * time.Second)
		}
	}
	if rapid.IntRange(0, 5).Draw(t, "rollback guardrail") == 0 {
		sc.rollback = true
		if sc.a == nil {
			sc.a = &Analysis{}
		}
		sc.a.Guardrails = append(sc.a.Guardrails, MetricResult{})
		copy(sc.a.Guardrails[1:], sc.a.Guardrails)
		sc.a.Guardrails[0] = MetricResult{Metric: "error_rate", Verdict: Crossed}
	}
	return sc
}

// TestDecideNeverAdvancesWhenItMustNot: in a blackout, outside a window, without a
// required approval, before the minimum time or sample, or on stale or missing
// data, a rollout neither advances nor completes; a crossed rollback guardrail
// always rolls back; and a rollout with nothing in its way does move on.
func TestDecideNeverAdvancesWhenItMustNot(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		sc := drawScenario(t)
		d := Decide(sc.p, sc.s, sc.a, sc.approvals, sc.now)
		moved := d.Action == Advance || d.Action == Complete
		switch {
		case sc.rollback:
			if d.Action != Rollback {
				t.Fatalf("a crossed rollback guardrail gave %s: %s", d.Action, d.Reason)
			}
		case sc.blocked() && moved:
			t.Fatalf("moved on despite %s: %s", sc, d.Reason)
		case !sc.blocked() && !moved:
			t.Fatalf("nothing in the way, yet %s/%s: %s", d.Action, d.Hold, d.Reason)
		}
		if sc.blackout && !sc.stale && !sc.missing && d.Action == Hold && !slices.Contains(d.Holds, HoldBlackout) {
			t.Fatalf("blackout not reported: %v", d.Holds)
		}
		if _, _, err := sc.s.Apply(sc.p, d); err != nil {
			t.Fatalf("decision %s cannot be applied: %v", d.Action, err)
		}
	})
}

// TestACrossedRollbackGuardrailAlwaysRollsBack, from any status but the terminal
// ones, any stage, any calendar and any freshness.
func TestACrossedRollbackGuardrailAlwaysRollsBack(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		sc := drawScenario(t)
		sc.s = drawState(t, len(sc.p.Stages))
		if sc.a == nil {
			sc.a = &Analysis{}
		}
		sc.a.Guardrails = []MetricResult{{Metric: "error_rate", Verdict: Crossed}}
		d := Decide(sc.p, sc.s, sc.a, sc.approvals, sc.now)
		if sc.s.Status.Terminal() {
			if d.Action != Hold {
				t.Fatalf("%s rollout: %s", sc.s.Status, d.Action)
			}
			return
		}
		if d.Action != Rollback {
			t.Fatalf("%s rollout at stage %d: %s (%s)", sc.s.Status, sc.s.Stage, d.Action, d.Reason)
		}
		if next, _, err := sc.s.Apply(sc.p, d); err != nil || next.Status != RolledBack {
			t.Fatalf("apply: %v, %s", err, next.Status)
		}
	})
}
