package ramptest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ramp-release/ramp/events"
	"github.com/ramp-release/ramp/flags"
	"github.com/ramp-release/ramp/internal/server"
	"github.com/ramp-release/ramp/internal/store"
	"github.com/ramp-release/ramp/internal/store/sqlite"
)

// Env is the environment every test server creates.
const Env = "production"

// Fault is a way for the server to misbehave on the SDK routes.
type Fault int

// The faults.
const (
	// NoFault serves the real handler.
	NoFault Fault = iota
	// BadJSON serves "{not json" as the flag document (fetch and stream).
	BadJSON
	// Truncated serves the first half of the real document.
	Truncated
	// InvalidSet serves well-formed JSON whose flag set does not validate.
	InvalidSet
	// WrongEnvironment serves a valid document of another environment.
	WrongEnvironment
	// Unavailable answers 503 on every SDK route.
	Unavailable
	// NoStream answers 404 on the stream route only, as a proxy that does not pass
	// server-sent events might.
	NoStream
)

// Server is a running ramp server for tests.
type Server struct {
	t     testing.TB
	opts  Options
	Store *sqlite.Store
	// URL is the server's base URL; it stays the same across Kill and Restart.
	URL        string
	AdminToken string
	// SDKKey is a server SDK key of Env; SDKKeyID its id (to revoke it).
	SDKKey, SDKKeyID string

	mu    sync.Mutex
	srv   *server.Server
	http  *httptest.Server
	addr  string
	fault atomic.Int32
	// EventRequests counts POST /sdk/v1/events requests that reached the server.
	EventRequests atomic.Int64
	// FailEvents is the number of coming event requests to store and then answer with
	// 503, as if the response had been lost.
	FailEvents atomic.Int64
	// Fetches counts GET /sdk/v1/flags requests; NotModified those answered 304.
	Fetches, NotModified atomic.Int64
}

// Options adjust a test server.
type Options struct {
	// OnFlagCommit, when set, is called right after a flag's state change is
	// committed to the store, with its new version: the "commit" instant of
	// propagation measurements.
	OnFlagCommit func(env, key string, version int64)
}

// Start starts a server with an environment Env and a server SDK key. It is stopped
// when the test ends.
func Start(t testing.TB) *Server { return StartWith(t, Options{}) }

// StartWith starts a server with options.
func StartWith(t testing.TB, opts Options) *Server {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "ramp.db"))
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{t: t, Store: st, opts: opts}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.start(ln)
	tok, err := s.srv.Bootstrap(ctx)
	if err != nil {
		t.Fatal(err)
	}
	s.AdminToken = tok
	t.Cleanup(func() {
		s.Kill()
		_ = st.Close()
	})
	s.Admin("POST", "/api/v1/environments", "", map[string]string{"key": Env}, http.StatusCreated, nil)
	var key struct {
		Credential struct {
			ID string `json:"id"`
		} `json:"credential"`
		Secret string `json:"secret"`
	}
	s.Admin("POST", "/api/v1/environments/"+Env+"/sdk-keys", "", map[string]string{"kind": "server", "name": "test"}, http.StatusCreated, &key)
	s.SDKKey, s.SDKKeyID = key.Secret, key.Credential.ID
	return s
}

func (s *Server) start(ln net.Listener) {
	var st store.Store = s.Store
	if s.opts.OnFlagCommit != nil {
		st = hookedStore{Store: s.Store, onCommit: s.opts.OnFlagCommit}
	}
	srv := server.New(st, slog.New(slog.NewTextHandler(io.Discard, nil)), server.Config{Heartbeat: 5 * time.Second})
	hs := &httptest.Server{Listener: ln, Config: &http.Server{Handler: s.faulty(srv.Handler())}}
	hs.Start()
	s.mu.Lock()
	s.srv, s.http, s.addr, s.URL = srv, hs, ln.Addr().String(), hs.URL
	s.mu.Unlock()
}

// Kill stops the server as a crash would: open streams end, connections close, the
// port stops answering. The store is kept.
func (s *Server) Kill() {
	s.mu.Lock()
	srv, hs := s.srv, s.http
	s.srv, s.http = nil, nil
	s.mu.Unlock()
	if hs == nil {
		return
	}
	srv.Close()
	hs.CloseClientConnections()
	hs.Close()
}

