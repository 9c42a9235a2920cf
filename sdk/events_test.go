package sdk_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/ramp-release/ramp/events"
	"github.com/ramp-release/ramp/flags"
	"github.com/ramp-release/ramp/internal/store"
	"github.com/ramp-release/ramp/sdk"
	"github.com/ramp-release/ramp/sdk/internal/ramptest"
)

// rolloutFlag is a flag as the rollout engine renders it (CLARIFICATIONS §20): a user
// rule above the managed block, then the exclusion, the treated ring and its control,
// each rendered rule naming the rollout, stage and arm in its metadata.
func rolloutFlag() flags.Flag {
	meta := func(arm string) map[string]string {
		return map[string]string{"rollout_id": "r-42", "stage": "ring-50", "arm": arm}
	}
	return flags.Flag{Key: "summarize", Type: flags.TypeBool, Enabled: true,
		Variants: map[string]any{"on": true, "off": false},
		Rules: []flags.Rule{
			{ID: "qa", Conditions: []flags.Condition{{Attribute: "email", Op: flags.OpEndsWith, Value: "@acme.com"}}, Serve: flags.Allocation{Variant: "on"}},
			{ID: "exclusion", Conditions: []flags.Condition{{Attribute: "trial", Op: flags.OpEquals, Value: true}}, Serve: flags.Allocation{Variant: "off"}, Metadata: meta("excluded")},
			{ID: "ring", Conditions: []flags.Condition{{Bucket: &flags.BucketRange{From: 0, To: 50_000}}}, Serve: flags.Allocation{Variant: "on"}, Metadata: meta("treatment")},
			{ID: "control", Conditions: []flags.Condition{{Bucket: &flags.BucketRange{From: 50_000, To: 100_000}}}, Serve: flags.Allocation{Variant: "off"}, Metadata: meta("control")},
		},
		Default: &flags.Allocation{Variant: "off"}}
}

func closeClient(t *testing.T, c *sdk.Client) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := c.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

func unit(i int) flags.Context {
	return flags.Context{Key: fmt.Sprintf("user-%03d", i), Attributes: map[string]any{
		"country": []string{"DE", "US", "FR"}[i%3], "plan": "pro", "platform": "ios", "trial": i%10 == 0, "other": "x"}}
}

