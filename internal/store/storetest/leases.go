package storetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ramp-release/ramp/internal/rollout"
	"github.com/ramp-release/ramp/internal/store"
)

// acquire takes or renews a lease and fails the test on an error.
func acquire(t *testing.T, s store.Store, holder string, ttl time.Duration) store.Lease {
	t.Helper()
	l, err := s.AcquireLease(t.Context(), store.ControllerLease, holder, ttl)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

var leaseCases = []testCase{
	{
		name:        "ALeaseHasOneHolderAtATime",
		explanation: "a free lease goes to the first to ask with epoch 1; while it lasts, others get it back unchanged and its holder extends it with the same epoch; a release by its holder frees it at once and the next holder gets epoch 2",
		f: func(t *testing.T, s store.Store) {
			ctx := t.Context()
			if _, err := s.GetLease(ctx, store.ControllerLease); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("a lease nobody took: %v; want ErrNotFound", err)
			}
			a := acquire(t, s, "a", time.Hour)
			if a.Holder != "a" || a.Epoch != 1 || !a.ExpiresAt.After(a.AcquiredAt) {
				t.Fatalf("the first acquisition: %+v; want a at epoch 1, expiring after it was acquired", a)
			}
			if b := acquire(t, s, "b", time.Hour); b.Holder != "a" || b.Epoch != 1 {
				t.Errorf("b asking for a's lease: %+v; want it unchanged (a at epoch 1)", b)
			}
			renewed := acquire(t, s, "a", 2*time.Hour)
			if renewed.Holder != "a" || renewed.Epoch != 1 || !renewed.ExpiresAt.After(a.ExpiresAt) || !renewed.AcquiredAt.Equal(a.AcquiredAt) {
				t.Errorf("a renewing: %+v; want epoch 1, a later expiry than %s and the same acquisition time", renewed, a.ExpiresAt)
			}
			if err := s.ReleaseLease(ctx, store.ControllerLease, "b", 1); err != nil {
				t.Fatal(err)
			}
			if err := s.ReleaseLease(ctx, store.ControllerLease, "a", 0); err != nil {
				t.Fatal(err)
			}
			if b := acquire(t, s, "b", time.Hour); b.Holder != "a" {
				t.Errorf("after releases by another holder and for another epoch: %+v; want a still holding", b)
			}
			if err := s.ReleaseLease(ctx, store.ControllerLease, "a", 1); err != nil {
				t.Fatal(err)
			}
			b := acquire(t, s, "b", time.Hour)
			if b.Holder != "b" || b.Epoch != 2 {
				t.Errorf("after a released it: %+v; want b at epoch 2", b)
			}
			got, err := s.GetLease(ctx, store.ControllerLease)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(b, got); diff != "" {
				t.Errorf("GetLease (-acquired +got):\n%s", diff)
			}
		},
	},
	{
		name:        "AnExpiredLeasePassesWithANewEpoch",
		explanation: "once a lease's time is up anyone may take it, and the epoch increases even when its last holder takes it back: whoever held it may have been replaced meanwhile",
		f: func(t *testing.T, s store.Store) {
			a := acquire(t, s, "a", 50*time.Millisecond)
			deadline := time.Now().Add(10 * time.Second)
			var b store.Lease
			for b = acquire(t, s, "b", time.Hour); b.Holder != "b"; b = acquire(t, s, "b", time.Hour) {
				if time.Now().After(deadline) {
					t.Fatalf("a's lease of 50ms (%+v) did not expire within 10s", a)
				}
				time.Sleep(10 * time.Millisecond) // polling the database clock
			}
			if b.Epoch != a.Epoch+1 || !b.AcquiredAt.After(a.AcquiredAt) {
				t.Errorf("taking an expired lease: %+v after %+v; want the next epoch, acquired later", b, a)
			}
			if err := s.ReleaseLease(t.Context(), store.ControllerLease, "b", b.Epoch); err != nil {
				t.Fatal(err)
			}
			b2 := acquire(t, s, "b", time.Hour)
			if b2.Holder != "b" || b2.Epoch != b.Epoch+1 {
				t.Errorf("b taking back the lease it released: %+v; want b at epoch %d", b2, b.Epoch+1)
			}
		},
	},
	{
		name:        "ConcurrentCandidatesElectOne",
		explanation: "candidates asking for a free lease at the same moment elect exactly one holder, with one epoch, and every candidate is told who it is",
		f: func(t *testing.T, s store.Store) {
			const n = 8
			got := make([]store.Lease, n)
			errs := make([]error, n)
			parallel(n, func(i int) {
				got[i], errs[i] = s.AcquireLease(t.Context(), store.ControllerLease, fmt.Sprintf("candidate-%d", i), time.Hour)
			})
			winners := map[string]bool{}
			for i := range n {
				if errs[i] != nil {
					t.Fatalf("candidate %d: %v", i, errs[i])
				}
				winners[got[i].Holder] = true
				if got[i].Epoch != 1 {
					t.Errorf("candidate %d was told %+v; want epoch 1", i, got[i])
				}
			}
			if len(winners) != 1 {
				t.Errorf("the candidates were told of holders %v; want exactly one", winners)
			}
		},
	},
	{
		name:        "ADeposedLeadersDecisionIsRefused",
		explanation: "once a new leader took the controller lease, a decision carrying the old epoch is refused with ErrFenced and writes nothing, even on a rollout the new leader has not touched yet; a person's operation (epoch 0) is not a leader's and goes through on any replica, leaving the epoch alone",
		f: func(t *testing.T, s store.Store) {
			ctx := t.Context()
			rolloutWorld(t, s)
			r := createRollout(t, s, "prod")
			old := acquire(t, s, "a", time.Hour)
			u := start(r)
			u.Epoch = old.Epoch
			r, _ = apply(t, s, r, u, true)

			if err := s.ReleaseLease(ctx, store.ControllerLease, "a", old.Epoch); err != nil {
				t.Fatal(err)
			}
			leader := acquire(t, s, "b", time.Hour)
			next, _, _ := r.State.Advance(&r.Plan, "controller", "passed", r.State.Since.Add(time.Hour))
			stale := update(r, next, "advance")
			stale.Epoch = old.Epoch
			stale.Install, stale.Block = true, rollout.Render(&r.Plan, next)
			wantErr(t, "a decision by the deposed leader", errOf3(s.ApplyRolloutDecision(ctx, stale)), store.ErrFenced)
			if got := mustGetRollout(t, s, r.ID); got.Version != r.Version || got.State.Stage != 0 {
				t.Errorf("the refused decision wrote version %d, stage %d; want %d, 0", got.Version, got.State.Stage, r.Version)
			}

			paused, _, _ := r.State.Pause("alice", "looking at a dashboard", r.State.Since.Add(time.Minute))
			person := update(r, paused, "pause")
			person.Epoch = 0
			person.Decision.Actor, person.Change.Actor = "alice", "alice"
			r, _ = apply(t, s, r, person, false)
			if r.Epoch != old.Epoch || r.State.Status != rollout.Paused {
				t.Errorf("after a person's pause: %s at epoch %d; want paused at epoch %d", r.State.Status, r.Epoch, old.Epoch)
			}

			resumed, _, _ := r.State.Resume("controller", "resumed", r.State.Since.Add(time.Minute))
			ok := update(r, resumed, "resume")
			ok.Epoch = leader.Epoch
			if r, _ = apply(t, s, r, ok, false); r.Epoch != leader.Epoch {
				t.Errorf("a decision by the new leader left the rollout at epoch %d; want %d", r.Epoch, leader.Epoch)
			}
		},
	},
}
