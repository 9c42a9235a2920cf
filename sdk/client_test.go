package sdk_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ramp-release/ramp/flags"
	"github.com/ramp-release/ramp/internal/store"
	"github.com/ramp-release/ramp/sdk"
	"github.com/ramp-release/ramp/sdk/internal/ramptest"
)

// wait bounds every condition a test waits for.
const wait = 10 * time.Second

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// recorder collects what a client reports through its callbacks.
type recorder struct {
	mu       sync.Mutex
	statuses []sdk.Status
	changes  [][]string
	errs     []error
}

func (r *recorder) statusList() []sdk.Status {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.statuses)
}

func (r *recorder) changeList() [][]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.changes)
}

func (r *recorder) errList() []error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.errs)
}

// newClient connects a client to s with timings fit for tests; edit adjusts the
// configuration. The client is closed when the test ends.
func newClient(t *testing.T, s *ramptest.Server, edit func(*sdk.Config)) (*sdk.Client, *recorder) {
	t.Helper()
	rec := &recorder{}
	cfg := sdk.Config{
		URL: s.URL, SDKKey: s.SDKKey, Logger: quiet,
		ReconnectMin: 10 * time.Millisecond, ReconnectMax: 100 * time.Millisecond,
		PollInterval: 200 * time.Millisecond, RequestTimeout: 2 * time.Second,
		FlushInterval: 50 * time.Millisecond, ErrorGrace: 5 * time.Second,
		OnStatus: func(st sdk.Status, _ error) {
			rec.mu.Lock()
			rec.statuses = append(rec.statuses, st)
			rec.mu.Unlock()
		},
		OnChange: func(keys []string) {
			rec.mu.Lock()
			rec.changes = append(rec.changes, keys)
			rec.mu.Unlock()
		},
		OnError: func(err error) {
			rec.mu.Lock()
			rec.errs = append(rec.errs, err)
			rec.mu.Unlock()
		},
	}
	if edit != nil {
		edit(&cfg)
	}
	c, err := sdk.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		_ = c.Close(ctx)
	})
	return c, rec
}

func waitReady(t *testing.T, c *sdk.Client) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := c.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
}

func waitStatus(t *testing.T, c *sdk.Client, want sdk.Status) {
	t.Helper()
	ramptest.Eventually(t, wait, "status "+want.String(), func() bool { return c.Status() == want })
}

// standardFlags creates one flag of every type, plus the cases of the caller's default.
func standardFlags(s *ramptest.Server) {
	s.CreateFlag(flags.Flag{Key: "bool-flag", Type: flags.TypeBool, Enabled: true,
		Variants: map[string]any{"on": true, "off": false},
		Rules: []flags.Rule{{ID: "eu", Conditions: []flags.Condition{{Attribute: "country", Op: flags.OpIn, Values: []any{"DE", "FR"}}},
			Serve: flags.Allocation{Variant: "on"}}},
		Default: &flags.Allocation{Variant: "off"}})
	s.CreateFlag(flags.Flag{Key: "string-flag", Type: flags.TypeString, Enabled: true,
		Variants: map[string]any{"greeting": "hi", "parting": "bye"}, Default: &flags.Allocation{Variant: "greeting"},
		Metadata: map[string]any{"owner": "growth", "tier": 2}})
	s.CreateFlag(flags.Flag{Key: "int-flag", Type: flags.TypeInt, Enabled: true,
		Variants: map[string]any{"one": 1, "ten": 10}, Default: &flags.Allocation{Variant: "ten"}})
	s.CreateFlag(flags.Flag{Key: "float-flag", Type: flags.TypeFloat, Enabled: true,
		Variants: map[string]any{"tenth": 0.1, "half": 0.5}, Default: &flags.Allocation{Variant: "half"}})
	s.CreateFlag(flags.Flag{Key: "json-flag", Type: flags.TypeJSON, Enabled: true,
		Variants: map[string]any{"small": map[string]any{"model": "small-v1"}, "large": map[string]any{"model": "large-v2"}},
		Default:  &flags.Allocation{Variant: "large"}})
	s.CreateFlag(flags.Flag{Key: "disabled-flag", Type: flags.TypeBool, Enabled: false,
		Variants: map[string]any{"on": true, "off": false}, Default: &flags.Allocation{Variant: "on"}})
	s.CreateFlag(flags.Flag{Key: "disabled-off-flag", Type: flags.TypeString, Enabled: false, OffVariant: "off",
		Variants: map[string]any{"on": "new", "off": "old"}, Default: &flags.Allocation{Variant: "on"}})
	s.CreateFlag(flags.Flag{Key: "no-default-flag", Type: flags.TypeString, Enabled: true,
		Variants: map[string]any{"a": "x"}})
	s.CreateFlag(flags.Flag{Key: "split-flag", Type: flags.TypeBool, Enabled: true,
		Variants: map[string]any{"on": true, "off": false},
		Default:  &flags.Allocation{Split: []flags.WeightedVariant{{Variant: "on", Weight: 50_000}, {Variant: "off", Weight: 50_000}}}})
}

