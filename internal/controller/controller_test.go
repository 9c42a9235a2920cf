package controller_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ramp-release/ramp/internal/audit"
	"github.com/ramp-release/ramp/internal/controller"
	"github.com/ramp-release/ramp/internal/notify"
	"github.com/ramp-release/ramp/internal/rollout"
	"github.com/ramp-release/ramp/internal/store"
)

func TestTheLoopMovesARolloutOnEvidenceAndAsksForApproval(t *testing.T) {
	rg := newRig(t, "")
	world(t, rg.st)
	ro := createRollout(t, rg.st, testPlan(), "alice")
	if _, err := rg.c.Start(context.Background(), ro.ID, alice, "ship smart replies"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- rg.c.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	// The loop decides at once: the stage's minimum hour has not passed. The clock
	// moves only once the loop has acted on the previous time, so that the analysis
	// it reads is as fresh as it would be in production.
	waitFor(t, func() bool { return len(rg.get(ro.ID).Waiting) > 0 })
	rg.clock.Advance(61 * time.Minute)
	waitFor(t, func() bool { return contains(rg.j.kinds(), notify.ApprovalRequested) })
	got := rg.get(ro.ID)
	wantState(t, got, rollout.Running, 0)
	if !cmp.Equal(got.Waiting, []rollout.HoldReason{rollout.HoldApproval}) {
		t.Errorf("waiting for %v; want [approval]", got.Waiting)
	}
	if _, _, err := rg.c.Approve(context.Background(), ro.ID, -1, bob, "numbers look fine"); err != nil {
		t.Fatal(err)
	}
	wantState(t, rg.get(ro.ID), rollout.Running, 1)
	rg.clock.Advance(61 * time.Minute)
	waitFor(t, func() bool { return len(rg.j.kinds()) == 4 })
	wantState(t, rg.get(ro.ID), rollout.Running, 2)
	rg.clock.Advance(61 * time.Minute)
	waitFor(t, func() bool { return contains(rg.j.kinds(), notify.Completed) })
	wantState(t, rg.get(ro.ID), rollout.Completed, 2)
	if diff := cmp.Diff([]string{"start", "hold", "hold", "advance", "advance", "complete"}, kindsOf(rg.decisions(ro.ID))); diff != "" {
		t.Errorf("decision log (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]notify.Kind{notify.StageAdvanced, notify.ApprovalRequested, notify.StageAdvanced, notify.StageAdvanced, notify.Completed}, rg.j.kinds()); diff != "" {
		t.Errorf("notifications (-want +got):\n%s", diff)
	}
}

// waitFor polls cond until it holds, for at most 10 s.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached within 10 s")
		}
		time.Sleep(time.Millisecond) // a poll interval, not a wait for something to happen
	}
}

