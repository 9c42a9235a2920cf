package server_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestStreamFanOutLatency measures how fast a flag change reaches many stream
// clients: N clients (RAMP_SSE_CLIENTS, default 1 000; 50 in a normal test run) hold
// /sdk/v1/stream open while 100 changes are made through the admin API, and the time
// from sending each change to its arrival at every client is reported as p50/p99/max
// (CLARIFICATIONS §17). It asserts only that every client received every change; the
// figures are for docs/benchmarks.md. Run the full version with
//
//	RAMP_HEAVY=1 go test -run TestStreamFanOutLatency -v ./internal/server/
func TestStreamFanOutLatency(t *testing.T) {
	clients, changes := 50, 10
	if os.Getenv("RAMP_HEAVY") != "" {
		clients, changes = 1000, 100
	}
	if n, err := strconv.Atoi(os.Getenv("RAMP_SSE_CLIENTS")); err == nil {
		clients = n
	}
	e := newEnv(t)
	e.mustDo("POST", "/api/v1/flags", e.admin, summarizeFlag, http.StatusCreated, nil)

	transport := &http.Transport{MaxIdleConnsPerHost: clients, MaxConnsPerHost: 0}
	httpc := &http.Client{Transport: transport}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	// arrivals[c][rev] is when client c received revision rev.
	type arrival struct {
		rev int64
		at  time.Time
	}
	arrivals := make([][]arrival, clients)
	var connected, wg sync.WaitGroup
	connected.Add(clients)
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			req, _ := http.NewRequestWithContext(ctx, "GET", e.url+"/sdk/v1/stream", nil)
			req.Header.Set("Authorization", "Bearer "+e.sdkKey)
			resp, err := httpc.Do(req)
			if err != nil {
				t.Error(err)
				connected.Done()
				return
			}
			defer resp.Body.Close()
			sc := bufio.NewScanner(resp.Body)
			sc.Buffer(make([]byte, 1<<20), 1<<20)
			first := true
			for sc.Scan() {
				line := sc.Text()
				if !strings.HasPrefix(line, "id: ") {
					continue
				}
				rev, _ := strconv.ParseInt(strings.TrimPrefix(line, "id: "), 10, 64)
				if first {
					first = false
					connected.Done()
					continue
				}
				arrivals[c] = append(arrivals[c], arrival{rev, time.Now()})
				if len(arrivals[c]) == changes {
					return
				}
			}
		}(c)
	}
	connected.Wait()

	sent := map[int64]time.Time{}
	for i := 0; i < changes; i++ {
		op := "disable"
		if i%2 == 1 {
			op = "enable"
		}
		start := time.Now()
		status, _, body := e.do("POST", "/api/v1/environments/production/flags/summarize/"+op, e.admin, "")
		if status != http.StatusOK {
			t.Fatalf("%s: %d %s", op, status, body)
		}
		var doc struct{ Revision int64 }
		_, _, snap := e.do("GET", "/sdk/v1/flags", e.sdkKey, "")
		if err := json.Unmarshal(snap, &doc); err != nil {
			t.Fatal(err)
		}
		sent[doc.Revision] = start
		time.Sleep(20 * time.Millisecond) // pace the changes like an operator would, not a hot loop
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		cancel()
		t.Fatal("not every client received every change within 60 s")
	}
	var lat []time.Duration
	for c := range arrivals {
		if len(arrivals[c]) != changes {
			t.Fatalf("client %d received %d of %d changes", c, len(arrivals[c]), changes)
		}
		for _, a := range arrivals[c] {
			if s, ok := sent[a.rev]; ok {
				lat = append(lat, a.at.Sub(s))
			}
		}
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	q := func(p float64) time.Duration { return lat[int(p*float64(len(lat)-1))] }
	t.Logf("%d clients × %d changes: change sent → received p50 %v, p99 %v, max %v (%d deliveries)",
		clients, changes, q(0.5).Round(time.Microsecond), q(0.99).Round(time.Microsecond), lat[len(lat)-1].Round(time.Microsecond), len(lat))
}
