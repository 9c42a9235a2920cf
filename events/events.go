// Package events is the wire format SDKs use to report what users saw and did:
// exposures (which variant of which flag a unit was served, and under which rollout
// stage and arm) and metric events (task completed, thumbs up, latency, cost, tickets,
// conversions). SDKs send them in batches to POST /sdk/v1/events; the server validates
// a batch with Validate, queues it durably and acknowledges it.
package events

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// Kind says what an event records.
type Kind string

// The event kinds.
const (
	KindExposure Kind = "exposure"
	KindMetric   Kind = "metric"
)

// Limits on a batch, enforced by Validate.
const (
	MaxEventsPerBatch = 10_000
	MaxDimensions     = 16
	MaxStringLength   = 256
	MaxCommentLength  = 2_000
)

// Batch is one request body of POST /sdk/v1/events. BatchID makes a retried batch
// idempotent: the server stores a batch id once per environment.
type Batch struct {
	BatchID string    `json:"batch_id"`
	SentAt  time.Time `json:"sent_at,omitzero"`
	SDK     string    `json:"sdk,omitempty"`
	Events  []Event   `json:"events"`
	// Dropped counts events the SDK dropped since its last batch (queue full).
	Dropped int64 `json:"dropped,omitempty"`
}

// Event is one exposure or metric event.
type Event struct {
	Kind Kind      `json:"kind"`
	Time time.Time `json:"time"`
	// Unit is the unit key (user, account, device) the event belongs to.
	Unit string `json:"unit"`

	// Exposure fields.
	Flag        string `json:"flag,omitempty"`
	Variant     string `json:"variant,omitempty"`
	FlagVersion int64  `json:"flag_version,omitempty"`
	RuleID      string `json:"rule_id,omitempty"`
	RuleIndex   int    `json:"rule_index,omitempty"`
	// Rollout, Stage and Arm come from the rule metadata a rollout rendered.
	Rollout string `json:"rollout,omitempty"`
	Stage   string `json:"stage,omitempty"`
	Arm     string `json:"arm,omitempty"`

	// Metric fields.
	Metric  string   `json:"metric,omitempty"`
	Value   *float64 `json:"value,omitempty"`
	Comment string   `json:"comment,omitempty"`

	// Dimensions are the analysis dimensions of the context (country, plan, platform).
	Dimensions map[string]string `json:"dimensions,omitempty"`
}

// FieldError locates a problem in a batch: which event, which field.
type FieldError struct {
	Path    string `json:"path"`
	Message string `json:"message"`
}

// Errors lists every problem of a batch.
type Errors []FieldError

func (e Errors) Error() string {
	parts := make([]string, 0, len(e))
	for i, fe := range e {
		if i == 10 {
			parts = append(parts, fmt.Sprintf("and %d more", len(e)-10))
			break
		}
		parts = append(parts, fe.Path+": "+fe.Message)
	}
	return strings.Join(parts, "; ")
}

// Validate checks a batch against the format and the limits, listing every problem
// (with the event's index) so an SDK author can fix them all at once.
func (b *Batch) Validate() error {
	var errs Errors
	add := func(path, format string, args ...any) {
		errs = append(errs, FieldError{Path: path, Message: fmt.Sprintf(format, args...)})
	}
	switch {
	case b.BatchID == "":
		add("batch_id", "missing; give every batch a unique id (a UUID) so that retries are not counted twice")
	case len(b.BatchID) > 128:
		add("batch_id", "is %d characters long; the limit is 128", len(b.BatchID))
	}
	switch {
	case len(b.Events) == 0:
		add("events", "empty; send at least one event")
	case len(b.Events) > MaxEventsPerBatch:
		add("events", "%d events; a batch holds at most %d, split it", len(b.Events), MaxEventsPerBatch)
	}
	for i := range b.Events {
		if len(errs) > 100 {
			break
		}
		e := &b.Events[i]
		p := fmt.Sprintf("events[%d]", i)
		if e.Unit == "" {
			add(p+".unit", "missing; the unit key the event belongs to")
		} else if len(e.Unit) > MaxStringLength {
			add(p+".unit", "longer than %d characters", MaxStringLength)
		}
		if e.Time.IsZero() {
			add(p+".time", "missing; an RFC 3339 time")
		}
		switch e.Kind {
		case KindExposure:
			if e.Flag == "" {
				add(p+".flag", "missing; an exposure names the flag evaluated")
			}
			if e.Variant == "" {
				add(p+".variant", "missing; an exposure names the variant served")
			}
		case KindMetric:
			if e.Metric == "" {
				add(p+".metric", "missing; a metric event names its metric, e.g. \"thumbs_up\"")
			}
			switch {
			case e.Value == nil:
				add(p+".value", "missing; a metric event carries a number")
			case math.IsNaN(*e.Value) || math.IsInf(*e.Value, 0):
				add(p+".value", "must be a finite number")
			}
			if len(e.Comment) > MaxCommentLength {
				add(p+".comment", "is %d characters long; the limit is %d", len(e.Comment), MaxCommentLength)
			}
		case "":
			add(p+".kind", "missing; use \"exposure\" or \"metric\"")
		default:
			add(p+".kind", "unknown kind %q; use \"exposure\" or \"metric\"", e.Kind)
		}
		if len(e.Dimensions) > MaxDimensions {
			add(p+".dimensions", "%d dimensions; the limit is %d", len(e.Dimensions), MaxDimensions)
		}
		for k, v := range e.Dimensions {
			if len(k) > MaxStringLength || len(v) > MaxStringLength {
				add(p+".dimensions["+k+"]", "keys and values are limited to %d characters", MaxStringLength)
			}
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return errs
}
