package storetest

import (
	"encoding/json"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ramp-release/ramp/flags"
	"github.com/ramp-release/ramp/internal/audit"
	"github.com/ramp-release/ramp/internal/rollout"
	"github.com/ramp-release/ramp/internal/store"
)

// rolloutCases check plans, rollouts, decisions, approvals and channels.
var rolloutCases = []testCase{
	{
		name:        "SavedPlansAreVersionedAndAudited",
		explanation: "plans are created once by name, replaced only from their current version, listed by name, deleted, and every change is audited",
		f: func(t *testing.T, s store.Store) {
			ctx := t.Context()
			p := store.SavedPlan{Name: "smart-reply", Plan: testPlan()}
			created, err := s.PutPlan(ctx, p, 0, change)
			if err != nil {
				t.Fatal(err)
			}
			if created.Version != 1 || created.Plan.Name != "smart-reply" {
				t.Fatalf("created %+v; want version 1 and the plan named after its key", created)
			}
			wantErr(t, "creating it again", errOf(s.PutPlan(ctx, p, 0, change)), store.ErrExists)
			got, err := s.GetPlan(ctx, "smart-reply")
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(created, got, cmpOpts...); diff != "" {
				t.Errorf("GetPlan differs from what PutPlan returned (-put +get):\n%s", diff)
			}
			p.Plan.Stages[0].MinDuration = rollout.Duration(2 * time.Hour)
			updated, err := s.PutPlan(ctx, p, 1, change)
			if err != nil || updated.Version != 2 {
				t.Fatalf("update = %+v, %v; want version 2", updated, err)
			}
			wantErr(t, "an update from a stale version", errOf(s.PutPlan(ctx, p, 1, change)), store.ErrConflict)
			wantErr(t, "an update of a missing plan", errOf(s.PutPlan(ctx, store.SavedPlan{Name: "nope", Plan: testPlan()}, 3, change)), store.ErrNotFound)
			wantErr(t, "a plan with a bad name", errOf(s.PutPlan(ctx, store.SavedPlan{Name: "no spaces", Plan: testPlan()}, 0, change)), store.ErrInvalid)
			if _, err := s.PutPlan(ctx, store.SavedPlan{Name: "a-first", Plan: testPlan()}, 0, change); err != nil {
				t.Fatal(err)
			}
			list, err := s.ListPlans(ctx, store.Page{})
			if err != nil || len(list) != 2 || list[0].Name != "a-first" || list[1].Name != "smart-reply" {
				t.Fatalf("ListPlans = %d plans, %v; want a-first, smart-reply", len(list), err)
			}
			if list, _ := s.ListPlans(ctx, store.Page{After: "a-first"}); len(list) != 1 {
				t.Errorf("ListPlans after a-first = %d plans; want 1", len(list))
			}
			if err := s.DeletePlan(ctx, "smart-reply", change); err != nil {
				t.Fatal(err)
			}
			wantErr(t, "GetPlan after delete", errOf(s.GetPlan(ctx, "smart-reply")), store.ErrNotFound)
			wantActions(t, s, "plan:smart-reply", "plan.create", "plan.update", "plan.delete")
		},
	},
	{
		name:        "OneUnfinishedRolloutPerFlagAndEnvironment",
		explanation: "a rollout needs an existing flag and environment, and a second unfinished rollout of the same flag in the same environment is refused, while other environments and finished rollouts do not count",
		f: func(t *testing.T, s store.Store) {
			ctx := t.Context()
			rolloutWorld(t, s)
			env(t, s, "staging")
			r := createRollout(t, s, "prod")
			if r.Version != 1 || r.State.Status != rollout.Draft || r.State.RolloutID != r.ID || r.RequestedBy != change.Actor || !strings.HasPrefix(r.ID, "ro_") {
				t.Fatalf("created %+v; want a draft at version 1 requested by %s", r, change.Actor)
			}
			got, err := s.GetRollout(ctx, r.ID)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(r, got, cmpOpts...); diff != "" {
				t.Errorf("GetRollout differs from CreateRollout (-create +get):\n%s", diff)
			}
			wantErr(t, "a second rollout of the flag", errOf(s.CreateRollout(ctx, newRollout("prod"), change)), store.ErrExists)
			createRollout(t, s, "staging")
			bad := newRollout("prod")
			bad.Flag = "nope"
			wantErr(t, "a rollout of a missing flag", errOf(s.CreateRollout(ctx, bad, change)), store.ErrNotFound)
			wantErr(t, "a rollout in a missing environment", errOf(s.CreateRollout(ctx, newRollout("nowhere"), change)), store.ErrNotFound)

			apply(t, s, r, start(r), true)
			r = mustGetRollout(t, s, r.ID)
			rb, _, _ := r.State.Rollback("alice", "cancel", r.State.Since.Add(time.Minute))
			u := update(r, rb, "rollback")
			u.Install, u.Block = true, rollout.Render(&r.Plan, rb)
			apply(t, s, r, u, true)
			if _, err := s.CreateRollout(ctx, newRollout("prod"), change); err != nil {
				t.Errorf("after a rollback, a new rollout of the flag: %v", err)
			}
			all, err := s.ListRollouts(ctx, store.RolloutFilter{})
			if err != nil || len(all) != 3 {
				t.Fatalf("ListRollouts = %d, %v; want 3", len(all), err)
			}
			active, _ := s.ListRollouts(ctx, store.RolloutFilter{Statuses: store.ActiveStatuses})
			if len(active) != 2 {
				t.Errorf("active rollouts = %d; want 2", len(active))
			}
			prod, _ := s.ListRollouts(ctx, store.RolloutFilter{Environment: "prod", Flag: "smart-reply", Limit: 1})
			if len(prod) != 1 || prod[0].State.Status != rollout.Draft {
				t.Errorf("the newest rollout in prod = %+v; want the new draft", prod)
			}
			wantActions(t, s, "rollout:"+r.ID, "rollout.create", "rollout.start", "rollout.rollback")
		},
	},
	{
		name:        "ADecisionIsStateFlagLogAndAuditInOneTransaction",
		explanation: "applying a decision writes the rollout's state, the flag's rendered rules (below the user's own, version and environment revision bumped), the decision log entry and the audit entries together, and they name each other",
		f: func(t *testing.T, s store.Store) {
			ctx := t.Context()
			rolloutWorld(t, s)
			r := createRollout(t, s, "prod")
			flagBefore := getFlag(t, s, "prod", "smart-reply")
			revBefore := revision(t, s, "prod")
			out, d := apply(t, s, r, start(r), true)
			if out.Version != 2 || out.State.Status != rollout.Running || out.Epoch != 1 || out.Fingerprint != "fp-1" {
				t.Errorf("rollout after start = %+v; want running at version 2, epoch 1, fingerprint fp-1", out)
			}
			f := getFlag(t, s, "prod", "smart-reply")
			if f.State.Version != flagBefore.State.Version+1 || d.FlagVersion != f.State.Version {
				t.Errorf("flag version %d → %d, decision names %d; want one more, named", flagBefore.State.Version, f.State.Version, d.FlagVersion)
			}
			if rev := revision(t, s, "prod"); rev <= revBefore {
				t.Errorf("revision %d → %d; want it to increase so SDK snapshots change", revBefore, rev)
			}
			if len(f.State.Rules) < 2 || f.State.Rules[0].ID != "qa" || !rollout.IsManaged(f.State.Rules[1]) {
				t.Fatalf("rules = %v; want the user's qa rule first, then the managed block", ruleIDs(f.State.Rules))
			}
			if f.State.Rules[1].Metadata[rollout.MetaRolloutID] != r.ID {
				t.Errorf("managed rule metadata %v; want rollout_id %s", f.State.Rules[1].Metadata, r.ID)
			}
			log, err := s.ListRolloutDecisions(ctx, r.ID, 0, 0)
			if err != nil || len(log) != 1 {
				t.Fatalf("decision log = %v, %v; want one entry", log, err)
			}
			if diff := cmp.Diff(d, log[0], cmpOpts...); diff != "" {
				t.Errorf("logged decision differs from the returned one (-returned +logged):\n%s", diff)
			}
			if log[0].Evidence == nil || log[0].Evidence.StageName != "alpha" {
				t.Errorf("logged evidence = %+v; want stage alpha", log[0].Evidence)
			}
			entries := allAudit(t, s)
			last, prev := entries[len(entries)-1], entries[len(entries)-2]
			if last.Seq != d.AuditSeq || last.Action != "rollout.start" || last.Actor != "controller" || last.Reason != "go" {
				t.Errorf("last audit entry = %d %s by %s (%q); want %d rollout.start by controller (go)", last.Seq, last.Action, last.Actor, last.Reason, d.AuditSeq)
			}
			if prev.Action != "flag.state.update" || prev.Target != "flag:smart-reply" || prev.Environment != "prod" || !strings.Contains(prev.Reason, r.ID) {
				t.Errorf("the flag's audit entry = %s on %s in %s (%q); want flag.state.update of flag:smart-reply in prod naming the rollout", prev.Action, prev.Target, prev.Environment, prev.Reason)
			}
			after := decodeObject(t, last.After)
			if _, ok := after["decision"]; !ok {
				t.Errorf("the audit entry's after lacks the decision and its evidence: %s", last.After)
			}
			if err := audit.Verify(entries); err != nil {
				t.Error(err)
			}

			t.Run("a hold that changes nothing in the flag leaves it alone", func(t *testing.T) {
				out := mustGetRollout(t, s, r.ID)
				u := update(out, out.State, store.KindHold)
				u.Waiting = []rollout.HoldReason{rollout.HoldBlackout}
				u.Decision.Action, u.Decision.Holds = rollout.Hold, u.Waiting
				held, d := apply(t, s, out, u, false)
				if d.FlagVersion != 0 || getFlag(t, s, "prod", "smart-reply").State.Version != f.State.Version {
					t.Errorf("a hold changed the flag (decision flag version %d)", d.FlagVersion)
				}
				if !cmp.Equal(held.Waiting, []rollout.HoldReason{rollout.HoldBlackout}) {
					t.Errorf("waiting = %v; want [blackout]", held.Waiting)
				}
				// Installing the same block again changes nothing either.
				u = update(held, held.State, "pause")
				u.Install, u.Block = true, rollout.Render(&held.Plan, held.State)
				paused, d := apply(t, s, held, u, false)
				if d.FlagVersion != 0 || len(paused.Waiting) != 0 {
					t.Errorf("re-installing the same block: flag version %d, waiting %v; want 0 and cleared", d.FlagVersion, paused.Waiting)
				}
			})
		},
	},
	{
		name:        "AStaleOrInvalidDecisionWritesNothing",
		explanation: "a decision made on an old version of the rollout, by a controller with a stale fencing epoch, or whose rules would not compile, fails without writing any part: rollout, flag, revision, log and audit stay as they were",
		f: func(t *testing.T, s store.Store) {
			ctx := t.Context()
			rolloutWorld(t, s)
			r := createRollout(t, s, "prod")
			u := start(r)
			u.Epoch = 2
			r, _ = apply(t, s, r, u, true)

			snapshot := func() string {
				ro := mustGetRollout(t, s, r.ID)
				f := getFlag(t, s, "prod", "smart-reply")
				log, _ := s.ListRolloutDecisions(ctx, r.ID, 0, 0)
				b, _ := json.Marshal([]any{ro, f, revision(t, s, "prod"), log, len(allAudit(t, s))})
				return string(b)
			}
			before := snapshot()
			next, _, _ := r.State.Advance(&r.Plan, "controller", "passed", r.State.Since.Add(time.Hour))

			stale := update(r, next, "advance")
			stale.ExpectVersion, stale.Epoch = r.Version-1, 2
			stale.Install, stale.Block = true, rollout.Render(&r.Plan, next)
			wantErr(t, "a decision on an old version", errOf3(s.ApplyRolloutDecision(ctx, stale)), store.ErrConflict)

			fenced := update(r, next, "advance")
			fenced.Epoch = 1
			fenced.Install, fenced.Block = true, rollout.Render(&r.Plan, next)
			wantErr(t, "a decision by a deposed controller", errOf3(s.ApplyRolloutDecision(ctx, fenced)), store.ErrFenced)

			broken := update(r, next, "advance")
			broken.Install, broken.Epoch = true, 2
			broken.Block = []flags.Rule{{ID: rollout.RuleIDPrefix + "x", Conditions: []flags.Condition{{Op: flags.OpInSegment, Segment: "no-such-segment"}},
				Serve: flags.Allocation{Variant: "on"}}}
			wantErr(t, "a decision whose rules do not compile", errOf3(s.ApplyRolloutDecision(ctx, broken)), store.ErrInvalid)

			if after := snapshot(); after != before {
				t.Errorf("a refused decision wrote something:\nbefore %s\nafter  %s", before, after)
			}
			ok := update(r, next, "advance")
			ok.Epoch = 3
			ok.Install, ok.Block = true, rollout.Render(&r.Plan, next)
			if out, _ := apply(t, s, r, ok, true); out.Epoch != 3 || out.State.Stage != 1 {
				t.Errorf("a decision by a newer epoch: %+v; want stage 1 at epoch 3", out.State)
			}
		},
	},
	{
		name:        "ConcurrentDecisionsOnOneVersionLetOneWin",
		explanation: "two deciders racing on the same version of a rollout: exactly one decision is applied, the other gets ErrConflict",
		f: func(t *testing.T, s store.Store) {
			rolloutWorld(t, s)
			r := createRollout(t, s, "prod")
			var wins, conflicts atomic.Int32
			parallel(4, func(int) {
				_, _, err := s.ApplyRolloutDecision(t.Context(), start(r))
				switch {
				case err == nil:
					wins.Add(1)
				case errors.Is(err, store.ErrConflict):
					conflicts.Add(1)
				default:
					t.Error(err)
				}
			})
			if wins.Load() != 1 || conflicts.Load() != 3 {
				t.Errorf("%d applied, %d conflicts; want 1 and 3", wins.Load(), conflicts.Load())
			}
			if log, _ := s.ListRolloutDecisions(t.Context(), r.ID, 0, 0); len(log) != 1 {
				t.Errorf("%d decisions logged; want 1", len(log))
			}
		},
	},
	{
		name:        "ApprovalsNeedFourEyes",
		explanation: "approvals are kept per rollout in order and audited, and one by the requester is refused",
		f: func(t *testing.T, s store.Store) {
			ctx := t.Context()
			rolloutWorld(t, s)
			r := createRollout(t, s, "prod")
			a := rollout.Approval{RolloutID: r.ID, Stage: 1, Approver: "bob", ApproverRole: "release-manager", Requester: r.RequestedBy,
				At: time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)}
			self := a
			self.Approver = r.RequestedBy
			wantErr(t, "an approval by the requester", errOf(s.AddApproval(ctx, self, change)), store.ErrInvalid)
			missing := a
			missing.RolloutID = "ro_nope"
			wantErr(t, "an approval of a missing rollout", errOf(s.AddApproval(ctx, missing, change)), store.ErrNotFound)
			beyond := a
			beyond.Stage = 9
			wantErr(t, "an approval of a stage the plan lacks", errOf(s.AddApproval(ctx, beyond, change)), store.ErrInvalid)
			if _, err := s.AddApproval(ctx, a, store.Change{Actor: "bob", Reason: "looks good"}); err != nil {
				t.Fatal(err)
			}
			got, err := s.ListApprovals(ctx, r.ID)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]rollout.Approval{a}, got, cmpOpts...); diff != "" {
				t.Errorf("approvals (-want +got):\n%s", diff)
			}
			wantActions(t, s, "rollout:"+r.ID, "rollout.create", "rollout.approve")
		},
	},
	{
		name:        "ChannelsKeepTheirSecretsOutOfTheAuditLog",
		explanation: "notification channels are per environment and versioned; their settings (with secrets) read back intact for use but never appear in audit entries",
		f: func(t *testing.T, s store.Store) {
			ctx := t.Context()
			env(t, s, "prod", "staging")
			const secret = "https://hooks.example.com/services/T0/B0/very-secret"
			ch := store.NotificationChannel{Environment: "prod", Name: "ops", Type: "slack", Kinds: []string{"rolled_back", "paused"},
				Config: json.RawMessage(`{"url":"` + secret + `"}`)}
			created, err := s.PutNotificationChannel(ctx, ch, 0, change)
			if err != nil {
				t.Fatal(err)
			}
			if created.Version != 1 {
				t.Errorf("version %d; want 1", created.Version)
			}
			wantErr(t, "creating it again", errOf(s.PutNotificationChannel(ctx, ch, 0, change)), store.ErrExists)
			got, err := s.GetNotificationChannel(ctx, "prod", "ops")
			if err != nil {
				t.Fatal(err)
			}
			var cfg map[string]string
			if err := json.Unmarshal(got.Config, &cfg); err != nil || cfg["url"] != secret {
				t.Errorf("stored settings %s; want the URL back in clear", got.Config)
			}
			if !cmp.Equal(got.Kinds, ch.Kinds) || got.Type != "slack" {
				t.Errorf("channel = %+v", got)
			}
			ch.Kinds = nil
			if _, err := s.PutNotificationChannel(ctx, ch, 1, change); err != nil {
				t.Fatal(err)
			}
			wantErr(t, "an update from a stale version", errOf(s.PutNotificationChannel(ctx, ch, 1, change)), store.ErrConflict)
			other := ch
			other.Environment, other.Name = "staging", "dev-hooks"
			if _, err := s.PutNotificationChannel(ctx, other, 0, change); err != nil {
				t.Fatal(err)
			}
			if l, _ := s.ListNotificationChannels(ctx, "prod"); len(l) != 1 {
				t.Errorf("prod has %d channels; want 1", len(l))
			}
			if l, _ := s.ListNotificationChannels(ctx, ""); len(l) != 2 {
				t.Errorf("%d channels in all; want 2", len(l))
			}
			wantErr(t, "a channel in a missing environment", errOf(s.GetNotificationChannel(ctx, "nowhere", "ops")), store.ErrNotFound)
			if err := s.DeleteNotificationChannel(ctx, "prod", "ops", change); err != nil {
				t.Fatal(err)
			}
			wantErr(t, "GetNotificationChannel after delete", errOf(s.GetNotificationChannel(ctx, "prod", "ops")), store.ErrNotFound)
			for _, e := range allAudit(t, s) {
				if strings.Contains(string(e.Before)+string(e.After)+e.Reason, "very-secret") {
					t.Errorf("audit entry %d (%s) contains the secret: %s %s", e.Seq, e.Action, e.Before, e.After)
				}
			}
			wantActions(t, s, "notification_channel:ops", "notification_channel.create", "notification_channel.update", "notification_channel.delete")
		},
	},
	{
		name:        "DeliveriesAreRecordedAndListedNewestFirst",
		explanation: "delivery records are kept with their outcome and can be filtered by environment and rollout",
		f: func(t *testing.T, s store.Store) {
			ctx := t.Context()
			at := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
			for i, d := range []store.NotificationDelivery{
				{Channel: "ops", Environment: "prod", EventID: "e1", Kind: "rolled_back", Flag: "f", RolloutID: "ro_1", Status: "delivered", Attempts: 1},
				{Channel: "ops", Environment: "prod", EventID: "e2", Kind: "paused", Flag: "f", RolloutID: "ro_2", Status: "failed", Attempts: 5, LastError: "503"},
				{Channel: "dev", Environment: "staging", EventID: "e3", Kind: "completed", Flag: "g", RolloutID: "ro_3", Status: "delivered", Attempts: 1},
			} {
				d.QueuedAt, d.DoneAt = at.Add(time.Duration(i)*time.Second), at.Add(time.Duration(i)*time.Second+time.Millisecond)
				if out, err := s.RecordNotificationDelivery(ctx, d); err != nil || out.Seq == 0 {
					t.Fatalf("record: %+v, %v", out, err)
				}
			}
			prod, err := s.ListNotificationDeliveries(ctx, store.DeliveryFilter{Environment: "prod"})
			if err != nil || len(prod) != 2 || prod[0].EventID != "e2" || prod[0].LastError != "503" || !prod[0].QueuedAt.Equal(at.Add(time.Second)) {
				t.Fatalf("prod deliveries = %+v, %v; want e2 then e1", prod, err)
			}
			if l, _ := s.ListNotificationDeliveries(ctx, store.DeliveryFilter{RolloutID: "ro_3"}); len(l) != 1 || l[0].Channel != "dev" {
				t.Errorf("deliveries of ro_3 = %+v", l)
			}
			if l, _ := s.ListNotificationDeliveries(ctx, store.DeliveryFilter{Limit: 1}); len(l) != 1 || l[0].EventID != "e3" {
				t.Errorf("newest delivery = %+v; want e3", l)
			}
		},
	},
}

