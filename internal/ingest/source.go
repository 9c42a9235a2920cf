package ingest

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/ramp-release/ramp/internal/analysis"
	"github.com/ramp-release/ramp/internal/rollout"
	"github.com/ramp-release/ramp/internal/store"
)

// Snapshot is one stage's statistics, copied out of the aggregator so that the
// analysis runs without holding it.
type Snapshot struct {
	Rollout       string
	Stage         int
	StageName     string
	EvidenceStart time.Time
	AsOf          time.Time
	Input         analysis.StageInput
	Tests         []TestInfo
}

// TestInfo describes one test of a stage.
type TestInfo struct {
	Name, Metric, Role string
	Def                store.MetricDefinition
	// Quantile figures of a quantile test: each arm's quantile (NaN before any
	// value) and the frozen exceedance thresholds (zero before they are frozen).
	QuantileTreatment, QuantileControl float64
	Thresholds                         [2]float64
	Frozen                             bool
}

// Snapshot copies the statistics of r's current stage and evidence period, after
// bringing the aggregate up to date with r's state. ok is false without an
// aggregate (no control to compare with, or no rollout stage known yet).
func (a *Aggregator) Snapshot(ctx context.Context, r store.Rollout) (Snapshot, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.syncLocked(ctx, r)
	g := a.stages[r.ID]
	if g == nil || g.Stage != r.State.Stage || !g.EvidenceStart.Equal(r.State.EvidenceStart) {
		return Snapshot{}, false
	}
	s := Snapshot{Rollout: g.Rollout, Stage: g.Stage, StageName: g.StageName, EvidenceStart: g.EvidenceStart, AsOf: g.AsOf}
	in := &s.Input
	in.Alpha, in.Stages, in.Dimensions, in.TopValues = g.Alpha, g.TestedStages, g.Dims, a.opts.TopValues
	in.TreatmentShare, in.TreatmentUnits, in.ControlUnits, in.MultiExposedUnits = g.Share, g.NT, g.NC, g.NMulti
	in.Metrics = make([]analysis.MetricData, len(g.Tests))
	for i := range g.Tests {
		t := &g.Tests[i]
		md := analysis.MetricData{Metric: t.Spec, Total: analysis.Arms{Treatment: t.Total[0], Control: t.Total[1]}}
		if t.Spec.Kind == analysis.KindDistribution {
			md.Total.Treatment.Histogram = cloneHistogram(t.Total[0].Histogram)
			md.Total.Control.Histogram = cloneHistogram(t.Total[1].Histogram)
		} else {
			md.Segments = make(map[string]map[string]analysis.Arms, len(g.Dims))
			for d, dim := range g.Dims {
				vals := make(map[string]analysis.Arms, len(g.DimValues[d]))
				for v, name := range g.DimValues[d] {
					st := t.Segs[d][v]
					if st[0].Moments.N == 0 && st[1].Moments.N == 0 {
						continue
					}
					vals[name] = analysis.Arms{Treatment: analysis.Stats{Moments: st[0].Moments}, Control: analysis.Stats{Moments: st[1].Moments}}
				}
				if len(vals) > 0 {
					md.Segments[dim] = vals
				}
			}
		}
		in.Metrics[i] = md
		ti := TestInfo{Name: t.Name, Metric: t.Metric, Role: t.Role, Def: t.Def, Thresholds: t.Threshold, Frozen: t.Frozen,
			QuantileTreatment: math.NaN(), QuantileControl: math.NaN()}
		if t.Spec.Kind == analysis.KindQuantile {
			q := t.Spec.WithDefaults().Quantile
			if k := t.Sketch[0]; k != nil {
				ti.QuantileTreatment, _ = k.Quantile(q)
			}
			if k := t.Sketch[1]; k != nil {
				ti.QuantileControl, _ = k.Quantile(q)
			}
		}
		s.Tests = append(s.Tests, ti)
	}
	return s, true
}

func cloneHistogram(h analysis.Histogram) analysis.Histogram {
	return analysis.Histogram{Edges: h.Edges, Counts: append([]float64(nil), h.Counts...)}
}

// PointStore keeps the analysis history.
type PointStore interface {
	AppendAnalysisPoint(ctx context.Context, p store.AnalysisPoint) error
}

