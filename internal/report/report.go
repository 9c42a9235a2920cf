package report

import (
	"fmt"
	"sort"
	"time"

	"github.com/ramp-release/ramp/internal/rollout"
	"github.com/ramp-release/ramp/internal/store"
)

// Report is what one rollout's stored data say about it. Every figure is computed
// by [New] from an [Input] and a time; the JSON form carries everything the
// Markdown form shows, so either can be made from the other's source. Times are
// UTC; durations are written as plans write them ("1d2h30m", rollout.Duration).
type Report struct {
	RolloutID   string `json:"rollout_id"`
	Flag        string `json:"flag"`
	Environment string `json:"environment"`
	// Plan is the saved plan the rollout was made from, Template the template its
	// plan names; Group is what the portfolio groups it under (template, else plan,
	// else "custom").
	Plan           string         `json:"plan,omitempty"`
	Template       string         `json:"template,omitempty"`
	Group          string         `json:"group"`
	Treatment      string         `json:"treatment"`
	Control        string         `json:"control"`
	HoldoutPercent float64        `json:"holdout_percent,omitempty"`
	Status         rollout.Status `json:"status"`
	// AsOf is the report's time: what is still going on is measured up to it.
	AsOf time.Time `json:"as_of"`

	Velocity   Velocity         `json:"velocity"`
	Detections []Detection      `json:"detections"`
	Adoption   *AdoptionSection `json:"adoption"`
	Impact     Impact           `json:"impact"`
	Charts     Charts           `json:"charts"`
	// Notes say what the data could not tell and why.
	Notes []string `json:"notes,omitempty"`
}

// Options tune a report.
type Options struct {
	// Now is the report's time (AsOf). It must be given: a report never reads the
	// clock, so that it is reproducible.
	Now time.Time
}

// New computes the report of in as of opts.Now.
func New(in Input, opts Options) Report {
	r := in.Rollout
	p := r.Plan
	rep := Report{
		RolloutID: r.ID, Flag: r.Flag, Environment: r.Environment, Plan: r.PlanName, Template: p.Template,
		Group: groupOf(r), Treatment: p.Treatment, Control: p.Control, HoldoutPercent: p.HoldoutPercent,
		Status: r.State.Status, AsOf: opts.Now.UTC(), Detections: []Detection{},
	}
	decisions := append([]store.RolloutDecision(nil), in.Decisions...)
	sort.SliceStable(decisions, func(i, j int) bool { return decisions[i].Seq < decisions[j].Seq })
	pts, skipped := decodePoints(in.Points)
	if skipped > 0 {
		rep.Notes = append(rep.Notes, fmt.Sprintf("%d analysis points could not be read and were left out.", skipped))
	}
	if len(pts) >= store.MaxAnalysisPoints {
		rep.Notes = append(rep.Notes, fmt.Sprintf("The store keeps the latest %d analysis points of a rollout; the oldest (from %s) may be gone, so figures that need earlier ticks are missing.",
			store.MaxAnalysisPoints, Stamp(pts[0].At)))
	}
	c := &calc{in: in, plan: &p, decisions: decisions, points: pts, now: rep.AsOf, status: r.State.Status}
	c.timeline()
	rep.Velocity = c.velocity()
	rep.Detections = c.detections()
	rep.Impact = c.impact()
	rep.Adoption = adoptionSection(in)
	rep.Charts = c.charts()
	if len(pts) == 0 && r.State.Status != rollout.Draft && r.State.Status != rollout.Scheduled {
		rep.Notes = append(rep.Notes, "No analysis history is stored for this rollout, so detection figures from the evidence and business impact are missing.")
	}
	return rep
}

// groupOf is the portfolio's template group of a rollout.
func groupOf(r store.Rollout) string {
	switch {
	case r.Plan.Template != "":
		return r.Plan.Template
	case r.PlanName != "":
		return r.PlanName
	}
	return "custom"
}

// calc holds what the sections share while a report is computed.
type calc struct {
	in        Input
	plan      *rollout.Plan
	decisions []store.RolloutDecision
	points    []point
	now       time.Time
	status    rollout.Status

	// Filled by timeline.
	started, ended, full time.Time
	stages               []StageTime
	pauses               []Pause
	rollbacks            []Rollback
	restarts             []Event
	percent              []PercentPoint
}

// stageName names stage i of the plan.
func (c *calc) stageName(i int) string {
	if i >= 0 && i < len(c.plan.Stages) {
		return c.plan.Stages[i].Name
	}
	return fmt.Sprint(i)
}

func (c *calc) stagePercent(i int) float64 {
	if i >= 0 && i < len(c.plan.Stages) {
		return c.plan.Stages[i].Percent
	}
	return 0
}

// active reports whether the rollout is still going (its open intervals end now).
func (c *calc) active() bool { return !c.status.Terminal() }

// stageEntry returns when stage i was entered (zero if never).
func (c *calc) stageEntry(i int) time.Time {
	if i >= 0 && i < len(c.stages) {
		return c.stages[i].EnteredAt
	}
	return time.Time{}
}

// pointsOf returns the points of stage i taken in [from, to].
func (c *calc) pointsOf(stage int, from, to time.Time) []point {
	var out []point
	for _, p := range c.points {
		if p.Stage == stage && !p.At.Before(from) && !p.At.After(to) {
			out = append(out, p)
		}
	}
	return out
}

// unitsAt returns the stage's cumulative units per arm at the last point of stage i
// at or before t (and not before the stage was entered); ok is false without one.
func (c *calc) unitsAt(stage int, t time.Time) (ArmUnits, bool) {
	pts := c.pointsOf(stage, c.stageEntry(stage), t)
	if len(pts) == 0 {
		return ArmUnits{}, false
	}
	last := pts[len(pts)-1]
	return ArmUnits{Treatment: last.UnitsTreatment, Control: last.UnitsControl}, true
}

// ArmUnits counts units per arm.
type ArmUnits struct {
	Treatment float64 `json:"treatment"`
	Control   float64 `json:"control"`
}

func (a ArmUnits) minus(b ArmUnits) ArmUnits {
	return ArmUnits{Treatment: max(a.Treatment-b.Treatment, 0), Control: max(a.Control-b.Control, 0)}
}

// dur returns the duration between two times as a rollout.Duration pointer, nil
// when either is unknown or to comes before from (a report as of a time before the
// data).
func dur(from, to time.Time) *rollout.Duration {
	if from.IsZero() || to.IsZero() || to.Before(from) {
		return nil
	}
	d := rollout.Duration(to.Sub(from))
	return &d
}
