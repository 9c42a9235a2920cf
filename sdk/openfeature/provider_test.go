package openfeature_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	of "github.com/open-feature/go-sdk/openfeature"
	"github.com/open-feature/go-sdk/openfeature/isolated"

	"github.com/ramp-release/ramp/events"
	"github.com/ramp-release/ramp/flags"
	"github.com/ramp-release/ramp/sdk"
	"github.com/ramp-release/ramp/sdk/internal/ramptest"
	rampof "github.com/ramp-release/ramp/sdk/openfeature"
)

const wait = 10 * time.Second

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// config returns a client configuration for s with timings fit for tests.
func config(s *ramptest.Server) sdk.Config {
	return sdk.Config{URL: s.URL, SDKKey: s.SDKKey, Logger: quiet,
		ReconnectMin: 10 * time.Millisecond, ReconnectMax: 100 * time.Millisecond,
		PollInterval: 200 * time.Millisecond, RequestTimeout: 2 * time.Second,
		FlushInterval: 50 * time.Millisecond, ErrorGrace: 5 * time.Second}
}

// conformanceFlags are the upstream test flags that matter to the provider's
// mapping, in ramp's format.
func conformanceFlags(s *ramptest.Server) {
	on := &flags.Allocation{Variant: "on"}
	s.CreateFlag(flags.Flag{Key: "boolean-flag", Type: flags.TypeBool, Enabled: true, Variants: map[string]any{"on": true, "off": false}, Default: on})
	s.CreateFlag(flags.Flag{Key: "integer-flag", Type: flags.TypeInt, Enabled: true, Variants: map[string]any{"one": 1, "ten": 10}, Default: &flags.Allocation{Variant: "ten"}})
	s.CreateFlag(flags.Flag{Key: "float-zero-flag", Type: flags.TypeFloat, Enabled: true, Variants: map[string]any{"zero": 0.0, "half": 0.5}, Default: &flags.Allocation{Variant: "zero"}})
	s.CreateFlag(flags.Flag{Key: "object-flag", Type: flags.TypeJSON, Enabled: true,
		Variants: map[string]any{"empty": map[string]any{}, "template": map[string]any{"showImages": true, "title": "Check out these pics!", "imagesPerPage": 100}},
		Default:  &flags.Allocation{Variant: "template"}})
	s.CreateFlag(flags.Flag{Key: "string-disabled-flag", Type: flags.TypeString, Enabled: false, Variants: map[string]any{"on": "hi"}, Default: on})
	s.CreateFlag(flags.Flag{Key: "metadata-flag", Type: flags.TypeBool, Enabled: true, Variants: map[string]any{"on": true}, Default: on,
		Metadata: map[string]any{"string": "1.0.2", "integer": 2, "float": 0.1, "boolean": true}})
	s.CreateFlag(flags.Flag{Key: "complex-targeted", Type: flags.TypeString, Enabled: true,
		Variants: map[string]any{"internal": "INTERNAL", "external": "EXTERNAL"},
		Rules: []flags.Rule{{Conditions: []flags.Condition{
			{Attribute: "customer", Op: flags.OpEquals, Value: false},
			{Attribute: "email", Op: flags.OpEquals, Value: "ballmer@macrosoft.com"},
			{Attribute: "age", Op: flags.OpGT, Value: 10}}, Serve: flags.Allocation{Variant: "internal"}}},
		Default: &flags.Allocation{Variant: "external"}})
}

// register sets a provider for s on a fresh OpenFeature API and waits for it.
func register(t *testing.T, s *ramptest.Server) (*of.Client, *rampof.Provider) {
	t.Helper()
	api := isolated.NewAPI()
	p := rampof.New(config(s))
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := api.SetProviderAndWait(ctx, p); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		_ = api.Shutdown(ctx)
	})
	return api.NewClient(), p
}