func TestEvaluationAgainstARealServer(t *testing.T) {
	s := ramptest.Start(t)
	standardFlags(s)
	c, _ := newClient(t, s, nil)
	waitReady(t, c)
	if c.Status() != sdk.StatusReady || c.Environment() != ramptest.Env || c.Revision() == 0 {
		t.Fatalf("status %v, environment %q, revision %d", c.Status(), c.Environment(), c.Revision())
	}
	de := flags.Context{Key: "user-1", Attributes: map[string]any{"country": "DE"}}
	us := flags.Context{Key: "user-2", Attributes: map[string]any{"country": "US"}}

	type row struct {
		Value     any
		Variant   string
		Reason    string
		ErrorCode sdk.ErrorCode
		RuleIndex int
		Metadata  map[string]any
	}
	of := func(value any, d sdk.Detail[any]) row {
		return row{value, d.Variant, d.Reason.String(), d.ErrorCode, d.RuleIndex, d.Metadata}
	}
	asAny := func(d any) sdk.Detail[any] {
		switch x := d.(type) {
		case sdk.Detail[bool]:
			return sdk.Detail[any]{Variant: x.Variant, Reason: x.Reason, ErrorCode: x.ErrorCode, RuleIndex: x.RuleIndex, Metadata: x.Metadata}
		case sdk.Detail[string]:
			return sdk.Detail[any]{Variant: x.Variant, Reason: x.Reason, ErrorCode: x.ErrorCode, RuleIndex: x.RuleIndex, Metadata: x.Metadata}
		case sdk.Detail[int64]:
			return sdk.Detail[any]{Variant: x.Variant, Reason: x.Reason, ErrorCode: x.ErrorCode, RuleIndex: x.RuleIndex, Metadata: x.Metadata}
		case sdk.Detail[float64]:
			return sdk.Detail[any]{Variant: x.Variant, Reason: x.Reason, ErrorCode: x.ErrorCode, RuleIndex: x.RuleIndex, Metadata: x.Metadata}
		}
		return d.(sdk.Detail[any])
	}
	tests := []struct {
		name string
		got  func() row
		want row
	}{
		{"a rule matches", func() row { d := c.BoolDetail("bool-flag", de, false); return of(d.Value, asAny(d)) },
			row{true, "on", "TARGETING_MATCH", "", 0, nil}},
		{"no rule matches", func() row { d := c.BoolDetail("bool-flag", us, true); return of(d.Value, asAny(d)) },
			row{false, "off", "DEFAULT", "", -1, nil}},
		{"a string flag is static and carries only its own metadata", func() row { d := c.StringDetail("string-flag", us, "x"); return of(d.Value, asAny(d)) },
			row{"hi", "greeting", "STATIC", "", -1, map[string]any{"owner": "growth", "tier": int64(2)}}},
		{"an int flag", func() row { d := c.IntDetail("int-flag", us, 3); return of(d.Value, asAny(d)) },
			row{int64(10), "ten", "STATIC", "", -1, nil}},
		{"a float flag", func() row { d := c.FloatDetail("float-flag", us, 3); return of(d.Value, asAny(d)) },
			row{0.5, "half", "STATIC", "", -1, nil}},
		{"a json flag", func() row { d := c.JSONDetail("json-flag", us, nil); return of(d.Value, d) },
			row{map[string]any{"model": "large-v2"}, "large", "STATIC", "", -1, nil}},
		{"a missing flag gives the default", func() row { d := c.BoolDetail("nope", us, true); return of(d.Value, asAny(d)) },
			row{true, "", "ERROR", sdk.CodeFlagNotFound, -1, nil}},
		{"a bool asked of a string flag is a type mismatch", func() row { d := c.BoolDetail("string-flag", us, true); return of(d.Value, asAny(d)) },
			row{true, "", "ERROR", sdk.CodeTypeMismatch, -1, map[string]any{"owner": "growth", "tier": int64(2)}}},
		{"a float asked of an int flag is a type mismatch", func() row { d := c.FloatDetail("int-flag", us, 2.5); return of(d.Value, asAny(d)) },
			row{2.5, "", "ERROR", sdk.CodeTypeMismatch, -1, nil}},
		{"json asked of a bool flag is a type mismatch", func() row { d := c.JSONDetail("bool-flag", us, "dflt"); return of(d.Value, d) },
			row{"dflt", "", "ERROR", sdk.CodeTypeMismatch, -1, nil}},
		{"a disabled flag without off variant gives the default", func() row { d := c.BoolDetail("disabled-flag", us, true); return of(d.Value, asAny(d)) },
			row{true, "", "DISABLED", "", -1, nil}},
		{"a disabled flag serves its off variant", func() row { d := c.StringDetail("disabled-off-flag", us, "dflt"); return of(d.Value, asAny(d)) },
			row{"old", "off", "DISABLED", "", -1, nil}},
		{"no default allocation gives the default", func() row { d := c.StringDetail("no-default-flag", us, "dflt"); return of(d.Value, asAny(d)) },
			row{"dflt", "", "DEFAULT", "", -1, nil}},
		{"a split without a unit key is an error", func() row {
			d := c.BoolDetail("split-flag", flags.Context{}, true)
			return of(d.Value, asAny(d))
		}, row{true, "", "ERROR", sdk.CodeTargetingKeyMissing, -1, nil}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, tt.got()); diff != "" {
				t.Errorf("(-want +got)\n%s", diff)
			}
		})
	}
	if c.Bool("bool-flag", de, false) != true || c.String("string-flag", us, "") != "hi" || c.Int("int-flag", us, 0) != 10 ||
		c.Float("float-flag", us, 0) != 0.5 || c.JSON("json-flag", us, nil) == nil {
		t.Error("the short forms disagree with the details")
	}
}