func contains[T comparable](s []T, v T) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func TestMissingDataHoldsThenPausesAndAlerts(t *testing.T) {
	rg := newRig(t, "")
	world(t, rg.st)
	ro := createRollout(t, rg.st, testPlan(), "alice")
	rg.analysis.noData(true)
	if _, err := rg.c.Start(context.Background(), ro.ID, alice, ""); err != nil {
		t.Fatal(err)
	}
	rg.j.take()
	for range 23 { // 115 minutes: past the stage's minimum, short of the bound
		rg.tick(5 * time.Second)
	}
	rg.tick(8 * time.Minute)
	got := rg.get(ro.ID)
	wantState(t, got, rollout.Running, 0)
	if !cmp.Equal(got.Waiting, []rollout.HoldReason{rollout.HoldStaleData}) {
		t.Errorf("waiting for %v; want [stale_data]", got.Waiting)
	}
	rg.tick(3 * time.Minute) // 10 min 55 s without data
	got = rg.get(ro.ID)
	wantState(t, got, rollout.Paused, 0)
	if !strings.Contains(got.State.Reason, "no fresh analysis") {
		t.Errorf("pause reason %q", got.State.Reason)
	}
	if diff := cmp.Diff([]string{"notify paused alpha"}, rg.j.take()); diff != "" {
		t.Errorf("effects (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"start", "hold", "pause"}, kindsOf(rg.decisions(ro.ID))); diff != "" {
		t.Errorf("decision log (-want +got):\n%s", diff)
	}

	t.Run("resuming without a new evidence period would pause again; with one it holds", func(t *testing.T) {
		rg.analysis.noData(false)
		if _, err := rg.c.Resume(context.Background(), ro.ID, alice, "data flows again", true); err != nil {
			t.Fatal(err)
		}
		rg.tick(5 * time.Second)
		got := rg.get(ro.ID)
		wantState(t, got, rollout.Running, 0)
		if !got.State.EvidenceStart.Equal(rg.clock.Now().Add(-5 * time.Second)) {
			t.Errorf("evidence start %s; want the resume's time", got.State.EvidenceStart)
		}
	})
}

func TestACrossedGuardrailRollsBackThenStreamsThenNotifies(t *testing.T) {
	rg := newRig(t, "")
	world(t, rg.st)
	ro := createRollout(t, rg.st, testPlan(), "alice")
	if _, err := rg.c.Start(context.Background(), ro.ID, alice, ""); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"publish production rev 5: flag v2 alpha/outside", "notify stage_advanced alpha"}, rg.j.take()); diff != "" {
		t.Errorf("start effects (-want +got):\n%s", diff)
	}
	rg.tick(10 * time.Minute)
	rg.analysis.set("error_rate", rollout.Crossed)
	rg.tick(5 * time.Second)
	got := rg.get(ro.ID)
	wantState(t, got, rollout.RolledBack, 0)
	// The publish saw the committed control block: persist happened first.
	if diff := cmp.Diff([]string{"publish production rev 6: flag v3 alpha/rolled_back", "notify rolled_back alpha"}, rg.j.take()); diff != "" {
		t.Errorf("rollback effects, in order (-want +got):\n%s", diff)
	}
	f, err := rg.st.GetFlag(context.Background(), "production", "smart-reply")
	if err != nil {
		t.Fatal(err)
	}
	if len(f.State.Rules) != 2 || f.State.Rules[0].ID != "qa" || f.State.Rules[1].Serve.Variant != "off" {
		t.Errorf("rules after rollback: %+v; want the user's qa rule, then control for everyone", f.State.Rules)
	}
	ds := rg.decisions(ro.ID)
	last := ds[len(ds)-1]
	if last.Kind != "rollback" || last.Actor != rollout.ControllerActor || last.Evidence == nil || last.Evidence.Trigger == nil || last.Evidence.Trigger.Metric != "error_rate" {
		t.Errorf("last decision %+v; want the controller's rollback with error_rate as its trigger", last)
	}
	entries, err := rg.st.AllAudit(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if e := entries[len(entries)-1]; e.Action != "rollout.rollback" || e.Actor != "controller" || !strings.Contains(e.Reason, "guardrail error_rate crossed") || !strings.Contains(string(e.After), "made up") {
		t.Errorf("last audit entry: %s by %s: %s; want the rollback with its evidence", e.Action, e.Actor, e.Reason)
	}
	if err := audit.Verify(entries); err != nil {
		t.Error(err)
	}
}

