package sim

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/ramp-release/ramp/internal/analysis"
	"github.com/ramp-release/ramp/internal/ingest"
	"github.com/ramp-release/ramp/internal/rollout"
)

// Config describes a simulation: a plan, the traffic and one scenario.
type Config struct {
	// Plan is the plan to roll out. Empty flag, environment and variant names get
	// simulated ones; Tick defaults to the traffic's tick.
	Plan     rollout.Plan
	Traffic  Traffic
	Scenario Scenario
	// Observe holds the rollout at the onset stage and applies no decision: ramp, the
	// z-test and the threshold check all watch the same data until each has fired or
	// the horizon is reached. It measures the tests rather than the plan.
	Observe bool
	// Horizon bounds each run's virtual time (DefaultHorizon when 0).
	Horizon time.Duration
	// RealEvaluation evaluates every unit with flags.Snapshot.Evaluate instead of
	// walking the same rendered rules directly (slower, same assignment).
	RealEvaluation bool
	// Start is the virtual time the runs start (DefaultStart when zero).
	Start time.Time
}

// DefaultHorizon is the longest virtual time a run lasts: 60 days.
const DefaultHorizon = 60 * 24 * time.Hour

// DefaultStart is when simulated rollouts start: a Monday morning, 09:00 UTC, so that
// advancement windows open on the first day.
var DefaultStart = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// Sim is a prepared simulation; Run it with as many seeds as wanted, from any
// number of goroutines.
type Sim struct {
	cfg        Config
	plan       rollout.Plan
	traffic    Traffic
	tests      []test
	design     []design
	tested     []bool
	stages     int
	alpha      float64
	budget     analysis.Budget
	effect     effect
	startStage int
	onsetStage int
	oracle     Oracle
	hasOracle  bool
	threshold  int     // index of the test the threshold check watches, or −1
	need       [6]bool // the signals the tests read
	horizon    time.Duration
	start      time.Time
}

// New prepares a simulation: it validates the plan against the simulated segments,
// builds its tests as the aggregator does and splits its α as Analyze will.
func New(cfg Config) (*Sim, error) {
	s := &Sim{cfg: cfg, traffic: cfg.Traffic}
	if s.traffic.Tick == 0 {
		s.traffic.Tick = DefaultTick
	}
	if err := s.traffic.Validate(); err != nil {
		return nil, err
	}
	p := rollout.Override(cfg.Plan, rollout.Plan{})
	if p.Flag == "" {
		p.Flag = "smart-reply"
	}
	if p.Environment == "" {
		p.Environment = "simulation"
	}
	if p.Treatment == "" {
		p.Treatment = "treatment"
	}
	if p.Control == "" {
		p.Control = "control"
	}
	if p.Tick == 0 {
		p.Tick = rollout.Duration(s.traffic.Tick)
	}
	err := p.Validate(rollout.ValidateOptions{SegmentExists: func(k string) bool { _, ok := simSegments[k]; return ok }})
	if err != nil {
		if strings.Contains(err.Error(), "unknown segment") {
			return nil, fmt.Errorf("%w (the simulated traffic has the segments %s)", err, strings.Join(SegmentNames(), ", "))
		}
		return nil, err
	}
	s.plan = p
	if s.tests, err = planTests(&p); err != nil {
		return nil, err
	}
	s.design = make([]design, len(p.Stages))
	s.tested = make([]bool, len(p.Stages))
	for i := range p.Stages {
		s.design[i], s.tested[i] = stageDesign(&p, i)
	}
	s.stages = testedStages(&p)
	s.alpha = p.Alpha
	if s.alpha == 0 {
		s.alpha = rollout.DefaultAlpha
	}
	s.budget, err = analysis.NewBudget(analysis.BudgetSpec{Alpha: s.alpha, Stages: s.stages, Metrics: len(s.tests), Dimensions: len(Dimensions)})
	if err != nil {
		return nil, err
	}
	if s.effect, err = newEffect(cfg.Scenario.Effect, &s.traffic); err != nil {
		return nil, fmt.Errorf("scenario %s: %w", cfg.Scenario.Name, err)
	}
	s.onsetStage = DefaultOnsetStage(&p)
	if name := cfg.Scenario.Onset.Stage; name != "" {
		if s.onsetStage = p.StageIndex(name); s.onsetStage < 0 {
			names := make([]string, len(p.Stages))
			for i, st := range p.Stages {
				names[i] = st.Name
			}
			return nil, fmt.Errorf("scenario %s: onset stage %q is not in the plan; its stages are %s", cfg.Scenario.Name, name, strings.Join(names, ", "))
		}
	}
	// A/A rollouts run the whole plan; an effect's runs start at its onset stage
	// (the stages before it are what the A/A runs measure).
	if !cfg.Scenario.Effect.None() || cfg.Observe {
		s.startStage = s.onsetStage
	}
	s.oracle, s.hasOracle = s.oracleFor(cfg.Scenario, s.effect)
	for _, t := range s.tests {
		s.need[t.sig] = true
	}
	s.threshold = -1
	for i, t := range s.tests {
		if t.role == ingest.RoleGuardrail && t.sig == sigError && t.spec.Kind == analysis.KindProportion {
			s.threshold = i
			break
		}
	}
	s.horizon = cfg.Horizon
	if s.horizon == 0 {
		s.horizon = DefaultHorizon
	}
	s.start = cfg.Start
	if s.start.IsZero() {
		s.start = DefaultStart
	}
	return s, nil
}

