package server_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ramp-release/ramp/internal/server"
	"github.com/ramp-release/ramp/internal/store/sqlite"
)

// env is a running server on a fresh embedded store with an admin token, an
// environment "production" and a server SDK key for it.
type env struct {
	t      *testing.T
	url    string
	admin  string
	sdkKey string
	srv    *server.Server
}

func newEnv(t *testing.T) *env {
	t.Helper()
	return newEnvWithHeartbeat(t, time.Hour)
}

func newEnvWithHeartbeat(t *testing.T, heartbeat time.Duration) *env {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "ramp.db"))
	if err != nil {
		t.Fatal(err)
	}
	srv := server.New(st, nil, server.Config{Heartbeat: heartbeat})
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		srv.Close()
		hs.Close()
		st.Close()
	})
	token, err := srv.Bootstrap(ctx)
	if err != nil || token == "" {
		t.Fatalf("Bootstrap = %q, %v", token, err)
	}
	e := &env{t: t, url: hs.URL, admin: token, srv: srv}
	e.mustDo("POST", "/api/v1/environments", token, `{"key":"production"}`, http.StatusCreated, nil)
	var key struct{ Secret string }
	e.mustDo("POST", "/api/v1/environments/production/sdk-keys", token, `{"kind":"server"}`, http.StatusCreated, &key)
	e.sdkKey = key.Secret
	return e
}

// do sends a request and returns the status, headers and body.
func (e *env) do(method, path, token, body string, headers ...string) (int, http.Header, []byte) {
	e.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, e.url+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, data
}

func (e *env) mustDo(method, path, token, body string, want int, out any, headers ...string) http.Header {
	e.t.Helper()
	status, h, data := e.do(method, path, token, body, headers...)
	if status != want {
		e.t.Fatalf("%s %s = %d %s, want %d", method, path, status, data, want)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			e.t.Fatalf("%s %s: decode %s: %v", method, path, data, err)
		}
	}
	return h
}

const summarizeFlag = `{
  "key": "summarize", "type": "string", "enabled": true,
  "variants": {"v1": "gpt-small", "v2": "gpt-large"},
  "off_variant": "v1",
  "rules": [{"id": "eu", "conditions": [{"attribute": "country", "op": "in", "values": ["DE", "FR"]}], "serve": {"variant": "v2"}}],
  "default": {"split": [{"variant": "v2", "weight": 25000}, {"variant": "v1", "weight": 75000}]},
  "metadata": {"owner": "ml-platform"}
}`

func TestFlagLifecycleThroughTheAdminAPI(t *testing.T) {
	e := newEnv(t)
	e.mustDo("POST", "/api/v1/flags", e.admin, summarizeFlag, http.StatusCreated, nil)

	var f struct {
		Key     string
		Enabled bool
		Version int64
		Rules   []json.RawMessage
	}
	h := e.mustDo("GET", "/api/v1/environments/production/flags/summarize", e.admin, "", http.StatusOK, &f)
	if !f.Enabled || len(f.Rules) != 1 || f.Version != 1 || h.Get("ETag") != `"1"` {
		t.Fatalf("created flag = %+v, ETag %s; want enabled, one rule, version 1", f, h.Get("ETag"))
	}

	state := `{"enabled": false, "off_variant": "v1", "default": {"variant": "v1"}}`
	t.Run("a write without If-Match is refused with 428", func(t *testing.T) {
		e.mustDo("PUT", "/api/v1/environments/production/flags/summarize", e.admin, state, http.StatusPreconditionRequired, nil)
	})
	e.mustDo("PUT", "/api/v1/environments/production/flags/summarize", e.admin, state, http.StatusOK, &f, "If-Match", `"1"`)
	if f.Enabled || f.Version != 2 {
		t.Fatalf("after update: %+v, want disabled at version 2", f)
	}
	t.Run("a write based on a stale version is refused with 412, never lost", func(t *testing.T) {
		e.mustDo("PUT", "/api/v1/environments/production/flags/summarize", e.admin, `{"enabled": true}`, http.StatusPreconditionFailed, nil, "If-Match", `"1"`)
		e.mustDo("GET", "/api/v1/environments/production/flags/summarize", e.admin, "", http.StatusOK, &f)
		if f.Enabled {
			t.Fatal("the stale write was applied")
		}
	})
	t.Run("enable needs no version and is audited", func(t *testing.T) {
		e.mustDo("POST", "/api/v1/environments/production/flags/summarize/enable", e.admin, "", http.StatusOK, &f, "X-Ramp-Reason", "ship it")
		if !f.Enabled || f.Version != 3 {
			t.Fatalf("after enable: %+v", f)
		}
		var audit struct {
			Items []struct{ Action, Reason, Target string }
		}
		e.mustDo("GET", "/api/v1/audit?target=flag:summarize&limit=1", e.admin, "", http.StatusOK, &audit)
		if len(audit.Items) != 1 || audit.Items[0].Reason != "ship it" || audit.Items[0].Action != "flag.state.update" {
			t.Fatalf("newest audit entry = %+v", audit.Items)
		}
	})
	e.mustDo("DELETE", "/api/v1/flags/summarize", e.admin, "", http.StatusNoContent, nil)
	e.mustDo("GET", "/api/v1/environments/production/flags/summarize", e.admin, "", http.StatusNotFound, nil)
	var v server.VerifyResult
	e.mustDo("GET", "/api/v1/audit/verify", e.admin, "", http.StatusOK, &v)
	if !v.OK || v.Entries < 5 {
		t.Fatalf("audit verify = %+v", v)
	}
}

