package rollout

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Action is what a decision does to a rollout. Rollback and Pause are also the two
// things a crossed guardrail can do.
type Action string

// The actions.
const (
	Advance  Action = "advance" // enter the next stage (or, when scheduled, the first)
	Hold     Action = "hold"    // change nothing; Decision.Hold says why
	Pause    Action = "pause"
	Rollback Action = "rollback"
	Complete Action = "complete"
)

// HoldReason says why a rollout is not advancing.
type HoldReason string

// The hold reasons, in the order Decide reports them.
const (
	HoldStaleData  HoldReason = "stale_data"  // no analysis of the current evidence period, or an old one
	HoldTime       HoldReason = "time"        // the minimum duration (or a scheduled start) is not reached
	HoldSample     HoldReason = "sample"      // fewer units per arm than the stage's minimum
	HoldEvidence   HoldReason = "evidence"    // a guardrail or gate lacks the evidence to pass
	HoldBlackout   HoldReason = "blackout"    // a blackout period is in force
	HoldWindow     HoldReason = "window"      // outside the advancement windows
	HoldApproval   HoldReason = "approval"    // the next stage needs an approval it lacks
	HoldNotStarted HoldReason = "not_started" // a draft waits for someone to start it
	HoldPaused     HoldReason = "paused"      // a paused rollout waits for someone to resume it
	HoldFinished   HoldReason = "finished"    // completed or rolled back: nothing left to decide
)

// Verdict is the analysis' finding about one guardrail or gate in the current
// evidence period. The zero value means not enough evidence.
type Verdict string

// The verdicts.
const (
	NotEnoughEvidence Verdict = "not_enough_evidence"
	// Clear: for a guardrail, shown within its tolerance; for a gate, shown
	// non-inferior (or superior when the gate asks for it).
	Clear Verdict = "clear"
	// Crossed: for a guardrail, shown worse than its tolerance; for a gate, shown
	// worse than its margin, so it can never pass.
	Crossed Verdict = "crossed"
)

// Analysis is what Decide needs to know from the statistics, for one rollout. The
// controller builds it from the analysis package's results; this package owns the
// shape so that neither depends on the other.
type Analysis struct {
	// AsOf is how fresh the data is: the time up to which events were counted.
	AsOf time.Time `json:"as_of"`
	// Stage and EvidenceStart identify the evidence period the data covers; data
	// about another stage or an earlier period counts as missing (except that a
	// crossed rollback guardrail is always obeyed).
	Stage         int       `json:"stage"`
	EvidenceStart time.Time `json:"evidence_start"`
	// Guardrails and Gates hold one result per metric of the plan; a metric without
	// a result has not enough evidence.
	Guardrails []MetricResult `json:"guardrails,omitempty"`
	Gates      []MetricResult `json:"gates,omitempty"`
	// SRM is set when the sample-ratio-mismatch test fired.
	SRM bool `json:"srm,omitempty"`
	// MultipleExposure is the share of units seen in both arms in this stage.
	MultipleExposure float64 `json:"multiple_exposure,omitempty"`
	// UnitsTreatment and UnitsControl count the distinct units in each arm.
	UnitsTreatment int64 `json:"units_treatment"`
	UnitsControl   int64 `json:"units_control"`
}

// MetricResult is the verdict on one metric.
type MetricResult struct {
	Metric  string  `json:"metric"`
	Verdict Verdict `json:"verdict"`
	// Dimension names where the verdict was reached when it was not on the whole
	// population, e.g. "country=BR".
	Dimension string `json:"dimension,omitempty"`
	// Summary is the human-readable estimate, e.g. "+0.42 pp [0.18, 0.66]".
	Summary string `json:"summary,omitempty"`
}

func (a *Analysis) guardrail(metric string) MetricResult {
	return find(a.Guardrails, metric)
}

func find(rs []MetricResult, metric string) MetricResult {
	for _, r := range rs {
		if r.Metric == metric {
			if r.Verdict == "" {
				r.Verdict = NotEnoughEvidence
			}
			return r
		}
	}
	return MetricResult{Metric: metric, Verdict: NotEnoughEvidence}
}

// Roles that may approve (roles are cumulative: admin includes release-manager).
const (
	RoleReleaseManager = "release-manager"
	RoleAdmin          = "admin"
)

