package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ramp-release/ramp/internal/controller"
	"github.com/ramp-release/ramp/internal/notify"
	"github.com/ramp-release/ramp/internal/notify/webhook"
	"github.com/ramp-release/ramp/internal/rollout"
	"github.com/ramp-release/ramp/internal/server"
	"github.com/ramp-release/ramp/internal/store"
	"github.com/ramp-release/ramp/internal/store/sqlite"
)

// rolloutEnv is a real server over SQLite with the rollout controller driven by a
// manual clock and made-up analysis results, and real notification receivers.
type rolloutEnv struct {
	*env
	st       *sqlite.Store
	clock    *controller.ManualClock
	ctrl     *controller.Controller
	analysis *cannedAnalysis
	notes    *controller.Notifications
	tokens   map[string]string // name → secret
}

// cannedAnalysis returns fresh results for the rollout's current evidence period:
// every guardrail clear and plenty of units, unless a metric is set otherwise.
type cannedAnalysis struct {
	clock *controller.ManualClock
	mu    sync.Mutex
	over  map[string]rollout.Verdict
}

func (a *cannedAnalysis) set(metric string, v rollout.Verdict) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.over[metric] = v
}

func (a *cannedAnalysis) Analysis(_ context.Context, r store.Rollout) (*rollout.Analysis, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := &rollout.Analysis{AsOf: a.clock.Now(), Stage: r.State.Stage, EvidenceStart: r.State.EvidenceStart, UnitsTreatment: 5000, UnitsControl: 5000}
	for _, g := range r.Plan.Guardrails {
		v, ok := a.over[g.Metric]
		if !ok {
			v = rollout.Clear
		}
		summary := "-0.1 pp [-0.4, +0.2]"
		if v == rollout.Crossed {
			summary = "+1.9 pp [+1.1, +2.7]"
		}
		out.Guardrails = append(out.Guardrails, rollout.MetricResult{Metric: g.Metric, Verdict: v, Summary: summary})
	}
	return out, nil
}

// start is Monday 2 March 2026, 09:00 UTC.
var start = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

func newRolloutEnv(t *testing.T) *rolloutEnv {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "ramp.db"))
	if err != nil {
		t.Fatal(err)
	}
	notes, err := controller.NewNotifications(ctx, st, controller.NotificationOptions{
		Dispatcher: notify.Options{Sleep: func(context.Context, time.Duration) error { return nil }},
	})
	if err != nil {
		t.Fatal(err)
	}
	clock := controller.NewManualClock(start)
	analysis := &cannedAnalysis{clock: clock, over: map[string]rollout.Verdict{}}
	var srv *server.Server
	ctrl := controller.New(st, controller.Options{Clock: clock, Analysis: analysis, Notifier: notes,
		Publish: func(ctx context.Context, env string) error { return srv.Publish(ctx, env) }})
	srv = server.New(st, nil, server.Config{Heartbeat: time.Hour, Rollouts: ctrl, Notifications: notes})
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		srv.Close()
		hs.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		notes.Close(ctx)
		st.Close()
	})
	token, err := srv.Bootstrap(ctx)
	if err != nil {
		t.Fatal(err)
	}
	e := &rolloutEnv{env: &env{t: t, url: hs.URL, admin: token, srv: srv}, st: st, clock: clock, ctrl: ctrl, analysis: analysis,
		notes: notes, tokens: map[string]string{}}
	e.mustDo("POST", "/api/v1/environments", token, `{"key":"production"}`, http.StatusCreated, nil)
	var key struct{ Secret string }
	e.mustDo("POST", "/api/v1/environments/production/sdk-keys", token, `{"kind":"server"}`, http.StatusCreated, &key)
	e.sdkKey = key.Secret
	for name, role := range map[string]string{"rita": "release-manager", "bob": "release-manager", "eddie": "editor"} {
		var tok struct{ Secret string }
		e.mustDo("POST", "/api/v1/tokens", token, fmt.Sprintf(`{"name":%q,"role":%q}`, name, role), http.StatusCreated, &tok)
		e.tokens[name] = tok.Secret
	}
	e.mustDo("POST", "/api/v1/environments/production/segments", token, `{"key":"internal","included":["ana"]}`, http.StatusCreated, nil)
	e.mustDo("POST", "/api/v1/environments/production/segments", token, `{"key":"beta","included":["ben"]}`, http.StatusCreated, nil)
	e.mustDo("POST", "/api/v1/flags", token, `{"key":"smart-reply","type":"bool","enabled":true,"variants":{"on":true,"off":false},
		"off_variant":"off","rules":[{"id":"qa","conditions":[{"attribute":"key","op":"equals","value":"qa-user"}],"serve":{"variant":"on"}}],
		"default":{"variant":"off"}}`, http.StatusCreated, nil)
	return e
}

