package report

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"github.com/ramp-release/ramp/internal/store"
)

// Input is everything a report is computed from, as the store keeps it.
type Input struct {
	// Rollout is the rollout with the snapshot of its plan.
	Rollout store.Rollout
	// Decisions is its decision log, oldest first.
	Decisions []store.RolloutDecision
	// Points is its analysis history over every stage, oldest first: one point per
	// controller tick, as package ingest records it (store.AnalysisPoint.Data).
	Points []store.AnalysisPoint
	// Metrics are the metric definitions by key; they only decide how figures are
	// written (percentage points for proportions, percent for log-scale metrics).
	Metrics map[string]store.MetricDefinition
	// Adoption is the adoption aggregate of the usage metric; nil when the event
	// aggregator does not keep one.
	Adoption *Adoption
}

// Source is what [Gather] reads; store.Store satisfies it.
type Source interface {
	GetRollout(ctx context.Context, id string) (store.Rollout, error)
	ListRolloutDecisions(ctx context.Context, rolloutID string, afterSeq int64, limit int) ([]store.RolloutDecision, error)
	AnalysisPoints(ctx context.Context, rolloutID string, stage int, limit int) ([]store.AnalysisPoint, error)
}

// decisionPage is the largest page of the decision log the store returns.
const decisionPage = 1000

// Gather reads rollout id's stored data: the rollout, its whole decision log and
// every analysis point the store keeps (store.MaxAnalysisPoints at most). Metrics
// and Adoption are left for the caller.
func Gather(ctx context.Context, src Source, id string) (Input, error) {
	r, err := src.GetRollout(ctx, id)
	if err != nil {
		return Input{}, err
	}
	in := Input{Rollout: r}
	var after int64
	for {
		page, err := src.ListRolloutDecisions(ctx, id, after, decisionPage)
		if err != nil {
			return Input{}, fmt.Errorf("read the decision log of rollout %s: %w", id, err)
		}
		in.Decisions = append(in.Decisions, page...)
		if len(page) < decisionPage {
			break
		}
		after = page[len(page)-1].Seq
	}
	if in.Points, err = src.AnalysisPoints(ctx, id, -1, store.MaxAnalysisPoints); err != nil {
		return Input{}, fmt.Errorf("read the analysis history of rollout %s: %w", id, err)
	}
	return in, nil
}

// point is one tick of the analysis history: the JSON package ingest writes
// (ingest.Point). It is decoded here rather than imported so that the report reads
// the stored contract, whatever the aggregator's Go types become.
type point struct {
	At               time.Time     `json:"at"`
	Stage            int           `json:"stage"`
	UnitsTreatment   float64       `json:"units_treatment"`
	UnitsControl     float64       `json:"units_control"`
	SRM              bool          `json:"srm"`
	MultipleExposure float64       `json:"multiple_exposure"`
	Metrics          []pointMetric `json:"metrics"`
}

type pointMetric struct {
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
	Crossed   []string `json:"crossed_in"`
}

// Roles of a metric in the analysis history (package ingest's RoleGuardrail and
// RoleGate).
const (
	roleGuardrail = "guardrail"
	roleGate      = "gate"
)

// Statuses that mean "crossed the line": the analysis' crossed, and the drift
// level that acts.
func (m pointMetric) crossed(role string) bool {
	if m.Status == "crossed" || m.Status == "act" {
		return true
	}
	return role == roleGuardrail && len(m.Crossed) > 0
}

// decodePoints decodes the stored points, skipping any that cannot be read, and
// orders them by time (then stage) so that a report never depends on the store's
// order. skipped counts the unreadable ones.
func decodePoints(raw []store.AnalysisPoint) (pts []point, skipped int) {
	for _, p := range raw {
		var pt point
		if err := json.Unmarshal(p.Data, &pt); err != nil {
			skipped++
			continue
		}
		if pt.At.IsZero() {
			pt.At = p.At
		}
		pt.Stage = p.Stage
		pts = append(pts, pt)
	}
	sort.SliceStable(pts, func(i, j int) bool {
		if !pts[i].At.Equal(pts[j].At) {
			return pts[i].At.Before(pts[j].At)
		}
		return pts[i].Stage < pts[j].Stage
	})
	return pts, skipped
}