func TestEvaluationThroughOpenFeature(t *testing.T) {
	s := ramptest.Start(t)
	conformanceFlags(s)
	client, _ := register(t, s)
	ctx := context.Background()
	user := of.NewEvaluationContext("user-1", map[string]any{"email": "ballmer@macrosoft.com", "customer": false, "age": 25, "nothing": nil})

	type result struct {
		Value     any
		Variant   string
		Reason    of.Reason
		ErrorCode of.ErrorCode
		Metadata  of.FlagMetadata
	}
	get := func(value any, d of.EvaluationDetails) result {
		return result{value, d.Variant, d.Reason, d.ErrorCode, d.FlagMetadata}
	}
	tests := []struct {
		name string
		got  func() result
		want result
	}{
		{"a boolean flag with no metadata of its own", func() result {
			d, _ := client.BooleanValueDetails(ctx, "boolean-flag", false, user)
			return get(d.Value, d.EvaluationDetails)
		}, result{true, "on", of.StaticReason, "", of.FlagMetadata{}}},
		{"an integer flag", func() result {
			d, _ := client.IntValueDetails(ctx, "integer-flag", 1, user)
			return get(d.Value, d.EvaluationDetails)
		}, result{int64(10), "ten", of.StaticReason, "", of.FlagMetadata{}}},
		{"a float flag whose value is zero stays a float", func() result {
			d, _ := client.FloatValueDetails(ctx, "float-zero-flag", 0.1, user)
			return get(d.Value, d.EvaluationDetails)
		}, result{0.0, "zero", of.StaticReason, "", of.FlagMetadata{}}},
		{"an object flag", func() result {
			d, _ := client.ObjectValueDetails(ctx, "object-flag", map[string]any{"a": 1}, user)
			return get(d.Value, d.EvaluationDetails)
		}, result{map[string]any{"showImages": true, "title": "Check out these pics!", "imagesPerPage": 100.0}, "template", of.StaticReason, "", of.FlagMetadata{}}},
		{"an Object asked of a boolean flag is a type mismatch", func() result {
			d, _ := client.ObjectValueDetails(ctx, "boolean-flag", map[string]any{"a": 1}, user)
			return get(d.Value, d.EvaluationDetails)
		}, result{map[string]any{"a": 1}, "", of.ErrorReason, of.TypeMismatchCode, of.FlagMetadata{}}},
		{"a Float asked of an integer flag is a type mismatch", func() result {
			d, _ := client.FloatValueDetails(ctx, "integer-flag", 0.1, user)
			return get(d.Value, d.EvaluationDetails)
		}, result{0.1, "", of.ErrorReason, of.TypeMismatchCode, of.FlagMetadata{}}},
		{"a missing flag", func() result {
			d, _ := client.StringValueDetails(ctx, "non-existent-flag", "bye", user)
			return get(d.Value, d.EvaluationDetails)
		}, result{"bye", "", of.ErrorReason, of.FlagNotFoundCode, of.FlagMetadata{}}},
		{"a disabled flag gives the default", func() result {
			d, _ := client.StringValueDetails(ctx, "string-disabled-flag", "bye", user)
			return get(d.Value, d.EvaluationDetails)
		}, result{"bye", "", of.DisabledReason, "", of.FlagMetadata{}}},
		{"typed metadata", func() result {
			d, _ := client.BooleanValueDetails(ctx, "metadata-flag", false, user)
			return get(d.Value, d.EvaluationDetails)
		}, result{true, "on", of.StaticReason, "", of.FlagMetadata{"string": "1.0.2", "integer": int64(2), "float": 0.1, "boolean": true}}},
		{"targeting on the context, with a null attribute", func() result {
			d, _ := client.StringValueDetails(ctx, "complex-targeted", "x", user)
			return get(d.Value, d.EvaluationDetails)
		}, result{"INTERNAL", "", of.TargetingMatchReason, "", of.FlagMetadata{}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.got()
			if tt.want.Reason == of.TargetingMatchReason {
				got.Variant = "" // the variant name is not the point here
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got)\n%s", diff)
			}
		})
	}
}

func TestProviderBeforeInitIsNotReady(t *testing.T) {
	p := rampof.New(sdk.Config{URL: "http://127.0.0.1:1", SDKKey: "k"})
	d := p.BooleanEvaluation(context.Background(), "f", true, of.FlattenedContext{})
	if d.Value != true || d.ResolutionDetail().ErrorCode != of.ProviderNotReadyCode {
		t.Errorf("got %+v", d)
	}
}

func TestTrackBecomesARampMetricEvent(t *testing.T) {
	s := ramptest.Start(t)
	conformanceFlags(s)
	client, p := register(t, s)
	evalCtx := of.NewEvaluationContext("user-7", map[string]any{"country": "DE", "plan": "pro"})
	client.Track(context.Background(), "thumbs_up", evalCtx, of.NewTrackingEventDetails(1).Add("comment", "great").Add("model", "large-v2").Add("count", 3))
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := p.ShutdownWithContext(ctx); err != nil {
		t.Fatal(err)
	}
	got := s.Events()
	one := 1.0
	want := []events.Event{{Kind: events.KindMetric, Unit: "user-7", Metric: "thumbs_up", Value: &one, Comment: "great",
		Dimensions: map[string]string{"country": "DE", "plan": "pro", "model": "large-v2"}}}
	if len(got) == 1 {
		got[0].Time = time.Time{}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got)\n%s", diff)
	}
}

func TestCachedFlagsAreServedInTheErrorState(t *testing.T) {
	s := ramptest.Start(t)
	conformanceFlags(s)
	cfg := config(s)
	cfg.CachePath = t.TempDir() + "/flags.json"
	warm, err := sdk.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := warm.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	_ = warm.Close(ctx)
	s.Kill()

	api := isolated.NewAPI()
	defer api.Shutdown(context.Background())
	ready := make(chan struct{}, 1)
	onReady := func(of.EventDetails) { ready <- struct{}{} }
	api.AddHandler(of.ProviderReady, &onReady)
	if err := api.SetProviderAndWait(ctx, rampof.New(cfg)); err == nil {
		t.Fatal("initialization succeeded without the server")
	}
	client := api.NewClient()
	if client.State() != of.ErrorState {
		t.Fatalf("state %s, want ERROR", client.State())
	}
	if v, err := client.IntValue(ctx, "integer-flag", 1, of.EvaluationContext{}); v != 10 || err != nil {
		t.Errorf("from the cache: %d, %v", v, err)
	}
	s.Restart()
	select {
	case <-ready:
	case <-ctx.Done():
		t.Fatal("no READY once the server is back")
	}
}
