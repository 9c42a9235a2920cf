package notify_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/ramp-release/ramp/internal/notify"
	"github.com/ramp-release/ramp/internal/notify/slack"
)

var t0 = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

// clock is a controllable time source.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// sleeper records the waits asked for and returns at once.
type sleeper struct {
	mu    sync.Mutex
	waits []time.Duration
}

func (s *sleeper) Sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.waits = append(s.waits, d)
	s.mu.Unlock()
	return ctx.Err()
}

func (s *sleeper) Waits() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.waits)
}

// recorder is a channel that remembers what it was sent and answers with
// the errors it is given, in order, then nil.
type recorder struct {
	mu     sync.Mutex
	events []notify.Event
	errs   []error
}

func (r *recorder) Notify(_ context.Context, e notify.Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
	if len(r.errs) > 0 {
		err := r.errs[0]
		r.errs = r.errs[1:]
		return err
	}
	return nil
}

func (r *recorder) Kinds() []notify.Kind {
	r.mu.Lock()
	defer r.mu.Unlock()
	var ks []notify.Kind
	for _, e := range r.events {
		ks = append(ks, e.Kind)
	}
	return ks
}

// testOptions are quick, deterministic defaults: instant retries, a fixed
// jitter, a fake clock.
func testOptions(channels map[string]notify.Notifier, routes ...notify.Route) (notify.Options, *clock, *sleeper) {
	c, s := &clock{now: t0}, &sleeper{}
	return notify.Options{
		Channels:    channels,
		Routes:      routes,
		MaxAttempts: 4,
		Backoff:     notify.Backoff{Initial: time.Second, Max: 10 * time.Second},
		Now:         c.Now,
		Sleep:       s.Sleep,
		Random:      func() float64 { return 0.5 },
	}, c, s
}

func start(t *testing.T, opts notify.Options) *notify.Dispatcher {
	t.Helper()
	d, err := notify.NewDispatcher(opts)
	if err != nil {
		t.Fatalf("NewDispatcher: %v", err)
	}
	t.Cleanup(func() { d.Close(context.Background()) })
	return d
}

func closeNow(t *testing.T, d *notify.Dispatcher) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := d.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

func ev(k notify.Kind, env string) notify.Event {
	return notify.Event{Kind: k, Environment: env, Flag: "smart-reply", RolloutID: "ro_1"}
}