// Plan is the validated plan the simulation runs.
func (s *Sim) Plan() *rollout.Plan { return &s.plan }

// Budget is the α split of the plan's analysis.
func (s *Sim) Budget() analysis.Budget { return s.budget }

// Oracle is the scenario's SPRT oracle; ok is false when it has none.
func (s *Sim) Oracle() (Oracle, bool) { return s.oracle, s.hasOracle }

// Notes say how the plan's metrics are simulated when that is not obvious.
func (s *Sim) Notes() []string {
	var out []string
	for _, t := range s.tests {
		if t.like != "" {
			out = append(out, fmt.Sprintf("%s %s is not a built-in metric; it is simulated as %s", t.role, t.metric, t.like))
		}
	}
	return out
}

// Stop is how a run ended.
type Stop string

// The ways a run ends.
const (
	StopCompleted  Stop = "completed"
	StopRolledBack Stop = "rolled_back"
	// StopPausedGuardrail: a guardrail whose action is pause crossed (or a gate failed).
	StopPausedGuardrail Stop = "paused_guardrail"
	// StopPausedSRM: the sample-ratio-mismatch check paused the rollout.
	StopPausedSRM Stop = "paused_srm"
	// StopPausedEvidence: a stage reached its maximum duration without the evidence to
	// leave it; a person must decide.
	StopPausedEvidence Stop = "paused_no_evidence"
	// StopPausedOther: any other pause (missing data, multiple exposure).
	StopPausedOther Stop = "paused_other"
	// StopHorizon: the run reached the horizon still running (or, observing, not every
	// detector fired).
	StopHorizon Stop = "horizon"
)

// Detection is when a detector fired, if it did.
type Detection struct {
	Fired bool `json:"fired"`
	// BeforeOnset: it fired before the effect started (a false alarm).
	BeforeOnset bool `json:"before_onset,omitempty"`
	// TreatmentUnits are the compared treatment units since the onset when it fired,
	// over all stages (Units: both arms, for SRM).
	TreatmentUnits float64 `json:"treatment_units"`
	Units          float64 `json:"units"`
	// Delay is the virtual time since the onset.
	Delay time.Duration `json:"delay"`
	// Stage is the stage it fired in; Test the test that fired ("error_rate",
	// "error_rate@country=BR", "srm").
	Stage string `json:"stage,omitempty"`
	Test  string `json:"test,omitempty"`
}

