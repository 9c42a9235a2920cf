package ingest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/ramp-release/ramp/events"
	"github.com/ramp-release/ramp/internal/analysis"
	"github.com/ramp-release/ramp/internal/rollout"
	"github.com/ramp-release/ramp/internal/store"
)

// Store is what the aggregator needs from the store.
type Store interface {
	MetricStore
	EventBatches(ctx context.Context, after int64, limit int) ([]store.EventBatch, error)
	IngestCheckpoint(ctx context.Context) (store.IngestCheckpoint, error)
	SaveIngestCheckpoint(ctx context.Context, prevSeq int64, cp store.IngestCheckpoint, feedback []store.Feedback) error
	GetRollout(ctx context.Context, id string) (store.Rollout, error)
	ListRollouts(ctx context.Context, f store.RolloutFilter) ([]store.Rollout, error)
}

// Defaults of Options.
var (
	DefaultDimensions = []string{"country", "plan", "platform"}
)

const (
	DefaultCheckpointEvery = 5 * time.Second
	DefaultPollEvery       = time.Second
	DefaultRefreshEvery    = 2 * time.Second
	// DefaultQuantileWarmup is the number of control values a quantile test sketches
	// before it freezes its exceedance thresholds.
	DefaultQuantileWarmup = 500
	// MaxPendingFeedback bounds the comments waiting for the next checkpoint; more
	// are counted and dropped.
	MaxPendingFeedback = 10_000
)

// Options configure an Aggregator; every field is optional.
type Options struct {
	// Dimensions are the analysis dimensions read from exposures (DefaultDimensions).
	Dimensions []string
	// TopValues is how many values of each dimension are tested on their own
	// (analysis.DefaultTopValues); the aggregator tracks four times as many before
	// folding new values into "other", and the analysis keeps the top ones.
	TopValues int
	// CheckpointEvery is the period of checkpoints (DefaultCheckpointEvery).
	CheckpointEvery time.Duration
	// PollEvery is how often the log is read without a wake-up (DefaultPollEvery):
	// batches appended by other replicas arrive this way.
	PollEvery time.Duration
	// RefreshEvery is how often rollout states are re-read (DefaultRefreshEvery).
	RefreshEvery   time.Duration
	QuantileWarmup float64
	// UsageMetrics are metric keys whose adoption (report.AdoptionCounts) is followed
	// in every rollout, besides the metrics of its plan's guardrails and gates.
	UsageMetrics    []string
	Log             *slog.Logger
	Now             func() time.Time
	DecodeBatch     func(data []byte, b *events.Batch) error
	checkpointBytes func(n int)
}

// Aggregator consumes the durable event log in seq order and folds exposures and
// metric events into per-stage sufficient statistics. See the package doc.
type Aggregator struct {
	st   Store
	opts Options
	log  *slog.Logger
	wake chan struct{}

	mu     sync.Mutex
	pos    int64 // the last batch folded in
	saved  int64 // the checkpoint's seq in the store
	stages map[string]*stageAgg
	// units maps environment → unit key → the stage aggregates the unit is in.
	units    map[string]map[string]unitRefs
	rollouts map[string]rolloutEntry
	// adopt holds each rollout's adoption aggregate (adoption.go), adoptEnv the same
	// by environment.
	adopt    map[string]*adoptionAgg
	adoptEnv map[string][]*adoptionAgg
	feedback []store.Feedback
	stats    Status
}

type unitRef struct {
	g   *stageAgg
	idx int32
}

// unitRefs is usually one reference; more when several rollouts of an environment
// exposed the unit.
type unitRefs struct {
	first unitRef
	more  []unitRef
}

func (u *unitRefs) find(g *stageAgg) (int32, bool) {
	if u.first.g == g {
		return u.first.idx, true
	}
	for _, r := range u.more {
		if r.g == g {
			return r.idx, true
		}
	}
	return 0, false
}

type rolloutEntry struct {
	readAt time.Time
	found  bool
}

