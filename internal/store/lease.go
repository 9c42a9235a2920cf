package store

import (
	"context"
	"time"
)

// ControllerLease is the lease whose holder is the rollout controller's leader: the
// one replica that makes automatic decisions (and consumes the event log). Its epoch
// is the fencing token every automatic decision carries.
const ControllerLease = "controller"

// Lease is a named claim that one process holds until it expires, with a fencing
// epoch (CLARIFICATIONS §35). The epoch increases every time the lease passes to a
// new holder — or back to the same holder after it expired — so a write that
// carries an older epoch comes from a process that has been replaced.
type Lease struct {
	Name string `json:"name"`
	// Holder identifies the process holding the lease; "" before anyone took it.
	Holder string `json:"holder"`
	Epoch  int64  `json:"epoch"`
	// ExpiresAt is when the lease is free to take, by the database's clock.
	ExpiresAt time.Time `json:"expires_at"`
	// AcquiredAt is when the holder took it (renewals leave it alone).
	AcquiredAt time.Time `json:"acquired_at"`
}

// LeaseStore keeps leases. It needs nothing but rows and conditional updates, so
// it works on PostgreSQL-compatible databases that lack advisory locks.
type LeaseStore interface {
	// AcquireLease tries to hold the named lease for ttl from now, by the database's
	// clock (so the replicas' clocks need not agree). A free or expired lease passes
	// to holder with its epoch increased by one; a lease holder still holds is
	// extended with the same epoch; a lease another process holds is left alone. It
	// returns the lease as it stands afterwards: the caller holds it when its Holder
	// is the caller.
	AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (Lease, error)
	// ReleaseLease ends holder's lease now, if holder still holds it with epoch, so
	// that another process takes over without waiting for it to expire.
	ReleaseLease(ctx context.Context, name, holder string, epoch int64) error
	// GetLease returns the named lease (ErrNotFound when nobody ever took it).
	GetLease(ctx context.Context, name string) (Lease, error)
}

// Changes a ChangeFeed sends besides environment keys (which cannot start with
// either character).
const (
	// AllEnvironments: any environment may have changed.
	AllEnvironments = "*"
	// ChannelsChanged: a notification channel was created, changed or deleted.
	ChannelsChanged = "#notification-channels"
)

// ChangeFeed is implemented by stores that several processes share (PostgreSQL):
// it tells a process about changes that any of them committed, so that every
// replica's SDK streams see every change.
type ChangeFeed interface {
	// Changes sends the key of every environment whose revision a committed change
	// increased, soon after the commit; AllEnvironments when every environment may
	// have changed (a change to all of them, or a reconnection after which
	// notifications may have been missed); and ChannelsChanged after a change of
	// the notification channels. Delivery is best effort: consumers also compare
	// versions now and then. The channel is closed when ctx ends.
	Changes(ctx context.Context) (<-chan string, error)
}
