package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/ramp-release/ramp/internal/store"
)

// dbNow is the database's clock, or the process's where the dialect has none.
func (t *tx) dbNow() (time.Time, error) {
	if t.s.d.Now == nil {
		return t.now, nil
	}
	now, err := t.s.d.Now(t.ctx, t.Tx)
	if err != nil {
		return time.Time{}, fmt.Errorf("read the database clock: %w", err)
	}
	return now.UTC().Truncate(time.Microsecond), nil
}

// AcquireLease takes a free or expired lease (epoch + 1) or extends one holder
// holds (same epoch), in one conditional UPDATE: concurrent callers queue on the
// row and re-check the condition once the first commits, so at most one of them
// takes an expired lease.
func (s *Store) AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (l store.Lease, err error) {
	defer wrap(&err, "acquire lease %q for %q", name, holder)
	if name == "" || holder == "" || ttl <= 0 {
		return l, fmt.Errorf("%w: a lease needs a name, a holder and a positive duration", store.ErrInvalid)
	}
	err = s.write(ctx, "", func(t *tx) error {
		now, err := t.dbNow()
		if err != nil {
			return err
		}
		if _, err := t.exec(`INSERT INTO leader_lease (name, holder, epoch, expires_at, acquired_at) VALUES ($1, '', 0, $2, $2) ON CONFLICT (name) DO NOTHING`,
			name, t.time(time.Time{})); err != nil {
			return fmt.Errorf("create the lease row: %w", err)
		}
		held := `holder = $2 AND expires_at > $3`
		if _, err := t.exec(`UPDATE leader_lease SET
				epoch = CASE WHEN `+held+` THEN epoch ELSE epoch + 1 END,
				acquired_at = CASE WHEN `+held+` THEN acquired_at ELSE $3 END,
				holder = $2, expires_at = $4
			WHERE name = $1 AND (holder = $2 OR expires_at <= $3)`,
			name, holder, t.time(now), t.time(now.Add(ttl))); err != nil {
			return fmt.Errorf("update the lease: %w", err)
		}
		l, err = t.lease(name)
		return err
	})
	return l, err
}

// ReleaseLease expires holder's lease now.
func (s *Store) ReleaseLease(ctx context.Context, name, holder string, epoch int64) (err error) {
	defer wrap(&err, "release lease %q of %q at epoch %d", name, holder, epoch)
	return s.write(ctx, "", func(t *tx) error {
		now, err := t.dbNow()
		if err != nil {
			return err
		}
		_, err = t.exec(`UPDATE leader_lease SET expires_at = $4 WHERE name = $1 AND holder = $2 AND epoch = $3 AND expires_at > $4`,
			name, holder, epoch, t.time(now))
		return err
	})
}

// GetLease returns the named lease.
func (s *Store) GetLease(ctx context.Context, name string) (l store.Lease, err error) {
	defer wrap(&err, "get lease %q", name)
	err = s.read(ctx, func(t *tx) error {
		l, err = t.lease(name)
		return err
	})
	return l, err
}

func (t *tx) lease(name string) (store.Lease, error) {
	l := store.Lease{Name: name}
	err := t.queryRow(`SELECT holder, epoch, expires_at, acquired_at FROM leader_lease WHERE name = $1`, name).
		Scan(&l.Holder, &l.Epoch, timeScanner{&l.ExpiresAt}, timeScanner{&l.AcquiredAt})
	if errors.Is(err, sql.ErrNoRows) {
		return l, fmt.Errorf("lease %q %w", name, store.ErrNotFound)
	}
	return l, err
}

// checkLeaderEpoch fails with store.ErrFenced when a controller newer than epoch
// holds (or held) the controller lease. The row stays share-locked until the
// transaction ends, so a new leader cannot take over between this check and the
// commit: the decision either commits first or is refused.
func (t *tx) checkLeaderEpoch(epoch int64) error {
	var current int64
	err := t.queryRow(`SELECT epoch FROM leader_lease WHERE name = $1`+t.s.d.ShareLock, store.ControllerLease).Scan(&current)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil // no leader was ever elected: a single controller
	case err != nil:
		return fmt.Errorf("read the controller lease: %w", err)
	case epoch < current:
		return fmt.Errorf("%w: the decision carries epoch %d but the controller lease is at epoch %d; this controller is no longer the leader",
			store.ErrFenced, epoch, current)
	}
	return nil
}
