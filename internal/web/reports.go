package web

import (
	"math"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ramp-release/ramp/internal/report"
	"github.com/ramp-release/ramp/internal/rollout"
)

// The report pages read GET /api/v1/rollouts/{id}/report and GET
// /api/v1/reports/portfolio. The figures are the report package's, written the
// same way as in `ramp report`; the charts fetch the report's series as uPlot
// columns from /rollouts/{id}/report/charts: exposure and the treated percentage
// over time, and each metric's difference with its interval, with the decisions
// marked.

// reportData is what the report page shows.
type reportData struct {
	R           report.Report
	NotDeployed bool
	Facts       []reportFact
	Stages      []reportStage
	Stops       []reportStop
	Alerts      []reportAlert
	Adoption    []reportShareRow
	Headlines   []reportHeadline
	Estimates   []reportEstimate
	Charts      []reportChartBox
	Usage       string
}

type reportFact struct{ Label, Value, Detail string }

type reportStage struct {
	Index                                                   int
	Name, Audience, Entered, InStage, Minimum, Paused, Held string
	Units, Left, State                                      string
}

type reportStop struct{ At, Stage, Kind, Cause, By, Lasted, Ended, Reason string }

type reportAlert struct {
	At, Stage, Action, Trigger, FromStart, FirstCrossed, FromCrossed, ToRollback string
	AtDetection, Meanwhile, UntilRollback, Summary                               string
}

type reportShareRow struct{ What, Treatment, Control, Diff string }

type reportHeadline struct{ Metric, Control, Holdout string }

type reportEstimate struct{ Metric, Role, Stage, Against, Treatment, Control, Diff, Units, Status string }

type reportChartBox struct{ Key, Title, Role string }

func (d *Dashboard) reportPage(w http.ResponseWriter, r *http.Request, s *session) {
	id := r.PathValue("id")
	var rep report.Report
	err := d.get(r, s, reportURL(id, r.URL.Query().Get("usage"), ""), &rep)
	if p, ok := err.(*apiProblem); ok && p.notDeployed() {
		d.render(w, r, http.StatusOK, "report", d.newPage(r, s, "Report", "reports", "", &reportData{NotDeployed: true, R: report.Report{RolloutID: id}}))
		return
	}
	if err != nil {
		d.apiError(w, r, s, err)
		return
	}
	data := reportView(rep)
	data.Usage = r.URL.Query().Get("usage")
	d.render(w, r, http.StatusOK, "report", d.newPage(r, s, "Report · "+rep.Flag, "reports", rep.Environment, data))
}

func reportURL(id, usage, format string) string {
	q := url.Values{}
	if usage != "" {
		q.Set("usage", usage)
	}
	if format != "" {
		q.Set("format", format)
	}
	u := "/api/v1/rollouts/" + esc(id) + "/report"
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	return u
}

// reportMarkdown offers the Markdown report as a download.
func (d *Dashboard) reportMarkdown(w http.ResponseWriter, r *http.Request, s *session) {
	id := r.PathValue("id")
	resp := d.call(r, s, http.MethodGet, reportURL(id, r.URL.Query().Get("usage"), "markdown"), callOpts{})
	if !resp.ok() {
		d.apiError(w, r, s, resp.problem())
		return
	}
	w.Header().Set("Content-Type", "text/markdown; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="ramp-report-`+sanitizeFilename(id)+`.md"`)
	_, _ = w.Write(resp.Body)
}

func sanitizeFilename(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' {
			return r
		}
		return '_'
	}, s)
}

func durText(d rollout.Duration) string { return report.Span(&d) }

