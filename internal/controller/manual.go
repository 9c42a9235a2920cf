package controller

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ramp-release/ramp/internal/rollout"
	"github.com/ramp-release/ramp/internal/store"
)

// manual runs a person's operation on a rollout under its lock and commits the
// transition op returns. An operation that changes nothing (pausing a paused
// rollout, rolling back a rolled-back one) returns the rollout as it is.
func (c *Controller) manual(ctx context.Context, id string, op func(cur store.Rollout, p *rollout.Plan, now time.Time) (outcome, error)) (store.Rollout, error) {
	unlock := c.lock(id)
	defer unlock()
	cur, err := c.st.GetRollout(ctx, id)
	if err != nil {
		return cur, err
	}
	p := planOf(cur)
	o, err := op(cur, &p, c.now())
	if err != nil {
		return cur, err
	}
	if !o.tr.Changed() {
		return cur, nil
	}
	return c.commit(ctx, cur, &p, o)
}

func orDefault(reason, fallback string) string {
	if reason != "" {
		return reason
	}
	return fallback
}

// Start enters the first stage now. The flag must be enabled in the rollout's
// environment, and a first stage that requires approval needs one (see Advance).
func (c *Controller) Start(ctx context.Context, id string, by Actor, reason string) (store.Rollout, error) {
	return c.manual(ctx, id, func(cur store.Rollout, p *rollout.Plan, now time.Time) (outcome, error) {
		f, err := c.st.GetFlag(ctx, cur.Environment, cur.Flag)
		if err != nil {
			return outcome{}, err
		}
		if !f.State.Enabled {
			return outcome{}, fmt.Errorf("%w: flag %q is disabled in %s, so it serves its off variant to everyone and the rollout would change nothing; enable it first",
				ErrBlocked, cur.Flag, cur.Environment)
		}
		approval, err := c.approvalFor(ctx, cur, p, 0, by, now)
		if err != nil {
			return outcome{}, err
		}
		next, tr, err := cur.State.Start(p, by.Name, orDefault(reason, "started by "+by.Name), now)
		if err != nil {
			return outcome{}, err
		}
		fp, err := c.fingerprint(ctx, cur)
		if err != nil {
			return outcome{}, err
		}
		return outcome{next: next, tr: tr, fingerprint: fp, evidence: rollout.Evidence{StageName: stageName(p, 0), Approval: approval}}, nil
	})
}

// Schedule sets a draft (or scheduled) rollout to start at the given time; the
// controller starts it then, subject to the calendar and the first stage's approval.
func (c *Controller) Schedule(ctx context.Context, id string, at time.Time, by Actor, reason string) (store.Rollout, error) {
	return c.manual(ctx, id, func(cur store.Rollout, p *rollout.Plan, now time.Time) (outcome, error) {
		next, tr, err := cur.State.Schedule(at.UTC(), by.Name, orDefault(reason, "scheduled to start at "+at.UTC().Format(time.RFC3339)), now)
		return outcome{next: next, tr: tr}, err
	})
}

// Advance moves a running rollout to its next stage now, or completes it from its
// last stage, whatever the evidence and minimums say: a release manager's call,
// recorded with the evidence it overrode. Two things it does not override: a
// blackout (a freeze holds people too) and a stage's approval, which must come from
// a release manager other than the requester — the one advancing, when that is
// someone else, or an approval on record.
func (c *Controller) Advance(ctx context.Context, id string, by Actor, reason string) (store.Rollout, error) {
	// The evidence overridden is recorded; it is read before the lock, like a tick's.
	r, err := c.st.GetRollout(ctx, id)
	if err != nil {
		return r, err
	}
	a := c.readAnalysis(ctx, r)
	return c.manual(ctx, id, func(cur store.Rollout, p *rollout.Plan, now time.Time) (outcome, error) {
		if cur.State.Status == rollout.Running {
			if b, end, in, ok := p.ActiveBlackout(now); in {
				msg := fmt.Sprintf("blackout %q is in force until %s", b.Name, end.Format(time.RFC3339))
				if !ok {
					msg = fmt.Sprintf("blackout %q cannot be read, so it is treated as in force", b.Name)
				}
				return outcome{}, fmt.Errorf("%w: %s; nothing advances during a blackout (rolling back is always possible)", ErrBlocked, msg)
			}
		}
		approvals, err := c.st.ListApprovals(ctx, id)
		if err != nil {
			return outcome{}, err
		}
		preview := rollout.Decide(p, cur.State, a, approvals, now)
		ev := preview.Evidence
		var next rollout.State
		var tr rollout.Transition
		if cur.State.Status == rollout.Running && cur.State.Stage == len(p.Stages)-1 {
			next, tr, err = cur.State.Complete(p, by.Name, orDefault(reason, "completed by "+by.Name), now)
		} else {
			if cur.State.Status == rollout.Running {
				if ev.Approval, err = c.approvalFor(ctx, cur, p, cur.State.Stage+1, by, now); err != nil {
					return outcome{}, err
				}
			}
			next, tr, err = cur.State.Advance(p, by.Name, orDefault(reason, "advanced by "+by.Name), now)
		}
		if err != nil {
			return outcome{}, err
		}
		if preview.Action != rollout.Advance && preview.Action != rollout.Complete && preview.Reason != "" {
			tr.Reason += " (overriding: " + preview.Reason + ")"
			next.Reason = tr.Reason
		}
		return outcome{next: next, tr: tr, evidence: ev}, nil
	})
}