// Status describes the aggregator's progress.
type Status struct {
	// Seq is the last event batch folded in; Checkpoint the last one checkpointed.
	Seq        int64 `json:"seq"`
	Checkpoint int64 `json:"checkpoint"`
	// Batches and Events count what was folded since the process started;
	// Malformed counts batches that could not be decoded (skipped).
	Batches   int64 `json:"batches"`
	Events    int64 `json:"events"`
	Malformed int64 `json:"malformed"`
	// LastReceivedAt is when the last batch folded in was received, and LagSeconds
	// how long it waited in the log before it was folded.
	LastReceivedAt  time.Time `json:"last_received_at,omitzero"`
	LagSeconds      float64   `json:"lag_seconds"`
	DroppedFeedback int64     `json:"dropped_feedback,omitempty"`
	Stages          int       `json:"stages"`
}

// New returns an aggregator over st. Call Restore (or Run, which restores first).
func New(st Store, opts Options) *Aggregator {
	if opts.Dimensions == nil {
		opts.Dimensions = DefaultDimensions
	}
	if opts.TopValues <= 0 {
		opts.TopValues = analysis.DefaultTopValues
	}
	if opts.CheckpointEvery <= 0 {
		opts.CheckpointEvery = DefaultCheckpointEvery
	}
	if opts.PollEvery <= 0 {
		opts.PollEvery = DefaultPollEvery
	}
	if opts.RefreshEvery <= 0 {
		opts.RefreshEvery = DefaultRefreshEvery
	}
	if opts.QuantileWarmup <= 0 {
		opts.QuantileWarmup = DefaultQuantileWarmup
	}
	if opts.Now == nil {
		opts.Now = func() time.Time { return time.Now().UTC() }
	}
	if opts.DecodeBatch == nil {
		opts.DecodeBatch = DecodeBatch
	}
	log := opts.Log
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &Aggregator{st: st, opts: opts, log: log, wake: make(chan struct{}, 1),
		stages: map[string]*stageAgg{}, units: map[string]map[string]unitRefs{}, rollouts: map[string]rolloutEntry{},
		adopt: map[string]*adoptionAgg{}, adoptEnv: map[string][]*adoptionAgg{}}
}

// Notify wakes the aggregator: a batch was appended. It never blocks; use it as
// server.Config.EventsSink.
func (a *Aggregator) Notify(env string, seq int64) {
	select {
	case a.wake <- struct{}{}:
	default:
	}
}

// Status returns the aggregator's progress.
func (a *Aggregator) Status() Status {
	a.mu.Lock()
	defer a.mu.Unlock()
	s := a.stats
	s.Seq, s.Checkpoint, s.Stages = a.pos, a.saved, len(a.stages)
	return s
}

// Run restores the last checkpoint and folds the log until ctx ends, checkpointing
// every CheckpointEvery and once more on the way out.
func (a *Aggregator) Run(ctx context.Context) error {
	if err := a.Restore(ctx); err != nil {
		return err
	}
	a.log.Info("event aggregator started", "seq", a.pos)
	poll := time.NewTicker(a.opts.PollEvery)
	defer poll.Stop()
	lastCheckpoint, lastRefresh := time.Now(), time.Time{}
	for {
		if time.Since(lastRefresh) >= a.opts.RefreshEvery {
			if err := a.Refresh(ctx); err != nil && ctx.Err() == nil {
				a.log.Warn("refresh rollouts", "err", err)
			}
			lastRefresh = time.Now()
		}
		for {
			n, err := a.Step(ctx, 1000)
			if err != nil {
				if ctx.Err() != nil {
					break
				}
				a.log.Error("fold event batches", "err", err)
				break
			}
			// Feedback becomes visible with a checkpoint: do not let it wait long.
			a.mu.Lock()
			pending := len(a.feedback) > 0
			a.mu.Unlock()
			if since := time.Since(lastCheckpoint); since >= a.opts.CheckpointEvery || (pending && since >= time.Second) {
				if err := a.Checkpoint(ctx); err != nil && ctx.Err() == nil {
					a.log.Error("checkpoint the aggregator", "err", err)
				}
				lastCheckpoint = time.Now()
			}
			if n == 0 || ctx.Err() != nil {
				break
			}
		}
		select {
		case <-ctx.Done():
			// The last checkpoint gets a context of its own: ctx is done.
			cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			err := a.Checkpoint(cctx)
			cancel()
			a.log.Info("event aggregator stopped", "seq", a.pos, "checkpoint_err", err)
			return nil
		case <-a.wake:
		case <-poll.C:
		}
	}
}

