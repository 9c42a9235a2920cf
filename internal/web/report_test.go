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
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ramp-release/ramp/internal/controller"
	"github.com/ramp-release/ramp/internal/ingest"
	"github.com/ramp-release/ramp/internal/report"
	"github.com/ramp-release/ramp/internal/rollout"
	"github.com/ramp-release/ramp/internal/server"
	"github.com/ramp-release/ramp/internal/store"
	"github.com/ramp-release/ramp/internal/store/sqlite"
	"github.com/ramp-release/ramp/internal/web"
)

// historyAnalysis is the controller's analysis for the report pages: every metric
// measured with a small, steady difference (error_rate crossed once told), and
// one point of history recorded per tick, as ingest.Source records it.
type historyAnalysis struct {
	st      store.Store
	clock   *controller.ManualClock
	mu      sync.Mutex
	crossed bool
	units   float64
}

func (h *historyAnalysis) Analysis(ctx context.Context, r store.Rollout) (*rollout.Analysis, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if r.State.Status != rollout.Running && r.State.Status != rollout.Paused {
		return nil, nil
	}
	now := h.clock.Now().UTC()
	n := now.Sub(r.State.EvidenceStart).Minutes() * 100
	f := func(x float64) *float64 { return &x }
	errStatus, errDiff := "clear", 0.001
	if h.crossed {
		errStatus, errDiff = "crossed", 0.03
	}
	pt := ingest.Point{At: now, Stage: r.State.Stage, AsOf: now, UnitsTreatment: n / 2, UnitsControl: n / 2, Metrics: []ingest.PointMetric{
		{Name: "error_rate", Metric: "error_rate", Role: ingest.RoleGuardrail, Status: errStatus, Treatment: f(0.02 + errDiff), Control: f(0.02), Diff: f(errDiff), Lower: f(errDiff - 0.01), Upper: f(errDiff + 0.01), NT: n / 2, NC: n / 2},
		{Name: "conversion", Metric: "conversion", Role: ingest.RoleGate, Status: "clear", Treatment: f(0.13), Control: f(0.12), Diff: f(0.01), Lower: f(0.002), Upper: f(0.018), NT: n / 2, NC: n / 2},
	}}
	data, err := json.Marshal(pt)
	if err != nil {
		return nil, err
	}
	if err := h.st.AppendAnalysisPoint(ctx, store.AnalysisPoint{RolloutID: r.ID, At: now, Stage: r.State.Stage, Data: data}); err != nil {
		return nil, err
	}
	v := rollout.Clear
	if h.crossed {
		v = rollout.Crossed
	}
	return &rollout.Analysis{AsOf: now, Stage: r.State.Stage, EvidenceStart: r.State.EvidenceStart, UnitsTreatment: int64(n / 2), UnitsControl: int64(n / 2),
		Guardrails: []rollout.MetricResult{{Metric: "error_rate", Verdict: v, Summary: fmt.Sprintf("%+.2f pp", errDiff*100)}},
		Gates:      []rollout.MetricResult{{Metric: "conversion", Verdict: rollout.Clear}}}, nil
}

// adoptionAggregate stands in for the event aggregator: no analysis snapshot, and
// an adoption aggregate for the usage metric "conversion" (the plan's first success
// metric, which the report uses unless told otherwise).
type adoptionAggregate struct{}

func (adoptionAggregate) Snapshot(context.Context, store.Rollout) (ingest.Snapshot, bool) {
	return ingest.Snapshot{}, false
}

func (adoptionAggregate) Status() ingest.Status { return ingest.Status{} }

func (adoptionAggregate) Adoption(_ context.Context, id, metric string) (report.Adoption, bool, error) {
	if metric != "conversion" {
		return report.Adoption{}, false, nil
	}
	return report.Adoption{Metric: metric, AsOf: time.Now().UTC(),
		Treatment: report.AdoptionCounts{Exposed: 5000, Used: 3100, Day1Eligible: 4000, Day1: 1500, Day7Eligible: 1000, Day7: 260},
		Control:   report.AdoptionCounts{Exposed: 5000, Used: 2900, Day1Eligible: 4000, Day1: 1400, Day7Eligible: 1000, Day7: 250}}, true, nil
}