// Approval is a release manager's consent to enter a stage.
type Approval struct {
	RolloutID string `json:"rollout_id,omitempty"`
	// Stage is the index of the stage whose entry is approved.
	Stage        int       `json:"stage"`
	Approver     string    `json:"approver"`
	ApproverRole string    `json:"approver_role"`
	Requester    string    `json:"requester"`
	At           time.Time `json:"at"`
}

// check returns why the approval does not let rollout s enter stage, or "".
// Approvals given before the current evidence period began do not count: they
// approved evidence that no longer counts.
func (a Approval) check(s State, stage int, now time.Time) string {
	switch {
	case a.Stage != stage:
		return ""
	case a.RolloutID != "" && s.RolloutID != "" && a.RolloutID != s.RolloutID:
		return fmt.Sprintf("approval by %q is for rollout %q", a.Approver, a.RolloutID)
	case a.Approver == "":
		return "an approval names no approver"
	case a.Requester == "":
		return fmt.Sprintf("approval by %q names no requester, so four eyes cannot be checked", a.Approver)
	case a.Approver == a.Requester:
		return fmt.Sprintf("approval by %q does not count: %s asked for it, and four eyes need another person", a.Approver, a.Requester)
	case a.ApproverRole != RoleReleaseManager && a.ApproverRole != RoleAdmin:
		return fmt.Sprintf("approval by %q does not count: role %q cannot approve; it takes %s", a.Approver, a.ApproverRole, RoleReleaseManager)
	case a.At.After(now):
		return fmt.Sprintf("approval by %q is dated %s, in the future", a.Approver, a.At.Format(time.RFC3339))
	case a.At.Before(s.EvidenceStart):
		return fmt.Sprintf("approval by %q predates the current evidence period (%s); approve again", a.Approver, s.EvidenceStart.Format(time.RFC3339))
	}
	return "ok"
}

// Decision is what the controller should do with a rollout now, and why.
type Decision struct {
	Action Action `json:"action"`
	// Hold is the first unmet condition when Action is Hold; Holds lists all of them.
	Hold  HoldReason   `json:"hold,omitempty"`
	Holds []HoldReason `json:"holds,omitempty"`
	// FromStage is the current stage; ToStage the stage after the action.
	FromStage int `json:"from_stage"`
	ToStage   int `json:"to_stage"`
	// Reason is the human-readable explanation the audit log and notifications show.
	Reason string `json:"reason"`
	// Alert asks the controller to notify people now (every pause and rollback).
	Alert bool `json:"alert,omitempty"`
	// ApprovalNeeded is set when only an approval (and perhaps the calendar) stands
	// between the rollout and its next stage: time to ask a release manager.
	ApprovalNeeded bool      `json:"approval_needed,omitempty"`
	At             time.Time `json:"at"`
	Evidence       Evidence  `json:"evidence"`
}

// Evidence is the structured record behind a decision.
type Evidence struct {
	StageName string `json:"stage_name,omitempty"`
	// Trigger is the guardrail or gate that caused a pause or rollback.
	Trigger          *MetricResult  `json:"trigger,omitempty"`
	Guardrails       []MetricResult `json:"guardrails,omitempty"`
	Gates            []MetricResult `json:"gates,omitempty"`
	SRM              bool           `json:"srm,omitempty"`
	MultipleExposure float64        `json:"multiple_exposure,omitempty"`
	UnitsTreatment   int64          `json:"units_treatment"`
	UnitsControl     int64          `json:"units_control"`
	MinUnitsPerArm   int64          `json:"min_units_per_arm,omitempty"`
	// Elapsed is the time since the evidence period began.
	Elapsed     Duration  `json:"elapsed"`
	MinDuration Duration  `json:"min_duration,omitempty"`
	MaxDuration Duration  `json:"max_duration,omitempty"`
	DataAsOf    time.Time `json:"data_as_of,omitzero"`
	DataAge     Duration  `json:"data_age,omitempty"`
	Blackout    string    `json:"blackout,omitempty"`
	BlackoutEnd time.Time `json:"blackout_end,omitzero"`
	NextWindow  time.Time `json:"next_window,omitzero"`
	// Approval is the approval that let the rollout advance; ApprovalIssues say
	// why other approvals did not count.
	Approval       *Approval `json:"approval,omitempty"`
	ApprovalIssues []string  `json:"approval_issues,omitempty"`
}