// testPlan is a small valid plan of flag smart-reply in prod: alpha (segment
// internal), ring 10 %, ring 100 %.
func testPlan() rollout.Plan {
	return rollout.Plan{
		Flag: "smart-reply", Environment: "prod", Treatment: "on", Control: "off",
		Stages: []rollout.Stage{
			{Name: "alpha", Segments: []string{"internal"}, MinDuration: rollout.Duration(time.Hour)},
			{Name: "ring-10", Percent: 10, RequireApproval: true},
			{Name: "ring-100", Percent: 100},
		},
		Guardrails: []rollout.Guardrail{{Metric: "error_rate", Direction: rollout.Increase, Tolerance: rollout.Amount{Relative: 0.1}}},
	}
}

// rolloutWorld creates environment prod with a segment internal and a bool flag
// smart-reply that forces a QA user on and serves off to everyone else.
func rolloutWorld(t *testing.T, s store.Store) {
	t.Helper()
	env(t, s, "prod")
	putSegment(t, s, store.Segment{Environment: "prod", Key: "internal", Included: []string{"ana"}}, 0)
	st := offState()
	st.Enabled = true
	st.Rules = []flags.Rule{{ID: "qa", Conditions: []flags.Condition{{Attribute: "key", Op: flags.OpEquals, Value: "qa-user"}},
		Serve: flags.Allocation{Variant: "on"}}}
	createFlag(t, s, boolDef("smart-reply"), st)
}