func reportView(rep report.Report) *reportData {
	data := &reportData{R: rep}
	v := rep.Velocity
	toFull := "not reached"
	if v.ToFull != nil {
		toFull = report.Span(v.ToFull)
	}
	elapsed := report.Span(v.Elapsed)
	alerts := 0
	for _, a := range rep.Detections {
		if a.Automatic && !a.FollowsPause {
			alerts++
		}
	}
	data.Facts = []reportFact{
		{"0 → 100 %", toFull, "from the start to the first stage serving everyone"},
		{"elapsed", elapsed, strings.ReplaceAll(string(rep.Status), "_", " ")},
		{"pauses", strconv.Itoa(len(v.Pauses)), durText(v.Paused) + " paused"},
		{"rollbacks", strconv.Itoa(len(v.Rollbacks)), ""},
		{"automatic alerts", strconv.Itoa(alerts), ""},
	}
	for _, st := range v.Stages {
		row := reportStage{Index: st.Index, Name: st.Name, Audience: st.Audience, Minimum: durText(st.MinDuration), Entered: "not reached",
			InStage: "—", Paused: "—", Held: "—", Units: st.Units.String(), Left: "—", State: "upcoming"}
		if !st.EnteredAt.IsZero() {
			row.Entered, row.InStage, row.State = report.Stamp(st.EnteredAt), report.Span(st.Duration), "done"
			if st.Ongoing {
				row.InStage += " (ongoing)"
				row.State = "current"
			}
			if st.Paused > 0 {
				row.Paused = durText(st.Paused)
			}
			var held []string
			for _, w := range st.Waiting {
				held = append(held, humanize(string(w.Reason))+" "+durText(w.Duration))
			}
			if len(held) > 0 {
				row.Held = strings.Join(held, ", ")
			}
			if st.Exit != "" {
				row.Left = st.Exit + " by " + st.ExitBy + " at " + report.Stamp(st.LeftAt)
			}
		}
		data.Stages = append(data.Stages, row)
	}
	for _, p := range v.Pauses {
		end := "still paused"
		if !p.Ongoing && p.Ended != "" {
			end = humanize(p.Ended) + " by " + p.EndedBy + " at " + report.Stamp(p.EndedAt)
		}
		data.Stops = append(data.Stops, reportStop{At: report.Stamp(p.At), Stage: p.StageName, Kind: "pause", Cause: humanize(p.Cause), By: p.By,
			Lasted: report.Span(p.Duration), Ended: end, Reason: p.Reason})
	}
	for _, rb := range v.Rollbacks {
		data.Stops = append(data.Stops, reportStop{At: report.Stamp(rb.At), Stage: rb.StageName, Kind: "rollback", Cause: humanize(rb.Cause), By: rb.By,
			Lasted: "—", Ended: "—", Reason: rb.Reason})
	}
	for _, a := range rep.Detections {
		trigger := humanize(a.Cause)
		if a.Metric != "" {
			trigger += " " + a.Metric
			if a.Dimension != "" {
				trigger += " in " + a.Dimension
			}
		}
		action := string(a.Action)
		if !a.Automatic {
			action += " by " + a.By
		}
		toRollback := "—"
		if !a.RollbackAt.IsZero() {
			toRollback = report.Span(a.StageStartToRollback) + " / " + report.Span(a.FirstCrossedToRollback)
		}
		first := "—"
		if !a.FirstCrossedAt.IsZero() {
			first = report.Stamp(a.FirstCrossedAt)
		}
		data.Alerts = append(data.Alerts, reportAlert{At: report.Stamp(a.At), Stage: a.StageName, Action: action, Trigger: trigger,
			FromStart: report.Span(a.FromStageStart), FirstCrossed: first, FromCrossed: report.Span(a.FromFirstCrossed), ToRollback: toRollback,
			AtDetection: a.Units.AtDetection.String(), Meanwhile: a.Units.CrossedToDetection.String(), UntilRollback: a.Units.CrossedToRollback.String(), Summary: a.Summary})
	}
	if a := rep.Adoption; a != nil && a.Available {
		label := map[string]string{"used": "used it", "day1": "used it on day 1", "day7": "used it on day 7"}
		for _, row := range a.Rows {
			diff := "—"
			if row.Diff != nil {
				diff = signedPP(row.Diff.Value) + " [" + signedPP(row.Diff.Lower) + ", " + signedPP(row.Diff.Upper) + "]"
			}
			data.Adoption = append(data.Adoption, reportShareRow{What: label[row.What], Treatment: shareText(row.Treatment), Control: shareText(row.Control), Diff: diff})
		}
	}
	for _, m := range rep.Impact.Success {
		f := m.Format()
		h := reportHeadline{Metric: m.Metric, Control: "—", Holdout: "—"}
		if e := m.Control; e != nil {
			h.Control = f.Interval(e.Diff, e.Lower, e.Upper) + " at " + e.StageName
		}
		if e := m.Holdout; e != nil {
			h.Holdout = f.Interval(e.Diff, e.Lower, e.Upper) + " at " + e.StageName
		}
		data.Headlines = append(data.Headlines, h)
	}
	for _, group := range []struct {
		role string
		ms   []report.MetricImpact
	}{{"success", rep.Impact.Success}, {"guardrail", rep.Impact.Guardrails}} {
		for _, m := range group.ms {
			f := m.Format()
			for _, e := range m.Stages {
				data.Estimates = append(data.Estimates, reportEstimate{Metric: m.Metric, Role: group.role, Stage: e.StageName, Against: e.Against,
					Treatment: f.Value(e.Treatment), Control: f.Value(e.Control), Diff: f.Interval(e.Diff, e.Lower, e.Upper),
					Units: report.Count(e.UnitsTreatment) + " / " + report.Count(e.UnitsControl), Status: e.Status})
			}
		}
	}
	for _, m := range rep.Charts.Metrics {
		title := m.Metric
		if m.Role == "gate" {
			title += " (success metric)"
		}
		data.Charts = append(data.Charts, reportChartBox{Key: chartKey(m), Title: title, Role: m.Role})
	}
	return data
}

