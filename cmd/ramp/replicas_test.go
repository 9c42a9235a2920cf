package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// TestReplicas runs ramp as several processes over one PostgreSQL schema, as
// replicas behind a load balancer, and breaks things: it needs
// RAMP_TEST_POSTGRES_URL. The figures it logs (propagation, failover) are for
// docs/operations.md; the full versions run with RAMP_HEAVY=1:
//
//	RAMP_HEAVY=1 go test -run TestReplicas -v ./cmd/ramp
func TestReplicas(t *testing.T) {
	base := postgresBase(t)
	bin := buildRamp(t)
	heavy := os.Getenv("RAMP_HEAVY") == "1"

	t.Run("a change made through one replica reaches SDK streams on the others", func(t *testing.T) {
		changes := 100
		if heavy {
			changes = 1000
		}
		db := newDatabase(t, base)
		c := &cluster{t: t, bin: bin, store: db.url, tick: time.Second}
		a, b, third := c.start("a"), c.start("b"), c.start("c")
		c.boolFlag(a, "smart-reply")
		key := c.sdkKey(a, "production")
		streams := []*sse{openSSE(t, b.url, key), openSSE(t, third.url, key)}
		rev := int64(0)
		for _, s := range streams {
			rev = s.next(t, 10*time.Second).rev
		}
		var lat []time.Duration
		for i := range changes {
			op := []string{"disable", "enable"}[i%2]
			sent := time.Now()
			c.api(a, "POST", "/api/v1/environments/production/flags/smart-reply/"+op, nil, http.StatusOK, nil)
			for _, s := range streams {
				ev := s.next(t, 10*time.Second)
				if ev.rev != rev+1 {
					t.Fatalf("change %d: a stream got revision %d after %d; want each change once, in order", i, ev.rev, rev)
				}
				lat = append(lat, ev.at.Sub(sent))
			}
			rev++
		}
		// From sending the change to replica A until replicas B and C streamed it:
		// A's commit and answer, the NOTIFY, B's and C's reload and send.
		t.Logf("propagation across replicas (send to A → received from B and C), %d changes: %s", changes, percentiles(lat))
		// Not a timing bar (those are the logged figures): a sanity check that the
		// notifications, not the 1 s revision polling, carry the changes — polling
		// alone would give a median near 500 ms.
		if p := percentile(lat, 0.5); p > 250*time.Millisecond {
			t.Errorf("median propagation %s: the changes arrive by polling, not by notification", p)
		}
	})

	t.Run("a leader killed mid-rollout is replaced within two ticks and the same stage goes on", func(t *testing.T) {
		const tick = 200 * time.Millisecond
		db := newDatabase(t, base)
		c := &cluster{t: t, bin: bin, store: db.url, tick: tick}
		replicas := []*replica{c.start("a"), c.start("b"), c.start("c")}
		a := replicas[0]
		c.boolFlag(a, "smart-reply")
		key := c.sdkKey(a, "production")
		var ro rolloutView
		c.api(a, "POST", "/api/v1/rollouts", map[string]any{"overrides": map[string]any{
			"flag": "smart-reply", "environment": "production", "treatment": "on", "control": "off", "advance_on": "time",
			"stages": []any{
				map[string]any{"name": "ring-20", "percent": 20, "min_duration": "1s"},
				map[string]any{"name": "ring-50", "percent": 50, "min_duration": "3s"},
				map[string]any{"name": "all", "percent": 100, "min_duration": "1s"},
			},
			"guardrails": []any{map[string]any{"metric": "error_rate", "direction": "increase", "action": "pause"}},
		}}, http.StatusCreated, &ro)
		c.api(a, "POST", "/api/v1/rollouts/"+ro.ID+"/start", map[string]any{"reason": "failover test"}, http.StatusOK, nil)

		// Apps report exposures, through every replica that is up, in the planned
		// ratio of the current stage.
		ctx, stop := context.WithCancel(context.Background())
		var sent sync.WaitGroup
		sent.Go(func() { exposures(ctx, c, replicas, key, ro.ID) })
		defer func() { stop(); sent.Wait() }()

		live := func(r *replica) rolloutView {
			for _, x := range replicas {
				if x.alive() && x != r {
					return c.rollout(x, ro.ID)
				}
			}
			t.Fatal("no replica is up")
			return rolloutView{}
		}
		waitFor(t, 30*time.Second, "the rollout entering ring-50", func() bool { return live(nil).State.Stage == 1 })
		before := live(nil)
		pid, epoch, _ := db.lease(t)
		var leader *replica
		for _, r := range replicas {
			if r.cmd.Process.Pid == pid {
				leader = r
			}
		}
		if leader == nil || before.Epoch != epoch {
			t.Fatalf("the lease names pid %d at epoch %d and the rollout was written at epoch %d; want one of the replicas, at the same epoch", pid, epoch, before.Epoch)
		}

		leader.kill(t)
		killed := time.Now()
		var newPid int
		var newEpoch int64
		took := waitFor(t, 10*time.Second, "another replica taking the lease", func() bool {
			p, e, live := db.lease(t)
			newPid, newEpoch = p, e
			return live && e > epoch
		})
		t.Logf("failover: leader (pid %d, epoch %d) killed with SIGKILL; pid %d took the lease at epoch %d after %s (tick %s, lease %s, renewed every %s)",
			pid, epoch, newPid, newEpoch, took.Round(time.Millisecond), tick, tick*3/2, tick/2)
		if newPid == pid {
			t.Errorf("after the kill the lease is still pid %d's, at epoch %d", newPid, newEpoch)
		}
		// By construction the lease expires 1.5 ticks after its last renewal and is
		// asked for every half tick: two ticks. The logged figure is the measure; the
		// check only catches a broken election, with room for a busy machine.
		if took > 10*tick {
			t.Errorf("the new leader took over %s after the kill; the bound is two ticks (%s)", took.Round(time.Millisecond), 2*tick)
		}

		waitFor(t, 30*time.Second, "the rollout leaving ring-50", func() bool { return live(leader).State.Stage >= 2 })
		after := live(leader)
		if after.Epoch < newEpoch {
			t.Errorf("the rollout was last written at epoch %d; want the new leader's %d (or a later one's)", after.Epoch, newEpoch)
		}
		var starts, advances []string
		for _, d := range after.Decisions {
			switch d.Kind {
			case "start":
				starts = append(starts, fmt.Sprint(d.ToStage))
			case "advance":
				advances = append(advances, fmt.Sprintf("%d→%d", d.FromStage, d.ToStage))
				if d.FromStage == 1 {
					// The stage kept its start: the new leader counted its minimum
					// duration from when the old one entered it.
					if min := before.State.StageStarted.Add(3 * time.Second); d.At.Before(min) {
						t.Errorf("ring-50 was left at %s, before its minimum duration from %s", d.At, before.State.StageStarted)
					}
					t.Logf("ring-50 entered at %s by the old leader, left %s after its minimum duration by the new one (%s after the kill)",
						before.State.StageStarted.Format("15:04:05.000"), d.At.Sub(before.State.StageStarted.Add(3*time.Second)).Round(time.Millisecond),
						d.At.Sub(killed).Round(time.Millisecond))
				}
			}
		}
		if strings.Join(starts, ",") != "0" || strings.Join(advances, ",") != "0→1,1→2" {
			t.Errorf("decision log: starts %v, advances %v; want one start and each advance once", starts, advances)
		}

		// A rollback issued on one replica reaches SDK streams on another.
		var survivors []*replica
		for _, r := range replicas {
			if r.alive() {
				survivors = append(survivors, r)
			}
		}
		s := openSSE(t, survivors[1].url, key)
		last := s.next(t, 10*time.Second)
		start := time.Now()
		c.api(survivors[0], "POST", "/api/v1/rollouts/"+ro.ID+"/rollback", map[string]any{"reason": "failover test: roll back"}, http.StatusOK, nil)
		for {
			ev := s.next(t, 10*time.Second)
			if ev.rev <= last.rev || evaluate(t, ev.data, "smart-reply", "user-1") != "off" {
				continue // an earlier change still in flight
			}
			t.Logf("a rollback on %s reached a stream on %s after %s", survivors[0].name, survivors[1].name, ev.at.Sub(start).Round(time.Microsecond))
			for k := range 1000 {
				if got := evaluate(t, ev.data, "smart-reply", fmt.Sprintf("user-%d", k)); got != "off" {
					t.Fatalf("after the rollback user-%d is served %q; want off", k, got)
				}
			}
			break
		}
	})

	t.Run("events split over three replicas give the same analysis as through one", func(t *testing.T) {
		// Two installations with the same flag and rollout; the same batches go to
		// the first through one replica, in order, and to the second spread at random
		// over three replicas by concurrent senders, some of them sent twice to
		// different replicas (an SDK retrying elsewhere).
		const batches, perBatch = 40, 100
		analysisOf := func(n int, spread bool) map[string]any {
			db := newDatabase(t, base)
			c := &cluster{t: t, bin: bin, store: db.url, tick: time.Second}
			var replicas []*replica
			for i := range n {
				replicas = append(replicas, c.start(fmt.Sprintf("r%d", i)))
			}
			c.boolFlag(replicas[0], "smart-reply")
			key := c.sdkKey(replicas[0], "production")
			var ro rolloutView
			c.api(replicas[0], "POST", "/api/v1/rollouts", map[string]any{"overrides": map[string]any{
				"flag": "smart-reply", "environment": "production", "treatment": "on", "control": "off",
				"stages":     []any{map[string]any{"name": "ring-50", "percent": 50, "min_duration": "1h"}, map[string]any{"name": "all", "percent": 100}},
				"guardrails": []any{map[string]any{"metric": "error_rate", "direction": "increase", "action": "pause"}},
			}}, http.StatusCreated, &ro)
			c.api(replicas[0], "POST", "/api/v1/rollouts/"+ro.ID+"/start", map[string]any{"reason": "merge test"}, http.StatusOK, nil)
			at := time.Now().UTC()
			body := func(i int) []byte { return splitBatch(fmt.Sprintf("b-%d", i), ro.ID, i*perBatch, perBatch, at) }
			client := &http.Client{Timeout: 10 * time.Second}
			send := func(r *replica, i int) {
				if status, _, err := postBatch(client, r.url, key, body(i)); err != nil || status != http.StatusAccepted {
					t.Errorf("batch %d to %s: %d, %v", i, r.name, status, err)
				}
			}
			if !spread {
				for i := range batches {
					send(replicas[0], i)
				}
			} else {
				var wg sync.WaitGroup
				for w := range 3 {
					wg.Go(func() {
						for i := w; i < batches; i += 3 {
							send(replicas[randIntn(n)], i)
							if i%7 == 0 {
								send(replicas[randIntn(n)], i) // a retry, perhaps elsewhere
							}
						}
					})
				}
				wg.Wait()
			}
			var leader *replica
			waitFor(t, 30*time.Second, "the leader's aggregator folding every batch", func() bool {
				pid, _, _ := db.lease(t)
				for _, r := range replicas {
					if r.cmd.Process.Pid == pid {
						leader = r
					}
				}
				var st struct {
					Seq    int64 `json:"seq"`
					Events int64 `json:"events"`
				}
				status, _, _ := c.call(leader, "GET", "/api/v1/ingest", nil, &st)
				var last int64
				db.admin.QueryRow(`SELECT COALESCE(max(seq), 0) FROM ` + pgx.Identifier{db.schema, "event_batches"}.Sanitize()).Scan(&last)
				return status == http.StatusOK && st.Seq == last && last >= batches
			})
			var doc map[string]any
			c.api(leader, "GET", "/api/v1/rollouts/"+ro.ID+"/analysis", nil, http.StatusOK, &doc)
			// What names the installation, or when its events arrived, differs.
			for _, k := range []string{"rollout_id", "evidence_start", "as_of"} {
				delete(doc, k)
			}
			if v, ok := doc["verdicts"].(map[string]any); ok {
				delete(v, "evidence_start")
				delete(v, "as_of")
			}
			for _, m := range asSlice(doc["metrics"]) {
				delete(m.(map[string]any), "series")
			}
			return doc
		}
		one, three := analysisOf(1, false), analysisOf(3, true)
		if one["available"] != true {
			t.Fatalf("no analysis through one replica: %v", one)
		}
		a, _ := json.MarshalIndent(one, "", " ")
		b, _ := json.MarshalIndent(three, "", " ")
		if string(a) != string(b) {
			t.Errorf("the analysis differs when the events are spread over three replicas:\n--- one replica\n%s\n--- three\n%s", a, b)
		}
	})

	t.Run("failover time over repeated leader kills", func(t *testing.T) {
		kills := 3
		if heavy {
			kills = 20
		}
		const tick = 200 * time.Millisecond
		db := newDatabase(t, base)
		c := &cluster{t: t, bin: bin, store: db.url, tick: tick}
		replicas := map[int]*replica{}
		for i := range 3 {
			r := c.start(fmt.Sprintf("r%d", i))
			replicas[r.cmd.Process.Pid] = r
		}
		var took []time.Duration
		for k := range kills {
			var pid int
			var epoch int64
			waitFor(t, 10*time.Second, "a live lease", func() bool {
				p, e, live := db.lease(t)
				pid, epoch = p, e
				return live && replicas[p] != nil
			})
			replicas[pid].kill(t)
			delete(replicas, pid)
			took = append(took, waitFor(t, 10*time.Second, "a new leader", func() bool {
				p, e, live := db.lease(t)
				return live && e > epoch && p != pid
			}))
			r := c.start(fmt.Sprintf("r%d", 3+k))
			replicas[r.cmd.Process.Pid] = r
		}
		t.Logf("failover (SIGKILL of the leader → another replica holds the lease; tick %s, lease %s, renewed every %s), %d kills: %s",
			tick, tick*3/2, tick/2, kills, percentiles(took))
		if m := slices.Max(took); m > 10*tick {
			t.Errorf("the slowest failover took %s; the bound is two ticks (%s)", m, 2*tick)
		}
	})

	t.Run("a PostgreSQL outage: streams stay, events get 503 and are retried, the rollout pauses on missing data, all resumes, nothing acknowledged is lost", func(t *testing.T) {
		outage := 4 * time.Second
		if heavy {
			outage = 30 * time.Second
		}
		bound := outage / 2 // pause_without_data_after: shorter than the outage
		const tick = 200 * time.Millisecond
		db := newDatabase(t, base)
		u, _ := pgxURLHost(db.url)
		px := startProxy(t, u)
		c := &cluster{t: t, bin: bin, store: db.via(px.addr()), tick: tick}
		replicas := []*replica{c.start("a"), c.start("b")}
		a, b := replicas[0], replicas[1]
		c.boolFlag(a, "smart-reply")
		key := c.sdkKey(a, "production")

		// Alerts go to a webhook; the channel is configured through a replica
		// other than the leader, which learns of it through the change feed.
		hooks := newHookReceiver(t)
		pid, _, _ := db.lease(t)
		follower := a
		if a.cmd.Process.Pid == pid {
			follower = b
		}
		c.api(follower, "POST", "/api/v1/environments/production/notification-channels", map[string]any{
			"name": "ops", "type": "webhook", "url": hooks.url, "signing_secret": webhookSecret()}, http.StatusCreated, nil)

		var ro rolloutView
		c.api(a, "POST", "/api/v1/rollouts", map[string]any{"overrides": map[string]any{
			"flag": "smart-reply", "environment": "production", "treatment": "on", "control": "off", "advance_on": "time",
			"stale_after": (bound / 2).String(), "pause_without_data_after": bound.String(),
			"stages": []any{
				map[string]any{"name": "ring-20", "percent": 20, "min_duration": "1h"},
				map[string]any{"name": "all", "percent": 100},
			},
			"guardrails": []any{map[string]any{"metric": "error_rate", "direction": "increase", "action": "pause"}},
		}}, http.StatusCreated, &ro)
		c.api(b, "POST", "/api/v1/rollouts/"+ro.ID+"/start", map[string]any{"reason": "outage test"}, http.StatusOK, nil)

		streams := []*sse{openSSE(t, a.url, key), openSSE(t, b.url, key)}
		for _, s := range streams {
			s.next(t, 10*time.Second)
		}

		sdk := newSDKSender(c, replicas, key, ro.ID)
		ctx, stop := context.WithCancel(context.Background())
		var running sync.WaitGroup
		running.Go(func() { sdk.run(ctx) })
		defer func() { stop(); running.Wait() }()
		waitFor(t, 30*time.Second, "the first batches acknowledged and folded", func() bool {
			var st struct {
				Seq int64 `json:"seq"`
			}
			leaderNow := a
			if p, _, _ := db.lease(t); p == b.cmd.Process.Pid {
				leaderNow = b
			}
			status, _, _ := c.call(leaderNow, "GET", "/api/v1/ingest", nil, &st)
			return sdk.acked.Load() >= 5 && status == http.StatusOK && st.Seq > 0
		})

		px.cut()
		cutAt := time.Now()
		t.Logf("PostgreSQL cut off for %s (the rollout pauses after %s without data)", outage, bound)
		waitFor(t, outage, "event batches answered 503 with Retry-After", func() bool { return sdk.unavailable.Load() >= 3 })
		status, _, _ := c.call(a, "GET", "/readyz", nil, nil)
		if status != http.StatusServiceUnavailable {
			t.Errorf("/readyz during the outage: %d; want 503", status)
		}
		<-time.After(time.Until(cutAt.Add(outage))) // the SDK keeps retrying meanwhile
		for _, r := range replicas {
			if !r.alive() {
				t.Fatalf("replica %s died during the outage", r.name)
			}
		}
		for i, s := range streams {
			select {
			case <-s.ended:
				t.Errorf("the SDK stream on %s ended during the outage", replicas[i].name)
			default:
			}
		}
		// The SDK's retries now wait, so that after the outage the data stays
		// missing until released: the rollout must not go on as if nothing happened.
		sdk.hold()
		px.restore()
		restored := time.Now()

		waitFor(t, 30*time.Second, "the rollout pausing on missing data", func() bool { return c.rollout(a, ro.ID).State.Status == "paused" })
		paused := c.rollout(a, ro.ID)
		t.Logf("after the store returned: paused %s later (%q)", time.Since(restored).Round(time.Millisecond), paused.State.Reason)
		if paused.State.Stage != 0 || !strings.Contains(paused.State.Reason, "no fresh analysis") {
			t.Errorf("the rollout paused at stage %d for %q; want stage 0, for missing data", paused.State.Stage, paused.State.Reason)
		}
		waitFor(t, 30*time.Second, "a pause alert on the webhook", func() bool { return hooks.got("rollout.paused") })

		sdk.release()
		waitFor(t, 60*time.Second, "every batch made during the outage acknowledged", func() bool { return sdk.pending() == 0 })
		t.Logf("the SDK got %d answers 503 with Retry-After, %d without, %d connection errors; %d batches acknowledged",
			sdk.unavailable.Load(), sdk.noRetryAfter.Load(), sdk.connErrors.Load(), sdk.acked.Load())
		if n := sdk.noRetryAfter.Load(); n > 0 {
			t.Errorf("%d answers 503 without Retry-After", n)
		}
		stop()
		running.Wait()
		var stored int64
		if err := db.admin.QueryRow(`SELECT count(*) FROM ` + pgx.Identifier{db.schema, "event_batches"}.Sanitize()).Scan(&stored); err != nil {
			t.Fatal(err)
		}
		if acked := sdk.acked.Load(); stored != acked || sdk.pending() != 0 {
			t.Errorf("%d batches acknowledged, %d stored, %d never acknowledged; want all stored, each once", acked, stored, sdk.pending())
		}

		// Everything resumes: a person resumes the rollout on one replica; changes
		// reach the streams on both.
		c.api(b, "POST", "/api/v1/rollouts/"+ro.ID+"/resume", map[string]any{"reason": "the database is back", "restart_evidence": true}, http.StatusOK, nil)
		c.api(a, "POST", "/api/v1/environments/production/flags/smart-reply/disable", nil, http.StatusOK, nil)
		for _, s := range streams {
			for !strings.Contains(s.next(t, 10*time.Second).data, `"enabled":false`) {
			}
		}
	})
}