// Source is the controller's analysis source: it analyses a rollout's current stage
// from the aggregator's statistics and records a point of its history at each tick.
type Source struct {
	Agg    *Aggregator
	Points PointStore
	// Now is the clock of recorded points (UTC wall clock when nil).
	Now func() time.Time
}

// Analysis analyses r's current evidence period and records the point; it returns
// nil when there is no data yet (the rollout then holds, and pauses after its bound).
// It implements controller.AnalysisSource.
func (s *Source) Analysis(ctx context.Context, r store.Rollout) (*rollout.Analysis, error) {
	snap, ok := s.Agg.Snapshot(ctx, r)
	if !ok && r.State.Status == rollout.Running && !r.Plan.HasControl(r.State.Stage) {
		// A stage with no randomised control (100 % without a holdout) has nothing to
		// compare: it is timed only, and an analysis with no verdicts says so.
		// Returning nil would read as missing data and pause the rollout.
		return &rollout.Analysis{AsOf: s.now(), Stage: r.State.Stage, EvidenceStart: r.State.EvidenceStart}, nil
	}
	if !ok || snap.AsOf.IsZero() {
		return nil, nil
	}
	rep, err := analysis.Analyze(snap.Input)
	if err != nil {
		return nil, fmt.Errorf("analyse rollout %s stage %d: %w", r.ID, snap.Stage, err)
	}
	a := Verdicts(snap, rep)
	if s.Points != nil {
		now := s.now()
		data, err := json.Marshal(NewPoint(now, snap, rep))
		if err == nil {
			err = s.Points.AppendAnalysisPoint(ctx, store.AnalysisPoint{RolloutID: r.ID, At: now, Stage: snap.Stage, Data: data})
		}
		if err != nil {
			s.Agg.log.Warn("record an analysis point", "rollout", r.ID, "err", err)
		}
	}
	return a, nil
}

// Verdicts translates a report into what the rollout controller decides on: per
// guardrail and gate its verdict (a guardrail crossed in one segment value is
// crossed there), SRM, multiple exposure and the units per arm.
func Verdicts(snap Snapshot, rep analysis.Report) *rollout.Analysis {
	a := &rollout.Analysis{
		AsOf: snap.AsOf, Stage: snap.Stage, EvidenceStart: snap.EvidenceStart,
		SRM: rep.Summary.SampleRatioMismatch, MultipleExposure: rep.MultipleExposure.Share,
		UnitsTreatment: int64(snap.Input.TreatmentUnits), UnitsControl: int64(snap.Input.ControlUnits),
	}
	for i, mr := range rep.Metrics {
		info := snap.Tests[i]
		res := rollout.MetricResult{Metric: info.Metric, Verdict: rollout.NotEnoughEvidence}
		switch {
		case mr.Drift != nil:
			switch mr.Drift.Level {
			case analysis.DriftAct:
				res.Verdict = rollout.Crossed
			case analysis.DriftNone, analysis.DriftWarn:
				res.Verdict = rollout.Clear
			}
			res.Summary = fmt.Sprintf("PSI %.3f (%s; warn %.2g, act %.2g), KS %.3f", mr.Drift.PSI, mr.Drift.Level, mr.Drift.Config.Warn, mr.Drift.Config.Act, mr.Drift.KS)
		default:
			res.Verdict = verdict(mr.Total.Status)
			res.Summary = Summarize(mr.Total, info.Def)
			if info.Role == RoleGuardrail && res.Verdict != rollout.Crossed {
				for _, seg := range mr.Segments {
					if seg.Status == analysis.Crossed {
						res.Verdict = rollout.Crossed
						res.Dimension = seg.Segment.Dimension + "=" + seg.Segment.Value
						res.Summary = Summarize(seg, info.Def)
						break
					}
				}
			}
		}
		if info.Role == RoleGate {
			a.Gates = append(a.Gates, res)
		} else {
			a.Guardrails = append(a.Guardrails, res)
		}
	}
	return a
}

func verdict(s analysis.Status) rollout.Verdict {
	switch s {
	case analysis.Crossed:
		return rollout.Crossed
	case analysis.Clear:
		return rollout.Clear
	}
	return rollout.NotEnoughEvidence
}

