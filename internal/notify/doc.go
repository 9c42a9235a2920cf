// Package notify tells people and systems outside ramp what happened to a
// rollout: an approval is needed, a stage advanced, a guardrail paused or
// rolled back a release, a rollout completed.
//
// It is built as Alertmanager's notifier is. Each integration lives in its
// own small package (notify/slack, notify/pagerduty, notify/email,
// notify/webhook) and does one thing: turn an Event into one request to
// one receiver, behind the one-method Notifier interface. Everything that is
// the same for all of them lives here, in the Dispatcher: routing an event to
// the channels configured for its environment and kind, queueing so that the
// caller never waits, retrying with exponential backoff and jitter,
// suppressing duplicates, and keeping a record of every delivery.
//
// The controller calls Dispatch after it has persisted a decision and
// streamed the new flag version. Dispatch only enqueues: a rollback never
// waits for Slack. A channel whose receiver is slow or down fills only its
// own queue; deliveries to one channel happen in order, so a PagerDuty
// resolve never overtakes its trigger.
//
// Credentials (webhook URLs, routing keys, passwords, signing secrets) are
// held as Secret and SecretURL, which print, log and encode as REDACTED, and
// no integration returns an error that contains them.
//
// The event type and the secret types are declared in package alert, which
// the integrations import, and are aliased here, so callers need only this
// package.
package notify
