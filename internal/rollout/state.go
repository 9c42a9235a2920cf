package rollout

import (
	"errors"
	"fmt"
	"time"
)

// Status is where a rollout is in its life.
//
//	draft ─► scheduled ─► running(stage) ⇄ paused ─► completed
//	  │          │             │              │
//	  └──────────┴─────────────┴──────────────┴──► rolled_back
type Status string

// The statuses. Completed and rolled_back are terminal, except that a completed
// rollout may still be rolled back: withdrawing a shipped treatment must stay one step.
const (
	Draft      Status = "draft"
	Scheduled  Status = "scheduled"
	Running    Status = "running"
	Paused     Status = "paused"
	Completed  Status = "completed"
	RolledBack Status = "rolled_back"
)

// Terminal reports whether nothing but a rollback can follow.
func (s Status) Terminal() bool { return s == Completed || s == RolledBack }

// State is a rollout: one run of a plan for one flag in one environment. The
// controller persists it; every change goes through a transition method that
// returns the new State and the [Transition] to audit.
type State struct {
	RolloutID string `json:"rollout_id"`
	Status    Status `json:"status"`
	// Stage is the index of the current stage (running or paused), or of the last
	// stage reached (completed, rolled back).
	Stage int `json:"stage"`
	// StartAt is when a scheduled rollout should start.
	StartAt time.Time `json:"start_at,omitzero"`
	// StageStarted is when the rollout entered the current stage.
	StageStarted time.Time `json:"stage_started,omitzero"`
	// EvidenceStart is when the current stage's evidence period began: the stage's
	// start, or the last change of the treatment's value (CLARIFICATIONS §40). Only data
	// from this period counts toward leaving the stage.
	EvidenceStart time.Time `json:"evidence_start,omitzero"`
	// Since is the time of the last transition, and Reason its reason.
	Since  time.Time `json:"since,omitzero"`
	Reason string    `json:"reason,omitempty"`
}

// NewState returns a draft rollout.
func NewState(rolloutID string, at time.Time) State {
	return State{RolloutID: rolloutID, Status: Draft, Since: at, Reason: "created"}
}

// Transition is one change of a rollout's state, as the audit log records it.
type Transition struct {
	Kind      TransitionKind `json:"kind"`
	From      Status         `json:"from"`
	To        Status         `json:"to"`
	FromStage int            `json:"from_stage"`
	ToStage   int            `json:"to_stage"`
	// By is who made the change: a user, or ControllerActor for automatic decisions.
	By     string    `json:"by"`
	Reason string    `json:"reason"`
	At     time.Time `json:"at"`
}

// Changed reports whether the transition changed anything; an idempotent no-op (a
// rollback of a rolled-back rollout) returns the zero Transition.
func (t Transition) Changed() bool { return t.Kind != "" }

// TransitionKind names a transition.
type TransitionKind string

// The transitions.
const (
	KindSchedule        TransitionKind = "schedule"
	KindStart           TransitionKind = "start"
	KindAdvance         TransitionKind = "advance"
	KindPause           TransitionKind = "pause"
	KindResume          TransitionKind = "resume"
	KindComplete        TransitionKind = "complete"
	KindRollback        TransitionKind = "rollback"
	KindRestartEvidence TransitionKind = "restart_evidence"
)

// ControllerActor is the By of transitions the controller makes on its own.
const ControllerActor = "controller"

// ErrIllegal is wrapped by every transition refused because of the rollout's status.
var ErrIllegal = errors.New("illegal transition")

func illegal(s State, what, fix string) error {
	return fmt.Errorf("%w: cannot %s a %s rollout; %s", ErrIllegal, what, s.Status, fix)
}

func (s State) move(kind TransitionKind, to Status, toStage int, by, reason string, at time.Time) (State, Transition) {
	t := Transition{Kind: kind, From: s.Status, To: to, FromStage: s.Stage, ToStage: toStage, By: by, Reason: reason, At: at}
	s.Status, s.Stage, s.Since, s.Reason = to, toStage, at, reason
	return s, t
}

// Schedule sets a draft (or re-schedules a scheduled) rollout to start at startAt.
func (s State) Schedule(startAt time.Time, by, reason string, at time.Time) (State, Transition, error) {
	if s.Status != Draft && s.Status != Scheduled {
		return s, Transition{}, illegal(s, "schedule", "only drafts and scheduled rollouts can be scheduled")
	}
	s.StartAt = startAt
	ns, t := s.move(KindSchedule, Scheduled, 0, by, reason, at)
	return ns, t, nil
}

