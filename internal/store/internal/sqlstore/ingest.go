package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/ramp-release/ramp/flags"
	"github.com/ramp-release/ramp/internal/store"
)

// LockIngest serialises the aggregator's checkpoints, so two aggregators can never
// both move the checkpoint on from the same position.
const LockIngest = "ingest"

const metricColumns = `key, spec, version, created_at, updated_at`

func scanMetric(row interface{ Scan(...any) error }) (store.MetricDefinition, error) {
	var m store.MetricDefinition
	var key, spec string
	var version int64
	var created, updated time.Time
	if err := row.Scan(&key, &spec, &version, timeScanner{&created}, timeScanner{&updated}); err != nil {
		return m, err
	}
	if err := decodeJSON([]byte(spec), &m); err != nil {
		return m, err
	}
	m.Key, m.Version, m.CreatedAt, m.UpdatedAt, m.BuiltIn = key, version, created, updated, false
	return m, nil
}

// PutMetric creates the definition when expectVersion is 0, otherwise replaces it if
// its version is still expectVersion.
func (s *Store) PutMetric(ctx context.Context, m store.MetricDefinition, expectVersion int64, c store.Change) (_ store.MetricDefinition, err error) {
	defer wrap(&err, "put metric %q", m.Key)
	if msg := flags.CheckKey(m.Key); msg != "" {
		return m, fmt.Errorf("%w: %w", store.ErrInvalid, flags.ValidationErrors{{Path: "key", Message: "metric key " + msg}})
	}
	m.BuiltIn = false
	err = s.write(ctx, LockWrite, func(t *tx) error {
		cur, err := scanMetric(t.queryRow(`SELECT `+metricColumns+` FROM metrics WHERE key = $1`, m.Key))
		found := err == nil
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("read metric: %w", err)
		}
		var before any
		switch {
		case expectVersion == 0 && found:
			return fmt.Errorf("metric %q %w", m.Key, store.ErrExists)
		case expectVersion == 0:
			m.Version, m.CreatedAt, m.UpdatedAt = 1, t.now, t.now
		case !found:
			return fmt.Errorf("metric %q %w", m.Key, store.ErrNotFound)
		case cur.Version != expectVersion:
			return fmt.Errorf("%w: metric %q is at version %d, not %d; read it again and reapply the change", store.ErrConflict, m.Key, cur.Version, expectVersion)
		default:
			before = cur
			m.Version, m.CreatedAt, m.UpdatedAt = cur.Version+1, cur.CreatedAt, t.now
		}
		spec, err := encodeJSON(m)
		if err != nil {
			return err
		}
		if before == nil {
			if _, err := t.exec(`INSERT INTO metrics (`+metricColumns+`) VALUES ($1, $2, $3, $4, $5)`,
				m.Key, spec, m.Version, t.time(m.CreatedAt), t.time(m.UpdatedAt)); err != nil {
				return t.s.insertError(err, "metric", m.Key)
			}
		} else if _, err := t.exec(`UPDATE metrics SET spec = $2, version = $3, updated_at = $4 WHERE key = $1`,
			m.Key, spec, m.Version, t.time(m.UpdatedAt)); err != nil {
			return fmt.Errorf("write metric: %w", err)
		}
		action := "metric.create"
		if before != nil {
			action = "metric.update"
		}
		return t.record(c, action, "", "metric:"+m.Key, before, m)
	})
	if err != nil {
		return store.MetricDefinition{}, err
	}
	var out store.MetricDefinition
	if err := roundTrip(m, &out); err != nil {
		return m, err
	}
	return out, nil
}

// GetMetric returns a stored metric definition.
func (s *Store) GetMetric(ctx context.Context, key string) (_ store.MetricDefinition, err error) {
	defer wrap(&err, "get metric %q", key)
	m, err := scanMetric(s.r.QueryRowContext(ctx, `SELECT `+metricColumns+` FROM metrics WHERE key = $1`, key))
	if errors.Is(err, sql.ErrNoRows) {
		return m, fmt.Errorf("metric %q %w", key, store.ErrNotFound)
	}
	return m, err
}