// tick moves the clock to at and runs one pass of the controller's loop.
func (e *rolloutEnv) tick(at string) {
	e.t.Helper()
	ts, err := time.Parse("15:04", at)
	if err != nil {
		e.t.Fatal(err)
	}
	e.clock.Set(start.Add(time.Duration(ts.Hour()-9)*time.Hour + time.Duration(ts.Minute())*time.Minute))
	if err := e.ctrl.Tick(context.Background()); err != nil {
		e.t.Fatalf("tick at %s: %v", at, err)
	}
}

type rolloutJSON struct {
	ID          string `json:"id"`
	RequestedBy string `json:"requested_by"`
	StageName   string `json:"stage_name"`
	State       struct {
		Status string `json:"status"`
		Stage  int    `json:"stage"`
		Reason string `json:"reason"`
	} `json:"state"`
	Waiting []string `json:"waiting"`
	Next    *struct {
		Action string   `json:"action"`
		Holds  []string `json:"holds"`
		Reason string   `json:"reason"`
	} `json:"next"`
	Decisions []struct {
		Kind, Actor, Reason string
	} `json:"decisions"`
}

func (e *rolloutEnv) rollout(id string) rolloutJSON {
	e.t.Helper()
	var r rolloutJSON
	e.mustDo("GET", "/api/v1/rollouts/"+id, e.admin, "", http.StatusOK, &r)
	return r
}

// evaluate returns what OFREP serves unit.
func (e *rolloutEnv) evaluate(unit string) (value bool, variant string) {
	e.t.Helper()
	var out struct {
		Value   bool   `json:"value"`
		Variant string `json:"variant"`
	}
	e.mustDo("POST", "/ofrep/v1/evaluate/flags/smart-reply", e.sdkKey, fmt.Sprintf(`{"context":{"targetingKey":%q}}`, unit), http.StatusOK, &out)
	return out.Value, out.Variant
}

// receiver is a local notification endpoint that keeps what it receives.
type receiver struct {
	*httptest.Server
	mu     sync.Mutex
	bodies [][]byte
	errs   []error
}

func newReceiver(t *testing.T, check func(r *http.Request, body []byte) error) *receiver {
	rc := &receiver{}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		defer rc.mu.Unlock()
		if check != nil {
			if err := check(r, body); err != nil {
				rc.errs = append(rc.errs, err)
				http.Error(w, err.Error(), http.StatusUnauthorized)
				return
			}
		}
		rc.bodies = append(rc.bodies, body)
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) received() [][]byte {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return slices.Clone(rc.bodies)
}

// webhookKinds lists the event kinds of the Standard Webhooks payloads received.
func (rc *receiver) webhookKinds(t *testing.T) []string {
	var out []string
	for _, b := range rc.received() {
		var p webhook.Payload
		if err := json.Unmarshal(b, &p); err != nil {
			t.Fatal(err)
		}
		out = append(out, strings.TrimPrefix(p.Type, "rollout.")+" "+p.Data.Stage)
	}
	return out
}

// slackTexts lists the texts of the Slack messages received.
func (rc *receiver) slackTexts() []string {
	var out []string
	for _, b := range rc.received() {
		var m struct{ Text string }
		json.Unmarshal(b, &m)
		out = append(out, m.Text)
	}
	return out
}

// waitUntil polls cond for up to 10 s.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond) // poll interval
	}
}