func percentile(d []time.Duration, q float64) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[min(len(s)-1, int(q*float64(len(s))))]
}

// pgxURLHost returns the host:port of a PostgreSQL URL.
func pgxURLHost(u string) (string, error) {
	cfg, err := pgx.ParseConfig(u)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%s:%d", cfg.Host, cfg.Port), nil
}

// exposures sends a batch of exposures of the rollout's current stage every 50 ms,
// to each replica that is up in turn, until ctx ends.
func exposures(ctx context.Context, c *cluster, replicas []*replica, key, rolloutID string) {
	client := &http.Client{Timeout: 5 * time.Second}
	unit := 0
	for i := 0; ctx.Err() == nil; i++ {
		r := replicas[i%len(replicas)]
		if !r.alive() {
			continue
		}
		var ro rolloutView
		if status, _, err := c.call(r, "GET", "/api/v1/rollouts/"+rolloutID, nil, &ro); err != nil || status != http.StatusOK {
			continue
		}
		if ro.State.Status != "running" {
			return
		}
		st := ro.Plan.Stages[ro.State.Stage]
		gz := exposureBatch(fmt.Sprintf("exp-%d", i), rolloutID, st.Name, st.Percent, unit, 50, time.Now().UTC())
		if status, _, err := postBatch(client, r.url, key, gz); err == nil && status == http.StatusAccepted {
			unit += 50
		}
		select {
		case <-ctx.Done():
		case <-time.After(50 * time.Millisecond): // the app's pace
		}
	}
}

