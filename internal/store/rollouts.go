package store

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/ramp-release/ramp/flags"
	"github.com/ramp-release/ramp/internal/rollout"
)

// ErrFenced is an automatic decision carrying a fencing epoch older than one the
// rollout has already been written with, or older than the epoch of the controller
// lease (ControllerLease): a controller that lost its leadership tried to act
// (CLARIFICATIONS §35). The writer must stop deciding; the new leader has taken over.
var ErrFenced = errors.New("stale fencing epoch")

// SavedPlan is a release plan kept by name: the definition a rollout is made from,
// or, when it names no flag, environment or variants, a template of the user's own.
type SavedPlan struct {
	// Name is the plan's key; the store keeps Plan.Name equal to it.
	Name string       `json:"name"`
	Plan rollout.Plan `json:"plan"`
	// Version increases with every change.
	Version   int64     `json:"version"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Rollout is one run of a plan for one flag in one environment (CLARIFICATIONS §21).
// Its plan is a snapshot taken when it was created, so editing the saved plan later
// never changes a rollout under way.
type Rollout struct {
	ID string `json:"id"`
	// PlanName is the saved plan it was made from, or "" when made from a template.
	PlanName    string        `json:"plan_name,omitempty"`
	Plan        rollout.Plan  `json:"plan"`
	Flag        string        `json:"flag"`
	Environment string        `json:"environment"`
	State       rollout.State `json:"state"`
	// Waiting is what the last recorded hold waits for; it is cleared by every
	// transition.
	Waiting []rollout.HoldReason `json:"waiting,omitempty"`
	// Fingerprint identifies the values of the treatment and control variants when
	// the current evidence period began; the controller starts a new evidence period
	// when they change (CLARIFICATIONS §40).
	Fingerprint string `json:"fingerprint,omitempty"`
	// RequestedBy is who created the rollout: the requester that four-eyes approvals
	// must come from someone other than.
	RequestedBy string `json:"requested_by"`
	// Version increases with every write (optimistic concurrency).
	Version int64 `json:"version"`
	// Epoch is the highest fencing epoch the rollout has been written with.
	Epoch     int64     `json:"epoch"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Active reports whether the rollout may still change the flag on its own: it is a
// draft, scheduled, running or paused.
func (r Rollout) Active() bool { return !r.State.Status.Terminal() }

// ActiveStatuses are the statuses of rollouts that are not finished. At most one
// rollout per flag and environment has one of them.
var ActiveStatuses = []rollout.Status{rollout.Draft, rollout.Scheduled, rollout.Running, rollout.Paused}

// RolloutFilter selects rollouts; zero fields match everything. Rollouts come newest
// first.
type RolloutFilter struct {
	Environment string
	Flag        string
	Statuses    []rollout.Status
	// Limit is at most this many; 0 for the store's default (100), capped at 1000.
	Limit int
}

// RolloutDecision is one entry of a rollout's decision log: a transition, or a change
// of what a holding rollout waits for, with the evidence behind it.
type RolloutDecision struct {
	Seq       int64  `json:"seq"`
	RolloutID string `json:"rollout_id"`
	// At is when the decision was made, by the decider's clock.
	At    time.Time `json:"at"`
	Actor string    `json:"actor"`
	// Kind is the transition ("start", "advance", "pause", "resume", "complete",
	// "rollback", "schedule", "restart_evidence") or "hold".
	Kind string `json:"kind"`
	// Action is what rollout.Decide decided, for automatic decisions and holds.
	Action    rollout.Action       `json:"action,omitempty"`
	From      rollout.Status       `json:"from"`
	To        rollout.Status       `json:"to"`
	FromStage int                  `json:"from_stage"`
	ToStage   int                  `json:"to_stage"`
	Reason    string               `json:"reason"`
	Holds     []rollout.HoldReason `json:"holds,omitempty"`
	Evidence  *rollout.Evidence    `json:"evidence,omitempty"`
	// FlagVersion is the flag state version the decision wrote; 0 when it left the
	// flag alone.
	FlagVersion int64 `json:"flag_version,omitempty"`
	// AuditSeq is the audit entry recording the decision.
	AuditSeq int64 `json:"audit_seq"`
}

// KindHold is the RolloutDecision.Kind of a recorded hold.
const KindHold = "hold"

// RolloutUpdate is one decision applied to a rollout by ApplyRolloutDecision.
type RolloutUpdate struct {
	ID string
	// ExpectVersion is the version of the rollout the decision was made on.
	ExpectVersion int64
	// Epoch is the fencing epoch of the controller that decided; see ErrFenced. It
	// is 0 for a person's operation, which any replica may carry out: it is not
	// fenced (ExpectVersion keeps it from overwriting a newer state) and leaves the
	// rollout's epoch as it is.
	Epoch int64
	// State is the rollout's new state; Waiting what it now waits for (nil after a
	// transition); Fingerprint, when not empty, replaces the stored one.
	State       rollout.State
	Waiting     []rollout.HoldReason
	Fingerprint string
	// Install asks for Block to replace the managed block of the flag's rules in the
	// rollout's environment (rollout.Install; a nil Block removes it). Without
	// Install the flag is left alone.
	Install bool
	Block   []flags.Rule
	// Decision is the log entry; the store sets its Seq, RolloutID, FlagVersion and
	// AuditSeq.
	Decision RolloutDecision
	Change   Change
}

// NotificationChannel is a receiver of rollout events in one environment, with its
// route: the event kinds it is sent.
type NotificationChannel struct {
	Environment string `json:"environment"`
	Name        string `json:"name"`
	// Type is the integration: slack, pagerduty, email or webhook.
	Type string `json:"type"`
	// Kinds lists the event kinds sent to the channel; empty means every kind.
	Kinds []string `json:"kinds,omitempty"`
	// Config is the integration's settings with its secrets in clear, so that they
	// can be used. It is never encoded: API views and audit entries leave it out.
	Config    json.RawMessage `json:"-"`
	Version   int64           `json:"version"`
	CreatedAt time.Time       `json:"created_at"`
	UpdatedAt time.Time       `json:"updated_at"`
}

// NotificationDelivery records how the delivery of one event to one channel ended.
type NotificationDelivery struct {
	Seq         int64     `json:"seq"`
	Channel     string    `json:"channel"`
	Environment string    `json:"environment"`
	EventID     string    `json:"event_id"`
	Kind        string    `json:"kind"`
	Flag        string    `json:"flag"`
	RolloutID   string    `json:"rollout_id,omitempty"`
	DedupKey    string    `json:"dedup_key,omitempty"`
	Status      string    `json:"status"`
	Attempts    int       `json:"attempts"`
	LastError   string    `json:"last_error,omitempty"`
	QueuedAt    time.Time `json:"queued_at"`
	DoneAt      time.Time `json:"done_at"`
}

// DeliveryFilter selects delivery records, newest first; zero fields match everything.
type DeliveryFilter struct {
	Environment string
	RolloutID   string
	Limit       int // 0 for the store's default (100), capped at 1000
}

// RolloutStore keeps release plans, rollouts, their decisions and approvals, and
// notification channels and deliveries.
type RolloutStore interface {
	// PutPlan creates the plan when expectVersion is 0 (ErrExists when the name is
	// taken), otherwise replaces it if its version is still expectVersion.
	PutPlan(ctx context.Context, p SavedPlan, expectVersion int64, c Change) (SavedPlan, error)
	GetPlan(ctx context.Context, name string) (SavedPlan, error)
	// ListPlans lists plans ordered by name.
	ListPlans(ctx context.Context, p Page) ([]SavedPlan, error)
	// DeletePlan deletes a saved plan; rollouts made from it keep their snapshot.
	DeletePlan(ctx context.Context, name string, c Change) error

	// CreateRollout stores a new rollout (the store sets its ID when empty, version
	// 1, epoch 0 and times). It fails with ErrExists while another rollout of the same
	// flag in the same environment is active, and with ErrNotFound when the
	// environment or the flag does not exist. It leaves the flag alone.
	CreateRollout(ctx context.Context, r Rollout, c Change) (Rollout, error)
	GetRollout(ctx context.Context, id string) (Rollout, error)
	ListRollouts(ctx context.Context, f RolloutFilter) ([]Rollout, error)
	// ApplyRolloutDecision applies a decision in one transaction: the rollout's new
	// state (if its version is still u.ExpectVersion, else ErrConflict; when u.Epoch
	// is not 0, if it is older neither than the rollout's epoch nor than the
	// controller lease's, else ErrFenced), the flag's new rules in the rollout's
	// environment when they change (state version and environment revision bumped,
	// audited as flag.state.update), the decision log entry and the audit entry
	// "rollout.<kind>". Nothing is written when any part fails; ErrInvalid when the
	// flag would no longer compile.
	ApplyRolloutDecision(ctx context.Context, u RolloutUpdate) (Rollout, RolloutDecision, error)
	// ListRolloutDecisions returns a rollout's decision log in order, the entries
	// with Seq > afterSeq, at most limit (0 for 100, at most 1000).
	ListRolloutDecisions(ctx context.Context, rolloutID string, afterSeq int64, limit int) ([]RolloutDecision, error)

	// AddApproval records a release manager's approval to enter a stage, audited as
	// rollout.approve. It fails with ErrNotFound for an unknown rollout and with
	// ErrInvalid when the approver is the requester (four eyes).
	AddApproval(ctx context.Context, a rollout.Approval, c Change) (rollout.Approval, error)
	// ListApprovals returns a rollout's approvals, oldest first.
	ListApprovals(ctx context.Context, rolloutID string) ([]rollout.Approval, error)

	// PutNotificationChannel creates the channel when expectVersion is 0 (ErrExists
	// when taken), otherwise replaces it if its version is still expectVersion. The
	// audit entry leaves Config out.
	PutNotificationChannel(ctx context.Context, ch NotificationChannel, expectVersion int64, c Change) (NotificationChannel, error)
	GetNotificationChannel(ctx context.Context, env, name string) (NotificationChannel, error)
	// ListNotificationChannels lists env's channels by name, or every environment's
	// when env is "".
	ListNotificationChannels(ctx context.Context, env string) ([]NotificationChannel, error)
	DeleteNotificationChannel(ctx context.Context, env, name string, c Change) error

	// RecordNotificationDelivery keeps a delivery record; the store sets Seq.
	RecordNotificationDelivery(ctx context.Context, d NotificationDelivery) (NotificationDelivery, error)
	ListNotificationDeliveries(ctx context.Context, f DeliveryFilter) ([]NotificationDelivery, error)
}