func TestAKilledControllerResumesTheSameStage(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ramp.db")
	first := newRig(t, path)
	world(t, first.st)
	ro := createRollout(t, first.st, testPlan(), "alice")
	if _, err := first.c.Start(context.Background(), ro.ID, alice, ""); err != nil {
		t.Fatal(err)
	}
	first.tick(61 * time.Minute)
	first.tick(5 * time.Second)
	before := first.get(ro.ID)
	// The process dies: its controller is abandoned mid-life and its store handle
	// closed without any shutdown; a new process opens the same file.
	first.st.Close()

	second := newRig(t, path)
	second.clock.Set(first.clock.Now().Add(5 * time.Second))
	if _, _, err := second.c.Approve(context.Background(), ro.ID, -1, bob, ""); err != nil {
		t.Fatal(err)
	}
	after := second.get(ro.ID)
	if before.State.Stage != 0 || after.State.Stage != 1 {
		t.Fatalf("stage %d before the restart, %d after the approval; want 0 then 1", before.State.Stage, after.State.Stage)
	}
	if reopened := second.decisions(ro.ID); len(reopened) < 2 || reopened[len(reopened)-2].Kind != "hold" || !before.State.StageStarted.Equal(t0) {
		t.Errorf("across the restart the log reads %v and stage 0 started at %s; want the same log continued and the same start", kindsOf(reopened), before.State.StageStarted)
	}
	for range 3 {
		second.tick(5 * time.Second)
	}
	if got := second.get(ro.ID); got.State.Stage != 1 || !got.State.EvidenceStart.Equal(after.State.EvidenceStart) {
		t.Errorf("after more ticks: stage %d, evidence from %s; want stage 1 and the same evidence period", got.State.Stage, got.State.EvidenceStart)
	}
}

func TestADeposedControllerCannotWrite(t *testing.T) {
	rg := newRig(t, "") // rg.c decides at epoch 1
	world(t, rg.st)
	ro := createRollout(t, rg.st, testPlan(), "alice")
	ctx := context.Background()
	leader := controller.New(rg.st, controller.Options{Clock: rg.clock, Analysis: rg.analysis, Epoch: 2})
	if _, err := leader.Start(ctx, ro.ID, alice, ""); err != nil {
		t.Fatal(err)
	}
	rg.clock.Advance(time.Hour + time.Minute)
	if err := leader.Tick(ctx); err != nil { // alpha passed: it holds for ring-10's approval
		t.Fatal(err)
	}
	if got := rg.get(ro.ID); got.Epoch != 2 {
		t.Fatalf("after the leader's tick the rollout is at epoch %d; want 2", got.Epoch)
	}
	rg.analysis.set("thumbs_up", rollout.Crossed) // a pause guardrail: the old controller would pause
	if err := rg.c.Tick(ctx); !errors.Is(err, store.ErrFenced) {
		t.Fatalf("a decision by epoch 1 after epoch 2: %v; want store.ErrFenced", err)
	}
	if got := rg.get(ro.ID); got.State.Status != rollout.Running || got.Epoch != 2 {
		t.Errorf("rollout %s at epoch %d; want running at epoch 2", got.State.Status, got.Epoch)
	}
	// A person's operation is not a leader's decision: any replica carries it out.
	paused, err := rg.c.Pause(ctx, ro.ID, alice, "")
	if err != nil || paused.State.Status != rollout.Paused || paused.Epoch != 2 {
		t.Errorf("a person's pause through a deposed controller: %s at epoch %d, %v; want paused at epoch 2", paused.State.Status, paused.Epoch, err)
	}
}

// switchable is a Leadership that tests turn on and off.
type switchable struct {
	mu      sync.Mutex
	epoch   int64
	changed chan struct{}
}

func (s *switchable) Leader() (int64, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.epoch, s.epoch != 0
}

func (s *switchable) Changed() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.changed == nil {
		s.changed = make(chan struct{})
	}
	return s.changed
}

func (s *switchable) set(epoch int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.epoch = epoch
	if s.changed != nil {
		close(s.changed)
	}
	s.changed = make(chan struct{})
}