// startReportServer is the whole server over SQLite with a rollout that went to
// 100 % and was rolled back on error_rate, its history recorded tick by tick.
func startReportServer(t *testing.T) (*rampServer, string) {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "ramp.db"))
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	clock := controller.NewManualClock(time.Now().UTC().Add(-12 * time.Hour).Truncate(time.Second))
	h := &historyAnalysis{st: st, clock: clock}
	dash := web.New(web.Config{Version: "test", Log: log})
	var srv *server.Server
	ctrl := controller.New(st, controller.Options{Clock: clock, Analysis: h, Log: log,
		Publish: func(ctx context.Context, env string) error { return srv.Publish(ctx, env) }})
	srv = server.New(st, log, server.Config{Heartbeat: time.Hour, Extra: dash.Mount, Rollouts: ctrl, Analysis: adoptionAggregate{}})
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
	if err != nil {
		t.Fatal(err)
	}
	s := &rampServer{t: t, url: "http://" + ln.Addr().String(), admin: admin, srv: srv, tokens: map[string]string{"admin": admin}, ctrl: ctrl, clock: clock}
	s.api("POST", "/api/v1/environments", admin, `{"key":"production","name":"Production"}`, http.StatusCreated, nil)
	var viewer struct{ Secret string }
	s.api("POST", "/api/v1/tokens", admin, `{"name":"vera","role":"viewer"}`, http.StatusCreated, &viewer)
	s.tokens["vera"] = viewer.Secret
	s.api("POST", "/api/v1/flags", admin, `{"key":"smart-reply","type":"bool","variants":{"on":true,"off":false},"off_variant":"off","enabled":true,"default":{"variant":"off"}}`, http.StatusCreated, nil)

	hour := rollout.Duration(time.Hour)
	p := rollout.Plan{Name: "smart-reply", Template: "ai-standard", Flag: "smart-reply", Environment: "production", Treatment: "on", Control: "off",
		HoldoutPercent: 5, AdvanceOn: rollout.OnTime, Tick: rollout.Duration(5 * time.Minute), StaleAfter: rollout.Duration(15 * time.Minute),
		Stages:     []rollout.Stage{{Name: "ring-10", Percent: 10, MinDuration: hour}, {Name: "ring-100", Percent: 100, MinDuration: 2 * hour}},
		Guardrails: []rollout.Guardrail{{Metric: "error_rate", Kind: rollout.Proportion, Direction: rollout.Increase, Tolerance: rollout.Amount{Relative: 0.1}}},
		Gates:      []rollout.Gate{{Metric: "conversion", Direction: rollout.Increase, Margin: rollout.Amount{Absolute: 0.01}}}}
	if err := p.Validate(rollout.ValidateOptions{}); err != nil {
		t.Fatal(err)
	}
	ro, err := st.CreateRollout(ctx, store.Rollout{Plan: p, Flag: p.Flag, Environment: p.Environment, RequestedBy: "rita",
		State: rollout.State{Status: rollout.Draft, Since: clock.Now(), Reason: "created"}}, store.Change{Actor: "rita"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ctrl.Start(ctx, ro.ID, controller.Actor{Name: "rita", Role: store.RoleReleaseManager}, "ship it"); err != nil {
		t.Fatal(err)
	}
	for range 20 { // 1h40m: ring-10 for an hour, then ring-100
		s.tick(5 * time.Minute)
	}
	h.mu.Lock()
	h.crossed = true
	h.mu.Unlock()
	s.tick(5 * time.Minute)
	if got, _ := st.GetRollout(ctx, ro.ID); got.State.Status != rollout.RolledBack {
		t.Fatalf("the rollout is %s at stage %d (%s); want rolled back", got.State.Status, got.State.Stage, got.State.Reason)
	}
	return s, ro.ID
}

func TestReportPages(t *testing.T) {
	s, id := startReportServer(t)
	c := signInAs(t, s, "vera")

	status, page := c.get("/rollouts/" + id + "/report")
	if status != http.StatusOK {
		t.Fatalf("report page: %d\n%s", status, page)
	}
	for _, want := range []string{"Exposure and percentage over time", "Velocity", "Issue detection", "guardrail error_rate", "Business impact", "conversion",
		`data-report-chart="guardrail:error_rate"`, `data-report-chart="gate:conversion"`, "ring-100", "rollback",
		"62.0% [60.6%, 63.3%] · 3 100 of 5 000", "difference &#43;4.0 pp [&#43;2.1 pp, &#43;5.9 pp]"} {
		if !strings.Contains(page, want) {
			t.Errorf("the report page lacks %q:\n%s", want, excerpt(page, "report-adoption"))
		}
	}

	status, body := c.get("/rollouts/" + id + "/report/charts")
	var charts struct {
		Exposure struct {
			T       []float64  `json:"t"`
			Percent []*float64 `json:"percent"`
		} `json:"exposure"`
		Marks []struct {
			Kind string `json:"kind"`
		} `json:"marks"`
		Metrics []struct {
			Key  string     `json:"key"`
			Unit string     `json:"unit"`
			Diff []*float64 `json:"diff"`
		} `json:"metrics"`
	}
	if status != http.StatusOK || json.Unmarshal([]byte(body), &charts) != nil {
		t.Fatalf("charts: %d %s", status, body)
	}
	if len(charts.Exposure.T) < 20 || len(charts.Marks) != 3 || len(charts.Metrics) != 2 || charts.Metrics[0].Unit != "pp" {
		t.Errorf("charts: %d exposure points, marks %+v, metrics %d", len(charts.Exposure.T), charts.Marks, len(charts.Metrics))
	}
	pcts := map[float64]bool{}
	for _, p := range charts.Exposure.Percent {
		pcts[*p] = true
	}
	if !pcts[10] || !pcts[100] || !pcts[0] {
		t.Errorf("treated percentages over time: %v; want 10, 100 and 0 after the rollback", pcts)
	}

	status, md := c.get("/rollouts/" + id + "/report.md")
	if status != http.StatusOK || !strings.HasPrefix(md, "# Rollout report: `smart-reply` in production") {
		t.Errorf("Markdown download: %d\n%s", status, md)
	}

	status, page = c.get("/reports")
	if status != http.StatusOK || !strings.Contains(page, "Rollout reports") || !strings.Contains(page, `href="/rollouts/`+id+`/report"`) || !strings.Contains(page, "ai-standard") {
		t.Errorf("portfolio page: %d\n%s", status, excerpt(page, "Rollout reports"))
	}
	if status, _ := c.get("/rollouts/ro_missing/report"); status != http.StatusNotFound {
		t.Errorf("the report of an unknown rollout: %d, want 404", status)
	}
}

// TestReportPagesInBrowser draws the report's charts in headless Chromium and checks
// both pages on a laptop and a phone.
func TestReportPagesInBrowser(t *testing.T) {
	s, id := startReportServer(t)
	b := newBrowser(t, s.url)
	b.signIn(s.admin)
	for _, vp := range []viewport{laptop, phone} {
		b.setViewport(vp)
		b.open("/rollouts/" + id + "/report")
		b.waitFor("the charts", `document.querySelectorAll("[data-report-chart] canvas").length === 3`)
		b.check("report", "[data-testid=report-facts]", "[data-report-chart=exposure] canvas", "[data-testid=report-detection]", "[data-testid=report-impact]", "[data-testid=report-adoption] dl")
		b.open("/reports")
		b.check("portfolio", "[data-testid=portfolio-rollouts]")
	}
	if errs := b.consoleErrors(); len(errs) > 0 {
		t.Errorf("console errors:\n%s", strings.Join(errs, "\n"))
	}
}
