// Package rollout is ramp's rollout engine: release plans, their stages and
// templates, the state machine of a rollout, the rendering of a stage into
// ordinary flag rules, and the decision function that moves a rollout on evidence
// rather than on a calendar. It is pure: no I/O, no clock, no globals. Time is an
// argument, and so is everything the statistics found.
//
// # Plans, rollouts and stages
//
// A [Plan] says how one flag's treatment variant reaches the users of one
// environment; a rollout ([State]) is one run of it. A [Stage] is an audience and
// the conditions to leave it. The audience is a set of segments (internal users
// for an alpha, opted-in users for a beta), a ring — a percentage of the eligible
// population, optionally limited to some countries or regions — or both. Segment
// members are split at random into treatment and control (50 % by default), so
// every stage compares a treatment with the randomised control of the same
// population and the same period, never insiders with everyone else. To leave a
// stage, its minimum duration and sample must have passed, every guardrail must be
// clear with enough evidence (or, for plans that advance on time, at least not
// crossed), every gate must pass, and the calendar (windows, blackouts) and the
// approvals must allow it.
//
// # Why buckets are monotone
//
// Every unit falls in one of 100 000 buckets by hashing the flag's salt and its
// key. The holdout is the top slice [100000−H, 100000); every ring and segment split
// is a threshold cut from the bottom of the rest, [0, floor(p·(100000−H)/100)). A
// plan's thresholds never decrease, its regions only grow and its segments stay in
// the audience, so a later stage only adds buckets: nobody who had the treatment
// loses it as the rollout advances, and the data of a stage is never polluted by
// units that flip back. The salt stays fixed for the life of a plan, so a rollout
// started again after a rollback treats the same units first.
//
// # Rendering
//
// SDKs know nothing of plans. [Render] turns the rollout's state into a managed
// block of ordinary rules — holdout first, then exclusions, the segment audience,
// the ring — each carrying the rollout id, stage and arm in its metadata so that
// exposures can be attributed. [Install] puts the block below the user's own rules
// in place of the default allocation. A rollback is just another rendering: control
// for everyone, a new flag version streamed in milliseconds.
//
// # The step function and the order of effects
//
// [Decide] is a step function in the manner of etcd's raft: given the plan, the
// state, the latest [Analysis], the approvals and the time, it returns a [Decision]
// (advance, hold, pause, roll back or complete) with the evidence behind it, and
// changes nothing. [State.Apply] turns the decision into the next state and the
// [Transition] to audit, and Render gives the rules to serve. The caller must then
// carry out the effects in this order:
//
//  1. persist: the new state, the new flag version and the audit entry (the
//     decision's reason and evidence), in one transaction;
//  2. stream: publish the new flag version to the SDKs;
//  3. notify: tell people (Slack, PagerDuty, e-mail, webhooks).
//
// Persisting first makes a crash harmless: after a restart the controller reads the
// committed state and decides again, and nothing was announced that did not
// happen. Streaming before notifying means that when people read "rolled back",
// the SDKs already serve control. A notification that fails never undoes anything.
//
// Decisions fail safe: missing or stale data never advances a rollout — it holds,
// and after a bound it pauses and alerts — and a crossed rollback guardrail rolls
// back from any state, whatever the calendar or approvals say.
package rollout
