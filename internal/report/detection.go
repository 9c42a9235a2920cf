package report

import (
	"time"

	"github.com/ramp-release/ramp/internal/rollout"
	"github.com/ramp-release/ramp/internal/store"
)

// Detection is one alert: a pause or a rollback, measured from the start of its
// stage and from the first tick at which the evidence had crossed the line.
type Detection struct {
	At        time.Time      `json:"at"`
	Action    rollout.Action `json:"action"`
	By        string         `json:"by"`
	Automatic bool           `json:"automatic"`
	Stage     int            `json:"stage"`
	StageName string         `json:"stage_name"`
	// Cause is guardrail, gate, srm, multiple_exposure, no_data, max_duration,
	// manual or other; Metric and Dimension name the trigger when there is one.
	Cause     string `json:"cause"`
	Metric    string `json:"metric,omitempty"`
	Dimension string `json:"dimension,omitempty"`
	Summary   string `json:"summary,omitempty"`
	Reason    string `json:"reason"`
	// FollowsPause marks a rollback of a rollout that an earlier alert had already
	// paused: the same issue, so the portfolio does not count it twice.
	FollowsPause bool `json:"follows_pause,omitempty"`

	// StageStartedAt is when the stage was entered; FirstCrossedAt the first
	// analysis point of the stage whose status for the trigger had crossed (for a
	// manual decision: any guardrail), zero when no stored point had.
	StageStartedAt time.Time `json:"stage_started_at,omitzero"`
	FirstCrossedAt time.Time `json:"first_crossed_at,omitzero"`
	// FromStageStart and FromFirstCrossed run to the detection (At).
	FromStageStart   *rollout.Duration `json:"from_stage_start,omitempty"`
	FromFirstCrossed *rollout.Duration `json:"from_first_crossed,omitempty"`
	// RollbackAt is when the rollout was rolled back for this alert: At for a
	// rollback, the end of the pause for a pause that ended in one, zero otherwise.
	RollbackAt                 time.Time         `json:"rollback_at,omitzero"`
	StageStartToRollback       *rollout.Duration `json:"stage_start_to_rollback,omitempty"`
	FirstCrossedToRollback     *rollout.Duration `json:"first_crossed_to_rollback,omitempty"`
	Units                      DetectionUnits    `json:"units"`
	TreatmentUnitsAtDetection  float64           `json:"treatment_units_at_detection"`
	TreatmentExposedAfterCross *float64          `json:"treatment_exposed_after_crossing,omitempty"`
}

// DetectionUnits are the stage's cumulative units per arm at the first crossing,
// at detection and at rollback, and the units exposed in between; a moment that is
// not known (no stored point, no rollback) is left out.
type DetectionUnits struct {
	AtFirstCrossed *ArmUnits `json:"at_first_crossed,omitempty"`
	AtDetection    *ArmUnits `json:"at_detection,omitempty"`
	AtRollback     *ArmUnits `json:"at_rollback,omitempty"`
	// CrossedToDetection and CrossedToRollback are the units exposed meanwhile.
	CrossedToDetection *ArmUnits `json:"crossed_to_detection,omitempty"`
	CrossedToRollback  *ArmUnits `json:"crossed_to_rollback,omitempty"`
}

func (c *calc) detections() []Detection {
	out := []Detection{}
	paused := false
	// since is where the search for the first crossing starts: the last resume or new
	// evidence period, so that a second alert in a stage is not measured from the
	// evidence of the first.
	var since time.Time
	for i, d := range c.decisions {
		switch d.Kind {
		case string(rollout.KindResume), string(rollout.KindRestartEvidence):
			paused = false
			since = d.At.UTC()
			continue
		case string(rollout.KindPause), string(rollout.KindRollback):
		default:
			continue
		}
		det := c.detection(d, since)
		if d.Kind == string(rollout.KindRollback) {
			det.FollowsPause = paused
		} else {
			paused = true
			// A pause that ended in a rollback: the rollback is when it was undone.
			for _, e := range c.decisions[i+1:] {
				if e.Kind == string(rollout.KindResume) {
					break
				}
				if e.Kind == string(rollout.KindRollback) {
					det.RollbackAt = e.At.UTC()
					if u := c.unitsOf(e, det.Stage); u != nil {
						det.Units.AtRollback = u
					}
					break
				}
			}
		}
		c.finishDetection(&det)
		out = append(out, det)
	}
	return out
}