// Step folds up to limit batches after the current position and returns how many
// it read.
func (a *Aggregator) Step(ctx context.Context, limit int) (int, error) {
	a.mu.Lock()
	after := a.pos
	a.mu.Unlock()
	bs, err := a.st.EventBatches(ctx, after, limit)
	if err != nil {
		return 0, err
	}
	if len(bs) == 0 {
		return 0, nil
	}
	decoded := make([]events.Batch, len(bs))
	ok := make([]bool, len(bs))
	for i := range bs {
		if err := a.opts.DecodeBatch(bs[i].Payload, &decoded[i]); err != nil {
			a.log.Error("skip an undecodable event batch", "seq", bs[i].Seq, "environment", bs[i].Environment, "batch_id", bs[i].BatchID, "err", err)
			continue
		}
		ok[i] = true
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.pos != after {
		return 0, nil // restored meanwhile: read again from the new position
	}
	for i := range bs {
		if ok[i] {
			a.foldBatch(ctx, bs[i].Environment, bs[i].ReceivedAt, &decoded[i])
			a.stats.Events += int64(len(decoded[i].Events))
		} else {
			a.stats.Malformed++
		}
		a.pos = bs[i].Seq
		a.stats.Batches++
	}
	last := bs[len(bs)-1]
	a.stats.LastReceivedAt = last.ReceivedAt
	a.stats.LagSeconds = max(0, a.opts.Now().Sub(last.ReceivedAt).Seconds())
	return len(bs), nil
}

func eventTime(e *events.Event, received time.Time) time.Time {
	if e.Time.IsZero() || e.Time.After(received) {
		return received
	}
	return e.Time
}

func (a *Aggregator) foldBatch(ctx context.Context, env string, received time.Time, b *events.Batch) {
	units := a.units[env]
	if units == nil {
		units = map[string]unitRefs{}
		a.units[env] = units
	}
	for i := range b.Events {
		e := &b.Events[i]
		switch e.Kind {
		case events.KindExposure:
			a.foldExposure(ctx, env, units, e, received)
		case events.KindMetric:
			a.foldMetric(env, units, e, received)
		}
	}
}

func (a *Aggregator) foldExposure(ctx context.Context, env string, units map[string]unitRefs, e *events.Event, received time.Time) {
	if e.Rollout == "" {
		return
	}
	t := eventTime(e, received)
	g := a.stageFor(ctx, e.Rollout, e.Stage)
	if ad := a.adopt[e.Rollout]; ad != nil && ad.Env == env {
		if arm := adoptionArm(e.Arm); arm != 0 {
			ad.expose(e.Unit, arm, t)
		}
	}
	if g == nil || g.Env != env {
		return
	}
	arm := g.armOf(e.Arm, e.RuleID)
	if arm == 0 {
		return
	}
	refs, known := units[e.Unit]
	idx, ok := refs.find(g)
	switch {
	case !ok:
		idx = g.addUnit(e.Unit, arm, e.Dimensions, a.opts.TopValues*4)
		r := unitRef{g, idx}
		if !known || refs.first.g == nil {
			refs.first = r
		} else {
			refs.more = append(refs.more, r)
		}
		units[e.Unit] = refs
	case g.Arms[idx] != arm && g.Arms[idx] != armMulti:
		g.markMulti(idx)
	}
	if t.After(g.AsOf) && !t.Before(g.EvidenceStart) {
		g.AsOf = t
	}
	if tis := g.byEvent[ExposureEvent]; len(tis) > 0 && !t.Before(g.EvidenceStart) {
		for _, ti := range tis {
			g.metricEvent(idx, ti, 1, false, a.opts.QuantileWarmup)
		}
	}
}

func (a *Aggregator) foldMetric(env string, units map[string]unitRefs, e *events.Event, received time.Time) {
	if e.Value == nil {
		return
	}
	t := eventTime(e, received)
	for _, ad := range a.adoptEnv[env] {
		ad.use(e.Unit, e.Metric, t)
	}
	refs, ok := units[e.Unit]
	if !ok {
		return
	}
	one := func(r unitRef) {
		g := r.g
		if g == nil || g.dead || t.Before(g.EvidenceStart) {
			return
		}
		tis, dis := g.byEvent[e.Metric], g.byDenom[e.Metric]
		if len(tis) == 0 && len(dis) == 0 && e.Comment == "" {
			return
		}
		arm := g.Arms[r.idx]
		if arm == armMulti {
			return
		}
		for _, ti := range tis {
			g.metricEvent(r.idx, ti, *e.Value, false, a.opts.QuantileWarmup)
		}
		for _, ti := range dis {
			g.metricEvent(r.idx, ti, *e.Value, true, a.opts.QuantileWarmup)
		}
		if t.After(g.AsOf) {
			g.AsOf = t
		}
		if e.Comment != "" {
			a.addFeedback(g, arm, e, t)
		}
	}
	one(refs.first)
	for _, r := range refs.more {
		one(r)
	}
}

func (a *Aggregator) addFeedback(g *stageAgg, arm uint8, e *events.Event, t time.Time) {
	if len(a.feedback) >= MaxPendingFeedback {
		a.stats.DroppedFeedback++
		return
	}
	f := store.Feedback{RolloutID: g.Rollout, Stage: g.Stage, StageName: g.StageName, Unit: e.Unit, Metric: e.Metric,
		Value: *e.Value, Comment: e.Comment, Time: t}
	if arm == armTreatment {
		f.Arm, f.Variant = string(rollout.ArmTreatment), g.Treatment
	} else {
		f.Arm, f.Variant = string(rollout.ArmControl), g.Control
	}
	a.feedback = append(a.feedback, f)
}

// stageFor returns the aggregate of rollout id's current stage when stageName is
// that stage, re-reading the rollout (at most once a second) when it does not know
// the rollout or the stage differs.
func (a *Aggregator) stageFor(ctx context.Context, id, stageName string) *stageAgg {
	g := a.stages[id]
	if g != nil && g.StageName == stageName {
		return g
	}
	now := time.Now()
	if ent, ok := a.rollouts[id]; ok && now.Sub(ent.readAt) < time.Second {
		return nil
	}
	r, err := a.st.GetRollout(ctx, id)
	a.rollouts[id] = rolloutEntry{readAt: now, found: err == nil}
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			a.log.Warn("read a rollout named by exposures", "rollout", id, "err", err)
		}
		return nil
	}
	a.syncLocked(ctx, r)
	if g := a.stages[id]; g != nil && g.StageName == stageName {
		return g
	}
	return nil
}

