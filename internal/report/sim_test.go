package report_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"github.com/ramp-release/ramp/flags"
	"github.com/ramp-release/ramp/internal/analysis"
	"github.com/ramp-release/ramp/internal/controller"
	"github.com/ramp-release/ramp/internal/ingest"
	"github.com/ramp-release/ramp/internal/report"
	"github.com/ramp-release/ramp/internal/rollout"
	"github.com/ramp-release/ramp/internal/store"
	"github.com/ramp-release/ramp/internal/store/sqlite"
)

// The simulated rollouts below run the real controller over a real SQLite store,
// with the real analysis (analysis.Analyze) and the real translation into
// verdicts and history points (ingest.Verdicts, ingest.NewPoint) — everything but
// the event log, whose sums the simulator draws directly: each tick (5 virtual
// minutes, CLARIFICATIONS §29) 1 000 units arrive, fall in the holdout, the ring's
// treatment or its control by their share, and have an error and a thumbs-up with
// probabilities the simulator sets. It knows the injected effects and the onset,
// and records what happened (the tick the evidence first crossed, the tick the
// rollout was rolled back); the report, read back from the store, must agree
// within one tick, and its intervals must cover the injected effects
// (CLARIFICATIONS §33).

const simTick = 5 * time.Minute

type simConfig struct {
	seed uint64
	// errBase is every unit's chance of an error; from the onset (onsetAfter into
	// stage onsetStage) treatment units have errBase + errUp instead.
	errBase, errUp float64
	onsetStage     int
	onsetAfter     time.Duration
	// thumbsBase is control's chance of a thumbs-up, thumbsLift the treatment's gain.
	thumbsBase, thumbsLift float64
}

type simTruth struct {
	onset        time.Time
	firstCrossed time.Time
	crossedUnits report.ArmUnits
	rolledBackAt time.Time
	// stage and stageStart are the stage rolled back and when it began.
	stage      string
	stageStart time.Time
	// postOnset counts the treatment units of the current stage exposed after the
	// onset, so that the exposure-weighted true error difference is known.
	postOnset float64
}

type sim struct {
	t     *testing.T
	cfg   simConfig
	rng   *rand.Rand
	st    *sqlite.Store
	clock *controller.ManualClock
	ctrl  *controller.Controller
	id    string
	defs  map[string]store.MetricDefinition

	stage    int
	evidence time.Time
	nT, nC   float64
	errs     [2]analysis.Moments // [0] treatment, [1] control
	thumbs   [2]analysis.Moments
	truth    simTruth
}

func simPlan() rollout.Plan {
	hour := rollout.Duration(time.Hour)
	return rollout.Plan{
		Name: "smart-reply-sim", Template: "sim", Flag: "smart-reply", Environment: "production", Treatment: "on", Control: "off",
		HoldoutPercent: 10, AdvanceOn: rollout.OnTime,
		Tick: rollout.Duration(simTick), StaleAfter: rollout.Duration(3 * simTick), PauseWithoutDataAfter: rollout.Duration(30 * time.Minute),
		Stages: []rollout.Stage{
			{Name: "ring-10", Percent: 10, MinDuration: hour},
			{Name: "ring-25", Percent: 25, MinDuration: hour},
			{Name: "ring-50", Percent: 50, MinDuration: hour},
			{Name: "ring-100", Percent: 100, MinDuration: hour},
		},
		Guardrails: []rollout.Guardrail{{Metric: "error_rate", Kind: rollout.Proportion, Direction: rollout.Increase, Tolerance: rollout.Amount{Relative: 0.5}, Action: rollout.Rollback}},
		Gates:      []rollout.Gate{{Metric: "thumbs_up_rate", Direction: rollout.Increase, Margin: rollout.Amount{Absolute: 0.02}}},
	}
}