func TestOnlyTheLeaderDecides(t *testing.T) {
	rg := newRig(t, "")
	world(t, rg.st)
	ro := createRollout(t, rg.st, testPlan(), "alice")
	ctx := context.Background()
	lead := &switchable{}
	follower := controller.New(rg.st, controller.Options{Clock: rg.clock, Analysis: rg.analysis, Leadership: lead})

	// People act through any replica, leader or not.
	if _, err := follower.Start(ctx, ro.ID, alice, ""); err != nil {
		t.Fatal(err)
	}
	rg.clock.Advance(time.Hour + time.Minute)
	before := len(rg.decisions(ro.ID))
	if err := follower.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := follower.Step(ctx, ro.ID); !errors.Is(err, controller.ErrNotLeader) {
		t.Errorf("Step on a follower: %v; want ErrNotLeader", err)
	}
	if _, _, err := follower.Approve(ctx, ro.ID, -1, controller.Actor{Name: "bob", Role: store.RoleReleaseManager}, ""); err != nil {
		t.Errorf("an approval through a follower: %v", err)
	}
	if got := rg.decisions(ro.ID); len(got) != before {
		t.Fatalf("a follower decided: %v", kindsOf(got[before:]))
	}

	lead.set(7)
	if err := follower.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	got := rg.get(ro.ID)
	wantState(t, got, rollout.Running, 1)
	if got.Epoch != 7 {
		t.Errorf("the leader's decision left epoch %d; want 7", got.Epoch)
	}
}

