package alert

import (
	"errors"
	"fmt"
	"net/http"
	"time"
)

// ErrSkipped is returned by a Notifier for an event kind it does not send
// (PagerDuty pages on rollbacks, not on stage advances). The pipeline
// records the delivery as skipped, not failed.
var ErrSkipped = errors.New("event kind not sent by this integration")

// StatusError is a receiver's answer other than 2xx. Body holds the first
// bytes of the response with any secret removed.
type StatusError struct {
	StatusCode int
	Body       string
	// Wait is the receiver's Retry-After, zero if it gave none.
	Wait time.Duration
}

func (e *StatusError) Error() string {
	msg := fmt.Sprintf("receiver answered %d %s", e.StatusCode, http.StatusText(e.StatusCode))
	if e.Body != "" {
		msg += ": " + e.Body
	}
	return msg
}

// Retryable reports whether trying again may succeed: on 429 Too Many
// Requests and on 5xx. Any other status (a bad URL, a revoked token, an
// invalid payload) will not change by retrying.
func (e *StatusError) Retryable() bool {
	return e.StatusCode == http.StatusTooManyRequests || e.StatusCode >= 500
}

// RetryAfter is the wait the receiver asked for.
func (e *StatusError) RetryAfter() time.Duration { return e.Wait }

// Permanent marks err as not worth retrying: a rejected recipient, an
// authentication failure, a configuration the receiver refuses.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return permanentError{err}
}

type permanentError struct{ err error }

func (e permanentError) Error() string   { return e.err.Error() }
func (e permanentError) Unwrap() error   { return e.err }
func (e permanentError) Retryable() bool { return false }

// Retryable reports whether the pipeline should try err's delivery again:
// true unless an error in err's chain says otherwise (see the package
// documentation).
func Retryable(err error) bool {
	var r interface{ Retryable() bool }
	if errors.As(err, &r) {
		return r.Retryable()
	}
	return true
}

// RetryAfter returns the wait requested by an error in err's chain, or zero.
func RetryAfter(err error) time.Duration {
	var r interface{ RetryAfter() time.Duration }
	if errors.As(err, &r) {
		return r.RetryAfter()
	}
	return 0
}
