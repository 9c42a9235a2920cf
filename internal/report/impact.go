package report

import (
	"time"

	"github.com/ramp-release/ramp/internal/rollout"
)

// Impact is what the treatment did to the plan's metrics.
type Impact struct {
	// Success are the plan's gates (its success metrics); Guardrails its guardrails.
	Success    []MetricImpact `json:"success"`
	Guardrails []MetricImpact `json:"guardrails"`
	// Holdout says whether the plan keeps a holdout, so that treated units can be
	// compared with it once the rollout serves 100 %.
	Holdout bool `json:"holdout"`
}

// MetricImpact is one metric's treatment − control difference, stage by stage.
type MetricImpact struct {
	Metric string `json:"metric"`
	// Kind and Transform come from the metric's definition and say how its figures
	// are written (proportions in percentage points, log-scale metrics in percent).
	Kind      string `json:"kind,omitempty"`
	Transform string `json:"transform,omitempty"`
	// Stages hold the estimate at the last analysis point of each stage that has one.
	Stages []Estimate `json:"stages"`
	// Control is the last estimate against the randomised control (the largest
	// stage with one), Holdout the treated population against the holdout at 100 %.
	Control *Estimate `json:"control,omitempty"`
	Holdout *Estimate `json:"holdout,omitempty"`
}

// Format is how the metric's figures are written.
func (m MetricImpact) Format() Format { return Format{Kind: m.Kind, Transform: m.Transform} }

// Estimate is a difference treatment − control with its interval at one tick.
type Estimate struct {
	Stage     int       `json:"stage"`
	StageName string    `json:"stage_name"`
	At        time.Time `json:"at"`
	// Against is "control" (the stage's randomised control) or "holdout".
	Against   string   `json:"against"`
	Status    string   `json:"status"`
	Treatment *float64 `json:"treatment"`
	Control   *float64 `json:"control"`
	// Diff is treatment − control (a log ratio for log-scale metrics); Lower and
	// Upper its anytime-valid bounds (null when unbounded).
	Diff           *float64 `json:"diff"`
	Lower          *float64 `json:"lower"`
	Upper          *float64 `json:"upper"`
	UnitsTreatment float64  `json:"units_treatment"`
	UnitsControl   float64  `json:"units_control"`
}

func (c *calc) impact() Impact {
	im := Impact{Success: []MetricImpact{}, Guardrails: []MetricImpact{}, Holdout: c.plan.HoldoutBuckets() > 0}
	seen := map[string]bool{}
	for _, g := range c.plan.Gates {
		if seen["gate:"+g.Metric] {
			continue
		}
		seen["gate:"+g.Metric] = true
		im.Success = append(im.Success, c.metricImpact(g.Metric, roleGate, ""))
	}
	for _, g := range c.plan.Guardrails {
		if seen["guardrail:"+g.Metric] {
			continue
		}
		seen["guardrail:"+g.Metric] = true
		im.Guardrails = append(im.Guardrails, c.metricImpact(g.Metric, roleGuardrail, string(g.Kind)))
	}
	return im
}

// holdoutStage reports whether stage i compares the treated population with the
// holdout (it serves 100 % and the plan keeps a holdout).
func (c *calc) holdoutStage(i int) bool {
	return c.stagePercent(i) >= 100 && c.plan.HoldoutBuckets() > 0
}

func (c *calc) metricImpact(metric, role, kind string) MetricImpact {
	mi := MetricImpact{Metric: metric, Kind: kind, Stages: []Estimate{}}
	if def, ok := c.in.Metrics[metric]; ok {
		mi.Kind, mi.Transform = def.Kind, def.Transform
	}
	for i := range c.stages {
		s := c.stages[i]
		if s.EnteredAt.IsZero() {
			continue
		}
		end := s.LeftAt
		if end.IsZero() {
			end = c.now
		}
		var last *Estimate
		for _, p := range c.pointsOf(i, s.EnteredAt, end) {
			for _, m := range p.Metrics {
				if m.Metric != metric || m.Role != role || m.Diff == nil {
					continue
				}
				e := Estimate{Stage: i, StageName: s.Name, At: p.At, Against: "control", Status: m.Status,
					Treatment: m.Treatment, Control: m.Control, Diff: m.Diff, Lower: m.Lower, Upper: m.Upper,
					UnitsTreatment: m.NT, UnitsControl: m.NC}
				if c.holdoutStage(i) {
					e.Against = "holdout"
				}
				last = &e
			}
		}
		if last == nil {
			continue
		}
		mi.Stages = append(mi.Stages, *last)
		e := *last
		if e.Against == "holdout" {
			mi.Holdout = &e
		} else {
			mi.Control = &e
		}
	}
	return mi
}

