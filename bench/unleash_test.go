package bench

import (
	"bytes"
	"testing"
	"time"

	unleash "github.com/Unleash/unleash-go-sdk/v5"
	ucontext "github.com/Unleash/unleash-go-sdk/v5/context"
)

// unleashFeatures is the logical flag as Unleash client features: two
// flexibleRollout strategies (OR-ed), the first at 100 % behind the constraint
// country IN [DE, FR], the second at 25 %, both sticky on the user id
// (stickiness "default": userId first) and grouped on the flag's name.
const unleashFeatures = `{"version": 2, "features": [{
  "name": "rollout-flag", "type": "release", "enabled": true, "project": "default",
  "strategies": [
    {"name": "flexibleRollout",
     "constraints": [{"contextName": "country", "operator": "IN", "values": ["DE", "FR"]}],
     "parameters": {"rollout": "100", "stickiness": "default", "groupId": "rollout-flag"}},
    {"name": "flexibleRollout",
     "parameters": {"rollout": "25", "stickiness": "default", "groupId": "rollout-flag"}}
  ]}]}`

func unleashContexts() []ucontext.Context {
	us := units()
	ctxs := make([]ucontext.Context, len(us))
	for i, u := range us {
		ctxs[i] = ucontext.Context{UserId: u.key, Properties: map[string]string{"country": u.country}}
	}
	return ctxs
}

// unleashClient is Unleash's Go SDK with the features bootstrapped in memory
// (BootstrapStorage). It still insists on a server URL, which is a loopback sink
// serving the same features (and swallowing registration and metrics); the
// refresh interval is an hour, so it fetches once.
func unleashClient(tb testing.TB, metrics bool) *unleash.Client {
	s := newSink(tb, map[string][]byte{"/client/features": []byte(unleashFeatures)})
	c, err := unleash.NewClient(
		unleash.WithAppName("ramp-bench"),
		unleash.WithUrl(s.URL),
		unleash.WithStorage(&unleash.BootstrapStorage{Reader: bytes.NewReader([]byte(unleashFeatures))}),
		unleash.WithBackupPath(tb.TempDir()),
		unleash.WithRefreshInterval(time.Hour),
		unleash.WithDisableMetrics(!metrics),
		unleash.WithListener(&unleash.NoopListener{}),
	)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = c.Close() })
	ready := make(chan struct{})
	go func() { c.WaitForReady(); close(ready) }()
	select {
	case <-ready:
	case <-time.After(10 * time.Second):
		tb.Fatal("unleash client not ready after 10 s")
	}
	return c
}

func TestUnleashSemantics(t *testing.T) {
	for _, metrics := range []bool{false, true} {
		t.Run(map[bool]string{false: "metrics-off", true: "metrics-on"}[metrics], func(t *testing.T) {
			c, ctxs := unleashClient(t, metrics), unleashContexts()
			if !c.ListFeatures()[0].Enabled {
				t.Fatal("feature not loaded")
			}
			checkSemantics(t, func(i int) (bool, error) {
				return c.IsEnabled(flagKey, unleash.WithContext(ctxs[i])), nil
			})
		})
	}
}

func benchmarkUnleash(b *testing.B, metrics bool) {
	c, ctxs := unleashClient(b, metrics), unleashContexts()
	b.ReportAllocs()
	i, on := 0, 0
	for b.Loop() {
		if c.IsEnabled(flagKey, unleash.WithContext(ctxs[i])) {
			on++
		}
		if i++; i == len(ctxs) {
			i = 0
		}
	}
	checkOnRate(b, on)
}

// BenchmarkUnleashMetricsOff is Client.IsEnabled with WithDisableMetrics(true).
func BenchmarkUnleashMetricsOff(b *testing.B) { benchmarkUnleash(b, false) }

// BenchmarkUnleashMetricsOn is Client.IsEnabled with usage metrics on (the default).
func BenchmarkUnleashMetricsOn(b *testing.B) { benchmarkUnleash(b, true) }
