package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/ramp-release/ramp/internal/audit"
	"github.com/ramp-release/ramp/internal/store"
)

const auditColumns = `seq, logged_at, actor, action, environment, target, before_json, after_json, reason, prev_hash, hash`

// record appends the audit entry of the mutation t is making. before and after are
// the object's state (nil when it did not or no longer exists); they are marshalled
// to JSON, so they must never carry secrets (the credential types hide their hashes).
func (t *tx) record(c store.Change, action, env, target string, before, after any) error {
	e := audit.Entry{Time: t.now, Actor: c.Actor, Action: action, Environment: env, Target: target, Reason: c.Reason}
	var err error
	if e.Before, err = rawJSON(before); err != nil {
		return fmt.Errorf("audit %s: %w", action, err)
	}
	if e.After, err = rawJSON(after); err != nil {
		return fmt.Errorf("audit %s: %w", action, err)
	}
	_, err = t.appendAudit(e)
	return err
}

func rawJSON(v any) (json.RawMessage, error) {
	if v == nil {
		return nil, nil
	}
	return json.Marshal(v)
}

// appendAudit seals e onto the head of the chain and stores it. The caller holds the
// write lock, so the head read here is the head e is committed after.
func (t *tx) appendAudit(e audit.Entry) (audit.Entry, error) {
	var prev audit.Entry
	err := t.queryRow(`SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1`).Scan(&prev.Seq, &prev.Hash)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		audit.Seal(&e, nil)
	case err != nil:
		return e, fmt.Errorf("read the head of the audit log: %w", err)
	default:
		audit.Seal(&e, &prev)
	}
	_, err = t.exec(`INSERT INTO audit_log (`+auditColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		e.Seq, t.time(e.Time), e.Actor, e.Action, e.Environment, e.Target, nullText(e.Before), nullText(e.After), e.Reason, e.PrevHash, e.Hash)
	if err != nil {
		return e, fmt.Errorf("append audit entry %d: %w", e.Seq, err)
	}
	return e, nil
}

// nullText stores JSON as text, byte for byte (the hash covers the exact bytes); empty
// becomes NULL.
func nullText(b json.RawMessage) any {
	if len(b) == 0 {
		return nil
	}
	return string(b)
}

// AppendAudit writes an entry that is not the side effect of another mutation. The store
// sets its sequence number and hashes, and its time when zero.
func (s *Store) AppendAudit(ctx context.Context, e store.AuditEntry) (_ store.AuditEntry, err error) {
	defer wrap(&err, "append audit entry %q on %q", e.Action, e.Target)
	if e.Action == "" || e.Actor == "" {
		return e, fmt.Errorf("%w: an audit entry needs an actor and an action", store.ErrInvalid)
	}
	for name, b := range map[string]json.RawMessage{"before": e.Before, "after": e.After} {
		if len(b) > 0 && !json.Valid(b) {
			return e, fmt.Errorf("%w: %s is not valid JSON", store.ErrInvalid, name)
		}
	}
	err = s.write(ctx, LockWrite, func(t *tx) error {
		if e.Time.IsZero() {
			e.Time = t.now
		}
		e, err = t.appendAudit(e)
		return err
	})
	return e, err
}

// ListAudit returns the entries f selects, newest first.
func (s *Store) ListAudit(ctx context.Context, f store.AuditFilter) (_ []store.AuditEntry, err error) {
	defer wrap(&err, "list audit entries")
	var where []string
	var args []any
	add := func(column string, v any) {
		args = append(args, v)
		where = append(where, fmt.Sprintf("%s = $%d", column, len(args)))
	}
	if f.Environment != "" {
		add("environment", f.Environment)
	}
	if f.Target != "" {
		add("target", f.Target)
	}
	if f.Actor != "" {
		add("actor", f.Actor)
	}
	if f.Action != "" {
		add("action", f.Action)
	}
	if f.BeforeSeq > 0 {
		args = append(args, f.BeforeSeq)
		where = append(where, fmt.Sprintf("seq < $%d", len(args)))
	}
	q := `SELECT ` + auditColumns + ` FROM audit_log`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, ` AND `)
	}
	args = append(args, limit(f.Limit))
	q += fmt.Sprintf(` ORDER BY seq DESC LIMIT $%d`, len(args))
	return s.queryAudit(ctx, q, args...)
}

// AllAudit returns every entry in Seq order.
func (s *Store) AllAudit(ctx context.Context) (_ []store.AuditEntry, err error) {
	defer wrap(&err, "read the audit log")
	return s.queryAudit(ctx, `SELECT `+auditColumns+` FROM audit_log ORDER BY seq`)
}

func (s *Store) queryAudit(ctx context.Context, q string, args ...any) ([]store.AuditEntry, error) {
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.AuditEntry
	for rows.Next() {
		var e audit.Entry
		var before, after []byte
		if err := rows.Scan(&e.Seq, timeScanner{&e.Time}, &e.Actor, &e.Action, &e.Environment, &e.Target,
			&before, &after, &e.Reason, &e.PrevHash, &e.Hash); err != nil {
			return nil, err
		}
		if before != nil {
			e.Before = json.RawMessage(before)
		}
		if after != nil {
			e.After = json.RawMessage(after)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}