func TestBadInputGetsAProblemNamingEveryField(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name       string
		body       string
		wantStatus int
		wantText   []string
	}{
		{"an unknown operator is named with a suggestion",
			`{"key":"f","type":"bool","variants":{"on":true,"off":false},"rules":[{"conditions":[{"attribute":"a","op":"containz","value":"x"}],"serve":{"variant":"on"}}],"default":{"variant":"nope"}}`,
			http.StatusUnprocessableEntity,
			[]string{`flags[\"f\"].rules[0].conditions[0].op`, `did you mean \"contains\"`, `flags[\"f\"].default.variant`}},
		{"an unknown field is rejected", `{"key":"f","type":"bool","variants":{"on":true},"enabeld":true}`,
			http.StatusBadRequest, []string{`unknown field \"enabeld\"`}},
		{"malformed JSON says where", "{\"key\": \"f\",\n \"type\": }", http.StatusBadRequest, []string{"line 2"}},
		{"a body over 1 MiB gets 413", `{"key":"` + strings.Repeat("x", server.MaxBodyBytes) + `"}`, http.StatusRequestEntityTooLarge, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, h, body := e.do("POST", "/api/v1/flags", e.admin, tt.body)
			if status != tt.wantStatus {
				t.Fatalf("status %d %s, want %d", status, body, tt.wantStatus)
			}
			if ct := h.Get("Content-Type"); ct != "application/problem+json" {
				t.Errorf("Content-Type %q", ct)
			}
			for _, w := range tt.wantText {
				if !strings.Contains(string(body), w) {
					t.Errorf("body %s lacks %s", body, w)
				}
			}
		})
	}
}

func TestRolesAreEnforcedOnEveryRoute(t *testing.T) {
	e := newEnv(t)
	var tok struct{ Secret string }
	e.mustDo("POST", "/api/v1/tokens", e.admin, `{"name":"vic","role":"viewer"}`, http.StatusCreated, &tok)
	e.mustDo("GET", "/api/v1/environments", tok.Secret, "", http.StatusOK, nil)
	status, _, body := e.do("POST", "/api/v1/flags", tok.Secret, summarizeFlag)
	if status != http.StatusForbidden || !strings.Contains(string(body), "editor") {
		t.Fatalf("viewer creating a flag: %d %s, want 403 naming the editor role", status, body)
	}
	e.mustDo("GET", "/api/v1/environments", "", "", http.StatusUnauthorized, nil)
	e.mustDo("GET", "/api/v1/environments", e.sdkKey, "", http.StatusUnauthorized, nil)
	e.mustDo("GET", "/api/v1/environments", "ramp_api_doesnotexist", "", http.StatusUnauthorized, nil)
}

func TestSDKSnapshotHonoursETag(t *testing.T) {
	e := newEnv(t)
	e.mustDo("POST", "/api/v1/flags", e.admin, summarizeFlag, http.StatusCreated, nil)
	var doc struct {
		Environment string
		Revision    int64
		Flags       map[string]json.RawMessage
	}
	h := e.mustDo("GET", "/sdk/v1/flags", e.sdkKey, "", http.StatusOK, &doc)
	if doc.Environment != "production" || doc.Flags["summarize"] == nil {
		t.Fatalf("snapshot = %+v", doc)
	}
	e.mustDo("GET", "/sdk/v1/flags", e.sdkKey, "", http.StatusNotModified, nil, "If-None-Match", h.Get("ETag"))
	e.mustDo("POST", "/api/v1/environments/production/flags/summarize/disable", e.admin, "", http.StatusOK, nil)
	e.mustDo("GET", "/sdk/v1/flags", e.sdkKey, "", http.StatusOK, nil, "If-None-Match", h.Get("ETag"))
	e.mustDo("GET", "/sdk/v1/flags", e.admin, "", http.StatusUnauthorized, nil)
}