func TestEvaluationBeforeTheFirstSnapshotServesDefaults(t *testing.T) {
	s := ramptest.Start(t)
	s.Kill()
	c, _ := newClient(t, s, nil)
	d := c.BoolDetail("bool-flag", flags.Context{Key: "u"}, true)
	if d.Value != true || d.ErrorCode != sdk.CodeProviderNotReady {
		t.Fatalf("got %+v", d)
	}
}

func TestAChangeReachesTheClientWithItsKeys(t *testing.T) {
	s := ramptest.Start(t)
	standardFlags(s)
	c, rec := newClient(t, s, nil)
	waitReady(t, c)
	rev := c.Revision()
	s.SetDefault("string-flag", "parting")
	ramptest.Eventually(t, wait, "the change arrives", func() bool { return c.String("string-flag", flags.Context{}, "") == "bye" })
	if c.Revision() <= rev {
		t.Errorf("revision %d, was %d", c.Revision(), rev)
	}
	ramptest.Eventually(t, wait, "OnChange names the flag", func() bool {
		ch := rec.changeList()
		return len(ch) > 0 && slices.Equal(ch[len(ch)-1], []string{"string-flag"})
	})
	// A segment change is a change of the flags that test it.
	s.Admin("POST", "/api/v1/environments/"+ramptest.Env+"/segments", "", flags.Segment{Key: "beta", Included: []string{"u1"}}, http.StatusCreated, nil)
	s.CreateFlag(flags.Flag{Key: "beta-flag", Type: flags.TypeBool, Enabled: true, Variants: map[string]any{"on": true, "off": false},
		Rules:   []flags.Rule{{Conditions: []flags.Condition{{Op: flags.OpInSegment, Segment: "beta"}}, Serve: flags.Allocation{Variant: "on"}}},
		Default: &flags.Allocation{Variant: "off"}})
	ramptest.Eventually(t, wait, "the new flag arrives", func() bool { return c.Bool("beta-flag", flags.Context{Key: "u1"}, false) })
	var seg struct{ Version int64 }
	h := s.Admin("GET", "/api/v1/environments/"+ramptest.Env+"/segments/beta", "", nil, http.StatusOK, &seg)
	s.Admin("PUT", "/api/v1/environments/"+ramptest.Env+"/segments/beta", h.Get("ETag"), flags.Segment{Included: []string{"u2"}}, http.StatusOK, nil)
	ramptest.Eventually(t, wait, "the segment change arrives", func() bool { return c.Bool("beta-flag", flags.Context{Key: "u2"}, false) })
	ch := rec.changeList()
	if got := ch[len(ch)-1]; !slices.Equal(got, []string{"beta-flag"}) {
		t.Errorf("changed keys %v, want [beta-flag]", got)
	}
}

