package notify

import (
	"context"

	"github.com/ramp-release/ramp/internal/notify/alert"
)

// Event is one thing that happened to a rollout; see alert.Event for its
// fields.
type Event = alert.Event

// Kind says what happened to a rollout.
type Kind = alert.Kind

// The kinds of event; see package alert for what each means.
const (
	ApprovalRequested = alert.ApprovalRequested
	StageAdvanced     = alert.StageAdvanced
	Paused            = alert.Paused
	Resumed           = alert.Resumed
	RolledBack        = alert.RolledBack
	Completed         = alert.Completed
	RollbackResolved  = alert.RollbackResolved
)

// Kinds lists every Kind.
func Kinds() []Kind { return alert.Kinds() }

// Secret is a credential that prints, logs and encodes as REDACTED.
type Secret = alert.Secret

// SecretURL is a URL that carries a credential; it prints, logs and encodes
// as REDACTED.
type SecretURL = alert.SecretURL

// NewSecret wraps a credential.
func NewSecret(s string) Secret { return alert.NewSecret(s) }

// NewSecretURL wraps a URL that carries a credential.
func NewSecretURL(u string) SecretURL { return alert.NewSecretURL(u) }

// StatusError is a receiver's non-2xx answer.
type StatusError = alert.StatusError

// ErrSkipped is returned by a Notifier for an event kind it does not send.
var ErrSkipped = alert.ErrSkipped

// Notifier delivers one event to one receiver. It makes one attempt: the
// Dispatcher retries. Its error must not contain credentials, and tells the
// Dispatcher whether retrying may help (see package alert).
type Notifier interface {
	Notify(ctx context.Context, e Event) error
}

// NotifierFunc lets a function be a Notifier.
type NotifierFunc func(ctx context.Context, e Event) error

// Notify calls f.
func (f NotifierFunc) Notify(ctx context.Context, e Event) error { return f(ctx, e) }
