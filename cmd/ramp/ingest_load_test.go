package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/ramp-release/ramp/events"
	"github.com/ramp-release/ramp/flags"
	"github.com/ramp-release/ramp/internal/rollout"
	"github.com/ramp-release/ramp/internal/store"
	"github.com/ramp-release/ramp/internal/store/sqlite"
)

// The load harness runs `ramp serve` as a child process (this test binary re-executed
// into TestLoadServerProcess), so that it can be killed with SIGKILL and its CPU time
// measured apart from the load generator's.

const (
	loadSDKKey   = "ramp_srv_loadtestloadtestloadtestloadtest"
	loadAPIToken = "ramp_api_loadtestloadtestloadtestloadtest"
	loadRollout  = "ro_load"
)

// TestLoadServerProcess is the child: it serves until killed or interrupted.
func TestLoadServerProcess(t *testing.T) {
	dir := os.Getenv("RAMP_LOAD_SERVER_DIR")
	if dir == "" {
		t.Skip("the child process of the ingestion load tests")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := serve(ctx, io.Discard, os.Stderr, os.Getenv("RAMP_LOAD_SERVER_ADDR"), dir, "json", nil); err != nil {
		t.Fatal(err)
	}
}

func sha(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// prepareLoadStore creates environment production, flag summarize, an SDK key, an
// API token and a running rollout whose first stage (a 5 % ring) lasts an hour and
// whose guardrails only pause, so it stays at that stage during the load.
func prepareLoadStore(t *testing.T, dir string) {
	ctx := t.Context()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "ramp.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	c := store.Change{Actor: "load test"}
	if _, err := st.CreateEnvironment(ctx, store.Environment{Key: "production", Name: "Production"}, c); err != nil {
		t.Fatal(err)
	}
	def := store.FlagDefinition{Key: "summarize", Type: flags.TypeBool, Variants: map[string]any{"on": true, "off": false}}
	if err := st.CreateFlag(ctx, def, store.FlagState{Enabled: true, OffVariant: "off", Default: &flags.Allocation{Variant: "off"}}, c); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	if _, err := st.CreateSDKKey(ctx, store.SDKKey{ID: "k_load", Environment: "production", Kind: store.SDKKeyServer, Name: "load", Hash: sha(loadSDKKey), Prefix: loadSDKKey[:14], CreatedAt: now}, c); err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateAPIToken(ctx, store.APIToken{ID: "t_load", Name: "load", Role: store.RoleViewer, Hash: sha(loadAPIToken), Prefix: loadAPIToken[:14], CreatedAt: now, CreatedBy: "load test"}, c); err != nil {
		t.Fatal(err)
	}
	p := rollout.Plan{Flag: "summarize", Environment: "production", Treatment: "on", Control: "off",
		Stages: []rollout.Stage{{Name: "ring-5", Percent: 5, MinDuration: rollout.Duration(time.Hour)}, {Name: "all", Percent: 100}},
		Guardrails: []rollout.Guardrail{
			{Metric: "error_rate", Direction: rollout.Increase, Action: rollout.Pause},
			{Metric: "support_tickets_per_user", Direction: rollout.Increase, Action: rollout.Pause},
			{Metric: "cost_per_request", Direction: rollout.Increase, Action: rollout.Pause},
		}}
	if _, err := st.CreateRollout(ctx, store.Rollout{ID: loadRollout, Plan: p, Flag: "summarize", Environment: "production",
		State: rollout.State{RolloutID: loadRollout, Status: rollout.Running, StageStarted: now, EvidenceStart: now.Add(-time.Minute), Since: now}}, c); err != nil {
		t.Fatal(err)
	}
}

type loadServer struct {
	t    *testing.T
	dir  string
	addr string
	cmd  *exec.Cmd
	cpu  time.Duration // CPU time of the children that ended
}

func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func (s *loadServer) start() {
	s.t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestLoadServerProcess$", "-test.v=false")
	cmd.Env = append(os.Environ(), "RAMP_LOAD_SERVER_DIR="+s.dir, "RAMP_LOAD_SERVER_ADDR="+s.addr)
	logf, err := os.OpenFile(filepath.Join(s.dir, "server.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		s.t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	s.cmd = cmd
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get("http://" + s.addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(20 * time.Millisecond) // polling a condition with a deadline
	}
	s.t.Fatal("the server did not become ready; see " + filepath.Join(s.dir, "server.log"))
}

// procCPU is the CPU time the running child has used so far.
func (s *loadServer) procCPU() time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", s.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+2:]))
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	stt, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+stt) * time.Second / 100
}

func (s *loadServer) kill() {
	s.cpu += s.procCPU()
	_ = s.cmd.Process.Signal(syscall.SIGKILL)
	_ = s.cmd.Wait()
}

func (s *loadServer) stop() {
	s.cpu += s.procCPU()
	_ = s.cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { _ = s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		_ = s.cmd.Process.Kill()
		<-done
	}
}

// template is one batch body (1 000 events: 200 exposures of its own units, then
// 800 metric events of the same units) pre-compressed as a gzip member; a request
// is a small gzip member with the batch id followed by it (gzip readers concatenate
// members), so the generator spends its CPU on HTTP, not on compression.
type template struct {
	gz []byte
	// Per arm [treatment, control]: units, ticket events, token events, Σ tokens.
	units, tickets, tokenEvents [2]float64
	tokens                      [2]float64
}

const unitsPerTemplate = 200

func buildTemplates(n int, at time.Time) []template {
	out := make([]template, n)
	for j := range out {
		tp := &out[j]
		var evs []events.Event
		arms := make([]int, unitsPerTemplate)
		for i := range unitsPerTemplate {
			u := j*unitsPerTemplate + i
			arm := "control"
			if u%20 == 0 {
				arm = "treatment"
			} else {
				arms[i] = 1
			}
			tp.units[arms[i]]++
			evs = append(evs, events.Event{Kind: events.KindExposure, Time: at, Unit: fmt.Sprintf("user-%07d", u), Flag: "summarize",
				Variant: map[string]string{"treatment": "on", "control": "off"}[arm], FlagVersion: 2, RuleID: "rollout.ring." + arm,
				Rollout: loadRollout, Stage: "ring-5", Arm: arm,
				Dimensions: map[string]string{"country": []string{"DE", "FR", "US", "BR", "JP", "IN"}[u%6], "plan": []string{"free", "pro", "team"}[u%3], "platform": []string{"ios", "android", "web"}[u%3]}})
		}
		for k := range 1000 - unitsPerTemplate {
			i := (k/4 + 50*(k%4)) % unitsPerTemplate // every kind of event reaches every unit
			unit := fmt.Sprintf("user-%07d", j*unitsPerTemplate+i)
			var name string
			var v float64
			switch k % 4 {
			case 0, 1:
				name, v = "tokens", float64(100+(k*37+j)%900)
				tp.tokenEvents[arms[i]]++
				tp.tokens[arms[i]] += v
			case 2:
				name, v = "error", float64((k+j)%50/49)
			case 3:
				name, v = "support_ticket", 1
				tp.tickets[arms[i]]++
			}
			evs = append(evs, events.Event{Kind: events.KindMetric, Time: at, Unit: unit, Metric: name, Value: &v})
		}
		body, _ := json.Marshal(evs)
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		zw.Write(body[1:]) // the events without the opening bracket, which the header carries
		zw.Write([]byte("}"))
		zw.Close()
		tp.gz = buf.Bytes()
	}
	return out
}

type loadResult struct {
	sent     atomic.Int64 // batches acknowledged
	uses     []atomic.Int64
	maxSeq   atomic.Int64
	failures atomic.Int64
}

// generate sends batches from workers goroutines until stop closes; a failed batch
// is retried with the same id until acknowledged (or give-up closes).
func generate(addr string, tps []template, workers int, res *loadResult, stop, giveUp <-chan struct{}) {
	var next atomic.Int64
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: workers, DisableCompression: true}, Timeout: 30 * time.Second}
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			var hdr bytes.Buffer
			zw := gzip.NewWriter(io.Discard)
			for {
				select {
				case <-stop:
					return
				default:
				}
				n := next.Add(1)
				j := int(n % int64(len(tps)))
				hdr.Reset()
				zw.Reset(&hdr)
				fmt.Fprintf(zw, `{"batch_id":"L%d","events":[`, n)
				zw.Close()
				body := append(hdr.Bytes(), tps[j].gz...)
				for {
					req, _ := http.NewRequest("POST", "http://"+addr+"/sdk/v1/events", bytes.NewReader(body))
					req.Header.Set("Authorization", "Bearer "+loadSDKKey)
					req.Header.Set("Content-Type", "application/json")
					req.Header.Set("Content-Encoding", "gzip")
					resp, err := client.Do(req)
					if err == nil {
						var acc struct {
							Seq       int64 `json:"seq"`
							Duplicate bool  `json:"duplicate"`
						}
						ok := resp.StatusCode == http.StatusAccepted && json.NewDecoder(resp.Body).Decode(&acc) == nil
						resp.Body.Close()
						if ok {
							res.sent.Add(1)
							res.uses[j].Add(1)
							for {
								m := res.maxSeq.Load()
								if acc.Seq <= m || res.maxSeq.CompareAndSwap(m, acc.Seq) {
									break
								}
							}
							break
						}
					}
					res.failures.Add(1)
					select {
					case <-giveUp:
						return
					case <-time.After(50 * time.Millisecond): // back off before retrying the same batch
					}
				}
			}
		})
	}
	wg.Wait()
}