func TestRunDecidesAsSoonAsItLeads(t *testing.T) {
	rg := newRig(t, "")
	world(t, rg.st)
	ro := createRollout(t, rg.st, testPlan(), "alice")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	lead := &switchable{}
	c := controller.New(rg.st, controller.Options{Clock: rg.clock, Analysis: rg.analysis, Leadership: lead, Tick: time.Hour})
	if _, err := c.Start(ctx, ro.ID, alice, ""); err != nil {
		t.Fatal(err)
	}
	rg.clock.Set(t0.Add(time.Hour + time.Minute)) // the controller's own ticker has not fired
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	lead.set(3)
	deadline := time.Now().Add(10 * time.Second)
	for rg.get(ro.ID).Epoch != 3 {
		if time.Now().After(deadline) {
			t.Fatal("the controller did not decide within 10s of becoming the leader")
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestFourEyes(t *testing.T) {
	rg := newRig(t, "")
	world(t, rg.st)
	ro := createRollout(t, rg.st, testPlan(), "alice")
	ctx := context.Background()
	if _, err := rg.c.Start(ctx, ro.ID, alice, ""); err != nil {
		t.Fatal(err)
	}
	rg.tick(61 * time.Minute)
	tests := []struct {
		name string
		do   func() error
		want error
		text string
	}{
		{"the requester cannot approve", func() error { _, _, err := rg.c.Approve(ctx, ro.ID, -1, alice, ""); return err }, controller.ErrForbidden, "alice requested this rollout"},
		{"an editor cannot approve", func() error { _, _, err := rg.c.Approve(ctx, ro.ID, -1, eve, ""); return err }, controller.ErrForbidden, "takes the role release-manager"},
		{"an approval is for the next stage only", func() error { _, _, err := rg.c.Approve(ctx, ro.ID, 2, bob, ""); return err }, store.ErrInvalid, "next stage, 1"},
		{"the requester cannot advance into a stage that needs approval", func() error { _, err := rg.c.Advance(ctx, ro.ID, alice, ""); return err }, controller.ErrForbidden, "other than alice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.do()
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.text) {
				t.Errorf("err = %v; want %v saying %q", err, tt.want, tt.text)
			}
		})
	}
	wantState(t, rg.get(ro.ID), rollout.Running, 0)
	t.Run("another release manager advancing counts as the approval", func(t *testing.T) {
		got, err := rg.c.Advance(ctx, ro.ID, bob, "go")
		if err != nil {
			t.Fatal(err)
		}
		wantState(t, got, rollout.Running, 1)
		ds := rg.decisions(ro.ID)
		if ev := ds[len(ds)-1].Evidence; ev == nil || ev.Approval == nil || ev.Approval.Approver != "bob" {
			t.Errorf("the advance's evidence %+v; want bob's approval", ev)
		}
	})
}

func TestManualAdvanceOverridesEvidenceButNotABlackout(t *testing.T) {
	rg := newRig(t, "")
	world(t, rg.st)
	p := testPlan()
	p.Blackouts = []rollout.Blackout{{Name: "freeze", From: "2026-03-02T12:00:00Z", To: "2026-03-02T18:00:00Z"}}
	ro := createRollout(t, rg.st, p, "alice")
	ctx := context.Background()
	if _, err := rg.c.Start(ctx, ro.ID, alice, ""); err != nil {
		t.Fatal(err)
	}
	rg.analysis.noData(true)
	got, err := rg.c.Advance(ctx, ro.ID, bob, "we have seen enough")
	if err != nil {
		t.Fatal(err)
	}
	wantState(t, got, rollout.Running, 1)
	if !strings.Contains(got.State.Reason, "overriding: no analysis") {
		t.Errorf("reason %q; want it to name what it overrode", got.State.Reason)
	}
	rg.clock.Set(time.Date(2026, 3, 2, 13, 0, 0, 0, time.UTC))
	if _, err := rg.c.Advance(ctx, ro.ID, bob, ""); !errors.Is(err, controller.ErrBlocked) || !strings.Contains(err.Error(), `blackout "freeze"`) {
		t.Errorf("advance in a blackout: %v; want ErrBlocked naming the freeze", err)
	}
	if got, err := rg.c.Rollback(ctx, ro.ID, alice, "rollback is always possible"); err != nil || got.State.Status != rollout.RolledBack {
		t.Errorf("rollback in a blackout: %s, %v", got.State.Status, err)
	}
}

func TestEditingTheTreatmentStartsANewEvidencePeriod(t *testing.T) {
	rg := newRig(t, "")
	world(t, rg.st)
	ro := createRollout(t, rg.st, testPlan(), "alice")
	ctx := context.Background()
	if _, err := rg.c.Start(ctx, ro.ID, alice, ""); err != nil {
		t.Fatal(err)
	}
	rg.tick(50 * time.Minute)
	edit := func(value any) {
		f, err := rg.st.GetFlag(ctx, "production", "smart-reply")
		if err != nil {
			t.Fatal(err)
		}
		def := f.Definition
		def.Type = "json"
		def.Variants = map[string]any{"on": value, "off": map[string]any{"model": "small"}}
		if _, err := rg.st.UpdateFlagDefinition(ctx, def, def.Version, store.Change{Actor: "eve"}); err == nil {
			return
		}
		// A bool flag keeps its type: flip the value instead.
		def = f.Definition
		def.Variants = map[string]any{"on": false, "off": false}
		if _, err := rg.st.UpdateFlagDefinition(ctx, def, def.Version, store.Change{Actor: "eve"}); err != nil {
			t.Fatal(err)
		}
	}
	edit(map[string]any{"model": "large-v3"})
	rg.tick(5 * time.Second)
	got := rg.get(ro.ID)
	if !got.State.EvidenceStart.Equal(rg.clock.Now()) {
		t.Errorf("evidence period from %s; want a new one from %s", got.State.EvidenceStart, rg.clock.Now())
	}
	ds := rg.decisions(ro.ID)
	if last := ds[len(ds)-1]; last.Kind != "restart_evidence" || !strings.Contains(last.Reason, "changed") {
		t.Errorf("last decision %s (%s); want restart_evidence", last.Kind, last.Reason)
	}
	// The minimum hour now counts from the edit: at 61 minutes after the start the
	// stage is not left.
	rg.tick(11 * time.Minute)
	wantState(t, rg.get(ro.ID), rollout.Running, 0)
	t.Run("the server's hook restarts on the editor's behalf and names the rollout", func(t *testing.T) {
		restarted, err := rg.c.VariantsChanged(ctx, "smart-reply", eve, "")
		if err != nil || len(restarted) != 0 {
			t.Errorf("nothing changed since: restarted %d, %v; want none", len(restarted), err)
		}
	})
}

func TestHoldsAreLoggedWhenTheyChangeNotEveryTick(t *testing.T) {
	rg := newRig(t, "")
	world(t, rg.st)
	ro := createRollout(t, rg.st, testPlan(), "alice")
	if _, err := rg.c.Start(context.Background(), ro.ID, alice, ""); err != nil {
		t.Fatal(err)
	}
	for range 100 {
		rg.tick(5 * time.Second)
	}
	if diff := cmp.Diff([]string{"start", "hold"}, kindsOf(rg.decisions(ro.ID))); diff != "" {
		t.Errorf("decision log after 100 ticks of the same hold (-want +got):\n%s", diff)
	}
}

func TestCancellingADraftLeavesTheFlagAlone(t *testing.T) {
	rg := newRig(t, "")
	world(t, rg.st)
	ro := createRollout(t, rg.st, testPlan(), "alice")
	ctx := context.Background()
	before, _ := rg.st.GetFlag(ctx, "production", "smart-reply")
	got, err := rg.c.Rollback(ctx, ro.ID, alice, "changed my mind")
	if err != nil || got.State.Status != rollout.RolledBack {
		t.Fatalf("rollback of a draft: %s, %v", got.State.Status, err)
	}
	after, _ := rg.st.GetFlag(ctx, "production", "smart-reply")
	if after.State.Version != before.State.Version {
		t.Errorf("flag version %d → %d; a rollout that never started must not touch the flag", before.State.Version, after.State.Version)
	}
	if again, err := rg.c.Rollback(ctx, ro.ID, alice, "again"); err != nil || again.Version != got.Version {
		t.Errorf("a second rollback: version %d, %v; want nothing written", again.Version, err)
	}
}

func TestAScheduledRolloutStartsOnTime(t *testing.T) {
	rg := newRig(t, "")
	world(t, rg.st)
	ro := createRollout(t, rg.st, testPlan(), "alice")
	ctx := context.Background()
	if _, err := rg.c.Schedule(ctx, ro.ID, t0.Add(time.Hour), alice, ""); err != nil {
		t.Fatal(err)
	}
	rg.tick(30 * time.Minute)
	wantState(t, rg.get(ro.ID), rollout.Scheduled, 0)
	rg.tick(31 * time.Minute)
	got := rg.get(ro.ID)
	wantState(t, got, rollout.Running, 0)
	if got.Fingerprint == "" {
		t.Error("a start must record the values its evidence is about")
	}
}

func TestAScheduledRolloutWhoseFirstStageNeedsApprovalAsksForIt(t *testing.T) {
	rg := newRig(t, "")
	world(t, rg.st)
	p := testPlan()
	p.Stages[0].RequireApproval = true
	ro := createRollout(t, rg.st, p, "alice")
	ctx := context.Background()
	if _, err := rg.c.Schedule(ctx, ro.ID, t0.Add(time.Hour), alice, ""); err != nil {
		t.Fatal(err)
	}
	rg.tick(61 * time.Minute)
	rg.tick(5 * time.Second)
	wantState(t, rg.get(ro.ID), rollout.Scheduled, 0)
	var asked []notify.Event
	for _, e := range rg.j.events {
		if e.Kind == notify.ApprovalRequested {
			asked = append(asked, e)
		}
	}
	if len(asked) != 1 || asked[0].Stage != "alpha" || !strings.Contains(asked[0].Reason, "scheduled start has come") {
		t.Fatalf("approval requests %+v; want one for alpha", asked)
	}
	got, _, err := rg.c.Approve(ctx, ro.ID, -1, bob, "")
	if err != nil {
		t.Fatal(err)
	}
	wantState(t, got, rollout.Running, 0)
}
