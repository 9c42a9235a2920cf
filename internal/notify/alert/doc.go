// Package alert is the vocabulary that package notify and its integrations
// share: the Event a rollout controller emits and its Kinds, the Secret and
// SecretURL types that keep credentials out of logs, and the errors that tell
// the delivery pipeline whether a failed delivery is worth retrying.
//
// It exists only to break an import cycle: notify builds the integrations
// (notify/slack, notify/pagerduty, …) from configuration, and the
// integrations need the event type. Callers use the same names through
// notify (notify.Event is alert.Event), much as os.FileMode is fs.FileMode;
// only integrations import alert directly.
//
// # Retry classification
//
// A Notifier's error is retried by the pipeline unless some error in its
// chain has a method
//
//	Retryable() bool
//
// that returns false. StatusError answers from the HTTP status (429 and 5xx
// are retryable, any other status is not) and Permanent marks any error as
// not worth retrying. An error in the chain with a method
//
//	RetryAfter() time.Duration
//
// asks the pipeline to wait at least that long before the next attempt.
package alert
