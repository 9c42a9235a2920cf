package controller_test

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ramp-release/ramp/internal/controller"
	"github.com/ramp-release/ramp/internal/store"
)

// cuttable is a lease store that a test can cut off, as a network partition would.
type cuttable struct {
	controller.LeaseStore
	cut atomic.Bool
}

var errCut = errors.New("connection refused (cut by the test)")

func (c *cuttable) AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (store.Lease, error) {
	if c.cut.Load() {
		return store.Lease{}, errCut
	}
	return c.LeaseStore.AcquireLease(ctx, name, holder, ttl)
}

func (c *cuttable) ReleaseLease(ctx context.Context, name, holder string, epoch int64) error {
	if c.cut.Load() {
		return errCut
	}
	return c.LeaseStore.ReleaseLease(ctx, name, holder, epoch)
}

// candidate is an elector running until its test ends or it is stopped.
type candidate struct {
	*controller.Elector
	store *cuttable
	stop  func()
}

func startCandidate(t *testing.T, st controller.LeaseStore, holder string, tick time.Duration) *candidate {
	t.Helper()
	c := &candidate{store: &cuttable{LeaseStore: st}}
	c.Elector = controller.NewElector(c.store, controller.ElectorOptions{Tick: tick, Holder: holder})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.Run(ctx)
	}()
	var once sync.Once
	c.stop = func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(c.stop)
	return c
}

// waitFor polls cond until it holds or the deadline passes.
func waitUntilWithin(t *testing.T, within time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > within {
			t.Fatalf("%s: not within %s", what, within)
		}
		time.Sleep(2 * time.Millisecond)
	}
	return time.Since(start)
}

func leading(cs ...*candidate) []*candidate {
	var out []*candidate
	for _, c := range cs {
		if _, ok := c.Leader(); ok {
			out = append(out, c)
		}
	}
	return out
}

// TestOneElectorLeadsAndAnotherTakesOver runs three electors over one store: one
// leads; when it resigns another leads at once with the next epoch; when the leader
// is cut off from the store it steps down by its own clock before a successor is
// elected, and the successor takes over within two ticks. At no moment do two lead.
func TestOneElectorLeadsAndAnotherTakesOver(t *testing.T) {
	const tick = 200 * time.Millisecond
	st := openStore(t, filepath.Join(t.TempDir(), "ramp.db"))
	cs := []*candidate{
		startCandidate(t, st, "a", tick),
		startCandidate(t, st, "b", tick),
		startCandidate(t, st, "c", tick),
	}
	// Sample who leads throughout: never two at once.
	var twice atomic.Int32
	sampling, stopSampling := context.WithCancel(context.Background())
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for sampling.Err() == nil {
			if len(leading(cs...)) > 1 {
				twice.Add(1)
			}
			time.Sleep(time.Millisecond)
		}
	}()
	defer func() {
		stopSampling()
		<-sampled
		if n := twice.Load(); n > 0 {
			t.Errorf("two electors led at once in %d samples", n)
		}
	}()

	waitUntilWithin(t, 5*time.Second, "a first leader", func() bool { return len(leading(cs...)) == 1 })
	first := leading(cs...)[0]
	e1, _ := first.Leader()

	first.stop() // resigns: releases the lease
	rest := without(cs, first)
	took := waitUntilWithin(t, 5*time.Second, "a leader after the first resigned", func() bool { return len(leading(rest...)) == 1 })
	second := leading(rest...)[0]
	if e2, _ := second.Leader(); e2 <= e1 {
		t.Errorf("the second leader has epoch %d; want more than the first's %d", e2, e1)
	}
	t.Logf("after a resignation, %s took over in %s", second.Holder(), took.Round(time.Millisecond))

	e2, _ := second.Leader()
	second.store.cut.Store(true) // the leader loses the store, as a crashed process would
	cutAt := time.Now()
	stepped := waitUntilWithin(t, 2*tick, "the cut-off leader stepping down", func() bool { _, ok := second.Leader(); return !ok })
	third := without(rest, second)[0]
	took = waitUntilWithin(t, 5*time.Second, "a leader after the second was cut off", func() bool { _, ok := third.Leader(); return ok })
	if e3, _ := third.Leader(); e3 <= e2 {
		t.Errorf("the third leader has epoch %d; want more than the second's %d", e3, e2)
	}
	// By construction a successor takes over within TTL + Renew = two ticks; the
	// check (not a timing bar: see the logged figure) leaves room for a busy machine.
	if took > 10*tick {
		t.Errorf("the successor took over %s after the leader was cut off; want within two ticks (%s)", took.Round(time.Millisecond), 2*tick)
	}
	t.Logf("a cut-off leader stepped down after %s; %s took over %s after the cut", stepped.Round(time.Millisecond), third.Holder(), time.Since(cutAt).Round(time.Millisecond))

	second.store.cut.Store(false) // back: it follows
	waitUntilWithin(t, 5*time.Second, "the old leader seeing the new one", func() bool {
		_, ok := third.Leader()
		_, old := second.Leader()
		return ok && !old
	})
}

func without(cs []*candidate, c *candidate) []*candidate {
	var out []*candidate
	for _, x := range cs {
		if x != c {
			out = append(out, x)
		}
	}
	return out
}

// TestWhileLeaderFollowsLeadership checks that a component run WhileLeader runs only
// while this process leads, stops when it stops leading, and starts afresh when it
// leads again with a new epoch.
func TestWhileLeaderFollowsLeadership(t *testing.T) {
	lead := &switchable{}
	ctx, cancel := context.WithCancel(context.Background())
	var running atomic.Int32
	var runs atomic.Int32
	done := make(chan struct{})
	go func() {
		defer close(done)
		controller.WhileLeader(ctx, lead, 10*time.Millisecond, nil, "test component", func(ctx context.Context) error {
			runs.Add(1)
			running.Add(1)
			defer running.Add(-1)
			<-ctx.Done()
			return nil
		})
	}()
	is := func(n int32) func() bool { return func() bool { return running.Load() == n } }
	lead.set(1)
	waitUntilWithin(t, 5*time.Second, "running once leading", is(1))
	lead.set(0)
	waitUntilWithin(t, 5*time.Second, "stopped once following", is(0))
	lead.set(2)
	waitUntilWithin(t, 5*time.Second, "running again", is(1))
	lead.set(3) // a new epoch: another replica may have run it meanwhile
	waitUntilWithin(t, 5*time.Second, "restarted for the new epoch", func() bool { return runs.Load() == 3 && running.Load() == 1 })
	cancel()
	<-done
	if n := running.Load(); n != 0 {
		t.Errorf("%d runs still going after WhileLeader returned", n)
	}
}
