package main

// Helpers of the replica tests: the ramp binary built once per test, replicas run
// as processes on 127.0.0.1, a fresh PostgreSQL schema per test, an SSE reader, a
// TCP proxy that a test can cut, and an event load generator.

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ramp-release/ramp/flags"
)

// postgresBase returns RAMP_TEST_POSTGRES_URL, or skips the test without it (and
// fails it under CI=true, where PostgreSQL is always there).
func postgresBase(t *testing.T) string {
	t.Helper()
	base := os.Getenv("RAMP_TEST_POSTGRES_URL")
	if base == "" {
		msg := "set RAMP_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test?sslmode=disable to run the replica tests"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return base
}

// database is a fresh schema of the test server, dropped when the test ends.
type database struct {
	url    string // the base URL with search_path set to the schema
	schema string
	admin  *sql.DB
}

func newDatabase(t *testing.T, base string) *database {
	t.Helper()
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 6)
	rand.Read(b)
	schema := "ramp_test_" + hex.EncodeToString(b)
	if _, err := admin.Exec(`CREATE SCHEMA ` + pgx.Identifier{schema}.Sanitize()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := admin.Exec(`DROP SCHEMA ` + pgx.Identifier{schema}.Sanitize() + ` CASCADE`); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
		admin.Close()
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return &database{url: u.String(), schema: schema, admin: admin}
}

// via returns the database URL with its host and port replaced by addr (a proxy's).
func (d *database) via(addr string) string {
	u, _ := url.Parse(d.url)
	u.Host = addr
	return u.String()
}

// lease reads the controller lease: its holder's process id and its epoch.
func (d *database) lease(t *testing.T) (pid int, epoch int64, live bool) {
	t.Helper()
	var holder string
	err := d.admin.QueryRow(`SELECT holder, epoch, expires_at > clock_timestamp() FROM `+pgx.Identifier{d.schema, "leader_lease"}.Sanitize()+
		` WHERE name = 'controller'`).Scan(&holder, &epoch, &live)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, 0, false
	}
	if err != nil {
		t.Fatal(err)
	}
	// The holder is host/pid/random (controller.DefaultHolder).
	if parts := strings.Split(holder, "/"); len(parts) == 3 {
		pid, _ = strconv.Atoi(parts[1])
	}
	return pid, epoch, live
}

// buildRamp builds the ramp binary into a directory of t's.
func buildRamp(t *testing.T) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		goTool = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	bin := filepath.Join(t.TempDir(), "ramp")
	start := time.Now()
	out, err := exec.Command(goTool, "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	t.Logf("built the ramp binary in %s", time.Since(start).Round(time.Millisecond))
	return bin
}

// cluster is a set of ramp replicas over one store.
type cluster struct {
	t     *testing.T
	bin   string
	store string
	tick  time.Duration
	token string // the admin token the first replica printed
}

// replica is one `ramp serve` process.
type replica struct {
	name string
	url  string
	cmd  *exec.Cmd
	logs *tail
	done chan struct{} // closed when the process has exited
}

// tail keeps the last lines a process wrote.
type tail struct {
	mu    sync.Mutex
	lines []string
}

func (l *tail) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, line := range strings.Split(strings.TrimRight(string(p), "\n"), "\n") {
		l.lines = append(l.lines, line)
	}
	if len(l.lines) > 400 {
		l.lines = slices.Clone(l.lines[len(l.lines)-200:])
	}
	return len(p), nil
}

func (l *tail) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

// start runs a replica; the first one started on an empty store prints the admin
// token, which the cluster keeps.
func (c *cluster) start(name string) *replica {
	t := c.t
	t.Helper()
	r := &replica{name: name, logs: &tail{}, done: make(chan struct{})}
	r.cmd = exec.Command(c.bin, "serve", "--addr", "127.0.0.1:0", "--store", c.store, "--log-format", "json",
		"--controller-tick", c.tick.String())
	r.cmd.Env = os.Environ()
	r.cmd.Stderr = r.logs
	stdout, err := r.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { r.cmd.Wait(); close(r.done) }()
	t.Cleanup(func() {
		r.stop(t)
		if t.Failed() {
			t.Logf("replica %s (pid %d) logged:\n%s", r.name, r.cmd.Process.Pid, r.logs)
		}
	})
	first := c.token == ""
	found := make(chan [2]string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		var u, token string
		for sc.Scan() {
			line := sc.Text()
			if m := regexp.MustCompile(`dashboard and API: (http://\S+)`).FindStringSubmatch(line); m != nil {
				u = m[1]
			}
			if m := regexp.MustCompile(`ramp_api_[a-z0-9]+`).FindString(line); m != "" {
				token = m
			}
			if u != "" && (token != "" || !first && strings.Contains(line, "store:")) {
				select {
				case found <- [2]string{u, token}:
				default:
				}
			}
		}
	}()
	select {
	case f := <-found:
		r.url = f[0]
		if first {
			c.token = f[1]
		}
	case <-r.done:
		t.Fatalf("replica %s exited: %v\n%s", name, r.cmd.ProcessState, r.logs)
	case <-time.After(60 * time.Second):
		t.Fatalf("replica %s did not start within 60s\n%s", name, r.logs)
	}
	return r
}

