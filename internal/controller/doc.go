// Package controller applies rollout decisions: it is the I/O half of package
// rollout, as etcd's raft node loop is the I/O half of its pure state machine.
//
// Every tick (5 s by default, on a [Clock] that tests and simulations drive) the
// controller reads each unfinished rollout from the store, reads its analysis
// through an [AnalysisSource], asks [rollout.Decide] what to do, and carries the
// decision out in the order package rollout prescribes:
//
//  1. persist: the rollout's new state, the flag's new rules in that environment
//     (the rendered managed block: a new flag version and environment revision),
//     the decision log entry and the audit entry, in one store transaction
//     (store.ApplyRolloutDecision). A decision is applied whole or not at all.
//  2. stream: publish the environment's new snapshot to the SDK streams.
//  3. notify: hand the event to the notifier, which never blocks.
//
// People's operations — start, schedule, advance, pause, resume, roll back,
// approve — go through the same path, so they are persisted, streamed and
// announced the same way; a rollback returns only once control is committed and on
// the stream, and never waits for the analysis.
//
// Nothing that matters lives in memory: the state is in the store, so a controller
// killed at any moment resumes the same stage with the same evidence period when it
// starts again, and a decision cut off before its commit never happened. Writes
// carry a fencing epoch (CLARIFICATIONS §35) that the store checks, so a controller
// that has lost its leadership cannot overwrite a newer one's decisions.
//
// When replicas share a PostgreSQL store, exactly one of them decides: an [Elector]
// holds the controller lease for it (renewed every half tick, lasting a tick and a
// half, so a dead leader is replaced within two ticks) and its epoch is the fencing
// token of every automatic decision. A replica that does not lead only carries out
// people's operations, which any replica may do at once (they carry epoch 0 and
// rely on the rollout's version instead). [WhileLeader] runs other once-per-cluster
// work, the event aggregator, under the same leadership.
//
// Decisions fail safe: missing or stale analysis never advances a rollout. It holds
// (each change of what it waits for is logged and audited), and after the plan's
// bound it pauses and alerts. When the treatment's or control's value changes while
// a rollout runs, the controller starts a new evidence period for the current stage
// (CLARIFICATIONS §40), so nothing is promoted on evidence about the old value.
package controller
