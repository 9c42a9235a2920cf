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