func chartKey(m report.MetricSeries) string { return m.Role + ":" + m.Metric }

func shareText(s report.Share) string {
	if s.Value == nil {
		return "—"
	}
	one := func(x *float64) string { return strconv.FormatFloat(*x*100, 'f', 1, 64) + "%" }
	return one(s.Value) + " [" + one(s.Lower) + ", " + one(s.Upper) + "] · " + report.Count(float64(s.K)) + " of " + report.Count(float64(s.N))
}

func signedPP(x *float64) string {
	if x == nil {
		return "—"
	}
	s := strconv.FormatFloat(*x*100, 'f', 1, 64)
	if *x >= 0 {
		s = "+" + s
	}
	return s + " pp"
}

// --- charts

// reportCharts are the report's plots as uPlot columns: one shared time axis per
// chart (Unix seconds), null where a series has no value.
type reportCharts struct {
	Exposure exposureColumns `json:"exposure"`
	Marks    []chartMark     `json:"marks"`
	Metrics  []diffColumns   `json:"metrics"`
}

type exposureColumns struct {
	T         []float64  `json:"t"`
	Treatment []*float64 `json:"treatment"`
	Control   []*float64 `json:"control"`
	Percent   []*float64 `json:"percent"`
}

type chartMark struct {
	T     float64 `json:"t"`
	Kind  string  `json:"kind"`
	Tone  string  `json:"tone"`
	Label string  `json:"label"`
}

// diffColumns are one metric's difference and bounds in display units: percentage
// points for proportions, percent for log-scale metrics.
type diffColumns struct {
	Key   string     `json:"key"`
	Unit  string     `json:"unit"`
	T     []float64  `json:"t"`
	Diff  []*float64 `json:"diff"`
	Lower []*float64 `json:"lower"`
	Upper []*float64 `json:"upper"`
}

func (d *Dashboard) reportCharts(w http.ResponseWriter, r *http.Request, s *session) {
	var rep report.Report
	if err := d.get(r, s, reportURL(r.PathValue("id"), "", ""), &rep); err != nil {
		writeJSONResponse(w, http.StatusOK, reportCharts{Marks: []chartMark{}, Metrics: []diffColumns{}})
		return
	}
	writeJSONResponse(w, http.StatusOK, chartsOf(rep.Charts))
}

func unix(t time.Time) float64 { return float64(t.UnixMilli()) / 1000 }

