package bench

import (
	"context"
	"testing"

	"github.com/open-feature/flagd/core/pkg/evaluator"
	"github.com/open-feature/flagd/core/pkg/logger"
	"github.com/open-feature/flagd/core/pkg/store"
	"github.com/open-feature/flagd/core/pkg/sync"
)

// flagdFlags is the logical flag in flagd's format: JSON logic with an `in` test on
// the country and, otherwise, flagd's fractional operation (hashed on the flag key
// and the targeting key).
const flagdFlags = `{"flags": {"rollout-flag": {
  "state": "ENABLED",
  "variants": {"on": true, "off": false},
  "defaultVariant": "off",
  "targeting": {"if": [
    {"in": [{"var": "country"}, ["DE", "FR"]]}, "on",
    {"fractional": [["on", 25], ["off", 75]]}
  ]}
}}}`

func flagdContexts() []map[string]any {
	us := units()
	ctxs := make([]map[string]any, len(us))
	for i, u := range us {
		ctxs[i] = map[string]any{"targetingKey": u.key, "country": u.country}
	}
	return ctxs
}

// flagdEvaluator is flagd's core JSON evaluator over its in-memory store, the engine
// flagd and its in-process providers run.
func flagdEvaluator(tb testing.TB) *evaluator.JSON {
	log := logger.NewLogger(nil, false)
	s, err := store.NewStore(log, []string{"bench"})
	if err != nil {
		tb.Fatal(err)
	}
	ev := evaluator.NewJSON(log, s)
	if err := ev.SetState(sync.DataSync{FlagData: flagdFlags, Source: "bench"}); err != nil {
		tb.Fatal(err)
	}
	return ev
}

func TestFlagdSemantics(t *testing.T) {
	ev, ctxs := flagdEvaluator(t), flagdContexts()
	ctx := context.Background()
	checkSemantics(t, func(i int) (bool, error) {
		v, _, _, _, err := ev.ResolveBooleanValue(ctx, "", flagKey, ctxs[i])
		return v, err
	})
}

// BenchmarkFlagdEvaluator is flagd core's JSON.ResolveBooleanValue.
func BenchmarkFlagdEvaluator(b *testing.B) {
	ev, ctxs := flagdEvaluator(b), flagdContexts()
	ctx := context.Background()
	b.ReportAllocs()
	i, on := 0, 0
	for b.Loop() {
		if v, _, _, _, _ := ev.ResolveBooleanValue(ctx, "", flagKey, ctxs[i]); v {
			on++
		}
		if i++; i == len(ctxs) {
			i = 0
		}
	}
	checkOnRate(b, on)
}