// RunResult is one simulated rollout.
type RunResult struct {
	Seed uint64 `json:"seed"`
	Stop Stop   `json:"stop"`
	// Stage is where the run ended; Reason the last decision's reason.
	Stage  string `json:"stage"`
	Reason string `json:"reason,omitempty"`
	// Elapsed is the virtual time the run lasted.
	Elapsed time.Duration `json:"elapsed"`
	// Reached100 is the virtual time from the start to the stage serving 100 % (zero
	// when not reached); Completed the time to completion.
	Reached100 time.Duration `json:"reached_100,omitempty"`
	Completed  time.Duration `json:"completed,omitempty"`
	// Ramp is ramp's decision to stop on a guardrail (a rollback or a guardrail's
	// pause), SRM its sample-ratio-mismatch pause, and ZTest and Threshold the
	// baselines' decisions on the same data.
	Ramp      Detection `json:"ramp"`
	SRM       Detection `json:"srm"`
	ZTest     Detection `json:"z_test"`
	Threshold Detection `json:"threshold"`
	// Blast is the number of units served the treatment while the effect was on:
	// the blast radius of the bad variant.
	Blast float64 `json:"blast"`
	// Approvals counts approvals the simulated release manager granted.
	Approvals int `json:"approvals,omitempty"`
	Ticks     int `json:"ticks"`
}

// runState is one run's mutable state.
type runState struct {
	s       *Sim
	r       *rand.Rand
	pop     *population
	asg     *assigner
	state   rollout.State
	stats   *stageStats
	res     RunResult
	onset   time.Time
	onsetOK bool // the onset time is known (the onset stage was entered)
	thr     Threshold
	// Since the onset: compared treatment units and all compared units.
	sinceT, sinceAll float64
	approvals        []rollout.Approval
}

// Run simulates one rollout with the given seed. The same seed gives the same run.
func (s *Sim) Run(seed uint64) (RunResult, error) {
	rs := &runState{
		s:   s,
		r:   rand.New(rand.NewPCG(seed, 0x5eed_7a11)),
		pop: newPopulation(&s.traffic),
		asg: newAssigner(&s.plan, &s.traffic, s.cfg.RealEvaluation),
		res: RunResult{Seed: seed},
	}
	start := s.start
	if s.startStage == 0 && !s.cfg.Observe {
		st, _, err := rollout.NewState("sim", start).Start(&s.plan, "simulator", "simulated start", start)
		if err != nil {
			return rs.res, err
		}
		rs.state = st
	} else {
		rs.state = rollout.State{RolloutID: "sim", Status: rollout.Running, Stage: s.startStage,
			StageStarted: start, EvidenceStart: start, Since: start, Reason: "simulated start at the onset stage"}
	}
	if err := rs.enterStage(start); err != nil {
		return rs.res, err
	}
	tick := s.traffic.Tick
	for n := 1; ; n++ {
		from, now := start.Add(time.Duration(n-1)*tick), start.Add(time.Duration(n)*tick)
		rs.res.Ticks = n
		if err := rs.traffic(from); err != nil {
			return rs.res, err
		}
		done, err := rs.decide(now)
		if err != nil {
			return rs.res, err
		}
		rs.res.Elapsed = now.Sub(start)
		if done {
			break
		}
		if rs.res.Elapsed >= s.horizon {
			rs.res.Stop = StopHorizon
			rs.res.Stage = s.plan.Stages[rs.state.Stage].Name
			break
		}
	}
	return rs.res, nil
}

// enterStage starts the statistics of the state's stage at time at.
func (rs *runState) enterStage(at time.Time) error {
	s := rs.s
	if err := rs.asg.render(rs.state); err != nil {
		return err
	}
	rs.stats = newStageStats(s.tests, &s.traffic)
	rs.thr.Reset()
	if rs.state.Stage == rs.s.onsetStage && !rs.onsetOK && rs.state.Status == rollout.Running {
		rs.onset, rs.onsetOK = at.Add(s.cfg.Scenario.Onset.After), true
	}
	if rs.state.Stage == len(s.plan.Stages)-1 && rs.res.Reached100 == 0 && rs.state.Status == rollout.Running {
		rs.res.Reached100 = max(at.Sub(s.start), time.Nanosecond)
	}
	return nil
}