// approvalFor checks that entering stage may happen on by's word: it needs no
// approval, or by is a release manager other than the requester, or a valid
// approval is on record. It returns the approval that counts.
func (c *Controller) approvalFor(ctx context.Context, r store.Rollout, p *rollout.Plan, stage int, by Actor, now time.Time) (*rollout.Approval, error) {
	if stage < 0 || stage >= len(p.Stages) || !p.Stages[stage].RequireApproval {
		return nil, nil
	}
	if by.Name != r.RequestedBy && by.Role.Allows(store.RoleReleaseManager) {
		return &rollout.Approval{RolloutID: r.ID, Stage: stage, Approver: by.Name, ApproverRole: string(by.Role), Requester: r.RequestedBy, At: now}, nil
	}
	approvals, err := c.st.ListApprovals(ctx, r.ID)
	if err != nil {
		return nil, err
	}
	for _, a := range approvals {
		if a.Stage == stage && a.Approver != a.Requester && a.Approver != "" &&
			store.Role(a.ApproverRole).Allows(store.RoleReleaseManager) && !a.At.After(now) && !a.At.Before(r.State.EvidenceStart) {
			return &a, nil
		}
	}
	return nil, fmt.Errorf("%w: stage %q requires the approval of a %s other than %s, who requested this rollout; ask one to approve it (ramp rollout approve %s)",
		ErrForbidden, p.Stages[stage].Name, store.RoleReleaseManager, r.RequestedBy, r.ID)
}

// Pause stops a running rollout from advancing; it keeps serving its stage.
func (c *Controller) Pause(ctx context.Context, id string, by Actor, reason string) (store.Rollout, error) {
	return c.manual(ctx, id, func(cur store.Rollout, p *rollout.Plan, now time.Time) (outcome, error) {
		next, tr, err := cur.State.Pause(by.Name, orDefault(reason, "paused by "+by.Name), now)
		return outcome{next: next, tr: tr}, err
	})
}

// Resume lets a paused rollout advance again. With restartEvidence, the current
// stage's evidence period starts anew — needed after a pause for missing data or a
// fixed problem, since the old period would pause it again.
func (c *Controller) Resume(ctx context.Context, id string, by Actor, reason string, restartEvidence bool) (store.Rollout, error) {
	return c.manual(ctx, id, func(cur store.Rollout, p *rollout.Plan, now time.Time) (outcome, error) {
		why := orDefault(reason, "resumed by "+by.Name)
		if restartEvidence {
			why += "; a new evidence period starts"
		}
		next, tr, err := cur.State.Resume(by.Name, why, now)
		if err != nil {
			return outcome{}, err
		}
		o := outcome{next: next, tr: tr}
		if restartEvidence {
			if o.next, _, err = next.RestartEvidence(by.Name, why, now); err != nil {
				return outcome{}, err
			}
			if o.fingerprint, err = c.fingerprint(ctx, cur); err != nil {
				return outcome{}, err
			}
		}
		return o, nil
	})
}

// Rollback serves control to everyone, from any status, with no approval. It
// returns once control is committed and published to the SDK streams; it never
// waits for the analysis.
func (c *Controller) Rollback(ctx context.Context, id string, by Actor, reason string) (store.Rollout, error) {
	return c.manual(ctx, id, func(cur store.Rollout, p *rollout.Plan, now time.Time) (outcome, error) {
		next, tr, err := cur.State.Rollback(by.Name, orDefault(reason, "rolled back by "+by.Name), now)
		return outcome{next: next, tr: tr, alert: true}, err
	})
}

// RestartEvidence starts a new evidence period for the current stage.
func (c *Controller) RestartEvidence(ctx context.Context, id string, by Actor, reason string) (store.Rollout, error) {
	return c.manual(ctx, id, func(cur store.Rollout, p *rollout.Plan, now time.Time) (outcome, error) {
		next, tr, err := cur.State.RestartEvidence(by.Name, orDefault(reason, "new evidence period started by "+by.Name), now)
		if err != nil {
			return outcome{}, err
		}
		fp, err := c.fingerprint(ctx, cur)
		return outcome{next: next, tr: tr, fingerprint: fp}, err
	})
}

