package report_test

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ramp-release/ramp/internal/report"
	"github.com/ramp-release/ramp/internal/rollout"
	"github.com/ramp-release/ramp/internal/store"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run %s -update to create it)", err, t.Name())
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s differs (-want +got); rerun with -update if the change is meant:\n%s", name, diff)
	}
}

var reportTime = at(24*9, 0)

func TestReportsMatchTheirGoldenFiles(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   report.Input
	}{
		{"completed", completedFixture()},
		{"rolled_back", rolledBackFixture()},
		{"running", runningFixture()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := report.New(tc.in, report.Options{Now: reportTime})
			golden(t, tc.name+".md.golden", r.Markdown())
			data, err := json.MarshalIndent(r, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			golden(t, tc.name+".json.golden", string(data)+"\n")
		})
	}
	pf := report.NewPortfolio([]report.Report{
		report.New(completedFixture(), report.Options{Now: reportTime}),
		report.New(rolledBackFixture(), report.Options{Now: reportTime}),
		report.New(runningFixture(), report.Options{Now: reportTime}),
	}, reportTime)
	golden(t, "portfolio.md.golden", pf.Markdown())
}

func TestTheJSONFormCarriesEverythingTheMarkdownShows(t *testing.T) {
	for _, in := range []report.Input{completedFixture(), rolledBackFixture(), runningFixture()} {
		r := report.New(in, report.Options{Now: reportTime})
		data, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		var back report.Report
		if err := json.Unmarshal(data, &back); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(r.Markdown(), back.Markdown()); diff != "" {
			t.Errorf("%s: the Markdown of the decoded JSON differs (-direct +decoded):\n%s", in.Rollout.ID, diff)
		}
	}
}

func TestTheSameDataGiveTheSameReportWhateverTheStoreOrder(t *testing.T) {
	in := completedFixture()
	want := report.New(in, report.Options{Now: reportTime}).Markdown()
	shuffled := in
	shuffled.Points = append(shuffled.Points[:0:0], in.Points...)
	shuffled.Decisions = append(shuffled.Decisions[:0:0], in.Decisions...)
	for i, j := 0, len(shuffled.Points)-1; i < j; i, j = i+1, j-1 {
		shuffled.Points[i], shuffled.Points[j] = shuffled.Points[j], shuffled.Points[i]
	}
	for i, j := 0, len(shuffled.Decisions)-1; i < j; i, j = i+1, j-1 {
		shuffled.Decisions[i], shuffled.Decisions[j] = shuffled.Decisions[j], shuffled.Decisions[i]
	}
	if got := report.New(shuffled, report.Options{Now: reportTime}).Markdown(); got != want {
		t.Errorf("reversing the stored order changed the report:\n%s", cmp.Diff(want, got))
	}
	if got := report.New(in, report.Options{Now: reportTime.Add(72 * time.Hour)}).Markdown(); strings.Replace(got, "2026-03-14", "2026-03-11", 1) != want {
		t.Errorf("a finished rollout's report changed with the report's time beyond its date:\n%s", cmp.Diff(want, got))
	}
}

