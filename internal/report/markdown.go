package report

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/ramp-release/ramp/internal/rollout"
)

// mdWriter builds a Markdown document.
type mdWriter struct{ strings.Builder }

func (w *mdWriter) line(format string, args ...any) {
	fmt.Fprintf(&w.Builder, format, args...)
	w.WriteByte('\n')
}

func (w *mdWriter) table(header []string, rows [][]string) {
	w.line("| %s |", strings.Join(header, " | "))
	seps := make([]string, len(header))
	for i := range seps {
		seps[i] = "---"
	}
	w.line("| %s |", strings.Join(seps, " | "))
	for _, r := range rows {
		for i := range r {
			r[i] = cell(r[i])
		}
		w.line("| %s |", strings.Join(r, " | "))
	}
	w.line("")
}

// Markdown writes the report for people. It reads only the report's fields, so a
// report decoded from its JSON writes the same text.
func (r Report) Markdown() string {
	var w mdWriter
	w.line("# Rollout report: %s in %s", code(r.Flag), r.Environment)
	w.line("")
	plan := "custom plan"
	switch {
	case r.Plan != "" && r.Template != "":
		plan = "plan " + code(r.Plan) + " from template " + code(r.Template)
	case r.Plan != "":
		plan = "plan " + code(r.Plan)
	case r.Template != "":
		plan = "template " + code(r.Template)
	}
	arms := code(r.Treatment) + " against " + code(r.Control)
	if r.HoldoutPercent > 0 {
		arms += ", " + num(r.HoldoutPercent) + " % holdout"
	}
	w.table([]string{"rollout", "plan", "treatment", "status", "as of"},
		[][]string{{code(r.RolloutID), plan, arms, strings.ReplaceAll(string(r.Status), "_", " "), Stamp(r.AsOf)}})
	r.velocityMD(&w)
	r.detectionMD(&w)
	r.adoptionMD(&w)
	r.impactMD(&w)
	w.line("## Notes")
	w.line("")
	w.line("- Figures come from the stored decision log and analysis history only; the same data give the same report.")
	w.line("- Metric intervals are the analysis' anytime-valid intervals at the level the plan's α budget gives each test: valid at every look, and wider than fixed-horizon 95 %% intervals. Adoption intervals are 95 %% Wilson (Newcombe for differences).")
	w.line("- Units are a stage's distinct units per arm (treatment / control), counted from the start of its evidence period.")
	for _, n := range r.Notes {
		w.line("- %s", n)
	}
	return w.String()
}

func (r Report) velocityMD(w *mdWriter) {
	v := r.Velocity
	w.line("## Velocity")
	w.line("")
	if v.StartedAt.IsZero() {
		if !v.ScheduledAt.IsZero() {
			w.line("Scheduled on %s; not started yet.", Stamp(v.ScheduledAt))
		} else {
			w.line("Not started yet.")
		}
		w.line("")
		return
	}
	w.line("- Started %s.", Stamp(v.StartedAt))
	if v.ToFull != nil {
		w.line("- Reached 100 %% on %s: **%s** from 0 to 100 %%.", Stamp(v.FullAt), Span(v.ToFull))
	} else {
		w.line("- Did not reach 100 %%.")
	}
	switch r.Status {
	case rollout.Completed:
		w.line("- Completed on %s, %s after the start.", Stamp(v.EndedAt), Span(v.Elapsed))
	case rollout.RolledBack:
		w.line("- Rolled back on %s, %s after the start.", Stamp(v.EndedAt), Span(v.Elapsed))
	default:
		w.line("- %s for %s so far.", capitalize(string(r.Status)), Span(v.Elapsed))
	}
	paused := v.Paused
	w.line("- %s, %s paused in all; %s.", plural(len(v.Pauses), "pause"), Span(&paused), plural(len(v.Rollbacks), "rollback"))
	if n := len(v.EvidenceRestarts); n > 0 {
		w.line("- %s (the treatment's value changed while it ran).", plural(n, "new evidence period"))
	}
	w.line("")
	var rows [][]string
	for _, s := range v.Stages {
		if s.EnteredAt.IsZero() {
			rows = append(rows, []string{strconv.Itoa(s.Index), s.Name, s.Audience, "not reached", "—", Span(&s.MinDuration), "—", "—", "—", "—"})
			continue
		}
		in := Span(s.Duration)
		if s.Ongoing {
			in += " (ongoing)"
		}
		var waits []string
		for _, wt := range s.Waiting {
			d := wt.Duration
			waits = append(waits, strings.ReplaceAll(string(wt.Reason), "_", " ")+" "+Span(&d))
		}
		wait := "—"
		if len(waits) > 0 {
			wait = strings.Join(waits, ", ")
		}
		paused := "—"
		if s.Paused > 0 {
			p := s.Paused
			paused = Span(&p)
		}
		left := "—"
		if s.Exit != "" {
			left = s.Exit + " by " + s.ExitBy + " at " + Stamp(s.LeftAt)
		}
		rows = append(rows, []string{strconv.Itoa(s.Index), s.Name, s.Audience, Stamp(s.EnteredAt), in, Span(&s.MinDuration), paused, wait, s.Units.String(), left})
	}
	w.table([]string{"#", "stage", "audience", "entered", "time in stage", "minimum", "paused", "held for", "units", "left"}, rows)

	if len(v.Pauses)+len(v.Rollbacks) == 0 {
		return
	}
	w.line("### Pauses and rollbacks")
	w.line("")
	rows = nil
	for _, p := range v.Pauses {
		end := "still paused"
		if !p.Ongoing && p.Ended != "" {
			end = strings.ReplaceAll(p.Ended, "_", " ") + " by " + p.EndedBy + " at " + Stamp(p.EndedAt)
		}
		rows = append(rows, []string{Stamp(p.At), p.StageName, "pause", strings.ReplaceAll(p.Cause, "_", " "), p.By, Span(p.Duration), end, p.Reason})
	}
	for _, rb := range v.Rollbacks {
		rows = append(rows, []string{Stamp(rb.At), rb.StageName, "rollback", strings.ReplaceAll(rb.Cause, "_", " "), rb.By, "—", "—", rb.Reason})
	}
	w.table([]string{"at", "stage", "kind", "cause", "by", "lasted", "ended", "reason"}, rows)
}

