package controller

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/ramp-release/ramp/internal/rollout"
	"github.com/ramp-release/ramp/internal/store"
)

// Leadership says whether this process is the one that makes automatic decisions
// (and runs whatever else must run once in a cluster, such as the event
// aggregator), and with which fencing epoch.
type Leadership interface {
	// Leader returns the fencing epoch and true while this process leads.
	Leader() (epoch int64, ok bool)
	// Changed returns a channel that is closed at the next change of leadership
	// (gained, lost, or regained with a new epoch). Take it before calling Leader,
	// so that no change goes unnoticed; nil when leadership never changes.
	Changed() <-chan struct{}
}

// Always is the leadership of a process that is alone with its store (embedded
// SQLite): it always leads, with the epoch it is.
type Always int64

// Leader returns the epoch and true.
func (a Always) Leader() (int64, bool) { return int64(a), true }

// Changed returns nil: nothing ever changes.
func (Always) Changed() <-chan struct{} { return nil }

// LeaseStore is what an Elector needs from the store.
type LeaseStore interface {
	AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (store.Lease, error)
	ReleaseLease(ctx context.Context, name, holder string, epoch int64) error
}

// ElectorOptions configure an Elector; every field is optional.
type ElectorOptions struct {
	// Tick is the controller's period (default rollout.DefaultTick); the lease
	// lasts TTL (default 1.5 ticks) and is renewed — or, by a follower, asked
	// for — every Renew (default half a tick). A leader that dies is replaced
	// within TTL + Renew: two ticks.
	Tick  time.Duration
	TTL   time.Duration
	Renew time.Duration
	// Lease is the lease's name (default store.ControllerLease).
	Lease string
	// Holder identifies this process in the lease (default host/pid/random).
	Holder string
	Log    *slog.Logger
}

// Elector holds the controller lease for this process when it can: it is how
// replicas sharing one store agree on one leader (CLARIFICATIONS §35). It keeps
// the lease by renewing it every Renew and considers itself the leader only until
// TTL after it last asked for it, by its own monotonic clock: the store counts the
// TTL from a later moment, so the elector always steps down before another
// replica can take over. Should a paused process still write as a leader, the
// epoch it carries is older than the lease's and the store refuses the write.
type Elector struct {
	st   LeaseStore
	opts ElectorOptions
	log  *slog.Logger

	mu      sync.Mutex
	epoch   int64     // the epoch held; 0 when not leading
	until   time.Time // when the lease must be taken as lost (monotonic)
	holder  string    // who holds the lease, as last seen
	changed chan struct{}
}

// NewElector returns an elector over st. Call Run to take part in elections.
func NewElector(st LeaseStore, opts ElectorOptions) *Elector {
	if opts.Tick <= 0 {
		opts.Tick = rollout.DefaultTick
	}
	if opts.TTL <= 0 {
		opts.TTL = opts.Tick * 3 / 2
	}
	if opts.Renew <= 0 {
		opts.Renew = opts.Tick / 2
	}
	if opts.Lease == "" {
		opts.Lease = store.ControllerLease
	}
	if opts.Holder == "" {
		opts.Holder = DefaultHolder()
	}
	log := opts.Log
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &Elector{st: st, opts: opts, log: log, changed: make(chan struct{})}
}

// DefaultHolder names this process for a lease: host, process id and a random
// suffix, so that a restarted process is not mistaken for its previous self.
func DefaultHolder() string {
	host, _ := os.Hostname()
	b := make([]byte, 4)
	rand.Read(b)
	return fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(b))
}

// Holder is this process's name in the lease.
func (e *Elector) Holder() string { return e.opts.Holder }

// Leader returns the epoch and true while this process holds the lease.
func (e *Elector) Leader() (int64, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.epoch == 0 || !time.Now().Before(e.until) {
		return 0, false
	}
	return e.epoch, true
}

// Changed returns a channel closed at the next change of leadership.
func (e *Elector) Changed() <-chan struct{} {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.changed
}

// set records the lease as held with epoch until until (epoch 0: not held) and
// announces a change.
func (e *Elector) set(epoch int64, until time.Time, holder string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	was := e.epoch
	if !time.Now().Before(e.until) {
		was = 0 // it had lapsed already
	}
	e.epoch, e.until, e.holder = epoch, until, holder
	if was != epoch {
		close(e.changed)
		e.changed = make(chan struct{})
	}
}

