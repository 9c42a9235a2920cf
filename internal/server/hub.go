package server

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/ramp-release/ramp/flags"
	"github.com/ramp-release/ramp/internal/store"
)

// envSnapshot is one environment's flag set as served to SDKs: the compiled snapshot
// for OFREP, the JSON document for /sdk/v1/flags and the stream, and its revision.
type envSnapshot struct {
	env      string
	revision int64
	snap     *flags.Snapshot
	payload  []byte // the SDK document, see sdkDocument
	etag     string
	// clientSnap holds only client-side flags.
	clientSnap *flags.Snapshot
	// ofrep holds each flag's OFREP answer fragments, encoded once per revision so
	// that an evaluation only concatenates bytes.
	ofrep map[string]*ofrepFlag
}

// sdkDocument is what GET /sdk/v1/flags returns and the stream carries.
type sdkDocument struct {
	Environment string                    `json:"environment"`
	Revision    int64                     `json:"revision"`
	Flags       map[string]*flags.Flag    `json:"flags"`
	Segments    map[string]*flags.Segment `json:"segments,omitempty"`
}

// hub keeps the current snapshot of every environment and fans changes out to
// subscribers. A subscriber whose buffer is full is dropped rather than allowed to
// slow the publisher down; its SDK reconnects and catches up with Last-Event-ID.
type hub struct {
	st  store.Store
	log *slog.Logger

	mu   sync.RWMutex
	envs map[string]*envSnapshot
	subs map[string]map[chan *envSnapshot]struct{}
	// loadMu serialises reloads so that a slower, older reload never replaces a newer one.
	loadMu sync.Mutex
}

func newHub(st store.Store, log *slog.Logger) *hub {
	return &hub{st: st, log: log, envs: map[string]*envSnapshot{}, subs: map[string]map[chan *envSnapshot]struct{}{}}
}

// get returns the environment's snapshot, loading it on first use.
func (h *hub) get(ctx context.Context, env string) (*envSnapshot, error) {
	h.mu.RLock()
	s := h.envs[env]
	h.mu.RUnlock()
	if s != nil {
		return s, nil
	}
	return h.reload(ctx, env)
}

// reload reads the environment from the store, compiles it and, when its revision is
// newer than the one held, publishes it to the subscribers.
func (h *hub) reload(ctx context.Context, env string) (*envSnapshot, error) {
	h.loadMu.Lock()
	defer h.loadMu.Unlock()
	set, rev, err := h.st.Snapshot(ctx, env)
	if err != nil {
		return nil, fmt.Errorf("load environment %q: %w", env, err)
	}
	h.mu.RLock()
	cur := h.envs[env]
	h.mu.RUnlock()
	if cur != nil && cur.revision >= rev {
		return cur, nil
	}
	s, err := buildSnapshot(env, rev, set)
	if err != nil {
		return nil, err
	}
	// Sends happen under the lock and never block, so a subscriber cancelling at the
	// same moment cannot race with them.
	h.mu.Lock()
	h.envs[env] = s
	for ch := range h.subs[env] {
		select {
		case ch <- s:
		default:
			delete(h.subs[env], ch)
			close(ch)
		}
	}
	h.mu.Unlock()
	return s, nil
}

func buildSnapshot(env string, rev int64, set *flags.Set) (*envSnapshot, error) {
	snap, err := flags.Compile(set)
	if err != nil {
		// The store validates every write, so this means stored data is damaged.
		return nil, fmt.Errorf("compile environment %q at revision %d: %w", env, rev, err)
	}
	payload, err := json.Marshal(sdkDocument{Environment: env, Revision: rev, Flags: set.Flags, Segments: set.Segments})
	if err != nil {
		return nil, fmt.Errorf("encode environment %q: %w", env, err)
	}
	client := &flags.Set{Flags: map[string]*flags.Flag{}, Segments: set.Segments}
	for k, f := range set.Flags {
		if f.ClientSide {
			client.Flags[k] = f
		}
	}
	clientSnap, err := flags.Compile(client)
	if err != nil {
		return nil, fmt.Errorf("compile client-side flags of %q: %w", env, err)
	}
	ofrep, err := encodeOFREPFragments(set)
	if err != nil {
		return nil, fmt.Errorf("encode environment %q for OFREP: %w", env, err)
	}
	return &envSnapshot{env: env, revision: rev, snap: snap, payload: payload,
		etag: fmt.Sprintf(`"%s-%d"`, env, rev), clientSnap: clientSnap, ofrep: ofrep}, nil
}

