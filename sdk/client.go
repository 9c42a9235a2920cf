package sdk

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ramp-release/ramp/flags"
)

// Client evaluates flags in-process from a snapshot it keeps current, and reports
// exposures and metric events. It is safe for concurrent use; create one per
// application and Close it on shutdown.
type Client struct {
	cfg     Config
	started time.Time

	cur    atomic.Pointer[current]
	status atomic.Uint32
	// lastErr holds the most recent error reported, wrapped so nil can be stored.
	lastErr atomic.Pointer[errorBox]
	closed  atomic.Bool

	// mu orders state transitions and the notes they produce.
	mu       sync.Mutex
	rejected bool // the server's latest document was refused
	settled  bool // the first attempt to reach the server is over
	epoch    uint64
	grace    *time.Timer
	changed  chan struct{} // closed and replaced on every transition, for WaitReady
	notes    []Event       // produced under mu, delivered in order under notifyMu

	notifyMu sync.Mutex
	watchMu  sync.Mutex
	watchers map[int]func(Event)
	nextID   int

	// etag is the ETag of the last fetched document; only the sync goroutine uses it.
	etag string

	stop     context.CancelFunc
	syncDone chan struct{}

	// Events; queue is nil when events are off.
	queue          *queue
	dedup          *dedup
	clock          coarseClock
	exposeAll      bool
	eventsCtx      context.Context
	eventsCancel   context.CancelFunc
	eventsStop     chan struct{}
	eventsDone     chan struct{}
	clockDone      chan struct{}
	eventsRejected atomic.Bool

	applied, rejectedDocs                       atomic.Int64
	exposures, metrics, eventsSent, batchesSent atomic.Int64
	sendRetries                                 atomic.Int64
	closeOnce                                   sync.Once
	closeErr                                    error
}

type errorBox struct{ err error }

// New creates a client and starts keeping its snapshot current in the background: it
// fetches the snapshot, then follows the stream. New does not wait for the server
// (evaluation never blocks on the network); call WaitReady for that. With CachePath
// the client starts serving the cached snapshot at once; with OfflineFile it loads the
// file and never touches the network. ctx bounds only New itself.
func New(ctx context.Context, cfg Config) (*Client, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	c := &Client{
		cfg:      cfg,
		started:  time.Now(),
		changed:  make(chan struct{}),
		watchers: map[int]func(Event){},
		syncDone: make(chan struct{}),
	}
	if cfg.OnChange != nil || cfg.OnStatus != nil || cfg.OnError != nil {
		c.Watch(func(e Event) {
			switch {
			case e.Kind == EventFlagsChanged && cfg.OnChange != nil:
				cfg.OnChange(e.ChangedKeys)
			case e.Kind == EventStatusChanged && cfg.OnStatus != nil:
				cfg.OnStatus(e.Status, e.Err)
			case e.Kind == EventError && cfg.OnError != nil:
				cfg.OnError(e.Err)
			}
		})
	}

	if cfg.OfflineFile != "" {
		data, err := os.ReadFile(cfg.OfflineFile)
		if err != nil {
			return nil, fmt.Errorf("sdk: offline file: %w", err)
		}
		cur, err := decodeDocument(data)
		if err != nil {
			return nil, &SnapshotError{Source: "offline", Revision: cur.revisionOrZero(), Err: fmt.Errorf("%s: %w", cfg.OfflineFile, err)}
		}
		if cfg.Environment != "" && cur.environment != "" && cur.environment != cfg.Environment {
			return nil, &SnapshotError{Source: "offline", Revision: cur.revision, Err: fmt.Errorf("%s holds environment %q, not %q", cfg.OfflineFile, cur.environment, cfg.Environment)}
		}
		c.cur.Store(cur)
		c.applied.Add(1)
		c.settled = true
		c.status.Store(uint32(StatusReady))
		close(c.syncDone)
		return c, nil
	}

	if cfg.CachePath != "" {
		c.loadCache()
	}
	if !cfg.DisableEvents {
		c.startEvents()
	}
	c.mu.Lock()
	c.startGraceLocked()
	c.mu.Unlock()
	syncCtx, cancel := context.WithCancel(context.Background())
	c.stop = cancel
	go c.runSync(syncCtx)
	return c, nil
}

func (cur *current) revisionOrZero() int64 {
	if cur == nil {
		return 0
	}
	return cur.revision
}

