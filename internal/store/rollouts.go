package store

// RolloutStore keeps release plans, rollouts, their decisions and approvals, and
// notification channels.
type RolloutStore interface{}
