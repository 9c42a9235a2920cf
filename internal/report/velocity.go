package report

import (
	"slices"
	"time"

	"github.com/ramp-release/ramp/internal/rollout"
	"github.com/ramp-release/ramp/internal/store"
)

// Velocity is how fast the rollout moved.
type Velocity struct {
	// ScheduledAt is when it was scheduled, StartedAt when it entered its first stage.
	ScheduledAt time.Time `json:"scheduled_at,omitzero"`
	StartedAt   time.Time `json:"started_at,omitzero"`
	// FullAt is when it entered the first stage that serves 100 %, and ToFull the
	// time from StartedAt to then: the rollout's velocity.
	FullAt time.Time         `json:"full_at,omitzero"`
	ToFull *rollout.Duration `json:"to_full,omitempty"`
	// EndedAt is when it completed or was rolled back; Elapsed runs from StartedAt
	// to EndedAt, or to the report's time while it is still going.
	EndedAt time.Time         `json:"ended_at,omitzero"`
	Elapsed *rollout.Duration `json:"elapsed,omitempty"`
	// Paused is the total time spent paused.
	Paused rollout.Duration `json:"paused"`
	Stages []StageTime      `json:"stages"`
	Pauses []Pause          `json:"pauses"`
	// Rollbacks are the rollbacks (at most one per rollout; a new rollout of the same
	// plan is a new report).
	Rollbacks []Rollback `json:"rollbacks"`
	// EvidenceRestarts are new evidence periods (a treatment value edited mid-stage).
	EvidenceRestarts []Event `json:"evidence_restarts,omitempty"`
}

// StageTime is the time spent in one stage.
type StageTime struct {
	Index    int     `json:"index"`
	Name     string  `json:"name"`
	Percent  float64 `json:"percent"`
	Audience string  `json:"audience"`
	// EnteredAt is zero for a stage never reached; LeftAt is zero while the rollout
	// is still in it (Ongoing).
	EnteredAt time.Time         `json:"entered_at,omitzero"`
	LeftAt    time.Time         `json:"left_at,omitzero"`
	Ongoing   bool              `json:"ongoing,omitempty"`
	Duration  *rollout.Duration `json:"duration,omitempty"`
	// MinDuration is the plan's minimum for the stage, to compare with.
	MinDuration rollout.Duration `json:"min_duration,omitempty"`
	Paused      rollout.Duration `json:"paused,omitempty"`
	// Waiting is how long the controller held the stage for each reason it logged
	// (reasons overlap: a stage can wait for the window and an approval at once).
	Waiting []Wait `json:"waiting,omitempty"`
	// Exit is how the stage was left: advance, complete or rollback ("" while in it).
	Exit       string `json:"exit,omitempty"`
	ExitBy     string `json:"exit_by,omitempty"`
	ExitReason string `json:"exit_reason,omitempty"`
	// Units are the stage's units per arm at its last analysis point.
	Units *ArmUnits `json:"units,omitempty"`
}

// Wait is the time a stage was held for one reason.
type Wait struct {
	Reason   rollout.HoldReason `json:"reason"`
	Duration rollout.Duration   `json:"duration"`
}

// Pause is one pause of the rollout.
type Pause struct {
	Event
	// Cause is what made it pause: guardrail, gate, srm, multiple_exposure,
	// no_data, max_duration, manual or other.
	Cause string `json:"cause"`
	// EndedAt is when it ended (resumed or rolled back); Ended says how ("" while
	// still paused, Ongoing).
	EndedAt  time.Time         `json:"ended_at,omitzero"`
	Ended    string            `json:"ended,omitempty"`
	EndedBy  string            `json:"ended_by,omitempty"`
	Ongoing  bool              `json:"ongoing,omitempty"`
	Duration *rollout.Duration `json:"duration,omitempty"`
}

// Rollback is the rollout's rollback.
type Rollback struct {
	Event
	// Cause is what made it roll back, as for a [Pause].
	Cause string `json:"cause"`
}

// Event is one entry of the decision log, as the report shows it.
type Event struct {
	At        time.Time `json:"at"`
	Stage     int       `json:"stage"`
	StageName string    `json:"stage_name"`
	By        string    `json:"by"`
	Reason    string    `json:"reason"`
}