func TestEventsGoToTheChannelsTheirRoutesName(t *testing.T) {
	routes := []notify.Route{
		{Environment: "production", Kinds: []notify.Kind{notify.RolledBack, notify.Paused, notify.RollbackResolved}, Channel: "pager"},
		{Environment: "*", Channel: "slack"},
		{Environment: "production", Kinds: []notify.Kind{notify.RolledBack}, Channel: "slack"},
		{Environment: "staging", Kinds: []notify.Kind{notify.ApprovalRequested}, Channel: "mail"},
	}
	tests := []struct {
		name  string
		event notify.Event
		want  map[string][]notify.Kind
	}{
		{"a production rollback pages and posts once to Slack", ev(notify.RolledBack, "production"),
			map[string][]notify.Kind{"pager": {notify.RolledBack}, "slack": {notify.RolledBack}}},
		{"a staging rollback only posts to Slack", ev(notify.RolledBack, "staging"),
			map[string][]notify.Kind{"slack": {notify.RolledBack}}},
		{"a production stage advance only posts to Slack", ev(notify.StageAdvanced, "production"),
			map[string][]notify.Kind{"slack": {notify.StageAdvanced}}},
		{"a staging approval request is mailed and posted", ev(notify.ApprovalRequested, "staging"),
			map[string][]notify.Kind{"slack": {notify.ApprovalRequested}, "mail": {notify.ApprovalRequested}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			chans := map[string]*recorder{"pager": {}, "slack": {}, "mail": {}}
			notifiers := map[string]notify.Notifier{}
			for name, r := range chans {
				notifiers[name] = r
			}
			opts, _, _ := testOptions(notifiers, routes...)
			d := start(t, opts)
			if err := d.Dispatch(tt.event); err != nil {
				t.Fatalf("Dispatch: %v", err)
			}
			closeNow(t, d)
			got := map[string][]notify.Kind{}
			for name, r := range chans {
				if ks := r.Kinds(); len(ks) > 0 {
					got[name] = ks
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("deliveries (-want +got):\n%s", diff)
			}
		})
	}
}

// gate is a channel whose deliveries wait until the test opens it.
type gate struct {
	started chan notify.Event
	open    chan struct{}
}

func newGate() *gate { return &gate{started: make(chan notify.Event, 100), open: make(chan struct{})} }

func (g *gate) Notify(ctx context.Context, e notify.Event) error {
	g.started <- e
	select {
	case <-g.open:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func TestDispatchNeverWaitsForASlowChannel(t *testing.T) {
	slow, fast := newGate(), &recorder{}
	opts, _, _ := testOptions(map[string]notify.Notifier{"slow": slow, "fast": fast}, notify.Route{Environment: "*", Channel: "slow"},
		notify.Route{Environment: "*", Kinds: []notify.Kind{notify.RolledBack}, Channel: "fast"})
	opts.QueueSize = 2
	d := start(t, opts)

	if err := d.Dispatch(ev(notify.Paused, "production")); err != nil {
		t.Fatal(err)
	}
	<-slow.started // the slow channel is now busy with the first event

	returned := make(chan []error)
	go func() {
		var errs []error
		for _, k := range []notify.Kind{notify.Resumed, notify.Paused, notify.RolledBack, notify.RollbackResolved} {
			errs = append(errs, d.Dispatch(ev(k, "production")))
		}
		returned <- errs
	}()
	var errs []error
	select {
	case errs = <-returned:
	case <-time.After(5 * time.Second):
		t.Fatal("Dispatch blocked behind a slow channel")
	}
	// Two fit the slow channel's queue; the other two were dropped there,
	// and only there: the fast channel still got the rollback.
	want := []string{"<nil>", "<nil>", "notify: queue full: channel slow", "notify: queue full: channel slow"}
	if diff := cmp.Diff(want, errorTexts(errs)); diff != "" {
		t.Errorf("Dispatch errors (-want +got):\n%s", diff)
	}
	close(slow.open)
	closeNow(t, d)

	if diff := cmp.Diff([]notify.Kind{notify.RolledBack}, fast.Kinds()); diff != "" {
		t.Errorf("the fast channel's deliveries (-want +got):\n%s", diff)
	}
	var dropped []notify.Kind
	for _, r := range d.Failures() {
		if r.Status == notify.StatusDropped && r.Channel == "slow" {
			dropped = append(dropped, r.Kind)
		}
	}
	if diff := cmp.Diff([]notify.Kind{notify.RolledBack, notify.RollbackResolved}, dropped); diff != "" {
		t.Errorf("dropped deliveries (-want +got):\n%s", diff)
	}
}

func errorTexts(errs []error) []string {
	var s []string
	for _, err := range errs {
		s = append(s, fmt.Sprint(err))
	}
	return s
}

func TestFailedDeliveriesAreRetriedWithExponentialBackoff(t *testing.T) {
	// A real receiver that fails three times, then accepts.
	var (
		mu    sync.Mutex
		calls int
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		calls++
		if calls <= 3 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ok"))
	}))
	defer srv.Close()
	sl, err := slack.New(slack.Config{URL: notify.NewSecretURL(srv.URL + "/services/x")})
	if err != nil {
		t.Fatal(err)
	}
	opts, _, sleeps := testOptions(map[string]notify.Notifier{"slack": sl}, notify.Route{Environment: "*", Channel: "slack"})
	opts.MaxAttempts = 5
	d := start(t, opts)
	if err := d.Dispatch(ev(notify.RolledBack, "production")); err != nil {
		t.Fatal(err)
	}
	closeNow(t, d)

	recs := d.Deliveries()
	if len(recs) != 1 || recs[0].Status != notify.StatusDelivered || recs[0].Attempts != 4 {
		t.Fatalf("records = %+v, want one delivered after 4 attempts", recs)
	}
	// Steps 1s, 2s, 4s; with jitter 0.5 each wait is 3/4 of its step.
	want := []time.Duration{750 * time.Millisecond, 1500 * time.Millisecond, 3 * time.Second}
	if diff := cmp.Diff(want, sleeps.Waits()); diff != "" {
		t.Errorf("waits (-want +got):\n%s", diff)
	}
}

func TestRetryPolicyFollowsTheReceiversAnswer(t *testing.T) {
	tests := []struct {
		name     string
		errs     []error
		status   notify.DeliveryStatus
		attempts int
		waits    []time.Duration
	}{
		{"a 400 is not retried",
			[]error{&notify.StatusError{StatusCode: 400}}, notify.StatusFailed, 1, nil},
		{"a 404 is not retried",
			[]error{&notify.StatusError{StatusCode: 404}}, notify.StatusFailed, 1, nil},
		{"a 429 is retried after the wait it asks for",
			[]error{&notify.StatusError{StatusCode: 429, Wait: 5 * time.Second}}, notify.StatusDelivered, 2, []time.Duration{5 * time.Second}},
		{"a Retry-After beyond the maximum backoff is capped",
			[]error{&notify.StatusError{StatusCode: 429, Wait: time.Hour}}, notify.StatusDelivered, 2, []time.Duration{10 * time.Second}},
		{"a network error is retried",
			[]error{errors.New("connection refused")}, notify.StatusDelivered, 2, []time.Duration{750 * time.Millisecond}},
		{"a receiver that keeps failing is given up after the maximum attempts",
			[]error{&notify.StatusError{StatusCode: 502}, &notify.StatusError{StatusCode: 502}, &notify.StatusError{StatusCode: 502}, &notify.StatusError{StatusCode: 502}},
			notify.StatusFailed, 4, []time.Duration{750 * time.Millisecond, 1500 * time.Millisecond, 3 * time.Second}},
		{"a kind the integration does not send is skipped",
			[]error{notify.ErrSkipped}, notify.StatusSkipped, 1, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &recorder{errs: tt.errs}
			opts, _, sleeps := testOptions(map[string]notify.Notifier{"ch": r}, notify.Route{Environment: "*", Channel: "ch"})
			d := start(t, opts)
			if err := d.Dispatch(ev(notify.RolledBack, "production")); err != nil {
				t.Fatal(err)
			}
			closeNow(t, d)
			recs := d.Deliveries()
			if len(recs) != 1 || recs[0].Status != tt.status || recs[0].Attempts != tt.attempts {
				t.Fatalf("records = %+v, want one %s after %d attempts", recs, tt.status, tt.attempts)
			}
			if diff := cmp.Diff(tt.waits, sleeps.Waits()); diff != "" {
				t.Errorf("waits (-want +got):\n%s", diff)
			}
			if failed := tt.status == notify.StatusFailed; failed != (len(d.Failures()) == 1) {
				t.Errorf("Failures() = %+v", d.Failures())
			}
		})
	}
}