// Refresh re-reads the unfinished rollouts: new stages and evidence periods start
// fresh aggregates, finished rollouts' aggregates are dropped.
func (a *Aggregator) Refresh(ctx context.Context) error {
	rs, err := a.st.ListRollouts(ctx, store.RolloutFilter{Statuses: []rollout.Status{rollout.Running, rollout.Paused}, Limit: 1000})
	if err != nil {
		return err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	seen := map[string]bool{}
	for _, r := range rs {
		seen[r.ID] = true
		a.syncLocked(ctx, r)
	}
	for id, g := range a.stages {
		if !seen[id] {
			a.dropLocked(g)
		}
	}
	a.expireAdoptionLocked(seen)
	return nil
}

// Sync brings the aggregate of r up to date with its state.
func (a *Aggregator) Sync(ctx context.Context, r store.Rollout) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.syncLocked(ctx, r)
}

func (a *Aggregator) syncLocked(ctx context.Context, r store.Rollout) {
	a.rollouts[r.ID] = rolloutEntry{readAt: time.Now(), found: true}
	a.syncAdoptionLocked(ctx, r)
	g := a.stages[r.ID]
	if r.State.Status != rollout.Running && r.State.Status != rollout.Paused {
		if g != nil {
			a.dropLocked(g)
		}
		return
	}
	if g != nil && g.Stage == r.State.Stage {
		if r.State.EvidenceStart.After(g.EvidenceStart) {
			g.restart(r.State.EvidenceStart)
		}
		return
	}
	if g != nil {
		a.dropLocked(g)
	}
	ng, err := a.newStage(ctx, r)
	if err != nil {
		a.log.Warn("cannot analyse the rollout's stage", "rollout", r.ID, "stage", r.State.Stage, "err", err)
		return
	}
	if ng != nil {
		a.stages[r.ID] = ng
	}
}

