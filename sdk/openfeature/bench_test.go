package openfeature_test

import (
	"context"
	"testing"

	of "github.com/open-feature/go-sdk/openfeature"
	"github.com/open-feature/go-sdk/openfeature/isolated"

	"github.com/ramp-release/ramp/sdk"
	"github.com/ramp-release/ramp/sdk/internal/ramptest"
	rampof "github.com/ramp-release/ramp/sdk/openfeature"
)

// benchProvider registers a provider on BENCHMARKS.md's flag, with an exposure
// recorded (and deduplicated) for every evaluation, like sdk's BoolDetail benchmark.
func benchProvider(b *testing.B) (*rampof.Provider, *of.Client) {
	hs := ramptest.BenchServer(b, ramptest.BenchFlagDocument())
	p := rampof.New(sdk.Config{URL: hs.URL, SDKKey: "k", Logger: quiet, ExposeAllFlags: true})
	api := isolated.NewAPI()
	if err := api.SetProviderAndWait(context.Background(), p); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = api.Shutdown(context.Background()) })
	return p, api.NewClient()
}

// BenchmarkProviderBooleanEvaluation is the provider's own cost: what OpenFeature's
// SDK calls, with the flattened context it builds, over 10 000 rotating contexts.
func BenchmarkProviderBooleanEvaluation(b *testing.B) {
	p, _ := benchProvider(b)
	keys, countries := ramptest.BenchUnits(10_000)
	flat := make([]of.FlattenedContext, len(keys))
	for i := range flat {
		flat[i] = of.FlattenedContext{of.TargetingKey: keys[i], "country": countries[i]}
	}
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if d := p.BooleanEvaluation(ctx, "rollout-flag", false, flat[i]); d.Variant == "" {
			b.Fatal(d.ResolutionError)
		}
		if i++; i == len(flat) {
			i = 0
		}
	}
}

// BenchmarkOpenFeatureClientBooleanDetails is the whole OpenFeature path an
// application takes: Client.BooleanValueDetails with an EvaluationContext built
// outside the loop. The difference from BenchmarkProviderBooleanEvaluation is the
// OpenFeature SDK's own cost (context merging and flattening, hooks, details).
func BenchmarkOpenFeatureClientBooleanDetails(b *testing.B) {
	_, client := benchProvider(b)
	keys, countries := ramptest.BenchUnits(10_000)
	ecs := make([]of.EvaluationContext, len(keys))
	for i := range ecs {
		ecs[i] = of.NewEvaluationContext(keys[i], map[string]any{"country": countries[i]})
	}
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if d, err := client.BooleanValueDetails(ctx, "rollout-flag", false, ecs[i]); err != nil || d.Variant == "" {
			b.Fatal(err)
		}
		if i++; i == len(ecs) {
			i = 0
		}
	}
}
