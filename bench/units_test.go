package bench

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
)

// flagKey is the logical flag of ../../shared/BENCHMARKS.md, configured in every peer:
// country in [DE, FR] → on (true), otherwise 25 % on / 75 % off, sticky on the unit key.
const flagKey = "rollout-flag"

// numUnits is the size of the context rotation.
const numUnits = 10_000

var countries = []string{"DE", "US", "FR", "GB", "ES", "IT", "PL", "NL"}

// unit is one of BENCHMARKS.md's units: its key and its country. Every peer builds
// its own context type from these, outside the timer.
type unit struct{ key, country string }

func units() []unit {
	us := make([]unit, numUnits)
	for i := range us {
		us[i] = unit{
			key:     fmt.Sprintf("user-%08x-%04d", uint32(i)*2654435761, i),
			country: countries[i%len(countries)],
		}
	}
	return us
}

// checkSemantics evaluates the flag for every unit twice through eval and fails
// unless every DE and FR unit is on, 23–27 % of the others are on, and the second
// pass answers as the first: a fast wrong answer is not a result.
func checkSemantics(tb testing.TB, eval func(i int) (bool, error)) {
	tb.Helper()
	us := units()
	first := make([]bool, len(us))
	var rest, restOn, on int
	for i, u := range us {
		v, err := eval(i)
		if err != nil {
			tb.Fatalf("%s (%s): %v", u.key, u.country, err)
		}
		first[i] = v
		if v {
			on++
		}
		switch u.country {
		case "DE", "FR":
			if !v {
				tb.Fatalf("%s in %s is off, want on by the country rule", u.key, u.country)
			}
		default:
			rest++
			if v {
				restOn++
			}
		}
	}
	share := float64(restOn) / float64(rest)
	tb.Logf("%d of %d other units on (%.2f %%); overall %.2f %% on (expected 43.75 %%)",
		restOn, rest, 100*share, 100*float64(on)/float64(len(us)))
	if share < 0.23 || share > 0.27 {
		tb.Fatalf("%.4f of the non-DE/FR units are on, want 0.23 to 0.27", share)
	}
	for i, u := range us {
		v, err := eval(i)
		if err != nil {
			tb.Fatalf("second pass, %s: %v", u.key, err)
		}
		if v != first[i] {
			tb.Fatalf("%s: %v on the first pass, %v on the second", u.key, first[i], v)
		}
	}
}

// checkOnRate is the benchmarks' own guard, after the timed loop: over at least one
// full rotation, the share of on answers must be about 43.75 %.
func checkOnRate(b *testing.B, on int) {
	b.Helper()
	if b.N < numUnits {
		return
	}
	if rate := float64(on) / float64(b.N); rate < 0.41 || rate > 0.47 {
		b.Fatalf("on-rate %.4f over %d evaluations, want about 0.4375", rate, b.N)
	}
}

// sink is a loopback HTTP server standing in for a peer's (or ramp's) backend: it
// serves a flag document on the routes in docs and swallows everything else
// (events, metrics, registrations), counting the requests. Nothing leaves the host.
type sink struct {
	*httptest.Server
	posts atomic.Int64
}

func newSink(tb testing.TB, docs map[string][]byte) *sink {
	s := &sink{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if doc, ok := docs[r.URL.Path]; ok && r.Method == http.MethodGet {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(doc)
			return
		}
		if r.URL.Path == "/sdk/v1/stream" { // ramp's SSE stream: connected, then quiet
			w.Header().Set("Content-Type", "text/event-stream")
			_, _ = io.WriteString(w, ": connected\n\n")
			w.(http.Flusher).Flush()
			<-r.Context().Done()
			return
		}
		s.posts.Add(1)
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusAccepted)
	}))
	tb.Cleanup(s.Close)
	return s
}

var quiet = slog.New(slog.DiscardHandler)
