package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ramp-release/ramp/internal/notify/alert"
)

// Errors returned by Dispatch.
var (
	// ErrClosed: the Dispatcher was closed; the event was not queued.
	ErrClosed = errors.New("notify: dispatcher closed")
	// ErrQueueFull: a channel's queue was full; its delivery was dropped
	// and recorded as such. Other channels were not affected.
	ErrQueueFull = errors.New("notify: queue full")
)

// Route sends the events of some kinds in an environment to a channel.
type Route struct {
	// Environment is the environment the route applies to, or "*" for all.
	Environment string `json:"environment"`
	// Kinds lists the event kinds sent; empty means every kind.
	Kinds []Kind `json:"kinds,omitempty"`
	// Channel is the name of a channel given in Options.Channels.
	Channel string `json:"channel"`
}

// Matches reports whether e goes through r.
func (r Route) Matches(e Event) bool {
	return (r.Environment == "*" || r.Environment == e.Environment) &&
		(len(r.Kinds) == 0 || slices.Contains(r.Kinds, e.Kind))
}

// DeliveryStatus is how a delivery ended.
type DeliveryStatus string

// The ends of a delivery.
const (
	// StatusDelivered: the receiver accepted the event.
	StatusDelivered DeliveryStatus = "delivered"
	// StatusFailed: every attempt failed, or the last failure was not worth
	// retrying. LastError says why.
	StatusFailed DeliveryStatus = "failed"
	// StatusDropped: the event was never attempted, because the channel's
	// queue was full or the Dispatcher closed first.
	StatusDropped DeliveryStatus = "dropped"
	// StatusSuppressed: an event with the same DedupKey was already
	// delivered to the channel within the dedup window, or is on its way.
	StatusSuppressed DeliveryStatus = "suppressed"
	// StatusSkipped: the integration does not send this kind of event
	// (ErrSkipped).
	StatusSkipped DeliveryStatus = "skipped"
)

// DeliveryRecord is the outcome of sending one event to one channel.
type DeliveryRecord struct {
	Channel     string         `json:"channel"`
	EventID     string         `json:"event_id"`
	Kind        Kind           `json:"kind"`
	Environment string         `json:"environment"`
	Flag        string         `json:"flag"`
	RolloutID   string         `json:"rollout_id,omitempty"`
	DedupKey    string         `json:"dedup_key,omitempty"`
	Status      DeliveryStatus `json:"status"`
	// Attempts is how many times the integration was called; 0 when the
	// delivery was dropped or suppressed.
	Attempts int `json:"attempts"`
	// LastError is the text of the last attempt's error. It carries no
	// credentials.
	LastError string    `json:"last_error,omitempty"`
	QueuedAt  time.Time `json:"queued_at"`
	DoneAt    time.Time `json:"done_at"`
}

// Options configure a Dispatcher. Only Channels and Routes are required.
type Options struct {
	// Channels are the receivers, by name.
	Channels map[string]Notifier
	// Routes choose the channels of each event; an event goes once to each
	// channel that at least one route matching it names.
	Routes []Route
	// QueueSize bounds the deliveries waiting for each channel. Default 100.
	QueueSize int
	// MaxAttempts bounds the attempts of one delivery. Default 5.
	MaxAttempts int
	// Backoff spaces out the attempts. Default DefaultBackoff. A receiver's
	// Retry-After lengthens a wait, up to Backoff.Max.
	Backoff Backoff
	// AttemptTimeout bounds one attempt. Default 30s.
	AttemptTimeout time.Duration
	// DedupWindow is how long a delivered event's DedupKey suppresses the
	// same key on the same channel. Default 1h; negative disables.
	DedupWindow time.Duration
	// History is how many DeliveryRecords Deliveries keeps. Default 200.
	History int
	// OnResult, if set, receives every DeliveryRecord, so that the server
	// can persist or audit them. It is called from one goroutine of the
	// Dispatcher, in order, never from Dispatch; a slow OnResult delays
	// only other OnResult calls (records wait in a bounded buffer).
	OnResult func(DeliveryRecord)
	// Logger receives failures (Error), retries and drops (Warn). Default:
	// discard.
	Logger *slog.Logger

	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Sleep waits d or until ctx is done, whichever is first. Tests replace
	// it to make retries instant. Default: a timer.
	Sleep func(ctx context.Context, d time.Duration) error
	// Random returns a number in [0, 1) for the backoff's jitter. Default
	// math/rand/v2.Float64.
	Random func() float64
}

