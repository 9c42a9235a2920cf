package ingest

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/ramp-release/ramp/flags"
	"github.com/ramp-release/ramp/internal/analysis"
	"github.com/ramp-release/ramp/internal/store"
)

// ExposureEvent is the Event name of metrics fed by the rollout's exposures (each
// exposure counts 1).
const ExposureEvent = "$exposure"

// Populations: which units a metric counts.
const (
	// PopulationExposed counts every unit exposed in the stage, with value 0 until it
	// has events (error rate, conversion, tickets per user).
	PopulationExposed = "exposed"
	// PopulationActive counts only units with at least one event of the metric
	// (thumbs-up rate among raters, mean rating, latency).
	PopulationActive = "active"
)

// Aggregates of a mean metric: how one unit's values become its value.
const (
	AggregateMean = "mean"
	AggregateSum  = "sum"
)

// DefaultPricePerToken is the Scale of the built-in cost_per_request: US$2 per
// million tokens. Override the built-in with your model's price.
const DefaultPricePerToken = 2e-6

// DefaultDistributionBins are the histogram edges of a distribution metric without
// Bins: ten bins over [0, 1], for model scores.
var DefaultDistributionBins = []float64{0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1}

// BuiltinMetrics returns the metrics ramp ships, by key. Event names are what the SDK
// sends (client.Track(ctx, "latency_ms", 412)). Each may be overridden by storing a
// definition with the same key.
func BuiltinMetrics() []store.MetricDefinition {
	b := func(m store.MetricDefinition) store.MetricDefinition {
		m.BuiltIn = true
		if m.Unit == "" {
			m.Unit = "user"
		}
		return m
	}
	return []store.MetricDefinition{
		b(store.MetricDefinition{Key: "conversion", Description: "Share of exposed units that converted (a conversion event with value ≥ 1).",
			Kind: "proportion", Direction: "higher_is_better", Event: "conversion", Population: PopulationExposed}),
		b(store.MetricDefinition{Key: "cost_per_request", Description: "Model cost per request: tokens × price per token (Scale), over requests (token events).",
			Kind: "ratio", Direction: "lower_is_better", Event: "tokens", Scale: DefaultPricePerToken, Population: PopulationActive}),
		b(store.MetricDefinition{Key: "error_rate", Description: "Share of exposed units with at least one error (error events with value ≥ 1; value 0 reports a success).",
			Kind: "proportion", Direction: "lower_is_better", Event: "error", Population: PopulationExposed}),
		b(store.MetricDefinition{Key: "latency", Description: "Per-unit mean of ln(latency): a relative change of the typical latency (CLARIFICATIONS §26).",
			Kind: "mean", Direction: "lower_is_better", Event: "latency_ms", Transform: "log", Population: PopulationActive}),
		b(store.MetricDefinition{Key: "latency_p95", Description: "95th percentile of request latency, tested in exceedance form against control's p95.",
			Kind: "quantile", Direction: "lower_is_better", Event: "latency_ms", Quantile: 0.95, Population: PopulationActive}),
		b(store.MetricDefinition{Key: "revenue_per_user", Description: "Revenue per exposed unit (sum of revenue events).",
			Kind: "mean", Aggregate: AggregateSum, Direction: "higher_is_better", Event: "revenue", Population: PopulationExposed}),
		b(store.MetricDefinition{Key: "support_tickets_per_user", Description: "Support tickets per exposed unit.",
			Kind: "count", Direction: "lower_is_better", Event: "support_ticket", Population: PopulationExposed}),
		b(store.MetricDefinition{Key: "task_completion", Description: "Share of units that completed a task among those reporting one (task_completed 1 or 0).",
			Kind: "proportion", Direction: "higher_is_better", Event: "task_completed", Population: PopulationActive}),
		b(store.MetricDefinition{Key: "thumbs_up_rate", Description: "Share of rating units giving a thumbs-up (thumbs_up 1 for up, 0 for down; a comment is kept as feedback).",
			Kind: "proportion", Direction: "higher_is_better", Event: "thumbs_up", Population: PopulationActive}),
		b(store.MetricDefinition{Key: "user_rating", Description: "Per-unit mean rating (rating events, e.g. 1–5; a comment is kept as feedback).",
			Kind: "mean", Direction: "higher_is_better", Event: "rating", Population: PopulationActive}),
	}
}