// Run takes part in elections until ctx ends, then gives the lease up, if it holds
// it, so that another replica takes over at once.
func (e *Elector) Run(ctx context.Context) error {
	e.log.Info("controller election started", "holder", e.opts.Holder, "ttl", e.opts.TTL, "renew", e.opts.Renew)
	var failing bool
	for {
		e.campaign(ctx, &failing)
		wait := e.opts.Renew
		if _, ok := e.Leader(); ok {
			e.mu.Lock()
			wait = min(wait, time.Until(e.until))
			e.mu.Unlock()
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			e.resign()
			return nil
		case <-t.C:
		}
		if _, ok := e.Leader(); !ok {
			e.mu.Lock()
			lapsed := e.epoch != 0
			e.mu.Unlock()
			if lapsed {
				e.log.Warn("controller lease lapsed: it could not be renewed in time; stepping down", "holder", e.opts.Holder)
				e.set(0, time.Time{}, "")
			}
		}
	}
}

// campaign asks for the lease once: renews it when held, takes it when free.
func (e *Elector) campaign(ctx context.Context, failing *bool) {
	start := time.Now()
	// A leader's lease lapses by the clock (see Leader) whether or not this call
	// returns; the bound only keeps a hung call from stalling the elections.
	cctx, cancel := context.WithTimeout(ctx, e.opts.TTL)
	defer cancel()
	l, err := e.st.AcquireLease(cctx, e.opts.Lease, e.opts.Holder, e.opts.TTL)
	if err != nil {
		if ctx.Err() != nil {
			return
		}
		if !*failing {
			e.log.Warn("controller election: the store does not answer; a leader steps down when its lease runs out", "err", err)
			*failing = true
		}
		return // Leader() lapses by itself at e.until
	}
	if *failing {
		e.log.Info("controller election: the store answers again")
		*failing = false
	}
	if l.Holder != e.opts.Holder {
		e.mu.Lock()
		changedHolder := l.Holder != e.holder
		e.mu.Unlock()
		if changedHolder {
			e.log.Info("controller lease held by another replica", "leader", l.Holder, "epoch", l.Epoch, "expires_at", l.ExpiresAt)
		}
		e.set(0, time.Time{}, l.Holder)
		return
	}
	if cur, ok := e.Leader(); !ok || cur != l.Epoch {
		e.log.Info("controller lease acquired: this replica leads", "holder", e.opts.Holder, "epoch", l.Epoch)
	}
	e.set(l.Epoch, start.Add(e.opts.TTL), l.Holder)
}

// resign steps down and releases the lease, when held.
func (e *Elector) resign() {
	epoch, ok := e.Leader()
	e.set(0, time.Time{}, "")
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := e.st.ReleaseLease(ctx, e.opts.Lease, e.opts.Holder, epoch); err != nil {
		e.log.Warn("release the controller lease; another replica takes over when it expires", "err", err)
		return
	}
	e.log.Info("controller lease released", "epoch", epoch)
}

// WhileLeader runs fn each time this process becomes the leader, with a context
// that ends when it stops leading (or when its epoch changes: another replica may
// have led meanwhile), until ctx ends. Components that must run once in a cluster
// — the event aggregator, which folds the shared event log — follow the
// controller's leadership this way. When fn fails, or returns while this process
// still leads, it runs again after retry.
func WhileLeader(ctx context.Context, l Leadership, retry time.Duration, log *slog.Logger, name string, fn func(ctx context.Context) error) {
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	for ctx.Err() == nil {
		changed := l.Changed()
		epoch, ok := l.Leader()
		if !ok {
			select {
			case <-ctx.Done():
			case <-changed:
			}
			continue
		}
		runCtx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- fn(runCtx) }()
		log.Info(name+" runs on this replica, the leader", "epoch", epoch)
		var ended bool // fn returned by itself
	watch:
		for {
			select {
			case err := <-done:
				ended = true
				if err != nil && ctx.Err() == nil {
					log.Error(name+" failed; it runs again", "err", err, "after", retry)
				}
				break watch
			case <-changed:
				changed = l.Changed()
				if now, ok := l.Leader(); !ok || now != epoch {
					log.Info(name+" stops: this replica no longer leads (or leads anew)", "epoch", epoch)
					break watch
				}
			case <-ctx.Done():
				break watch
			}
		}
		cancel()
		if !ended {
			<-done
			continue
		}
		t := time.NewTimer(retry)
		select {
		case <-ctx.Done():
			t.Stop()
		case <-t.C:
		}
	}
}