func newSim(t *testing.T, cfg simConfig) *sim {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "ramp.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	c := store.Change{Actor: "setup"}
	if _, err := st.CreateEnvironment(ctx, store.Environment{Key: "production"}, c); err != nil {
		t.Fatal(err)
	}
	def := store.FlagDefinition{Key: "smart-reply", Type: flags.TypeBool, Variants: map[string]any{"on": true, "off": false}}
	if err := st.CreateFlag(ctx, def, store.FlagState{Enabled: true, OffVariant: "off", Default: &flags.Allocation{Variant: "off"}}, c); err != nil {
		t.Fatal(err)
	}
	p := simPlan()
	if err := p.Validate(rollout.ValidateOptions{}); err != nil {
		t.Fatal(err)
	}
	r, err := st.CreateRollout(ctx, store.Rollout{Plan: p, Flag: p.Flag, Environment: p.Environment,
		State: rollout.State{Status: rollout.Draft, Since: t0, Reason: "created"}}, store.Change{Actor: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	s := &sim{t: t, cfg: cfg, rng: rand.New(rand.NewPCG(cfg.seed, 1)), st: st, clock: controller.NewManualClock(t0), id: r.ID,
		defs: map[string]store.MetricDefinition{}, stage: -1}
	for _, k := range []string{"error_rate", "thumbs_up_rate"} {
		d, ok := ingest.Builtin(k)
		if !ok {
			t.Fatalf("no built-in metric %s", k)
		}
		s.defs[k] = d
	}
	s.ctrl = controller.New(st, controller.Options{Clock: s.clock, Analysis: s, Tick: simTick})
	if _, err := s.ctrl.Start(ctx, r.ID, controller.Actor{Name: "alice", Role: store.RoleReleaseManager}, "simulated launch"); err != nil {
		t.Fatal(err)
	}
	return s
}

func (s *sim) rollout() store.Rollout {
	s.t.Helper()
	r, err := s.st.GetRollout(context.Background(), s.id)
	if err != nil {
		s.t.Fatal(err)
	}
	return r
}

// sync starts a fresh aggregate when the rollout enters a new stage or evidence
// period, as the aggregator does.
func (s *sim) sync(r store.Rollout) {
	if r.State.Stage == s.stage && r.State.EvidenceStart.Equal(s.evidence) {
		return
	}
	s.stage, s.evidence = r.State.Stage, r.State.EvidenceStart
	s.nT, s.nC = 0, 0
	s.errs, s.thumbs = [2]analysis.Moments{}, [2]analysis.Moments{}
	s.truth.postOnset = 0
	if s.stage == s.cfg.onsetStage && s.cfg.errUp > 0 && s.truth.onset.IsZero() {
		s.truth.onset = r.State.StageStarted.Add(s.cfg.onsetAfter)
	}
}

// expose draws the tick that just ended: 1 000 units of the whole population.
func (s *sim) expose(r store.Rollout, from time.Time) {
	if r.State.Status != rollout.Running && r.State.Status != rollout.Paused {
		return
	}
	s.sync(r)
	p := r.Plan
	pct := p.Stages[r.State.Stage].Percent
	holdout := p.HoldoutPercent / 100
	afterOnset := !s.truth.onset.IsZero() && !from.Before(s.truth.onset)
	for range 1000 {
		arm := -1
		inHoldout := s.rng.Float64() < holdout
		switch {
		case pct >= 100 && inHoldout:
			arm = 1 // the holdout is the control of a 100 % stage
		case pct >= 100:
			arm = 0
		case inHoldout:
			continue // not compared in a ring stage
		case s.rng.Float64() < pct/100:
			arm = 0
		default:
			arm = 1
		}
		pErr, pThumb := s.cfg.errBase, s.cfg.thumbsBase
		if arm == 0 {
			pThumb += s.cfg.thumbsLift
			if afterOnset {
				pErr += s.cfg.errUp
				s.truth.postOnset++
			}
		}
		s.errs[arm].Add(bernoulli(s.rng, pErr))
		s.thumbs[arm].Add(bernoulli(s.rng, pThumb))
		if arm == 0 {
			s.nT++
		} else {
			s.nC++
		}
	}
}

func bernoulli(rng *rand.Rand, p float64) float64 {
	if rng.Float64() < p {
		return 1
	}
	return 0
}

// share is the planned treatment share of stage i, as ingest's stage design has it.
func share(p rollout.Plan, i int) float64 {
	e := float64(rollout.TotalBuckets) - float64(p.HoldoutBuckets())
	if pct := p.Stages[i].Percent; pct < 100 {
		return float64(int(pct*e/100+1e-9)) / e
	}
	return e / rollout.TotalBuckets
}

// Analysis is the controller's analysis source: ingest.Source's work on the
// simulated sums.
func (s *sim) Analysis(ctx context.Context, r store.Rollout) (*rollout.Analysis, error) {
	if r.State.Status != rollout.Running && r.State.Status != rollout.Paused {
		return nil, nil
	}
	s.sync(r)
	if s.nT+s.nC == 0 {
		return nil, nil
	}
	now := s.clock.Now().UTC()
	p := r.Plan
	errSpec := ingest.TestMetric(s.defs["error_rate"], "error_rate", true, &ingest.Amount{Relative: 0.5}, false)
	errSpec.Direction = analysis.LowerIsBetter
	thumbSpec := ingest.TestMetric(s.defs["thumbs_up_rate"], "thumbs_up_rate", false, &ingest.Amount{Absolute: 0.02}, false)
	thumbSpec.Direction = analysis.HigherIsBetter
	in := analysis.StageInput{Alpha: rollout.DefaultAlpha, Stages: len(p.Stages), TreatmentShare: share(p, r.State.Stage),
		TreatmentUnits: s.nT, ControlUnits: s.nC,
		Metrics: []analysis.MetricData{
			{Metric: errSpec, Total: analysis.Arms{Treatment: analysis.Stats{Moments: s.errs[0]}, Control: analysis.Stats{Moments: s.errs[1]}}},
			{Metric: thumbSpec, Total: analysis.Arms{Treatment: analysis.Stats{Moments: s.thumbs[0]}, Control: analysis.Stats{Moments: s.thumbs[1]}}},
		}}
	rep, err := analysis.Analyze(in)
	if err != nil {
		return nil, err
	}
	snap := ingest.Snapshot{Rollout: r.ID, Stage: r.State.Stage, StageName: p.Stages[r.State.Stage].Name, EvidenceStart: r.State.EvidenceStart,
		AsOf: now, Input: in, Tests: []ingest.TestInfo{
			{Name: "error_rate", Metric: "error_rate", Role: ingest.RoleGuardrail, Def: s.defs["error_rate"]},
			{Name: "thumbs_up_rate", Metric: "thumbs_up_rate", Role: ingest.RoleGate, Def: s.defs["thumbs_up_rate"]},
		}}
	a := ingest.Verdicts(snap, rep)
	data, err := json.Marshal(ingest.NewPoint(now, snap, rep))
	if err != nil {
		return nil, err
	}
	if err := s.st.AppendAnalysisPoint(ctx, store.AnalysisPoint{RolloutID: r.ID, At: now, Stage: r.State.Stage, Data: data}); err != nil {
		return nil, err
	}
	if rep.Metrics[0].Total.Status == analysis.Crossed && s.truth.firstCrossed.IsZero() && !s.truth.onset.IsZero() {
		s.truth.firstCrossed = now
		s.truth.crossedUnits = report.ArmUnits{Treatment: s.nT, Control: s.nC}
	}
	return a, nil
}

// run ticks until the rollout finishes (or maxTicks).
func (s *sim) run(maxTicks int) store.Rollout {
	s.t.Helper()
	ctx := context.Background()
	r := s.rollout()
	for range maxTicks {
		if r.State.Status.Terminal() {
			break
		}
		from := s.clock.Now()
		s.clock.Advance(simTick)
		s.expose(r, from)
		if err := s.ctrl.Tick(ctx); err != nil {
			s.t.Fatalf("tick at %s: %v", s.clock.Now().Format(time.RFC3339), err)
		}
		r = s.rollout()
		if r.State.Status == rollout.RolledBack && s.truth.rolledBackAt.IsZero() {
			s.truth.rolledBackAt = s.clock.Now().UTC()
			s.truth.stage, s.truth.stageStart = r.Plan.Stages[r.State.Stage].Name, r.State.StageStarted
		}
	}
	return r
}

// report reads the rollout back from the store and reports on it.
func (s *sim) report() report.Report {
	s.t.Helper()
	in, err := report.Gather(context.Background(), s.st, s.id)
	if err != nil {
		s.t.Fatal(err)
	}
	in.Metrics = s.defs
	return report.New(in, report.Options{Now: s.clock.Now()})
}

func within(a, b time.Time, tol time.Duration) bool {
	d := a.Sub(b)
	return d <= tol && d >= -tol
}

func covers(e report.Estimate, x float64) bool {
	return e.Lower != nil && e.Upper != nil && *e.Lower <= x && x <= *e.Upper
}

// simSeeds are the seeds each simulation runs with.
var simSeeds = []uint64{1, 2, 3, 4, 5, 6, 7, 8}

func TestASimulatedRegressionIsReportedAsTheSimulatorSawIt(t *testing.T) {
	for _, seed := range simSeeds {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			regression(t, seed)
		})
	}
}