// NextStage is the stage an approval given now is for: the first for a rollout not
// yet started, the next one otherwise.
func NextStage(r store.Rollout) int {
	if r.State.Status == rollout.Draft || r.State.Status == rollout.Scheduled {
		return 0
	}
	return r.State.Stage + 1
}

// Approve records by's approval to enter the rollout's next stage (four eyes: by
// must be a release manager and not the requester), then decides at once, so that
// a rollout waiting only for the approval advances without waiting for a tick.
// stage < 0 means the next stage; another stage than the next is refused.
func (c *Controller) Approve(ctx context.Context, id string, stage int, by Actor, reason string) (store.Rollout, rollout.Approval, error) {
	a, err := func() (rollout.Approval, error) {
		unlock := c.lock(id)
		defer unlock()
		cur, err := c.st.GetRollout(ctx, id)
		if err != nil {
			return rollout.Approval{}, err
		}
		p := planOf(cur)
		if cur.State.Status.Terminal() {
			return rollout.Approval{}, fmt.Errorf("%w: the rollout is %s; there is nothing left to approve", rollout.ErrIllegal, cur.State.Status)
		}
		next := NextStage(cur)
		if next >= len(p.Stages) {
			return rollout.Approval{}, fmt.Errorf("%w: the rollout is at its last stage; there is nothing left to approve", rollout.ErrIllegal)
		}
		if stage < 0 {
			stage = next
		}
		if stage != next {
			return rollout.Approval{}, fmt.Errorf("%w: approvals are for the next stage, %d (%q), not stage %d: an approval counts only for entering the stage that follows the current evidence",
				store.ErrInvalid, next, p.Stages[next].Name, stage)
		}
		if !p.Stages[stage].RequireApproval {
			return rollout.Approval{}, fmt.Errorf("%w: stage %q does not require an approval", store.ErrInvalid, p.Stages[stage].Name)
		}
		if !by.Role.Allows(store.RoleReleaseManager) {
			return rollout.Approval{}, fmt.Errorf("%w: approving takes the role %s; %s has %s", ErrForbidden, store.RoleReleaseManager, by.Name, by.Role)
		}
		if by.Name == cur.RequestedBy {
			return rollout.Approval{}, fmt.Errorf("%w: four eyes: %s requested this rollout and cannot approve it; another %s must", ErrForbidden, by.Name, store.RoleReleaseManager)
		}
		a := rollout.Approval{RolloutID: cur.ID, Stage: stage, Approver: by.Name, ApproverRole: string(by.Role), Requester: cur.RequestedBy, At: c.now()}
		return c.st.AddApproval(ctx, a, store.Change{Actor: by.Name, Reason: orDefault(reason, fmt.Sprintf("approve entering stage %q", p.Stages[stage].Name))})
	}()
	if err != nil {
		return store.Rollout{}, a, err
	}
	r, err := c.Step(ctx, id)
	if err != nil {
		// The approval is recorded; the leader's next tick decides again.
		if !errors.Is(err, ErrNotLeader) {
			c.log.Warn("decide after an approval", "rollout", id, "err", err)
		}
		r, err = c.st.GetRollout(ctx, id)
	}
	return r, a, err
}

// VariantsChanged starts a new evidence period for every running or paused rollout
// of flag whose treatment or control value is no longer the one its evidence is
// about (CLARIFICATIONS §40), on by's behalf, and returns those rollouts. The server
// calls it after a definition update; the loop would notice at its next tick.
func (c *Controller) VariantsChanged(ctx context.Context, flag string, by Actor, reason string) ([]store.Rollout, error) {
	rs, err := c.st.ListRollouts(ctx, store.RolloutFilter{Flag: flag, Statuses: []rollout.Status{rollout.Running, rollout.Paused}})
	if err != nil {
		return nil, err
	}
	var out []store.Rollout
	for _, r := range rs {
		restarted, err := c.manualRestart(ctx, r.ID, by, reason)
		if err != nil {
			return out, err
		}
		if restarted != nil {
			out = append(out, *restarted)
		}
	}
	return out, nil
}

func (c *Controller) manualRestart(ctx context.Context, id string, by Actor, reason string) (*store.Rollout, error) {
	var changed bool
	r, err := c.manual(ctx, id, func(cur store.Rollout, p *rollout.Plan, now time.Time) (outcome, error) {
		if cur.State.Status != rollout.Running && cur.State.Status != rollout.Paused {
			return outcome{}, nil
		}
		fp, err := c.fingerprint(ctx, cur)
		if err != nil || fp == cur.Fingerprint {
			return outcome{}, err
		}
		why := variantsChanged(p)
		if reason != "" {
			why = reason + ": " + why
		}
		next, tr, err := cur.State.RestartEvidence(by.Name, why, now)
		changed = err == nil
		return outcome{next: next, tr: tr, fingerprint: fp, evidence: rollout.Evidence{StageName: stageName(p, cur.State.Stage)}}, err
	})
	if err != nil || !changed {
		return nil, err
	}
	return &r, nil
}