// Builtin returns the built-in metric with the given key.
func Builtin(key string) (store.MetricDefinition, bool) {
	for _, m := range BuiltinMetrics() {
		if m.Key == key {
			return m, true
		}
	}
	return store.MetricDefinition{}, false
}

// MetricStore is what metric lookups need from the store.
type MetricStore interface {
	GetMetric(ctx context.Context, key string) (store.MetricDefinition, error)
	ListMetrics(ctx context.Context) ([]store.MetricDefinition, error)
}

// LookupMetric returns the stored definition of key, or the built-in one.
func LookupMetric(ctx context.Context, st MetricStore, key string) (store.MetricDefinition, error) {
	m, err := st.GetMetric(ctx, key)
	if err == nil {
		return m, nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return m, err
	}
	if b, ok := Builtin(key); ok {
		return b, nil
	}
	return m, fmt.Errorf("metric %q %w: define it (ramp metrics apply) or use a built-in one (ramp metrics list)", key, store.ErrNotFound)
}

// ListAllMetrics returns the stored definitions and the built-ins they do not
// override, by key.
func ListAllMetrics(ctx context.Context, st MetricStore) ([]store.MetricDefinition, error) {
	stored, err := st.ListMetrics(ctx)
	if err != nil {
		return nil, err
	}
	out := slices.Clone(stored)
	for _, b := range BuiltinMetrics() {
		if !slices.ContainsFunc(stored, func(m store.MetricDefinition) bool { return m.Key == b.Key }) {
			out = append(out, b)
		}
	}
	slices.SortFunc(out, func(a, b store.MetricDefinition) int {
		switch {
		case a.Key < b.Key:
			return -1
		case a.Key > b.Key:
			return 1
		}
		return 0
	})
	return out, nil
}

// ValidateMetric checks a definition and fills its defaults, listing every problem
// with its field.
func ValidateMetric(m *store.MetricDefinition) error {
	var errs flags.ValidationErrors
	add := func(path, format string, args ...any) {
		errs = append(errs, flags.FieldError{Path: path, Message: fmt.Sprintf(format, args...)})
	}
	if msg := flags.CheckKey(m.Key); msg != "" {
		add("key", "metric key %s", msg)
	}
	switch analysis.Kind(m.Kind) {
	case analysis.KindProportion, analysis.KindMean, analysis.KindRatio, analysis.KindCount, analysis.KindQuantile, analysis.KindDistribution:
	default:
		add("kind", "%q is not one of proportion, mean, ratio, count, quantile, distribution", m.Kind)
	}
	switch analysis.Direction(m.Direction) {
	case analysis.HigherIsBetter, analysis.LowerIsBetter:
	default:
		add("direction", "%q is not higher_is_better or lower_is_better", m.Direction)
	}
	if m.Unit == "" {
		m.Unit = "user"
	}
	if m.Event == "" {
		add("event", "missing; name the metric event that feeds it (e.g. \"latency_ms\"), or %q for exposures", ExposureEvent)
	}
	if m.Denominator != "" && m.Kind != string(analysis.KindRatio) {
		add("denominator", "only ratio metrics have a denominator")
	}
	switch m.Aggregate {
	case "":
		if m.Kind == string(analysis.KindMean) {
			m.Aggregate = AggregateMean
		}
	case AggregateMean, AggregateSum:
		if m.Kind != string(analysis.KindMean) {
			add("aggregate", "only mean metrics choose an aggregate (count metrics sum, proportions count units)")
		}
	default:
		add("aggregate", "%q is not mean or sum", m.Aggregate)
	}
	switch m.Population {
	case "":
		m.Population = PopulationExposed
		if m.Kind == string(analysis.KindQuantile) || m.Kind == string(analysis.KindRatio) || m.Kind == string(analysis.KindDistribution) ||
			(m.Kind == string(analysis.KindMean) && m.Aggregate == AggregateMean) {
			m.Population = PopulationActive
		}
	case PopulationExposed, PopulationActive:
	default:
		add("population", "%q is not exposed or active", m.Population)
	}
	if m.Population == PopulationExposed && m.Kind == string(analysis.KindMean) && m.Aggregate == AggregateMean {
		add("population", "a per-unit mean is undefined for units without events; use population active (or aggregate sum)")
	}
	if m.Scale < 0 || math.IsNaN(m.Scale) || math.IsInf(m.Scale, 0) {
		add("scale", "%v must be a finite number ≥ 0 (0 means 1)", m.Scale)
	}
	switch m.Transform {
	case "", "log":
	default:
		add("transform", "%q is not \"\" or \"log\"", m.Transform)
	}
	if m.Kind == string(analysis.KindQuantile) {
		if m.Quantile == 0 {
			m.Quantile = analysis.DefaultQuantile
		}
		if !(m.Quantile > 0 && m.Quantile < 1) {
			add("quantile", "%v is not strictly between 0 and 1", m.Quantile)
		}
	} else if m.Quantile != 0 {
		add("quantile", "only quantile metrics have one")
	}
	if m.Kind == string(analysis.KindDistribution) {
		if len(m.Bins) == 0 {
			m.Bins = slices.Clone(DefaultDistributionBins)
		}
		if _, err := analysis.NewHistogram(m.Bins); err != nil {
			add("bins", "%v", err)
		}
	} else if len(m.Bins) > 0 {
		add("bins", "only distribution metrics have bins")
	}
	if t := m.Tolerance; t != nil && (t.Relative < 0 || t.Absolute < 0 || (t.Relative != 0 && t.Absolute != 0)) {
		add("tolerance", "give one of relative or absolute, ≥ 0")
	}
	if len(errs) == 0 {
		// The test's own checks (method, τ, …) on the metric as a guardrail would use it.
		if err := TestMetric(*m, m.Key, true, nil, false).Validate(); err != nil {
			add("method", "%v", err)
		}
	}
	if len(errs) > 0 {
		return errs
	}
	return nil
}