// PercentPoint is the share of the eligible population treated from At on.
type PercentPoint struct {
	At      time.Time `json:"at"`
	Percent float64   `json:"percent"`
	Stage   int       `json:"stage"`
}

func (c *calc) event(d store.RolloutDecision, stage int) Event {
	return Event{At: d.At.UTC(), Stage: stage, StageName: c.stageName(stage), By: d.Actor, Reason: d.Reason}
}

// timeline replays the decision log: stage entries and exits, pauses, rollbacks,
// holds and the treated percentage over time.
func (c *calc) timeline() {
	c.stages = make([]StageTime, len(c.plan.Stages))
	for i, s := range c.plan.Stages {
		c.stages[i] = StageTime{Index: i, Name: s.Name, Percent: s.Percent, Audience: audience(s), MinDuration: s.MinDuration}
	}
	waits := make([]map[rollout.HoldReason]time.Duration, len(c.stages))
	var (
		holds     []rollout.HoldReason
		holdSince time.Time
		holdStage = -1
		open      = -1 // index in c.pauses of the open pause
		cur       = -1 // the stage being served
	)
	closeHold := func(at time.Time) {
		// Only holds of a stage being served count: a scheduled rollout waiting for its
		// start has not entered its first stage.
		if holdStage >= 0 && holdStage < len(waits) && len(holds) > 0 && at.After(holdSince) && !c.stages[holdStage].EnteredAt.IsZero() {
			if waits[holdStage] == nil {
				waits[holdStage] = map[rollout.HoldReason]time.Duration{}
			}
			for _, h := range holds {
				waits[holdStage][h] += at.Sub(holdSince)
			}
		}
		holds, holdStage = nil, -1
	}
	leave := func(i int, d store.RolloutDecision, exit string) {
		if i >= 0 && i < len(c.stages) && !c.stages[i].EnteredAt.IsZero() && c.stages[i].LeftAt.IsZero() {
			c.stages[i].LeftAt, c.stages[i].Exit, c.stages[i].ExitBy, c.stages[i].ExitReason = d.At.UTC(), exit, d.Actor, d.Reason
		}
	}
	enter := func(i int, at time.Time) {
		cur = i
		if i >= 0 && i < len(c.stages) && c.stages[i].EnteredAt.IsZero() {
			c.stages[i].EnteredAt = at
			if c.stages[i].Percent >= 100 && c.full.IsZero() {
				c.full = at
			}
		}
		c.percent = append(c.percent, PercentPoint{At: at, Percent: c.stagePercent(i), Stage: i})
	}
	endPause := func(d store.RolloutDecision, how string) {
		if open < 0 {
			return
		}
		p := &c.pauses[open]
		p.EndedAt, p.Ended, p.EndedBy = d.At.UTC(), how, d.Actor
		p.Duration = dur(p.At, p.EndedAt)
		open = -1
	}
	for _, d := range c.decisions {
		at := d.At.UTC()
		closeHold(at)
		switch d.Kind {
		case store.KindHold:
			holds, holdSince, holdStage = slices.Clone(d.Holds), at, d.FromStage
		case string(rollout.KindStart):
			if c.started.IsZero() {
				c.started = at
			}
			enter(d.ToStage, at)
		case string(rollout.KindAdvance):
			leave(d.FromStage, d, "advance")
			enter(d.ToStage, at)
		case string(rollout.KindComplete):
			leave(d.FromStage, d, "complete")
			c.ended = at
		case string(rollout.KindPause):
			c.pauses = append(c.pauses, Pause{Event: c.event(d, d.FromStage), Cause: cause(d)})
			open = len(c.pauses) - 1
		case string(rollout.KindResume):
			endPause(d, "resumed")
		case string(rollout.KindRollback):
			endPause(d, "rolled_back")
			leave(d.FromStage, d, "rollback")
			c.rollbacks = append(c.rollbacks, Rollback{Event: c.event(d, d.FromStage), Cause: cause(d)})
			c.ended = at
			c.percent = append(c.percent, PercentPoint{At: at, Percent: 0, Stage: d.FromStage})
			cur = -1
		case string(rollout.KindRestartEvidence):
			c.restarts = append(c.restarts, c.event(d, d.FromStage))
		}
	}
	if c.active() {
		closeHold(c.now)
		if open >= 0 {
			c.pauses[open].Ongoing = true
			c.pauses[open].Duration = dur(c.pauses[open].At, c.now)
		}
		if cur >= 0 && cur < len(c.stages) && c.stages[cur].LeftAt.IsZero() && !c.stages[cur].EnteredAt.IsZero() {
			c.stages[cur].Ongoing = true
		}
	}
	for i := range c.stages {
		s := &c.stages[i]
		switch {
		case s.EnteredAt.IsZero():
			continue
		case !s.LeftAt.IsZero():
			s.Duration = dur(s.EnteredAt, s.LeftAt)
		case s.Ongoing:
			s.Duration = dur(s.EnteredAt, c.now)
		case !c.ended.IsZero():
			s.Duration = dur(s.EnteredAt, c.ended)
		}
		for _, h := range holdOrder {
			if w := waits[i][h]; w > 0 {
				s.Waiting = append(s.Waiting, Wait{Reason: h, Duration: rollout.Duration(w)})
			}
		}
		end := s.LeftAt
		if end.IsZero() {
			end = c.now
		}
		for _, p := range c.pauses {
			if p.Stage == i {
				pe := p.EndedAt
				if pe.IsZero() {
					pe = end
				}
				if pe.After(p.At) {
					s.Paused += rollout.Duration(pe.Sub(p.At))
				}
			}
		}
		if u, ok := c.unitsAt(i, end); ok {
			s.Units = &u
		}
	}
}