func TestFailuresAreRecordedLoggedAndReported(t *testing.T) {
	var logs bytes.Buffer
	reported := make(chan notify.DeliveryRecord, 10)
	r := &recorder{errs: []error{&notify.StatusError{StatusCode: 410, Body: "channel_is_archived"}}}
	opts, _, _ := testOptions(map[string]notify.Notifier{"ops": r}, notify.Route{Environment: "*", Channel: "ops"})
	opts.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	opts.OnResult = func(rec notify.DeliveryRecord) { reported <- rec }
	d := start(t, opts)
	e := ev(notify.RolledBack, "production")
	e.Time = t0.Add(-time.Minute)
	if err := d.Dispatch(e); err != nil {
		t.Fatal(err)
	}
	closeNow(t, d)

	want := notify.DeliveryRecord{
		Channel: "ops", EventID: e.ID(), Kind: notify.RolledBack, Environment: "production", Flag: "smart-reply",
		RolloutID: "ro_1", Status: notify.StatusFailed, Attempts: 1,
		LastError: "receiver answered 410 Gone: channel_is_archived", QueuedAt: t0, DoneAt: t0,
	}
	if diff := cmp.Diff([]notify.DeliveryRecord{want}, d.Failures()); diff != "" {
		t.Errorf("Failures (-want +got):\n%s", diff)
	}
	select {
	case got := <-reported:
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("OnResult (-want +got):\n%s", diff)
		}
	default:
		t.Error("OnResult was not called before Close returned")
	}
	if !strings.Contains(logs.String(), `level=ERROR msg="notification failed" channel=ops kind=rolled_back`) {
		t.Errorf("the failure was not logged:\n%s", logs.String())
	}
}