// charts are the series the dashboard plots.

// Charts are a report's plots: exposure and the treated percentage over time, and
// each metric's difference with its interval, with the decisions marked.
type Charts struct {
	Exposure []ExposurePoint `json:"exposure"`
	Percent  []PercentPoint  `json:"percent"`
	Metrics  []MetricSeries  `json:"metrics"`
	Marks    []Mark          `json:"marks"`
}

// ExposurePoint is a stage's cumulative units per arm at one tick.
type ExposurePoint struct {
	At             time.Time `json:"at"`
	Stage          int       `json:"stage"`
	UnitsTreatment float64   `json:"units_treatment"`
	UnitsControl   float64   `json:"units_control"`
}

// MetricSeries is one metric's difference over time.
type MetricSeries struct {
	Metric    string        `json:"metric"`
	Role      string        `json:"role"`
	Kind      string        `json:"kind,omitempty"`
	Transform string        `json:"transform,omitempty"`
	Points    []SeriesPoint `json:"points"`
}

// Format is how the metric's figures are written.
func (m MetricSeries) Format() Format { return Format{Kind: m.Kind, Transform: m.Transform} }

// SeriesPoint is one tick of a metric's series.
type SeriesPoint struct {
	At     time.Time `json:"at"`
	Stage  int       `json:"stage"`
	Status string    `json:"status"`
	Diff   *float64  `json:"diff"`
	Lower  *float64  `json:"lower"`
	Upper  *float64  `json:"upper"`
}

// Mark is a decision point: a transition of the rollout.
type Mark struct {
	At        time.Time `json:"at"`
	Kind      string    `json:"kind"`
	Stage     int       `json:"stage"`
	StageName string    `json:"stage_name"`
	Label     string    `json:"label"`
}

func (c *calc) charts() Charts {
	ch := Charts{Exposure: []ExposurePoint{}, Percent: c.percent, Metrics: []MetricSeries{}, Marks: []Mark{}}
	if ch.Percent == nil {
		ch.Percent = []PercentPoint{}
	}
	index := map[string]int{}
	for _, p := range c.points {
		ch.Exposure = append(ch.Exposure, ExposurePoint{At: p.At, Stage: p.Stage, UnitsTreatment: p.UnitsTreatment, UnitsControl: p.UnitsControl})
		for _, m := range p.Metrics {
			key := m.Role + "\x00" + m.Metric
			i, ok := index[key]
			if !ok {
				ms := MetricSeries{Metric: m.Metric, Role: m.Role, Points: []SeriesPoint{}}
				if def, ok := c.in.Metrics[m.Metric]; ok {
					ms.Kind, ms.Transform = def.Kind, def.Transform
				}
				i = len(ch.Metrics)
				index[key] = i
				ch.Metrics = append(ch.Metrics, ms)
			}
			ch.Metrics[i].Points = append(ch.Metrics[i].Points, SeriesPoint{At: p.At, Stage: p.Stage, Status: m.Status, Diff: m.Diff, Lower: m.Lower, Upper: m.Upper})
		}
	}
	for _, d := range c.decisions {
		if d.Kind == "hold" || d.Kind == string(rollout.KindSchedule) {
			continue
		}
		stage := d.ToStage
		label := d.Kind + " " + c.stageName(stage)
		switch d.Kind {
		case string(rollout.KindPause), string(rollout.KindRollback), string(rollout.KindResume), string(rollout.KindRestartEvidence):
			stage = d.FromStage
			label = d.Kind + " at " + c.stageName(stage)
		case string(rollout.KindComplete):
			label = "complete"
		}
		ch.Marks = append(ch.Marks, Mark{At: d.At.UTC(), Kind: d.Kind, Stage: stage, StageName: c.stageName(stage), Label: label})
	}
	return ch
}