// Restart brings a fresh server process up on the same address, over the same store.
func (s *Server) Restart() {
	s.t.Helper()
	s.Kill()
	var err error
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) { // the port may linger briefly
		var ln net.Listener
		if ln, err = net.Listen("tcp", s.addr); err == nil {
			s.start(ln)
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.t.Fatalf("restart on %s: %v", s.addr, err)
}

// DropConnections closes every open client connection (streams included) without
// stopping the server, as a network blip or a proxy restart would.
func (s *Server) DropConnections() {
	s.mu.Lock()
	hs := s.http
	s.mu.Unlock()
	if hs != nil {
		hs.CloseClientConnections()
	}
}

// SetFault makes the server misbehave from now on (NoFault to stop).
func (s *Server) SetFault(f Fault) { s.fault.Store(int32(f)) }

func (s *Server) faulty(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f := Fault(s.fault.Load())
		switch r.URL.Path {
		case "/sdk/v1/events":
			s.EventRequests.Add(1)
			if s.FailEvents.Add(-1) >= 0 {
				h.ServeHTTP(httptest.NewRecorder(), r)
				http.Error(w, "lost", http.StatusServiceUnavailable)
				return
			}
			s.FailEvents.Store(0)
		case "/sdk/v1/flags":
			s.Fetches.Add(1)
			if r.Header.Get("If-None-Match") != "" && (f == NoFault || f == NoStream) {
				w = &statusRecorder{ResponseWriter: w, notModified: &s.NotModified}
			}
		}
		switch {
		case f == NoFault:
		case f == NoStream && r.URL.Path == "/sdk/v1/stream":
			http.NotFound(w, r)
			return
		case f == Unavailable && (r.URL.Path == "/sdk/v1/flags" || r.URL.Path == "/sdk/v1/stream" || r.URL.Path == "/sdk/v1/events"):
			w.Header().Set("Retry-After", "1")
			http.Error(w, "unavailable", http.StatusServiceUnavailable)
			return
		case f >= BadJSON && f <= WrongEnvironment && (r.URL.Path == "/sdk/v1/flags" || r.URL.Path == "/sdk/v1/stream"):
			doc := s.brokenDocument(f, r)
			if r.URL.Path == "/sdk/v1/flags" {
				w.Header().Set("Content-Type", "application/json")
				_, _ = w.Write(doc)
				return
			}
			w.Header().Set("Content-Type", "text/event-stream")
			_, _ = fmt.Fprintf(w, ": connected\n\nevent: snapshot\nid: 999999\ndata: %s\n\n", bytes.ReplaceAll(doc, []byte("\n"), nil))
			w.(http.Flusher).Flush()
			<-r.Context().Done()
			return
		}
		h.ServeHTTP(w, r)
	})
}

// brokenDocument derives a bad flag document from the real one.
func (s *Server) brokenDocument(f Fault, r *http.Request) []byte {
	rec := httptest.NewRecorder()
	req := httptest.NewRequestWithContext(r.Context(), "GET", "/sdk/v1/flags", nil)
	req.Header.Set("Authorization", r.Header.Get("Authorization"))
	s.mu.Lock()
	srv := s.srv
	s.mu.Unlock()
	srv.Handler().ServeHTTP(rec, req)
	real := rec.Body.Bytes()
	switch f {
	case BadJSON:
		return []byte("{not json")
	case Truncated:
		return real[:len(real)/2]
	case InvalidSet:
		var doc map[string]any
		_ = json.Unmarshal(real, &doc)
		doc["revision"] = 999999
		doc["flags"] = map[string]any{"broken": map[string]any{"type": "bool", "enabled": true,
			"variants": map[string]any{"on": "not a bool"}, "default": map[string]any{"variant": "on"}}}
		out, _ := json.Marshal(doc)
		return out
	case WrongEnvironment:
		var doc map[string]any
		_ = json.Unmarshal(real, &doc)
		doc["environment"] = "staging"
		doc["revision"] = 999999
		out, _ := json.Marshal(doc)
		return out
	}
	return real
}

// Admin calls the admin API with the bootstrap token and decodes the answer into
// out (when not nil); any status but want fails the test.
func (s *Server) Admin(method, path, ifMatch string, body any, want int, out any) http.Header {
	s.t.Helper()
	status, h, data := s.call(method, path, ifMatch, body)
	if status != want {
		s.t.Fatalf("%s %s: %d, want %d: %s", method, path, status, want, data)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			s.t.Fatalf("%s %s: decode %s: %v", method, path, data, err)
		}
	}
	return h
}

func (s *Server) call(method, path, ifMatch string, body any) (int, http.Header, []byte) {
	s.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			s.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, s.URL+path, rd)
	if err != nil {
		s.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+s.AdminToken)
	if ifMatch != "" {
		req.Header.Set("If-Match", ifMatch)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, data
}

