package server_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ramp-release/ramp/internal/ingest"
	"github.com/ramp-release/ramp/internal/server"
	"github.com/ramp-release/ramp/internal/store/sqlite"
)

// TestUnitKeysAreHashedBeforeStorage checks the privacy option: with a UnitKey
// function the event log holds keyed hashes only, and the same unit always gets the
// same hash.
func TestUnitKeysAreHashedBeforeStorage(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "ramp.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	hash, err := ingest.UnitHasher([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	srv := server.New(st, nil, server.Config{Heartbeat: time.Hour, UnitKey: hash})
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()
	defer srv.Close()
	token, err := srv.Bootstrap(ctx)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, url: hs.URL, admin: token, srv: srv}
	e.mustDo("POST", "/api/v1/environments", token, `{"key":"production"}`, http.StatusCreated, nil)
	var key struct{ Secret string }
	e.mustDo("POST", "/api/v1/environments/production/sdk-keys", token, `{"kind":"server"}`, http.StatusCreated, &key)
	e.mustDo("POST", "/sdk/v1/events", key.Secret, `{"batch_id":"p-1","events":[
	  {"kind":"exposure","time":"2026-11-25T10:00:00Z","unit":"alice@example.com","flag":"summarize","variant":"on"},
	  {"kind":"metric","time":"2026-11-25T10:00:01Z","unit":"alice@example.com","metric":"rating","value":5,"comment":"great"}]}`, http.StatusAccepted, nil)
	bs, err := st.EventBatches(ctx, 0, 10)
	if err != nil || len(bs) != 1 {
		t.Fatalf("batches %v, %v", bs, err)
	}
	payload := string(bs[0].Payload)
	h := hash("alice@example.com")
	if strings.Contains(payload, "alice") || strings.Count(payload, h) != 2 || !strings.HasPrefix(h, ingest.UnitHashPrefix) {
		t.Errorf("stored payload %s; want only the hash %s", payload, h)
	}
	if hash(h) != h {
		t.Error("hashing a hashed key changed it")
	}
}

// TestMetricDefinitionRoutes covers the metric API: built-ins, creating (with every
// invalid field named), replacing with If-Match, overriding a built-in, deleting.
func TestMetricDefinitionRoutes(t *testing.T) {
	e := newEnv(t)
	var list struct {
		Items []struct {
			Key     string `json:"key"`
			BuiltIn bool   `json:"built_in"`
		} `json:"items"`
	}
	e.mustDo("GET", "/api/v1/metrics", e.admin, "", http.StatusOK, &list)
	if len(list.Items) != len(ingest.BuiltinMetrics()) || !list.Items[0].BuiltIn {
		t.Fatalf("metrics %+v", list.Items)
	}
	status, _, body := e.do("POST", "/api/v1/metrics", e.admin, `{"key":"x","kind":"median","direction":"up","event":""}`)
	if status != http.StatusUnprocessableEntity {
		t.Fatalf("invalid metric: %d %s", status, body)
	}
	for _, want := range []string{`"kind"`, `"direction"`, `"event"`} {
		if !strings.Contains(string(body), want) {
			t.Errorf("problem %s does not name %s", body, want)
		}
	}
	h := e.mustDo("POST", "/api/v1/metrics", e.admin, `{"key":"answer_tokens","kind":"mean","direction":"lower_is_better","event":"answer_tokens","population":"active"}`, http.StatusCreated, nil)
	if h.Get("ETag") != `"1"` {
		t.Errorf("ETag %q", h.Get("ETag"))
	}
	status, _, _ = e.do("PUT", "/api/v1/metrics/answer_tokens", e.admin, `{"kind":"mean","direction":"lower_is_better","event":"answer_tokens","population":"active","aggregate":"sum"}`)
	if status != http.StatusPreconditionRequired {
		t.Errorf("PUT without If-Match: %d", status)
	}
	e.mustDo("PUT", "/api/v1/metrics/answer_tokens", e.admin, `{"kind":"mean","direction":"lower_is_better","event":"answer_tokens","population":"active","aggregate":"sum"}`, http.StatusOK, nil, "If-Match", `"1"`)
	e.mustDo("POST", "/api/v1/metrics", e.admin, `{"key":"error_rate","kind":"proportion","direction":"lower_is_better","event":"failure"}`, http.StatusCreated, nil)
	var m struct {
		Event   string `json:"event"`
		BuiltIn bool   `json:"built_in"`
	}
	e.mustDo("GET", "/api/v1/metrics/error_rate", e.admin, "", http.StatusOK, &m)
	if m.Event != "failure" || m.BuiltIn {
		t.Errorf("overridden built-in: %+v", m)
	}
	e.mustDo("DELETE", "/api/v1/metrics/error_rate", e.admin, "", http.StatusNoContent, nil)
	e.mustDo("GET", "/api/v1/metrics/error_rate", e.admin, "", http.StatusOK, &m)
	if m.Event != "error" || !m.BuiltIn {
		t.Errorf("after deleting the override: %+v", m)
	}
	e.mustDo("GET", "/api/v1/metrics/nope", e.admin, "", http.StatusNotFound, nil)
	e.mustDo("GET", "/api/v1/rollouts/nope/analysis", e.admin, "", http.StatusNotFound, nil)
	e.mustDo("GET", "/api/v1/rollouts/nope/feedback", e.admin, "", http.StatusNotFound, nil)
	e.mustDo("GET", "/api/v1/ingest", e.admin, "", http.StatusNotFound, nil)
	status, _, _ = e.do("POST", "/api/v1/metrics", "", `{}`)
	if status != http.StatusUnauthorized {
		t.Errorf("anonymous POST: %d", status)
	}
}
