package sqlstore

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ramp-release/ramp/flags"
	"github.com/ramp-release/ramp/internal/rollout"
	"github.com/ramp-release/ramp/internal/store"
)

// --- plans

const planColumns = `name, spec, version, created_at, updated_at`

func scanPlan(r rowScanner) (store.SavedPlan, error) {
	var p store.SavedPlan
	var spec []byte
	if err := r.Scan(&p.Name, &spec, &p.Version, timeScanner{&p.CreatedAt}, timeScanner{&p.UpdatedAt}); err != nil {
		return p, err
	}
	if err := json.Unmarshal(spec, &p.Plan); err != nil {
		return p, fmt.Errorf("decode stored plan %q: %w", p.Name, err)
	}
	return p, nil
}

// PutPlan creates the plan when expectVersion is 0, otherwise replaces it if its
// version is still expectVersion.
func (s *Store) PutPlan(ctx context.Context, p store.SavedPlan, expectVersion int64, c store.Change) (_ store.SavedPlan, err error) {
	defer wrap(&err, "put plan %q", p.Name)
	if msg := flags.CheckKey(p.Name); msg != "" {
		return p, fmt.Errorf("%w: %w", store.ErrInvalid, flags.ValidationErrors{{Path: "name", Message: "plan name " + msg}})
	}
	p.Plan.Name = p.Name
	spec, err := encodeJSON(p.Plan)
	if err != nil {
		return p, err
	}
	err = s.write(ctx, LockWrite, func(t *tx) error {
		cur, err := scanPlan(t.queryRow(`SELECT `+planColumns+` FROM plans WHERE name = $1`, p.Name))
		found := err == nil
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("read plan: %w", err)
		}
		var before any
		switch {
		case expectVersion == 0 && found:
			return fmt.Errorf("plan %q %w", p.Name, store.ErrExists)
		case expectVersion == 0:
			p.Version, p.CreatedAt, p.UpdatedAt = 1, t.now, t.now
			if _, err := t.exec(`INSERT INTO plans (`+planColumns+`) VALUES ($1, $2, $3, $4, $5)`,
				p.Name, spec, p.Version, t.time(p.CreatedAt), t.time(p.UpdatedAt)); err != nil {
				return t.s.insertError(err, "plan", p.Name)
			}
		case !found:
			return fmt.Errorf("plan %q %w", p.Name, store.ErrNotFound)
		case cur.Version != expectVersion:
			return fmt.Errorf("%w: plan %q is at version %d, not %d; read it again and reapply the change", store.ErrConflict, p.Name, cur.Version, expectVersion)
		default:
			before = cur
			p.Version, p.CreatedAt, p.UpdatedAt = cur.Version+1, cur.CreatedAt, t.now
			if _, err := t.exec(`UPDATE plans SET spec = $2, version = $3, updated_at = $4 WHERE name = $1`,
				p.Name, spec, p.Version, t.time(p.UpdatedAt)); err != nil {
				return fmt.Errorf("write plan: %w", err)
			}
		}
		action := "plan.create"
		if before != nil {
			action = "plan.update"
		}
		return t.record(c, action, p.Plan.Environment, "plan:"+p.Name, before, p)
	})
	if err != nil {
		return store.SavedPlan{}, err
	}
	// Read back through JSON, as GetPlan would return it.
	var out store.SavedPlan
	if err := roundTrip(p, &out); err != nil {
		return p, err
	}
	return out, nil
}

// GetPlan returns a saved plan.
func (s *Store) GetPlan(ctx context.Context, name string) (_ store.SavedPlan, err error) {
	defer wrap(&err, "get plan %q", name)
	p, err := scanPlan(s.r.QueryRowContext(ctx, `SELECT `+planColumns+` FROM plans WHERE name = $1`, name))
	if errors.Is(err, sql.ErrNoRows) {
		return p, fmt.Errorf("plan %q %w", name, store.ErrNotFound)
	}
	return p, err
}