// traffic simulates the units of the tick that starts at from.
func (rs *runState) traffic(from time.Time) error {
	s := rs.s
	active := rs.onsetOK && !from.Before(rs.onset) && !s.cfg.Scenario.Effect.None()
	since := time.Duration(0)
	if active {
		since = from.Sub(rs.onset)
	}
	base := rs.pop.baseline()
	pi := 0.0
	if rs.asg.ok {
		pi = rs.asg.design.share
	}
	var errs, units [2]float64
	for range s.traffic.UnitsPerTick {
		u := rs.pop.unit(rs.r)
		treated, arm, err := rs.asg.assign(&u)
		if err != nil {
			return err
		}
		if treated && active {
			rs.res.Blast++
		}
		if arm == notCompared {
			continue
		}
		if active {
			if q := s.effect.srmDrop(pi, arm); q > 0 && rs.r.Float64() < q {
				continue // the exposure is lost: the unit is served but never counted
			}
		}
		c := base
		if arm == armTreatment && active && s.effect.applies(&u) {
			c = s.effect.shift(c, since)
		}
		o := rs.pop.outcome(rs.r, c, &s.need)
		rs.stats.add(s.tests, arm, &u, &o)
		units[arm-1]++
		errs[arm-1] += o.Error
		if active {
			rs.sinceAll++
			if arm == armTreatment {
				rs.sinceT++
			}
		}
	}
	// The threshold check looks at this tick's units only.
	if s.threshold >= 0 && rs.asg.ok && !rs.res.Threshold.Fired {
		if rs.thr.Check(errs[0], units[0], errs[1], units[1]) {
			rs.res.Threshold = rs.detection(from.Add(s.traffic.Tick), s.tests[s.threshold].name)
		}
	}
	return nil
}

// detection records a detector firing at time at.
func (rs *runState) detection(at time.Time, what string) Detection {
	d := Detection{Fired: true, Stage: rs.s.plan.Stages[rs.state.Stage].Name, Test: what,
		TreatmentUnits: rs.sinceT, Units: rs.sinceAll}
	if !rs.onsetOK || at.Before(rs.onset) || rs.s.cfg.Scenario.Effect.None() {
		d.BeforeOnset = !rs.s.cfg.Scenario.Effect.None()
		return d
	}
	d.Delay = at.Sub(rs.onset)
	return d
}

// decide analyses the stage, runs the baselines and ramp's decision, and applies it.
// It reports whether the run is over.
func (rs *runState) decide(now time.Time) (bool, error) {
	s := rs.s
	st := rs.state
	var a *rollout.Analysis
	if rs.asg.ok {
		d := rs.asg.design
		in := rs.stats.stageInput(&s.traffic, d.share, s.alpha, s.stages)
		var rep analysis.Report
		var err error
		a, rep, err = verdicts(s.tests, in, st.Stage, s.plan.Stages[st.Stage].Name, st.EvidenceStart, now)
		if err != nil {
			return true, fmt.Errorf("analyse stage %q: %w", s.plan.Stages[st.Stage].Name, err)
		}
		if !rs.res.ZTest.Fired {
			if what, ok := rs.zTest(in, rep.Budget); ok {
				rs.res.ZTest = rs.detection(now, what)
			}
		}
	} else {
		// A stage without a randomised control has nothing to compare; its analysis is
		// fresh and empty, so rollout.Decide times it (see the package doc on ingest).
		a = &rollout.Analysis{AsOf: now, Stage: st.Stage, EvidenceStart: st.EvidenceStart,
			UnitsTreatment: int64(rs.stats.nT), UnitsControl: int64(rs.stats.nC)}
	}
	d := rollout.Decide(&s.plan, st, a, rs.approvals, now)
	if d.ApprovalNeeded {
		// The simulated release manager approves at once; the rollout advances at the
		// next tick.
		rs.approvals = append(rs.approvals, rollout.Approval{RolloutID: st.RolloutID, Stage: st.Stage + 1,
			Approver: "sim-release-manager", ApproverRole: rollout.RoleReleaseManager, Requester: "sim-requester", At: now})
		rs.res.Approvals++
	}
	stop, test := classify(d)
	switch {
	case (stop == StopRolledBack || stop == StopPausedGuardrail) && !rs.res.Ramp.Fired:
		rs.res.Ramp = rs.detection(now, test)
	case stop == StopPausedSRM && !rs.res.SRM.Fired:
		rs.res.SRM = rs.detection(now, test)
	}
	if s.cfg.Observe {
		// The baselines test no split: an SRM scenario waits for the SRM check only.
		done := rs.res.SRM.Fired
		if s.effect.SRM == 0 || s.effect.SRM == 1 {
			done = rs.res.Ramp.Fired && rs.res.ZTest.Fired && (s.threshold < 0 || rs.res.Threshold.Fired)
		}
		if done {
			rs.res.Stop, rs.res.Stage, rs.res.Reason = stop, s.plan.Stages[st.Stage].Name, d.Reason
		}
		return done, nil
	}
	next, tr, err := st.Apply(&s.plan, d)
	if err != nil {
		return true, fmt.Errorf("apply %s: %w", d.Action, err)
	}
	if !tr.Changed() {
		return false, nil
	}
	rs.state = next
	rs.res.Stage, rs.res.Reason = s.plan.Stages[next.Stage].Name, d.Reason
	switch tr.Kind {
	case rollout.KindAdvance, rollout.KindStart:
		return false, rs.enterStage(now)
	case rollout.KindComplete:
		rs.res.Stop = StopCompleted
		rs.res.Completed = now.Sub(s.start)
		return true, nil
	}
	rs.res.Stop = stop
	return true, nil
}