// subscribe registers a subscriber for env; cancel unregisters it. The channel is
// closed when the subscriber is dropped for being too slow.
func (h *hub) subscribe(env string) (ch chan *envSnapshot, cancel func()) {
	ch = make(chan *envSnapshot, 8)
	h.mu.Lock()
	if h.subs[env] == nil {
		h.subs[env] = map[chan *envSnapshot]struct{}{}
	}
	h.subs[env][ch] = struct{}{}
	h.mu.Unlock()
	return ch, func() { h.drop(env, ch) }
}

func (h *hub) drop(env string, ch chan *envSnapshot) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.subs[env][ch]; ok {
		delete(h.subs[env], ch)
		close(ch)
	}
}

func (h *hub) subscribers() int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	n := 0
	for _, m := range h.subs {
		n += len(m)
	}
	return n
}

// watch keeps the loaded snapshots current with changes committed by other
// processes sharing the store (other replicas), until ctx ends. changes, when not
// nil, names the environments that changed (store.AllEnvironments for all); every
// poll, the revision of each loaded environment is compared with the store's, so a
// missed notification leaves a snapshot stale for at most about that long. other,
// when not nil, is told about the rest: with force after store.ChannelsChanged or
// store.AllEnvironments, without at every poll.
func (h *hub) watch(ctx context.Context, changes <-chan string, poll time.Duration, other func(ctx context.Context, force bool)) {
	if other == nil {
		other = func(context.Context, bool) {}
	}
	ticker := time.NewTicker(poll)
	defer ticker.Stop()
	var failing bool // the last store read failed; logged once per outage
	note := func(err error, what string) {
		switch {
		case err != nil && !failing && ctx.Err() == nil:
			h.log.Warn("keeping SDK snapshots current: "+what+" failed; streams keep serving the last snapshot", "err", err)
			failing = true
		case err == nil && failing:
			h.log.Info("keeping SDK snapshots current: the store answers again")
			failing = false
		}
	}
	for {
		select {
		case <-ctx.Done():
			return
		case env, ok := <-changes:
			if !ok {
				changes = nil // the feed ended; polling goes on
				continue
			}
			// Take whatever else is queued too, so a burst costs one reload per
			// environment.
			dirty := map[string]bool{env: true}
		drain:
			for {
				select {
				case env, ok := <-changes:
					if !ok {
						changes = nil
						break drain
					}
					dirty[env] = true
				default:
					break drain
				}
			}
			for _, env := range h.loaded() {
				if dirty[env] || dirty[store.AllEnvironments] {
					_, err := h.reload(ctx, env)
					note(err, "reloading "+env)
				}
			}
			if dirty[store.ChannelsChanged] || dirty[store.AllEnvironments] {
				other(ctx, true)
			}
		case <-ticker.C:
			for _, env := range h.loaded() {
				if err := h.refresh(ctx, env); err != nil {
					note(err, "reading the revision of "+env)
					break // the store is likely down: try again at the next poll
				}
				note(nil, "")
			}
			other(ctx, false)
		}
	}
}

// loaded lists the environments whose snapshots are held.
func (h *hub) loaded() []string {
	h.mu.RLock()
	defer h.mu.RUnlock()
	envs := make([]string, 0, len(h.envs))
	for env := range h.envs {
		envs = append(envs, env)
	}
	return envs
}

// refresh reloads env when the store's revision is newer than the snapshot's.
func (h *hub) refresh(ctx context.Context, env string) error {
	rev, err := h.st.Revision(ctx, env)
	if err != nil {
		return err
	}
	h.mu.RLock()
	cur := h.envs[env]
	h.mu.RUnlock()
	if cur != nil && cur.revision >= rev {
		return nil
	}
	_, err = h.reload(ctx, env)
	return err
}