func TestServerKilledKeepsServingThenCatchesUp(t *testing.T) {
	s := ramptest.Start(t)
	standardFlags(s)
	c, rec := newClient(t, s, nil)
	waitReady(t, c)
	s.Kill()
	waitStatus(t, c, sdk.StatusStale)
	if got := c.String("string-flag", flags.Context{}, "dflt"); got != "hi" {
		t.Fatalf("while the server is down: %q, want the last value hi", got)
	}
	// The flag changes while the client cannot hear about it.
	ctx := context.Background()
	f, err := s.Store.GetFlag(ctx, ramptest.Env, "string-flag")
	if err != nil {
		t.Fatal(err)
	}
	st := f.State
	st.Default = &flags.Allocation{Variant: "parting"}
	if _, err := s.Store.UpdateFlagState(ctx, ramptest.Env, "string-flag", st, f.State.Version, store.Change{Actor: "test"}); err != nil {
		t.Fatal(err)
	}
	s.Restart()
	waitStatus(t, c, sdk.StatusReady)
	ramptest.Eventually(t, wait, "the client catches up", func() bool { return c.String("string-flag", flags.Context{}, "") == "bye" })
	// And follows the stream again.
	s.SetDefault("int-flag", "one")
	ramptest.Eventually(t, wait, "the stream works again", func() bool { return c.Int("int-flag", flags.Context{}, 0) == 1 })
	want := []sdk.Status{sdk.StatusReady, sdk.StatusStale, sdk.StatusReady}
	if got := rec.statusList(); !slices.Equal(got, want) {
		t.Errorf("statuses %v, want %v", got, want)
	}
}

func TestStaleTurnsToErrorAfterTheGracePeriod(t *testing.T) {
	s := ramptest.Start(t)
	standardFlags(s)
	c, rec := newClient(t, s, func(cfg *sdk.Config) { cfg.ErrorGrace = 150 * time.Millisecond })
	waitReady(t, c)
	s.Kill()
	waitStatus(t, c, sdk.StatusError)
	if got := c.Int("int-flag", flags.Context{}, 0); got != 10 {
		t.Errorf("in error: %d, want the last value 10", got)
	}
	s.Restart()
	waitStatus(t, c, sdk.StatusReady)
	want := []sdk.Status{sdk.StatusReady, sdk.StatusStale, sdk.StatusError, sdk.StatusReady}
	if got := rec.statusList(); !slices.Equal(got, want) {
		t.Errorf("statuses %v, want %v", got, want)
	}
}