const smartReplyPlan = `{
  "name": "smart-reply-production",
  "description": "internal alpha, opted-in beta, then rings; the launch freeze holds it",
  "flag": "smart-reply", "environment": "production", "treatment": "on", "control": "off",
  "time_zone": "UTC",
  "stages": [
    {"name": "alpha", "segments": ["internal"], "segment_percent": 100, "min_duration": "1h"},
    {"name": "beta", "segments": ["beta"], "segment_percent": 100, "min_duration": "1h"},
    {"name": "ring-5", "percent": 5, "min_duration": "1h", "min_units_per_arm": 1000, "require_approval": true},
    {"name": "ring-25", "percent": 25, "min_duration": "1h", "min_units_per_arm": 1000},
    {"name": "ring-100", "percent": 100, "min_duration": "1h"}
  ],
  "guardrails": [
    {"metric": "error_rate", "kind": "proportion", "direction": "increase", "tolerance": {"relative": 0.1}, "action": "rollback"},
    {"metric": "thumbs_up_rate", "kind": "proportion", "direction": "decrease", "tolerance": {"absolute": 0.02}, "action": "pause"}
  ],
  "blackouts": [{"name": "launch-freeze", "from": "2026-03-02T12:00:00Z", "to": "2026-03-02T14:00:00Z"}]
}`