// detection measures one pause or rollback decision; the first crossing is looked
// for from the stage's start or since, whichever is later.
func (c *calc) detection(d store.RolloutDecision, since time.Time) Detection {
	stage := d.FromStage
	det := Detection{At: d.At.UTC(), Action: rollout.Action(d.Kind), By: d.Actor, Automatic: d.Actor == rollout.ControllerActor,
		Stage: stage, StageName: c.stageName(stage), Cause: cause(d), Reason: d.Reason, StageStartedAt: c.stageEntry(stage)}
	if ev := d.Evidence; ev != nil && ev.Trigger != nil {
		det.Metric, det.Dimension, det.Summary = ev.Trigger.Metric, ev.Trigger.Dimension, ev.Trigger.Summary
	}
	if d.Kind == string(rollout.KindRollback) {
		det.RollbackAt = det.At
	}
	det.Units.AtDetection = c.unitsOf(d, stage)
	from := det.StageStartedAt
	if since.After(from) {
		from = since
	}
	if first, ok := c.firstCrossed(det, from); ok {
		det.FirstCrossedAt = first.At
		if det.Metric == "" && det.Cause == "manual" {
			det.Metric = first.metric
		}
		u := ArmUnits{Treatment: first.UnitsTreatment, Control: first.UnitsControl}
		det.Units.AtFirstCrossed = &u
	}
	return det
}

// finishDetection fills the durations and the units exposed in between.
func (c *calc) finishDetection(det *Detection) {
	det.FromStageStart = dur(det.StageStartedAt, det.At)
	det.FromFirstCrossed = dur(det.FirstCrossedAt, det.At)
	det.StageStartToRollback = dur(det.StageStartedAt, det.RollbackAt)
	det.FirstCrossedToRollback = dur(det.FirstCrossedAt, det.RollbackAt)
	if det.RollbackAt.Equal(det.At) && !det.RollbackAt.IsZero() {
		det.Units.AtRollback = det.Units.AtDetection
	}
	if u := det.Units.AtDetection; u != nil {
		det.TreatmentUnitsAtDetection = u.Treatment
	}
	if f := det.Units.AtFirstCrossed; f != nil {
		if u := det.Units.AtDetection; u != nil {
			m := u.minus(*f)
			det.Units.CrossedToDetection = &m
			det.TreatmentExposedAfterCross = &m.Treatment
		}
		if u := det.Units.AtRollback; u != nil {
			m := u.minus(*f)
			det.Units.CrossedToRollback = &m
		}
	}
}

// unitsOf returns the units per arm a decision saw: its evidence's counts when it
// has them, else the stage's last analysis point before it.
func (c *calc) unitsOf(d store.RolloutDecision, stage int) *ArmUnits {
	if ev := d.Evidence; ev != nil && (ev.UnitsTreatment > 0 || ev.UnitsControl > 0) {
		return &ArmUnits{Treatment: float64(ev.UnitsTreatment), Control: float64(ev.UnitsControl)}
	}
	if u, ok := c.unitsAt(stage, d.At.UTC()); ok {
		return &u
	}
	return nil
}

// crossing is the first point at which the evidence crossed, and for what.
type crossing struct {
	point
	metric string
}

// firstCrossed finds the first point of the detection's stage, from from up to the
// detection, at which its evidence had crossed the line.
func (c *calc) firstCrossed(det Detection, from time.Time) (crossing, bool) {
	for _, p := range c.pointsOf(det.Stage, from, det.At) {
		switch det.Cause {
		case "srm":
			if p.SRM {
				return crossing{point: p}, true
			}
		case "multiple_exposure":
			if p.MultipleExposure > rollout.MaxMultipleExposure {
				return crossing{point: p}, true
			}
		case "guardrail", "gate":
			role := roleGuardrail
			if det.Cause == "gate" {
				role = roleGate
			}
			for _, m := range p.Metrics {
				if m.Metric == det.Metric && m.Role == role && m.crossed(role) {
					return crossing{point: p, metric: m.Metric}, true
				}
			}
		case "manual", "other":
			for _, m := range p.Metrics {
				if m.Role == roleGuardrail && m.crossed(roleGuardrail) {
					return crossing{point: p, metric: m.Metric}, true
				}
			}
		}
	}
	return crossing{}, false
}