// ListMetrics lists the stored metric definitions by key.
func (s *Store) ListMetrics(ctx context.Context) (_ []store.MetricDefinition, err error) {
	defer wrap(&err, "list metrics")
	rows, err := s.r.QueryContext(ctx, `SELECT `+metricColumns+` FROM metrics ORDER BY key`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.MetricDefinition
	for rows.Next() {
		m, err := scanMetric(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// DeleteMetric deletes a stored metric definition.
func (s *Store) DeleteMetric(ctx context.Context, key string, c store.Change) (err error) {
	defer wrap(&err, "delete metric %q", key)
	return s.write(ctx, LockWrite, func(t *tx) error {
		cur, err := scanMetric(t.queryRow(`SELECT `+metricColumns+` FROM metrics WHERE key = $1`, key))
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("metric %q %w", key, store.ErrNotFound)
		}
		if err != nil {
			return err
		}
		if _, err := t.exec(`DELETE FROM metrics WHERE key = $1`, key); err != nil {
			return err
		}
		return t.record(c, "metric.delete", "", "metric:"+key, cur, nil)
	})
}

// IngestCheckpoint returns the aggregator's last checkpoint.
func (s *Store) IngestCheckpoint(ctx context.Context) (_ store.IngestCheckpoint, err error) {
	defer wrap(&err, "read the ingest checkpoint")
	var cp store.IngestCheckpoint
	err = s.r.QueryRowContext(ctx, `SELECT seq, state, saved_at FROM ingest_checkpoint WHERE id = 1`).
		Scan(&cp.Seq, &cp.State, timeScanner{&cp.SavedAt})
	if errors.Is(err, sql.ErrNoRows) {
		return store.IngestCheckpoint{}, nil
	}
	return cp, err
}

// SaveIngestCheckpoint stores cp and appends feedback in one transaction, if the
// stored checkpoint is still at prevSeq.
func (s *Store) SaveIngestCheckpoint(ctx context.Context, prevSeq int64, cp store.IngestCheckpoint, feedback []store.Feedback) (err error) {
	defer wrap(&err, "save the ingest checkpoint at %d", cp.Seq)
	if cp.State == nil {
		cp.State = []byte{}
	}
	return s.write(ctx, LockIngest, func(t *tx) error {
		var cur int64
		err := t.queryRow(`SELECT seq FROM ingest_checkpoint WHERE id = 1`).Scan(&cur)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			cur = 0
		case err != nil:
			return err
		}
		if cur != prevSeq {
			return fmt.Errorf("%w: the checkpoint is at %d, not %d (another aggregator moved it on)", store.ErrConflict, cur, prevSeq)
		}
		if _, err := t.exec(`INSERT INTO ingest_checkpoint (id, seq, state, saved_at) VALUES (1, $1, $2, $3)
			ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, state = excluded.state, saved_at = excluded.saved_at`,
			cp.Seq, cp.State, t.time(t.now)); err != nil {
			return err
		}
		type arm struct {
			rollout string
			stage   int
			arm     string
		}
		touched := map[arm]bool{}
		for _, f := range feedback {
			if _, err := t.exec(`INSERT INTO feedback (rollout_id, stage, stage_name, arm, variant, unit, metric, value, comment, at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
				f.RolloutID, f.Stage, f.StageName, f.Arm, f.Variant, f.Unit, f.Metric, f.Value, f.Comment, t.time(f.Time)); err != nil {
				return fmt.Errorf("append feedback: %w", err)
			}
			touched[arm{f.RolloutID, f.Stage, f.Arm}] = true
		}
		for a := range touched {
			var oldest int64
			err := t.queryRow(`SELECT seq FROM feedback WHERE rollout_id = $1 AND stage = $2 AND arm = $3 ORDER BY seq DESC LIMIT 1 OFFSET $4`,
				a.rollout, a.stage, a.arm, store.MaxFeedbackPerArm-1).Scan(&oldest)
			if errors.Is(err, sql.ErrNoRows) {
				continue
			}
			if err != nil {
				return fmt.Errorf("bound feedback: %w", err)
			}
			if _, err := t.exec(`DELETE FROM feedback WHERE rollout_id = $1 AND stage = $2 AND arm = $3 AND seq < $4`,
				a.rollout, a.stage, a.arm, oldest); err != nil {
				return fmt.Errorf("bound feedback: %w", err)
			}
		}
		return nil
	})
}

// ListFeedback returns a rollout's feedback, newest first.
func (s *Store) ListFeedback(ctx context.Context, f store.FeedbackFilter) (_ []store.Feedback, err error) {
	defer wrap(&err, "list feedback of rollout %q", f.RolloutID)
	q := `SELECT seq, rollout_id, stage, stage_name, arm, variant, unit, metric, value, comment, at FROM feedback WHERE rollout_id = $1`
	args := []any{f.RolloutID}
	if f.Stage >= 0 {
		args = append(args, f.Stage)
		q += fmt.Sprintf(" AND stage = $%d", len(args))
	}
	if f.Variant != "" {
		args = append(args, f.Variant)
		q += fmt.Sprintf(" AND variant = $%d", len(args))
	}
	if f.BeforeSeq > 0 {
		args = append(args, f.BeforeSeq)
		q += fmt.Sprintf(" AND seq < $%d", len(args))
	}
	args = append(args, limit(f.Limit))
	q += fmt.Sprintf(" ORDER BY seq DESC LIMIT $%d", len(args))
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.Feedback
	for rows.Next() {
		var fb store.Feedback
		if err := rows.Scan(&fb.Seq, &fb.RolloutID, &fb.Stage, &fb.StageName, &fb.Arm, &fb.Variant, &fb.Unit, &fb.Metric,
			&fb.Value, &fb.Comment, timeScanner{&fb.Time}); err != nil {
			return nil, err
		}
		out = append(out, fb)
	}
	return out, rows.Err()
}

// AppendAnalysisPoint keeps one point of a rollout's analysis history.
func (s *Store) AppendAnalysisPoint(ctx context.Context, p store.AnalysisPoint) (err error) {
	defer wrap(&err, "append an analysis point of rollout %q", p.RolloutID)
	if len(p.Data) == 0 {
		p.Data = []byte("{}")
	}
	return s.write(ctx, LockIngest, func(t *tx) error {
		var n int64
		if err := t.queryRow(`SELECT COALESCE(MAX(n), 0) FROM analysis_points WHERE rollout_id = $1`, p.RolloutID).Scan(&n); err != nil {
			return err
		}
		n++
		if _, err := t.exec(`INSERT INTO analysis_points (rollout_id, n, at, stage, data) VALUES ($1, $2, $3, $4, $5)`,
			p.RolloutID, n, t.time(p.At), p.Stage, string(p.Data)); err != nil {
			return err
		}
		if n > store.MaxAnalysisPoints {
			if _, err := t.exec(`DELETE FROM analysis_points WHERE rollout_id = $1 AND n <= $2`, p.RolloutID, n-store.MaxAnalysisPoints); err != nil {
				return err
			}
		}
		return nil
	})
}

// AnalysisPoints returns a rollout's latest points, oldest first.
func (s *Store) AnalysisPoints(ctx context.Context, rolloutID string, stage int, n int) (_ []store.AnalysisPoint, err error) {
	defer wrap(&err, "read the analysis points of rollout %q", rolloutID)
	switch {
	case n <= 0:
		n = 500
	case n > store.MaxAnalysisPoints:
		n = store.MaxAnalysisPoints
	}
	q := `SELECT at, stage, data FROM analysis_points WHERE rollout_id = $1`
	args := []any{rolloutID}
	if stage >= 0 {
		args = append(args, stage)
		q += ` AND stage = $2`
	}
	args = append(args, n)
	q += fmt.Sprintf(" ORDER BY n DESC LIMIT $%d", len(args))
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.AnalysisPoint
	for rows.Next() {
		p := store.AnalysisPoint{RolloutID: rolloutID}
		var data string
		if err := rows.Scan(timeScanner{&p.At}, &p.Stage, &data); err != nil {
			return nil, err
		}
		p.Data = []byte(data)
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out, nil
}
