package bench

import (
	"fmt"
	"testing"
	"time"

	"github.com/launchdarkly/go-sdk-common/v3/ldcontext"
	"github.com/launchdarkly/go-sdk-common/v3/ldvalue"
	ldeval "github.com/launchdarkly/go-server-sdk-evaluation/v3"
	"github.com/launchdarkly/go-server-sdk-evaluation/v3/ldbuilders"
	"github.com/launchdarkly/go-server-sdk-evaluation/v3/ldmodel"
	ld "github.com/launchdarkly/go-server-sdk/v7"
	"github.com/launchdarkly/go-server-sdk/v7/ldcomponents"
	"github.com/launchdarkly/go-server-sdk/v7/testhelpers/ldtestdata"
)

// ldFlag is the logical flag in LaunchDarkly's data model: variation 0 is true,
// 1 is false; a rule `country in [DE, FR]` serves 0; the fallthrough is a rollout of
// 25 000 / 75 000 (LaunchDarkly's weights are out of 100 000) on the context key.
func ldFlag() ldmodel.FeatureFlag {
	f := ldbuilders.NewFlagBuilder(flagKey).
		Version(1).
		On(true).
		Variations(ldvalue.Bool(true), ldvalue.Bool(false)).
		OffVariation(1).
		AddRule(ldbuilders.NewRuleBuilder().ID("eu").Variation(0).
			Clauses(ldbuilders.Clause("country", ldmodel.OperatorIn, ldvalue.String("DE"), ldvalue.String("FR")))).
		Fallthrough(ldbuilders.Rollout(ldbuilders.Bucket(0, 25_000), ldbuilders.Bucket(1, 75_000))).
		Salt("rollout-flag-salt").
		Build()
	// The SDK preprocesses flags it parses from JSON (e.g. the `in` clause becomes a
	// set); do the same for flags built in code, so both paths are the fast one.
	ldmodel.PreprocessFlag(&f)
	return f
}

func ldContexts() []ldcontext.Context {
	us := units()
	ctxs := make([]ldcontext.Context, len(us))
	for i, u := range us {
		ctxs[i] = ldcontext.NewBuilder(u.key).SetString("country", u.country).Build()
	}
	return ctxs
}

// ldNoData is the evaluator's data provider: the flag has no prerequisites or segments.
type ldNoData struct{}

func (ldNoData) GetFeatureFlag(string) *ldmodel.FeatureFlag { return nil }
func (ldNoData) GetSegment(string) *ldmodel.Segment         { return nil }

// ldClient is LaunchDarkly's server SDK fed by its test data source (no network
// for flags). With events, the default event processor sends to a loopback sink.
func ldClient(tb testing.TB, events bool) *ld.LDClient {
	td := ldtestdata.DataSource()
	td.UsePreconfiguredFlag(ldFlag())
	cfg := ld.Config{DataSource: td, Logging: ldcomponents.NoLogging(), Events: ldcomponents.NoEvents()}
	if events {
		s := newSink(tb, nil)
		cfg.Events = ldcomponents.SendEvents()
		cfg.ServiceEndpoints = ldcomponents.RelayProxyEndpoints(s.URL)
	}
	c, err := ld.MakeCustomClient("sdk-bench", cfg, 5*time.Second)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = c.Close() })
	return c
}

func TestLaunchDarklyEvaluatorSemantics(t *testing.T) {
	f, ev, ctxs := ldFlag(), ldeval.NewEvaluator(ldNoData{}), ldContexts()
	checkSemantics(t, func(i int) (bool, error) {
		r := ev.Evaluate(&f, ctxs[i], nil)
		if r.Detail.Reason.GetErrorKind() != "" {
			return false, fmt.Errorf("%v", r.Detail.Reason)
		}
		return r.Detail.Value.BoolValue(), nil
	})
}

func TestLaunchDarklySDKSemantics(t *testing.T) {
	for _, events := range []bool{false, true} {
		t.Run(map[bool]string{false: "events-off", true: "events-on"}[events], func(t *testing.T) {
			c, ctxs := ldClient(t, events), ldContexts()
			checkSemantics(t, func(i int) (bool, error) {
				v, d, err := c.BoolVariationDetail(flagKey, ctxs[i], false)
				if err == nil && d.Reason.GetErrorKind() != "" {
					err = fmt.Errorf("%v", d.Reason)
				}
				return v, err
			})
		})
	}
}

// BenchmarkLaunchDarklyEvaluator is go-server-sdk-evaluation's Evaluator.Evaluate
// on a preprocessed flag: the counterpart of BenchmarkRampEvaluator.
func BenchmarkLaunchDarklyEvaluator(b *testing.B) {
	f, ev, ctxs := ldFlag(), ldeval.NewEvaluator(ldNoData{}), ldContexts()
	b.ReportAllocs()
	i, on := 0, 0
	for b.Loop() {
		if ev.Evaluate(&f, ctxs[i], nil).Detail.Value.BoolValue() {
			on++
		}
		if i++; i == len(ctxs) {
			i = 0
		}
	}
	checkOnRate(b, on)
}

func benchmarkLaunchDarklySDK(b *testing.B, events bool) {
	c, ctxs := ldClient(b, events), ldContexts()
	b.ReportAllocs()
	i, on := 0, 0
	for b.Loop() {
		if v, _ := c.BoolVariation(flagKey, ctxs[i], false); v {
			on++
		}
		if i++; i == len(ctxs) {
			i = 0
		}
	}
	checkOnRate(b, on)
}

// BenchmarkLaunchDarklySDKEventsOff is LDClient.BoolVariation with ldcomponents.NoEvents().
func BenchmarkLaunchDarklySDKEventsOff(b *testing.B) { benchmarkLaunchDarklySDK(b, false) }

// BenchmarkLaunchDarklySDKEventsOn is LDClient.BoolVariation with the default event
// processor (summaries and context index events), sending to a loopback sink.
func BenchmarkLaunchDarklySDKEventsOn(b *testing.B) { benchmarkLaunchDarklySDK(b, true) }