// ListPlans lists plans ordered by name.
func (s *Store) ListPlans(ctx context.Context, pg store.Page) (_ []store.SavedPlan, err error) {
	defer wrap(&err, "list plans")
	rows, err := s.r.QueryContext(ctx, `SELECT `+planColumns+` FROM plans WHERE name > $1 ORDER BY name LIMIT $2`, pg.After, limit(pg.Limit))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.SavedPlan
	for rows.Next() {
		p, err := scanPlan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// DeletePlan deletes a saved plan.
func (s *Store) DeletePlan(ctx context.Context, name string, c store.Change) (err error) {
	defer wrap(&err, "delete plan %q", name)
	return s.write(ctx, LockWrite, func(t *tx) error {
		cur, err := scanPlan(t.queryRow(`SELECT `+planColumns+` FROM plans WHERE name = $1`, name))
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("plan %q %w", name, store.ErrNotFound)
		}
		if err != nil {
			return err
		}
		if _, err := t.exec(`DELETE FROM plans WHERE name = $1`, name); err != nil {
			return fmt.Errorf("delete: %w", err)
		}
		return t.record(c, "plan.delete", cur.Plan.Environment, "plan:"+name, cur, nil)
	})
}

// --- rollouts

const rolloutColumns = `id, plan_name, plan, flag, environment, state, waiting, fingerprint, requested_by, version, epoch, created_at, updated_at`

func scanRollout(r rowScanner) (store.Rollout, error) {
	var ro store.Rollout
	var plan, state, waiting []byte
	if err := r.Scan(&ro.ID, &ro.PlanName, &plan, &ro.Flag, &ro.Environment, &state, &waiting, &ro.Fingerprint,
		&ro.RequestedBy, &ro.Version, &ro.Epoch, timeScanner{&ro.CreatedAt}, timeScanner{&ro.UpdatedAt}); err != nil {
		return ro, err
	}
	err := errors.Join(json.Unmarshal(plan, &ro.Plan), json.Unmarshal(state, &ro.State))
	if waiting != nil {
		err = errors.Join(err, json.Unmarshal(waiting, &ro.Waiting))
	}
	if err != nil {
		return ro, fmt.Errorf("decode stored rollout %q: %w", ro.ID, err)
	}
	return ro, nil
}

func (t *tx) rollout(id string) (store.Rollout, error) {
	r, err := scanRollout(t.queryRow(`SELECT `+rolloutColumns+` FROM rollouts WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return r, fmt.Errorf("rollout %q %w", id, store.ErrNotFound)
	}
	if err != nil {
		return r, fmt.Errorf("read rollout %q: %w", id, err)
	}
	return r, nil
}

// activeRollout returns the id of env's unfinished rollout of flag, or "".
func (t *tx) activeRollout(env, flag string) (string, error) {
	var id string
	err := t.queryRow(`SELECT id FROM rollouts WHERE environment = $1 AND flag = $2 AND status IN ('draft', 'scheduled', 'running', 'paused')`, env, flag).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return id, err
}

// CreateRollout stores a new rollout. At most one rollout per flag and environment
// is unfinished.
func (s *Store) CreateRollout(ctx context.Context, r store.Rollout, c store.Change) (_ store.Rollout, err error) {
	defer wrap(&err, "create rollout of %q in %q", r.Flag, r.Environment)
	if r.ID == "" {
		r.ID = newID("ro_")
	}
	if r.State.RolloutID == "" {
		r.State.RolloutID = r.ID
	}
	if r.State.Status == "" {
		r.State.Status = rollout.Draft
	}
	if r.State.Status.Terminal() {
		return r, fmt.Errorf("%w: a new rollout cannot be %s", store.ErrInvalid, r.State.Status)
	}
	if r.State.RolloutID != r.ID {
		return r, fmt.Errorf("%w: the state names rollout %q, not %q", store.ErrInvalid, r.State.RolloutID, r.ID)
	}
	if r.RequestedBy == "" {
		r.RequestedBy = c.Actor
	}
	plan, err := encodeJSON(r.Plan)
	if err != nil {
		return r, err
	}
	state, err := encodeJSON(r.State)
	if err != nil {
		return r, err
	}
	waiting, err := nullJSON(r.Waiting, len(r.Waiting) == 0)
	if err != nil {
		return r, err
	}
	err = s.write(ctx, LockWrite, func(t *tx) error {
		if _, err := t.flag(r.Environment, r.Flag); err != nil {
			return err
		}
		other, err := t.activeRollout(r.Environment, r.Flag)
		if err != nil {
			return err
		}
		if other != "" {
			return fmt.Errorf("flag %q in %q already has rollout %s under way; roll it back or let it complete first: %w", r.Flag, r.Environment, other, store.ErrExists)
		}
		r.Version, r.Epoch, r.CreatedAt, r.UpdatedAt = 1, 0, t.now, t.now
		if _, err := t.exec(`INSERT INTO rollouts (`+rolloutColumns+`, status) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
			r.ID, r.PlanName, plan, r.Flag, r.Environment, state, waiting, r.Fingerprint, r.RequestedBy, r.Version, r.Epoch,
			t.time(r.CreatedAt), t.time(r.UpdatedAt), string(r.State.Status)); err != nil {
			return t.s.insertError(err, "rollout", r.ID)
		}
		return t.record(c, "rollout.create", r.Environment, "rollout:"+r.ID, nil, r)
	})
	if err != nil {
		return store.Rollout{}, err
	}
	var out store.Rollout
	return out, roundTrip(r, &out)
}

