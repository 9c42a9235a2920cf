package web_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ramp-release/ramp/internal/controller"
	"github.com/ramp-release/ramp/internal/rollout"
	"github.com/ramp-release/ramp/internal/server"
	"github.com/ramp-release/ramp/internal/store"
	"github.com/ramp-release/ramp/internal/store/sqlite"
	"github.com/ramp-release/ramp/internal/web"
)

// rampServer is the whole ramp server — API, OFREP and the dashboard — on
// 127.0.0.1:0 over a real SQLite file, as `ramp serve` wires it.
type rampServer struct {
	t      *testing.T
	url    string
	admin  string
	tokens map[string]string // name → secret
	sdkKey string
	srv    *server.Server
	// ctrl is the rollout controller; the test drives it with clock and Tick.
	ctrl    *controller.Controller
	clock   *controller.ManualClock
	traffic *traffic
}

// traffic is the analysis the controller reads: injected, as if a steady stream of
// units were exposed and every guardrail were measured clear (or crossed).
type traffic struct {
	mu      sync.Mutex
	clock   *controller.ManualClock
	perHour int64
	crossed string // a guardrail metric measured crossed, or ""
}

func (tr *traffic) analysis(_ context.Context, r store.Rollout) (*rollout.Analysis, error) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	now := tr.clock.Now()
	if r.State.Status != rollout.Running || r.State.EvidenceStart.IsZero() {
		return nil, nil
	}
	units := int64(now.Sub(r.State.EvidenceStart).Hours()*float64(tr.perHour)) / 2
	a := &rollout.Analysis{AsOf: now, Stage: r.State.Stage, EvidenceStart: r.State.EvidenceStart, UnitsTreatment: units, UnitsControl: units}
	for _, g := range r.Plan.Guardrails {
		res := rollout.MetricResult{Metric: g.Metric, Verdict: rollout.Clear, Summary: "+0.1% [−2.3%, +2.4%]"}
		if g.Metric == tr.crossed {
			res = rollout.MetricResult{Metric: g.Metric, Verdict: rollout.Crossed, Summary: "+38% [+21%, +57%]"}
		}
		a.Guardrails = append(a.Guardrails, res)
	}
	return a, nil
}

func startServer(t *testing.T) *rampServer {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "ramp.db"))
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	var srv *server.Server
	// The dashboard calls the server's own handler; only while the analysis API is
	// not deployed, a stand-in answers it from the injected traffic (see
	// analysisStandIn).
	tr0 := &traffic{}
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { analysisStandIn(srv.Handler(), tr0, w, r) })
	dash := web.New(web.Config{API: api, Poll: time.Second, Version: "test", Log: log})
	// The clock starts in the past so that the times the pages show stay behind the
	// wall clock as the test moves it on.
	clock := controller.NewManualClock(time.Now().UTC().Add(-12 * time.Hour).Truncate(time.Second))
	tr := tr0
	tr.clock, tr.perHour = clock, 20_000
	ctrl := controller.New(st, controller.Options{Clock: clock, Analysis: controller.AnalysisFunc(tr.analysis), Log: log,
		Publish: func(ctx context.Context, env string) error { return srv.Publish(ctx, env) }})
	srv = server.New(st, log, server.Config{Heartbeat: time.Hour, Extra: dash.Mount, Rollouts: ctrl})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 5 * time.Second}
	done := make(chan error, 1)
	go func() { done <- hs.Serve(ln) }()
	t.Cleanup(func() {
		srv.Close()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = hs.Shutdown(sctx)
		if err := <-done; err != nil && !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("serve: %v", err)
		}
		st.Close()
	})
	admin, err := srv.Bootstrap(ctx)
	if err != nil || admin == "" {
		t.Fatalf("Bootstrap = %q, %v", admin, err)
	}
	s := &rampServer{t: t, url: "http://" + ln.Addr().String(), admin: admin, srv: srv, tokens: map[string]string{"admin": admin},
		ctrl: ctrl, clock: clock, traffic: tr}
	for _, env := range []string{"development", "production"} {
		s.api("POST", "/api/v1/environments", admin, fmt.Sprintf(`{"key":%q,"name":%q}`, env, strings.ToUpper(env[:1])+env[1:]), http.StatusCreated, nil)
	}
	for _, p := range []struct{ name, role string }{{"vera", "viewer"}, {"eddie", "editor"}, {"rita", "release-manager"}, {"max", "release-manager"}} {
		var created struct{ Secret string }
		s.api("POST", "/api/v1/tokens", admin, fmt.Sprintf(`{"name":%q,"role":%q}`, p.name, p.role), http.StatusCreated, &created)
		s.tokens[p.name] = created.Secret
	}
	var key struct{ Secret string }
	s.api("POST", "/api/v1/environments/production/sdk-keys", admin, `{"kind":"server"}`, http.StatusCreated, &key)
	s.sdkKey = key.Secret
	return s
}

