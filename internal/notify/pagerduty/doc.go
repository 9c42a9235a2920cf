// Package pagerduty opens and closes PagerDuty incidents for rollouts
// through the Events API v2.
//
// A rollback triggers an alert (severity critical) and a pause triggers one
// of severity warning; a resolved rollback, a resume or a completion
// resolves it. Every event of one rollout carries the rollout's id as
// dedup_key, so PagerDuty folds repeated triggers into one incident and a
// resolve closes the incident its trigger opened. Other kinds (approval
// requests, stage advances) do not page anyone: Notify returns
// alert.ErrSkipped.
//
// The routing key is the credential and is held as a Secret.
package pagerduty
