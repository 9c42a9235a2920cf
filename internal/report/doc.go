// Package report tells how a rollout went, from what ramp stored while it ran: how
// fast it moved, how quickly it caught what went wrong, whether people used the
// feature, and what the feature did to the metrics that matter. Across rollouts, a
// portfolio says whether an organisation is getting better at launching.
//
// # Figures from stored data only
//
// A report is a pure function of its [Input] and a time: the rollout with its plan
// snapshot, its decision log (every transition with its time, actor, reason and
// evidence), the analysis history the controller recorded at each tick (per metric
// the estimate, its anytime-valid interval and status, and the units per arm), and,
// when the event aggregator keeps it, the adoption aggregate. Nothing is sampled,
// re-estimated or read from a clock, so the same stored data give the same report,
// byte for byte, today and next year; [Gather] reads the input through a small
// interface the store satisfies.
//
// # What the sections measure
//
// Velocity is the time from the rollout's start to the first stage that serves
// 100 %, the time spent in each stage and what it waited for (the hold reasons the
// controller logged), and every pause and rollback with its reason.
//
// Issue detection takes every pause and rollback (automatic or by a person) and
// measures it from two origins: the start of the stage it happened in, and the
// first tick of that stage at which the evidence had crossed the line — the first
// analysis point whose status for the triggering metric was crossed (overall or in
// a segment), or whose sample-ratio check fired. The treatment and control units
// exposed meanwhile are differences of the stage's cumulative unit counts at those
// ticks. An automatic decision and the analysis point it acted on come from the
// same tick, so their difference is the controller's own delay: data staleness,
// a pause waiting for a person, a manual rollback after an alert.
//
// Adoption is the share of exposed units that used the feature (a usage metric the
// caller chooses) and that used it again on day 1 and on day 7 after their first
// exposure, per arm, with Wilson intervals and, when control can produce the usage
// event too, the treatment − control difference with Newcombe's interval. The
// aggregate it reads ([Adoption]) counts units, never their history.
//
// Business impact is, for each success metric (the plan's gates), the treatment −
// control difference at the last tick of each stage with its interval, and the
// treated population against the holdout at 100 %. The intervals are the analysis'
// anytime-valid intervals at the level the plan's α budget gives each test: wider
// than fixed-horizon 95 % intervals, and valid however often the rollout was looked
// at.
package report