// api calls the REST API and checks the status.
func (s *rampServer) api(method, path, token, body string, want int, out any, headers ...string) []byte {
	s.t.Helper()
	status, data := s.do(method, path, token, body, headers...)
	if status != want {
		s.t.Fatalf("%s %s = %d, want %d: %s", method, path, status, want, data)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			s.t.Fatalf("%s %s: decode %s: %v", method, path, data, err)
		}
	}
	return data
}

func (s *rampServer) do(method, path, token, body string, headers ...string) (int, []byte) {
	s.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, s.url+path, rd)
	if err != nil {
		s.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, data
}

// seed gives the dashboard something realistic to show: an AI configuration flag
// with a targeting rule and a split, a release toggle and two segments.
func (s *rampServer) seed() {
	s.t.Helper()
	for _, env := range []string{"development", "production"} {
		s.api("POST", "/api/v1/environments/"+env+"/segments", s.admin,
			`{"key":"staff","description":"Employees","rules":[{"conditions":[{"attribute":"email","op":"ends_with","value":"@acme.com"}]}]}`, http.StatusCreated, nil)
		s.api("POST", "/api/v1/environments/"+env+"/segments", s.admin,
			`{"key":"beta-testers","description":"Opted into betas, plus staff","included":["user-42","user-77"],"excluded":["user-13"],
			  "rules":[{"conditions":[{"op":"in_segment","segment":"staff"}]},{"conditions":[{"attribute":"plan","op":"equals","value":"enterprise"},{"attribute":"beta_opt_in","op":"equals","value":true}]}]}`,
			http.StatusCreated, nil)
	}
	s.api("POST", "/api/v1/flags", s.admin, `{
	  "key": "summarizer-config", "type": "json", "description": "Model and prompt used by the summarizer",
	  "enabled": true,
	  "variants": {
	    "baseline":  {"model": "gpt-small", "prompt_version": "v3", "temperature": 0.2, "max_tokens": 512,
	                  "system_prompt": "You summarise support conversations in three short bullet points, neutral tone, no personal data."},
	    "candidate": {"model": "gpt-large", "prompt_version": "v4", "temperature": 0.1, "max_tokens": 1024, "tools": ["search", "citations"]}
	  },
	  "off_variant": "baseline",
	  "bucket_by": "account_id",
	  "rules": [
	    {"id": "beta", "description": "Beta testers try the candidate", "conditions": [{"op": "in_segment", "segment": "beta-testers"}], "serve": {"variant": "candidate"}},
	    {"id": "eu", "conditions": [{"attribute": "country", "op": "in", "values": ["DE", "FR", "NL"]}, {"attribute": "app_version", "op": "semver_gt", "value": "4.2.0"}],
	     "serve": {"split": [{"variant": "candidate", "weight": 25000}, {"variant": "baseline", "weight": 75000}]}}
	  ],
	  "default": {"variant": "baseline"},
	  "metadata": {"owner": "ai-platform", "cost_per_call": 0.004},
	  "tags": ["ai", "summarizer"]
	}`, http.StatusCreated, nil)
	s.api("POST", "/api/v1/flags", s.admin, `{
	  "key": "checkout-redesign", "type": "bool", "description": "The new one-page checkout",
	  "variants": {"on": true, "off": false}, "off_variant": "off",
	  "rules": [{"id": "staff", "conditions": [{"op": "in_segment", "segment": "staff"}], "serve": {"variant": "on"}}],
	  "default": {"split": [{"variant": "on", "weight": 10000}, {"variant": "off", "weight": 90000}]},
	  "client_side": true, "tags": ["web"]
	}`, http.StatusCreated, nil)
	s.api("POST", "/api/v1/flags", s.admin, `{
	  "key": "reply-tone", "type": "string", "description": "Tone of suggested replies",
	  "variants": {"formal": "formal", "friendly": "friendly"}, "enabled": true, "default": {"variant": "friendly"}
	}`, http.StatusCreated, nil)
}

// ofrep evaluates a flag through OFREP with the production server key, for a unit
// that is also its own account.
func (s *rampServer) ofrep(key, unit string) (variant, reason string) {
	s.t.Helper()
	var res struct {
		Variant string `json:"variant"`
		Reason  string `json:"reason"`
	}
	s.api("POST", "/ofrep/v1/evaluate/flags/"+key, s.sdkKey, fmt.Sprintf(`{"context":{"targetingKey":%q,"account_id":%q}}`, unit, unit), http.StatusOK, &res)
	return res.Variant, res.Reason
}

// tick moves the controller's clock on and lets it decide once.
func (s *rampServer) tick(d time.Duration) {
	s.t.Helper()
	s.clock.Advance(d)
	if err := s.ctrl.Tick(context.Background()); err != nil {
		s.t.Fatalf("controller tick: %v", err)
	}
}
