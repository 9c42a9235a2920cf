package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"

	"github.com/ramp-release/ramp/flags"
	"github.com/ramp-release/ramp/internal/store"
)

const segmentColumns = `environment, key, description, included, excluded, rules, version, updated_at`

func scanSegment(r rowScanner) (store.Segment, error) {
	var s store.Segment
	var included, excluded, rules []byte
	if err := r.Scan(&s.Environment, &s.Key, &s.Description, &included, &excluded, &rules, &s.Version, timeScanner{&s.UpdatedAt}); err != nil {
		return s, err
	}
	if err := errors.Join(decodeJSON(included, &s.Included), decodeJSON(excluded, &s.Excluded), decodeJSON(rules, &s.Rules)); err != nil {
		return s, err
	}
	normalizeSegment(&s)
	return s, nil
}

// segments reads env's segments ordered by key, with keys after after, at most n (all when n is 0).
func (t *tx) segments(env, after string, n int) ([]store.Segment, error) {
	q := `SELECT ` + segmentColumns + ` FROM segments WHERE environment = $1 AND key > $2 ORDER BY key`
	args := []any{env, after}
	if n > 0 {
		q += ` LIMIT $3`
		args = append(args, n)
	}
	rows, err := t.query(q, args...)
	if err != nil {
		return nil, fmt.Errorf("read segments: %w", err)
	}
	defer rows.Close()
	var out []store.Segment
	for rows.Next() {
		s, err := scanSegment(rows)
		if err != nil {
			return nil, fmt.Errorf("read segments: %w", err)
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// segmentSet returns env's segments in the evaluation core's model.
func (t *tx) segmentSet(env string) (map[string]*flags.Segment, error) {
	segs, err := t.segments(env, "", 0)
	if err != nil {
		return nil, err
	}
	out := make(map[string]*flags.Segment, len(segs))
	for _, s := range segs {
		out[s.Key] = s.Eval()
	}
	return out, nil
}

// segment reads one segment; ok is false when there is none.
func (t *tx) segment(env, key string) (store.Segment, bool, error) {
	s, err := scanSegment(t.queryRow(`SELECT `+segmentColumns+` FROM segments WHERE environment = $1 AND key = $2`, env, key))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return s, false, nil
	case err != nil:
		return s, false, fmt.Errorf("read segment %q: %w", key, err)
	}
	return s, true, nil
}

// canonicalSegment returns seg as it will read back from the store.
func canonicalSegment(seg store.Segment) (store.Segment, error) {
	var out store.Segment
	if err := roundTrip(seg, &out); err != nil {
		return out, err
	}
	normalizeSegment(&out)
	return out, nil
}

// PutSegment creates the segment when expectVersion is 0, otherwise replaces it if its
// version is still expectVersion. The environment's segments must still compile
// together (no unknown references, no cycles).
func (s *Store) PutSegment(ctx context.Context, seg store.Segment, expectVersion int64, c store.Change) (_ store.Segment, err error) {
	defer wrap(&err, "put segment %q in %q", seg.Key, seg.Environment)
	if seg, err = canonicalSegment(seg); err != nil {
		return seg, err
	}
	err = s.write(ctx, LockWrite, func(t *tx) error {
		if err := t.environmentExists(seg.Environment); err != nil {
			return err
		}
		segs, err := t.segmentSet(seg.Environment)
		if err != nil {
			return err
		}
		cur, found, err := t.segment(seg.Environment, seg.Key)
		if err != nil {
			return err
		}
		switch {
		case expectVersion == 0 && found:
			return fmt.Errorf("segment %q %w", seg.Key, store.ErrExists)
		case expectVersion != 0 && !found:
			return fmt.Errorf("segment %q %w", seg.Key, store.ErrNotFound)
		case found && cur.Version != expectVersion:
			return fmt.Errorf("%w: the segment is at version %d, not %d; read it again and reapply the change", store.ErrConflict, cur.Version, expectVersion)
		}
		segs[seg.Key] = seg.Eval()
		if err := flags.Validate(&flags.Set{Segments: segs}); err != nil {
			return invalid(err)
		}
		seg.Version, seg.UpdatedAt = cur.Version+1, t.now
		included, err := nullJSON(seg.Included, len(seg.Included) == 0)
		if err != nil {
			return err
		}
		excluded, err := nullJSON(seg.Excluded, len(seg.Excluded) == 0)
		if err != nil {
			return err
		}
		rules, err := nullJSON(seg.Rules, len(seg.Rules) == 0)
		if err != nil {
			return err
		}
		if found {
			_, err = t.exec(`UPDATE segments SET description = $3, included = $4, excluded = $5, rules = $6, version = $7, updated_at = $8
				WHERE environment = $1 AND key = $2`,
				seg.Environment, seg.Key, seg.Description, included, excluded, rules, seg.Version, t.time(seg.UpdatedAt))
		} else {
			_, err = t.exec(`INSERT INTO segments (`+segmentColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
				seg.Environment, seg.Key, seg.Description, included, excluded, rules, seg.Version, t.time(seg.UpdatedAt))
			if err != nil {
				err = t.s.insertError(err, "segment", seg.Key)
			}
		}
		if err != nil {
			return fmt.Errorf("write the segment: %w", err)
		}
		if err := t.bumpRevision(seg.Environment); err != nil {
			return err
		}
		var before any
		if found {
			before = cur
		}
		return t.record(c, "segment.put", seg.Environment, segmentTarget(seg.Environment, seg.Key), before, seg)
	})
	return seg, err
}

func segmentTarget(env, key string) string { return "segment:" + env + "/" + key }

// GetSegment returns one segment.
func (s *Store) GetSegment(ctx context.Context, env, key string) (seg store.Segment, err error) {
	defer wrap(&err, "get segment %q in %q", key, env)
	err = s.read(ctx, func(t *tx) error {
		var found bool
		seg, found, err = t.segment(env, key)
		if err != nil || found {
			return err
		}
		if err := t.environmentExists(env); err != nil {
			return err
		}
		return fmt.Errorf("segment %q %w", key, store.ErrNotFound)
	})
	return seg, err
}

// ListSegments returns a page of env's segments, ordered by key.
func (s *Store) ListSegments(ctx context.Context, env string, p store.Page) (out []store.Segment, err error) {
	defer wrap(&err, "list segments in %q", env)
	err = s.read(ctx, func(t *tx) error {
		if err := t.environmentExists(env); err != nil {
			return err
		}
		out, err = t.segments(env, p.After, limit(p.Limit))
		return err
	})
	return out, err
}

// DeleteSegment deletes a segment no flag or other segment of its environment tests.
// While some do, it fails with store.ErrInvalid wrapping flags.ValidationErrors that
// point at each condition naming the segment.
func (s *Store) DeleteSegment(ctx context.Context, env, key string, c store.Change) (err error) {
	defer wrap(&err, "delete segment %q in %q", key, env)
	return s.write(ctx, LockWrite, func(t *tx) error {
		if err := t.environmentExists(env); err != nil {
			return err
		}
		cur, found, err := t.segment(env, key)
		if err != nil {
			return err
		}
		if !found {
			return fmt.Errorf("segment %q %w", key, store.ErrNotFound)
		}
		fs, err := t.flagsIn(env, "", 0)
		if err != nil {
			return err
		}
		segs, err := t.segments(env, "", 0)
		if err != nil {
			return err
		}
		var uses flags.ValidationErrors
		var users []string
		for _, f := range fs {
			if paths := segmentUses(fmt.Sprintf("flags[%q]", f.Definition.Key), f.State.Rules, nil, key); len(paths) > 0 {
				users = append(users, "flag "+fmt.Sprintf("%q", f.Definition.Key))
				uses = append(uses, paths...)
			}
		}
		for _, sg := range segs {
			if paths := segmentUses(fmt.Sprintf("segments[%q]", sg.Key), nil, sg.Rules, key); len(paths) > 0 {
				users = append(users, "segment "+fmt.Sprintf("%q", sg.Key))
				uses = append(uses, paths...)
			}
		}
		if len(uses) > 0 {
			sort.Strings(users)
			return fmt.Errorf("%w: segment %q is still used by %s; remove those conditions first: %w", store.ErrInvalid, key, joinList(users), uses)
		}
		if _, err := t.exec(`DELETE FROM segments WHERE environment = $1 AND key = $2`, env, key); err != nil {
			return fmt.Errorf("delete: %w", err)
		}
		if err := t.bumpRevision(env); err != nil {
			return err
		}
		return t.record(c, "segment.delete", env, segmentTarget(env, key), cur, nil)
	})
}

// segmentUses lists the conditions in rules (a flag's) or segRules (a segment's) that
// test segment key.
func segmentUses(path string, rules []flags.Rule, segRules []flags.SegmentRule, key string) flags.ValidationErrors {
	var out flags.ValidationErrors
	check := func(rpath string, conds []flags.Condition) {
		for j, c := range conds {
			if (c.Op == flags.OpInSegment || c.Op == flags.OpNotInSegment) && c.Segment == key {
				out = append(out, flags.FieldError{Path: fmt.Sprintf("%s.conditions[%d].segment", rpath, j),
					Message: fmt.Sprintf("tests segment %q; remove this condition before deleting the segment", key)})
			}
		}
	}
	for i, r := range rules {
		check(fmt.Sprintf("%s.rules[%d]", path, i), r.Conditions)
	}
	for i, r := range segRules {
		check(fmt.Sprintf("%s.rules[%d]", path, i), r.Conditions)
	}
	return out
}

func joinList(items []string) string {
	switch len(items) {
	case 0:
		return ""
	case 1:
		return items[0]
	}
	out := ""
	for i, it := range items {
		switch {
		case i == 0:
		case i == len(items)-1:
			out += " and "
		default:
			out += ", "
		}
		out += it
	}
	return out
}