func regression(t *testing.T, seed uint64) {
	s := newSim(t, simConfig{seed: seed, errBase: 0.05, errUp: 0.10, onsetStage: 1, onsetAfter: 30 * time.Minute, thumbsBase: 0.60, thumbsLift: 0.03})
	r := s.run(400)
	if r.State.Status != rollout.RolledBack {
		t.Fatalf("the regression was not rolled back: %s at stage %d (%s)", r.State.Status, r.State.Stage, r.State.Reason)
	}
	rep := s.report()
	var det *report.Detection
	for i := range rep.Detections {
		if rep.Detections[i].Action == rollout.Rollback {
			det = &rep.Detections[i]
		}
	}
	if det == nil {
		t.Fatalf("no rollback among the detections: %+v", rep.Detections)
	}
	tr := s.truth
	t.Logf("onset %s; first crossed %s; rolled back %s at %s; report: detected %s, first crossed %s, %s from the stage's start, %.0f treatment units at detection",
		tr.onset.Format(time.TimeOnly), tr.firstCrossed.Format(time.TimeOnly), tr.rolledBackAt.Format(time.TimeOnly), tr.stage,
		det.At.Format(time.TimeOnly), det.FirstCrossedAt.Format(time.TimeOnly), det.FromStageStart, det.TreatmentUnitsAtDetection)
	if det.Cause != "guardrail" || det.Metric != "error_rate" || det.StageName != tr.stage {
		t.Errorf("detection %s %s at %s; want guardrail error_rate at %s", det.Cause, det.Metric, det.StageName, tr.stage)
	}
	if !within(det.At, tr.rolledBackAt, simTick) {
		t.Errorf("detected at %s; the simulator rolled back at %s (more than a tick apart)", det.At, tr.rolledBackAt)
	}
	if !within(det.FirstCrossedAt, tr.firstCrossed, simTick) {
		t.Errorf("first crossed at %s; the simulator saw it at %s", det.FirstCrossedAt, tr.firstCrossed)
	}
	if det.FromStageStart == nil || !within(tr.stageStart.Add(det.FromStageStart.D()), tr.rolledBackAt, simTick) {
		t.Errorf("stage start → detection %v; the simulator measured %s", det.FromStageStart, tr.rolledBackAt.Sub(tr.stageStart))
	}
	if det.At.Before(tr.onset) {
		t.Errorf("detected at %s, before the onset %s", det.At, tr.onset)
	}
	if u := det.Units.AtFirstCrossed; u == nil || *u != tr.crossedUnits {
		t.Errorf("units at the first crossing %+v; the simulator had %+v", u, tr.crossedUnits)
	}
	// The error estimate at detection covers the true difference of the exposed
	// population: the injected rise, diluted by the units treated before the onset.
	var errImpact report.MetricImpact
	for _, m := range rep.Impact.Guardrails {
		if m.Metric == "error_rate" {
			errImpact = m
		}
	}
	last := errImpact.Stages[len(errImpact.Stages)-1]
	truth := s.cfg.errUp * tr.postOnset / last.UnitsTreatment
	if last.StageName != tr.stage || !covers(last, truth) {
		t.Errorf("error_rate at %s: %+.4f [%v, %v]; the true difference is %+.4f", last.StageName, *last.Diff, deref(last.Lower), deref(last.Upper), truth)
	}
	if rep.Velocity.ToFull != nil || len(rep.Velocity.Rollbacks) != 1 {
		t.Errorf("velocity %+v; want no 100 %% and one rollback", rep.Velocity)
	}
}