// loadCache starts the client from its cache file. A missing file is normal; a broken
// one is reported and ignored.
func (c *Client) loadCache() {
	data, err := os.ReadFile(c.cfg.CachePath)
	if errors.Is(err, os.ErrNotExist) {
		return
	}
	if err != nil {
		c.reportError(fmt.Errorf("sdk: read cache file: %w", err))
		return
	}
	cur, err := decodeDocument(data)
	if err == nil && c.cfg.Environment != "" && cur.environment != c.cfg.Environment {
		err = fmt.Errorf("the cache holds environment %q, not %q", cur.environment, c.cfg.Environment)
	}
	if err != nil {
		c.rejectedDocs.Add(1)
		c.reportError(&SnapshotError{Source: "cache", Revision: cur.revisionOrZero(), Err: fmt.Errorf("%s: %w", c.cfg.CachePath, err)})
		return
	}
	c.cur.Store(cur)
	c.applied.Add(1)
	c.status.Store(uint32(StatusStale))
}

func (c *Client) startEvents() {
	c.queue = newQueue(c.cfg.QueueSize, c.cfg.MaxBatch, c.cfg.Dimensions)
	c.dedup = newDedup(c.cfg.ExposureCacheSize, int64(c.cfg.ExposureWindow))
	c.exposeAll = c.cfg.ExposeAllFlags
	c.eventsCtx, c.eventsCancel = context.WithCancel(context.Background())
	c.eventsStop = make(chan struct{})
	c.eventsDone = make(chan struct{})
	c.clockDone = make(chan struct{})
	tick := min(100*time.Millisecond, c.cfg.ExposureWindow/8)
	tick = max(tick, time.Millisecond)
	go c.runEvents()
	go c.runClock(tick)
}

// Close stops following the server and sends the queued events, waiting for them at
// most until ctx ends; events not sent by then are dropped and counted. Evaluation
// keeps working on the last snapshot after Close. Close is idempotent.
func (c *Client) Close(ctx context.Context) error {
	c.closeOnce.Do(func() {
		c.closed.Store(true)
		if c.stop != nil {
			c.stop()
		}
		<-c.syncDone
		c.mu.Lock()
		c.epoch++
		if c.grace != nil {
			c.grace.Stop()
		}
		c.wakeLocked() // WaitReady returns ErrClosed
		c.mu.Unlock()
		if c.queue == nil {
			return
		}
		stopSends := context.AfterFunc(ctx, c.eventsCancel)
		defer stopSends()
		close(c.eventsStop)
		<-c.eventsDone
		<-c.clockDone
		c.eventsCancel()
		if ctx.Err() != nil {
			c.closeErr = fmt.Errorf("sdk: close: events not all sent (%d dropped in all): %w", c.queue.droppedTotal.Load(), ctx.Err())
		}
	})
	return c.closeErr
}

// Status returns how fresh the served flags are.
func (c *Client) Status() Status { return Status(c.status.Load()) }

// LastError returns the most recent problem the client reported, or nil.
func (c *Client) LastError() error {
	if b := c.lastErr.Load(); b != nil {
		return b.err
	}
	return nil
}

// Revision returns the revision of the snapshot served, 0 before the first.
func (c *Client) Revision() int64 {
	if cur := c.cur.Load(); cur != nil {
		return cur.revision
	}
	return 0
}

// Environment returns the environment of the snapshot served ("" before the first).
func (c *Client) Environment() string {
	if cur := c.cur.Load(); cur != nil {
		return cur.environment
	}
	return ""
}

// Snapshot returns the compiled snapshot served, or nil before the first. It is
// immutable; the client replaces it as a whole on every change.
func (c *Client) Snapshot() *flags.Snapshot {
	if cur := c.cur.Load(); cur != nil {
		return cur.snap
	}
	return nil
}

// Stats returns the client's counters.
func (c *Client) Stats() Stats {
	s := Stats{
		SnapshotsApplied:  c.applied.Load(),
		SnapshotsRejected: c.rejectedDocs.Load(),
		Revision:          c.Revision(),
		Exposures:         c.exposures.Load(),
		Metrics:           c.metrics.Load(),
		EventsSent:        c.eventsSent.Load(),
		BatchesSent:       c.batchesSent.Load(),
		SendRetries:       c.sendRetries.Load(),
	}
	if c.queue != nil {
		s.EventsDropped = c.queue.droppedTotal.Load()
		s.Queued = c.queue.len()
		s.ExposuresDeduplicated = c.dedup.deduplicated()
	}
	return s
}

