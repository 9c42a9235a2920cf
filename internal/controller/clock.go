package controller

import (
	"sync"
	"time"
)

// Clock is the controller's time: what it decides with and what paces its loop.
type Clock interface {
	Now() time.Time
	// NewTicker returns a channel that receives a time every d, and a function that
	// stops it.
	NewTicker(d time.Duration) (<-chan time.Time, func())
}

// SystemClock is the wall clock.
type SystemClock struct{}

// Now returns the current UTC time.
func (SystemClock) Now() time.Time { return time.Now().UTC() }

// NewTicker is time.NewTicker.
func (SystemClock) NewTicker(d time.Duration) (<-chan time.Time, func()) {
	t := time.NewTicker(d)
	return t.C, t.Stop
}

// ManualClock is a Clock that moves only when told to: tests and simulations drive
// the controller with it (a simulated tick is minutes of virtual time,
// CLARIFICATIONS §29). It is safe for concurrent use.
type ManualClock struct {
	mu      sync.Mutex
	now     time.Time
	tickers []*manualTicker
}

type manualTicker struct {
	every   time.Duration
	next    time.Time
	c       chan time.Time
	stopped bool
}

// NewManualClock returns a clock standing at t.
func NewManualClock(t time.Time) *ManualClock { return &ManualClock{now: t} }

// Now returns the clock's time.
func (c *ManualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// NewTicker returns a ticker that fires when Advance or Set passes its next time.
// Like time.Ticker it drops ticks a slow receiver has not taken.
func (c *ManualClock) NewTicker(d time.Duration) (<-chan time.Time, func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &manualTicker{every: d, next: c.now.Add(d), c: make(chan time.Time, 1)}
	c.tickers = append(c.tickers, t)
	return t.c, func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		t.stopped = true
	}
}

// Advance moves the clock forward by d.
func (c *ManualClock) Advance(d time.Duration) { c.Set(c.Now().Add(d)) }

// Set moves the clock to t and fires the tickers whose time has come (once each,
// however many periods passed).
func (c *ManualClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
	for _, tk := range c.tickers {
		if tk.stopped || t.Before(tk.next) {
			continue
		}
		for !t.Before(tk.next) {
			tk.next = tk.next.Add(tk.every)
		}
		select {
		case tk.c <- t:
		default:
		}
	}
}