// Summarize writes a result for people: the difference treatment − control with its
// anytime-valid bounds and the units per arm, e.g. "+0.42 pp [+0.18, +0.66] (5 210 vs
// 99 012 units)". Proportions are in percentage points, log-scale metrics in percent.
func Summarize(r analysis.Result, def store.MetricDefinition) string {
	f := func(x float64) string {
		switch {
		case math.IsInf(x, -1):
			return "−∞"
		case math.IsInf(x, 1):
			return "+∞"
		case math.IsNaN(x):
			return "?"
		}
		var s string
		switch {
		case def.Kind == string(analysis.KindProportion):
			s = strconv.FormatFloat(x*100, 'f', 2, 64) + " pp"
		case def.Transform == "log":
			s = strconv.FormatFloat(math.Expm1(x)*100, 'f', 1, 64) + " %"
		default:
			s = strconv.FormatFloat(x, 'g', 3, 64)
		}
		if x >= 0 {
			s = "+" + s
		}
		return s
	}
	out := fmt.Sprintf("%s [%s, %s] (%.0f vs %.0f units)", f(r.Diff), f(r.DiffBounds.Lower), f(r.DiffBounds.Upper), r.Treatment.Units, r.Control.Units)
	if r.Note != "" {
		out += "; " + r.Note
	}
	return out
}

// Point is one tick of a rollout's analysis history: what the charts plot.
type Point struct {
	At               time.Time     `json:"at"`
	Stage            int           `json:"stage"`
	AsOf             time.Time     `json:"as_of"`
	UnitsTreatment   float64       `json:"units_treatment"`
	UnitsControl     float64       `json:"units_control"`
	SRMLogBF         float64       `json:"srm_log_bf"`
	SRM              bool          `json:"srm,omitempty"`
	MultipleExposure float64       `json:"multiple_exposure,omitempty"`
	Metrics          []PointMetric `json:"metrics"`
}

// PointMetric is one test's overall result at one tick, and the segments crossed.
type PointMetric struct {
	Name      string   `json:"name"`
	Metric    string   `json:"metric"`
	Role      string   `json:"role"`
	Status    string   `json:"status"`
	Treatment *float64 `json:"treatment"`
	Control   *float64 `json:"control"`
	Diff      *float64 `json:"diff"`
	Lower     *float64 `json:"lower"`
	Upper     *float64 `json:"upper"`
	NT        float64  `json:"treatment_units"`
	NC        float64  `json:"control_units"`
	PSI       *float64 `json:"psi,omitempty"`
	Crossed   []string `json:"crossed_in,omitempty"`
}

func finite(x float64) *float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return nil
	}
	return &x
}

// NewPoint summarises a report as a point of the history.
func NewPoint(at time.Time, snap Snapshot, rep analysis.Report) Point {
	p := Point{At: at, Stage: snap.Stage, AsOf: snap.AsOf, UnitsTreatment: snap.Input.TreatmentUnits, UnitsControl: snap.Input.ControlUnits,
		SRMLogBF: rep.SRM.LogBF, SRM: rep.SRM.Mismatch, MultipleExposure: rep.MultipleExposure.Share}
	if math.IsNaN(p.SRMLogBF) || math.IsInf(p.SRMLogBF, 0) {
		p.SRMLogBF = 0
	}
	for i, mr := range rep.Metrics {
		info := snap.Tests[i]
		pm := PointMetric{Name: info.Name, Metric: info.Metric, Role: info.Role}
		if mr.Drift != nil {
			pm.Status = string(mr.Drift.Level)
			pm.PSI = finite(mr.Drift.PSI)
			pm.NT, pm.NC = mr.Drift.Treatment, mr.Drift.Control
		} else {
			r := mr.Total
			pm.Status = string(r.Status)
			pm.Treatment, pm.Control, pm.Diff = finite(r.Treatment.Mean), finite(r.Control.Mean), finite(r.Diff)
			pm.Lower, pm.Upper = finite(r.DiffBounds.Lower), finite(r.DiffBounds.Upper)
			pm.NT, pm.NC = r.Treatment.Units, r.Control.Units
			for _, seg := range mr.Segments {
				if seg.Status == analysis.Crossed {
					pm.Crossed = append(pm.Crossed, seg.Segment.Dimension+"="+seg.Segment.Value)
				}
			}
		}
		p.Metrics = append(p.Metrics, pm)
	}
	return p
}

func (s *Source) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now().UTC()
}