// sseEvent is one server-sent event.
type sseEvent struct{ event, id, data string }

func readEvents(t *testing.T, body io.Reader, out chan<- sseEvent) {
	sc := bufio.NewScanner(body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var ev sseEvent
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if ev.data != "" {
				out <- ev
			}
			ev = sseEvent{}
		case strings.HasPrefix(line, "event: "):
			ev.event = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "id: "):
			ev.id = strings.TrimPrefix(line, "id: ")
		case strings.HasPrefix(line, "data: "):
			ev.data = strings.TrimPrefix(line, "data: ")
		}
	}
	close(out)
}

func openStream(t *testing.T, e *env, lastEventID string) <-chan sseEvent {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, "GET", e.url+"/sdk/v1/stream", nil)
	req.Header.Set("Authorization", "Bearer "+e.sdkKey)
	if lastEventID != "" {
		req.Header.Set("Last-Event-ID", lastEventID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("stream: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	ch := make(chan sseEvent, 16)
	go readEvents(t, resp.Body, ch)
	t.Cleanup(func() { resp.Body.Close() })
	return ch
}

func next(t *testing.T, ch <-chan sseEvent) sseEvent {
	t.Helper()
	select {
	case ev, ok := <-ch:
		if !ok {
			t.Fatal("stream closed")
		}
		return ev
	case <-time.After(5 * time.Second):
		t.Fatal("no event within 5 s")
	}
	return sseEvent{}
}

func TestStreamSendsEveryChangeAndResumes(t *testing.T) {
	e := newEnv(t)
	e.mustDo("POST", "/api/v1/flags", e.admin, summarizeFlag, http.StatusCreated, nil)
	ch := openStream(t, e, "")
	first := next(t, ch)
	if first.event != "snapshot" || !strings.Contains(first.data, `"summarize"`) {
		t.Fatalf("first event = %+v", first)
	}
	e.mustDo("POST", "/api/v1/environments/production/flags/summarize/disable", e.admin, "", http.StatusOK, nil)
	second := next(t, ch)
	if second.id <= first.id && len(second.id) <= len(first.id) {
		t.Fatalf("revision did not increase: %s then %s", first.id, second.id)
	}
	var doc struct {
		Flags map[string]struct{ Enabled bool }
	}
	if err := json.Unmarshal([]byte(second.data), &doc); err != nil || doc.Flags["summarize"].Enabled {
		t.Fatalf("second snapshot %s: flag still enabled (err %v)", second.data, err)
	}

	t.Run("a client resuming at the current revision gets only later changes", func(t *testing.T) {
		resumed := openStream(t, e, second.id)
		e.mustDo("POST", "/api/v1/environments/production/flags/summarize/enable", e.admin, "", http.StatusOK, nil)
		ev := next(t, resumed)
		if ev.id == second.id {
			t.Fatalf("the stream resent revision %s", ev.id)
		}
	})
}

func TestOFREP(t *testing.T) {
	e := newEnv(t)
	e.mustDo("POST", "/api/v1/flags", e.admin, summarizeFlag, http.StatusCreated, nil)
	type result struct {
		Key, Reason, Variant, ErrorCode string
		Value                           any
		Metadata                        map[string]any
	}
	tests := []struct {
		name       string
		flag, body string
		wantStatus int
		want       result
	}{
		{"a rule match", "summarize", `{"context":{"targetingKey":"u1","country":"DE"}}`, 200,
			result{Key: "summarize", Reason: "TARGETING_MATCH", Variant: "v2", Value: "gpt-large", Metadata: map[string]any{"owner": "ml-platform"}}},
		{"a split is sticky on the targeting key", "summarize", `{"context":{"targetingKey":"user-7","country":"US"}}`, 200,
			result{Key: "summarize", Reason: "SPLIT"}},
		{"a split without a targeting key is an error", "summarize", `{"context":{"country":"US"}}`, 400,
			result{Key: "summarize", ErrorCode: "TARGETING_KEY_MISSING"}},
		{"an unknown flag is 404", "nope", `{"context":{}}`, 404, result{Key: "nope", ErrorCode: "FLAG_NOT_FOUND"}},
		{"a request without a body is accepted", "summarize", ``, 400, result{Key: "summarize", ErrorCode: "TARGETING_KEY_MISSING"}},
		{"a malformed context is 400", "summarize", `{"context": [1]}`, 400, result{Key: "summarize", ErrorCode: "INVALID_CONTEXT"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, _, body := e.do("POST", "/ofrep/v1/evaluate/flags/"+tt.flag, e.sdkKey, tt.body)
			if status != tt.wantStatus {
				t.Fatalf("status %d %s, want %d", status, body, tt.wantStatus)
			}
			var got result
			if err := json.Unmarshal(body, &got); err != nil {
				t.Fatal(err)
			}
			if got.Key != tt.want.Key || got.ErrorCode != tt.want.ErrorCode || got.Reason != tt.want.Reason {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
			if tt.want.Variant != "" && (got.Variant != tt.want.Variant || got.Value != tt.want.Value || fmt.Sprint(got.Metadata) != fmt.Sprint(tt.want.Metadata)) {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}

	t.Run("bulk evaluation answers 304 for an unchanged context and revision", func(t *testing.T) {
		body := `{"context":{"targetingKey":"u1","country":"FR"}}`
		var bulk struct {
			Flags []result
		}
		h := e.mustDo("POST", "/ofrep/v1/evaluate/flags", e.sdkKey, body, http.StatusOK, &bulk)
		if len(bulk.Flags) != 1 || bulk.Flags[0].Variant != "v2" {
			t.Fatalf("bulk = %+v", bulk)
		}
		e.mustDo("POST", "/ofrep/v1/evaluate/flags", e.sdkKey, body, http.StatusNotModified, nil, "If-None-Match", h.Get("ETag"))
		e.mustDo("POST", "/ofrep/v1/evaluate/flags", e.sdkKey, `{"context":{"targetingKey":"u2"}}`, http.StatusOK, nil, "If-None-Match", h.Get("ETag"))
	})

	t.Run("a client key sees only client-side flags", func(t *testing.T) {
		var key struct{ Secret string }
		e.mustDo("POST", "/api/v1/environments/production/sdk-keys", e.admin, `{"kind":"client"}`, http.StatusCreated, &key)
		e.mustDo("POST", "/ofrep/v1/evaluate/flags/summarize", key.Secret, `{"context":{"targetingKey":"u"}}`, http.StatusNotFound, nil)
		e.mustDo("GET", "/sdk/v1/flags", key.Secret, "", http.StatusForbidden, nil)
		e.mustDo("POST", "/api/v1/flags", e.admin, `{"key":"banner","type":"bool","variants":{"on":true,"off":false},"enabled":true,"default":{"variant":"on"},"client_side":true}`, http.StatusCreated, nil)
		var r result
		e.mustDo("POST", "/ofrep/v1/evaluate/flags/banner", key.Secret, `{"context":{}}`, http.StatusOK, &r, "X-API-Key", key.Secret)
		if r.Value != true || r.Reason != "STATIC" {
			t.Fatalf("banner = %+v", r)
		}
	})

	t.Run("a revoked key is refused", func(t *testing.T) {
		var key struct {
			Secret     string
			Credential struct{ ID string }
		}
		e.mustDo("POST", "/api/v1/environments/production/sdk-keys", e.admin, `{"kind":"server"}`, http.StatusCreated, &key)
		e.mustDo("POST", "/ofrep/v1/evaluate/flags/summarize", key.Secret, `{"context":{"targetingKey":"u"}}`, http.StatusOK, nil)
		e.mustDo("DELETE", "/api/v1/sdk-keys/"+key.Credential.ID, e.admin, "", http.StatusNoContent, nil)
		e.mustDo("POST", "/ofrep/v1/evaluate/flags/summarize", key.Secret, `{"context":{"targetingKey":"u"}}`, http.StatusForbidden, nil)
	})
}

func TestEventBatchesAreQueuedOnceAndValidated(t *testing.T) {
	e := newEnv(t)
	batch := `{"batch_id":"b-1","events":[
	  {"kind":"exposure","time":"2026-11-25T10:00:00Z","unit":"u1","flag":"summarize","variant":"v2","dimensions":{"country":"DE"}},
	  {"kind":"metric","time":"2026-11-25T10:00:01Z","unit":"u1","metric":"thumbs_up","value":1,"comment":"great summary"}]}`
	var acc server.EventsAccepted
	e.mustDo("POST", "/sdk/v1/events", e.sdkKey, batch, http.StatusAccepted, &acc)
	if acc.Duplicate || acc.Events != 2 {
		t.Fatalf("first copy = %+v", acc)
	}
	var again server.EventsAccepted
	e.mustDo("POST", "/sdk/v1/events", e.sdkKey, batch, http.StatusAccepted, &again)
	if !again.Duplicate || again.Seq != acc.Seq {
		t.Fatalf("retried batch = %+v, want a duplicate of seq %d", again, acc.Seq)
	}

	t.Run("gzip batches are accepted", func(t *testing.T) {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		zw.Write([]byte(strings.Replace(batch, "b-1", "b-2", 1)))
		zw.Close()
		req, _ := http.NewRequest("POST", e.url+"/sdk/v1/events", &buf)
		req.Header.Set("Authorization", "Bearer "+e.sdkKey)
		req.Header.Set("Content-Encoding", "gzip")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			t.Fatalf("gzip batch: %d", resp.StatusCode)
		}
	})

	t.Run("every invalid event is named", func(t *testing.T) {
		status, _, body := e.do("POST", "/sdk/v1/events", e.sdkKey, `{"batch_id":"b-3","events":[
		  {"kind":"exposure","time":"2026-11-25T10:00:00Z","unit":"u1","variant":"v2"},
		  {"kind":"metric","time":"2026-11-25T10:00:00Z","unit":"","metric":"x","value":1},
		  {"kind":"click","time":"2026-11-25T10:00:00Z","unit":"u"}]}`)
		if status != http.StatusUnprocessableEntity {
			t.Fatalf("status %d %s", status, body)
		}
		for _, want := range []string{"events[0].flag", "events[1].unit", `events[2].kind`} {
			if !strings.Contains(string(body), want) {
				t.Errorf("problem %s does not name %s", body, want)
			}
		}
	})
}

func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	e := newEnv(t)
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	e.mustDo("GET", "/api/v1/openapi.json", "", "", http.StatusOK, &doc)
	if doc.OpenAPI != "3.1.0" {
		t.Fatalf("openapi = %q", doc.OpenAPI)
	}
	// Every documented operation is served: calling it never yields the mux's 404/405
	// for an unknown route (it may well be 401, 400 or 404 with a problem body).
	n := 0
	for path, ops := range doc.Paths {
		for method := range ops {
			n++
			concrete := strings.NewReplacer("{env}", "production", "{key}", "x", "{id}", "x").Replace(path)
			status, h, _ := e.do(strings.ToUpper(method), concrete, "", "")
			if status == http.StatusMethodNotAllowed || (status == http.StatusNotFound && h.Get("Content-Type") != "application/problem+json" && h.Get("Content-Type") != "application/json") {
				t.Errorf("%s %s is documented but not served (%d)", method, path, status)
			}
		}
	}
	if n < 30 {
		t.Fatalf("only %d operations documented", n)
	}
}

func TestHealthReadinessAndMetrics(t *testing.T) {
	e := newEnv(t)
	e.mustDo("GET", "/healthz", "", "", http.StatusOK, nil)
	e.mustDo("GET", "/readyz", "", "", http.StatusOK, nil)
	_, _, body := e.do("GET", "/metrics", "", "")
	if !strings.Contains(string(body), "ramp_http_requests_total") {
		t.Fatalf("metrics lack ramp_http_requests_total")
	}
}

func TestARevokedKeyEndsItsOpenStreams(t *testing.T) {
	e := newEnvWithHeartbeat(t, 20*time.Millisecond)
	var key struct {
		Secret     string
		Credential struct{ ID string }
	}
	e.mustDo("POST", "/api/v1/environments/production/sdk-keys", e.admin, `{"kind":"server"}`, http.StatusCreated, &key)
	e.sdkKey = key.Secret
	ch := openStream(t, e, "")
	if ev := next(t, ch); ev.event != "snapshot" {
		t.Fatalf("first event = %+v", ev)
	}
	e.mustDo("DELETE", "/api/v1/sdk-keys/"+key.Credential.ID, e.admin, "", http.StatusNoContent, nil)
	deadline := time.After(5 * time.Second)
	for {
		select {
		case ev, ok := <-ch:
			if !ok {
				return // the server ended the stream
			}
			if ev.event == "error" && !strings.Contains(ev.data, "revoked") {
				t.Fatalf("error event %q does not say the key was revoked", ev.data)
			}
		case <-deadline:
			t.Fatal("the stream of a revoked key is still open after 5 s")
		}
	}
}
