// Package sim rehearses rollouts: it runs a plan many times against simulated
// traffic on a virtual clock, with the production rollout and analysis code, and
// measures how often and how fast ramp acts on an effect it was told nothing about.
//
// # What is simulated and what is real
//
// The traffic is simulated: every tick (5 virtual minutes, CLARIFICATIONS §29) a
// number of new units arrives, each with a country, a plan and a platform drawn from
// realistic shares, membership of the internal and beta segments, and the outcomes
// of one AI request — an error or not, a thumbs up or down, a log-normal latency,
// support tickets, tokens. A [Scenario] is the truth: what the treatment really does
// (nothing in A/A; an error-rate lift, a thumbs-up drop, a latency increase, the same
// confined to one segment value, a slow drift, an assignment bug that skews the
// split), to whom and from which stage on.
//
// Everything that decides is production code. The flag's rules are
// rollout.Render's managed block, compiled by flags.Compile, so bucketing, holdouts,
// exclusions, segment splits and rings are the server's (units are assigned either by
// flags.Snapshot.Evaluate itself or by walking the same compiled rules on the same
// bucket, which the tests check gives identical assignments). The guardrails'
// definitions are ingest's built-in metrics turned into tests by ingest.TestMetric,
// outcomes are folded into analysis.Moments per arm and segment value as the
// aggregator folds events, analysis.Analyze tests them with the plan's α budget,
// ingest.Verdicts translates the report and rollout.Decide decides; State.Apply moves
// the rollout, and the next stage renders new rules. The simulated release manager
// approves at once when a stage needs an approval.
//
// # What is measured
//
// Each run records how it ended (completed, rolled back, paused and why), the time
// to 100 %, and for ramp and two baselines run on the same data — a fixed-horizon
// z-test peeked at every tick ([ZTest]) and Flagger's fixed threshold ([Threshold]) —
// whether and when they fired: treatment units and virtual time since the onset. The
// blast radius is the number of units served the bad variant. A [Summary] aggregates
// runs: false-alarm rates with Clopper–Pearson intervals in A/A, power and the
// median detection delay elsewhere, with its ratio to the SPRT oracle's expected
// sample size ([Oracle]) at the α the plan gives the harmed test.
//
// A/A runs go through the whole plan from its first stage. Runs with an effect start
// at the effect's onset stage: the stages before it are A/A, which the A/A scenario
// measures. With Config.Observe the rollout is held at the onset stage and no
// decision is applied, so every detector sees the same data until it fires: that
// measures the tests themselves, apart from the plan's stage lengths.
//
// The package is pure: no I/O, no wall clock. Runs are seeded (math/rand/v2 PCG) and
// the same seed gives the same run, on any number of goroutines.
package sim
