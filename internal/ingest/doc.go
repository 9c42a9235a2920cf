// Package ingest turns the durable log of SDK event batches into the sufficient
// statistics package analysis tests, and serves the analysis to the rollout
// controller and the API.
//
// # From events to statistics
//
// POST /sdk/v1/events appends each batch to the store's event log before it answers,
// so an acknowledged event is never lost. The Aggregator consumes that log in seq
// order. An exposure names its rollout, stage and arm (the metadata of the rule a
// rollout rendered): the aggregator keeps, per rollout, the aggregate of its current
// stage and evidence period — each unit's arm and segment values (the analysis
// dimensions of its first exposure, country, plan and platform by default) — and a
// metric event belongs to the arm its unit was exposed to there. A unit seen in both
// arms of a stage is multiply exposed: counted, and left out of every statistic
// (CLARIFICATIONS §39). Only the compared audience counts: the ring's arms in a ring
// stage, the segments' split in a segment stage, treatment against the holdout at 100 %
// (CLARIFICATIONS §23).
//
// Each unit keeps running totals per metric (outcomes, Σ values, events, the ratio's
// denominator), and an event moves the arm's sums by delta — Σy += Δ, Σy² += (y+Δ)² − y²
// (CLARIFICATIONS §25) — overall and in the unit's segment value of each dimension, so
// the sums never need a unit's history and the analysis reads only the sums: its cost
// does not grow with the number of units. Proportions count units with at least one
// outcome; means fold a unit's values into their mean (or sum); ratios keep numerator
// and denominator per unit; quantile metrics sketch values per arm in a mergeable
// DDSketch until control has QuantileWarmup values, then freeze control's quantile as
// the exceedance threshold and count each unit's requests beyond it (a ratio);
// distribution metrics fill fixed-bin histograms for drift.
//
// # Adoption
//
// Beside the stage aggregate, each rollout keeps an adoption aggregate for the
// report (report.AdoptionCounts; Aggregator.Adoption): per unit, the arm of its
// first exposure in any stage (the holdout counts as control), the event time of
// that exposure and, per followed usage metric, three bits — a use at or after the
// first exposure, one in [first + 24 h, first + 48 h), one in [first + 7 d,
// first + 8 d). A use is any metric event of the metric's event name, whatever its
// value. The followed metrics are the plan's guardrails and gates plus
// Options.UsageMetrics. A unit's first exposure adds one to its arm's Exposed and to
// the count of its hour of first exposure; each bit that turns on adds one to Used,
// or to Day1 / Day7 of that hour. Day-1 (day-7) figures sum the hours that end by
// AsOf − 48 h (− 8 d), the newest event counted: numerator and denominator cover the
// same units, and eligibility never scans the units. The aggregate survives stage
// changes, is checkpointed with the rest of the state (checkpoints written before it
// existed still load; it then starts at the next Refresh) and is dropped
// AdoptionRetention (8 days) after the rollout ends; exposures after the end are
// ignored, uses still count.
//
// # Exactly once
//
// The state lives in memory. Every CheckpointEvery the aggregator encodes it and
// stores it together with the seq of the last batch folded in and the feedback
// comments gathered since, in one transaction that also checks the previous seq (two
// aggregators cannot both move on from the same checkpoint). After a crash it restores
// the checkpoint and folds the log from the next seq: what was folded after the
// checkpoint is folded again into the state that did not contain it, so nothing is
// lost and nothing is counted twice. A new stage or evidence period (a treatment value
// edited mid-rollout, CLARIFICATIONS §40) starts a fresh aggregate; the arms of the
// units already exposed in the stage carry over to a new evidence period.
//
// # Metrics
//
// A metric definition (store.MetricDefinition) names the events that feed it, how a
// unit's events fold into its value, and the test's defaults. BuiltinMetrics are the
// shipped ones; stored definitions add to them or override them by key.
//
// # Analysis
//
// Source implements the controller's AnalysisSource: it copies a stage's sums
// (Aggregator.Snapshot), runs analysis.Analyze, translates the report into the
// verdicts rollout.Decide reads (Verdicts) and records one point of the rollout's
// history per tick. NewDocument builds the API's view of the same analysis.
//
// # Privacy
//
// UnitHasher replaces unit keys with keyed hashes (HMAC-SHA256 with a server secret)
// before a batch is stored, so the log, the aggregates and the feedback never hold
// raw unit ids.
package ingest
