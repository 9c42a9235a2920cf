package sdk

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/ramp-release/ramp/events"
	"github.com/ramp-release/ramp/flags"
)

// sdkName identifies this SDK in event batches and the User-Agent.
const sdkName = "ramp-go/1"

// expose records the exposure of a served variant unless the same unit, flag, variant
// and version was reported within the window. It never blocks and, when the exposure
// was already reported (the common case), never allocates.
func (c *Client) expose(res *flags.Result, ctx *flags.Context) {
	if len(ctx.Key) > maxStringLength || c.closed.Load() {
		return // the server would refuse the whole batch for it; or nobody sends any more
	}
	if !c.dedup.firstIn(exposureHash(ctx.Key, res.FlagKey, res.Variant, res.Version), c.clock.now()) {
		return
	}
	// The coarse clock dates the exposure too (to within its tick, at most 100 ms):
	// time.Now would double the cost of a new exposure.
	p := pending{
		at: c.started.UnixNano() + c.clock.now(), unit: ctx.Key, flag: res.FlagKey, variant: res.Variant,
		version: res.Version, ruleID: res.RuleID, rule: res.RuleIndex,
	}
	if m := res.RuleMetadata; m != nil {
		p.rollout, p.stage, p.arm = m[metaRolloutID], m[metaStage], m[metaArm]
	}
	if c.queue.push(&p, ctx) {
		c.exposures.Add(1)
	}
}

// TrackOption refines a metric event.
type TrackOption func(*trackOptions)

type trackOptions struct {
	comment string
	dims    map[string]string
	ctx     *flags.Context
	at      time.Time
}

// WithComment attaches free text to the event, e.g. the user's words with a thumbs-down.
func WithComment(comment string) TrackOption {
	return func(o *trackOptions) { o.comment = comment }
}

// WithDimensions adds analysis dimensions to the event (at most 16 in all, keys and
// values up to 256 bytes).
func WithDimensions(dims map[string]string) TrackOption {
	return func(o *trackOptions) {
		if o.dims == nil {
			o.dims = make(map[string]string, len(dims))
		}
		for k, v := range dims {
			o.dims[k] = v
		}
	}
}

// WithContext takes the event's analysis dimensions (Config.Dimensions) from the
// evaluation context, as exposures do.
func WithContext(ctx flags.Context) TrackOption {
	return func(o *trackOptions) { o.ctx = &ctx }
}

// WithTime sets when the event happened (default: when Track is called).
func WithTime(t time.Time) TrackOption {
	return func(o *trackOptions) { o.at = t }
}

// Track queues a metric event for unitKey — a task completed, a thumbs up (1) or down
// (0), a latency in milliseconds, a cost, a support ticket, a conversion — to be sent
// with the exposures. It never blocks: it returns ErrQueueFull when the queue is full
// (the event is dropped and counted), an error for an event the server would refuse,
// and nil without doing anything when events are disabled or the client is offline.
func (c *Client) Track(ctx context.Context, unitKey, metric string, value float64, opts ...TrackOption) error {
	if c.closed.Load() {
		return ErrClosed
	}
	if c.queue == nil {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	var o trackOptions
	for _, opt := range opts {
		opt(&o)
	}
	switch {
	case unitKey == "":
		return errors.New("sdk: Track: the unit key is empty; pass the key the flag was evaluated for")
	case len(unitKey) > maxStringLength:
		return fmt.Errorf("sdk: Track: the unit key is %d bytes long; the limit is %d", len(unitKey), maxStringLength)
	case metric == "":
		return errors.New("sdk: Track: the metric name is empty, e.g. \"thumbs_up\"")
	case len(metric) > maxStringLength:
		return fmt.Errorf("sdk: Track: the metric name is %d bytes long; the limit is %d", len(metric), maxStringLength)
	case math.IsNaN(value) || math.IsInf(value, 0):
		return fmt.Errorf("sdk: Track %s: the value %v is not a finite number", metric, value)
	case len(o.comment) > events.MaxCommentLength:
		return fmt.Errorf("sdk: Track %s: the comment is %d bytes long; the limit is %d", metric, len(o.comment), events.MaxCommentLength)
	}
	n := len(o.dims)
	if o.ctx != nil {
		for _, name := range c.cfg.Dimensions {
			if _, dup := o.dims[name]; !dup && dimensionValue(o.ctx.Attributes[name]) != "" {
				n++
			}
		}
	}
	if n > maxDimensions {
		return fmt.Errorf("sdk: Track %s: %d dimensions; an event carries at most %d", metric, n, maxDimensions)
	}
	for k, v := range o.dims {
		if len(k) > maxStringLength || len(v) > maxStringLength {
			return fmt.Errorf("sdk: Track %s: dimension %.40q: keys and values are limited to %d bytes", metric, k, maxStringLength)
		}
	}
	at := o.at
	if at.IsZero() {
		at = time.Now()
	}
	p := pending{at: at.UnixNano(), metric: true, unit: unitKey, name: metric, value: value, comment: o.comment, extra: o.dims}
	if !c.queue.push(&p, o.ctx) {
		return ErrQueueFull
	}
	c.metrics.Add(1)
	return nil
}

// runEvents sends batches: a full batch at once, the rest every FlushInterval, and
// everything when the client closes.
func (c *Client) runEvents() {
	defer close(c.eventsDone)
	t := time.NewTicker(c.cfg.FlushInterval)
	defer t.Stop()
	for {
		select {
		case <-c.eventsStop:
			c.flush(true)
			return
		case <-t.C:
			c.flush(false)
		case <-c.queue.wake:
			for c.queue.len() >= c.cfg.MaxBatch {
				if !c.sendBatch(c.queue.take(c.cfg.MaxBatch)) {
					break // the server is not taking batches: wait for the next flush
				}
			}
		}
	}
}

// runClock advances the coarse clock the dedup cache reads.
func (c *Client) runClock(tick time.Duration) {
	defer close(c.clockDone)
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		select {
		case <-c.eventsStop:
			return
		case <-t.C:
			c.clock.nanos.Store(int64(time.Since(c.started)))
		}
	}
}

