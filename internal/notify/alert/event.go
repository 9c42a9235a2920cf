package alert

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Kind says what happened to a rollout. Its values are the snake_case words
// used on the wire (webhook payloads, API, configuration).
type Kind string

// The kinds of event a rollout controller emits.
const (
	// ApprovalRequested: a stage needs a release manager's approval before
	// the rollout may advance into it.
	ApprovalRequested Kind = "approval_requested"
	// StageAdvanced: the rollout moved to its next stage.
	StageAdvanced Kind = "stage_advanced"
	// Paused: the rollout stopped advancing (a guardrail with action pause,
	// stale data, or a person), holding its current exposure.
	Paused Kind = "paused"
	// Resumed: a paused rollout may advance again.
	Resumed Kind = "resumed"
	// RolledBack: the treatment was withdrawn from everyone, because a
	// guardrail was crossed or a person asked.
	RolledBack Kind = "rolled_back"
	// Completed: the rollout reached its last stage and finished.
	Completed Kind = "completed"
	// RollbackResolved: the incident behind a rollback has been dealt with;
	// pages opened by the rollback can be closed.
	RollbackResolved Kind = "rollback_resolved"
)

// Kinds lists every Kind in the order a rollout usually meets them.
func Kinds() []Kind {
	return []Kind{ApprovalRequested, StageAdvanced, Paused, Resumed, RolledBack, Completed, RollbackResolved}
}

var titles = map[Kind]string{
	ApprovalRequested: "Approval requested",
	StageAdvanced:     "Stage advanced",
	Paused:            "Paused",
	Resumed:           "Resumed",
	RolledBack:        "Rolled back",
	Completed:         "Completed",
	RollbackResolved:  "Rollback resolved",
}

// Valid reports whether k is one of the kinds listed by Kinds.
func (k Kind) Valid() bool {
	_, ok := titles[k]
	return ok
}

// Title is the kind as a person reads it in a message: "Rolled back".
func (k Kind) Title() string {
	if t, ok := titles[k]; ok {
		return t
	}
	return string(k)
}

// KindNames is the list of valid kinds as text, for error messages that
// tell a user what to write instead.
func KindNames() string {
	names := make([]string, 0, len(titles))
	for _, k := range Kinds() {
		names = append(names, string(k))
	}
	return strings.Join(names, ", ")
}

// Event is one thing that happened to a rollout, as the controller reports
// it to people and systems outside ramp.
type Event struct {
	// Kind says what happened.
	Kind Kind `json:"kind"`
	// Environment is where: "production", "staging", …
	Environment string `json:"environment"`
	// Flag is the key of the flag being rolled out.
	Flag string `json:"flag"`
	// RolloutID identifies the rollout (one release plan of one flag in one
	// environment). PagerDuty uses it to pair a trigger with its resolve.
	RolloutID string `json:"rollout_id,omitempty"`
	// Stage is the name of the stage the rollout is in after the event
	// ("ring 5%"), or the one it was in when it paused or rolled back.
	Stage string `json:"stage,omitempty"`
	// Reason says why, in one sentence: "error rate worse than control by
	// 14% (tolerance 10%)".
	Reason string `json:"reason,omitempty"`
	// Evidence holds the figures behind an automatic decision, already
	// formatted by the controller: {"error_rate": "+14.2% (95% CS 11.0–17.5%)"}.
	// Integrations show it sorted by key.
	Evidence map[string]string `json:"evidence,omitempty"`
	// Actor is who caused the event: a user's name, or "controller" for
	// automatic decisions.
	Actor string `json:"actor,omitempty"`
	// Time is when it happened. The dispatcher fills it in if it is zero.
	Time time.Time `json:"time"`
	// DedupKey identifies one occurrence of an event: the same decision
	// emitted twice (after a restart or a leader change) carries the same
	// key and is delivered once; a new decision needs a new key, for
	// example the id of its audit entry. Empty means never deduplicated.
	DedupKey string `json:"dedup_key,omitempty"`
}

// ID is a stable identifier of the event's occurrence, the same on every
// retry and on every replica: derived from DedupKey when it is set,
// otherwise from what happened, where and when. Integrations use it where
// receivers expect a message id (webhook-id, Message-ID) so that they can
// discard duplicates.
func (e Event) ID() string {
	h := sha256.New()
	if e.DedupKey != "" {
		fmt.Fprintf(h, "dedup\x00%s", e.DedupKey)
	} else {
		fmt.Fprintf(h, "event\x00%s\x00%s\x00%s\x00%s\x00%s\x00%s",
			e.Kind, e.Environment, e.Flag, e.RolloutID, e.Stage, strconv.FormatInt(e.Time.UnixNano(), 10))
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// Summary is the event in one line, without the reason:
// "Rolled back: smart-reply in production (stage ring 5%)".
func (e Event) Summary() string {
	var b strings.Builder
	b.WriteString(e.Kind.Title())
	b.WriteString(": ")
	if e.Flag != "" {
		b.WriteString(e.Flag)
	} else {
		b.WriteString("rollout")
		if e.RolloutID != "" {
			b.WriteString(" " + e.RolloutID)
		}
	}
	if e.Environment != "" {
		b.WriteString(" in " + e.Environment)
	}
	if e.Stage != "" {
		b.WriteString(" (stage " + e.Stage + ")")
	}
	return b.String()
}