// TestAPlanGoesAlphaBetaRingsAndRollsBack is the end-to-end bar of issue 5: a real
// server and store, the controller under a manual clock with injected analysis, real
// Slack-style and Standard Webhooks receivers. The plan moves alpha → beta, asks for
// an approval (four eyes enforced), is held by a blackout, enters the rings and rolls
// back when a guardrail is crossed; every step is in the audit log and in the
// notifications, and OFREP serves control afterwards.
func TestAPlanGoesAlphaBetaRingsAndRollsBack(t *testing.T) {
	e := newRolloutEnv(t)
	admin, rita, bob, eddie := e.admin, e.tokens["rita"], e.tokens["bob"], e.tokens["eddie"]

	// Channels: Slack for what needs people, a signed webhook for everything.
	slackRcv := newReceiver(t, nil)
	const signing = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	hookRcv := newReceiver(t, func(r *http.Request, body []byte) error {
		return webhook.Verify(signing, r.Header, body, time.Now(), 0)
	})
	e.mustDo("POST", "/api/v1/environments/production/notification-channels", admin,
		`{"name":"release-room","type":"slack","url":"`+slackRcv.URL+`/services/T0/B0/secret-path","kinds":["approval_requested","paused","rolled_back"]}`,
		http.StatusCreated, nil)
	var hook map[string]any
	e.mustDo("POST", "/api/v1/environments/production/notification-channels", admin,
		`{"name":"audit-hook","type":"webhook","url":"`+hookRcv.URL+`","signing_secret":"`+signing+`"}`, http.StatusCreated, &hook)
	if hook["signing_secret"] != "REDACTED" {
		t.Errorf("the channel as returned shows its secret: %v", hook["signing_secret"])
	}
	_, _, body := e.do("GET", "/api/v1/environments/production/notification-channels", admin, "")
	if strings.Contains(string(body), "secret-path") || strings.Contains(string(body), signing) {
		t.Errorf("listing channels leaks a secret: %s", body)
	}

	// rita saves the plan and creates the rollout: she is its requester.
	e.mustDo("POST", "/api/v1/plans", rita, smartReplyPlan, http.StatusCreated, nil)
	var ro rolloutJSON
	e.mustDo("POST", "/api/v1/rollouts", rita, `{"plan":"smart-reply-production"}`, http.StatusCreated, &ro)
	id := ro.ID
	if ro.RequestedBy != "rita" || ro.State.Status != "draft" {
		t.Fatalf("created %+v", ro)
	}
	e.mustDo("POST", "/api/v1/rollouts", rita, `{"plan":"smart-reply-production"}`, http.StatusConflict, nil)
	if status, _, body := e.do("POST", "/api/v1/rollouts/"+id+"/start", eddie, ""); status != http.StatusForbidden || !strings.Contains(string(body), "release-manager") {
		t.Fatalf("an editor starting: %d %s", status, body)
	}
	e.mustDo("POST", "/api/v1/rollouts/"+id+"/start", rita, `{"reason":"ship smart replies to insiders"}`, http.StatusOK, &ro)
	if ro.State.Status != "running" || ro.StageName != "alpha" {
		t.Fatalf("after start: %+v", ro.State)
	}
	if v, _ := e.evaluate("ana"); !v {
		t.Error("ana (internal) is not served the treatment in alpha")
	}
	if v, _ := e.evaluate("someone"); v {
		t.Error("someone outside alpha is served the treatment")
	}
	if v, _ := e.evaluate("qa-user"); !v {
		t.Error("the user's own QA rule stopped working under the managed block")
	}

	e.tick("09:30")
	if r := e.rollout(id); r.Next == nil || !slices.Contains(r.Next.Holds, "time") || !slices.Contains(r.Waiting, "time") {
		t.Fatalf("at 09:30 the rollout should wait for time: %+v", r)
	}
	e.tick("10:01") // alpha's hour passed: beta
	if r := e.rollout(id); r.StageName != "beta" {
		t.Fatalf("at 10:01: stage %s (%s)", r.StageName, r.State.Reason)
	}
	if v, _ := e.evaluate("ben"); !v {
		t.Error("ben (beta) is not served the treatment in beta")
	}
	e.tick("11:02") // beta's hour passed: ring-5 needs an approval
	r := e.rollout(id)
	if r.StageName != "beta" || !slices.Equal(r.Waiting, []string{"approval"}) {
		t.Fatalf("at 11:02: stage %s waiting for %v; want beta waiting for approval", r.StageName, r.Waiting)
	}

	t.Run("four eyes: the requester and an editor cannot approve", func(t *testing.T) {
		status, _, body := e.do("POST", "/api/v1/rollouts/"+id+"/approve", rita, "")
		if status != http.StatusForbidden || !strings.Contains(string(body), "rita requested this rollout") {
			t.Errorf("rita approving her own rollout: %d %s", status, body)
		}
		status, _, body = e.do("POST", "/api/v1/rollouts/"+id+"/approve", eddie, "")
		if status != http.StatusForbidden || !strings.Contains(string(body), "release-manager") {
			t.Errorf("an editor approving: %d %s", status, body)
		}
	})

	// bob approves at noon, in the launch freeze: the blackout holds the rollout.
	e.clock.Set(start.Add(3 * time.Hour))
	var approved struct {
		Approval rollout.Approval
		Rollout  rolloutJSON
	}
	e.mustDo("POST", "/api/v1/rollouts/"+id+"/approve", bob, `{"reason":"beta feedback is good"}`, http.StatusOK, &approved)
	if approved.Approval.Approver != "bob" || approved.Approval.Requester != "rita" || approved.Rollout.StageName != "beta" ||
		!slices.Equal(approved.Rollout.Waiting, []string{"blackout"}) {
		t.Fatalf("after bob's approval in the freeze: %+v", approved)
	}
	if status, _, body := e.do("POST", "/api/v1/rollouts/"+id+"/advance", bob, ""); status != http.StatusConflict || !strings.Contains(string(body), "launch-freeze") {
		t.Errorf("a manual advance in the blackout: %d %s", status, body)
	}
	e.tick("13:00")
	e.tick("14:01") // the freeze is over: ring-5
	if r := e.rollout(id); r.StageName != "ring-5" {
		t.Fatalf("at 14:01: stage %s (%s)", r.StageName, r.State.Reason)
	}
	e.tick("15:02") // ring-5 clear for an hour: ring-25
	if r := e.rollout(id); r.StageName != "ring-25" {
		t.Fatalf("at 15:02: stage %s (%s)", r.StageName, r.State.Reason)
	}
	// A unit treated at ring-25, to check after the rollback.
	treated := ""
	for i := 0; i < 200 && treated == ""; i++ {
		if v, variant := e.evaluate(fmt.Sprintf("user-%d", i)); v && variant == "on" {
			treated = fmt.Sprintf("user-%d", i)
		}
	}
	if treated == "" {
		t.Fatal("no unit of 200 is treated at ring-25")
	}

	e.analysis.set("error_rate", rollout.Crossed)
	e.tick("15:30")
	r = e.rollout(id)
	if r.State.Status != "rolled_back" || !strings.Contains(r.State.Reason, "guardrail error_rate crossed") {
		t.Fatalf("after the error rate crossed: %s (%s)", r.State.Status, r.State.Reason)
	}
	if v, variant := e.evaluate(treated); v || variant != "off" {
		t.Errorf("%s is served %v (%s) after the rollback; want control", treated, v, variant)
	}
	if v, _ := e.evaluate("ana"); v {
		t.Error("ana is still treated after the rollback")
	}
	var doc struct {
		Flags map[string]struct {
			Rules []struct {
				Serve    struct{ Variant string }
				Metadata map[string]string
			}
		}
	}
	e.mustDo("GET", "/sdk/v1/flags", e.sdkKey, "", http.StatusOK, &doc)
	rules := doc.Flags["smart-reply"].Rules
	if last := rules[len(rules)-1]; last.Serve.Variant != "off" || last.Metadata["arm"] != "rolled_back" || last.Metadata["rollout_id"] != id {
		t.Errorf("the SDK document's managed block after the rollback: %+v", rules)
	}

	t.Run("every step is in the audit log", func(t *testing.T) {
		var audit struct {
			Items []struct {
				Seq                   int64
				Actor, Action, Reason string
			}
		}
		e.mustDo("GET", "/api/v1/audit?target=rollout:"+id, admin, "", http.StatusOK, &audit)
		var steps []string
		for i := len(audit.Items) - 1; i >= 0; i-- {
			a := audit.Items[i]
			steps = append(steps, a.Action+" by "+a.Actor)
		}
		want := []string{
			"rollout.create by rita",
			"rollout.start by rita",
			"rollout.hold by controller",    // 09:30 time
			"rollout.advance by controller", // 10:01 beta
			"rollout.hold by controller",    // 11:02 approval
			"rollout.approve by bob",
			"rollout.hold by controller",    // 12:00 blackout
			"rollout.advance by controller", // 14:01 ring-5
			"rollout.advance by controller", // 15:02 ring-25
			"rollout.rollback by controller",
		}
		if diff := cmp.Diff(want, steps); diff != "" {
			t.Errorf("audit trail of the rollout (-want +got):\n%s", diff)
		}
		reasons := ""
		for _, a := range audit.Items {
			reasons += a.Reason + "\n"
		}
		for _, wantText := range []string{"ship smart replies to insiders", `needs the approval of a release-manager other than the requester`,
			`blackout "launch-freeze" until 2026-03-02T14:00:00Z`, "beta feedback is good", "error_rate rose beyond its tolerance", "+1.9 pp"} {
			if !strings.Contains(reasons, wantText) {
				t.Errorf("no audit reason says %q:\n%s", wantText, reasons)
			}
		}
		var flagAudit struct {
			Items []struct{ Actor, Action, Reason string }
		}
		e.mustDo("GET", "/api/v1/audit?target=flag:smart-reply&action=flag.state.update", admin, "", http.StatusOK, &flagAudit)
		if len(flagAudit.Items) != 5 || flagAudit.Items[0].Actor != "controller" || !strings.Contains(flagAudit.Items[0].Reason, id) {
			t.Errorf("the flag's own trail: %+v; want 5 updates (start, beta, ring-5, ring-25, rollback), the last by the controller naming the rollout", flagAudit.Items)
		}
		var v server.VerifyResult
		e.mustDo("GET", "/api/v1/audit/verify", admin, "", http.StatusOK, &v)
		if !v.OK {
			t.Errorf("audit verify: %+v", v)
		}
	})

	t.Run("every step reached the receivers", func(t *testing.T) {
		wantHook := []string{"stage_advanced alpha", "stage_advanced beta", "approval_requested ring-5", "stage_advanced ring-5", "stage_advanced ring-25", "rolled_back ring-25"}
		waitUntil(t, "the webhook receiver to get "+fmt.Sprint(len(wantHook))+" events", func() bool { return len(hookRcv.received()) >= len(wantHook) })
		if diff := cmp.Diff(wantHook, hookRcv.webhookKinds(t)); diff != "" {
			t.Errorf("webhook events (-want +got):\n%s", diff)
		}
		waitUntil(t, "the Slack receiver to get 2 messages", func() bool { return len(slackRcv.received()) >= 2 })
		texts := slackRcv.slackTexts()
		if len(texts) != 2 || !strings.Contains(texts[0], "Approval requested") || !strings.Contains(texts[1], "Rolled back") {
			t.Errorf("Slack messages: %q", texts)
		}
		if len(hookRcv.errs) > 0 {
			t.Errorf("webhook signatures did not verify: %v", hookRcv.errs)
		}
		var deliveries struct {
			Items []struct{ Channel, Kind, Status string }
		}
		waitUntil(t, "8 delivery records", func() bool {
			e.mustDo("GET", "/api/v1/notification-deliveries?rollout="+id, admin, "", http.StatusOK, &deliveries)
			return len(deliveries.Items) >= 8
		})
		for _, d := range deliveries.Items {
			if d.Status != "delivered" {
				t.Errorf("delivery %+v", d)
			}
		}
	})
}

