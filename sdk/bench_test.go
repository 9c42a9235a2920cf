package sdk_test

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/ramp-release/ramp/flags"
	"github.com/ramp-release/ramp/sdk"
	"github.com/ramp-release/ramp/sdk/internal/ramptest"
)

func benchClient(b *testing.B, edit func(*sdk.Config)) *sdk.Client {
	hs := ramptest.BenchServer(b, ramptest.BenchFlagDocument())
	cfg := sdk.Config{URL: hs.URL, SDKKey: "k", Logger: quiet, ExposeAllFlags: true}
	if edit != nil {
		edit(&cfg)
	}
	c, err := sdk.New(context.Background(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = c.Close(context.Background()) })
	if err := c.WaitReady(context.Background()); err != nil {
		b.Fatal(err)
	}
	return c
}

// benchContexts returns n units of BENCHMARKS.md, each with its own attribute map,
// as an application builds one per request.
func benchContexts(n int) []flags.Context {
	keys, countries := ramptest.BenchUnits(n)
	ctxs := make([]flags.Context, n)
	for i := range ctxs {
		ctxs[i] = flags.Context{Key: keys[i], Attributes: map[string]any{"country": countries[i]}}
	}
	return ctxs
}

func runBoolDetail(b *testing.B, c *sdk.Client, ctxs []flags.Context) {
	// Check the semantics before timing: DE and FR on, about a quarter of the rest.
	on := 0
	for i := range min(len(ctxs), 10_000) {
		d := c.BoolDetail("rollout-flag", ctxs[i], false)
		if d.ErrorCode != "" {
			b.Fatal(d.ErrorMessage)
		}
		if d.Value {
			on++
		}
	}
	if rate := float64(on) / float64(min(len(ctxs), 10_000)); rate < 0.41 || rate > 0.47 {
		b.Fatalf("on-rate %.3f, want about 0.4375", rate)
	}
	start := c.Stats()
	cpu := startCPU(b)
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		d := c.BoolDetail("rollout-flag", ctxs[i], false)
		if d.Variant == "" {
			b.Fatal(d.ErrorMessage)
		}
		if i++; i == len(ctxs) {
			i = 0
		}
	}
	b.StopTimer()
	cpu.report()
	end := c.Stats()
	recorded := end.Exposures - start.Exposures + end.EventsDropped - start.EventsDropped
	b.ReportMetric(float64(recorded)/float64(b.N), "new-exposures/op")
	if recorded > 0 {
		b.ReportMetric(float64(end.EventsDropped-start.EventsDropped)/float64(recorded), "dropped/new")
	}
}

// BenchmarkBoolDetailExposures10k is the bar: BoolDetail with exposure recording on
// every evaluation (ExposeAllFlags) over 10 000 rotating contexts, with the default
// 100 000-entry dedup cache. After the first pass every exposure is a cache hit.
func BenchmarkBoolDetailExposures10k(b *testing.B) {
	c := benchClient(b, nil)
	runBoolDetail(b, c, benchContexts(10_000))
}

// BenchmarkBoolDetailExposuresMiss1M rotates over 1 000 000 distinct units, ten times
// the dedup cache: every evaluation is a miss that queues an exposure (and, the queue
// being bounded, most are dropped and counted).
func BenchmarkBoolDetailExposuresMiss1M(b *testing.B) {
	c := benchClient(b, nil)
	runBoolDetail(b, c, benchContexts(1_000_000))
}

// BenchmarkBoolDetailExposuresParallel is the 10 000-context rotation from every
// core at once, for the dedup cache's locks.
func BenchmarkBoolDetailExposuresParallel(b *testing.B) {
	c := benchClient(b, nil)
	ctxs := benchContexts(10_000)
	for _, ctx := range ctxs {
		c.BoolDetail("rollout-flag", ctx, false)
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if d := c.BoolDetail("rollout-flag", ctxs[i], false); d.Variant == "" {
				b.Error(d.ErrorMessage)
				return
			}
			if i++; i == len(ctxs) {
				i = 0
			}
		}
	})
}

// BenchmarkBoolDetailNoEvents is the same evaluation with events off: the SDK's cost
// without exposures.
func BenchmarkBoolDetailNoEvents(b *testing.B) {
	c := benchClient(b, func(cfg *sdk.Config) { cfg.DisableEvents = true })
	runBoolDetail(b, c, benchContexts(10_000))
}

// BenchmarkSnapshotEvaluateBaseline is package flags' evaluation of the same flag and
// contexts, measured in the same run: the floor the SDK adds to.
func BenchmarkSnapshotEvaluateBaseline(b *testing.B) {
	c := benchClient(b, func(cfg *sdk.Config) { cfg.DisableEvents = true })
	snap := c.Snapshot()
	ctxs := benchContexts(10_000)
	cpu := startCPU(b)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if r := snap.Evaluate("rollout-flag", ctxs[i]); r.Variant == "" {
			b.Fatal(r.ErrorMessage)
		}
		if i++; i == len(ctxs) {
			i = 0
		}
	}
	cpu.report()
}

// cpuClock measures the process's CPU time (user + system) over a benchmark: on a
// machine shared with other work, wall time per op includes the time the benchmark
// waited for a core, CPU time does not. It includes the client's own goroutines
// (the event sender), which is the point for the miss-heavy run.
type cpuClock struct {
	b     *testing.B
	start time.Duration
}

func startCPU(b *testing.B) cpuClock { return cpuClock{b, processCPU()} }

func (c cpuClock) report() {
	c.b.ReportMetric(float64(processCPU()-c.start)/float64(c.b.N), "cpu-ns/op")
}

func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