// Dispatcher routes events to channels and delivers them in the background,
// with retries. Create it with NewDispatcher and stop it with Close. It is
// safe for concurrent use.
type Dispatcher struct {
	opts    Options
	workers map[string]*worker // fixed after NewDispatcher
	ctx     context.Context    // ends in-flight attempts on a hurried Close
	cancel  context.CancelFunc

	wg           sync.WaitGroup // the workers
	workersDone  chan struct{}
	reporterDone chan struct{}
	wake         chan struct{} // nudges the reporter; capacity 1
	abandon      atomic.Bool   // a hurried Close: stop calling OnResult
	inHook       atomic.Bool   // the reporter is in, or about to enter, OnResult

	mu          sync.Mutex
	closed      bool
	dedup       map[string]dedupEntry
	dedupPrune  int
	history     []DeliveryRecord // ring of opts.History
	historyNext int
	historyFull bool
	pending     []DeliveryRecord // for OnResult
	lostReports int
}

type worker struct {
	channel  string
	notifier Notifier
	queue    chan delivery
}

type delivery struct {
	event    Event
	queuedAt time.Time
	dedupKey string // "" when not deduplicated
}

type dedupEntry struct {
	inFlight bool
	at       time.Time
}

// maxPending bounds the records waiting for OnResult.
const maxPending = 1024

// NewDispatcher checks opts and starts one delivery goroutine per channel.
func NewDispatcher(opts Options) (*Dispatcher, error) {
	if err := checkOptions(opts); err != nil {
		return nil, err
	}
	if opts.QueueSize <= 0 {
		opts.QueueSize = 100
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = 5
	}
	if opts.Backoff.Initial <= 0 {
		opts.Backoff.Initial = DefaultBackoff.Initial
	}
	if opts.Backoff.Max < opts.Backoff.Initial {
		opts.Backoff.Max = max(DefaultBackoff.Max, opts.Backoff.Initial)
	}
	if opts.AttemptTimeout <= 0 {
		opts.AttemptTimeout = 30 * time.Second
	}
	if opts.DedupWindow == 0 {
		opts.DedupWindow = time.Hour
	}
	if opts.History <= 0 {
		opts.History = 200
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Sleep == nil {
		opts.Sleep = sleep
	}
	if opts.Random == nil {
		opts.Random = rand.Float64
	}
	opts.Routes = slices.Clone(opts.Routes)

	ctx, cancel := context.WithCancel(context.Background())
	d := &Dispatcher{
		opts:         opts,
		workers:      make(map[string]*worker, len(opts.Channels)),
		ctx:          ctx,
		cancel:       cancel,
		workersDone:  make(chan struct{}),
		reporterDone: make(chan struct{}),
		wake:         make(chan struct{}, 1),
		dedup:        make(map[string]dedupEntry),
		dedupPrune:   1024,
		history:      make([]DeliveryRecord, opts.History),
	}
	for name, n := range opts.Channels {
		w := &worker{channel: name, notifier: n, queue: make(chan delivery, opts.QueueSize)}
		d.workers[name] = w
		d.wg.Add(1)
		go d.run(w)
	}
	go func() {
		d.wg.Wait()
		close(d.workersDone)
	}()
	go d.report()
	return d, nil
}

func checkOptions(opts Options) error {
	var errs []error
	for name, n := range opts.Channels {
		if n == nil {
			errs = append(errs, fmt.Errorf("channels[%q]: no notifier; build one with notify.New", name))
		}
	}
	for i, r := range opts.Routes {
		at := fmt.Sprintf("routes[%d]", i)
		if r.Environment == "" {
			errs = append(errs, fmt.Errorf(`%s.environment: required; name an environment or use "*" for all`, at))
		}
		for j, k := range r.Kinds {
			if !k.Valid() {
				errs = append(errs, fmt.Errorf("%s.kinds[%d]: %q is not an event kind; use one of %s", at, j, k, alert.KindNames()))
			}
		}
		if _, ok := opts.Channels[r.Channel]; !ok {
			errs = append(errs, fmt.Errorf("%s.channel: %q is not a configured channel; configure it or fix the name (channels: %s)",
				at, r.Channel, strings.Join(slices.Sorted(maps.Keys(opts.Channels)), ", ")))
		}
	}
	return errors.Join(errs...)
}

// Dispatch queues e for every channel its routes name and returns at once:
// it never waits for a receiver, a full queue or a retry. A zero e.Time is
// set to now. It returns an error if e's kind is unknown, if the Dispatcher
// is closed (ErrClosed), or if some channel's queue was full (ErrQueueFull;
// the other channels still got the event, and the drop is recorded).
func (d *Dispatcher) Dispatch(e Event) error {
	if !e.Kind.Valid() {
		return fmt.Errorf("notify: event kind %q is not one of %s", e.Kind, alert.KindNames())
	}
	now := d.opts.Now()
	if e.Time.IsZero() {
		e.Time = now
	}
	// The caller may reuse its map; the delivery goroutines read this one.
	e.Evidence = maps.Clone(e.Evidence)

	dropped, err := d.enqueue(e, now)
	// Logged outside the lock: a slow log handler must not stall other
	// callers of Dispatch.
	for _, rec := range dropped {
		d.opts.Logger.Warn("notification dropped: queue full", recordAttrs(rec)...)
	}
	return err
}

func (d *Dispatcher) enqueue(e Event, now time.Time) (dropped []DeliveryRecord, err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil, ErrClosed
	}
	var full []string
	for _, ch := range d.channelsFor(e) {
		rec := d.newRecord(ch, e, now)
		var key string
		if e.DedupKey != "" && d.opts.DedupWindow > 0 {
			key = ch + "\x00" + e.DedupKey
			if d.isDuplicate(key, now) {
				rec.Status = StatusSuppressed
				d.recordLocked(rec)
				continue
			}
		}
		select {
		case d.workers[ch].queue <- delivery{event: e, queuedAt: now, dedupKey: key}:
			if key != "" {
				d.dedup[key] = dedupEntry{inFlight: true}
			}
		default:
			rec.Status = StatusDropped
			rec.LastError = fmt.Sprintf("queue full (%d deliveries waiting)", d.opts.QueueSize)
			d.recordLocked(rec)
			dropped = append(dropped, rec)
			full = append(full, ch)
		}
	}
	if len(full) > 0 {
		return dropped, fmt.Errorf("%w: channel %s", ErrQueueFull, strings.Join(full, ", "))
	}
	return dropped, nil
}