func TestABrokenSnapshotIsNeverSwappedIn(t *testing.T) {
	for _, tt := range []struct {
		name  string
		fault ramptest.Fault
	}{
		{"malformed JSON", ramptest.BadJSON},
		{"a document cut in half", ramptest.Truncated},
		{"a set that does not validate", ramptest.InvalidSet},
		{"another environment's snapshot", ramptest.WrongEnvironment},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := ramptest.Start(t)
			standardFlags(s)
			c, rec := newClient(t, s, nil)
			waitReady(t, c)
			rev := c.Revision()
			s.SetFault(tt.fault)
			s.DropConnections()
			var serr *sdk.SnapshotError
			ramptest.Eventually(t, wait, "the broken snapshot is reported", func() bool { return errors.As(c.LastError(), &serr) })
			if c.Status() != sdk.StatusStale {
				t.Errorf("status %v, want STALE", c.Status())
			}
			if c.Revision() != rev || c.String("string-flag", flags.Context{}, "") != "hi" || c.Snapshot() == nil {
				t.Fatalf("the broken snapshot was swapped in: revision %d (was %d)", c.Revision(), rev)
			}
			if c.Stats().SnapshotsRejected == 0 || !slices.ContainsFunc(rec.errList(), func(e error) bool { return errors.As(e, &serr) }) {
				t.Error("the rejection was not reported to OnError and Stats")
			}
			s.SetFault(ramptest.NoFault)
			s.DropConnections()
			waitStatus(t, c, sdk.StatusReady)
		})
	}
}