// holdOrder lists hold reasons in the order reports show them.
var holdOrder = []rollout.HoldReason{
	rollout.HoldTime, rollout.HoldSample, rollout.HoldEvidence, rollout.HoldStaleData, rollout.HoldApproval,
	rollout.HoldWindow, rollout.HoldBlackout, rollout.HoldPaused, rollout.HoldNotStarted, rollout.HoldFinished,
}

func (c *calc) velocity() Velocity {
	v := Velocity{StartedAt: c.started, FullAt: c.full, EndedAt: c.ended, Stages: c.stages,
		Pauses: c.pauses, Rollbacks: c.rollbacks, EvidenceRestarts: c.restarts}
	for _, d := range c.decisions {
		if d.Kind == string(rollout.KindSchedule) {
			v.ScheduledAt = d.At.UTC()
			break
		}
	}
	if v.Pauses == nil {
		v.Pauses = []Pause{}
	}
	if v.Rollbacks == nil {
		v.Rollbacks = []Rollback{}
	}
	v.ToFull = dur(c.started, c.full)
	switch {
	case !c.ended.IsZero():
		v.Elapsed = dur(c.started, c.ended)
	case c.active():
		v.Elapsed = dur(c.started, c.now)
	}
	for _, p := range c.pauses {
		if p.Duration != nil {
			v.Paused += *p.Duration
		}
	}
	return v
}

// audience describes who a stage exposes.
func audience(s rollout.Stage) string {
	var a string
	if len(s.Segments) > 0 {
		a = "segments " + join(s.Segments)
	}
	if s.Percent > 0 {
		if a != "" {
			a += " + "
		}
		a += num(s.Percent) + " %"
		if s.Regions != nil && len(s.Regions.Values) > 0 {
			a += " in " + join(s.Regions.Values)
		}
	}
	return a
}

// cause says what made the controller (or a person) pause or roll back.
func cause(d store.RolloutDecision) string {
	if d.Actor != rollout.ControllerActor {
		return "manual"
	}
	ev := d.Evidence
	switch {
	case ev != nil && ev.Trigger != nil:
		if hasPrefix(d.Reason, "gate ") {
			return "gate"
		}
		return "guardrail"
	case ev != nil && ev.SRM:
		return "srm"
	case ev != nil && ev.MultipleExposure > rollout.MaxMultipleExposure:
		return "multiple_exposure"
	case contains(d.Reason, "maximum duration"):
		return "max_duration"
	case contains(d.Reason, "no fresh analysis"):
		return "no_data"
	}
	return "other"
}