func TestVelocity(t *testing.T) {
	r := report.New(completedFixture(), report.Options{Now: reportTime})
	v := r.Velocity
	d := func(s string) rollout.Duration {
		x, err := rollout.ParseDuration(s)
		if err != nil {
			t.Fatal(err)
		}
		return x
	}
	if v.ToFull == nil || *v.ToFull != d("6h") {
		t.Errorf("0 → 100 %% = %v, want 6h (start 09:00, ring-100 entered 15:00)", v.ToFull)
	}
	if v.Paused != d("40m") {
		t.Errorf("paused %s, want 40m", v.Paused)
	}
	type stageFigures struct {
		Name     string
		Duration string
		Paused   string
		Waiting  map[rollout.HoldReason]string
		Exit     string
	}
	var got []stageFigures
	for _, s := range v.Stages {
		f := stageFigures{Name: s.Name, Duration: s.Duration.String(), Paused: s.Paused.String(), Exit: s.Exit, Waiting: map[rollout.HoldReason]string{}}
		for _, w := range s.Waiting {
			f.Waiting[w.Reason] = w.Duration.String()
		}
		got = append(got, f)
	}
	want := []stageFigures{
		{Name: "beta", Duration: "1h", Paused: "0s", Exit: "advance", Waiting: map[rollout.HoldReason]string{rollout.HoldTime: "55m"}},
		// ring-5: held for time 10:05–11:00, paused 11:00–11:40 (the controller logs
		// the paused hold), held for time again 11:40–12:05 (no new hold entry: the
		// resume cleared it) and for the approval 12:05–13:00.
		{Name: "ring-5", Duration: "3h", Paused: "40m", Exit: "advance", Waiting: map[rollout.HoldReason]string{rollout.HoldTime: "55m", rollout.HoldPaused: "40m", rollout.HoldApproval: "55m"}},
		{Name: "ring-25", Duration: "2h", Paused: "0s", Exit: "advance", Waiting: map[rollout.HoldReason]string{rollout.HoldTime: "1h55m", rollout.HoldEvidence: "1h55m"}},
		{Name: "ring-100", Duration: "1h", Paused: "0s", Exit: "complete", Waiting: map[rollout.HoldReason]string{}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("stage figures (-want +got):\n%s", diff)
	}
}

func TestDetectionMeasuresFromTheStageStartAndTheFirstCrossing(t *testing.T) {
	r := report.New(rolledBackFixture(), report.Options{Now: reportTime})
	if len(r.Detections) != 2 {
		t.Fatalf("%d detections, want the pause and the rollback: %+v", len(r.Detections), r.Detections)
	}
	pause, rb := r.Detections[0], r.Detections[1]
	type figures struct {
		Action, Cause, Metric, Dimension      string
		FromStageStart, FromFirstCrossed      string
		StageStartToRollback, CrossedRollback string
		AtCrossing, AtDetection, AtRollback   report.ArmUnits
		Meanwhile, UntilRollback              report.ArmUnits
		FollowsPause                          bool
	}
	get := func(d report.Detection) figures {
		s := func(x *rollout.Duration) string {
			if x == nil {
				return "-"
			}
			return x.String()
		}
		u := func(x *report.ArmUnits) report.ArmUnits {
			if x == nil {
				return report.ArmUnits{Treatment: -1, Control: -1}
			}
			return *x
		}
		return figures{Action: string(d.Action), Cause: d.Cause, Metric: d.Metric, Dimension: d.Dimension,
			FromStageStart: s(d.FromStageStart), FromFirstCrossed: s(d.FromFirstCrossed),
			StageStartToRollback: s(d.StageStartToRollback), CrossedRollback: s(d.FirstCrossedToRollback),
			AtCrossing: u(d.Units.AtFirstCrossed), AtDetection: u(d.Units.AtDetection), AtRollback: u(d.Units.AtRollback),
			Meanwhile: u(d.Units.CrossedToDetection), UntilRollback: u(d.Units.CrossedToRollback), FollowsPause: d.FollowsPause}
	}
	wantPause := figures{Action: "pause", Cause: "guardrail", Metric: "thumbs_up_rate", Dimension: "country=BR",
		FromStageStart: "1h20m", FromFirstCrossed: "5m", StageStartToRollback: "1h50m", CrossedRollback: "35m",
		AtCrossing: report.ArmUnits{Treatment: 620, Control: 11800}, AtDetection: report.ArmUnits{Treatment: 660, Control: 12500},
		AtRollback: report.ArmUnits{Treatment: 790, Control: 15000}, Meanwhile: report.ArmUnits{Treatment: 40, Control: 700},
		UntilRollback: report.ArmUnits{Treatment: 170, Control: 3200}}
	if diff := cmp.Diff(wantPause, get(pause)); diff != "" {
		t.Errorf("the pause (-want +got):\n%s", diff)
	}
	wantRollback := figures{Action: "rollback", Cause: "manual", Metric: "thumbs_up_rate",
		FromStageStart: "1h50m", FromFirstCrossed: "35m", StageStartToRollback: "1h50m", CrossedRollback: "35m",
		AtCrossing: report.ArmUnits{Treatment: 620, Control: 11800}, AtDetection: report.ArmUnits{Treatment: 790, Control: 15000},
		AtRollback: report.ArmUnits{Treatment: 790, Control: 15000}, Meanwhile: report.ArmUnits{Treatment: 170, Control: 3200},
		UntilRollback: report.ArmUnits{Treatment: 170, Control: 3200}, FollowsPause: true}
	if diff := cmp.Diff(wantRollback, get(rb)); diff != "" {
		t.Errorf("the rollback (-want +got):\n%s", diff)
	}
}

func TestAdoptionIntervals(t *testing.T) {
	r := report.New(completedFixture(), report.Options{Now: reportTime})
	a := r.Adoption
	if a == nil || !a.Available || a.AgainstControl {
		t.Fatalf("adoption = %+v; want treatment-only figures (control never used the feature)", a)
	}
	used := a.Rows[0].Treatment
	// 12 400 of 20 610: 60.17 %, Wilson 95 % [59.50, 60.83].
	if got := []float64{*used.Value, *used.Lower, *used.Upper}; !near(got[0], 0.60165, 1e-4) || !near(got[1], 0.59495, 1e-4) || !near(got[2], 0.60831, 1e-4) {
		t.Errorf("used = %v", got)
	}
	in := completedFixture()
	in.Adoption.Control = report.AdoptionCounts{Exposed: 20000, Used: 11000, Day1Eligible: 20000, Day1: 7000, Day7Eligible: 20000, Day7: 4000}
	r = report.New(in, report.Options{Now: reportTime})
	d := r.Adoption.Rows[0].Diff
	if !r.Adoption.AgainstControl || d == nil {
		t.Fatalf("no difference against control: %+v", r.Adoption)
	}
	// 60.17 % − 55.00 %; Newcombe's hybrid score interval ≈ [4.21, 6.12] pp.
	if !near(*d.Value, 0.05165, 1e-4) || !near(*d.Lower, 0.04207, 2e-4) || !near(*d.Upper, 0.06118, 2e-4) {
		t.Errorf("difference = %v [%v, %v]", *d.Value, *d.Lower, *d.Upper)
	}
}

func TestPortfolio(t *testing.T) {
	pf := report.NewPortfolio([]report.Report{
		report.New(completedFixture(), report.Options{Now: reportTime}),
		report.New(rolledBackFixture(), report.Options{Now: reportTime}),
		report.New(runningFixture(), report.Options{Now: reportTime}),
	}, reportTime)
	o := pf.Overall
	if o.Rollouts != 3 || o.Completed != 1 || o.RolledBack != 1 || o.Active != 1 {
		t.Errorf("counts %+v", o)
	}
	if o.RollbackRate == nil || *o.RollbackRate != 0.5 {
		t.Errorf("rollback rate %v, want 0.5 (one of two finished)", o.RollbackRate)
	}
	// Automatic alerts: the latency pause (1h after ring-5 began) and the thumbs-up
	// pause (1h20m); the person's rollback after the second pause is the same issue.
	if o.Detections != 2 || o.MedianDetection == nil || o.MedianDetection.String() != "1h10m" {
		t.Errorf("detections %d, median %v; want 2 and 1h10m", o.Detections, o.MedianDetection)
	}
	if o.MedianToFull == nil || o.MedianToFull.String() != "6h" || o.ReachedFull != 1 {
		t.Errorf("median to 100 %% = %v over %d", o.MedianToFull, o.ReachedFull)
	}
	var keys []string
	for _, g := range pf.ByTemplate {
		keys = append(keys, g.Key)
	}
	if diff := cmp.Diff([]string{"ai-standard", "custom", "progressive-24h"}, keys); diff != "" {
		t.Errorf("templates (-want +got):\n%s", diff)
	}
}

func near(a, b, tol float64) bool { return a-b <= tol && b-a <= tol }

func TestASecondAlertInAStageIsMeasuredFromItsOwnCrossing(t *testing.T) {
	// The completed fixture up to 12:05, when it waited for an approval in ring-5;
	// then latency crossed again at 12:20, the controller paused at 12:25 and bob
	// rolled back at 12:30.
	f := &fixture{in: completedFixture()}
	cut := at(3, 5)
	var ds []store.RolloutDecision
	for _, d := range f.in.Decisions {
		if !d.At.After(cut) {
			ds = append(ds, d)
		}
	}
	var ps []store.AnalysisPoint
	for _, p := range f.in.Points {
		if !p.At.After(cut) {
			ps = append(ps, p)
		}
	}
	f.in.Decisions, f.in.Points, f.seq = ds, ps, ds[len(ds)-1].Seq
	f.in.Rollout.State = rollout.State{Status: rollout.RolledBack, Stage: 1}
	f.point(at(3, 20), 1, 1400, 26600, pm("latency", gr, "crossed", 6.2, 6.0, 0.16, 0.24, 1400, 26600))
	trigger := &rollout.MetricResult{Metric: "latency", Verdict: rollout.Crossed}
	f.decide(at(3, 25), ctl, "pause", 1, 1, "guardrail latency crossed again", &rollout.Evidence{Trigger: trigger, UnitsTreatment: 1450, UnitsControl: 27550})
	f.decide(at(3, 30), "bob", "rollback", 1, 1, "enough", nil)
	r := report.New(f.in, report.Options{Now: reportTime})
	if len(r.Detections) != 3 {
		t.Fatalf("%d detections, want the two pauses and the rollback: %+v", len(r.Detections), r.Detections)
	}
	second := r.Detections[1]
	if !second.FirstCrossedAt.Equal(at(3, 20)) || second.FromFirstCrossed.String() != "5m" || second.FromStageStart.String() != "2h25m" {
		t.Errorf("the second pause: first crossed %s, %v after it, %v after the stage's start; want 12:20, 5m and 2h25m",
			second.FirstCrossedAt, second.FromFirstCrossed, second.FromStageStart)
	}
	if u := second.Units.CrossedToDetection; u == nil || *u != (report.ArmUnits{Treatment: 50, Control: 950}) {
		t.Errorf("exposed between the crossing and the pause: %+v", u)
	}
	if rb := r.Detections[2]; !rb.FollowsPause || !rb.FirstCrossedAt.Equal(at(3, 20)) {
		t.Errorf("the rollback: follows a pause %v, first crossed %s; want true and 12:20", rb.FollowsPause, rb.FirstCrossedAt)
	}
}