func TestRevokedKeyIsFatalAndStopsRetrying(t *testing.T) {
	s := ramptest.Start(t)
	standardFlags(s)
	c, _ := newClient(t, s, nil)
	waitReady(t, c)
	s.RevokeKey()
	s.DropConnections()
	waitStatus(t, c, sdk.StatusFatal)
	if !errors.Is(c.LastError(), sdk.ErrKeyRejected) {
		t.Errorf("last error %v, want ErrKeyRejected", c.LastError())
	}
	if err := c.WaitReady(context.Background()); !errors.Is(err, sdk.ErrKeyRejected) {
		t.Errorf("WaitReady: %v", err)
	}
	if c.String("string-flag", flags.Context{}, "") != "hi" {
		t.Error("a fatal client stopped serving its last snapshot")
	}
	fetches := s.Fetches.Load()
	// Give a retrying client many backoff periods to show itself.
	deadline := time.Now().Add(300 * time.Millisecond)
	for time.Now().Before(deadline) {
		if s.Fetches.Load() != fetches {
			t.Fatal("the client kept fetching with a revoked key")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestUnknownKeyFailsWaitReadyAtOnce(t *testing.T) {
	s := ramptest.Start(t)
	c, _ := newClient(t, s, func(cfg *sdk.Config) { cfg.SDKKey = "ramp_srv_unknown" })
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := c.WaitReady(ctx); !errors.Is(err, sdk.ErrKeyRejected) {
		t.Fatalf("WaitReady: %v, want ErrKeyRejected", err)
	}
	if c.Status() != sdk.StatusFatal {
		t.Errorf("status %v", c.Status())
	}
}

func TestNotReadyTurnsToErrorWhenTheServerNeverAnswers(t *testing.T) {
	s := ramptest.Start(t)
	s.Kill()
	c, _ := newClient(t, s, func(cfg *sdk.Config) { cfg.ErrorGrace = 100 * time.Millisecond })
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := c.WaitReady(ctx); err == nil || ctx.Err() != nil {
		t.Fatalf("WaitReady: %v (context: %v), want the client's error", err, ctx.Err())
	}
	if c.Status() != sdk.StatusError {
		t.Errorf("status %v", c.Status())
	}
}

func TestCacheServesWhenTheServerIsDownAtStart(t *testing.T) {
	s := ramptest.Start(t)
	standardFlags(s)
	cache := filepath.Join(t.TempDir(), "cache", "flags.json")
	first, _ := newClient(t, s, func(cfg *sdk.Config) { cfg.CachePath = cache })
	waitReady(t, first)
	s.SetDefault("string-flag", "parting")
	ramptest.Eventually(t, wait, "the cache holds the latest snapshot", func() bool {
		data, err := os.ReadFile(cache)
		return err == nil && first.String("string-flag", flags.Context{}, "") == "bye" && len(data) > 0 &&
			slices.Contains(entriesOf(t, filepath.Dir(cache)), "flags.json") && len(entriesOf(t, filepath.Dir(cache))) == 1
	})
	_ = first.Close(context.Background())
	s.Kill()

	c, _ := newClient(t, s, func(cfg *sdk.Config) { cfg.CachePath = cache })
	waitReady(t, c)
	if c.Status() != sdk.StatusStale {
		t.Errorf("status %v, want STALE while serving the cache", c.Status())
	}
	if got := c.String("string-flag", flags.Context{}, "dflt"); got != "bye" {
		t.Errorf("from the cache: %q, want bye", got)
	}
	s.Restart()
	waitStatus(t, c, sdk.StatusReady)
}

func entriesOf(t *testing.T, dir string) []string {
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

func TestABrokenCacheIsIgnored(t *testing.T) {
	s := ramptest.Start(t)
	standardFlags(s)
	cache := filepath.Join(t.TempDir(), "flags.json")
	if err := os.WriteFile(cache, []byte(`{"environment":"production","revision":3,"flags":{"x":`), 0o644); err != nil {
		t.Fatal(err)
	}
	c, rec := newClient(t, s, func(cfg *sdk.Config) { cfg.CachePath = cache })
	waitReady(t, c)
	if c.Status() != sdk.StatusReady || c.String("string-flag", flags.Context{}, "") != "hi" {
		t.Fatalf("status %v", c.Status())
	}
	var serr *sdk.SnapshotError
	if !slices.ContainsFunc(rec.errList(), func(e error) bool { return errors.As(e, &serr) && serr.Source == "cache" }) {
		t.Errorf("the broken cache was not reported: %v", rec.errList())
	}
}

func TestOfflineFile(t *testing.T) {
	dir := t.TempDir()
	doc := `{"flags": {"greeting": {"type": "string", "enabled": true, "variants": {"a": "hello"}, "default": {"variant": "a"}}}}`
	path := filepath.Join(dir, "flags.json")
	if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := sdk.New(context.Background(), sdk.Config{OfflineFile: path, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background())
	waitReady(t, c)
	if got := c.String("greeting", flags.Context{}, ""); got != "hello" || c.Status() != sdk.StatusReady {
		t.Errorf("got %q, status %v", got, c.Status())
	}
	if err := c.Track(context.Background(), "u", "m", 1); err != nil {
		t.Errorf("Track offline: %v", err)
	}

	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`{"flags": {"greeting": {"type": "string", "variants": {"a": 1}}}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	var serr *sdk.SnapshotError
	if _, err := sdk.New(context.Background(), sdk.Config{OfflineFile: bad}); !errors.As(err, &serr) {
		t.Errorf("a broken offline file: %v, want a *sdk.SnapshotError", err)
	}
}

func TestPollingWhenStreamingDoesNotWork(t *testing.T) {
	s := ramptest.Start(t)
	standardFlags(s)
	s.SetFault(ramptest.NoStream)
	c, rec := newClient(t, s, nil)
	waitReady(t, c)
	s.SetDefault("string-flag", "parting")
	ramptest.Eventually(t, wait, "a poll brings the change", func() bool { return c.String("string-flag", flags.Context{}, "") == "bye" })
	ramptest.Eventually(t, wait, "unchanged polls are answered 304", func() bool { return s.NotModified.Load() > 0 })
	if got := rec.statusList(); !slices.Equal(got, []sdk.Status{sdk.StatusReady}) {
		t.Errorf("statuses %v: polling is not stale", got)
	}
}