func (r Report) detectionMD(w *mdWriter) {
	w.line("## Issue detection")
	w.line("")
	if len(r.Detections) == 0 {
		w.line("No pause and no rollback: nothing was detected.")
		w.line("")
		return
	}
	w.line("Each alert is measured from the start of its stage and from the first tick whose analysis had crossed the line; units are treatment / control.")
	w.line("")
	var rows [][]string
	for _, d := range r.Detections {
		trigger := strings.ReplaceAll(d.Cause, "_", " ")
		if d.Metric != "" {
			trigger += " " + code(d.Metric)
			if d.Dimension != "" {
				trigger += " in " + d.Dimension
			}
		}
		action := string(d.Action)
		if !d.Automatic {
			action += " by " + d.By
		}
		rollback := "—"
		if !d.RollbackAt.IsZero() {
			rollback = Span(d.StageStartToRollback) + " / " + Span(d.FirstCrossedToRollback)
		}
		first := "—"
		if !d.FirstCrossedAt.IsZero() {
			first = Stamp(d.FirstCrossedAt)
		}
		rows = append(rows, []string{Stamp(d.At), d.StageName, action, trigger, Span(d.FromStageStart), first, Span(d.FromFirstCrossed), rollback,
			d.Units.AtDetection.String(), d.Units.CrossedToDetection.String(), d.Units.CrossedToRollback.String()})
	}
	w.table([]string{"detected", "stage", "action", "trigger", "stage start → detection", "first crossed", "crossed → detection",
		"→ rollback (from stage start / from crossing)", "units at detection", "exposed crossing → detection", "exposed crossing → rollback"}, rows)
	for _, d := range r.Detections {
		if d.Summary != "" {
			w.line("- %s at %s: %s", code(d.Metric), d.StageName, d.Summary)
		}
	}
	if hasSummary(r.Detections) {
		w.line("")
	}
}

func hasSummary(ds []Detection) bool {
	for _, d := range ds {
		if d.Summary != "" {
			return true
		}
	}
	return false
}

func (r Report) adoptionMD(w *mdWriter) {
	w.line("## Adoption")
	w.line("")
	a := r.Adoption
	if a == nil || !a.Available {
		if a != nil && a.Note != "" {
			w.line("%s", a.Note)
		} else {
			w.line("Not available.")
		}
		w.line("")
		return
	}
	w.line("Usage metric %s, counted up to %s; each unit in the arm of its first exposure.", code(a.Metric), Stamp(a.AsOf))
	w.line("")
	label := map[string]string{"used": "used it", "day1": "used it on day 1", "day7": "used it on day 7"}
	share := func(s Share) string {
		if s.Value == nil {
			return "—"
		}
		return fmt.Sprintf("%s [%s, %s] (%s of %s)", pct(s.Value), pct(s.Lower), pct(s.Upper), Count(float64(s.K)), Count(float64(s.N)))
	}
	var rows [][]string
	for _, row := range a.Rows {
		diff := "—"
		if row.Diff != nil {
			diff = ppSigned(row.Diff.Value) + " [" + ppSigned(row.Diff.Lower) + ", " + ppSigned(row.Diff.Upper) + "]"
		}
		rows = append(rows, []string{label[row.What], share(row.Treatment), share(row.Control), diff})
	}
	w.table([]string{"share of exposed units that", "treatment", "control", "difference"}, rows)
	w.line("Day 1 and day 7 count only units whose window had fully passed.")
	if a.Note != "" {
		w.line("%s", a.Note)
	}
	w.line("")
}