func newRollout(env string) store.Rollout {
	p := testPlan()
	p.Environment = env
	return store.Rollout{Plan: p, Flag: p.Flag, Environment: env, State: rollout.State{Status: rollout.Draft, Reason: "created"}}
}

func createRollout(t *testing.T, s store.Store, env string) store.Rollout {
	t.Helper()
	r, err := s.CreateRollout(t.Context(), newRollout(env), change)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func mustGetRollout(t *testing.T, s store.Store, id string) store.Rollout {
	t.Helper()
	r, err := s.GetRollout(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// update is a decision of kind moving r to next, by the controller at epoch 1.
func update(r store.Rollout, next rollout.State, kind string) store.RolloutUpdate {
	return store.RolloutUpdate{
		ID: r.ID, ExpectVersion: r.Version, Epoch: 1, State: next,
		Decision: store.RolloutDecision{At: next.Since, Actor: "controller", Kind: kind, From: r.State.Status, To: next.Status,
			FromStage: r.State.Stage, ToStage: next.Stage, Reason: next.Reason,
			Evidence: &rollout.Evidence{StageName: r.Plan.Stages[next.Stage].Name}},
		Change: store.Change{Actor: "controller", Reason: next.Reason},
	}
}

// start is the decision that starts r and installs its first stage.
func start(r store.Rollout) store.RolloutUpdate {
	at := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	next, _, _ := r.State.Start(&r.Plan, "controller", "go", at)
	u := update(r, next, "start")
	u.Install, u.Block, u.Fingerprint = true, rollout.Render(&r.Plan, next), "fp-1"
	return u
}

// apply applies u to r and checks the new version and whether the flag changed.
func apply(t *testing.T, s store.Store, r store.Rollout, u store.RolloutUpdate, flagChanges bool) (store.Rollout, store.RolloutDecision) {
	t.Helper()
	out, d, err := s.ApplyRolloutDecision(t.Context(), u)
	if err != nil {
		t.Fatal(err)
	}
	if out.Version != r.Version+1 {
		t.Errorf("rollout version %d → %d; want one more", r.Version, out.Version)
	}
	if (d.FlagVersion != 0) != flagChanges {
		t.Errorf("decision flag version %d; want a change: %v", d.FlagVersion, flagChanges)
	}
	if d.Seq == 0 || d.AuditSeq == 0 || d.RolloutID != r.ID {
		t.Errorf("decision %+v lacks its seq, audit seq or rollout", d)
	}
	return out, d
}

func ruleIDs(rules []flags.Rule) []string {
	ids := make([]string, len(rules))
	for i, r := range rules {
		ids[i] = r.ID
	}
	return ids
}

// wantActions checks the audit actions recorded on target, oldest first.
func wantActions(t *testing.T, s store.Store, target string, want ...string) {
	t.Helper()
	es, err := s.ListAudit(t.Context(), store.AuditFilter{Target: target})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for i := len(es) - 1; i >= 0; i-- {
		got = append(got, es[i].Action)
	}
	if diff := cmp.Diff(want, got, cmpOpts...); diff != "" {
		t.Errorf("audit actions on %s (-want +got):\n%s", target, diff)
	}
}

func errOf[T any](_ T, err error) error { return err }

func errOf3[A, B any](_ A, _ B, err error) error { return err }
