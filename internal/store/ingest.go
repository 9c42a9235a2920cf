package store

import (
	"context"
	"encoding/json"
	"time"
)

// MetricDefinition says what a metric measures and how the aggregator folds events
// into it: which events feed it, how one unit's events become that unit's value, and
// the test's defaults. Package ingest validates definitions and ships the built-ins;
// the store keeps the user's own (and overrides of built-ins) by key.
type MetricDefinition struct {
	Key         string `json:"key"`
	Description string `json:"description,omitempty"`
	// Kind is proportion, mean, ratio, count, quantile or distribution.
	Kind string `json:"kind"`
	// Direction is higher_is_better or lower_is_better.
	Direction string `json:"direction"`
	// Unit names the unit of analysis (the key the flag buckets on: "user",
	// "account"); informational, since events carry the unit key itself.
	Unit string `json:"unit,omitempty"`
	// Event is the metric event name that feeds the metric, or "$exposure" for the
	// rollout's exposures.
	Event string `json:"event"`
	// Denominator is, for ratio metrics, the event whose values are summed into the
	// per-unit denominator; empty counts the Event's own events.
	Denominator string `json:"denominator,omitempty"`
	// Aggregate is how a mean metric folds a unit's events: "mean" (the default) or
	// "sum".
	Aggregate string `json:"aggregate,omitempty"`
	// Population is "exposed" (every exposed unit counts, with 0 until it has events)
	// or "active" (only units with at least one event of the metric).
	Population string `json:"population,omitempty"`
	// Scale multiplies every value (a price per token); 0 means 1.
	Scale float64 `json:"scale,omitempty"`
	// Transform is "" or "log" (the natural logarithm of each value, e.g. latency).
	Transform string `json:"transform,omitempty"`
	// Quantile is q of a quantile metric (0.95 for p95).
	Quantile float64 `json:"quantile,omitempty"`
	// Bins are the histogram edges of a distribution metric.
	Bins []float64 `json:"bins,omitempty"`
	// Tolerance is used when a plan's guardrail or gate gives none.
	Tolerance *MetricTolerance `json:"tolerance,omitempty"`
	// Tuning of the sequential test (zero: the shipped defaults of package analysis).
	Method      string  `json:"method,omitempty"`
	Tau         float64 `json:"tau,omitempty"`
	RelativeTau float64 `json:"relative_tau,omitempty"`
	HarmRatio   float64 `json:"harm_ratio,omitempty"`
	MinUnits    float64 `json:"min_units,omitempty"`
	// BuiltIn is set on definitions ramp ships (never stored).
	BuiltIn bool `json:"built_in,omitempty"`
	// Version increases with every change of a stored definition.
	Version   int64     `json:"version,omitempty"`
	CreatedAt time.Time `json:"created_at,omitzero"`
	UpdatedAt time.Time `json:"updated_at,omitzero"`
}

// MetricTolerance is a default tolerance: relative to control (0.10 = 10 %) or
// absolute in the metric's units.
type MetricTolerance struct {
	Relative float64 `json:"relative,omitempty"`
	Absolute float64 `json:"absolute,omitempty"`
}

// IngestCheckpoint is the aggregator's durable position: the last event batch it
// has folded in and its state after that batch (opaque to the store).
type IngestCheckpoint struct {
	// Seq is the last event batch consumed; 0 before the first checkpoint.
	Seq   int64  `json:"seq"`
	State []byte `json:"-"`
	// SavedAt is when the checkpoint was written.
	SavedAt time.Time `json:"saved_at"`
}

// Feedback is a comment a unit left with a metric event (a rating), attributed to the
// rollout stage and arm the unit was exposed to.
type Feedback struct {
	Seq       int64  `json:"seq"`
	RolloutID string `json:"rollout_id"`
	Stage     int    `json:"stage"`
	StageName string `json:"stage_name"`
	Arm       string `json:"arm"`
	Variant   string `json:"variant"`
	// Unit is the unit key, or its keyed hash when the server hashes unit keys.
	Unit    string    `json:"unit"`
	Metric  string    `json:"metric"`
	Value   float64   `json:"value"`
	Comment string    `json:"comment"`
	Time    time.Time `json:"time"`
}

// FeedbackFilter selects a rollout's feedback, newest first. Stage < 0 and empty
// strings match everything.
type FeedbackFilter struct {
	RolloutID string
	Stage     int
	Variant   string
	BeforeSeq int64 // only Seq < BeforeSeq (paging); 0 for no bound
	Limit     int   // 0 for 100, at most 1000
}

// MaxFeedbackPerArm bounds the comments kept per rollout, stage and arm: the oldest
// go first.
const MaxFeedbackPerArm = 1000

// AnalysisPoint is one analysis of a rollout at one tick, kept to plot its history.
type AnalysisPoint struct {
	RolloutID string    `json:"rollout_id"`
	At        time.Time `json:"at"`
	Stage     int       `json:"stage"`
	// Data is the point's content (package ingest's JSON).
	Data json.RawMessage `json:"data"`
}

// MaxAnalysisPoints bounds the points kept per rollout: the oldest go first.
const MaxAnalysisPoints = 2000

// IngestStore keeps what the event aggregator needs to resume exactly after a restart:
// its checkpoint (the event log position it has consumed and its state), and what it
// derives — feedback comments and the analysis history — as well as metric
// definitions.
type IngestStore interface {
	// PutMetric creates the definition when expectVersion is 0 (ErrExists when the
	// key is taken), otherwise replaces it if its version is still expectVersion.
	// Audited as metric.create / metric.update.
	PutMetric(ctx context.Context, m MetricDefinition, expectVersion int64, c Change) (MetricDefinition, error)
	GetMetric(ctx context.Context, key string) (MetricDefinition, error)
	// ListMetrics lists the stored definitions by key.
	ListMetrics(ctx context.Context) ([]MetricDefinition, error)
	DeleteMetric(ctx context.Context, key string, c Change) error

	// IngestCheckpoint returns the aggregator's last checkpoint (Seq 0, no state,
	// when none was saved).
	IngestCheckpoint(ctx context.Context) (IngestCheckpoint, error)
	// SaveIngestCheckpoint stores cp and appends feedback in one transaction, if the
	// stored checkpoint's Seq is still prevSeq (ErrConflict otherwise: another
	// aggregator has moved on, and this one must reload). Feedback beyond
	// MaxFeedbackPerArm per rollout, stage and arm is pruned, oldest first.
	SaveIngestCheckpoint(ctx context.Context, prevSeq int64, cp IngestCheckpoint, feedback []Feedback) error
	// ListFeedback returns a rollout's feedback, newest first.
	ListFeedback(ctx context.Context, f FeedbackFilter) ([]Feedback, error)

	// AppendAnalysisPoint keeps one point of a rollout's analysis history, pruning
	// beyond MaxAnalysisPoints per rollout, oldest first.
	AppendAnalysisPoint(ctx context.Context, p AnalysisPoint) error
	// AnalysisPoints returns a rollout's latest points (at most limit: 0 for 500, at
	// most MaxAnalysisPoints), oldest first; stage < 0 selects every stage.
	AnalysisPoints(ctx context.Context, rolloutID string, stage int, limit int) ([]AnalysisPoint, error)
}