// stop ends the process gracefully (SIGTERM), or kills it after 15 s.
func (r *replica) stop(t *testing.T) {
	select {
	case <-r.done:
		return
	default:
	}
	r.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-r.done:
	case <-time.After(15 * time.Second):
		t.Errorf("replica %s did not stop within 15s of SIGTERM; killing it", r.name)
		r.cmd.Process.Kill()
		<-r.done
	}
}

// kill ends the process with SIGKILL: no shutdown of any kind.
func (r *replica) kill(t *testing.T) {
	t.Helper()
	if err := r.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-r.done
}

func (r *replica) alive() bool {
	select {
	case <-r.done:
		return false
	default:
		return true
	}
}

var replicaClient = &http.Client{Timeout: 30 * time.Second}

// api calls a replica's API with the admin token and decodes the answer into out.
func (c *cluster) api(r *replica, method, path string, body any, want int, out any) {
	c.t.Helper()
	status, data, err := c.call(r, method, path, body, out)
	if err != nil {
		c.t.Fatalf("%s %s on %s: %v", method, path, r.name, err)
	}
	if status != want {
		c.t.Fatalf("%s %s on %s: %d %s; want %d", method, path, r.name, status, data, want)
	}
}

// call is api without failing the test.
func (c *cluster) call(r *replica, method, path string, body any, out any) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, r.url+path, rd)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Ramp-Reason", "replica test")
	resp, err := replicaClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, data, err
	}
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(data, out); err != nil {
			return resp.StatusCode, data, fmt.Errorf("decode %s: %w", data, err)
		}
	}
	return resp.StatusCode, data, nil
}

// sdkKey creates a server SDK key for env.
func (c *cluster) sdkKey(r *replica, env string) string {
	c.t.Helper()
	var key struct {
		Secret string `json:"secret"`
	}
	c.api(r, "POST", "/api/v1/environments/"+env+"/sdk-keys", map[string]any{"name": "app", "kind": "server"}, http.StatusCreated, &key)
	return key.Secret
}

// boolFlag creates a bool flag serving off, enabled in production.
func (c *cluster) boolFlag(r *replica, key string) {
	c.t.Helper()
	c.api(r, "POST", "/api/v1/flags", map[string]any{"key": key, "type": "bool",
		"variants": map[string]any{"on": true, "off": false}, "off_variant": "off", "default": map[string]any{"variant": "off"}}, http.StatusCreated, nil)
	c.api(r, "POST", "/api/v1/environments/production/flags/"+key+"/enable", nil, http.StatusOK, nil)
}

// rolloutView is the part of GET /api/v1/rollouts/{id} the tests read.
type rolloutView struct {
	ID    string `json:"id"`
	Epoch int64  `json:"epoch"`
	State struct {
		Status        string    `json:"status"`
		Stage         int       `json:"stage"`
		Reason        string    `json:"reason"`
		StageStarted  time.Time `json:"stage_started"`
		EvidenceStart time.Time `json:"evidence_start"`
	} `json:"state"`
	StageName string `json:"stage_name"`
	Plan      struct {
		Stages []struct {
			Name    string  `json:"name"`
			Percent float64 `json:"percent"`
		} `json:"stages"`
	} `json:"plan"`
	Decisions []struct {
		Seq       int64     `json:"seq"`
		At        time.Time `json:"at"`
		Kind      string    `json:"kind"`
		Actor     string    `json:"actor"`
		FromStage int       `json:"from_stage"`
		ToStage   int       `json:"to_stage"`
		Reason    string    `json:"reason"`
	} `json:"decisions"`
}

func (c *cluster) rollout(r *replica, id string) rolloutView {
	c.t.Helper()
	var d rolloutView
	c.api(r, "GET", "/api/v1/rollouts/"+id, nil, http.StatusOK, &d)
	return d
}

// waitFor polls cond every few milliseconds until it holds; it fails the test after
// within.
func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > within {
			t.Fatalf("%s: not within %s", what, within)
		}
		time.Sleep(5 * time.Millisecond) // polling a condition with a deadline
	}
	return time.Since(start)
}

// sse is an open /sdk/v1/stream.
type sse struct {
	events chan sseSnapshot
	ended  chan struct{} // closed when the stream ends
}

// sseSnapshot is one snapshot event and when it arrived.
type sseSnapshot struct {
	rev  int64
	data string
	at   time.Time
}