// dropLocked forgets a stage aggregate and its units' references.
func (a *Aggregator) dropLocked(g *stageAgg) {
	g.dead = true
	delete(a.stages, g.Rollout)
	units := a.units[g.Env]
	for _, k := range g.Keys {
		refs, ok := units[k]
		if !ok {
			continue
		}
		if refs.first.g == g {
			if len(refs.more) > 0 {
				refs.first, refs.more = refs.more[0], refs.more[1:]
			} else {
				delete(units, k)
				continue
			}
		} else {
			refs.more = slices.DeleteFunc(refs.more, func(r unitRef) bool { return r.g == g })
		}
		units[k] = refs
	}
}

// newStage builds the empty aggregate of r's current stage, or nil when the stage
// has no randomised control to compare with.
func (a *Aggregator) newStage(ctx context.Context, r store.Rollout) (*stageAgg, error) {
	p := r.Plan
	d, ok := stageDesign(&p, r.State.Stage)
	if !ok {
		return nil, nil
	}
	tested := 0
	for i := range p.Stages {
		if _, ok := stageDesign(&p, i); ok {
			tested++
		}
	}
	alpha := p.Alpha
	if alpha == 0 {
		alpha = rollout.DefaultAlpha
	}
	g := &stageAgg{
		Rollout: r.ID, Env: r.Environment, Flag: r.Flag, Stage: r.State.Stage, StageName: p.Stages[r.State.Stage].Name,
		EvidenceStart: r.State.EvidenceStart, Share: d.share, Audience: d.audience, HoldoutControl: d.holdoutControl,
		Treatment: p.Treatment, Control: p.Control, Alpha: alpha, TestedStages: max(tested, 1),
		Dims: slices.Clone(a.opts.Dimensions),
	}
	g.DimValues = make([][]string, len(g.Dims))
	var errs []error
	add := func(metric, role string, worse rollout.Direction, amount *Amount, superior bool) {
		def, err := LookupMetric(ctx, a.st, metric)
		if err != nil {
			errs = append(errs, err)
			return
		}
		if err := ValidateMetric(&def); err != nil {
			errs = append(errs, fmt.Errorf("metric %q: %w", metric, err))
			return
		}
		name := metric
		if slices.ContainsFunc(g.Tests, func(t test) bool { return t.Name == name }) {
			name = role + ":" + metric
		}
		t := test{Name: name, Metric: metric, Role: role, Def: def, Spec: TestMetric(def, name, role == RoleGuardrail, amount, superior),
			Segs: make([][]armStats, len(g.Dims))}
		// The plan says which way is worse; it wins over the definition's direction.
		switch worse {
		case rollout.Increase:
			t.Spec.Direction = analysis.LowerIsBetter
		case rollout.Decrease:
			t.Spec.Direction = analysis.HigherIsBetter
		}
		if err := t.Spec.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("%s %q: %w", role, metric, err))
			return
		}
		initHistograms(&t, &t.Total)
		g.Tests = append(g.Tests, t)
	}
	for _, gr := range p.Guardrails {
		add(gr.Metric, RoleGuardrail, gr.Direction, &Amount{gr.Tolerance.Relative, gr.Tolerance.Absolute}, false)
	}
	for _, gt := range p.Gates {
		worse := rollout.Direction("")
		switch gt.Direction {
		case rollout.Increase:
			worse = rollout.Decrease
		case rollout.Decrease:
			worse = rollout.Increase
		}
		add(gt.Metric, RoleGate, worse, &Amount{gt.Margin.Relative, gt.Margin.Absolute}, gt.Superior)
	}
	g.index()
	if len(errs) > 0 {
		a.log.Warn("some metrics of the rollout cannot be analysed; they stay without evidence", "rollout", r.ID, "err", errors.Join(errs...))
	}
	return g, nil
}