func TestExposuresOfRolloutRulesReachTheServer(t *testing.T) {
	s := ramptest.Start(t)
	s.CreateFlag(rolloutFlag())
	standardFlags(s)
	c, _ := newClient(t, s, nil)
	waitReady(t, c)
	want := map[string]events.Event{}
	for i := range 100 {
		u := unit(i)
		for range 3 { // repeated evaluations are one exposure
			c.BoolDetail("summarize", u, false)
		}
		c.String("string-flag", u, "") // not a rollout: no exposure
		d := c.BoolDetail("summarize", u, false)
		want[u.Key] = events.Event{Kind: events.KindExposure, Unit: u.Key, Flag: "summarize", Variant: d.Variant,
			FlagVersion: d.Version, RuleID: d.RuleID, RuleIndex: d.RuleIndex,
			Rollout: "r-42", Stage: "ring-50", Arm: d.RuleMetadata["arm"],
			Dimensions: map[string]string{"country": u.Attributes["country"].(string), "plan": "pro", "platform": "ios"}}
	}
	// A QA user matched by the user's own rule is not part of the rollout.
	c.Bool("summarize", flags.Context{Key: "qa-1", Attributes: map[string]any{"email": "a@acme.com"}}, false)
	closeClient(t, c)

	got := s.Events()
	if len(got) != 100 {
		t.Fatalf("%d events stored, want 100 (one per unit)", len(got))
	}
	arms := map[string]int{}
	for _, e := range got {
		if time.Since(e.Time) > time.Minute {
			t.Errorf("event time %v", e.Time)
		}
		w := want[e.Unit]
		if diff := cmp.Diff(w, e, cmpopts.IgnoreFields(events.Event{}, "Time")); diff != "" {
			t.Errorf("unit %s (-want +got)\n%s", e.Unit, diff)
		}
		arms[e.Arm]++
	}
	if arms["excluded"] != 10 || arms["treatment"] == 0 || arms["control"] == 0 {
		t.Errorf("arms %v: want 10 excluded and both ring arms", arms)
	}
	st := c.Stats()
	if st.Exposures != 100 || st.EventsSent != 100 || st.ExposuresDeduplicated < 300 || st.EventsDropped != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestANewFlagVersionIsANewExposure(t *testing.T) {
	s := ramptest.Start(t)
	s.CreateFlag(rolloutFlag())
	c, _ := newClient(t, s, nil)
	waitReady(t, c)
	u := unit(1)
	c.Bool("summarize", u, false)
	v1 := c.BoolDetail("summarize", u, false).Version
	v2 := s.UpdateState("summarize", func(*store.FlagState) {}) // same rules, new version
	ramptest.Eventually(t, wait, "the new version arrives", func() bool { return c.BoolDetail("summarize", u, false).Version == v2 })
	closeClient(t, c)
	var versions []int64
	for _, e := range s.Events() {
		versions = append(versions, e.FlagVersion)
	}
	if !slices.Equal(versions, []int64{v1, v2}) {
		t.Errorf("exposed versions %v, want [%d %d]", versions, v1, v2)
	}
}

func TestExposeAllFlags(t *testing.T) {
	s := ramptest.Start(t)
	standardFlags(s)
	c, _ := newClient(t, s, func(cfg *sdk.Config) { cfg.ExposeAllFlags = true; cfg.Dimensions = []string{"other"} })
	waitReady(t, c)
	c.String("string-flag", unit(1), "")
	c.Bool("disabled-flag", unit(1), false) // serves no variant: nothing to expose
	c.Bool("bool-flag", flags.Context{}, false)
	closeClient(t, c)
	got := s.Events()
	if len(got) != 1 || got[0].Flag != "string-flag" || got[0].Variant != "greeting" || got[0].Rollout != "" ||
		!cmp.Equal(got[0].Dimensions, map[string]string{"other": "x"}) {
		t.Errorf("events %+v", got)
	}
}

func TestTheExposureWindowEnds(t *testing.T) {
	s := ramptest.Start(t)
	s.CreateFlag(rolloutFlag())
	c, _ := newClient(t, s, func(cfg *sdk.Config) { cfg.ExposureWindow = 40 * time.Millisecond })
	waitReady(t, c)
	ramptest.Eventually(t, wait, "a second exposure once the window has passed", func() bool {
		c.Bool("summarize", unit(1), false)
		return c.Stats().Exposures == 2
	})
}

func TestTrackSendsMetricEventsWithTheExposures(t *testing.T) {
	s := ramptest.Start(t)
	s.CreateFlag(rolloutFlag())
	c, _ := newClient(t, s, func(cfg *sdk.Config) { cfg.FlushInterval = time.Hour })
	waitReady(t, c)
	u := unit(1)
	c.Bool("summarize", u, false)
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	ctx := context.Background()
	if err := c.Track(ctx, u.Key, "thumbs_up", 1, sdk.WithComment("useful summary"), sdk.WithContext(u),
		sdk.WithDimensions(map[string]string{"model": "large-v2"}), sdk.WithTime(at)); err != nil {
		t.Fatal(err)
	}
	if err := c.Track(ctx, u.Key, "latency_ms", 812.5); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []struct {
		unit, metric string
		value        float64
	}{{"", "m", 1}, {"u", "", 1}, {"u", "m", nan()}} {
		if err := c.Track(ctx, bad.unit, bad.metric, bad.value); err == nil {
			t.Errorf("Track(%q, %q, %v) accepted an event the server would refuse", bad.unit, bad.metric, bad.value)
		}
	}
	closeClient(t, c)
	bs := s.Batches()
	if len(bs) != 1 || len(bs[0].Events) != 3 {
		t.Fatalf("batches %+v, want one with the exposure and both metrics", bs)
	}
	one, two := 1.0, 812.5
	want := []events.Event{
		{Kind: events.KindMetric, Time: at, Unit: u.Key, Metric: "thumbs_up", Value: &one, Comment: "useful summary",
			Dimensions: map[string]string{"country": "US", "plan": "pro", "platform": "ios", "model": "large-v2"}},
		{Kind: events.KindMetric, Unit: u.Key, Metric: "latency_ms", Value: &two},
	}
	got := bs[0].Events[1:]
	if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(events.Event{}, "Time")); diff != "" || !got[0].Time.Equal(at) {
		t.Errorf("(-want +got)\n%s", diff)
	}
	if bs[0].Events[0].Kind != events.KindExposure || bs[0].SDK == "" || len(bs[0].BatchID) != 36 {
		t.Errorf("batch %+v", bs[0])
	}
}