func openSSE(t *testing.T, baseURL, key string) *sse {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, "GET", baseURL+"/sdk/v1/stream", nil)
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("stream on %s: %s", baseURL, resp.Status)
	}
	s := &sse{events: make(chan sseSnapshot, 4096), ended: make(chan struct{})}
	go func() {
		defer close(s.ended)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 16<<20)
		var ev sseSnapshot
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if ev.data != "" {
					ev.at = time.Now()
					s.events <- ev
				}
				ev = sseSnapshot{}
			case strings.HasPrefix(line, "id: "):
				ev.rev, _ = strconv.ParseInt(strings.TrimPrefix(line, "id: "), 10, 64)
			case strings.HasPrefix(line, "data: "):
				ev.data = strings.TrimPrefix(line, "data: ")
			}
		}
	}()
	return s
}

// next returns the next snapshot, failing the test after within.
func (s *sse) next(t *testing.T, within time.Duration) sseSnapshot {
	t.Helper()
	select {
	case ev := <-s.events:
		return ev
	case <-s.ended:
		t.Fatal("the stream ended")
	case <-time.After(within):
		t.Fatalf("no snapshot on the stream within %s", within)
	}
	return sseSnapshot{}
}

// evaluate compiles a streamed snapshot and evaluates flag for a unit, as an SDK does.
func evaluate(t *testing.T, data, flag, unit string) string {
	t.Helper()
	var doc struct {
		Environment string                    `json:"environment"`
		Revision    int64                     `json:"revision"`
		Flags       map[string]*flags.Flag    `json:"flags"`
		Segments    map[string]*flags.Segment `json:"segments"`
	}
	if err := flags.DecodeJSON([]byte(data), &doc); err != nil {
		t.Fatalf("decode a streamed snapshot: %v", err)
	}
	snap, err := flags.Compile(&flags.Set{Flags: doc.Flags, Segments: doc.Segments})
	if err != nil {
		t.Fatal(err)
	}
	return snap.Evaluate(flag, flags.Context{Key: unit}).Variant
}

// percentiles formats p50/p99/max of d.
func percentiles(d []time.Duration) string {
	s := slices.Clone(d)
	slices.Sort(s)
	at := func(q float64) time.Duration { return s[min(len(s)-1, int(q*float64(len(s))))] }
	ms := func(x time.Duration) string { return fmt.Sprintf("%.1f ms", float64(x.Microseconds())/1000) }
	return fmt.Sprintf("n=%d p50=%s p99=%s max=%s", len(s), ms(at(0.50)), ms(at(0.99)), ms(s[len(s)-1]))
}

// proxy forwards TCP connections to a target until cut: then it closes every
// connection and refuses new ones, as a stopped database would, until restored.
type proxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	down   bool
	conns  map[net.Conn]struct{}
}

func startProxy(t *testing.T, target string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	t.Cleanup(func() { ln.Close(); p.cut() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.serve(c)
		}
	}()
	return p
}

func (p *proxy) serve(c net.Conn) {
	if !p.track(c) {
		c.Close()
		return
	}
	up, err := net.Dial("tcp", p.target)
	if err != nil || !p.track(up) {
		c.Close()
		if up != nil {
			up.Close()
		}
		return
	}
	go func() { io.Copy(up, c); up.Close(); c.Close() }()
	io.Copy(c, up)
	c.Close()
	up.Close()
}

func (p *proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.down {
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *proxy) addr() string { return p.ln.Addr().String() }

func (p *proxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = true
	for c := range p.conns {
		c.Close()
	}
	clear(p.conns)
}

func (p *proxy) restore() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = false
}

// exposureBatch encodes, gzipped, a batch of n exposures of a rollout's stage, the
// k-th unit in treatment exactly when floor((k+1)·percent/100) > floor(k·percent/100),
// so that the arms keep the planned ratio (no sample-ratio mismatch).
func exposureBatch(batchID, rolloutID, stage string, percent float64, first, n int, at time.Time) []byte {
	evs := make([]map[string]any, 0, n)
	for k := first; k < first+n; k++ {
		arm, variant := "control", "off"
		if int(float64(k+1)*percent/100) > int(float64(k)*percent/100) {
			arm, variant = "treatment", "on"
		}
		e := map[string]any{"kind": "exposure", "time": at, "unit": fmt.Sprintf("user-%d", k), "flag": "smart-reply",
			"variant": variant, "dimensions": map[string]string{"country": []string{"DE", "BR", "US"}[k%3]}}
		if rolloutID != "" {
			e["rollout"], e["stage"], e["arm"], e["rule_id"] = rolloutID, stage, arm, "rollout.ring."+arm
		}
		evs = append(evs, e)
	}
	b, _ := json.Marshal(map[string]any{"batch_id": batchID, "events": evs})
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

// postBatch sends a gzipped batch and returns the status and the Retry-After header.
func postBatch(client *http.Client, baseURL, key string, gz []byte) (int, string, error) {
	req, err := http.NewRequest("POST", baseURL+"/sdk/v1/events", bytes.NewReader(gz))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Content-Encoding", "gzip")
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("Retry-After"), nil
}
