package ramptest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/ramp-release/ramp/flags"
)

// BenchFlagDocument is the logical flag of ../shared/BENCHMARKS.md, "rollout-flag", as
// an SDK receives it: country in [DE, FR] → on (a rule carrying rollout metadata),
// otherwise a 25 % on / 75 % off split sticky on the unit key.
func BenchFlagDocument() []byte {
	doc := map[string]any{"environment": Env, "revision": 1, "flags": map[string]*flags.Flag{
		"rollout-flag": {Type: flags.TypeBool, Enabled: true, Version: 3,
			Variants: map[string]any{"on": true, "off": false},
			Rules: []flags.Rule{{ID: "eu", Conditions: []flags.Condition{{Attribute: "country", Op: flags.OpIn, Values: []any{"DE", "FR"}}},
				Serve: flags.Allocation{Variant: "on"}, Metadata: map[string]string{"rollout_id": "r-1", "stage": "ring-25", "arm": "treatment"}}},
			Default: &flags.Allocation{Split: []flags.WeightedVariant{{Variant: "on", Weight: 25_000}, {Variant: "off", Weight: 75_000}}}},
	}}
	data, err := json.Marshal(doc)
	if err != nil {
		panic(err)
	}
	return data
}

// BenchServer serves doc on the SDK routes and accepts event batches without storing
// them, so that a benchmark measures the caller's cost, not a store's.
func BenchServer(tb testing.TB, doc []byte) *httptest.Server {
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/sdk/v1/flags":
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(doc)
		case "/sdk/v1/stream":
			w.Header().Set("Content-Type", "text/event-stream")
			_, _ = io.WriteString(w, ": connected\n\n")
			w.(http.Flusher).Flush()
			<-r.Context().Done()
		case "/sdk/v1/events":
			_, _ = io.Copy(io.Discard, r.Body)
			w.WriteHeader(http.StatusAccepted)
		}
	}))
	tb.Cleanup(hs.Close)
	return hs
}

// BenchUnits returns n unit keys user-%08x-%04d and their countries, cycling over the
// eight of BENCHMARKS.md.
func BenchUnits(n int) (keys, countries []string) {
	all := []string{"DE", "US", "FR", "GB", "ES", "IT", "PL", "NL"}
	keys, countries = make([]string, n), make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("user-%08x-%04d", uint32(i)*2654435761, i)
		countries[i] = all[i%len(all)]
	}
	return keys, countries
}