// Decide is the rollout engine's step function: from the plan, the rollout's
// state, the latest analysis (nil when there is none), the approvals on record and
// the current time it decides whether to advance, hold, pause, roll back or
// complete. It never reads the clock and never changes anything; apply the result
// with [State.Apply].
//
// The rules, in order of precedence:
//   - a crossed guardrail whose action is rollback rolls back, from any status
//     and stage, whatever the calendar, approvals or freshness of the data;
//   - on current data, a crossed pause guardrail, a sample-ratio mismatch or more
//     than 1 % of units in both arms pauses (the last two: the assignment is at fault);
//   - no analysis of the current evidence period for PauseWithoutData pauses and
//     alerts; data older than StaleAfter (or none yet) holds;
//   - a gate shown worse than its margin pauses;
//   - before the minimum duration or sample, or without the evidence the plan
//     asks for, it holds — and past the maximum duration it pauses instead;
//   - in a blackout, outside a window, or without a required approval it holds;
//   - otherwise it advances, or completes from the last stage.
//
// A draft holds until someone starts it; a scheduled rollout starts at its time
// (subject to the calendar and the first stage's approval); a paused one holds
// until someone resumes it.
func Decide(p *Plan, s State, a *Analysis, approvals []Approval, now time.Time) Decision {
	d := Decision{Action: Hold, At: now, FromStage: s.Stage, ToStage: s.Stage}
	if s.Stage >= 0 && s.Stage < len(p.Stages) {
		d.Evidence.StageName = p.Stages[s.Stage].Name
	}
	if a != nil {
		d.Evidence.DataAsOf = a.AsOf
		d.Evidence.Guardrails = a.Guardrails
		d.Evidence.Gates = a.Gates
		d.Evidence.SRM = a.SRM
		d.Evidence.MultipleExposure = a.MultipleExposure
		d.Evidence.UnitsTreatment, d.Evidence.UnitsControl = a.UnitsTreatment, a.UnitsControl
	}
	if s.Status.Terminal() {
		return d.hold(HoldFinished, fmt.Sprintf("the rollout is %s", s.Status))
	}
	if a != nil {
		for _, g := range p.Guardrails {
			if r := a.guardrail(g.Metric); r.Verdict == Crossed && g.action() == Rollback {
				return d.stop(Rollback, &r, fmt.Sprintf("guardrail %s crossed%s: %s %s beyond its tolerance of %s; rolling back to %q",
					g.Metric, where(r), g.Metric, worse(g.Direction), g.Tolerance, p.Control)+summary(r))
			}
		}
	}
	switch s.Status {
	case Draft:
		return d.hold(HoldNotStarted, "the rollout is a draft; start or schedule it")
	case Paused:
		return d.hold(HoldPaused, "the rollout is paused ("+s.Reason+"); resume it to continue")
	case Scheduled:
		return decideScheduled(p, s, approvals, now, d)
	case Running:
		return decideRunning(p, s, a, approvals, now, d)
	}
	return d.stop(Pause, nil, fmt.Sprintf("unknown status %q; pausing until someone looks", s.Status))
}

func where(r MetricResult) string {
	if r.Dimension == "" {
		return ""
	}
	return " in " + r.Dimension
}

func summary(r MetricResult) string {
	if r.Summary == "" {
		return ""
	}
	return " (" + r.Summary + ")"
}

func worse(d Direction) string {
	if d == Decrease {
		return "fell"
	}
	return "rose"
}

func (d Decision) hold(why HoldReason, reason string) Decision {
	d.Action, d.Hold, d.Holds, d.Reason = Hold, why, []HoldReason{why}, reason
	return d
}

func (d Decision) stop(action Action, trigger *MetricResult, reason string) Decision {
	d.Action, d.Reason, d.Alert, d.Evidence.Trigger = action, reason, true, trigger
	d.Hold, d.Holds = "", nil
	return d
}

func decideScheduled(p *Plan, s State, approvals []Approval, now time.Time, d Decision) Decision {
	if now.Before(s.StartAt) {
		return d.hold(HoldTime, "scheduled to start at "+s.StartAt.Format(time.RFC3339))
	}
	d.ToStage = 0
	var holds []HoldReason
	var why []string
	calendar(p, s, approvals, now, 0, &d, &holds, &why)
	if len(holds) > 0 {
		d.ToStage = s.Stage
		return d.holds(holds, why)
	}
	d.Action = Advance
	d.Reason = fmt.Sprintf("scheduled start reached; entering stage %q", stageName(p, 0))
	return d
}

