package main

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/ramp-release/ramp/flags"
	"github.com/ramp-release/ramp/internal/rollout"
	"github.com/ramp-release/ramp/internal/sim"
)

// simulateOptions are the flags of ramp simulate.
type simulateOptions struct {
	plan, template string
	runs           int
	scenarios      string
	unitsPerTick   int
	seed           uint64
	json           bool
	onset          string
	observe        bool
	horizon        string
	workers        int
	traffic        string
	flagEval       bool
}

func newSimulateCommand() *cobra.Command {
	var o simulateOptions
	cmd := &cobra.Command{
		Use:   "simulate (--plan FILE | --template NAME) [--runs N] [--scenarios aa,error,...]",
		Short: "Rehearse a plan: run many simulated rollouts against injected regressions",
		Long: `simulate runs many rollouts of a plan on a virtual clock — a tick is 5 virtual
minutes — against simulated traffic, with the same rollout and analysis code as the
server: the real rendered flag rules assign units, the real analysis tests them, the
real decision function advances, pauses and rolls back. Each scenario injects a
known truth; the report says how often ramp acts on it and how fast:

  aa       no effect: every rollback is a false one
  error    error rate +50 % (1.0 → 1.5 %)
  thumbs   thumbs-up rate 0.80 → 0.76
  latency  latency +15 %
  segment  error rate +100 % for country=BR only (10 % of units)
  drift    error rate growing by +50 % a day
  srm      an assignment bug: treatment's logged share 1.1 × the planned one

A/A runs go through the whole plan from its first stage; the other scenarios start
at their onset stage (--onset, by default the first ring of at least 5 %). Beside
ramp's decision the report shows, on the same data, a fixed-horizon z-test checked
every tick, a Flagger-style threshold check (treatment error rate above 1.5 ×
control's for 3 ticks in a row) and the SPRT oracle's expected sample size.

See docs/simulate.md.`,
		Example: `  ramp simulate --template ai-standard --runs 1000 --scenarios aa
  ramp simulate --plan plan.yaml --runs 300 --scenarios error,thumbs,latency,segment
  ramp simulate --plan plan.yaml --scenarios error --observe --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return runSimulate(cmd, &o) },
	}
	f := cmd.Flags()
	f.StringVar(&o.plan, "plan", "", "the plan to simulate, a YAML or JSON file in the format of ramp's plans (\"-\" for stdin)")
	f.StringVar(&o.template, "template", "", "simulate a built-in template: "+strings.Join(rollout.TemplateNames(), ", "))
	f.IntVar(&o.runs, "runs", 200, "rollouts per scenario")
	f.StringVar(&o.scenarios, "scenarios", strings.Join(sim.ScenarioNames(), ","), "comma-separated scenarios: "+strings.Join(sim.ScenarioNames(), ", "))
	f.IntVar(&o.unitsPerTick, "units-per-tick", sim.DefaultUnitsPerTick, "new units every tick (5 virtual minutes)")
	f.Uint64Var(&o.seed, "seed", 1, "seed of the runs: the same seed gives the same figures")
	f.BoolVar(&o.json, "json", false, "print the summaries as JSON")
	f.StringVar(&o.onset, "onset", "", "stage where effects start, optionally with a delay: STAGE or STAGE+DURATION (default: the first ring of at least 5 %)")
	f.BoolVar(&o.observe, "observe", false, "hold the rollout at the onset stage and apply no decision, so that every detector watches the same data until it fires (measures the tests rather than the plan)")
	f.StringVar(&o.horizon, "horizon", "", "longest virtual time of a run (default 60d; 14d with --observe)")
	f.IntVar(&o.workers, "workers", runtime.GOMAXPROCS(0), "runs simulated in parallel")
	f.StringVar(&o.traffic, "traffic", "", "a YAML or JSON file overriding fields of the traffic model (shares, baselines); see docs/simulate.md")
	f.BoolVar(&o.flagEval, "flag-eval", false, "evaluate every unit with the flag evaluator instead of walking the same rendered rules directly (slower, same assignment)")
	return cmd
}

// simulateReport is the --json output.
type simulateReport struct {
	Plan         rollout.Plan      `json:"plan"`
	Traffic      sim.Traffic       `json:"traffic"`
	TickMinutes  float64           `json:"tick_minutes"`
	Seed         uint64            `json:"seed"`
	Runs         int               `json:"runs"`
	Alpha        alphaSplit        `json:"alpha"`
	Sizing       []rollout.Sizing  `json:"sizing"`
	Notes        []string          `json:"notes,omitempty"`
	Scenarios    []sim.Summary     `json:"scenarios"`
	WallSeconds  float64           `json:"wall_seconds"`
	ScenarioTime map[string]string `json:"scenario_wall_time"`
}

type alphaSplit struct {
	Plan         float64 `json:"plan"`
	TestedStages int     `json:"tested_stages"`
	Metrics      int     `json:"metrics"`
	Overall      float64 `json:"overall_test"`
	Segment      float64 `json:"segment_test"`
	SegmentTests int     `json:"segment_tests_per_metric"`
	SRM          float64 `json:"srm"`
}

func runSimulate(cmd *cobra.Command, o *simulateOptions) error {
	plan, err := simulatedPlan(cmd, o)
	if err != nil {
		return err
	}
	traffic := sim.DefaultTraffic()
	if o.traffic != "" {
		js, err := readDocument(cmd, o.traffic)
		if err != nil {
			return err
		}
		if err := flags.DecodeJSON(js, &traffic); err != nil {
			return fmt.Errorf("%s: %w", o.traffic, err)
		}
	}
	if cmd.Flags().Changed("units-per-tick") || o.traffic == "" {
		traffic.UnitsPerTick = o.unitsPerTick
	}
	if o.runs <= 0 {
		return fmt.Errorf("--runs %d: give at least one run", o.runs)
	}
	scenarios, err := sim.ParseScenarios(o.scenarios)
	if err != nil {
		return err
	}
	var onset sim.Onset
	if o.onset != "" {
		if onset, err = sim.ParseOnset(o.onset); err != nil {
			return err
		}
	}
	var horizon time.Duration
	if o.horizon != "" {
		d, err := rollout.ParseDuration(o.horizon)
		if err != nil {
			return fmt.Errorf("--horizon: %w", err)
		}
		horizon = d.D()
	} else if o.observe {
		horizon = 14 * 24 * time.Hour
	}

	out := cmd.OutOrStdout()
	progress := newProgress(cmd.ErrOrStderr())
	began := time.Now()
	rep := simulateReport{Traffic: traffic, TickMinutes: sim.DefaultTick.Minutes(), Seed: o.seed, Runs: o.runs, ScenarioTime: map[string]string{}}
	for i, sc := range scenarios {
		sc.Onset = onset
		s, err := sim.New(sim.Config{Plan: plan, Traffic: traffic, Scenario: sc, Observe: o.observe, Horizon: horizon, RealEvaluation: o.flagEval})
		if err != nil {
			return err
		}
		if i == 0 {
			rep.Plan = *s.Plan()
			rep.Plan.Location = nil
			b := s.Budget()
			rep.Alpha = alphaSplit{Plan: b.Alpha, TestedStages: b.Stages, Metrics: b.Metrics, Overall: b.Total, Segment: b.Segment, SegmentTests: b.SegmentTests, SRM: b.SRM}
			rep.Sizing = s.Sizing(o.seed)
			rep.Notes = s.Notes()
			if !o.json {
				printSimulateHeader(out, &rep)
			}
		}
		t0 := time.Now()
		runs, err := s.RunMany(cmd.Context(), o.runs, o.seed+uint64(i)*1_000_003, o.workers, progress.update(sc.Name, o.runs))
		progress.done()
		if err != nil {
			return fmt.Errorf("scenario %s: %w", sc.Name, err)
		}
		rep.ScenarioTime[sc.Name] = time.Since(t0).Round(100 * time.Millisecond).String()
		rep.Scenarios = append(rep.Scenarios, s.Summarize(runs))
	}
	rep.WallSeconds = math.Round(time.Since(began).Seconds()*10) / 10
	if o.json {
		return printJSON(out, rep)
	}
	return printSimulateTables(out, &rep)
}

// simulatedPlan reads --plan or instantiates --template.
func simulatedPlan(cmd *cobra.Command, o *simulateOptions) (rollout.Plan, error) {
	switch {
	case o.plan != "" && o.template != "":
		return rollout.Plan{}, errors.New("give --plan FILE or --template NAME, not both")
	case o.template != "":
		p, ok := rollout.Template(o.template)
		if !ok {
			return p, fmt.Errorf("unknown template %q; the built-in templates are %s", o.template, strings.Join(rollout.TemplateNames(), ", "))
		}
		p.Name = o.template
		return p, nil
	case o.plan != "":
		js, err := readDocument(cmd, o.plan)
		if err != nil {
			return rollout.Plan{}, err
		}
		var p rollout.Plan
		if err := flags.DecodeJSON(js, &p); err != nil {
			return p, fmt.Errorf("%s: %w", o.plan, err)
		}
		if p.Template != "" && len(p.Stages) == 0 {
			// A plan naming a template and overriding some of it.
			return rollout.Instantiate(p.Template, p)
		}
		return p, nil
	}
	return rollout.Plan{}, errors.New("give the plan to simulate: --plan FILE or --template NAME (" + strings.Join(rollout.TemplateNames(), ", ") + ")")
}

func printSimulateHeader(w io.Writer, rep *simulateReport) {
	p := &rep.Plan
	name := p.Name
	if name == "" {
		name = p.Flag
	}
	stages := make([]string, len(p.Stages))
	for i, s := range p.Stages {
		stages[i] = s.Name
	}
	basis := p.AdvanceOn
	if basis == "" {
		basis = rollout.OnEvidence
	}
	guards := make([]string, len(p.Guardrails))
	for i, g := range p.Guardrails {
		guards[i] = g.Metric
	}
	fmt.Fprintf(w, "plan %s: %s; advances on %s; guardrails %s\n", name, strings.Join(stages, " → "), basis, strings.Join(guards, ", "))
	a := rep.Alpha
	fmt.Fprintf(w, "α %.3g for the plan over %d tested stages × %d metrics: %.2g per overall test, %.2g per segment test (%d per metric), SRM %.2g per stage\n",
		a.Plan, a.TestedStages, a.Metrics, a.Overall, a.Segment, a.SegmentTests, a.SRM)
	t := rep.Traffic
	fmt.Fprintf(w, "traffic: %d new units every %g virtual minutes; internal %.3g %%, beta %.3g %%; error %.3g %%, thumbs-up %.3g, latency median %g ms (log-sd %g)\n",
		t.UnitsPerTick, rep.TickMinutes, 100*t.Internal, 100*t.Beta, 100*t.ErrorRate, t.ThumbsUp, t.LatencyMedianMs, t.LatencyLogSD)
	fmt.Fprintf(w, "%d runs per scenario, seed %d\n", rep.Runs, rep.Seed)
	for _, n := range rep.Notes {
		fmt.Fprintln(w, "note:", n)
	}
	if len(rep.Sizing) > 0 {
		fmt.Fprintln(w, "stage sizing at this traffic (the plan's own recommendation, CLARIFICATIONS §41):")
		var rows [][]string
		seen := map[string]bool{}
		var notes []string
		for i, sz := range rep.Sizing {
			st := p.Stages[i]
			need, exp := "—", "—"
			if sz.Treatment > 0 {
				need = fmt.Sprintf("%s T (%s)", unitsFmt(float64(sz.Treatment)), sz.Metric)
				exp = virtual(sz.Expected.D())
			}
			share := "—"
			if sz.TreatmentShare > 0 {
				share = strconv.FormatFloat(100*sz.TreatmentShare, 'g', 4, 64) + " %"
			}
			rows = append(rows, []string{sz.StageName, share, unitsFmt(sz.UnitsPerHour), need, exp, orDash(st.MinDuration), orDash(st.MaxDuration), strconv.FormatInt(st.MinUnitsPerArm, 10)})
			for _, wn := range sz.Warnings {
				// The same note for every stage is shown once.
				if _, rest, ok := strings.Cut(wn, "\": "); ok && strings.Contains(rest, "cannot be sized") {
					if !seen[rest] {
						seen[rest] = true
						notes = append(notes, rest)
					}
				}
			}
		}
		_ = table(indent{w, new(bool)}, []string{"STAGE", "π", "COMPARED UNITS/H", "NEEDS", "EXPECTED", "MIN", "MAX", "MIN UNITS/ARM"}, rows)
		for _, n := range notes {
			fmt.Fprintln(w, "  note:", n)
		}
	}
	fmt.Fprintln(w)
}

func orDash(d rollout.Duration) string {
	if d == 0 {
		return "—"
	}
	return d.String()
}

// indent prefixes every line with two spaces.
type indent struct {
	w   io.Writer
	mid *bool // within a line
}

func (i indent) Write(b []byte) (int, error) {
	for _, l := range strings.SplitAfter(string(b), "\n") {
		if l == "" {
			continue
		}
		if !*i.mid {
			l = "  " + l
		}
		*i.mid = !strings.HasSuffix(l, "\n")
		if _, err := io.WriteString(i.w, l); err != nil {
			return 0, err
		}
	}
	return len(b), nil
}

func printSimulateTables(w io.Writer, rep *simulateReport) error {
	observe := len(rep.Scenarios) > 0 && rep.Scenarios[0].Observe
	if observe {
		fmt.Fprintf(w, "Detection by ramp (--observe: held at %s, no decision applied; DETECTED counts stops on a guardrail, or SRM pauses in the srm scenario)\n", rep.Scenarios[0].Onset)
	} else {
		fmt.Fprintln(w, "Outcomes (ramp's decisions applied; DETECTED counts stops on a guardrail, or SRM pauses in the srm scenario)")
	}
	var rows [][]string
	for _, s := range rep.Scenarios {
		oc := s.Outcomes
		paused := oc[sim.StopPausedGuardrail] + oc[sim.StopPausedSRM] + oc[sim.StopPausedEvidence] + oc[sim.StopPausedOther]
		det := fmt.Sprintf("power %s", rateCI(s.Ramp))
		delayUnits, delayTime := pair(s.Ramp.TreatmentUnits, unitsFmt), durPair(s.Ramp.Delay)
		switch {
		case s.AA:
			det = fmt.Sprintf("false %s", rateCI(s.Ramp))
			delayUnits, delayTime = "—", "—"
		case s.Ramp.Fired == 0:
			delayUnits, delayTime = never+" / "+never, never+" / "+never
		}
		row := []string{s.Scenario, strconv.Itoa(s.Runs)}
		if !observe {
			row = append(row, strconv.Itoa(oc[sim.StopRolledBack]), pausedBreakdown(paused, oc), strconv.Itoa(oc[sim.StopCompleted]), strconv.Itoa(oc[sim.StopHorizon]))
		}
		row = append(row, det, delayUnits, delayTime)
		if !observe {
			row = append(row, pair(s.Blast, unitsFmt), to100(s))
		}
		rows = append(rows, row)
	}
	header := []string{"SCENARIO", "RUNS", "ROLLED BACK", "PAUSED", "COMPLETED", "UNFINISHED", "DETECTED (95% CI)", "DELAY T-UNITS MED/P90", "DELAY TIME MED/P90", "BLAST MED/P90", "TO 100% MED/P90"}
	if observe {
		header = []string{"SCENARIO", "RUNS", "DETECTED (95% CI)", "DELAY T-UNITS MED/P90", "DELAY TIME MED/P90"}
	}
	if err := table(w, header, rows); err != nil {
		return err
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Detectors on the same data (treatment units at detection; ×oracle = median / oracle E[N])")
	rows = nil
	for _, s := range rep.Scenarios {
		oracle := "—"
		if s.Oracle != nil && s.Oracle.Units > 0 {
			oracle = fmt.Sprintf("%s (α %.2g)", unitsFmt(s.Oracle.Units), s.Oracle.Alpha)
		} else if s.Oracle != nil {
			oracle = "— (within tolerance)"
		}
		th, z := "n/a (no error-rate guardrail)", "n/a (no SRM test)"
		switch {
		case s.Threshold == nil:
		case s.AA || s.ErrorEffect:
			th = detectorCell(*s.Threshold, s.AA)
		default:
			th = "n/a (watches the error rate)"
		}
		if !s.SRMEffect {
			z = detectorCell(s.ZTest, s.AA)
		}
		ramp := detectorCell(s.Ramp, s.AA)
		if !s.AA && s.Ramp.TreatmentUnits.N > 0 {
			ramp += ", mean " + unitsFmt(s.Ramp.TreatmentUnits.Mean)
		}
		if !s.SRMEffect && (s.AA || s.SRM.Fired > 0) {
			ramp += "; SRM pauses " + rateCI(s.SRM)
		}
		rows = append(rows, []string{s.Scenario, oracle, ramp, z, th})
	}
	if err := table(w, []string{"SCENARIO", "ORACLE E[N]", "RAMP", "Z-TEST PEEKED EVERY TICK", "THRESHOLD 1.5× ×3 TICKS"}, rows); err != nil {
		return err
	}
	var trig []string
	for _, s := range rep.Scenarios {
		if len(s.Triggers) == 0 {
			continue
		}
		var parts []string
		for _, k := range byCount(s.Triggers) {
			parts = append(parts, fmt.Sprintf("%s %d", k, s.Triggers[k]))
		}
		trig = append(trig, fmt.Sprintf("  %s: %s", s.Scenario, strings.Join(parts, ", ")))
	}
	if len(trig) > 0 {
		fmt.Fprintln(w)
		fmt.Fprintln(w, "What stopped the rollouts (test, runs):")
		for _, t := range trig {
			fmt.Fprintln(w, t)
		}
	}
	fmt.Fprintf(w, "\n%.1f s wall time\n", rep.WallSeconds)
	return nil
}

func byCount(m map[string]int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		if c := cmp.Compare(m[b], m[a]); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	})
	return keys
}

func pausedBreakdown(total int, oc map[sim.Stop]int) string {
	if total == 0 {
		return "0"
	}
	var parts []string
	for _, k := range []struct {
		stop sim.Stop
		name string
	}{{sim.StopPausedGuardrail, "guardrail"}, {sim.StopPausedSRM, "srm"}, {sim.StopPausedEvidence, "no evidence"}, {sim.StopPausedOther, "other"}} {
		if n := oc[k.stop]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, k.name))
		}
	}
	return fmt.Sprintf("%d (%s)", total, strings.Join(parts, ", "))
}

func rateCI(d sim.DetectorSummary) string {
	return fmt.Sprintf("%d = %s [%s, %s]", d.Fired, pct(d.Rate), pct(d.Lower), pct(d.Upper))
}

func pct(x float64) string {
	switch {
	case x == 0:
		return "0 %"
	case x < 0.1:
		return strconv.FormatFloat(100*x, 'f', 2, 64) + " %"
	}
	return strconv.FormatFloat(100*x, 'f', 1, 64) + " %"
}

func detectorCell(d sim.DetectorSummary, aa bool) string {
	if aa {
		return "false " + rateCI(d)
	}
	s := fmt.Sprintf("%s fired", pct(d.Rate))
	switch {
	case d.TreatmentUnits.N == 0:
	case d.TreatmentUnits.Median < 0:
		s += ", median never"
	default:
		s += ", median " + unitsFmt(d.TreatmentUnits.Median)
		if d.Ratio > 0 {
			s += fmt.Sprintf(" (%.2f×)", d.Ratio)
		}
	}
	if d.BeforeOnset > 0 {
		s += fmt.Sprintf("; %d before onset", d.BeforeOnset)
	}
	return s
}

// never is how a quantile the detections do not reach is shown.
const never = "never"

func pair(q sim.Quantiles, f func(float64) string) string {
	if q.N == 0 {
		return "—"
	}
	g := func(x float64) string {
		if x < 0 {
			return never
		}
		return f(x)
	}
	return g(q.Median) + " / " + g(q.P90)
}

func durPair(d sim.Durations) string {
	if d.N == 0 {
		return "—"
	}
	g := func(x time.Duration) string {
		if x < 0 {
			return never
		}
		return virtual(x)
	}
	return g(d.Median) + " / " + g(d.P90)
}

func to100(s sim.Summary) string {
	if s.Reached == 0 {
		return "— (0 reached)"
	}
	return fmt.Sprintf("%s / %s (%d reached)", virtual(time.Duration(s.To100.Median)), virtual(time.Duration(s.To100.P90)), s.Reached)
}

// virtual writes a virtual duration in days, hours and minutes.
func virtual(d time.Duration) string {
	return rollout.Duration(d.Round(time.Minute)).String()
}

// unitsFmt writes a count with thin groups: 12 345.
func unitsFmt(x float64) string {
	s := strconv.FormatFloat(math.Round(x), 'f', 0, 64)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(' ')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// progress draws a progress bar on a terminal; elsewhere it stays silent.
type progress struct {
	w  io.Writer
	on bool
	mu sync.Mutex
	t0 time.Time
}

func newProgress(w io.Writer) *progress {
	p := &progress{w: w}
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			p.on = true
		}
	}
	return p
}

func (p *progress) update(name string, total int) func(int) {
	if !p.on {
		return nil
	}
	p.t0 = time.Now()
	last := time.Time{}
	return func(done int) {
		p.mu.Lock()
		defer p.mu.Unlock()
		if done < total && time.Since(last) < 100*time.Millisecond {
			return
		}
		last = time.Now()
		const width = 30
		n := done * width / total
		fmt.Fprintf(p.w, "\r%-8s [%s%s] %d/%d runs  %s ", name, strings.Repeat("#", n), strings.Repeat(".", width-n), done, total,
			time.Since(p.t0).Round(time.Second))
	}
}

func (p *progress) done() {
	if p.on {
		fmt.Fprint(p.w, "\r\033[K")
	}
}