func TestRolloutAPIValidatesAndExplains(t *testing.T) {
	e := newRolloutEnv(t)
	admin := e.admin
	t.Run("templates list the built-ins and saved plans", func(t *testing.T) {
		e.mustDo("POST", "/api/v1/plans", admin, `{"name":"house-style","template":"ai-standard","description":"ours"}`, http.StatusCreated, nil)
		var l struct {
			Items []struct{ Name, Source string }
		}
		e.mustDo("GET", "/api/v1/templates", admin, "", http.StatusOK, &l)
		var names []string
		for _, it := range l.Items {
			names = append(names, it.Name+"/"+it.Source)
		}
		want := []string{"ai-standard/built-in", "regulated/built-in", "ecommerce/built-in", "progressive-24h/built-in", "house-style/saved"}
		if diff := cmp.Diff(want, names); diff != "" {
			t.Errorf("templates (-want +got):\n%s", diff)
		}
	})
	t.Run("a rollout from a template with overrides", func(t *testing.T) {
		var ro struct {
			ID   string
			Plan rollout.Plan
		}
		e.mustDo("POST", "/api/v1/rollouts", admin, `{"template":"house-style","overrides":{"flag":"smart-reply","environment":"production","treatment":"on","control":"off"}}`,
			http.StatusCreated, &ro)
		if len(ro.Plan.Stages) != 8 || ro.Plan.Stages[0].Name != "alpha" {
			t.Errorf("plan from the template: %d stages", len(ro.Plan.Stages))
		}
		e.mustDo("POST", "/api/v1/rollouts/"+ro.ID+"/rollback", admin, "", http.StatusUnprocessableEntity, nil)
		e.mustDo("POST", "/api/v1/rollouts/"+ro.ID+"/rollback", admin, `{"reason":"wrong plan"}`, http.StatusOK, nil)
	})
	tests := []struct {
		name, body string
		status     int
		want       []string
	}{
		{"an invalid plan names each field", `{"name":"bad","flag":"smart-reply","environment":"production","treatment":"on","control":"on",
			"stages":[{"name":"alpha","percent":120},{"name":"beta","segments":["nobody"]}]}`, http.StatusUnprocessableEntity,
			[]string{`plans[\"bad\"].control`, `plans[\"bad\"].stages[0].percent`, `plans[\"bad\"].stages[1].segments[0]`, `unknown segment \"nobody\"`}},
		{"a plan for a missing flag", `{"name":"ghost","flag":"ghost","environment":"production","treatment":"on","control":"off","stages":[{"name":"all","percent":100}]}`,
			http.StatusUnprocessableEntity, []string{`plans[\"ghost\"].flag`, `unknown flag \"ghost\"`}},
		{"an unknown template", `{"name":"x","template":"nope"}`, http.StatusNotFound, []string{"ai-standard"}},
		{"an unknown field", `{"name":"x","stagez":[]}`, http.StatusBadRequest, []string{"stagez"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, _, body := e.do("POST", "/api/v1/plans", admin, tt.body)
			if status != tt.status {
				t.Fatalf("status %d %s; want %d", status, body, tt.status)
			}
			for _, w := range tt.want {
				if !strings.Contains(string(body), w) {
					t.Errorf("%s lacks %s", body, w)
				}
			}
		})
	}
	t.Run("the managed block survives a user's edit of the flag's rules", func(t *testing.T) {
		var ro struct{ ID string }
		e.mustDo("POST", "/api/v1/rollouts", admin, `{"overrides":{"flag":"smart-reply","environment":"production","treatment":"on","control":"off",
			"stages":[{"name":"half","percent":50},{"name":"all","percent":100}]}}`, http.StatusCreated, &ro)
		e.mustDo("POST", "/api/v1/rollouts/"+ro.ID+"/start", admin, "", http.StatusOK, nil)
		var f struct {
			Version int64
			Rules   []struct{ ID string }
		}
		e.mustDo("GET", "/api/v1/environments/production/flags/smart-reply", admin, "", http.StatusOK, &f)
		e.mustDo("PUT", "/api/v1/environments/production/flags/smart-reply", admin, `{"enabled":true,"off_variant":"off","default":{"variant":"off"},"rules":[]}`,
			http.StatusOK, &f, "If-Match", fmt.Sprintf(`"%d"`, f.Version))
		if len(f.Rules) == 0 || !strings.HasPrefix(f.Rules[0].ID, "rollout.") {
			t.Errorf("rules after the user's edit: %+v; want the managed block kept", f.Rules)
		}
		status, _, body := e.do("DELETE", "/api/v1/flags/smart-reply", admin, "")
		if status != http.StatusConflict || !strings.Contains(string(body), ro.ID) {
			t.Errorf("deleting a flag under rollout: %d %s", status, body)
		}
		t.Run("editing the treatment's value needs a release manager and restarts the evidence", func(t *testing.T) {
			var eddieView struct{ Version int64 }
			e.mustDo("GET", "/api/v1/flags/smart-reply", admin, "", http.StatusOK, &eddieView)
			def := `{"type":"bool","variants":{"on":false,"off":false}}`
			ifMatch := fmt.Sprintf(`"%d"`, eddieView.Version)
			status, _, body := e.do("PUT", "/api/v1/flags/smart-reply", e.tokens["eddie"], def, "If-Match", ifMatch)
			if status != http.StatusForbidden || !strings.Contains(string(body), ro.ID) {
				t.Fatalf("an editor changing the treatment: %d %s", status, body)
			}
			var out struct {
				RestartedRollouts []string `json:"restarted_rollouts"`
			}
			e.mustDo("PUT", "/api/v1/flags/smart-reply", e.tokens["rita"], def, http.StatusOK, &out, "If-Match", ifMatch)
			if !slices.Equal(out.RestartedRollouts, []string{ro.ID}) {
				t.Errorf("restarted rollouts %v; want [%s]", out.RestartedRollouts, ro.ID)
			}
			r := e.rollout(ro.ID)
			if len(r.Decisions) == 0 || r.Decisions[len(r.Decisions)-1].Kind != "restart_evidence" || r.Decisions[len(r.Decisions)-1].Actor != "rita" {
				t.Errorf("last decision %+v; want rita's restart_evidence", r.Decisions)
			}
		})
	})
	t.Run("without a controller, rollouts are read-only", func(t *testing.T) {
		plain := newEnv(t)
		status, _, body := plain.do("POST", "/api/v1/rollouts/ro_x/start", plain.admin, "")
		if status != http.StatusServiceUnavailable || !strings.Contains(string(body), "controller") {
			t.Errorf("start without a controller: %d %s", status, body)
		}
	})
}
