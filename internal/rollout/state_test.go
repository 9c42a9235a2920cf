package rollout

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"pgregory.net/rapid"
)

func TestTransitions(t *testing.T) {
	p := mustValidate(t, testPlan())
	at := t0.Add(time.Hour)
	paused := running(1, t0)
	paused.Status = Paused
	scheduled := NewState("r1", t0)
	scheduled.Status = Scheduled
	tests := []struct {
		name    string
		from    State
		do      func(State) (State, Transition, error)
		want    Status
		stage   int
		illegal bool
	}{
		{"a draft can be scheduled", NewState("r1", t0), func(s State) (State, Transition, error) { return s.Schedule(at, "alice", "tomorrow", t0) }, Scheduled, 0, false},
		{"a draft starts at its first stage", NewState("r1", t0), func(s State) (State, Transition, error) { return s.Start(p, "alice", "go", at) }, Running, 0, false},
		{"a scheduled rollout starts", scheduled, func(s State) (State, Transition, error) { return s.Start(p, "alice", "go", at) }, Running, 0, false},
		{"a running rollout advances one stage", running(0, t0), func(s State) (State, Transition, error) { return s.Advance(p, "alice", "evidence", at) }, Running, 1, false},
		{"a running rollout pauses", running(1, t0), func(s State) (State, Transition, error) { return s.Pause("alice", "look", at) }, Paused, 1, false},
		{"a paused rollout resumes at the same stage", paused, func(s State) (State, Transition, error) { return s.Resume("alice", "fixed", at) }, Running, 1, false},
		{"the last stage completes", running(2, t0), func(s State) (State, Transition, error) { return s.Complete(p, "alice", "done", at) }, Completed, 2, false},
		{"a running rollout rolls back", running(1, t0), func(s State) (State, Transition, error) { return s.Rollback("alice", "bad", at) }, RolledBack, 1, false},

		{"a completed rollout cannot advance", State{Status: Completed, Stage: 2}, func(s State) (State, Transition, error) { return s.Advance(p, "a", "", at) }, Completed, 2, true},
		{"a paused rollout must resume before it advances", paused, func(s State) (State, Transition, error) { return s.Advance(p, "a", "", at) }, Paused, 1, true},
		{"the last stage cannot advance", running(2, t0), func(s State) (State, Transition, error) { return s.Advance(p, "a", "", at) }, Running, 2, true},
		{"only the last stage completes", running(1, t0), func(s State) (State, Transition, error) { return s.Complete(p, "a", "", at) }, Running, 1, true},
		{"a paused rollout does not complete", paused, func(s State) (State, Transition, error) { return s.Complete(p, "a", "", at) }, Paused, 1, true},
		{"a running rollout does not start again", running(1, t0), func(s State) (State, Transition, error) { return s.Start(p, "a", "", at) }, Running, 1, true},
		{"a running rollout cannot be scheduled", running(1, t0), func(s State) (State, Transition, error) { return s.Schedule(at, "a", "", at) }, Running, 1, true},
		{"a draft cannot pause", NewState("r1", t0), func(s State) (State, Transition, error) { return s.Pause("a", "", at) }, Draft, 0, true},
		{"a running rollout cannot resume", running(0, t0), func(s State) (State, Transition, error) { return s.Resume("a", "", at) }, Running, 0, true},
		{"a rolled-back rollout does not restart its evidence", State{Status: RolledBack}, func(s State) (State, Transition, error) { return s.RestartEvidence("a", "", at) }, RolledBack, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, tr, err := tt.do(tt.from)
			if tt.illegal {
				if !errors.Is(err, ErrIllegal) {
					t.Fatalf("err = %v, want ErrIllegal", err)
				}
				if diff := cmp.Diff(tt.from, got); diff != "" {
					t.Errorf("an illegal move changed the state:\n%s", diff)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Status != tt.want || got.Stage != tt.stage {
				t.Errorf("got %s at stage %d, want %s at %d", got.Status, got.Stage, tt.want, tt.stage)
			}
			if tr.From != tt.from.Status || tr.To != tt.want || tr.ToStage != tt.stage || tr.Reason == "" || !tr.At.Equal(got.Since) || tr.By == "" {
				t.Errorf("transition %+v does not describe the move", tr)
			}
		})
	}
}

func TestEnteringAStageStartsItsEvidencePeriod(t *testing.T) {
	p := mustValidate(t, testPlan())
	at := t0.Add(3 * time.Hour)
	s, _, err := running(0, t0).Advance(p, "c", "ok", at)
	if err != nil || !s.StageStarted.Equal(at) || !s.EvidenceStart.Equal(at) {
		t.Fatalf("advance: %v, %+v", err, s)
	}
	edit := at.Add(30 * time.Minute)
	s2, tr, err := s.RestartEvidence("alice", "treatment prompt v2 → v3", edit)
	if err != nil || !s2.EvidenceStart.Equal(edit) || !s2.StageStarted.Equal(at) || tr.Kind != KindRestartEvidence || s2.Status != Running {
		t.Errorf("restart: %v, %+v, %+v", err, s2, tr)
	}
}

func TestPausingAndRollingBackTwiceChangeNothing(t *testing.T) {
	paused := running(1, t0)
	paused.Status = Paused
	if s, tr, err := paused.Pause("a", "again", t0.Add(time.Hour)); err != nil || tr.Changed() || s != paused {
		t.Errorf("pause of paused: %+v %+v %v", s, tr, err)
	}
	rb := State{Status: RolledBack, Stage: 1, Reason: "guardrail"}
	if s, tr, err := rb.Rollback("a", "again", t0); err != nil || tr.Changed() || s != rb {
		t.Errorf("rollback of rolled back: %+v %+v %v", s, tr, err)
	}
}

func TestStartNeedsStages(t *testing.T) {
	if _, _, err := NewState("r", t0).Start(&Plan{}, "a", "", t0); err == nil {
		t.Error("started a plan without stages")
	}
}

func TestApplyCarriesOutDecisions(t *testing.T) {
	p := mustValidate(t, testPlan())
	sched := NewState("r1", t0)
	sched.Status = Scheduled
	tests := []struct {
		name string
		from State
		d    Decision
		want Status
		kind TransitionKind
	}{
		{"advance from scheduled starts", sched, Decision{Action: Advance, Reason: "time", At: t0}, Running, KindStart},
		{"advance from running advances", running(0, t0), Decision{Action: Advance, Reason: "ok", At: t0}, Running, KindAdvance},
		{"complete completes", running(2, t0), Decision{Action: Complete, Reason: "ok", At: t0}, Completed, KindComplete},
		{"pause pauses", running(1, t0), Decision{Action: Pause, Reason: "srm", At: t0}, Paused, KindPause},
		{"rollback rolls back", running(1, t0), Decision{Action: Rollback, Reason: "errors", At: t0}, RolledBack, KindRollback},
		{"hold changes nothing", running(1, t0), Decision{Action: Hold, At: t0}, Running, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, tr, err := tt.from.Apply(p, tt.d)
			if err != nil || s.Status != tt.want || tr.Kind != tt.kind {
				t.Errorf("Apply = %s, %q, %v", s.Status, tr.Kind, err)
			}
			if tr.Changed() && tr.By != ControllerActor {
				t.Errorf("By = %q", tr.By)
			}
		})
	}
	if _, _, err := running(0, t0).Apply(p, Decision{Action: "dance"}); err == nil {
		t.Error("unknown action applied")
	}
}