// WaitReady blocks until the client serves flags it can stand behind: the server
// confirmed its snapshot, or the server could not be reached and the client serves
// its cache file (Status then says STALE). It returns an error when the SDK key was
// rejected, when the client reached the error status without any flags to serve, or
// when ctx ends first. Evaluation works before WaitReady returns: it serves the
// caller's defaults until a snapshot arrives.
func (c *Client) WaitReady(ctx context.Context) error {
	for {
		if c.closed.Load() {
			return ErrClosed
		}
		c.mu.Lock()
		st, settled, ch := c.Status(), c.settled, c.changed
		c.mu.Unlock()
		hasFlags := c.cur.Load() != nil
		switch {
		case st == StatusFatal:
			return c.LastError()
		case st == StatusReady:
			return nil
		case hasFlags && settled:
			return nil
		case st == StatusError:
			return fmt.Errorf("sdk: no flags to serve: %w", c.LastError())
		}
		select {
		case <-ch:
		case <-ctx.Done():
			if err := c.LastError(); err != nil {
				return fmt.Errorf("sdk: waiting for flags: %w (last error: %v)", ctx.Err(), err)
			}
			return fmt.Errorf("sdk: waiting for flags: %w", ctx.Err())
		}
	}
}

// EventKind says what a watcher is told.
type EventKind uint8

// The event kinds.
const (
	// EventStatusChanged: Status (and Err, the cause, for STALE, ERROR and FATAL).
	EventStatusChanged EventKind = iota + 1
	// EventFlagsChanged: a new snapshot is served; ChangedKeys lists the flags that
	// differ from the previous one.
	EventFlagsChanged
	// EventError: a problem the client reports (Err), e.g. a rejected snapshot.
	EventError
)

// Event is what a client tells its watchers.
type Event struct {
	Kind        EventKind
	Status      Status
	ChangedKeys []string
	Err         error
}

// Watch calls fn for every event, in order, until stop is called. fn runs on the
// client's goroutines: it must not block, and must not call Close or WaitReady.
func (c *Client) Watch(fn func(Event)) (stop func()) {
	c.watchMu.Lock()
	id := c.nextID
	c.nextID++
	c.watchers[id] = fn
	c.watchMu.Unlock()
	return func() {
		c.watchMu.Lock()
		delete(c.watchers, id)
		c.watchMu.Unlock()
	}
}

// deliver hands the pending notes to the watchers, in the order they were produced.
func (c *Client) deliver() {
	c.notifyMu.Lock()
	defer c.notifyMu.Unlock()
	for {
		c.mu.Lock()
		notes := c.notes
		c.notes = nil
		c.mu.Unlock()
		if len(notes) == 0 {
			return
		}
		c.watchMu.Lock()
		fns := make([]func(Event), 0, len(c.watchers))
		for id := 0; id < c.nextID; id++ {
			if fn, ok := c.watchers[id]; ok {
				fns = append(fns, fn)
			}
		}
		c.watchMu.Unlock()
		for _, n := range notes {
			for _, fn := range fns {
				fn(n)
			}
		}
	}
}

// setStatusLocked moves to status s, waking WaitReady and noting the change.
func (c *Client) setStatusLocked(s Status, cause error) {
	if c.Status() == s {
		return
	}
	c.status.Store(uint32(s))
	c.wakeLocked()
	c.notes = append(c.notes, Event{Kind: EventStatusChanged, Status: s, Err: cause})
	if s == StatusReady || s == StatusFatal {
		c.epoch++
		if c.grace != nil {
			c.grace.Stop()
		}
	}
}

func (c *Client) wakeLocked() {
	close(c.changed)
	c.changed = make(chan struct{})
}

// startGraceLocked turns a client that stays unable to reach the server (or to use
// what it sends) into the error status after Config.ErrorGrace.
func (c *Client) startGraceLocked() {
	c.epoch++
	epoch := c.epoch
	if c.grace != nil {
		c.grace.Stop()
	}
	c.grace = time.AfterFunc(c.cfg.ErrorGrace, func() {
		c.mu.Lock()
		if c.epoch == epoch && !c.closed.Load() {
			if st := c.Status(); st == StatusNotReady || st == StatusStale {
				err := c.LastError()
				if err == nil {
					err = errors.New("sdk: the server has not answered")
				}
				c.setStatusLocked(StatusError, fmt.Errorf("sdk: no current flags for %s: %w", c.cfg.ErrorGrace, err))
			}
		}
		c.mu.Unlock()
		c.deliver()
	})
}

