package bench

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	of "github.com/open-feature/go-sdk/openfeature"
	"github.com/open-feature/go-sdk/openfeature/isolated"

	"github.com/ramp-release/ramp/sdk"
	rampof "github.com/ramp-release/ramp/sdk/openfeature"
)

func ofContexts() []of.EvaluationContext {
	us := units()
	ctxs := make([]of.EvaluationContext, len(us))
	for i, u := range us {
		ctxs[i] = of.NewEvaluationContext(u.key, map[string]any{"country": u.country})
	}
	return ctxs
}

// ofClient registers p in an isolated OpenFeature API (no global state) and
// returns a client of it.
func ofClient(tb testing.TB, p of.FeatureProvider) *of.Client {
	api := isolated.NewAPI()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := api.SetProviderAndWait(ctx, p); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = api.Shutdown(context.Background()) })
	return api.NewClient()
}

// rampProvider is ramp's OpenFeature provider (sdk/openfeature) over an sdk.Client
// configured as in ramp_test.go: offline from a file without events, or following a
// loopback stand-in with an exposure recorded for every evaluation.
func rampProvider(tb testing.TB, events bool) *rampof.Provider {
	cfg := sdk.Config{Logger: quiet}
	if events {
		s := newSink(tb, map[string][]byte{"/sdk/v1/flags": rampDocument(tb)})
		cfg.URL, cfg.SDKKey, cfg.ExposeAllFlags = s.URL, "ramp_srv_bench", true
	} else {
		cfg.OfflineFile = filepath.Join(tb.TempDir(), "flags.json")
		if err := os.WriteFile(cfg.OfflineFile, rampDocument(tb), 0o600); err != nil {
			tb.Fatal(err)
		}
	}
	return rampof.New(cfg)
}

func TestOpenFeatureRampSemantics(t *testing.T) {
	for _, events := range []bool{false, true} {
		t.Run(map[bool]string{false: "events-off", true: "exposures-on"}[events], func(t *testing.T) {
			c, ctxs := ofClient(t, rampProvider(t, events)), ofContexts()
			ctx := context.Background()
			checkSemantics(t, func(i int) (bool, error) {
				d, err := c.BooleanValueDetails(ctx, flagKey, false, ctxs[i])
				return d.Value, err
			})
		})
	}
}

// TestOpenFeatureNoopServesDefault: the no-op provider cannot pass the semantics
// check (it always serves the caller's default); it only measures the OpenFeature
// SDK's own floor. Check it does answer, without error.
func TestOpenFeatureNoopServesDefault(t *testing.T) {
	c := ofClient(t, of.NoopProvider{})
	d, err := c.BooleanValueDetails(context.Background(), flagKey, true, ofContexts()[0])
	if err != nil || !d.Value {
		t.Fatalf("got %v, %v; want the default true without error", d.Value, err)
	}
}

func benchmarkOpenFeature(b *testing.B, c *of.Client, check bool) {
	ctxs := ofContexts()
	ctx := context.Background()
	b.ReportAllocs()
	i, on := 0, 0
	for b.Loop() {
		if v, _ := c.BooleanValue(ctx, flagKey, false, ctxs[i]); v {
			on++
		}
		if i++; i == len(ctxs) {
			i = 0
		}
	}
	if check {
		checkOnRate(b, on)
	}
}

// BenchmarkOpenFeatureNoop is OpenFeature's Client.BooleanValue over its no-op
// provider: the OpenFeature SDK's own cost, whatever the provider.
func BenchmarkOpenFeatureNoop(b *testing.B) {
	benchmarkOpenFeature(b, ofClient(b, of.NoopProvider{}), false)
}

// BenchmarkOpenFeatureRampEventsOff is Client.BooleanValue over ramp's provider, offline.
func BenchmarkOpenFeatureRampEventsOff(b *testing.B) {
	benchmarkOpenFeature(b, ofClient(b, rampProvider(b, false)), true)
}

// BenchmarkOpenFeatureRampExposures is Client.BooleanValue over ramp's provider with an
// exposure recorded for every evaluation.
func BenchmarkOpenFeatureRampExposures(b *testing.B) {
	benchmarkOpenFeature(b, ofClient(b, rampProvider(b, true)), true)
}