func drawState(t *rapid.T, stages int) State {
	s := State{
		RolloutID: "r1",
		Status:    rapid.SampledFrom([]Status{Draft, Scheduled, Running, Paused, Completed, RolledBack}).Draw(t, "status"),
		Stage:     rapid.IntRange(0, stages-1).Draw(t, "stage"),
	}
	s.EvidenceStart = t0.Add(-time.Duration(rapid.IntRange(0, 48*60).Draw(t, "minutes in stage")) * time.Minute)
	s.StageStarted = s.EvidenceStart
	return s
}

// TestRollbackIsPossibleFromEveryState: whatever the status and stage, a rollback
// succeeds and leaves the rollout rolled back.
func TestRollbackIsPossibleFromEveryState(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		s := drawState(t, 8)
		got, tr, err := s.Rollback(rapid.StringMatching(`[a-z]{1,8}`).Draw(t, "by"), "reason", t0)
		if err != nil {
			t.Fatalf("rollback from %s: %v", s.Status, err)
		}
		if got.Status != RolledBack || got.Stage != s.Stage {
			t.Fatalf("rollback from %s gave %s at %d", s.Status, got.Status, got.Stage)
		}
		if tr.Changed() == (s.Status == RolledBack) {
			t.Fatalf("rollback from %s: changed=%v", s.Status, tr.Changed())
		}
	})
}

// TestTheStateMachineNeverLeavesItsStates drives random sequences of transitions
// and checks that every result is a legal state and every refusal changes nothing.
func TestTheStateMachineNeverLeavesItsStates(t *testing.T) {
	p := testPlan()
	rapid.Check(t, func(t *rapid.T) {
		s := NewState("r1", t0)
		now := t0
		for i := range rapid.IntRange(1, 30).Draw(t, "steps") {
			now = now.Add(time.Minute)
			before := s
			var next State
			var tr Transition
			var err error
			switch op := rapid.IntRange(0, 7).Draw(t, "op"); op {
			case 0:
				next, tr, err = s.Schedule(now.Add(time.Hour), "a", "r", now)
			case 1:
				next, tr, err = s.Start(p, "a", "r", now)
			case 2:
				next, tr, err = s.Advance(p, "a", "r", now)
			case 3:
				next, tr, err = s.Pause("a", "r", now)
			case 4:
				next, tr, err = s.Resume("a", "r", now)
			case 5:
				next, tr, err = s.Complete(p, "a", "r", now)
			case 6:
				next, tr, err = s.Rollback("a", "r", now)
			case 7:
				next, tr, err = s.RestartEvidence("a", "r", now)
			}
			if err != nil {
				if !errors.Is(err, ErrIllegal) || next != before {
					t.Fatalf("step %d: refusal %v changed %+v into %+v", i, err, before, next)
				}
				continue
			}
			if next.Stage < 0 || next.Stage >= len(p.Stages) {
				t.Fatalf("step %d: stage %d out of range", i, next.Stage)
			}
			if tr.Changed() && (tr.From != before.Status || tr.To != next.Status || !next.Since.Equal(now)) {
				t.Fatalf("step %d: transition %+v does not match %s → %s", i, tr, before.Status, next.Status)
			}
			if before.Status.Terminal() && next.Status != RolledBack && next != before {
				t.Fatalf("step %d: left terminal %s for %s", i, before.Status, next.Status)
			}
			if next.Stage < before.Stage {
				t.Fatalf("step %d: went back from stage %d to %d", i, before.Stage, next.Stage)
			}
			s = next
		}
	})
}