func (r Report) impactMD(w *mdWriter) {
	w.line("## Business impact")
	w.line("")
	im := r.Impact
	if len(im.Success) == 0 {
		w.line("The plan names no success metric (gate).")
		w.line("")
	} else {
		for _, m := range im.Success {
			f := m.Format()
			var parts []string
			if e := m.Control; e != nil {
				parts = append(parts, fmt.Sprintf("%s against control at %s", f.Interval(e.Diff, e.Lower, e.Upper), e.StageName))
			}
			if e := m.Holdout; e != nil {
				parts = append(parts, fmt.Sprintf("%s against the holdout at %s", f.Interval(e.Diff, e.Lower, e.Upper), e.StageName))
			}
			if len(parts) == 0 {
				parts = append(parts, "no estimate stored")
			}
			w.line("- %s: %s.", code(m.Metric), strings.Join(parts, "; "))
		}
		w.line("")
	}
	if !im.Holdout {
		w.line("The plan keeps no holdout, so nothing compares treated with untreated units once the rollout serves 100 %%.")
		w.line("")
	}
	r.estimatesMD(w, "### Success metrics by stage", im.Success)
	r.estimatesMD(w, "### Guardrails by stage", im.Guardrails)
}

func (r Report) estimatesMD(w *mdWriter, title string, ms []MetricImpact) {
	var rows [][]string
	for _, m := range ms {
		f := m.Format()
		for _, e := range m.Stages {
			rows = append(rows, []string{code(m.Metric), e.StageName, e.Against, f.Value(e.Treatment), f.Value(e.Control),
				f.Interval(e.Diff, e.Lower, e.Upper), Count(e.UnitsTreatment) + " / " + Count(e.UnitsControl), strings.ReplaceAll(e.Status, "_", " ")})
		}
	}
	if len(rows) == 0 {
		return
	}
	w.line("%s", title)
	w.line("")
	w.line("The last tick of each stage: treatment, control, and the difference with its interval.")
	w.line("")
	w.table([]string{"metric", "stage", "against", "treatment", "control", "difference [interval]", "units", "status"}, rows)
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return strconv.Itoa(n) + " " + what + "s"
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// Markdown writes the portfolio for people.
func (p Portfolio) Markdown() string {
	var w mdWriter
	w.line("# Rollout portfolio")
	w.line("")
	w.line("As of %s: %s.", Stamp(p.AsOf), plural(p.Overall.Rollouts, "rollout"))
	w.line("")
	header := []string{"", "rollouts", "completed", "rolled back", "active", "rollback rate", "median 0 → 100 %", "alerts", "median stage start → detection", "median crossed → detection", "median treatment units at detection", "pauses per rollout"}
	rows := func(gs []Group) [][]string {
		var out [][]string
		for _, g := range gs {
			rate := "—"
			if g.RollbackRate != nil {
				rate = strconv.FormatFloat(*g.RollbackRate*100, 'f', 0, 64) + " %"
			}
			full := Span(g.MedianToFull)
			if g.ReachedFull > 0 {
				full += " (" + strconv.Itoa(g.ReachedFull) + ")"
			}
			unitsAt := "—"
			if g.MedianTreatmentAtDetection != nil {
				unitsAt = Count(*g.MedianTreatmentAtDetection)
			}
			out = append(out, []string{g.Key, strconv.Itoa(g.Rollouts), strconv.Itoa(g.Completed), strconv.Itoa(g.RolledBack), strconv.Itoa(g.Active), rate,
				full, strconv.Itoa(g.Detections), Span(g.MedianDetection), Span(g.MedianCrossedToDetection), unitsAt, strconv.FormatFloat(g.PausesPerRollout, 'f', 2, 64)})
		}
		return out
	}
	w.line("## All rollouts")
	w.line("")
	w.table(header, rows([]Group{p.Overall}))
	for _, sec := range []struct {
		title string
		gs    []Group
	}{{"## By environment", p.ByEnvironment}, {"## By template", p.ByTemplate}, {"## By month of start", p.ByMonth}} {
		if len(sec.gs) == 0 {
			continue
		}
		w.line("%s", sec.title)
		w.line("")
		w.table(header, rows(sec.gs))
	}
	if len(p.Rollouts) > 0 {
		w.line("## Rollouts")
		w.line("")
		var rs [][]string
		for _, s := range p.Rollouts {
			rs = append(rs, []string{code(s.ID), code(s.Flag), s.Environment, s.Group, strings.ReplaceAll(string(s.Status), "_", " "), Stamp(s.StartedAt),
				Span(s.ToFull), strconv.Itoa(s.Pauses), strconv.Itoa(s.Detections), Span(s.FirstDetection)})
		}
		w.table([]string{"rollout", "flag", "environment", "template", "status", "started", "0 → 100 %", "pauses", "alerts", "first alert from stage start"}, rs)
	}
	w.line("Medians are over the rollouts (or automatic alerts) that have the figure; a rollback after a pause for the same issue counts once. The rollback rate is over finished rollouts.")
	return w.String()
}