func nan() float64 { var z float64; return z / z }

func TestARetriedBatchIsStoredOnce(t *testing.T) {
	s := ramptest.Start(t)
	s.CreateFlag(rolloutFlag())
	c, _ := newClient(t, s, nil)
	waitReady(t, c)
	s.FailEvents.Store(2) // stored, but the SDK sees 503 twice
	for i := range 10 {
		c.Bool("summarize", unit(i), false)
	}
	closeClient(t, c)
	bs := s.Batches()
	if len(bs) != 1 || len(bs[0].Events) != 10 {
		t.Fatalf("%d batches stored, want the one batch of 10 events once", len(bs))
	}
	st := c.Stats()
	if st.SendRetries != 2 || st.EventsSent != 10 || st.BatchesSent != 1 || s.EventRequests.Load() != 3 {
		t.Errorf("stats %+v, %d requests; want 2 retries of one batch", st, s.EventRequests.Load())
	}
}

func TestABatchIsRetriedWhileTheServerIsUnavailable(t *testing.T) {
	s := ramptest.Start(t)
	s.CreateFlag(rolloutFlag())
	c, _ := newClient(t, s, func(cfg *sdk.Config) { cfg.MaxSendAttempts = 100 })
	waitReady(t, c)
	s.SetFault(ramptest.Unavailable)
	c.Bool("summarize", unit(1), false)
	ramptest.Eventually(t, wait, "a retry", func() bool { return c.Stats().SendRetries > 0 })
	s.SetFault(ramptest.NoFault)
	ramptest.Eventually(t, wait, "the batch gets through", func() bool { return c.Stats().EventsSent == 1 })
	if n := len(s.Events()); n != 1 {
		t.Errorf("%d events stored", n)
	}
}

func TestAFullQueueDropsAndCounts(t *testing.T) {
	s := ramptest.Start(t)
	s.CreateFlag(rolloutFlag())
	c, _ := newClient(t, s, func(cfg *sdk.Config) { cfg.QueueSize = 10; cfg.FlushInterval = time.Hour })
	waitReady(t, c)
	for i := range 25 {
		c.Bool("summarize", unit(i), false)
	}
	ctx := context.Background()
	if err := c.Track(ctx, "u", "m", 1); !errors.Is(err, sdk.ErrQueueFull) {
		t.Errorf("Track on a full queue: %v", err)
	}
	if st := c.Stats(); st.EventsDropped != 16 || st.Queued != 10 {
		t.Errorf("stats %+v, want 16 dropped and 10 queued", st)
	}
	closeClient(t, c)
	bs := s.Batches()
	if len(bs) != 1 || len(bs[0].Events) != 10 || bs[0].Dropped != 16 {
		t.Fatalf("batches %+v, want one of 10 events reporting 16 dropped", bs)
	}
}

func TestCloseSendsWhatIsQueuedInBatches(t *testing.T) {
	s := ramptest.Start(t)
	s.CreateFlag(rolloutFlag())
	c, _ := newClient(t, s, func(cfg *sdk.Config) { cfg.MaxBatch = 40; cfg.FlushInterval = time.Hour })
	waitReady(t, c)
	for i := range 100 {
		c.Bool("summarize", unit(i), false)
	}
	closeClient(t, c)
	var sizes []int
	for _, b := range s.Batches() {
		sizes = append(sizes, len(b.Events))
	}
	slices.Sort(sizes)
	if !slices.Equal(sizes, []int{20, 40, 40}) {
		t.Errorf("batch sizes %v, want 40, 40 and 20", sizes)
	}
	if err := c.Close(context.Background()); err != nil {
		t.Errorf("a second Close: %v", err)
	}
	if err := c.Track(context.Background(), "u", "m", 1); !errors.Is(err, sdk.ErrClosed) {
		t.Errorf("Track after Close: %v", err)
	}
}
