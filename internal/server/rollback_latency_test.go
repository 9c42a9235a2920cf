package server_test

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestRollbackLatency measures the rollback bar of issue 5: from the API call that
// rolls a rollout back to each of N SDK streams receiving the snapshot that serves
// control (N = 1 000 with RAMP_HEAVY=1, RAMP_SSE_CLIENTS overrides; 20 otherwise),
// over K rollbacks (20 heavy, 3 otherwise). It reports the API call's own latency
// (which returns only after control is committed and published) and the
// call → stream latency as p50/p99/max; it asserts only that every stream saw every
// rollback (CLARIFICATIONS §4). Run the full version with
//
//	RAMP_HEAVY=1 go test -run TestRollbackLatency -v ./internal/server/
func TestRollbackLatency(t *testing.T) {
	clients, rounds := 20, 3
	if os.Getenv("RAMP_HEAVY") != "" {
		clients, rounds = 1000, 20
	}
	if n, err := strconv.Atoi(os.Getenv("RAMP_SSE_CLIENTS")); err == nil && n > 0 {
		clients = n
	}
	e := newRolloutEnv(t)

	// Each stream keeps the newest revision it received and when.
	type stream struct {
		mu       sync.Mutex
		arrivals map[int64]time.Time
		latest   int64
	}
	streams := make([]*stream, clients)
	transport := &http.Transport{MaxIdleConnsPerHost: clients}
	httpc := &http.Client{Transport: transport}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer func() {
		cancel()
		wg.Wait()
		transport.CloseIdleConnections()
	}()
	for c := range clients {
		s := &stream{arrivals: map[int64]time.Time{}}
		streams[c] = s
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequestWithContext(ctx, "GET", e.url+"/sdk/v1/stream", nil)
			req.Header.Set("Authorization", "Bearer "+e.sdkKey)
			resp, err := httpc.Do(req)
			if err != nil {
				if ctx.Err() == nil {
					t.Error(err)
				}
				return
			}
			defer resp.Body.Close()
			sc := bufio.NewScanner(resp.Body)
			sc.Buffer(make([]byte, 1<<20), 1<<20)
			for sc.Scan() {
				line := sc.Text()
				if !strings.HasPrefix(line, "id: ") {
					continue
				}
				rev, _ := strconv.ParseInt(strings.TrimPrefix(line, "id: "), 10, 64)
				now := time.Now()
				s.mu.Lock()
				s.arrivals[rev], s.latest = now, rev
				s.mu.Unlock()
			}
		}()
	}
	revision := func() int64 {
		rev, err := e.st.Revision(context.Background(), "production")
		if err != nil {
			t.Fatal(err)
		}
		return rev
	}
	// waitAll waits until every stream has received rev.
	waitAll := func(rev int64, what string) {
		deadline := time.Now().Add(60 * time.Second)
		for _, s := range streams {
			for {
				s.mu.Lock()
				got := s.latest
				s.mu.Unlock()
				if got >= rev {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("%s: a stream is at revision %d, not %d, after 60 s", what, got, rev)
				}
				time.Sleep(time.Millisecond) // poll interval
			}
		}
	}
	waitAll(revision(), "connect")

	var apiLat, streamLat []time.Duration
	for i := range rounds {
		var ro struct{ ID string }
		e.mustDo("POST", "/api/v1/rollouts", e.admin, `{"overrides":{"flag":"smart-reply","environment":"production","treatment":"on","control":"off",
			"stages":[{"name":"half","percent":50},{"name":"all","percent":100}]}}`, http.StatusCreated, &ro)
		e.mustDo("POST", "/api/v1/rollouts/"+ro.ID+"/start", e.admin, "", http.StatusOK, nil)
		waitAll(revision(), "start")
		before := revision()
		t0 := time.Now()
		e.mustDo("POST", "/api/v1/rollouts/"+ro.ID+"/rollback", e.admin, `{"reason":"latency round `+strconv.Itoa(i)+`"}`, http.StatusOK, nil)
		apiLat = append(apiLat, time.Since(t0))
		rev := revision()
		if rev <= before {
			t.Fatalf("round %d: the rollback did not change the revision (%d)", i, rev)
		}
		waitAll(rev, "rollback")
		for _, s := range streams {
			s.mu.Lock()
			at, ok := s.arrivals[rev]
			s.mu.Unlock()
			if !ok {
				t.Fatalf("round %d: a stream skipped revision %d", i, rev)
			}
			streamLat = append(streamLat, at.Sub(t0))
		}
	}
	t.Logf("rollback → %d SDK streams, %d rollbacks on %d CPUs:", clients, rounds, runtime.NumCPU())
	t.Logf("  API call (commit + publish):  %s", percentiles(apiLat))
	t.Logf("  API call → stream has control: %s", percentiles(streamLat))
}

func percentiles(d []time.Duration) string {
	s := slices.Clone(d)
	slices.Sort(s)
	at := func(q float64) time.Duration { return s[min(len(s)-1, int(q*float64(len(s))))] }
	return fmt.Sprintf("p50 %v  p99 %v  max %v  (n=%d)", at(0.50).Round(10*time.Microsecond), at(0.99).Round(10*time.Microsecond), s[len(s)-1].Round(10*time.Microsecond), len(s))
}