// Start enters the first stage of a draft or scheduled rollout.
func (s State) Start(p *Plan, by, reason string, at time.Time) (State, Transition, error) {
	if s.Status != Draft && s.Status != Scheduled {
		return s, Transition{}, illegal(s, "start", "it has already started")
	}
	if len(p.Stages) == 0 {
		return s, Transition{}, fmt.Errorf("start: the plan has no stages")
	}
	s.StageStarted, s.EvidenceStart = at, at
	ns, t := s.move(KindStart, Running, 0, by, reason, at)
	return ns, t, nil
}

// Advance moves a running rollout to its next stage. The last stage is left by
// [State.Complete] instead.
func (s State) Advance(p *Plan, by, reason string, at time.Time) (State, Transition, error) {
	if s.Status != Running {
		fix := "only a running rollout advances"
		if s.Status == Paused {
			fix = "resume it first"
		}
		return s, Transition{}, illegal(s, "advance", fix)
	}
	if s.Stage+1 >= len(p.Stages) {
		return s, Transition{}, fmt.Errorf("%w: stage %d is the plan's last; complete the rollout instead", ErrIllegal, s.Stage)
	}
	s.StageStarted, s.EvidenceStart = at, at
	ns, t := s.move(KindAdvance, Running, s.Stage+1, by, reason, at)
	return ns, t, nil
}

// Pause stops a running rollout from advancing; it keeps serving its stage.
// Pausing a paused rollout changes nothing.
func (s State) Pause(by, reason string, at time.Time) (State, Transition, error) {
	switch s.Status {
	case Paused:
		return s, Transition{}, nil
	case Running:
		ns, t := s.move(KindPause, Paused, s.Stage, by, reason, at)
		return ns, t, nil
	}
	return s, Transition{}, illegal(s, "pause", "only a running rollout can be paused")
}

// Resume lets a paused rollout advance again, from the same stage and evidence
// period (call [State.RestartEvidence] too when the pause made the data suspect).
func (s State) Resume(by, reason string, at time.Time) (State, Transition, error) {
	if s.Status != Paused {
		return s, Transition{}, illegal(s, "resume", "only a paused rollout can be resumed")
	}
	ns, t := s.move(KindResume, Running, s.Stage, by, reason, at)
	return ns, t, nil
}

// Complete finishes a rollout that is running its last stage.
func (s State) Complete(p *Plan, by, reason string, at time.Time) (State, Transition, error) {
	if s.Status != Running {
		return s, Transition{}, illegal(s, "complete", "only a running rollout completes")
	}
	if s.Stage != len(p.Stages)-1 {
		return s, Transition{}, fmt.Errorf("%w: stage %d is not the plan's last (%d); advance through the remaining stages", ErrIllegal, s.Stage, len(p.Stages)-1)
	}
	ns, t := s.move(KindComplete, Completed, s.Stage, by, reason, at)
	return ns, t, nil
}

// Rollback serves control to everyone. It is legal from every status, needs no
// approval, and changes nothing on a rollout already rolled back.
func (s State) Rollback(by, reason string, at time.Time) (State, Transition, error) {
	if s.Status == RolledBack {
		return s, Transition{}, nil
	}
	ns, t := s.move(KindRollback, RolledBack, s.Stage, by, reason, at)
	return ns, t, nil
}

// RestartEvidence starts a new evidence period for the current stage: the
// treatment's value changed (CLARIFICATIONS §40), so earlier data no longer counts
// toward leaving the stage, and nothing is promoted on evidence about the old value.
func (s State) RestartEvidence(by, reason string, at time.Time) (State, Transition, error) {
	if s.Status != Running && s.Status != Paused {
		return s, Transition{}, illegal(s, "restart the evidence of", "only running and paused rollouts collect evidence")
	}
	s.EvidenceStart = at
	ns, t := s.move(KindRestartEvidence, s.Status, s.Stage, by, reason, at)
	return ns, t, nil
}

// Apply carries out a decision of [Decide] as the controller (By ControllerActor).
// A hold returns the state unchanged and the zero Transition.
func (s State) Apply(p *Plan, d Decision) (State, Transition, error) {
	switch d.Action {
	case Hold:
		return s, Transition{}, nil
	case Advance:
		if s.Status == Draft || s.Status == Scheduled {
			return s.Start(p, ControllerActor, d.Reason, d.At)
		}
		return s.Advance(p, ControllerActor, d.Reason, d.At)
	case Complete:
		return s.Complete(p, ControllerActor, d.Reason, d.At)
	case Pause:
		return s.Pause(ControllerActor, d.Reason, d.At)
	case Rollback:
		return s.Rollback(ControllerActor, d.Reason, d.At)
	}
	return s, Transition{}, fmt.Errorf("apply: unknown action %q", d.Action)
}