func apiGet(t *testing.T, addr, path string, v any) {
	t.Helper()
	req, _ := http.NewRequest("GET", "http://"+addr+path, nil)
	req.Header.Set("Authorization", "Bearer "+loadAPIToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET %s: %s %s", path, resp.Status, b)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}

type ingestStatus struct {
	Seq        int64   `json:"seq"`
	Checkpoint int64   `json:"checkpoint"`
	Events     int64   `json:"events"`
	LagSeconds float64 `json:"lag_seconds"`
}

// checkTotals compares the aggregates the API reports with what was acknowledged.
func checkTotals(t *testing.T, addr string, tps []template, res *loadResult) {
	t.Helper()
	var want template
	for j := range tps {
		if res.uses[j].Load() == 0 {
			continue
		}
		k := float64(res.uses[j].Load())
		for a := range 2 {
			want.units[a] += tps[j].units[a]
			want.tickets[a] += k * tps[j].tickets[a]
			want.tokenEvents[a] += k * tps[j].tokenEvents[a]
			want.tokens[a] += k * tps[j].tokens[a]
		}
	}
	var doc struct {
		Units struct {
			Treatment, Control float64
		} `json:"units"`
		Metrics []struct {
			Metric  string `json:"metric"`
			Moments struct {
				Treatment, Control struct {
					N, Sum float64
					SumX   float64 `json:"sum_x"`
				}
			} `json:"moments"`
		} `json:"metrics"`
	}
	apiGet(t, addr, "/api/v1/rollouts/"+loadRollout+"/analysis", &doc)
	if doc.Units.Treatment != want.units[0] || doc.Units.Control != want.units[1] {
		t.Errorf("units %v / %v; sent %v / %v", doc.Units.Treatment, doc.Units.Control, want.units[0], want.units[1])
	}
	found := 0
	for _, m := range doc.Metrics {
		got := [2]struct{ n, sum, sumX float64 }{{m.Moments.Treatment.N, m.Moments.Treatment.Sum, m.Moments.Treatment.SumX},
			{m.Moments.Control.N, m.Moments.Control.Sum, m.Moments.Control.SumX}}
		for a := range 2 {
			switch m.Metric {
			case "support_tickets_per_user":
				found++
				if got[a].sum != want.tickets[a] || got[a].n != want.units[a] {
					t.Errorf("tickets arm %d: %v over %v units; sent %v over %v", a, got[a].sum, got[a].n, want.tickets[a], want.units[a])
				}
			case "cost_per_request":
				found++
				if got[a].sumX != want.tokenEvents[a] || math.Abs(got[a].sum-want.tokens[a]*2e-6) > 1e-9*want.tokens[a]*2e-6 {
					t.Errorf("cost arm %d: %v requests, Σcost %v; sent %v requests, Σcost %v", a, got[a].sumX, got[a].sum, want.tokenEvents[a], want.tokens[a]*2e-6)
				}
			}
		}
	}
	if found != 4 {
		t.Errorf("the analysis lacks the load's metrics: %+v", doc.Metrics)
	}
	t.Logf("totals match what was acknowledged: units %v / %v, tickets %v / %v, requests %v / %v",
		want.units[0], want.units[1], want.tickets[0], want.tickets[1], want.tokenEvents[0], want.tokenEvents[1])
}

// waitCaughtUp polls the aggregator until it has folded batch seq, and returns how
// long that took.
func waitCaughtUp(t *testing.T, addr string, seq int64, limit time.Duration) (time.Duration, ingestStatus) {
	start := time.Now()
	var st ingestStatus
	for time.Since(start) < limit {
		apiGet(t, addr, "/api/v1/ingest", &st)
		if st.Seq >= seq {
			return time.Since(start), st
		}
		time.Sleep(50 * time.Millisecond) // polling a condition with a deadline
	}
	t.Fatalf("the aggregator did not reach seq %d in %s: %+v", seq, limit, st)
	return 0, st
}

func rusageCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestIngestLoad is the ingestion bar (CLARIFICATIONS §27): gzip batches of 1 000
// events over loopback HTTP into `ramp serve` with its SQLite store, sustained for
// RAMP_LOAD_SECONDS (60), then the aggregator's lag and its totals against what was
// acknowledged. Run it with RAMP_HEAVY=1 go test -run TestIngestLoad -v ./cmd/ramp.
func TestIngestLoad(t *testing.T) {
	if os.Getenv("RAMP_HEAVY") != "1" {
		t.Skip("a 60 s load run: set RAMP_HEAVY=1")
	}
	seconds := 60
	if s, err := strconv.Atoi(os.Getenv("RAMP_LOAD_SECONDS")); err == nil && s > 0 {
		seconds = s
	}
	workers := 6
	if w, err := strconv.Atoi(os.Getenv("RAMP_LOAD_WORKERS")); err == nil && w > 0 {
		workers = w
	}
	dir := t.TempDir()
	prepareLoadStore(t, dir)
	srv := &loadServer{t: t, dir: dir, addr: freeAddr(t)}
	srv.start()
	defer srv.stop()
	tps := buildTemplates(500, time.Now().UTC())
	res := &loadResult{uses: make([]atomic.Int64, len(tps))}
	stop := make(chan struct{})
	genCPU0, srvCPU0, start := rusageCPU(), srv.procCPU(), time.Now()
	go func() { time.Sleep(time.Duration(seconds) * time.Second); close(stop) }()
	generate(srv.addr, tps, workers, res, stop, stop)
	elapsed := time.Since(start)
	genCPU, srvCPU := rusageCPU()-genCPU0, srv.procCPU()-srvCPU0
	catchUp, st := waitCaughtUp(t, srv.addr, res.maxSeq.Load(), 60*time.Second)
	batches := res.sent.Load()
	t.Logf("sent %d batches = %d events in %.1f s: %.0f events/s (%d failed requests, retried)", batches, batches*1000, elapsed.Seconds(),
		float64(batches*1000)/elapsed.Seconds(), res.failures.Load())
	t.Logf("CPU over the run (2 cores = 200 %%): load generator %.0f %%, server %.0f %%", 100*genCPU.Seconds()/elapsed.Seconds(), 100*srvCPU.Seconds()/elapsed.Seconds())
	t.Logf("aggregator: caught up with the last batch %.2f s after the load ended; lag of the last batch folded %.2f s; %d events folded; checkpoint at %d of %d",
		catchUp.Seconds(), st.LagSeconds, st.Events, st.Checkpoint, st.Seq)
	checkTotals(t, srv.addr, tps, res)
}

// TestIngestSurvivesKill9 kills the server with SIGKILL in the middle of a load,
// starts it again on the same store, lets the generator retry the batches that were
// not acknowledged (same batch ids), and checks that the aggregates equal what was
// acknowledged: nothing lost, nothing counted twice. A few seconds by default;
// RAMP_HEAVY=1 runs 20 s.
func TestIngestSurvivesKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server process")
	}
	d := 3 * time.Second
	if os.Getenv("RAMP_HEAVY") == "1" {
		d = 20 * time.Second
	}
	dir := t.TempDir()
	prepareLoadStore(t, dir)
	srv := &loadServer{t: t, dir: dir, addr: freeAddr(t)}
	srv.start()
	tps := buildTemplates(100, time.Now().UTC())
	res := &loadResult{uses: make([]atomic.Int64, len(tps))}
	stop, giveUp := make(chan struct{}), make(chan struct{})
	done := make(chan struct{})
	go func() { generate(srv.addr, tps, 3, res, stop, giveUp); close(done) }()
	time.Sleep(d / 2) // the load runs meanwhile
	before := res.sent.Load()
	srv.kill()
	srv.start()
	defer srv.stop()
	time.Sleep(d / 2)
	close(stop)
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		close(giveUp)
		t.Fatal("the generator could not deliver its last batches")
	}
	if before == 0 || res.sent.Load() <= before {
		t.Fatalf("acknowledged %d batches before the kill and %d in all; want some on both sides", before, res.sent.Load())
	}
	waitCaughtUp(t, srv.addr, res.maxSeq.Load(), 60*time.Second)
	t.Logf("killed with SIGKILL after %d acknowledged batches; %d in all, %d requests failed and were retried", before, res.sent.Load(), res.failures.Load())
	checkTotals(t, srv.addr, tps, res)
}