func (d Decision) holds(holds []HoldReason, why []string) Decision {
	d.Action, d.Hold, d.Holds, d.Reason = Hold, holds[0], holds, strings.Join(why, "; ")
	return d
}

func stageName(p *Plan, i int) string {
	if i >= 0 && i < len(p.Stages) {
		return p.Stages[i].Name
	}
	return fmt.Sprint(i)
}

// calendar adds the policy holds for entering stage next (len(p.Stages) means
// completing): blackouts, windows and approvals.
func calendar(p *Plan, s State, approvals []Approval, now time.Time, next int, d *Decision, holds *[]HoldReason, why *[]string) {
	if b, end, in, ok := p.ActiveBlackout(now); in {
		*holds = append(*holds, HoldBlackout)
		if !ok {
			*why = append(*why, fmt.Sprintf("blackout %q cannot be read, so it is treated as in force", b.Name))
		} else {
			d.Evidence.Blackout, d.Evidence.BlackoutEnd = b.Name, end
			*why = append(*why, fmt.Sprintf("blackout %q until %s", b.Name, end.Format(time.RFC3339)))
		}
	}
	if in, ok := p.InWindow(now); !in {
		*holds = append(*holds, HoldWindow)
		if !ok {
			*why = append(*why, "the advancement windows cannot be read (is the plan validated, its time zone loaded?), so they are treated as closed")
		} else {
			d.Evidence.NextWindow = p.NextWindow(now)
			msg := "outside the advancement windows"
			if !d.Evidence.NextWindow.IsZero() {
				msg += "; the next opens at " + d.Evidence.NextWindow.Format(time.RFC3339)
			}
			*why = append(*why, msg)
		}
	}
	if next < len(p.Stages) && p.Stages[next].RequireApproval {
		var found *Approval
		for _, ap := range approvals {
			switch msg := ap.check(s, next, now); msg {
			case "":
			case "ok":
				if found == nil {
					found = &ap
				}
			default:
				d.Evidence.ApprovalIssues = append(d.Evidence.ApprovalIssues, msg)
			}
		}
		if found == nil {
			*holds = append(*holds, HoldApproval)
			*why = append(*why, fmt.Sprintf("stage %q needs the approval of a %s other than the requester", p.Stages[next].Name, RoleReleaseManager))
		} else {
			d.Evidence.Approval = found
		}
	}
}

