package controller

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/ramp-release/ramp/internal/notify"
	"github.com/ramp-release/ramp/internal/rollout"
	"github.com/ramp-release/ramp/internal/store"
)

// Store is what the controller needs from the store.
type Store interface {
	GetRollout(ctx context.Context, id string) (store.Rollout, error)
	ListRollouts(ctx context.Context, f store.RolloutFilter) ([]store.Rollout, error)
	ApplyRolloutDecision(ctx context.Context, u store.RolloutUpdate) (store.Rollout, store.RolloutDecision, error)
	AddApproval(ctx context.Context, a rollout.Approval, c store.Change) (rollout.Approval, error)
	ListApprovals(ctx context.Context, rolloutID string) ([]rollout.Approval, error)
	GetFlag(ctx context.Context, env, key string) (store.Flag, error)
}

// AnalysisSource gives the latest analysis of a rollout: what the statistics found
// about its current evidence period. It returns nil when there is no data yet.
type AnalysisSource interface {
	Analysis(ctx context.Context, r store.Rollout) (*rollout.Analysis, error)
}

// AnalysisFunc lets a function be an AnalysisSource.
type AnalysisFunc func(ctx context.Context, r store.Rollout) (*rollout.Analysis, error)

// Analysis calls f.
func (f AnalysisFunc) Analysis(ctx context.Context, r store.Rollout) (*rollout.Analysis, error) {
	return f(ctx, r)
}

// NoAnalysis is the source used until the analysis engine is connected: it never has
// data, so running rollouts hold and, after their plan's bound, pause and alert.
type NoAnalysis struct{}

// Analysis returns no data.
func (NoAnalysis) Analysis(context.Context, store.Rollout) (*rollout.Analysis, error) {
	return nil, nil
}

// Notifier takes events to announce. Dispatch must not block (notify.Dispatcher's
// does not).
type Notifier interface {
	Dispatch(e notify.Event) error
}

// Options configure a Controller; every field is optional.
type Options struct {
	// Tick is the period of the loop (default rollout.DefaultTick, 5 s).
	Tick time.Duration
	// Clock is the time decisions are made at and the loop is paced by (default
	// SystemClock).
	Clock Clock
	// Analysis is where analyses come from (default NoAnalysis).
	Analysis AnalysisSource
	// Publish streams a committed change of env's flags to the SDKs (the server's
	// hub). It is called after the commit and before notifying.
	Publish func(ctx context.Context, env string) error
	// Notifier announces decisions (default: none).
	Notifier Notifier
	// Leadership says whether this process may make automatic decisions, and with
	// which fencing epoch (an *Elector when replicas share the store). Nil means
	// always, with Epoch.
	Leadership Leadership
	// Epoch is the fencing token automatic decisions carry when Leadership is nil
	// (default 1: a single controller).
	Epoch int64
	Log   *slog.Logger
}

// Errors of people's operations; the HTTP layer maps them to statuses.
var (
	// ErrForbidden: the caller may not do this (four eyes, role).
	ErrForbidden = errors.New("forbidden")
	// ErrBlocked: the operation is legal but something stands in its way now (a
	// blackout, a disabled flag).
	ErrBlocked = errors.New("blocked")
	// ErrNotLeader: automatic decisions are the leader's, and this process does not
	// lead now.
	ErrNotLeader = errors.New("not the controller leader")
)

// Actor is a person acting on a rollout through the API.
type Actor struct {
	Name string
	Role store.Role
}

// Controller applies rollout decisions; see the package documentation. Its methods
// are safe for concurrent use: operations on one rollout are serialised.
type Controller struct {
	st       Store
	tick     time.Duration
	clock    Clock
	analysis AnalysisSource
	publish  func(ctx context.Context, env string) error
	notifier Notifier
	leader   Leadership
	log      *slog.Logger

	locks sync.Map // rollout id → *sync.Mutex

	mu     sync.Mutex
	warned map[string]string // rollout id → the evidence period warned about
}