// channelsFor lists the channels of e's routes, once each, in route order.
func (d *Dispatcher) channelsFor(e Event) []string {
	var chans []string
	for _, r := range d.opts.Routes {
		if r.Matches(e) && !slices.Contains(chans, r.Channel) {
			chans = append(chans, r.Channel)
		}
	}
	return chans
}

func (d *Dispatcher) newRecord(ch string, e Event, queuedAt time.Time) DeliveryRecord {
	return DeliveryRecord{
		Channel:     ch,
		EventID:     e.ID(),
		Kind:        e.Kind,
		Environment: e.Environment,
		Flag:        e.Flag,
		RolloutID:   e.RolloutID,
		DedupKey:    e.DedupKey,
		QueuedAt:    queuedAt,
		DoneAt:      queuedAt,
	}
}

func (d *Dispatcher) isDuplicate(key string, now time.Time) bool {
	prev, ok := d.dedup[key]
	return ok && (prev.inFlight || now.Sub(prev.at) < d.opts.DedupWindow)
}

// run delivers one channel's queue, in order, until Close closes it.
func (d *Dispatcher) run(w *worker) {
	defer d.wg.Done()
	for job := range w.queue {
		if d.ctx.Err() != nil {
			rec := d.newRecord(w.channel, job.event, job.queuedAt)
			rec.Status = StatusDropped
			rec.LastError = "dispatcher closed before delivery"
			rec.DoneAt = d.opts.Now()
			d.finish(job, rec)
			continue
		}
		d.deliver(w, job)
	}
}

// deliver makes the attempts of one delivery.
func (d *Dispatcher) deliver(w *worker, job delivery) {
	rec := d.newRecord(w.channel, job.event, job.queuedAt)
	for {
		rec.Attempts++
		err := d.attempt(w, job.event)
		if err == nil {
			rec.Status = StatusDelivered
			break
		}
		if errors.Is(err, alert.ErrSkipped) {
			rec.Status = StatusSkipped
			break
		}
		rec.LastError = err.Error()
		rec.Status = StatusFailed
		if d.ctx.Err() != nil || !alert.Retryable(err) || rec.Attempts >= d.opts.MaxAttempts {
			break
		}
		wait := d.opts.Backoff.Delay(rec.Attempts, d.opts.Random())
		if ra := alert.RetryAfter(err); ra > wait {
			wait = min(ra, d.opts.Backoff.Max)
		}
		d.opts.Logger.Warn("notification attempt failed; retrying",
			append(recordAttrs(rec), slog.Duration("wait", wait))...)
		if d.opts.Sleep(d.ctx, wait) != nil {
			rec.LastError += " (gave up: dispatcher closed)"
			break
		}
	}
	rec.DoneAt = d.opts.Now()
	if rec.Status == StatusFailed {
		d.opts.Logger.Error("notification failed", recordAttrs(rec)...)
	}
	d.finish(job, rec)
}

// attempt calls the integration once. A panic in it becomes a permanent
// failure of this delivery rather than the end of the process: a bug in a
// Slack payload must not take down the controller applying a rollback.
func (d *Dispatcher) attempt(w *worker, e Event) (err error) {
	ctx, cancel := context.WithTimeout(d.ctx, d.opts.AttemptTimeout)
	defer cancel()
	defer func() {
		if p := recover(); p != nil {
			err = alert.Permanent(fmt.Errorf("notifier panicked: %v", p))
		}
	}()
	return w.notifier.Notify(ctx, e)
}

