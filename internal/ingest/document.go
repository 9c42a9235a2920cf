package ingest

import (
	"encoding/json"
	"time"

	"github.com/ramp-release/ramp/internal/analysis"
	"github.com/ramp-release/ramp/internal/rollout"
	"github.com/ramp-release/ramp/internal/store"
)

// Document is the answer of GET /api/v1/rollouts/{id}/analysis: the current stage's
// analysis per metric and segment — estimate, anytime-valid interval, status and
// sample sizes — the verdicts the controller decides on, and each metric's history
// (one point per controller tick) to plot.
type Document struct {
	RolloutID     string    `json:"rollout_id"`
	Stage         int       `json:"stage"`
	StageName     string    `json:"stage_name,omitempty"`
	EvidenceStart time.Time `json:"evidence_start,omitzero"`
	// AsOf is the time of the newest event folded in.
	AsOf time.Time `json:"as_of,omitzero"`
	// Available is false when the stage has no data (or no control) yet; Note says why.
	Available      bool    `json:"available"`
	Note           string  `json:"note,omitempty"`
	TreatmentShare float64 `json:"treatment_share,omitempty"`
	Units          struct {
		Treatment float64 `json:"treatment"`
		Control   float64 `json:"control"`
		Multiple  float64 `json:"multiple_exposed"`
	} `json:"units"`
	SRM              *analysis.SRMResult              `json:"srm,omitempty"`
	MultipleExposure *analysis.MultipleExposureResult `json:"multiple_exposure,omitempty"`
	Budget           *analysis.Budget                 `json:"budget,omitempty"`
	Summary          *analysis.Summary                `json:"summary,omitempty"`
	Verdicts         *rollout.Analysis                `json:"verdicts,omitempty"`
	Metrics          []DocumentMetric                 `json:"metrics"`
}

// DocumentMetric is one guardrail's or gate's analysis.
type DocumentMetric struct {
	// Metric is the metric key; Name the test's name (the key, or gate:key when the
	// metric is also a guardrail).
	Metric    string             `json:"metric"`
	Name      string             `json:"name"`
	Role      string             `json:"role"`
	Kind      string             `json:"kind"`
	Direction analysis.Direction `json:"direction"`
	Tolerance analysis.Tolerance `json:"tolerance"`
	// Total is the whole stage's result; Segments the result per segment value (by
	// dimension, then by units, each dimension's "other" last).
	Total    *analysis.Result      `json:"total,omitempty"`
	Segments []analysis.Result     `json:"segments,omitempty"`
	Drift    *analysis.DriftResult `json:"drift,omitempty"`
	// Moments are the sufficient statistics per arm (overall).
	Moments *struct {
		Treatment analysis.Moments `json:"treatment"`
		Control   analysis.Moments `json:"control"`
	} `json:"moments,omitempty"`
	// Quantile figures of a quantile metric.
	Quantile *QuantileFigures `json:"quantile,omitempty"`
	// Series is the metric's history in this stage, oldest first.
	Series []SeriesPoint `json:"series"`
}

// QuantileFigures are a quantile metric's quantile per arm and its frozen
// exceedance thresholds (null before control had enough values).
type QuantileFigures struct {
	Q          float64  `json:"q"`
	Treatment  *float64 `json:"treatment"`
	Control    *float64 `json:"control"`
	Thresholds *struct {
		Treatment float64 `json:"treatment"`
		Control   float64 `json:"control"`
	} `json:"thresholds,omitempty"`
}

// SeriesPoint is one tick of a metric's history.
type SeriesPoint struct {
	At         time.Time `json:"at"`
	Status     string    `json:"status"`
	Treatment  *float64  `json:"treatment"`
	Control    *float64  `json:"control"`
	Diff       *float64  `json:"diff"`
	DiffBounds struct {
		Lower *float64 `json:"lower"`
		Upper *float64 `json:"upper"`
	} `json:"diff_bounds"`
	TreatmentUnits float64  `json:"treatment_units"`
	ControlUnits   float64  `json:"control_units"`
	CrossedIn      []string `json:"crossed_in,omitempty"`
}

// NewDocument assembles the analysis document of rollout r from a snapshot and its
// report (ok false: no data) and the stored points of the stage.
func NewDocument(r store.Rollout, snap Snapshot, rep *analysis.Report, points []store.AnalysisPoint) Document {
	d := Document{RolloutID: r.ID, Stage: r.State.Stage, EvidenceStart: r.State.EvidenceStart, Metrics: []DocumentMetric{}}
	if s := r.State.Stage; s >= 0 && s < len(r.Plan.Stages) {
		d.StageName = r.Plan.Stages[s].Name
	}
	if rep == nil {
		switch {
		case r.State.Status != rollout.Running && r.State.Status != rollout.Paused:
			d.Note = "the rollout is " + string(r.State.Status) + ": only running and paused rollouts are analysed"
		default:
			d.Note = "no data for this stage's evidence period yet (or the stage has no randomised control)"
		}
		return d
	}
	d.Available = !snap.AsOf.IsZero()
	d.AsOf, d.EvidenceStart, d.TreatmentShare = snap.AsOf, snap.EvidenceStart, snap.Input.TreatmentShare
	d.Units.Treatment, d.Units.Control, d.Units.Multiple = snap.Input.TreatmentUnits, snap.Input.ControlUnits, snap.Input.MultiExposedUnits
	d.SRM, d.MultipleExposure, d.Budget, d.Summary = &rep.SRM, &rep.MultipleExposure, &rep.Budget, &rep.Summary
	d.Verdicts = Verdicts(snap, *rep)
	var pts []Point
	for _, p := range points {
		var pt Point
		if json.Unmarshal(p.Data, &pt) == nil {
			pts = append(pts, pt)
		}
	}
	for i, mr := range rep.Metrics {
		info := snap.Tests[i]
		md := snap.Input.Metrics[i]
		spec := md.Metric.WithDefaults()
		dm := DocumentMetric{Metric: info.Metric, Name: info.Name, Role: info.Role, Kind: string(spec.Kind), Direction: spec.Direction,
			Tolerance: spec.Tolerance, Drift: mr.Drift, Series: []SeriesPoint{}}
		if mr.Drift == nil {
			total := mr.Total
			dm.Total, dm.Segments = &total, mr.Segments
			dm.Moments = &struct {
				Treatment analysis.Moments `json:"treatment"`
				Control   analysis.Moments `json:"control"`
			}{md.Total.Treatment.Moments, md.Total.Control.Moments}
		}
		if spec.Kind == analysis.KindQuantile {
			q := &QuantileFigures{Q: spec.Quantile, Treatment: finite(info.QuantileTreatment), Control: finite(info.QuantileControl)}
			if info.Frozen {
				q.Thresholds = &struct {
					Treatment float64 `json:"treatment"`
					Control   float64 `json:"control"`
				}{info.Thresholds[0], info.Thresholds[1]}
			}
			dm.Quantile = q
		}
		for _, p := range pts {
			for _, pm := range p.Metrics {
				if pm.Name != info.Name {
					continue
				}
				sp := SeriesPoint{At: p.At, Status: pm.Status, Treatment: pm.Treatment, Control: pm.Control, Diff: pm.Diff,
					TreatmentUnits: pm.NT, ControlUnits: pm.NC, CrossedIn: pm.Crossed}
				sp.DiffBounds.Lower, sp.DiffBounds.Upper = pm.Lower, pm.Upper
				dm.Series = append(dm.Series, sp)
			}
		}
		d.Metrics = append(d.Metrics, dm)
	}
	return d
}