// New returns a controller over st. Call Run to start its loop.
func New(st Store, opts Options) *Controller {
	c := &Controller{st: st, tick: opts.Tick, clock: opts.Clock, analysis: opts.Analysis, publish: opts.Publish,
		notifier: opts.Notifier, leader: opts.Leadership, log: opts.Log, warned: map[string]string{}}
	if c.tick <= 0 {
		c.tick = rollout.DefaultTick
	}
	if c.clock == nil {
		c.clock = SystemClock{}
	}
	if c.analysis == nil {
		c.analysis = NoAnalysis{}
	}
	if c.leader == nil {
		c.leader = Always(max(opts.Epoch, 1))
	}
	if c.log == nil {
		c.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return c
}

// Run decides for every unfinished rollout at once and then every tick, until ctx
// ends; while another replica leads, it only waits, and it decides at once when it
// becomes the leader. A rollout's failure is logged and never stops the loop.
func (c *Controller) Run(ctx context.Context) error {
	ticks, stop := c.clock.NewTicker(c.tick)
	defer stop()
	c.log.Info("rollout controller started", "tick", c.tick)
	if _, none := c.analysis.(NoAnalysis); none {
		c.log.Warn("no analysis source is connected: running rollouts hold on missing data, and pause and alert after their plan's bound (10m by default)")
	}
	var led int64 // the epoch this loop last decided with; 0 while following
	for {
		changed := c.leader.Changed()
		epoch, ok := c.leader.Leader()
		switch {
		case ok && epoch != led:
			c.log.Info("this replica leads the rollout controller", "epoch", epoch)
		case !ok && led != 0:
			c.log.Info("this replica no longer leads the rollout controller; another decides", "epoch", led)
		}
		if !ok {
			epoch = 0
		}
		led = epoch
		_ = c.Tick(ctx)
		select {
		case <-ctx.Done():
			c.log.Info("rollout controller stopped")
			return nil
		case <-ticks:
		case <-changed:
		}
	}
}

// Tick decides once for every unfinished rollout, when this process leads. It
// returns the rollouts' errors joined (they are logged too).
func (c *Controller) Tick(ctx context.Context) error {
	if _, ok := c.leader.Leader(); !ok {
		return nil
	}
	rs, err := c.st.ListRollouts(ctx, store.RolloutFilter{Statuses: store.ActiveStatuses, Limit: 1000})
	if err != nil {
		c.log.Error("list rollouts", "err", err)
		return err
	}
	var errs []error
	for _, r := range rs {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if _, err := c.Step(ctx, r.ID); err != nil {
			level := slog.LevelError
			switch {
			case errors.Is(err, store.ErrConflict):
				level = slog.LevelInfo // someone acted on it meanwhile; the next tick decides anew
			case errors.Is(err, ErrNotLeader), errors.Is(err, store.ErrFenced):
				// Leadership passed to another replica during the tick; it decides now.
				c.log.Info("rollout decision left to the new leader", "rollout", r.ID, "err", err)
				return err
			}
			c.log.Log(ctx, level, "rollout decision", "rollout", r.ID, "flag", r.Flag, "environment", r.Environment, "err", err)
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Step decides once for one rollout and applies the decision. It fails with
// ErrNotLeader when another replica leads: automatic decisions are the leader's,
// and carry its fencing epoch.
func (c *Controller) Step(ctx context.Context, id string) (store.Rollout, error) {
	r, err := c.st.GetRollout(ctx, id)
	if err != nil || !r.Active() {
		return r, err
	}
	epoch, ok := c.leader.Leader()
	if !ok {
		return r, ErrNotLeader
	}
	// The analysis is read before the rollout's lock is taken, so a slow analysis
	// never delays a person's rollback.
	a := c.readAnalysis(ctx, r)
	unlock := c.lock(id)
	defer unlock()
	cur, err := c.st.GetRollout(ctx, id)
	if err != nil || !cur.Active() {
		return cur, err
	}
	p := planOf(cur)
	now := c.now()
	if cur.State.Status == rollout.Running || cur.State.Status == rollout.Paused {
		fp, err := c.fingerprint(ctx, cur)
		if err != nil {
			return cur, err
		}
		if cur.Fingerprint != "" && fp != cur.Fingerprint {
			next, tr, err := cur.State.RestartEvidence(rollout.ControllerActor, variantsChanged(&p), now)
			if err != nil {
				return cur, err
			}
			return c.commit(ctx, cur, &p, outcome{next: next, tr: tr, evidence: rollout.Evidence{StageName: stageName(&p, cur.State.Stage)}, fingerprint: fp, epoch: epoch})
		}
	}
	approvals, err := c.st.ListApprovals(ctx, id)
	if err != nil {
		return cur, err
	}
	d := rollout.Decide(&p, cur.State, a, approvals, now)
	c.noteData(cur, &p, a, d)
	next, tr, err := cur.State.Apply(&p, d)
	if err != nil {
		return cur, fmt.Errorf("apply %s: %w", d.Action, err)
	}
	if !tr.Changed() {
		return c.hold(ctx, cur, &p, d, epoch)
	}
	o := outcome{next: next, tr: tr, action: d.Action, evidence: d.Evidence, alert: d.Alert, epoch: epoch}
	if tr.Kind == rollout.KindStart {
		if o.fingerprint, err = c.fingerprint(ctx, cur); err != nil {
			return cur, err
		}
	}
	return c.commit(ctx, cur, &p, o)
}

func variantsChanged(p *rollout.Plan) string {
	return fmt.Sprintf("the value of variant %q or %q changed while the rollout ran: a new evidence period starts, and earlier data no longer counts toward leaving the stage",
		p.Treatment, p.Control)
}

// Preview returns what the controller would decide for the rollout now, without
// applying it: its holds say what the next step waits for.
func (c *Controller) Preview(ctx context.Context, id string) (rollout.Decision, error) {
	r, err := c.st.GetRollout(ctx, id)
	if err != nil {
		return rollout.Decision{}, err
	}
	approvals, err := c.st.ListApprovals(ctx, id)
	if err != nil {
		return rollout.Decision{}, err
	}
	p := planOf(r)
	var a *rollout.Analysis
	if r.Active() {
		a = c.readAnalysis(ctx, r)
	}
	return rollout.Decide(&p, r.State, a, approvals, c.now()), nil
}

func (c *Controller) readAnalysis(ctx context.Context, r store.Rollout) *rollout.Analysis {
	if r.State.Status == rollout.Draft {
		return nil
	}
	a, err := c.analysis.Analysis(ctx, r)
	if err != nil {
		c.log.Warn("read the analysis; deciding without data (the rollout holds, then pauses)", "rollout", r.ID, "err", err)
		return nil
	}
	return a
}

// noteData logs, once per evidence period, that a running rollout decides without
// fresh data, so that an operator knows why it holds and will pause.
func (c *Controller) noteData(r store.Rollout, p *rollout.Plan, a *rollout.Analysis, d rollout.Decision) {
	c.mu.Lock()
	defer c.mu.Unlock()
	key := r.State.EvidenceStart.String()
	stale := d.Hold == rollout.HoldStaleData || (d.Action == rollout.Pause && d.Evidence.Trigger == nil && a == nil)
	if !stale {
		delete(c.warned, r.ID)
		return
	}
	if c.warned[r.ID] == key {
		return
	}
	c.warned[r.ID] = key
	c.log.Warn("rollout has no fresh analysis: it holds, and pauses and alerts after the bound",
		"rollout", r.ID, "flag", r.Flag, "environment", r.Environment, "stage", stageName(p, r.State.Stage),
		"bound", p.PauseWithoutData(), "reason", d.Reason)
}

func (c *Controller) now() time.Time { return c.clock.Now().UTC().Truncate(time.Microsecond) }

func (c *Controller) lock(id string) func() {
	m, _ := c.locks.LoadOrStore(id, new(sync.Mutex))
	mu := m.(*sync.Mutex)
	mu.Lock()
	return mu.Unlock
}

// planOf returns the rollout's plan with its time zone resolved.
func planOf(r store.Rollout) rollout.Plan {
	p := r.Plan
	// A stored plan was validated when the rollout was created; this only resolves
	// its zone. Should it fail, Decide holds on windows it cannot read.
	_ = p.Validate(rollout.ValidateOptions{})
	return p
}

func stageName(p *rollout.Plan, i int) string {
	if i >= 0 && i < len(p.Stages) {
		return p.Stages[i].Name
	}
	return fmt.Sprint(i)
}

// fingerprint identifies the current values of the rollout's treatment and control.
func (c *Controller) fingerprint(ctx context.Context, r store.Rollout) (string, error) {
	f, err := c.st.GetFlag(ctx, r.Environment, r.Flag)
	if err != nil {
		return "", fmt.Errorf("read flag %q of rollout %s: %w", r.Flag, r.ID, err)
	}
	b, err := json.Marshal([]any{f.Definition.Variants[r.Plan.Treatment], f.Definition.Variants[r.Plan.Control]})
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:12]), nil
}

// outcome is a transition to commit and what to record about it.
type outcome struct {
	next rollout.State
	tr   rollout.Transition
	// action is what Decide decided ("" for a person's operation).
	action   rollout.Action
	evidence rollout.Evidence
	alert    bool
	// fingerprint, when set, is stored as the values the evidence period is about.
	fingerprint string
	// epoch is the leader's fencing epoch for an automatic decision, 0 for a
	// person's operation (which any replica carries out; see store.RolloutUpdate).
	epoch int64
}

// ownsBlock reports whether a rollout moving from one status to another renders a
// managed block into the flag. Drafts and scheduled rollouts own none, and one
// cancelled before it started leaves the flag as it was.
func ownsBlock(from, to rollout.Status) bool {
	switch to {
	case rollout.Running, rollout.Paused, rollout.Completed:
		return true
	case rollout.RolledBack:
		return from == rollout.Running || from == rollout.Paused || from == rollout.Completed
	}
	return false
}

// commit carries out a transition: persist (one transaction), then stream, then
// notify.
func (c *Controller) commit(ctx context.Context, cur store.Rollout, p *rollout.Plan, o outcome) (store.Rollout, error) {
	tr := o.tr
	ev := o.evidence
	if ev.StageName == "" {
		ev.StageName = stageName(p, tr.FromStage)
	}
	u := store.RolloutUpdate{
		ID: cur.ID, ExpectVersion: cur.Version, Epoch: o.epoch, State: o.next, Fingerprint: o.fingerprint,
		Decision: store.RolloutDecision{At: tr.At, Actor: tr.By, Kind: string(tr.Kind), Action: o.action, From: tr.From, To: tr.To,
			FromStage: tr.FromStage, ToStage: tr.ToStage, Reason: tr.Reason, Evidence: &ev},
		Change: store.Change{Actor: tr.By, Reason: tr.Reason},
	}
	if ownsBlock(tr.From, tr.To) {
		u.Install, u.Block = true, rollout.Render(p, o.next)
	}
	out, rec, err := c.st.ApplyRolloutDecision(ctx, u)
	if err != nil {
		return cur, fmt.Errorf("%s rollout %s: %w", tr.Kind, cur.ID, err)
	}
	c.log.Info("rollout decision applied", "rollout", out.ID, "flag", out.Flag, "environment", out.Environment,
		"kind", tr.Kind, "by", tr.By, "from", tr.From, "to", tr.To, "stage", stageName(p, tr.ToStage), "flag_version", rec.FlagVersion, "reason", tr.Reason)
	if rec.FlagVersion != 0 {
		c.stream(ctx, out.Environment)
	}
	c.announce(out, p, rec)
	return out, nil
}

func (c *Controller) stream(ctx context.Context, env string) {
	if c.publish == nil {
		return
	}
	if err := c.publish(ctx, env); err != nil {
		// The change is committed; streams catch up at the next change or poll.
		c.log.Error("publish the new flag version", "environment", env, "err", err)
	}
}

// hold records what a rollout waits for when that changed, and asks for an
// approval when only an approval (and perhaps the calendar) stands in the way.
// Drafts and paused rollouts wait for a person, not a condition: nothing is logged.
func (c *Controller) hold(ctx context.Context, cur store.Rollout, p *rollout.Plan, d rollout.Decision, epoch int64) (store.Rollout, error) {
	if cur.State.Status != rollout.Running && cur.State.Status != rollout.Scheduled {
		return cur, nil
	}
	if slices.Equal(cur.Waiting, d.Holds) {
		return cur, nil
	}
	ev := d.Evidence
	s := cur.State
	u := store.RolloutUpdate{
		ID: cur.ID, ExpectVersion: cur.Version, Epoch: epoch, State: s, Waiting: d.Holds,
		Decision: store.RolloutDecision{At: d.At, Actor: rollout.ControllerActor, Kind: store.KindHold, Action: rollout.Hold,
			From: s.Status, To: s.Status, FromStage: s.Stage, ToStage: s.Stage, Reason: d.Reason, Holds: d.Holds, Evidence: &ev},
		Change: store.Change{Actor: rollout.ControllerActor, Reason: d.Reason},
	}
	out, _, err := c.st.ApplyRolloutDecision(ctx, u)
	if err != nil {
		return cur, fmt.Errorf("record the hold of rollout %s: %w", cur.ID, err)
	}
	c.log.Info("rollout holds", "rollout", out.ID, "flag", out.Flag, "environment", out.Environment, "holds", d.Holds, "reason", d.Reason)
	// A running rollout asks once its evidence is in; a scheduled one once its time
	// has come. Either way, only once per wait (and the dedup key guards repeats).
	ask := d.ApprovalNeeded || s.Status == rollout.Scheduled && approvalOnlyPending(d.Holds)
	if ask && !approvalOnlyPending(cur.Waiting) {
		next := NextStage(cur)
		why := fmt.Sprintf("stage %q passed its conditions", stageName(p, s.Stage))
		if s.Status == rollout.Scheduled {
			why = "the scheduled start has come"
		}
		c.dispatch(notify.Event{
			Kind: notify.ApprovalRequested, Environment: out.Environment, Flag: out.Flag, RolloutID: out.ID,
			Stage: stageName(p, next), Reason: fmt.Sprintf("%s; entering %q needs the approval of a %s other than %s (ramp rollout approve %s)",
				why, stageName(p, next), rollout.RoleReleaseManager, out.RequestedBy, out.ID),
			Evidence: evidenceMap(&ev), Actor: rollout.ControllerActor, Time: d.At,
			DedupKey: fmt.Sprintf("rollout/%s/approval/%d/%d", out.ID, next, s.EvidenceStart.UnixMicro()),
		})
	}
	return out, nil
}

// approvalOnlyPending reports whether holds wait for an approval and nothing but
// the calendar besides: when recorded, an approval was already asked for.
func approvalOnlyPending(waiting []rollout.HoldReason) bool {
	if !slices.Contains(waiting, rollout.HoldApproval) {
		return false
	}
	for _, h := range waiting {
		switch h {
		case rollout.HoldApproval, rollout.HoldBlackout, rollout.HoldWindow:
		default:
			return false
		}
	}
	return true
}

// eventKinds maps transitions to the events announced.
var eventKinds = map[rollout.TransitionKind]notify.Kind{
	rollout.KindStart:    notify.StageAdvanced,
	rollout.KindAdvance:  notify.StageAdvanced,
	rollout.KindPause:    notify.Paused,
	rollout.KindResume:   notify.Resumed,
	rollout.KindComplete: notify.Completed,
	rollout.KindRollback: notify.RolledBack,
}

func (c *Controller) announce(r store.Rollout, p *rollout.Plan, d store.RolloutDecision) {
	kind, ok := eventKinds[rollout.TransitionKind(d.Kind)]
	if !ok {
		return
	}
	c.dispatch(notify.Event{
		Kind: kind, Environment: r.Environment, Flag: r.Flag, RolloutID: r.ID, Stage: stageName(p, d.ToStage),
		Reason: d.Reason, Evidence: evidenceMap(d.Evidence), Actor: d.Actor, Time: d.At,
		// The decision's log entry identifies this occurrence: the same decision
		// announced twice is delivered once.
		DedupKey: fmt.Sprintf("rollout/%s/decision/%d", r.ID, d.Seq),
	})
}

func (c *Controller) dispatch(e notify.Event) {
	if c.notifier == nil {
		return
	}
	if err := c.notifier.Dispatch(e); err != nil {
		c.log.Warn("queue notification", "kind", e.Kind, "rollout", e.RolloutID, "err", err)
	}
}

// evidenceMap formats the evidence for people: one line per figure.
func evidenceMap(ev *rollout.Evidence) map[string]string {
	if ev == nil {
		return nil
	}
	m := map[string]string{}
	result := func(r rollout.MetricResult) string {
		s := string(r.Verdict)
		if s == "" {
			s = string(rollout.NotEnoughEvidence)
		}
		if r.Dimension != "" {
			s += " in " + r.Dimension
		}
		if r.Summary != "" {
			s += ": " + r.Summary
		}
		return s
	}
	if ev.Trigger != nil {
		m["trigger"] = ev.Trigger.Metric + " " + result(*ev.Trigger)
	}
	for _, g := range ev.Guardrails {
		m["guardrail "+g.Metric] = result(g)
	}
	for _, g := range ev.Gates {
		m["gate "+g.Metric] = result(g)
	}
	if ev.UnitsTreatment > 0 || ev.UnitsControl > 0 {
		m["units"] = fmt.Sprintf("%d treatment, %d control", ev.UnitsTreatment, ev.UnitsControl)
	}
	if ev.Elapsed > 0 {
		m["time in stage"] = ev.Elapsed.String()
	}
	if ev.SRM {
		m["sample ratio"] = "mismatch"
	}
	if ev.Blackout != "" {
		m["blackout"] = ev.Blackout + " until " + ev.BlackoutEnd.Format(time.RFC3339)
	}
	if ev.Approval != nil {
		m["approved by"] = ev.Approval.Approver
	}
	if !ev.DataAsOf.IsZero() {
		m["data as of"] = ev.DataAsOf.Format(time.RFC3339)
	}
	if len(m) == 0 {
		return nil
	}
	return m
}
