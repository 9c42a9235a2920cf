package sdk_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ramp-release/ramp/flags"
	"github.com/ramp-release/ramp/sdk"
	"github.com/ramp-release/ramp/sdk/internal/ramptest"
)

// TestPropagation is a measurement, not a check: it connects RAMP_PROPAGATION_CLIENTS
// SDK clients (default 1 000) to one server on 127.0.0.1, makes
// RAMP_PROPAGATION_CHANGES flag changes (default 100) through the admin API, one at a
// time, and reports the latency from each change's commit in the store to its arrival
// in every client (CLARIFICATIONS §17). It runs only with RAMP_HEAVY=1:
//
//	RAMP_HEAVY=1 go test -run TestPropagation -v -timeout 20m ./sdk/
func TestPropagation(t *testing.T) {
	if os.Getenv("RAMP_HEAVY") != "1" {
		t.Skip("a benchmark command: run it with RAMP_HEAVY=1 (see its comment)")
	}
	clients := envInt(t, "RAMP_PROPAGATION_CLIENTS", 1000)
	changes := envInt(t, "RAMP_PROPAGATION_CHANGES", 100)

	// commits[v] is when version v of the flag's state was committed.
	var commitMu sync.Mutex
	commits := map[int64]time.Time{}
	s := ramptest.StartWith(t, ramptest.Options{OnFlagCommit: func(_, key string, v int64) {
		commitMu.Lock()
		commits[v] = time.Now()
		commitMu.Unlock()
	}})
	s.CreateFlag(flags.Flag{Key: "prop", Type: flags.TypeString, Enabled: true,
		Variants: map[string]any{"a": "A", "b": "B"}, Default: &flags.Allocation{Variant: "a"}})

	// One transport for all clients, as many processes' worth of connections.
	transport := &http.Transport{DialContext: (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		MaxIdleConns: clients * 2, MaxIdleConnsPerHost: clients * 2, IdleConnTimeout: time.Minute}
	defer transport.CloseIdleConnections()
	hc := &http.Client{Transport: transport}

	// received[i][v] is when client i started serving version v; seen counts the
	// clients serving each version.
	received := make([]map[int64]time.Time, clients)
	var mu sync.Mutex
	seen := map[int64]*atomic.Int64{}
	for v := int64(1); v <= int64(changes)+1; v++ {
		seen[v] = new(atomic.Int64)
	}
	cs := make([]*sdk.Client, clients)
	for i := range cs {
		received[i] = make(map[int64]time.Time, changes)
		var self atomic.Pointer[sdk.Client]
		c, err := sdk.New(context.Background(), sdk.Config{URL: s.URL, SDKKey: s.SDKKey, HTTPClient: hc, Logger: quiet,
			DisableEvents: true, ErrorGrace: time.Hour,
			OnChange: func([]string) {
				now := time.Now()
				c := self.Load()
				if c == nil {
					return
				}
				v := c.StringDetail("prop", flags.Context{}, "").Version
				mu.Lock()
				if _, dup := received[i][v]; !dup {
					received[i][v] = now
					if n := seen[v]; n != nil {
						n.Add(1)
					}
				}
				mu.Unlock()
			}})
		if err != nil {
			t.Fatal(err)
		}
		self.Store(c)
		cs[i] = c
	}
	defer func() {
		for _, c := range cs {
			_ = c.Close(context.Background())
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, c := range cs {
		if err := c.WaitReady(ctx); err != nil {
			t.Fatal(err)
		}
	}
	// Wait until every client streams: a client still fetching would measure polling.
	ramptest.Eventually(t, time.Minute, "every client on the stream", func() bool {
		return s.StreamClients() >= clients
	})

	var lat []time.Duration
	var putTimes []time.Duration
	start := time.Now()
	for i := range changes {
		variant := []string{"b", "a"}[i%2]
		t0 := time.Now()
		v := s.SetDefault("prop", variant)
		putTimes = append(putTimes, time.Since(t0))
		ramptest.Eventually(t, 30*time.Second, fmt.Sprintf("change %d (version %d) in every client", i, v), func() bool {
			return seen[v] != nil && seen[v].Load() == int64(clients)
		})
		commitMu.Lock()
		committed := commits[v]
		commitMu.Unlock()
		mu.Lock()
		for c := range received {
			lat = append(lat, max(0, received[c][v].Sub(committed)))
		}
		mu.Unlock()
	}
	elapsed := time.Since(start)
	slices.Sort(lat)
	slices.Sort(putTimes)
	q := func(xs []time.Duration, p float64) time.Duration { return xs[min(len(xs)-1, int(p*float64(len(xs))))] }
	t.Logf("propagation, commit → received in every client: %d clients × %d changes = %d samples on loopback", clients, changes, len(lat))
	t.Logf("  p50 %v  p90 %v  p99 %v  max %v", q(lat, 0.50), q(lat, 0.90), q(lat, 0.99), lat[len(lat)-1])
	t.Logf("  admin PUT round trip: p50 %v  p99 %v; %d changes in %v", q(putTimes, 0.5), q(putTimes, 0.99), changes, elapsed.Round(time.Millisecond))
	var rejected, applied int64
	for _, c := range cs {
		st := c.Stats()
		rejected += st.SnapshotsRejected
		applied += st.SnapshotsApplied
	}
	t.Logf("  snapshots applied %d, rejected %d; fetches %d", applied, rejected, s.Fetches.Load())
}

func envInt(t *testing.T, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		t.Fatalf("%s=%q: want a positive whole number", name, v)
	}
	return n
}