func TestTheSameOccurrenceIsDeliveredOncePerWindow(t *testing.T) {
	r := &recorder{}
	opts, clk, _ := testOptions(map[string]notify.Notifier{"ops": r}, notify.Route{Environment: "*", Channel: "ops"})
	opts.DedupWindow = 10 * time.Minute
	reported := make(chan notify.DeliveryRecord, 10)
	opts.OnResult = func(rec notify.DeliveryRecord) { reported <- rec }
	d := start(t, opts)
	e := ev(notify.RolledBack, "production")
	e.DedupKey = "audit-17"
	next := func() notify.DeliveryStatus {
		t.Helper()
		select {
		case rec := <-reported:
			return rec.Status
		case <-time.After(5 * time.Second):
			t.Fatal("no delivery record")
			return ""
		}
	}

	d.Dispatch(e)
	if got := next(); got != notify.StatusDelivered {
		t.Fatalf("first emission: %s", got)
	}
	clk.Advance(9 * time.Minute)
	d.Dispatch(e) // a new leader re-emits the decision
	if got := next(); got != notify.StatusSuppressed {
		t.Errorf("re-emission within the window: %s, want suppressed", got)
	}
	other := e
	other.DedupKey = "audit-18"
	d.Dispatch(other)
	if got := next(); got != notify.StatusDelivered {
		t.Errorf("a new decision: %s, want delivered", got)
	}
	clk.Advance(2 * time.Minute)
	d.Dispatch(e)
	if got := next(); got != notify.StatusDelivered {
		t.Errorf("re-emission after the window: %s, want delivered", got)
	}
	if got := len(r.Kinds()); got != 3 {
		t.Errorf("the channel received %d events, want 3", got)
	}
}

func TestAFailedOccurrenceIsNotSuppressed(t *testing.T) {
	r := &recorder{errs: []error{&notify.StatusError{StatusCode: 400}}}
	opts, _, _ := testOptions(map[string]notify.Notifier{"ops": r}, notify.Route{Environment: "*", Channel: "ops"})
	reported := make(chan notify.DeliveryRecord, 10)
	opts.OnResult = func(rec notify.DeliveryRecord) { reported <- rec }
	d := start(t, opts)
	e := ev(notify.RolledBack, "production")
	e.DedupKey = "audit-17"
	for _, want := range []notify.DeliveryStatus{notify.StatusFailed, notify.StatusDelivered} {
		d.Dispatch(e)
		if rec := <-reported; rec.Status != want {
			t.Errorf("status %s, want %s", rec.Status, want)
		}
	}
}