func decideRunning(p *Plan, s State, a *Analysis, approvals []Approval, now time.Time, d Decision) Decision {
	if s.Stage < 0 || s.Stage >= len(p.Stages) {
		return d.stop(Pause, nil, fmt.Sprintf("the rollout is at stage %d but the plan has %d stages; pausing until someone looks", s.Stage, len(p.Stages)))
	}
	st := p.Stages[s.Stage]
	elapsed := now.Sub(s.EvidenceStart)
	d.Evidence.Elapsed = Duration(elapsed)
	d.Evidence.MinDuration, d.Evidence.MaxDuration = st.MinDuration, st.MaxDuration
	d.Evidence.MinUnitsPerArm = st.MinUnitsPerArm

	// Current data is about this stage's evidence period and was counted after it began.
	current := a != nil && a.Stage == s.Stage && !a.EvidenceStart.Before(s.EvidenceStart) && !a.AsOf.Before(s.EvidenceStart)
	if current {
		for _, g := range p.Guardrails {
			if r := a.guardrail(g.Metric); r.Verdict == Crossed && g.action() == Pause {
				return d.stop(Pause, &r, fmt.Sprintf("guardrail %s crossed%s: %s %s beyond its tolerance of %s; pausing at stage %q",
					g.Metric, where(r), g.Metric, worse(g.Direction), g.Tolerance, st.Name)+summary(r))
			}
		}
		if a.SRM {
			return d.stop(Pause, nil, "sample-ratio mismatch: the arms' sizes differ from the planned split, so the assignment is at fault and the results cannot be trusted; check bucket_by, caching and bots before resuming")
		}
		if a.MultipleExposure > MaxMultipleExposure {
			return d.stop(Pause, nil, fmt.Sprintf("%.2f %% of units were seen in both arms (the bound is %g %%): the assignment is at fault (a changed bucket_by or salt, a lowered ring); fix it before resuming", a.MultipleExposure*100, MaxMultipleExposure*100))
		}
	}

	// Freshness: the data's age, or, without current data, the time since the
	// evidence period began.
	last := s.EvidenceStart
	if current {
		last = a.AsOf
	}
	age := now.Sub(last)
	if current {
		d.Evidence.DataAge = Duration(max(age, 0))
	}
	if !current || age > p.StaleAfterDuration() {
		what := "no analysis of this evidence period yet"
		if current {
			what = fmt.Sprintf("the analysis is %s old (stale after %s)", Duration(age.Round(time.Second)), Duration(p.StaleAfterDuration()))
		}
		if age > p.PauseWithoutData() {
			return d.stop(Pause, nil, fmt.Sprintf("no fresh analysis for %s (the bound is %s): %s; pausing until data flows again", Duration(age.Round(time.Second)), Duration(p.PauseWithoutData()), what))
		}
		return d.hold(HoldStaleData, what+"; waiting for fresh data")
	}

	hasControl := p.HasControl(s.Stage)
	for _, g := range p.Gates {
		if !gateApplies(p, g, s.Stage) || !hasControl {
			continue
		}
		if r := find(a.Gates, g.Metric); r.Verdict == Crossed {
			return d.stop(Pause, &r, fmt.Sprintf("gate %s failed%s: the treatment is worse than the margin of %s, so stage %q can never pass; pausing for a person to decide", g.Metric, where(r), g.Margin, st.Name)+summary(r))
		}
	}

	var holds []HoldReason
	var why []string
	if elapsed < st.MinDuration.D() {
		holds = append(holds, HoldTime)
		why = append(why, fmt.Sprintf("stage %q has run %s of its minimum %s", st.Name, Duration(elapsed.Round(time.Second)), st.MinDuration))
	}
	if short := a.UnitsTreatment < st.MinUnitsPerArm || hasControl && a.UnitsControl < st.MinUnitsPerArm; short {
		holds = append(holds, HoldSample)
		why = append(why, fmt.Sprintf("%d treatment and %d control units of the %d per arm required", a.UnitsTreatment, a.UnitsControl, st.MinUnitsPerArm))
	}
	if hasControl {
		var lacking []string
		if p.basis() == OnEvidence {
			for _, g := range p.Guardrails {
				if a.guardrail(g.Metric).Verdict != Clear {
					lacking = append(lacking, "guardrail "+g.Metric)
				}
			}
		}
		for _, g := range p.Gates {
			if gateApplies(p, g, s.Stage) && find(a.Gates, g.Metric).Verdict != Clear {
				lacking = append(lacking, "gate "+g.Metric)
			}
		}
		if len(lacking) > 0 {
			holds = append(holds, HoldEvidence)
			why = append(why, "not enough evidence yet for "+strings.Join(lacking, ", "))
		}
	}
	if len(holds) > 0 && st.MaxDuration > 0 && elapsed >= st.MaxDuration.D() {
		return d.stop(Pause, nil, fmt.Sprintf("stage %q reached its maximum duration of %s without enough evidence (%s); pausing for a person to decide", st.Name, st.MaxDuration, strings.Join(why, "; ")))
	}
	evidenceMet := len(holds) == 0

	next := s.Stage + 1
	calendar(p, s, approvals, now, next, &d, &holds, &why)
	d.ApprovalNeeded = evidenceMet && slices.Contains(holds, HoldApproval)
	if len(holds) > 0 {
		return d.holds(holds, why)
	}
	if next == len(p.Stages) {
		d.Action = Complete
		d.Reason = fmt.Sprintf("stage %q, the last, passed after %s with %d treatment and %d control units; completing", st.Name, Duration(elapsed.Round(time.Second)), a.UnitsTreatment, a.UnitsControl)
		return d
	}
	d.Action, d.ToStage = Advance, next
	d.Reason = fmt.Sprintf("stage %q passed after %s with %d treatment and %d control units; advancing to %q", st.Name, Duration(elapsed.Round(time.Second)), a.UnitsTreatment, a.UnitsControl, p.Stages[next].Name)
	return d
}

func gateApplies(p *Plan, g Gate, stage int) bool {
	if g.FromStage == "" {
		return true
	}
	from := p.StageIndex(g.FromStage)
	return from < 0 || stage >= from
}