// Amount is a plan's tolerance or margin (rollout.Amount's fields).
type Amount struct{ Relative, Absolute float64 }

// TestMetric is the analysis.Metric that tests def as a guardrail (harmful when it
// gets worse) or a gate, named name. amount is the plan's tolerance or margin; nil or
// zero falls back to the definition's tolerance. A superior gate has tolerance 0:
// Clear then means better than control.
func TestMetric(def store.MetricDefinition, name string, guardrail bool, amount *Amount, superior bool) analysis.Metric {
	m := analysis.Metric{
		Name: name, Kind: analysis.Kind(def.Kind), Direction: analysis.Direction(def.Direction),
		Method: analysis.Method(def.Method), Tau: def.Tau, RelativeTau: def.RelativeTau, HarmRatio: def.HarmRatio,
		MinUnits: def.MinUnits, Quantile: def.Quantile, LogScale: def.Transform == "log",
	}
	tol := Amount{}
	if def.Tolerance != nil {
		tol = Amount{def.Tolerance.Relative, def.Tolerance.Absolute}
	}
	if amount != nil && (amount.Relative != 0 || amount.Absolute != 0) {
		tol = *amount
	}
	if superior {
		tol = Amount{}
	}
	switch {
	case tol.Relative != 0:
		m.Tolerance = analysis.Tolerance{Kind: analysis.Relative, Value: tol.Relative}
	default:
		m.Tolerance = analysis.Tolerance{Kind: analysis.Absolute, Value: tol.Absolute}
	}
	if m.Kind == analysis.KindDistribution {
		m.Drift = analysis.DriftConfig{}
	}
	// The exact count test takes only "any harm" or a relative tolerance of a
	// lower-is-better proportion; other tolerances use the mixture.
	if m.Method == "" && m.Kind == analysis.KindProportion && m.Direction == analysis.LowerIsBetter &&
		m.Tolerance.Value != 0 && m.Tolerance.Kind != analysis.Relative {
		m.Method = analysis.MethodMixture
	}
	_ = guardrail
	return m
}