// flush sends what is queued. A periodic flush sends the events present when it
// starts, so a busy application cannot keep it looping, and stops at the first batch
// that could not be delivered: the rest waits for the next flush rather than spending
// its attempts on a server that is down. The final flush sends everything, and drops
// the rest once a batch could not be delivered.
func (c *Client) flush(final bool) {
	left := c.queue.len()
	for left > 0 || final {
		batch := c.queue.take(c.cfg.MaxBatch)
		if len(batch) == 0 {
			return
		}
		left -= len(batch)
		if !c.sendBatch(batch) {
			if n := c.queue.len(); final && n > 0 {
				c.queue.drop(int64(len(c.queue.take(n))))
			}
			return
		}
	}
}

var rawPool = sync.Pool{New: func() any { b := make([]byte, 0, 64<<10); return &b }}

var gzipPool = sync.Pool{New: func() any {
	w, _ := gzip.NewWriterLevel(io.Discard, gzip.BestSpeed)
	return w
}}

// sendBatch posts one batch, retrying 5xx, 429 and network errors with backoff under
// the same batch id, so the server stores it once however often it arrives. It reports
// whether the server acknowledged the batch; events not delivered are counted dropped.
func (c *Client) sendBatch(evs []events.Event) bool {
	if len(evs) == 0 {
		return true
	}
	if c.eventsRejected.Load() {
		c.queue.drop(int64(len(evs)))
		return false
	}
	b := events.Batch{BatchID: newBatchID(), SentAt: time.Now().UTC(), SDK: sdkName, Events: evs, Dropped: c.queue.dropped.Load()}
	var buf bytes.Buffer
	zw := gzipPool.Get().(*gzip.Writer)
	zw.Reset(&buf)
	raw := rawPool.Get().(*[]byte)
	*raw = appendBatch((*raw)[:0], &b)
	_, err := zw.Write(*raw)
	if err == nil {
		err = zw.Close()
	}
	rawPool.Put(raw)
	gzipPool.Put(zw)
	if err != nil { // cannot happen for these types; never send a broken body
		c.reportError(fmt.Errorf("sdk: encode event batch: %w", err))
		c.queue.drop(int64(len(evs)))
		return false
	}
	body := buf.Bytes()
	for attempt := 1; ; attempt++ {
		status, retryAfter, err := c.postEvents(body)
		switch {
		case err == nil:
			c.queue.dropped.Add(-b.Dropped)
			c.eventsSent.Add(int64(len(evs)))
			c.batchesSent.Add(1)
			return true
		case status == http.StatusUnauthorized || status == http.StatusForbidden:
			c.eventsRejected.Store(true)
			c.reportError(fmt.Errorf("sdk: event batch %s refused, no more events will be sent: %w", b.BatchID, err))
			c.queue.drop(int64(len(evs)))
			return false
		case status != 0 && status != http.StatusTooManyRequests && status < 500:
			c.reportError(fmt.Errorf("sdk: event batch %s of %d events refused: %w", b.BatchID, len(evs), err))
			c.queue.drop(int64(len(evs)))
			return false
		}
		if attempt >= c.cfg.MaxSendAttempts || c.eventsCtx.Err() != nil {
			c.reportError(fmt.Errorf("sdk: event batch %s of %d events given up after %d attempts: %w", b.BatchID, len(evs), attempt, err))
			c.queue.drop(int64(len(evs)))
			return false
		}
		c.sendRetries.Add(1)
		wait := backoff(c.cfg.ReconnectMin, c.cfg.ReconnectMax, attempt-1)
		if retryAfter > 0 {
			wait = min(retryAfter, c.cfg.ReconnectMax)
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-c.eventsCtx.Done():
			t.Stop()
		}
	}
}

// postEvents sends one gzip body. It returns the HTTP status (0 for a network error),
// the Retry-After delay and an error for anything but 2xx.
func (c *Client) postEvents(body []byte) (int, time.Duration, error) {
	ctx, cancel := context.WithTimeout(c.eventsCtx, c.cfg.RequestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.cfg.URL+"/sdk/v1/events", bytes.NewReader(body))
	if err != nil {
		return 0, 0, err
	}
	req.Header.Set("Authorization", "Bearer "+c.cfg.SDKKey)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Content-Encoding", "gzip")
	req.Header.Set("User-Agent", sdkName)
	resp, err := c.cfg.HTTPClient.Do(req)
	if err != nil {
		return 0, 0, fmt.Errorf("sdk: events: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return resp.StatusCode, 0, nil
	}
	var retryAfter time.Duration
	if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
		retryAfter = time.Duration(s) * time.Second
	}
	return resp.StatusCode, retryAfter, statusError("events", resp)
}

// newBatchID returns a random RFC 4122 version 4 UUID.
func newBatchID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var out [36]byte
	hex.Encode(out[0:8], b[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], b[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], b[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], b[8:10])
	out[23] = '-'
	hex.Encode(out[24:], b[10:])
	return string(out[:])
}

// The rule metadata keys a rollout renders (internal/rollout's MetaRolloutID,
// MetaStage and MetaArm; a test keeps them equal).
const (
	metaRolloutID = "rollout_id"
	metaStage     = "stage"
	metaArm       = "arm"
)