func TestTheCallersEvidenceMapIsCopied(t *testing.T) {
	g := newGate()
	opts, _, _ := testOptions(map[string]notify.Notifier{"ops": g}, notify.Route{Environment: "*", Channel: "ops"})
	d := start(t, opts)
	e := ev(notify.RolledBack, "production")
	e.Evidence = map[string]string{"error_rate": "+14%"}
	d.Dispatch(e)
	e.Evidence["error_rate"] = "changed"
	got := <-g.started
	close(g.open)
	if got.Evidence["error_rate"] != "+14%" {
		t.Errorf("the channel saw evidence %v", got.Evidence)
	}
	if !got.Time.Equal(t0) {
		t.Errorf("a zero event time was not set to now: %v", got.Time)
	}
}

func TestDeliveriesKeepOnlyTheMostRecent(t *testing.T) {
	r := &recorder{}
	opts, _, _ := testOptions(map[string]notify.Notifier{"ops": r}, notify.Route{Environment: "*", Channel: "ops"})
	opts.History = 3
	d := start(t, opts)
	for _, k := range notify.Kinds() {
		d.Dispatch(ev(k, "production"))
	}
	closeNow(t, d)
	var got []notify.Kind
	for _, rec := range d.Deliveries() {
		got = append(got, rec.Kind)
	}
	if diff := cmp.Diff([]notify.Kind{notify.RolledBack, notify.Completed, notify.RollbackResolved}, got); diff != "" {
		t.Errorf("Deliveries (-want +got):\n%s", diff)
	}
}

func TestCloseDeliversWhatIsQueued(t *testing.T) {
	r := &recorder{}
	opts, _, _ := testOptions(map[string]notify.Notifier{"ops": r}, notify.Route{Environment: "*", Channel: "ops"})
	d := start(t, opts)
	for _, k := range notify.Kinds() {
		if err := d.Dispatch(ev(k, "production")); err != nil {
			t.Fatal(err)
		}
	}
	closeNow(t, d)
	if diff := cmp.Diff(notify.Kinds(), r.Kinds()); diff != "" {
		t.Errorf("delivered, in order (-want +got):\n%s", diff)
	}
	if err := d.Dispatch(ev(notify.Paused, "production")); !errors.Is(err, notify.ErrClosed) {
		t.Errorf("Dispatch after Close = %v, want ErrClosed", err)
	}
}

func TestCloseGivesUpAtItsDeadline(t *testing.T) {
	g := newGate() // never opened: the receiver hangs
	opts, _, _ := testOptions(map[string]notify.Notifier{"ops": g}, notify.Route{Environment: "*", Channel: "ops"})
	d := start(t, opts)
	d.Dispatch(ev(notify.RolledBack, "production"))
	d.Dispatch(ev(notify.RollbackResolved, "production"))
	<-g.started

	ctx, cancel := context.WithCancel(context.Background())
	cancel() // the deadline has passed
	if err := d.Close(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Close = %v, want the context's error", err)
	}
	got := d.Deliveries()
	want := []notify.DeliveryRecord{
		{Channel: "ops", Kind: notify.RolledBack, Status: notify.StatusFailed, Attempts: 1, LastError: "context canceled"},
		{Channel: "ops", Kind: notify.RollbackResolved, Status: notify.StatusDropped, LastError: "dispatcher closed before delivery"},
	}
	opt := cmpopts.IgnoreFields(notify.DeliveryRecord{}, "EventID", "Environment", "Flag", "RolloutID", "QueuedAt", "DoneAt")
	if diff := cmp.Diff(want, got, opt); diff != "" {
		t.Errorf("Deliveries (-want +got):\n%s", diff)
	}
}

