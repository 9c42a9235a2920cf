package web

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"
)

// The charts read GET /api/v1/rollouts/{id}/analysis: per metric (and segment) the
// estimate, its interval, the status, the sample sizes and a time series. The
// dashboard turns it into the columns uPlot draws: treatment and control over
// time, with the band where the treatment plausibly lies (control plus the
// anytime-valid bounds of the difference) and the tolerance line the guardrail
// crosses at.

// analysisDoc is the analysis API's answer, read loosely.
type analysisDoc struct {
	AsOf    time.Time        `json:"as_of"`
	Stage   int              `json:"stage"`
	Metrics []analysisMetric `json:"metrics"`
}

type analysisMetric struct {
	Metric  string          `json:"metric"`
	Kind    string          `json:"kind"`
	Segment json.RawMessage `json:"segment"`
	analysisResult
	// Total is the whole-population result when the metric also has segments.
	Total    *analysisResult  `json:"total"`
	Segments []analysisResult `json:"segments"`
	Series   []seriesPoint    `json:"series"`
}

type analysisResult struct {
	Status     string    `json:"status"`
	Treatment  armStat   `json:"treatment"`
	Control    armStat   `json:"control"`
	Diff       *float64  `json:"diff"`
	DiffBounds *interval `json:"diff_bounds"`
	Relative   *float64  `json:"relative"`
}

type armStat struct {
	Units float64  `json:"units"`
	Mean  *float64 `json:"mean"`
}

type interval struct {
	Lower *float64 `json:"lower"`
	Upper *float64 `json:"upper"`
}

// seriesPoint is one time of a metric's series. Arms may be numbers (means) or
// objects with a mean; bounds may be flat (lower, upper) or an interval.
type seriesPoint struct {
	At         time.Time       `json:"at"`
	Time       time.Time       `json:"time"`
	Treatment  json.RawMessage `json:"treatment"`
	Control    json.RawMessage `json:"control"`
	Lower      *float64        `json:"lower"`
	Upper      *float64        `json:"upper"`
	DiffBounds *interval       `json:"diff_bounds"`
}

func meanOf(raw json.RawMessage) *float64 {
	if len(raw) == 0 {
		return nil
	}
	var x float64
	if json.Unmarshal(raw, &x) == nil {
		return &x
	}
	var a armStat
	if json.Unmarshal(raw, &a) == nil {
		return a.Mean
	}
	return nil
}

// chartSeries is one chart's columns for uPlot (null for a missing value).
type chartSeries struct {
	Key         string     `json:"key"`
	T           []float64  `json:"t"`
	Lower       []*float64 `json:"lower"`
	Upper       []*float64 `json:"upper"`
	Treatment   []*float64 `json:"treatment"`
	Control     []*float64 `json:"control"`
	Tolerance   []*float64 `json:"tolerance"`
	Unit        string     `json:"unit"`
	Estimate    string     `json:"estimate"`
	Status      string     `json:"status"`
	StatusLabel string     `json:"status_label"`
	Tone        string     `json:"tone"`
}

type chartsDoc struct {
	Available bool          `json:"available"`
	AsOf      time.Time     `json:"as_of"`
	Metrics   []chartSeries `json:"metrics"`
}

// analysisAvailable reports whether the analysis API answers for the rollout.
func (d *Dashboard) analysisAvailable(r *http.Request, s *session, id string) bool {
	resp := d.call(r, s, http.MethodGet, "/api/v1/rollouts/"+esc(id)+"/analysis", callOpts{})
	return resp.ok() || !resp.problem().notDeployed()
}

// rolloutSeries answers the charts' poll with JSON.
func (d *Dashboard) rolloutSeries(w http.ResponseWriter, r *http.Request, s *session) {
	id := r.PathValue("id")
	out := chartsDoc{Metrics: []chartSeries{}}
	var ro rolloutView
	if err := d.get(r, s, "/api/v1/rollouts/"+esc(id), &ro); err != nil {
		writeJSONResponse(w, http.StatusOK, out)
		return
	}
	var doc analysisDoc
	if err := d.get(r, s, "/api/v1/rollouts/"+esc(id)+"/analysis", &doc); err == nil {
		out.Available, out.AsOf = true, doc.AsOf
		for _, m := range doc.Metrics {
			if len(m.Segment) > 0 && string(m.Segment) != "null" && string(m.Segment) != "{}" {
				continue // the charts show the whole population
			}
			var g *guardrailView
			for i := range ro.Plan.Guardrails {
				if ro.Plan.Guardrails[i].Metric == m.Metric {
					g = &ro.Plan.Guardrails[i]
				}
			}
			out.Metrics = append(out.Metrics, chartOf(m, g))
		}
	}
	writeJSONResponse(w, http.StatusOK, out)
}

func chartOf(m analysisMetric, g *guardrailView) chartSeries {
	res := m.analysisResult
	if m.Total != nil {
		res = *m.Total
	}
	c := chartSeries{Key: m.Metric, Status: res.Status, StatusLabel: humanize(res.Status), Tone: statusTone(res.Status)}
	if m.Kind == "proportion" {
		c.Unit = "%"
	}
	for _, p := range m.Series {
		at := p.At
		if at.IsZero() {
			at = p.Time
		}
		t, ctl := meanOf(p.Treatment), meanOf(p.Control)
		lo, hi := p.Lower, p.Upper
		if p.DiffBounds != nil {
			lo, hi = p.DiffBounds.Lower, p.DiffBounds.Upper
		}
		c.T = append(c.T, float64(at.Unix()))
		c.Treatment = append(c.Treatment, t)
		c.Control = append(c.Control, ctl)
		c.Lower = append(c.Lower, shift(ctl, lo))
		c.Upper = append(c.Upper, shift(ctl, hi))
		c.Tolerance = append(c.Tolerance, toleranceLine(ctl, g))
	}
	if res.Diff != nil {
		c.Estimate = "difference " + signed(*res.Diff, c.Unit)
		if b := res.DiffBounds; b != nil {
			c.Estimate += " [" + bound(b.Lower, c.Unit, "−∞") + ", " + bound(b.Upper, c.Unit, "+∞") + "]"
		}
		c.Estimate += fmt.Sprintf(" · %s / %s units", thousands(int64(res.Treatment.Units)), thousands(int64(res.Control.Units)))
	}
	return c
}

// shift places a bound of the difference around the control's value.
func shift(base, delta *float64) *float64 {
	if base == nil || delta == nil || math.IsNaN(*delta) || math.IsInf(*delta, 0) {
		return nil
	}
	v := *base + *delta
	return &v
}

// toleranceLine is where the treatment crosses the guardrail, for this control.
func toleranceLine(ctl *float64, g *guardrailView) *float64 {
	if ctl == nil || g == nil {
		return nil
	}
	sign := 1.0
	if g.Direction == "decrease" {
		sign = -1
	}
	v := *ctl + sign*g.Tolerance.Absolute
	if g.Tolerance.Relative != 0 {
		v = *ctl * (1 + sign*g.Tolerance.Relative)
	}
	return &v
}

func signed(x float64, unit string) string {
	s := strconv.FormatFloat(x, 'g', 3, 64)
	if unit == "%" {
		s = strconv.FormatFloat(x*100, 'f', 2, 64) + " pp"
	}
	if x >= 0 {
		return "+" + s
	}
	return s
}

func bound(p *float64, unit, inf string) string {
	if p == nil {
		return inf
	}
	return signed(*p, unit)
}

func writeJSONResponse(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
