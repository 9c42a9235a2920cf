package web_test

import (
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"regexp"
	"time"

	"github.com/ramp-release/ramp/internal/rollout"
)

var analysisPath = regexp.MustCompile(`^/api/v1/rollouts/([^/]+)/analysis$`)

// analysisStandIn serves GET /api/v1/rollouts/{id}/analysis from the injected
// traffic while the server's route has no analysis to give, in the shape the dashboard reads
// (see internal/web/analysis.go): per metric the status, the arms, the difference
// with its bounds and a series over the evidence period. Once the analysis API is
// deployed, the real one answers and this stand-in steps aside.
func analysisStandIn(real http.Handler, tr *traffic, w http.ResponseWriter, r *http.Request) {
	m := analysisPath.FindStringSubmatch(r.URL.Path)
	if m == nil || r.Method != http.MethodGet {
		real.ServeHTTP(w, r)
		return
	}
	rec := httptest.NewRecorder()
	real.ServeHTTP(rec, r)
	// The harness's server has no analysis source (its controller reads injected
	// results), so the real route answers without data; anything it does answer
	// successfully wins.
	var real0 struct {
		Available bool `json:"available"`
	}
	if rec.Code == http.StatusOK && json.Unmarshal(rec.Body.Bytes(), &real0) == nil && real0.Available {
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
		return
	}
	// Read the rollout through the real API, with the caller's credentials.
	get := httptest.NewRequest(http.MethodGet, "/api/v1/rollouts/"+m[1], nil)
	get.Header.Set("Authorization", r.Header.Get("Authorization"))
	rec = httptest.NewRecorder()
	real.ServeHTTP(rec, get)
	var ro struct {
		State rollout.State `json:"state"`
		Plan  rollout.Plan  `json:"plan"`
	}
	if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &ro) != nil {
		http.Error(w, "no such rollout", http.StatusNotFound)
		return
	}
	tr.mu.Lock()
	now, perHour, crossed := tr.clock.Now(), tr.perHour, tr.crossed
	tr.mu.Unlock()
	type point struct {
		At        time.Time `json:"at"`
		Treatment float64   `json:"treatment"`
		Control   float64   `json:"control"`
		Lower     float64   `json:"lower"`
		Upper     float64   `json:"upper"`
	}
	type metric struct {
		Metric    string `json:"metric"`
		Kind      string `json:"kind"`
		Status    string `json:"status"`
		Treatment struct {
			Units float64 `json:"units"`
			Mean  float64 `json:"mean"`
		} `json:"treatment"`
		Control struct {
			Units float64 `json:"units"`
			Mean  float64 `json:"mean"`
		} `json:"control"`
		Diff       float64            `json:"diff"`
		DiffBounds map[string]float64 `json:"diff_bounds"`
		Series     []point            `json:"series"`
	}
	out := struct {
		AsOf    time.Time `json:"as_of"`
		Stage   int       `json:"stage"`
		Metrics []metric  `json:"metrics"`
	}{AsOf: now, Stage: ro.State.Stage, Metrics: []metric{}}
	start := ro.State.EvidenceStart
	for i, g := range ro.Plan.Guardrails {
		base, kind, effect := 120.0+40*float64(i), "mean", 0.004
		if g.Kind == rollout.Proportion {
			base, kind = 0.012, "proportion"
		}
		if g.Metric == crossed {
			effect = 0.35
		}
		mt := metric{Metric: g.Metric, Kind: kind, Status: "clear"}
		if g.Metric == crossed {
			mt.Status = "crossed"
		}
		for at := start.Add(15 * time.Minute); !start.IsZero() && !at.After(now); at = at.Add(15 * time.Minute) {
			n := math.Max(1, at.Sub(start).Hours()*float64(perHour)/2)
			sd := base * 3 / math.Sqrt(n) // a shrinking band, as a confidence sequence's
			wobble := math.Sin(float64(at.Unix())/3600) * sd * 0.3
			p := point{At: at, Control: base + wobble, Treatment: base*(1+effect) - wobble}
			p.Lower, p.Upper = p.Treatment-p.Control-2*sd, p.Treatment-p.Control+2*sd
			mt.Series = append(mt.Series, p)
			mt.Treatment.Units, mt.Control.Units = n, n
			mt.Treatment.Mean, mt.Control.Mean = p.Treatment, p.Control
			mt.Diff, mt.DiffBounds = p.Treatment-p.Control, map[string]float64{"lower": p.Lower, "upper": p.Upper}
		}
		out.Metrics = append(out.Metrics, mt)
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
}