// sdkSender is an SDK's event pipeline: it makes a batch every 20 ms, sends its
// batches oldest first to the replicas in turn, and keeps each until it is
// acknowledged, retrying after Retry-After (capped for the test's pace) on 503.
type sdkSender struct {
	c        *cluster
	replicas []*replica
	key      string
	rollout  string

	acked, unavailable, noRetryAfter, connErrors atomic.Int64

	mu      sync.Mutex
	queue   [][]byte // made, not yet acknowledged
	made    int
	holding bool
	held    chan struct{} // closed by release
	parked  chan struct{} // receives when run stops sending, after hold
}

func newSDKSender(c *cluster, replicas []*replica, key, rolloutID string) *sdkSender {
	return &sdkSender{c: c, replicas: replicas, key: key, rollout: rolloutID, held: make(chan struct{}), parked: make(chan struct{})}
}

func (s *sdkSender) pending() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.queue)
}

// hold makes sending wait until release; it returns once no send is in flight.
func (s *sdkSender) hold() {
	s.mu.Lock()
	s.holding = true
	s.mu.Unlock()
	<-s.parked
}

func (s *sdkSender) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.holding {
		s.holding = false
		close(s.held)
	}
}

func (s *sdkSender) run(ctx context.Context) {
	client := &http.Client{Timeout: 5 * time.Second}
	made := time.NewTicker(20 * time.Millisecond)
	defer made.Stop()
	for i := 0; ctx.Err() == nil; {
		select {
		case <-ctx.Done():
			return
		case <-made.C:
		}
		s.mu.Lock()
		if s.holding {
			s.mu.Unlock()
			s.parked <- struct{}{}
			select {
			case <-ctx.Done():
				return
			case <-s.held:
			}
			continue
		}
		if len(s.queue) < 10_000 {
			s.queue = append(s.queue, exposureBatch(fmt.Sprintf("sdk-%d", s.made), s.rollout, "ring-20", 20, s.made*20, 20, time.Now().UTC()))
			s.made++
		}
		s.mu.Unlock()
		// Send the queue, oldest first, until it is empty or a send fails.
		for ctx.Err() == nil {
			s.mu.Lock()
			if len(s.queue) == 0 {
				s.mu.Unlock()
				break
			}
			next, holding := s.queue[0], s.holding
			s.mu.Unlock()
			if holding {
				break // park at the next tick
			}
			r := s.replicas[i%len(s.replicas)]
			i++
			status, retry, err := postBatch(client, r.url, s.key, next)
			if err == nil && status == http.StatusAccepted {
				s.acked.Add(1)
				s.mu.Lock()
				s.queue = s.queue[1:]
				s.mu.Unlock()
				continue
			}
			switch {
			case err != nil:
				s.connErrors.Add(1)
			case status == http.StatusServiceUnavailable:
				s.unavailable.Add(1)
				secs, err := strconv.Atoi(retry)
				if err != nil {
					s.noRetryAfter.Add(1)
				}
				// Honour Retry-After, capped to keep the test short.
				select {
				case <-ctx.Done():
				case <-time.After(min(time.Duration(secs)*time.Second, 200*time.Millisecond)):
				}
			}
			break
		}
	}
}

