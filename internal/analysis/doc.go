// Package analysis decides, from mergeable sufficient statistics, whether a rollout's treatment
// hurts: the statistics of ramp. It is pure — no I/O, no clock, no global state — so the controller,
// the simulator and the reports all get the same answer from the same numbers.
//
// # Units and statistics
//
// The unit of analysis is the unit of randomisation (the key the flag buckets on). Events are folded
// into one value per unit before any test, and each arm keeps only Moments (n, Σy, Σy², and Σx, Σx²,
// Σxy for ratio metrics). An event moves its unit's value by a delta (Moments.Update), so the sums of
// any split of the events — shards, replicas, time slices — merge by addition into the same totals,
// and a test over 10⁷ units costs what it costs over 10³. Proportions count units, never events: a
// unit with at least one error is one harmful unit (Moments.UpdateOccurrence), because one unit's
// errors all land in the same arm and are not independent.
//
// # Anytime-valid tests
//
// The controller looks every few seconds. A fixed-horizon test checked that often rolls back healthy
// features far more often than its α, so every test here is anytime-valid: an e-process or a
// confidence sequence whose error rate holds however often, and for however long, it is checked.
//
//   - Means, ratios (delta method), counts and thumbs-up-like proportions: the normal-mixture mSPRT
//     of Johari et al. (2022), one-sided on the harmful side by default (MixtureLogLR,
//     OneSidedMixtureLogLR), or the asymptotic confidence sequence of Waudby-Smith et al. (2024).
//   - Error-like proportions: the exact count test, which asks whether harmful units land in
//     treatment more often than the planned share (CountTest): exact at any count, however rare.
//   - Quantiles (p95 latency), in exceedance form: each unit's share of requests beyond a threshold
//     fixed from control's quantile, a ratio metric (ExceedanceThresholds).
//   - Sample-ratio mismatch: the Dirichlet-multinomial Bayes factor of Lindon & Malek (2022)
//     (CheckSRM). A mismatch means the assignment is broken; pause, do not roll back.
//   - Drift of scores or inputs: PSI and Kolmogorov–Smirnov on fixed-bin histograms (Drift), a
//     descriptive alarm with thresholds, not an α-controlled test.
//
// # Decisions
//
// A metric has a direction and a tolerance. Evaluate tests the harm beyond the tolerance — "treatment
// error rate at most 10 % above control's" is the linear hypothesis m_T − 1.1·m_C ≤ 0 — and returns
// Crossed (the harm beyond the tolerance is shown: roll back or pause), Clear (non-inferiority shown:
// a gate may pass) or NotEnoughEvidence (hold). Analyze does this for a whole stage: every metric
// overall and in each segment value (the top values of each analysis dimension, the rest folded into
// "other"), plus SRM, multiple exposure and drift.
//
// # Error budget
//
// Every test is valid on its own; a plan runs many. Budget splits the plan's α by Bonferroni across
// stages, metrics, and within a metric between the overall test and the segment tests, with the
// number of tests fixed by the plan rather than by the data, so the whole plan rolls back a healthy
// feature with probability at most α. Segment tests get a small share each: a regression confined to
// a tenth of the units needs much more traffic to be seen, which the UI must say.
//
// The oracle (WaldExpectedN) is the smallest average sample any test with the same error rates could
// need; detection speed is reported as a ratio to it. docs/statistics.md has the formulas, defaults
// and measured figures.
package analysis