// classify names how a decision would end a run, and the test behind it.
func classify(d rollout.Decision) (Stop, string) {
	switch d.Action {
	case rollout.Rollback:
		return StopRolledBack, trigger(d)
	case rollout.Pause:
		switch {
		case d.Evidence.Trigger != nil:
			return StopPausedGuardrail, trigger(d)
		case d.Evidence.SRM:
			return StopPausedSRM, "srm"
		case strings.Contains(d.Reason, "maximum duration"):
			return StopPausedEvidence, ""
		}
		return StopPausedOther, ""
	case rollout.Complete:
		return StopCompleted, ""
	}
	return "", ""
}

func trigger(d rollout.Decision) string {
	t := d.Evidence.Trigger
	if t == nil {
		return ""
	}
	if t.Dimension != "" {
		return t.Metric + "@" + t.Dimension
	}
	return t.Metric
}

// zTest runs the peeked z-test on every guardrail, overall and in every segment
// value, at the α Analyze gives each test; it returns the first that crosses.
func (rs *runState) zTest(in *analysis.StageInput, b analysis.Budget) (string, bool) {
	for i, t := range rs.s.tests {
		if t.role != ingest.RoleGuardrail {
			continue
		}
		md := &in.Metrics[i]
		if _, crossed := ZTest(t.spec, md.Total, b.Total); crossed {
			return t.metric, true
		}
		tr := &rs.s.traffic
		for d, values := range [][]Share{tr.Countries, tr.Plans, tr.Platforms} {
			dim := Dimensions[d]
			for _, v := range values {
				arms, ok := md.Segments[dim][v.Value]
				if !ok {
					continue
				}
				if _, crossed := ZTest(t.spec, arms, b.Segment); crossed {
					return t.metric + "@" + dim + "=" + v.Value, true
				}
			}
		}
	}
	return "", false
}

// Sizing is the plan's own sizing of every stage (rollout.Plan.Size: the minimum
// sample each stage needs to see its guardrails' smallest harm, and the warnings
// the plan view shows) at the simulated traffic. Each stage's traffic — the new
// units per hour entering the units it compares — is measured by assigning a sample
// of simulated units with the stage's rendered rules.
func (s *Sim) Sizing(seed uint64) []rollout.Sizing {
	const sample = 20000
	rates := make([]float64, len(s.plan.Stages))
	r := rand.New(rand.NewPCG(seed, 0x512e))
	pop := newPopulation(&s.traffic)
	asg := newAssigner(&s.plan, &s.traffic, false)
	units := make([]Unit, sample)
	for i := range units {
		units[i] = pop.unit(r)
	}
	for i := range s.plan.Stages {
		if asg.render(rollout.State{RolloutID: "sim", Status: rollout.Running, Stage: i}) != nil {
			continue
		}
		n := 0
		for j := range units {
			if _, arm, err := asg.assign(&units[j]); err == nil && arm != notCompared {
				n++
			}
		}
		rates[i] = float64(n) / sample
	}
	perHour := float64(s.traffic.UnitsPerTick) * float64(time.Hour) / float64(s.traffic.Tick)
	return s.plan.SizeStages(func(i int) float64 { return rates[i] * perHour })
}
