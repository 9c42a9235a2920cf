package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/ramp-release/ramp/internal/store"
)

// AppendEventBatch durably queues a batch. A batch id seen before in the same
// environment is not stored again: duplicate is true and seq is the first copy's.
// Appends hold the events lock until they commit, so batches become visible in seq
// order and a consumer reading after a seq never misses one that commits later.
func (s *Store) AppendEventBatch(ctx context.Context, env, batchID string, payload []byte) (seq int64, duplicate bool, err error) {
	defer wrap(&err, "append event batch %q in %q", batchID, env)
	if batchID == "" {
		return 0, false, fmt.Errorf("%w: the batch has no id", store.ErrInvalid)
	}
	if payload == nil {
		payload = []byte{}
	}
	err = s.write(ctx, LockEvents, func(t *tx) error {
		err := t.queryRow(`SELECT seq FROM event_batches WHERE environment = $1 AND batch_id = $2`, env, batchID).Scan(&seq)
		switch {
		case err == nil:
			duplicate = true
			return nil
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
		if err := t.environmentExists(env); err != nil {
			return err
		}
		return t.queryRow(`INSERT INTO event_batches (environment, batch_id, received_at, payload) VALUES ($1, $2, $3, $4) RETURNING seq`,
			env, batchID, t.time(t.now), payload).Scan(&seq)
	})
	return seq, duplicate, err
}

// EventBatches returns up to n batches with Seq > after, in Seq order (n is capped
// like a page: 0 means 100, at most 1000).
func (s *Store) EventBatches(ctx context.Context, after int64, n int) (_ []store.EventBatch, err error) {
	defer wrap(&err, "read event batches after %d", after)
	rows, err := s.r.QueryContext(ctx, `SELECT seq, environment, batch_id, received_at, payload FROM event_batches WHERE seq > $1 ORDER BY seq LIMIT $2`,
		after, limit(n))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.EventBatch
	for rows.Next() {
		var b store.EventBatch
		if err := rows.Scan(&b.Seq, &b.Environment, &b.BatchID, timeScanner{&b.ReceivedAt}, &b.Payload); err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, rows.Err()
}
