package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ramp-release/ramp/internal/server"
	"github.com/ramp-release/ramp/internal/store/sqlite"
)

// BenchmarkOFREPSingle measures the OFREP handler's own cost (no network) for the
// benchmark flag of ../shared/BENCHMARKS.md over its 10 000 rotating contexts.
func BenchmarkOFREPSingle(b *testing.B) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "ramp.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	srv := server.New(st, nil, server.Config{})
	defer srv.Close()
	h := srv.Handler()
	token, _ := srv.Bootstrap(ctx)
	call := func(method, path, auth, body string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+auth)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 300 {
			b.Fatalf("%s %s: %d %s", method, path, rec.Code, rec.Body)
		}
		return rec
	}
	call("POST", "/api/v1/environments", token, `{"key":"production"}`)
	call("POST", "/api/v1/flags", token, `{"key": "rollout-flag", "type": "bool", "variants": {"on": true, "off": false}, "enabled": true,
	 "rules": [{"conditions": [{"attribute": "country", "op": "in", "values": ["DE", "FR"]}], "serve": {"variant": "on"}}],
	 "default": {"split": [{"variant": "on", "weight": 25000}, {"variant": "off", "weight": 75000}]}}`)
	rec := call("POST", "/api/v1/environments/production/sdk-keys", token, `{"kind":"server"}`)
	var created struct{ Secret string }
	if err := json.Unmarshal(rec.Body.Bytes(), &created); err != nil {
		b.Fatal(err)
	}
	key := created.Secret
	countries := []string{"DE", "US", "FR", "GB", "ES", "IT", "PL", "NL"}
	bodies := make([]string, 10_000)
	for i := range bodies {
		bodies[i] = fmt.Sprintf(`{"context":{"targetingKey":"user-%08x-%04d","country":"%s"}}`, uint32(i)*2654435761, i, countries[i%8])
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		req := httptest.NewRequest("POST", "/ofrep/v1/evaluate/flags/rollout-flag", strings.NewReader(bodies[i]))
		req.Header.Set("Authorization", "Bearer "+key)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatal(rec.Code, rec.Body)
		}
		if i++; i == len(bodies) {
			i = 0
		}
	}
}