func chartsOf(c report.Charts) reportCharts {
	out := reportCharts{Marks: []chartMark{}, Metrics: []diffColumns{}}
	// Exposure: the points' times and the percentage's steps on one axis.
	type row struct {
		t      time.Time
		nt, nc *float64
	}
	byTime := map[int64]*row{}
	for _, p := range c.Exposure {
		nt, nc := p.UnitsTreatment, p.UnitsControl
		byTime[p.At.UnixMilli()] = &row{t: p.At, nt: &nt, nc: &nc}
	}
	for _, p := range c.Percent {
		if _, ok := byTime[p.At.UnixMilli()]; !ok {
			byTime[p.At.UnixMilli()] = &row{t: p.At}
		}
	}
	keys := make([]int64, 0, len(byTime))
	for k := range byTime {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	for _, k := range keys {
		rw := byTime[k]
		pct := 0.0
		for _, p := range c.Percent {
			if !p.At.After(rw.t) {
				pct = p.Percent
			}
		}
		out.Exposure.T = append(out.Exposure.T, unix(rw.t))
		out.Exposure.Treatment = append(out.Exposure.Treatment, rw.nt)
		out.Exposure.Control = append(out.Exposure.Control, rw.nc)
		out.Exposure.Percent = append(out.Exposure.Percent, &pct)
	}
	for _, m := range c.Marks {
		out.Marks = append(out.Marks, chartMark{T: unix(m.At), Kind: m.Kind, Tone: statusTone(m.Kind), Label: m.Label})
	}
	for _, m := range c.Metrics {
		col := diffColumns{Key: chartKey(m), T: []float64{}, Diff: []*float64{}, Lower: []*float64{}, Upper: []*float64{}}
		conv := func(x *float64) *float64 {
			if x == nil || math.IsNaN(*x) || math.IsInf(*x, 0) {
				return nil
			}
			v := *x
			switch {
			case m.Kind == "proportion":
				v *= 100
			case m.Transform == "log":
				v = math.Expm1(v) * 100
			}
			return &v
		}
		switch {
		case m.Kind == "proportion":
			col.Unit = "pp"
		case m.Transform == "log":
			col.Unit = "%"
		}
		for i, p := range m.Points {
			if i > 0 && p.Stage != m.Points[i-1].Stage {
				// A new stage is a new comparison: leave a gap rather than a line.
				mid := m.Points[i-1].At.Add(p.At.Sub(m.Points[i-1].At) / 2)
				col.T = append(col.T, unix(mid))
				col.Diff, col.Lower, col.Upper = append(col.Diff, nil), append(col.Lower, nil), append(col.Upper, nil)
			}
			col.T = append(col.T, unix(p.At))
			col.Diff = append(col.Diff, conv(p.Diff))
			col.Lower = append(col.Lower, conv(p.Lower))
			col.Upper = append(col.Upper, conv(p.Upper))
		}
		out.Metrics = append(out.Metrics, col)
	}
	return out
}

// --- the portfolio

type portfolioData struct {
	P           report.Portfolio
	NotDeployed bool
	Env         string
	Template    string
	Sections    []portfolioSection
	Rollouts    []portfolioRollout
}

type portfolioSection struct {
	Title string
	Rows  []portfolioRow
}

type portfolioRow struct {
	Key, Rollouts, Completed, RolledBack, Active, RollbackRate, ToFull, Alerts, Detection, Crossed, Units, Pauses string
}

type portfolioRollout struct {
	ID, Flag, Environment, Group, Status, Started, ToFull, Pauses, Alerts, FirstAlert string
}

func (d *Dashboard) portfolioPage(w http.ResponseWriter, r *http.Request, s *session) {
	q := url.Values{}
	env, template := r.URL.Query().Get("environment"), r.URL.Query().Get("template")
	if env != "" {
		q.Set("environment", env)
	}
	if template != "" {
		q.Set("template", template)
	}
	target := "/api/v1/reports/portfolio"
	if len(q) > 0 {
		target += "?" + q.Encode()
	}
	var pf report.Portfolio
	err := d.get(r, s, target, &pf)
	data := &portfolioData{Env: env, Template: template}
	if p, ok := err.(*apiProblem); ok && p.notDeployed() {
		data.NotDeployed = true
		d.render(w, r, http.StatusOK, "portfolio", d.newPage(r, s, "Reports", "reports", env, data))
		return
	}
	if err != nil {
		d.apiError(w, r, s, err)
		return
	}
	data.P = pf
	rows := func(gs []report.Group) []portfolioRow {
		var out []portfolioRow
		for _, g := range gs {
			rate := "—"
			if g.RollbackRate != nil {
				rate = strconv.FormatFloat(*g.RollbackRate*100, 'f', 0, 64) + "%"
			}
			units := "—"
			if g.MedianTreatmentAtDetection != nil {
				units = report.Count(*g.MedianTreatmentAtDetection)
			}
			toFull := report.Span(g.MedianToFull)
			if g.ReachedFull > 0 {
				toFull += " (" + strconv.Itoa(g.ReachedFull) + ")"
			}
			out = append(out, portfolioRow{Key: g.Key, Rollouts: strconv.Itoa(g.Rollouts), Completed: strconv.Itoa(g.Completed), RolledBack: strconv.Itoa(g.RolledBack),
				Active: strconv.Itoa(g.Active), RollbackRate: rate, ToFull: toFull, Alerts: strconv.Itoa(g.Detections), Detection: report.Span(g.MedianDetection),
				Crossed: report.Span(g.MedianCrossedToDetection), Units: units, Pauses: strconv.FormatFloat(g.PausesPerRollout, 'f', 2, 64)})
		}
		return out
	}
	data.Sections = []portfolioSection{{"All rollouts", rows([]report.Group{pf.Overall})}}
	for _, sec := range []struct {
		title string
		gs    []report.Group
	}{{"By environment", pf.ByEnvironment}, {"By template", pf.ByTemplate}, {"By month of start", pf.ByMonth}} {
		if len(sec.gs) > 0 {
			data.Sections = append(data.Sections, portfolioSection{sec.title, rows(sec.gs)})
		}
	}
	for i := len(pf.Rollouts) - 1; i >= 0; i-- { // newest first
		ro := pf.Rollouts[i]
		data.Rollouts = append(data.Rollouts, portfolioRollout{ID: ro.ID, Flag: ro.Flag, Environment: ro.Environment, Group: ro.Group, Status: string(ro.Status),
			Started: report.Stamp(ro.StartedAt), ToFull: report.Span(ro.ToFull), Pauses: strconv.Itoa(ro.Pauses), Alerts: strconv.Itoa(ro.Detections),
			FirstAlert: report.Span(ro.FirstDetection)})
	}
	d.render(w, r, http.StatusOK, "portfolio", d.newPage(r, s, "Reports", "reports", env, data))
}