// hookReceiver is a webhook endpoint on 127.0.0.1 that keeps the event kinds it
// receives.
type hookReceiver struct {
	url   string
	mu    sync.Mutex
	kinds []string
}

func newHookReceiver(t *testing.T) *hookReceiver {
	h := &hookReceiver{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var p struct {
			Type string `json:"type"`
		}
		if err := json.Unmarshal(body, &p); err == nil {
			h.mu.Lock()
			h.kinds = append(h.kinds, p.Type)
			h.mu.Unlock()
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	h.url = srv.URL
	return h
}

func (h *hookReceiver) got(kind string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Contains(h.kinds, kind)
}

// webhookSecret is a fresh Standard Webhooks signing secret.
func webhookSecret() string {
	b := make([]byte, 32)
	rand.Read(b)
	return "whsec_" + base64.StdEncoding.EncodeToString(b)
}

// splitBatch encodes a batch of n units' exposures in ring-50 (even units in
// treatment) and an error event (0 or 1) for each: integers, so that sums are the
// same in any order.
func splitBatch(batchID, rolloutID string, first, n int, at time.Time) []byte {
	var evs []map[string]any
	for k := first; k < first+n; k++ {
		arm, variant := "control", "off"
		if k%2 == 0 {
			arm, variant = "treatment", "on"
		}
		u := fmt.Sprintf("user-%d", k)
		evs = append(evs,
			map[string]any{"kind": "exposure", "time": at, "unit": u, "flag": "smart-reply", "variant": variant,
				"rollout": rolloutID, "stage": "ring-50", "arm": arm, "rule_id": "rollout.ring." + arm,
				"dimensions": map[string]string{"country": []string{"DE", "BR", "US"}[k%3]}},
			map[string]any{"kind": "metric", "time": at, "unit": u, "metric": "error", "value": (k / 3) % 2})
	}
	b, _ := json.Marshal(map[string]any{"batch_id": batchID, "events": evs})
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

func asSlice(v any) []any {
	s, _ := v.([]any)
	return s
}

// randIntn is a uniform choice in [0, n).
func randIntn(n int) int {
	var b [1]byte
	rand.Read(b[:])
	return int(b[0]) % n
}
