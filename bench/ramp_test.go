package bench

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ramp-release/ramp/flags"
	"github.com/ramp-release/ramp/sdk"
)

// rampSet is the logical flag as a ramp flag set.
func rampSet() *flags.Set {
	return &flags.Set{Flags: map[string]*flags.Flag{flagKey: {
		Type:     flags.TypeBool,
		Enabled:  true,
		Version:  1,
		Variants: map[string]any{"on": true, "off": false},
		Rules: []flags.Rule{{
			ID:         "eu",
			Conditions: []flags.Condition{{Attribute: "country", Op: flags.OpIn, Values: []any{"DE", "FR"}}},
			Serve:      flags.Allocation{Variant: "on"},
		}},
		Default: &flags.Allocation{Split: []flags.WeightedVariant{
			{Variant: "on", Weight: 25_000}, {Variant: "off", Weight: 75_000},
		}},
	}}}
}

// rampDocument is rampSet as the /sdk/v1/flags document the SDK reads.
func rampDocument(tb testing.TB) []byte {
	data, err := json.Marshal(map[string]any{"environment": "bench", "revision": 1, "flags": rampSet().Flags})
	if err != nil {
		tb.Fatal(err)
	}
	return data
}

func rampContexts() []flags.Context {
	us := units()
	ctxs := make([]flags.Context, len(us))
	for i, u := range us {
		ctxs[i] = flags.Context{Key: u.key, Attributes: map[string]any{"country": u.country}}
	}
	return ctxs
}

func rampSnapshot(tb testing.TB) *flags.Snapshot {
	snap, err := flags.Compile(rampSet())
	if err != nil {
		tb.Fatal(err)
	}
	return snap
}

// rampClient is ramp's Go SDK. Without events it runs offline from a file
// (Config.OfflineFile: no network at all). With events it follows a loopback stand-in
// for the server and records an exposure for every evaluation (ExposeAllFlags, the
// default 100 000-entry dedup cache); the batches go to that stand-in.
func rampClient(tb testing.TB, events bool) *sdk.Client {
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
	c, err := sdk.New(context.Background(), cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = c.Close(context.Background()) })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.WaitReady(ctx); err != nil {
		tb.Fatal(err)
	}
	return c
}

func TestRampEvaluatorSemantics(t *testing.T) {
	snap, ctxs := rampSnapshot(t), rampContexts()
	checkSemantics(t, func(i int) (bool, error) {
		r := snap.Evaluate(flagKey, ctxs[i])
		if r.ErrorCode != flags.ErrNone {
			return false, errorString(r.ErrorMessage)
		}
		return r.Value.(bool), nil
	})
}

func TestRampSDKSemantics(t *testing.T) {
	for _, events := range []bool{false, true} {
		t.Run(map[bool]string{false: "events-off", true: "exposures-on"}[events], func(t *testing.T) {
			c, ctxs := rampClient(t, events), rampContexts()
			checkSemantics(t, func(i int) (bool, error) {
				d := c.BoolDetail(flagKey, ctxs[i], false)
				if d.ErrorCode != sdk.CodeNone {
					return false, errorString(d.ErrorMessage)
				}
				return d.Value, nil
			})
			if events {
				if got := c.Stats().Exposures; got == 0 {
					t.Fatal("no exposure recorded with ExposeAllFlags")
				}
			}
		})
	}
}

// BenchmarkRampEvaluator is flags.Snapshot.Evaluate, ramp's evaluation core: the
// counterpart of BenchmarkLaunchDarklyEvaluator.
func BenchmarkRampEvaluator(b *testing.B) {
	snap, ctxs := rampSnapshot(b), rampContexts()
	b.ReportAllocs()
	i, on := 0, 0
	for b.Loop() {
		if snap.Evaluate(flagKey, ctxs[i]).Value == true {
			on++
		}
		if i++; i == len(ctxs) {
			i = 0
		}
	}
	checkOnRate(b, on)
}

func benchmarkRampSDK(b *testing.B, events bool) {
	c, ctxs := rampClient(b, events), rampContexts()
	b.ReportAllocs()
	i, on := 0, 0
	for b.Loop() {
		if c.Bool(flagKey, ctxs[i], false) {
			on++
		}
		if i++; i == len(ctxs) {
			i = 0
		}
	}
	checkOnRate(b, on)
}

// BenchmarkRampSDKEventsOff is sdk.Client.Bool offline, with no events.
func BenchmarkRampSDKEventsOff(b *testing.B) { benchmarkRampSDK(b, false) }

// BenchmarkRampSDKExposures is sdk.Client.Bool recording an exposure for every
// evaluation (deduplicated: over 10 000 rotating units all but the first pass are
// cache hits): the counterpart of BenchmarkLaunchDarklySDKEventsOn.
func BenchmarkRampSDKExposures(b *testing.B) { benchmarkRampSDK(b, true) }

type errorString string

func (e errorString) Error() string { return string(e) }