func TestASimulatedHealthyRolloutReportsTheInjectedLift(t *testing.T) {
	for _, seed := range simSeeds {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			healthy(t, seed)
		})
	}
}

func healthy(t *testing.T, seed uint64) {
	s := newSim(t, simConfig{seed: seed, errBase: 0.05, onsetStage: -1, thumbsBase: 0.60, thumbsLift: 0.03})
	r := s.run(400)
	if r.State.Status != rollout.Completed {
		t.Fatalf("the healthy rollout did not complete: %s at stage %d (%s)", r.State.Status, r.State.Stage, r.State.Reason)
	}
	rep := s.report()
	if len(rep.Detections) != 0 {
		t.Errorf("alerts in a healthy rollout: %+v", rep.Detections)
	}
	if rep.Velocity.ToFull == nil {
		t.Fatalf("no time to 100 %%: %+v", rep.Velocity)
	}
	// Every stage needs its hour; then the gate must clear, which takes longer in
	// the small rings.
	if got := rep.Velocity.ToFull.D(); got < 3*time.Hour {
		t.Errorf("0 → 100 %% in %s, less than three stages of an hour", got)
	}
	thumbs := rep.Impact.Success[0]
	if len(thumbs.Stages) != 4 || thumbs.Holdout == nil || thumbs.Control == nil {
		t.Fatalf("thumbs-up estimates: %+v", thumbs)
	}
	for _, e := range thumbs.Stages {
		if !covers(e, s.cfg.thumbsLift) {
			t.Errorf("thumbs_up_rate at %s against %s: %+.4f [%v, %v] misses the injected lift %+.2f", e.StageName, e.Against, *e.Diff, deref(e.Lower), deref(e.Upper), s.cfg.thumbsLift)
		}
	}
	if thumbs.Holdout.Against != "holdout" || thumbs.Holdout.StageName != "ring-100" {
		t.Errorf("holdout estimate %+v", thumbs.Holdout)
	}
	for _, e := range rep.Impact.Guardrails[0].Stages {
		if !covers(e, 0) {
			t.Errorf("error_rate at %s: %+.4f [%v, %v] misses the true difference 0", e.StageName, *e.Diff, deref(e.Lower), deref(e.Upper))
		}
	}
	t.Logf("0 → 100 %% in %s; thumbs-up %+.4f [%+.4f, %+.4f] against control at %s, %+.4f [%+.4f, %+.4f] against the holdout",
		rep.Velocity.ToFull, *thumbs.Control.Diff, deref(thumbs.Control.Lower), deref(thumbs.Control.Upper), thumbs.Control.StageName,
		*thumbs.Holdout.Diff, deref(thumbs.Holdout.Lower), deref(thumbs.Holdout.Upper))
}

func deref(p *float64) float64 {
	if p == nil {
		return 0
	}
	return *p
}