// settle records that the first attempt to reach the server is over.
func (c *Client) settle() {
	c.mu.Lock()
	if !c.settled {
		c.settled = true
		c.wakeLocked()
	}
	c.mu.Unlock()
}

// serverOK records that the server confirmed the served snapshot (a fetch, or a stream
// that opened). A stream opening does not clear a refused document: the client only
// becomes ready again with a document it can use.
func (c *Client) serverOK(clearRejected bool) {
	c.mu.Lock()
	if clearRejected {
		c.rejected = false
	}
	if !c.rejected && c.cur.Load() != nil {
		c.setStatusLocked(StatusReady, nil)
	}
	c.mu.Unlock()
	c.deliver()
}

// serverLost records that the server cannot be reached: the snapshot served may be
// behind from now on.
func (c *Client) serverLost(err error) {
	c.reportError(err)
	c.mu.Lock()
	if c.Status() == StatusReady {
		c.setStatusLocked(StatusStale, err)
		c.startGraceLocked()
	}
	c.mu.Unlock()
	c.deliver()
}

// fatal records that the server refused the SDK key; the client stops trying.
func (c *Client) fatal(err error) {
	c.reportError(err)
	c.mu.Lock()
	c.setStatusLocked(StatusFatal, err)
	c.mu.Unlock()
	c.deliver()
}

// rejectSnapshot records a refused document: the last good snapshot stays.
func (c *Client) rejectSnapshot(err *SnapshotError) {
	c.rejectedDocs.Add(1)
	c.reportError(err)
	c.mu.Lock()
	c.rejected = true
	if c.Status() == StatusReady {
		c.setStatusLocked(StatusStale, err)
		c.startGraceLocked()
	}
	c.mu.Unlock()
	c.deliver()
}

// reportError makes err the last error, logs it and tells the watchers.
func (c *Client) reportError(err error) {
	c.lastErr.Store(&errorBox{err})
	c.cfg.Logger.Warn("ramp sdk", "err", err)
	c.mu.Lock()
	c.notes = append(c.notes, Event{Kind: EventError, Status: c.Status(), Err: err})
	c.mu.Unlock()
	c.deliver()
}

// applyDocument installs a flag document from the server if, and only if, it decodes,
// validates, compiles and belongs to the expected environment. It returns the
// *SnapshotError it reported otherwise.
func (c *Client) applyDocument(data []byte, source string) error {
	cur, err := decodeDocument(data)
	old := c.cur.Load()
	if err == nil {
		want := c.cfg.Environment
		if want == "" && old != nil && old.fromServer {
			want = old.environment
		}
		switch {
		case cur.environment == "":
			err = errors.New("the document names no environment")
		case want != "" && cur.environment != want:
			err = fmt.Errorf("the document is for environment %q, but this client follows %q; check the SDK key", cur.environment, want)
		}
	}
	if err != nil {
		serr := &SnapshotError{Source: source, Revision: cur.revisionOrZero(), Err: err}
		c.rejectSnapshot(serr)
		return serr
	}
	cur.fromServer = true
	if old != nil && old.fromServer && old.revision == cur.revision {
		c.serverOK(true) // the same revision again: nothing changed
		return nil
	}
	if old != nil && cur.revision < old.revision {
		c.cfg.Logger.Warn("ramp sdk: the server's revision went back; was its store replaced?", "from", old.revision, "to", cur.revision)
	}
	var oldSet *flags.Set
	if old != nil {
		oldSet = old.snap.Set()
	}
	keys := changedKeys(oldSet, cur.snap.Set())
	c.cur.Store(cur)
	c.applied.Add(1)
	c.mu.Lock()
	c.rejected = false
	c.setStatusLocked(StatusReady, nil)
	if len(keys) > 0 {
		c.notes = append(c.notes, Event{Kind: EventFlagsChanged, Status: StatusReady, ChangedKeys: keys})
	}
	c.mu.Unlock()
	c.deliver()
	if c.cfg.CachePath != "" {
		if err := writeFileAtomic(c.cfg.CachePath, data); err != nil {
			c.reportError(fmt.Errorf("sdk: write cache file: %w", err))
		}
	}
	return nil
}
