package sdk

import (
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/ramp-release/ramp/events"
	"github.com/ramp-release/ramp/flags"
)

const (
	maxDimensions     = events.MaxDimensions
	maxEventsPerBatch = events.MaxEventsPerBatch
	maxStringLength   = events.MaxStringLength
)

// pending is an event waiting in the queue, in a compact form: the context's dimension
// values live in the queue's dims array, so queuing an exposure allocates nothing.
type pending struct {
	at      int64 // Unix nanoseconds
	metric  bool  // a metric event; otherwise an exposure
	unit    string
	flag    string
	variant string
	version int64
	ruleID  string
	rule    int
	rollout string
	stage   string
	arm     string
	name    string // the metric
	value   float64
	comment string
	// extra holds a metric event's own dimensions (Track's WithDimensions).
	extra map[string]string
}

// queue is the bounded buffer between evaluations and the sender: a ring of pending
// events behind one mutex. push never waits: when the ring is full the event is
// dropped and counted.
type queue struct {
	mu    sync.Mutex
	ring  []pending
	dims  []string // len(ring) * len(names): the dimension values of ring[i]
	names []string // the dimension attribute names
	head  int
	n     int

	batch int           // the sender is woken when this many events wait
	wake  chan struct{} // capacity 1

	// dropped counts events lost since the last batch the server acknowledged; it is
	// reported in that batch's Dropped field. droppedTotal never decreases.
	dropped      atomic.Int64
	droppedTotal atomic.Int64
}

func newQueue(size, batch int, names []string) *queue {
	return &queue{
		ring:  make([]pending, size),
		dims:  make([]string, size*len(names)),
		names: names,
		batch: batch,
		wake:  make(chan struct{}, 1),
	}
}

// drop counts n lost events.
func (q *queue) drop(n int64) {
	q.dropped.Add(n)
	q.droppedTotal.Add(n)
}

// push queues e with the dimensions read from ctx (nil for none); it reports false
// when the queue was full and the event was dropped.
func (q *queue) push(e *pending, ctx *flags.Context) bool {
	var vals [maxDimensions]string
	if ctx != nil {
		for i, name := range q.names {
			vals[i] = dimensionValue(ctx.Attributes[name])
		}
	}
	q.mu.Lock()
	if q.n == len(q.ring) {
		q.mu.Unlock()
		q.drop(1)
		return false
	}
	i := q.head + q.n
	if i >= len(q.ring) {
		i -= len(q.ring)
	}
	q.ring[i] = *e
	copy(q.dims[i*len(q.names):(i+1)*len(q.names)], vals[:len(q.names)])
	q.n++
	full := q.n >= q.batch
	q.mu.Unlock()
	if full {
		select {
		case q.wake <- struct{}{}:
		default:
		}
	}
	return true
}

// len returns the number of events waiting.
func (q *queue) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.n
}

// take removes up to max events and returns them in the wire format.
func (q *queue) take(max int) []events.Event {
	q.mu.Lock()
	defer q.mu.Unlock()
	n := min(q.n, max)
	if n == 0 {
		return nil
	}
	out := make([]events.Event, n)
	nd := len(q.names)
	for k := range out {
		i := q.head
		p := &q.ring[i]
		e := &out[k]
		e.Time = time.Unix(0, p.at).UTC()
		e.Unit = p.unit
		if p.metric {
			e.Kind = events.KindMetric
			e.Metric, e.Comment = p.name, p.comment
			v := p.value
			e.Value = &v
		} else {
			e.Kind = events.KindExposure
			e.Flag, e.Variant, e.FlagVersion = p.flag, p.variant, p.version
			e.RuleID, e.RuleIndex = p.ruleID, p.rule
			e.Rollout, e.Stage, e.Arm = p.rollout, p.stage, p.arm
		}
		for j, name := range q.names {
			if v := q.dims[i*nd+j]; v != "" {
				if e.Dimensions == nil {
					e.Dimensions = make(map[string]string, nd+len(p.extra))
				}
				e.Dimensions[name] = v
			}
		}
		for k, v := range p.extra {
			if e.Dimensions == nil {
				e.Dimensions = make(map[string]string, len(p.extra))
			}
			e.Dimensions[k] = v
		}
		// Release the strings for the garbage collector.
		*p = pending{}
		clear(q.dims[i*nd : (i+1)*nd])
		if q.head++; q.head == len(q.ring) {
			q.head = 0
		}
		q.n--
	}
	return out
}

// dimensionValue renders an attribute as a dimension value: strings as they are
// (cut to the wire limit), numbers and bools in their usual text; anything else (lists,
// objects, null, a missing attribute) is no value.
func dimensionValue(v any) string {
	switch x := v.(type) {
	case string:
		return truncate(x, maxStringLength)
	case bool:
		return strconv.FormatBool(x)
	case int:
		return strconv.Itoa(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case int32:
		return strconv.FormatInt(int64(x), 10)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case float32:
		return strconv.FormatFloat(float64(x), 'g', -1, 32)
	}
	return ""
}

// truncate cuts s to at most n bytes on a rune boundary, so that the JSON encoder does
// not turn a split rune into a longer replacement character.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