// GetRollout returns one rollout.
func (s *Store) GetRollout(ctx context.Context, id string) (r store.Rollout, err error) {
	defer wrap(&err, "get rollout %q", id)
	err = s.read(ctx, func(t *tx) error {
		r, err = t.rollout(id)
		return err
	})
	return r, err
}

// ListRollouts returns the rollouts f selects, newest first.
func (s *Store) ListRollouts(ctx context.Context, f store.RolloutFilter) (_ []store.Rollout, err error) {
	defer wrap(&err, "list rollouts")
	var where []string
	var args []any
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, fmt.Sprintf(cond, len(args)))
	}
	if f.Environment != "" {
		add("environment = $%d", f.Environment)
	}
	if f.Flag != "" {
		add("flag = $%d", f.Flag)
	}
	if len(f.Statuses) > 0 {
		var in []string
		for _, st := range f.Statuses {
			args = append(args, string(st))
			in = append(in, fmt.Sprintf("$%d", len(args)))
		}
		where = append(where, "status IN ("+strings.Join(in, ", ")+")")
	}
	q := `SELECT ` + rolloutColumns + ` FROM rollouts`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, ` AND `)
	}
	args = append(args, limit(f.Limit))
	q += fmt.Sprintf(` ORDER BY created_at DESC, id DESC LIMIT $%d`, len(args))
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.Rollout
	for rows.Next() {
		r, err := scanRollout(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// rolloutAudit is what the audit entry of a decision records after it.
type rolloutAudit struct {
	State       rollout.State         `json:"state"`
	Decision    store.RolloutDecision `json:"decision"`
	FlagVersion int64                 `json:"flag_version,omitempty"`
}

// ApplyRolloutDecision applies one decision in one transaction: rollout state, flag
// rules, decision log and audit entries.
func (s *Store) ApplyRolloutDecision(ctx context.Context, u store.RolloutUpdate) (_ store.Rollout, _ store.RolloutDecision, err error) {
	defer wrap(&err, "apply %s decision to rollout %q", u.Decision.Kind, u.ID)
	if u.Decision.Kind == "" {
		return store.Rollout{}, store.RolloutDecision{}, fmt.Errorf("%w: the decision has no kind", store.ErrInvalid)
	}
	if u.Change.Actor == "" {
		u.Change.Actor = u.Decision.Actor
	}
	if u.Decision.Actor == "" {
		u.Decision.Actor = u.Change.Actor
	}
	if u.Change.Reason == "" {
		u.Change.Reason = u.Decision.Reason
	}
	state, err := encodeJSON(u.State)
	if err != nil {
		return store.Rollout{}, store.RolloutDecision{}, err
	}
	waiting, err := nullJSON(u.Waiting, len(u.Waiting) == 0)
	if err != nil {
		return store.Rollout{}, store.RolloutDecision{}, err
	}
	var out store.Rollout
	d := u.Decision
	err = s.write(ctx, LockWrite, func(t *tx) error {
		cur, err := t.rollout(u.ID)
		if err != nil {
			return err
		}
		// Epoch 0 is a person's operation: not a leader's, so not fenced.
		if u.Epoch > 0 {
			if u.Epoch < cur.Epoch {
				return fmt.Errorf("%w: the write carries epoch %d but rollout %s was already written by epoch %d; this controller is no longer the leader",
					store.ErrFenced, u.Epoch, u.ID, cur.Epoch)
			}
			if err := t.checkLeaderEpoch(u.Epoch); err != nil {
				return err
			}
		}
		if cur.Version != u.ExpectVersion {
			return fmt.Errorf("%w: rollout %s is at version %d, not %d; read it again and decide anew", store.ErrConflict, u.ID, cur.Version, u.ExpectVersion)
		}
		if u.State.RolloutID != cur.ID {
			return fmt.Errorf("%w: the new state names rollout %q", store.ErrInvalid, u.State.RolloutID)
		}
		d.RolloutID = cur.ID
		if u.Install {
			v, err := t.installBlock(cur, u.Block, u.Change)
			if err != nil {
				return err
			}
			d.FlagVersion = v
		}
		out = cur
		out.State, out.Waiting, out.Version, out.Epoch, out.UpdatedAt = u.State, u.Waiting, cur.Version+1, max(cur.Epoch, u.Epoch), t.now
		if u.Fingerprint != "" {
			out.Fingerprint = u.Fingerprint
		}
		if _, err := t.exec(`UPDATE rollouts SET status = $2, state = $3, waiting = $4, fingerprint = $5, version = $6, epoch = $7, updated_at = $8 WHERE id = $1`,
			out.ID, string(out.State.Status), state, waiting, out.Fingerprint, out.Version, out.Epoch, t.time(out.UpdatedAt)); err != nil {
			if t.s.d.IsUniqueViolation != nil && t.s.d.IsUniqueViolation(err) {
				return fmt.Errorf("%w: another rollout of flag %q in %q is under way", store.ErrExists, out.Flag, out.Environment)
			}
			return fmt.Errorf("write rollout: %w", err)
		}
		// The audit entry's sequence number is known before it is written: the write
		// lock is held, so the head cannot move.
		var head int64
		if err := t.queryRow(`SELECT COALESCE(MAX(seq), 0) FROM audit_log`).Scan(&head); err != nil {
			return fmt.Errorf("read the head of the audit log: %w", err)
		}
		d.AuditSeq = head + 1
		if d.Seq, err = t.insertDecision(d); err != nil {
			return err
		}
		e, err := t.recordEntry(u.Change, "rollout."+d.Kind, out.Environment, "rollout:"+out.ID, cur.State,
			rolloutAudit{State: out.State, Decision: d, FlagVersion: d.FlagVersion})
		if err != nil {
			return err
		}
		if e.Seq != d.AuditSeq {
			return fmt.Errorf("the audit entry got seq %d, not the %d the decision log names", e.Seq, d.AuditSeq)
		}
		return nil
	})
	if err != nil {
		return store.Rollout{}, store.RolloutDecision{}, err
	}
	var ro store.Rollout
	var dec store.RolloutDecision
	if err := errors.Join(roundTrip(out, &ro), roundTrip(d, &dec)); err != nil {
		return out, d, err
	}
	return ro, dec, nil
}

// installBlock replaces the managed block of the rollout's flag in its environment
// with block, and returns the new state version, or 0 when the rules did not change.
func (t *tx) installBlock(r store.Rollout, block []flags.Rule, c store.Change) (int64, error) {
	cur, err := t.flag(r.Environment, r.Flag)
	if err != nil {
		return 0, err
	}
	next := cur.State
	next.Rules = rollout.Install(cur.Eval(), block).Rules
	next, err = canonicalState(next)
	if err != nil {
		return 0, err
	}
	was, err := encodeJSON(cur.State.Rules)
	if err != nil {
		return 0, err
	}
	is, err := encodeJSON(next.Rules)
	if err != nil {
		return 0, err
	}
	if was == is {
		return 0, nil
	}
	segs, err := t.segmentSet(r.Environment)
	if err != nil {
		return 0, err
	}
	if err := validateFlag(cur.Definition, next, segs); err != nil {
		return 0, invalid(err)
	}
	next.Version, next.UpdatedAt = cur.State.Version+1, t.now
	rules, def, err := stateArgs(next)
	if err != nil {
		return 0, err
	}
	if _, err := t.exec(`UPDATE flag_states SET rules = $3, default_allocation = $4, version = $5, updated_at = $6 WHERE environment = $1 AND flag = $2`,
		r.Environment, r.Flag, rules, def, next.Version, t.time(next.UpdatedAt)); err != nil {
		return 0, fmt.Errorf("write the state of flag %q: %w", r.Flag, err)
	}
	if err := t.bumpRevision(r.Environment); err != nil {
		return 0, err
	}
	fc := store.Change{Actor: c.Actor, Reason: fmt.Sprintf("rollout %s: %s", r.ID, c.Reason)}
	if err := t.record(fc, "flag.state.update", r.Environment, "flag:"+r.Flag, cur.State, next); err != nil {
		return 0, err
	}
	return next.Version, nil
}

// recordEntry is record, returning the sealed entry.
func (t *tx) recordEntry(c store.Change, action, env, target string, before, after any) (store.AuditEntry, error) {
	e := store.AuditEntry{Time: t.now, Actor: c.Actor, Action: action, Environment: env, Target: target, Reason: c.Reason}
	var err error
	if e.Before, err = rawJSON(before); err != nil {
		return e, fmt.Errorf("audit %s: %w", action, err)
	}
	if e.After, err = rawJSON(after); err != nil {
		return e, fmt.Errorf("audit %s: %w", action, err)
	}
	return t.appendAudit(e)
}

const decisionColumns = `seq, rollout_id, decided_at, actor, kind, action, from_status, to_status, from_stage, to_stage, reason, holds, evidence, flag_version, audit_seq`

func (t *tx) insertDecision(d store.RolloutDecision) (int64, error) {
	holds, err := nullJSON(d.Holds, len(d.Holds) == 0)
	if err != nil {
		return 0, err
	}
	evidence, err := nullJSON(d.Evidence, d.Evidence == nil)
	if err != nil {
		return 0, err
	}
	var seq int64
	err = t.queryRow(`INSERT INTO rollout_decisions (`+strings.TrimPrefix(decisionColumns, "seq, ")+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING seq`,
		d.RolloutID, t.time(d.At), d.Actor, d.Kind, string(d.Action), string(d.From), string(d.To), d.FromStage, d.ToStage,
		d.Reason, holds, evidence, d.FlagVersion, d.AuditSeq).Scan(&seq)
	if err != nil {
		return 0, fmt.Errorf("log the decision: %w", err)
	}
	return seq, nil
}

// ListRolloutDecisions returns a rollout's decision log in order.
func (s *Store) ListRolloutDecisions(ctx context.Context, rolloutID string, afterSeq int64, n int) (_ []store.RolloutDecision, err error) {
	defer wrap(&err, "list the decisions of rollout %q", rolloutID)
	var out []store.RolloutDecision
	err = s.read(ctx, func(t *tx) error {
		if _, err := t.rollout(rolloutID); err != nil {
			return err
		}
		rows, err := t.query(`SELECT `+decisionColumns+` FROM rollout_decisions WHERE rollout_id = $1 AND seq > $2 ORDER BY seq LIMIT $3`,
			rolloutID, afterSeq, limit(n))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var d store.RolloutDecision
			var action, from, to string
			var holds, evidence []byte
			if err := rows.Scan(&d.Seq, &d.RolloutID, timeScanner{&d.At}, &d.Actor, &d.Kind, &action, &from, &to, &d.FromStage, &d.ToStage,
				&d.Reason, &holds, &evidence, &d.FlagVersion, &d.AuditSeq); err != nil {
				return err
			}
			d.Action, d.From, d.To = rollout.Action(action), rollout.Status(from), rollout.Status(to)
			if holds != nil {
				if err := json.Unmarshal(holds, &d.Holds); err != nil {
					return err
				}
			}
			if evidence != nil {
				d.Evidence = new(rollout.Evidence)
				if err := json.Unmarshal(evidence, d.Evidence); err != nil {
					return err
				}
			}
			out = append(out, d)
		}
		return rows.Err()
	})
	return out, err
}

// --- approvals

// AddApproval records an approval to enter a stage.
func (s *Store) AddApproval(ctx context.Context, a rollout.Approval, c store.Change) (_ rollout.Approval, err error) {
	defer wrap(&err, "approve stage %d of rollout %q", a.Stage, a.RolloutID)
	switch {
	case a.Approver == "" || a.Requester == "":
		return a, fmt.Errorf("%w: an approval names its approver and requester", store.ErrInvalid)
	case a.Approver == a.Requester:
		return a, fmt.Errorf("%w: %s asked for the rollout and cannot approve it; four eyes need another release manager", store.ErrInvalid, a.Approver)
	case a.Stage < 0:
		return a, fmt.Errorf("%w: stage %d does not exist", store.ErrInvalid, a.Stage)
	}
	err = s.write(ctx, LockWrite, func(t *tx) error {
		r, err := t.rollout(a.RolloutID)
		if err != nil {
			return err
		}
		if a.Stage >= len(r.Plan.Stages) {
			return fmt.Errorf("%w: stage %d does not exist; the plan has %d stages", store.ErrInvalid, a.Stage, len(r.Plan.Stages))
		}
		if a.At.IsZero() {
			a.At = t.now
		}
		if _, err := t.exec(`INSERT INTO rollout_approvals (rollout_id, stage, approver, approver_role, requester, approved_at) VALUES ($1, $2, $3, $4, $5, $6)`,
			a.RolloutID, a.Stage, a.Approver, a.ApproverRole, a.Requester, t.time(a.At)); err != nil {
			return fmt.Errorf("insert approval: %w", err)
		}
		return t.record(c, "rollout.approve", r.Environment, "rollout:"+r.ID, nil, a)
	})
	if err != nil {
		return a, err
	}
	a.At = a.At.UTC().Truncate(time.Microsecond)
	return a, nil
}

// ListApprovals returns a rollout's approvals, oldest first.
func (s *Store) ListApprovals(ctx context.Context, rolloutID string) (_ []rollout.Approval, err error) {
	defer wrap(&err, "list the approvals of rollout %q", rolloutID)
	rows, err := s.r.QueryContext(ctx, `SELECT rollout_id, stage, approver, approver_role, requester, approved_at FROM rollout_approvals WHERE rollout_id = $1 ORDER BY id`, rolloutID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []rollout.Approval
	for rows.Next() {
		var a rollout.Approval
		if err := rows.Scan(&a.RolloutID, &a.Stage, &a.Approver, &a.ApproverRole, &a.Requester, timeScanner{&a.At}); err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// --- notification channels

const channelColumns = `environment, name, type, kinds, config, version, created_at, updated_at`

func scanChannel(r rowScanner) (store.NotificationChannel, error) {
	var ch store.NotificationChannel
	var kinds, config []byte
	if err := r.Scan(&ch.Environment, &ch.Name, &ch.Type, &kinds, &config, &ch.Version, timeScanner{&ch.CreatedAt}, timeScanner{&ch.UpdatedAt}); err != nil {
		return ch, err
	}
	if kinds != nil {
		if err := json.Unmarshal(kinds, &ch.Kinds); err != nil {
			return ch, err
		}
	}
	ch.Config = json.RawMessage(bytes.Clone(config))
	return ch, nil
}

// channelAudit is a channel as the audit log shows it: without its settings, which
// hold secrets.
type channelAudit struct {
	Environment string   `json:"environment"`
	Name        string   `json:"name"`
	Type        string   `json:"type"`
	Kinds       []string `json:"kinds,omitempty"`
	Version     int64    `json:"version"`
}

func auditOfChannel(ch store.NotificationChannel) channelAudit {
	return channelAudit{Environment: ch.Environment, Name: ch.Name, Type: ch.Type, Kinds: ch.Kinds, Version: ch.Version}
}

func (t *tx) channel(env, name string) (store.NotificationChannel, bool, error) {
	ch, err := scanChannel(t.queryRow(`SELECT `+channelColumns+` FROM notification_channels WHERE environment = $1 AND name = $2`, env, name))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return ch, false, nil
	case err != nil:
		return ch, false, fmt.Errorf("read channel %q: %w", name, err)
	}
	return ch, true, nil
}

// PutNotificationChannel creates or replaces a channel.
func (s *Store) PutNotificationChannel(ctx context.Context, ch store.NotificationChannel, expectVersion int64, c store.Change) (_ store.NotificationChannel, err error) {
	defer wrap(&err, "put notification channel %q in %q", ch.Name, ch.Environment)
	if ch.Name == "" || ch.Type == "" {
		return ch, fmt.Errorf("%w: a channel needs a name and a type", store.ErrInvalid)
	}
	if !json.Valid(ch.Config) {
		return ch, fmt.Errorf("%w: the channel's settings are not valid JSON", store.ErrInvalid)
	}
	kinds, err := nullJSON(ch.Kinds, len(ch.Kinds) == 0)
	if err != nil {
		return ch, err
	}
	err = s.write(ctx, LockWrite, func(t *tx) error {
		if err := t.environmentExists(ch.Environment); err != nil {
			return err
		}
		cur, found, err := t.channel(ch.Environment, ch.Name)
		if err != nil {
			return err
		}
		var before any
		switch {
		case expectVersion == 0 && found:
			return fmt.Errorf("channel %q in %q %w", ch.Name, ch.Environment, store.ErrExists)
		case expectVersion == 0:
			ch.Version, ch.CreatedAt, ch.UpdatedAt = 1, t.now, t.now
			if _, err := t.exec(`INSERT INTO notification_channels (`+channelColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
				ch.Environment, ch.Name, ch.Type, kinds, string(ch.Config), ch.Version, t.time(ch.CreatedAt), t.time(ch.UpdatedAt)); err != nil {
				return t.s.insertError(err, "channel", ch.Name)
			}
		case !found:
			return fmt.Errorf("channel %q in %q %w", ch.Name, ch.Environment, store.ErrNotFound)
		case cur.Version != expectVersion:
			return fmt.Errorf("%w: channel %q is at version %d, not %d; read it again and reapply the change", store.ErrConflict, ch.Name, cur.Version, expectVersion)
		default:
			before = auditOfChannel(cur)
			ch.Version, ch.CreatedAt, ch.UpdatedAt = cur.Version+1, cur.CreatedAt, t.now
			if _, err := t.exec(`UPDATE notification_channels SET type = $3, kinds = $4, config = $5, version = $6, updated_at = $7 WHERE environment = $1 AND name = $2`,
				ch.Environment, ch.Name, ch.Type, kinds, string(ch.Config), ch.Version, t.time(ch.UpdatedAt)); err != nil {
				return fmt.Errorf("write channel: %w", err)
			}
		}
		action := "notification_channel.create"
		if before != nil {
			action = "notification_channel.update"
		}
		if err := t.notify(store.ChannelsChanged); err != nil {
			return err
		}
		return t.record(c, action, ch.Environment, "notification_channel:"+ch.Name, before, auditOfChannel(ch))
	})
	if err != nil {
		return store.NotificationChannel{}, err
	}
	ch.CreatedAt, ch.UpdatedAt = ch.CreatedAt.UTC(), ch.UpdatedAt.UTC()
	return ch, nil
}

// GetNotificationChannel returns one channel, with its settings.
func (s *Store) GetNotificationChannel(ctx context.Context, env, name string) (ch store.NotificationChannel, err error) {
	defer wrap(&err, "get notification channel %q in %q", name, env)
	err = s.read(ctx, func(t *tx) error {
		var found bool
		ch, found, err = t.channel(env, name)
		if err != nil {
			return err
		}
		if !found {
			if err := t.environmentExists(env); err != nil {
				return err
			}
			return fmt.Errorf("channel %q in %q %w", name, env, store.ErrNotFound)
		}
		return nil
	})
	return ch, err
}

// ListNotificationChannels lists env's channels, or all when env is "".
func (s *Store) ListNotificationChannels(ctx context.Context, env string) (_ []store.NotificationChannel, err error) {
	defer wrap(&err, "list notification channels")
	q := `SELECT ` + channelColumns + ` FROM notification_channels`
	var args []any
	if env != "" {
		q += ` WHERE environment = $1`
		args = append(args, env)
	}
	rows, err := s.r.QueryContext(ctx, q+` ORDER BY environment, name`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.NotificationChannel
	for rows.Next() {
		ch, err := scanChannel(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, ch)
	}
	return out, rows.Err()
}

// DeleteNotificationChannel deletes a channel.
func (s *Store) DeleteNotificationChannel(ctx context.Context, env, name string, c store.Change) (err error) {
	defer wrap(&err, "delete notification channel %q in %q", name, env)
	return s.write(ctx, LockWrite, func(t *tx) error {
		cur, found, err := t.channel(env, name)
		if err != nil {
			return err
		}
		if !found {
			if err := t.environmentExists(env); err != nil {
				return err
			}
			return fmt.Errorf("channel %q in %q %w", name, env, store.ErrNotFound)
		}
		if _, err := t.exec(`DELETE FROM notification_channels WHERE environment = $1 AND name = $2`, env, name); err != nil {
			return fmt.Errorf("delete: %w", err)
		}
		if err := t.notify(store.ChannelsChanged); err != nil {
			return err
		}
		return t.record(c, "notification_channel.delete", env, "notification_channel:"+name, auditOfChannel(cur), nil)
	})
}

// --- deliveries

const deliveryColumns = `seq, channel, environment, event_id, kind, flag, rollout_id, dedup_key, status, attempts, last_error, queued_at, done_at`

// RecordNotificationDelivery keeps a delivery record. It is not audited: the
// decision that caused the event is.
func (s *Store) RecordNotificationDelivery(ctx context.Context, d store.NotificationDelivery) (_ store.NotificationDelivery, err error) {
	defer wrap(&err, "record the delivery of event %q to %q", d.EventID, d.Channel)
	err = s.write(ctx, LockWrite, func(t *tx) error {
		return t.queryRow(`INSERT INTO notification_deliveries (`+strings.TrimPrefix(deliveryColumns, "seq, ")+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING seq`,
			d.Channel, d.Environment, d.EventID, d.Kind, d.Flag, d.RolloutID, d.DedupKey, d.Status, d.Attempts, d.LastError,
			t.time(d.QueuedAt), t.time(d.DoneAt)).Scan(&d.Seq)
	})
	return d, err
}

// ListNotificationDeliveries returns the records f selects, newest first.
func (s *Store) ListNotificationDeliveries(ctx context.Context, f store.DeliveryFilter) (_ []store.NotificationDelivery, err error) {
	defer wrap(&err, "list notification deliveries")
	var where []string
	var args []any
	if f.Environment != "" {
		args = append(args, f.Environment)
		where = append(where, fmt.Sprintf("environment = $%d", len(args)))
	}
	if f.RolloutID != "" {
		args = append(args, f.RolloutID)
		where = append(where, fmt.Sprintf("rollout_id = $%d", len(args)))
	}
	q := `SELECT ` + deliveryColumns + ` FROM notification_deliveries`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, ` AND `)
	}
	args = append(args, limit(f.Limit))
	q += fmt.Sprintf(` ORDER BY seq DESC LIMIT $%d`, len(args))
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.NotificationDelivery
	for rows.Next() {
		var d store.NotificationDelivery
		if err := rows.Scan(&d.Seq, &d.Channel, &d.Environment, &d.EventID, &d.Kind, &d.Flag, &d.RolloutID, &d.DedupKey, &d.Status,
			&d.Attempts, &d.LastError, timeScanner{&d.QueuedAt}, timeScanner{&d.DoneAt}); err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}