// CreateFlag creates a flag (its definition and its state in every environment).
func (s *Server) CreateFlag(f flags.Flag) {
	s.t.Helper()
	s.Admin("POST", "/api/v1/flags", "", f, http.StatusCreated, nil)
}

// UpdateState reads the flag's state in Env, lets edit change it and writes it back
// with If-Match; it returns the new state version.
func (s *Server) UpdateState(key string, edit func(*store.FlagState)) int64 {
	s.t.Helper()
	var cur struct {
		flags.Flag
	}
	h := s.Admin("GET", "/api/v1/environments/"+Env+"/flags/"+key, "", nil, http.StatusOK, &cur)
	st := store.FlagState{Enabled: cur.Enabled, OffVariant: cur.OffVariant, Rules: cur.Rules, Default: cur.Default}
	edit(&st)
	// Only the fields a client sets: version and updated_at are the server's.
	body := struct {
		Enabled    bool              `json:"enabled"`
		OffVariant string            `json:"off_variant,omitempty"`
		Rules      []flags.Rule      `json:"rules,omitempty"`
		Default    *flags.Allocation `json:"default,omitempty"`
	}{st.Enabled, st.OffVariant, st.Rules, st.Default}
	h = s.Admin("PUT", "/api/v1/environments/"+Env+"/flags/"+key, h.Get("ETag"), body, http.StatusOK, nil)
	v, _ := strconv.ParseInt(trimETag(h.Get("ETag")), 10, 64)
	return v
}

func trimETag(e string) string {
	e = string(bytes.TrimPrefix([]byte(e), []byte("W/")))
	if len(e) >= 2 && e[0] == '"' {
		e = e[1 : len(e)-1]
	}
	return e
}

// SetDefault makes key serve variant to everyone in Env.
func (s *Server) SetDefault(key, variant string) int64 {
	s.t.Helper()
	return s.UpdateState(key, func(st *store.FlagState) {
		st.Default = &flags.Allocation{Variant: variant}
	})
}

// RevokeKey revokes the SDK key.
func (s *Server) RevokeKey() {
	s.t.Helper()
	s.Admin("DELETE", "/api/v1/sdk-keys/"+s.SDKKeyID, "", nil, http.StatusNoContent, nil)
}

// Batches returns every event batch the store holds, decoded.
func (s *Server) Batches() []events.Batch {
	s.t.Helper()
	bs, err := s.Store.EventBatches(context.Background(), 0, 10_000)
	if err != nil {
		s.t.Fatal(err)
	}
	out := make([]events.Batch, len(bs))
	for i, b := range bs {
		if err := json.Unmarshal(b.Payload, &out[i]); err != nil {
			s.t.Fatalf("batch %d: %v", b.Seq, err)
		}
	}
	return out
}

// Events returns every event of every stored batch.
func (s *Server) Events() []events.Event {
	var out []events.Event
	for _, b := range s.Batches() {
		out = append(out, b.Events...)
	}
	return out
}

// Eventually polls cond every few milliseconds until it holds, failing the test with
// msg after timeout.
func Eventually(t testing.TB, timeout time.Duration, msg string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %s", timeout, msg)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// statusRecorder counts 304 answers.
type statusRecorder struct {
	http.ResponseWriter
	notModified *atomic.Int64
}

func (r *statusRecorder) WriteHeader(code int) {
	if code == http.StatusNotModified {
		r.notModified.Add(1)
	}
	r.ResponseWriter.WriteHeader(code)
}

// hookedStore reports flag state commits.
type hookedStore struct {
	store.Store
	onCommit func(env, key string, version int64)
}

func (h hookedStore) UpdateFlagState(ctx context.Context, env, key string, st store.FlagState, version int64, c store.Change) (store.Flag, error) {
	f, err := h.Store.UpdateFlagState(ctx, env, key, st, version, c)
	if err == nil {
		h.onCommit(env, key, f.State.Version)
	}
	return f, err
}

// StreamClients returns the number of SDK streams the server has open, from its
// ramp_sse_clients metric.
func (s *Server) StreamClients() int {
	s.t.Helper()
	resp, err := http.Get(s.URL + "/metrics")
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	for _, line := range bytes.Split(data, []byte("\n")) {
		if v, ok := bytes.CutPrefix(line, []byte("ramp_sse_clients ")); ok {
			n, _ := strconv.ParseFloat(string(v), 64)
			return int(n)
		}
	}
	return 0
}