// finish settles a delivery's dedup entry and records its outcome.
func (d *Dispatcher) finish(job delivery, rec DeliveryRecord) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if job.dedupKey != "" {
		if rec.Status == StatusDelivered || rec.Status == StatusSkipped {
			d.dedup[job.dedupKey] = dedupEntry{at: rec.DoneAt}
			d.pruneDedup(rec.DoneAt)
		} else {
			// Let a later emission of the same event try again.
			delete(d.dedup, job.dedupKey)
		}
	}
	d.recordLocked(rec)
}

// pruneDedup forgets expired keys once the map has doubled since the last
// pruning, so that memory stays proportional to the keys still in window.
func (d *Dispatcher) pruneDedup(now time.Time) {
	if len(d.dedup) < d.dedupPrune {
		return
	}
	for k, e := range d.dedup {
		if !e.inFlight && now.Sub(e.at) >= d.opts.DedupWindow {
			delete(d.dedup, k)
		}
	}
	d.dedupPrune = max(1024, 2*len(d.dedup))
}

func (d *Dispatcher) recordLocked(rec DeliveryRecord) {
	d.history[d.historyNext] = rec
	d.historyNext = (d.historyNext + 1) % len(d.history)
	if d.historyNext == 0 {
		d.historyFull = true
	}
	if d.opts.OnResult == nil {
		return
	}
	if len(d.pending) >= maxPending {
		d.pending = d.pending[1:]
		d.lostReports++
	}
	d.pending = append(d.pending, rec)
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// report hands records to OnResult until the workers are done and every
// record is handed over.
func (d *Dispatcher) report() {
	defer close(d.reporterDone)
	for {
		select {
		case <-d.wake:
			d.flushReports()
			if d.abandon.Load() {
				return
			}
		case <-d.workersDone:
			d.flushReports()
			return
		}
	}
}

func (d *Dispatcher) flushReports() {
	for {
		d.mu.Lock()
		batch, lost := d.pending, d.lostReports
		d.pending, d.lostReports = nil, 0
		d.mu.Unlock()
		if lost > 0 {
			d.opts.Logger.Warn("delivery records not reported: OnResult too slow", slog.Int("lost", lost))
		}
		if len(batch) == 0 {
			return
		}
		for _, rec := range batch {
			// inHook is set before abandon is read, so that Close, which
			// sets abandon before reading inHook, either sees the call in
			// progress or is sure that no call will start.
			d.inHook.Store(true)
			if d.abandon.Load() {
				d.inHook.Store(false)
				return
			}
			d.opts.OnResult(rec)
			d.inHook.Store(false)
		}
	}
}

// Deliveries returns the most recent delivery records, oldest first.
func (d *Dispatcher) Deliveries() []DeliveryRecord {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.historyFull {
		return slices.Clone(d.history[:d.historyNext])
	}
	return append(slices.Clone(d.history[d.historyNext:]), d.history[:d.historyNext]...)
}

// Failures returns the most recent records of deliveries that failed or
// were dropped, oldest first.
func (d *Dispatcher) Failures() []DeliveryRecord {
	return slices.DeleteFunc(d.Deliveries(), func(r DeliveryRecord) bool {
		return r.Status != StatusFailed && r.Status != StatusDropped
	})
}

// Close stops accepting events and waits until every queued delivery has
// ended and every record has been handed to OnResult, or until ctx is done.
// In that case it cancels the attempts in flight, records what is still
// queued as dropped, stops calling OnResult and returns ctx's error. Every
// goroutine of the Dispatcher has ended when Close returns, except one busy
// in an OnResult call, which ends when that call returns.
func (d *Dispatcher) Close(ctx context.Context) error {
	d.mu.Lock()
	if !d.closed {
		d.closed = true
		for _, w := range d.workers {
			close(w.queue)
		}
	}
	d.mu.Unlock()

	select {
	case <-d.reporterDone:
		d.cancel()
		return nil
	case <-ctx.Done():
	}
	d.abandon.Store(true)
	d.cancel()
	<-d.workersDone
	if !d.inHook.Load() {
		<-d.reporterDone
	}
	return fmt.Errorf("notify: close: %w; undelivered notifications were dropped", ctx.Err())
}

func recordAttrs(rec DeliveryRecord) []any {
	attrs := []any{
		slog.String("channel", rec.Channel),
		slog.String("kind", string(rec.Kind)),
		slog.String("environment", rec.Environment),
		slog.String("flag", rec.Flag),
		slog.String("rollout_id", rec.RolloutID),
		slog.String("event_id", rec.EventID),
		slog.Int("attempts", rec.Attempts),
	}
	if rec.LastError != "" {
		attrs = append(attrs, slog.String("error", rec.LastError))
	}
	return attrs
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