func TestCloseLeavesNoGoroutineBehind(t *testing.T) {
	before := runtime.NumGoroutine()
	chans := map[string]notify.Notifier{"a": &recorder{}, "b": &recorder{errs: []error{errors.New("flaky")}}, "c": newGate()}
	opts, _, _ := testOptions(chans, notify.Route{Environment: "*", Channel: "a"}, notify.Route{Environment: "*", Channel: "b"},
		notify.Route{Environment: "production", Channel: "c"})
	opts.OnResult = func(notify.DeliveryRecord) {}
	d, err := notify.NewDispatcher(opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range notify.Kinds() {
		d.Dispatch(ev(k, "production"))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	d.Close(ctx) // channel c hangs until the deadline

	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("%d goroutines before, %d after Close:\n%s", before, runtime.NumGoroutine(), buf[:runtime.Stack(buf, true)])
		}
		runtime.Gosched()
	}
}

func TestDispatchRefusesAnUnknownKind(t *testing.T) {
	opts, _, _ := testOptions(map[string]notify.Notifier{"ops": &recorder{}}, notify.Route{Environment: "*", Channel: "ops"})
	d := start(t, opts)
	err := d.Dispatch(notify.Event{Kind: "exploded", Environment: "production"})
	if err == nil || !strings.Contains(err.Error(), `"exploded" is not one of approval_requested, stage_advanced`) {
		t.Errorf("Dispatch = %v", err)
	}
}

func TestRoutesAreChecked(t *testing.T) {
	chans := map[string]notify.Notifier{"ops": &recorder{}, "pager": &recorder{}}
	_, err := notify.NewDispatcher(notify.Options{Channels: chans, Routes: []notify.Route{
		{Environment: "*", Channel: "ops"},
		{Channel: "ops"},
		{Environment: "production", Kinds: []notify.Kind{notify.RolledBack, "rollback"}, Channel: "pagr"},
	}})
	want := []string{
		`routes[1].environment: required; name an environment or use "*" for all`,
		`routes[2].kinds[1]: "rollback" is not an event kind; use one of approval_requested, stage_advanced, paused, resumed, rolled_back, completed, rollback_resolved`,
		`routes[2].channel: "pagr" is not a configured channel; configure it or fix the name (channels: ops, pager)`,
	}
	if err == nil {
		t.Fatal("NewDispatcher accepted bad routes")
	}
	if diff := cmp.Diff(want, strings.Split(err.Error(), "\n")); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
}

func TestBackoffDoublesUpToItsMaximumWithJitter(t *testing.T) {
	b := notify.Backoff{Initial: time.Second, Max: 8 * time.Second}
	tests := []struct {
		name     string
		failures int
		random   float64
		want     time.Duration
	}{
		{"the first wait is at least half the initial step", 1, 0, 500 * time.Millisecond},
		{"the first wait is below the initial step", 1, 0.999, 999500 * time.Microsecond},
		{"the third wait doubles twice", 3, 0.5, 3 * time.Second},
		{"a late wait stays under the maximum", 10, 0.5, 6 * time.Second},
		{"a very late wait does not overflow", 200, 0, 4 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := b.Delay(tt.failures, tt.random); got != tt.want {
				t.Errorf("Delay(%d, %v) = %v, want %v", tt.failures, tt.random, got, tt.want)
			}
		})
	}
}

func TestAPanickingChannelFailsItsDeliveryOnly(t *testing.T) {
	boom := notify.NotifierFunc(func(context.Context, notify.Event) error { panic("nil map in payload") })
	ok := &recorder{}
	opts, _, _ := testOptions(map[string]notify.Notifier{"boom": boom, "ok": ok},
		notify.Route{Environment: "*", Channel: "boom"}, notify.Route{Environment: "*", Channel: "ok"})
	d := start(t, opts)
	d.Dispatch(ev(notify.RolledBack, "production"))
	closeNow(t, d)
	f := d.Failures()
	if len(f) != 1 || f[0].Channel != "boom" || f[0].Attempts != 1 || f[0].LastError != "notifier panicked: nil map in payload" {
		t.Errorf("Failures() = %+v", f)
	}
	if len(ok.Kinds()) != 1 {
		t.Error("the other channel was not delivered")
	}
}
