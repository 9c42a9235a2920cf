package ingest

import (
	"context"
	"slices"
	"time"

	"github.com/ramp-release/ramp/internal/report"
	"github.com/ramp-release/ramp/internal/rollout"
	"github.com/ramp-release/ramp/internal/store"
)

// AdoptionRetention is how long a rollout's adoption aggregate is kept after the
// rollout ends: long enough to see day-7 use of the last units it exposed.
const AdoptionRetention = 8 * 24 * time.Hour

// Usage bits of a unit, per followed usage metric (report.AdoptionCounts).
const (
	usedBit uint8 = 1 << iota // a usage event at or after the first exposure
	day1Bit                   // one in [first + 24 h, first + 48 h)
	day7Bit                   // one in [first + 7 d, first + 8 d)
)

const (
	secondsPerHour = 3600
	secondsPerDay  = 24 * secondsPerHour
)

// usageMetric is a metric whose use an adoption aggregate follows.
type usageMetric struct {
	Key   string // the metric key the report asks for
	Event string // the event that feeds it: any event of that name is a use, whatever its value
}

// adoptionHour counts, per arm, the units first exposed in one hour and, per
// followed metric, those of them that used it on day 1 and on day 7. Eligibility
// sums whole hours, so the day-1/day-7 numerators are summed over the same hours as
// their denominators: a unit is counted in neither before its window has passed.
type adoptionHour struct {
	Exposed    [2]int64
	Day1, Day7 [][2]int64 // per followed metric
}

// adoptionAgg is a rollout's adoption aggregate (report.AdoptionCounts): per unit
// the arm of its first exposure in any stage, the time of that exposure and the usage
// bits of each followed metric; per arm the counts. Unlike stageAgg it lives as long
// as the rollout, and AdoptionRetention after it ended. It is checkpointed as is
// (exported fields).
type adoptionAgg struct {
	Rollout, Env string
	Metrics      []usageMetric
	// EndedAt is when the rollout ended (zero while it runs); exposures after it are
	// ignored, usage events still count.
	EndedAt time.Time
	// AsOf is the time of the newest event counted.
	AsOf    time.Time
	Exposed [2]int64
	Used    [][2]int64 // per followed metric
	// Hours are keyed by the hour of the first exposure (Unix seconds / 3600).
	Hours map[int64]*adoptionHour
	// Units, in order of first exposure: key, arm (armTreatment or armControl), the
	// first exposure's event time in Unix seconds, and len(Metrics) usage bit sets.
	Keys  []string
	Arms  []uint8
	First []int64
	Bits  []uint8

	index   map[string]int32
	byEvent map[string][]int // event name → followed metrics it feeds
}

// reindex rebuilds the lookup maps (after creation or a restore).
func (ad *adoptionAgg) reindex() {
	ad.index = make(map[string]int32, len(ad.Keys))
	for i, k := range ad.Keys {
		ad.index[k] = int32(i)
	}
	ad.byEvent = map[string][]int{}
	for i, m := range ad.Metrics {
		ad.byEvent[m.Event] = append(ad.byEvent[m.Event], i)
	}
	if ad.Hours == nil {
		ad.Hours = map[int64]*adoptionHour{}
	}
	n := len(ad.Metrics)
	ad.Used = grow(ad.Used, n)
	for _, h := range ad.Hours {
		h.Day1, h.Day7 = grow(h.Day1, n), grow(h.Day7, n)
	}
}

func grow(s [][2]int64, n int) [][2]int64 {
	if len(s) < n {
		s = append(s, make([][2]int64, n-len(s))...)
	}
	return s
}

func (ad *adoptionAgg) seen(t time.Time) {
	if t.After(ad.AsOf) {
		ad.AsOf = t
	}
}

func hourOf(sec int64) int64 {
	h := sec / secondsPerHour
	if sec < 0 && sec%secondsPerHour != 0 {
		h--
	}
	return h
}

// expose counts the first exposure of a unit not yet known in arm at t.
func (ad *adoptionAgg) expose(unit string, arm uint8, t time.Time) {
	if len(ad.Metrics) == 0 || (!ad.EndedAt.IsZero() && t.After(ad.EndedAt)) {
		return
	}
	ad.seen(t)
	if _, ok := ad.index[unit]; ok {
		return
	}
	sec := t.Unix()
	ad.index[unit] = int32(len(ad.Keys))
	ad.Keys = append(ad.Keys, unit)
	ad.Arms = append(ad.Arms, arm)
	ad.First = append(ad.First, sec)
	for range ad.Metrics {
		ad.Bits = append(ad.Bits, 0)
	}
	ad.Exposed[arm-1]++
	h := ad.Hours[hourOf(sec)]
	if h == nil {
		h = &adoptionHour{Day1: make([][2]int64, len(ad.Metrics)), Day7: make([][2]int64, len(ad.Metrics))}
		ad.Hours[hourOf(sec)] = h
	}
	h.Exposed[arm-1]++
}

// use folds a metric event of unit: for each followed metric the event feeds (any
// value is a use: the unit produced the event), it sets the unit's bits, and each bit that turns on adds one to its count.
func (ad *adoptionAgg) use(unit, event string, t time.Time) {
	ms := ad.byEvent[event]
	if len(ms) == 0 {
		return
	}
	idx, ok := ad.index[unit]
	if !ok {
		return
	}
	first, sec := ad.First[idx], t.Unix()
	if sec < first {
		return
	}
	bits := usedBit
	switch d := sec - first; {
	case d >= secondsPerDay && d < 2*secondsPerDay:
		bits |= day1Bit
	case d >= 7*secondsPerDay && d < 8*secondsPerDay:
		bits |= day7Bit
	}
	arm := ad.Arms[idx] - 1
	n := len(ad.Metrics)
	for _, mi := range ms {
		b := &ad.Bits[int(idx)*n+mi]
		flip := bits &^ *b
		if flip == 0 {
			continue
		}
		*b |= flip
		if flip&usedBit != 0 {
			ad.Used[mi][arm]++
		}
		if flip&(day1Bit|day7Bit) != 0 {
			h := ad.Hours[hourOf(first)]
			if flip&day1Bit != 0 {
				h.Day1[mi][arm]++
			}
			if flip&day7Bit != 0 {
				h.Day7[mi][arm]++
			}
		}
	}
	ad.seen(t)
}

// counts returns the report's counts of followed metric mi as of ad.AsOf.
func (ad *adoptionAgg) counts(mi int) (t, c report.AdoptionCounts) {
	arms := [2]*report.AdoptionCounts{&t, &c}
	asOf := ad.AsOf.Unix()
	for h, hc := range ad.Hours {
		end := (h + 1) * secondsPerHour
		day1 := !ad.AsOf.IsZero() && end <= asOf-2*secondsPerDay
		day7 := !ad.AsOf.IsZero() && end <= asOf-8*secondsPerDay
		for a, out := range arms {
			if day1 {
				out.Day1Eligible += hc.Exposed[a]
				out.Day1 += hc.Day1[mi][a]
			}
			if day7 {
				out.Day7Eligible += hc.Exposed[a]
				out.Day7 += hc.Day7[mi][a]
			}
		}
	}
	for a, out := range arms {
		out.Exposed, out.Used = ad.Exposed[a], ad.Used[mi][a]
	}
	return t, c
}

// adoptionArm is the adoption arm of an exposure: treatment, or control for the
// control arm and the holdout (which never gets the treatment); 0 for the others.
func adoptionArm(arm string) uint8 {
	switch rollout.Arm(arm) {
	case rollout.ArmTreatment:
		return armTreatment
	case rollout.ArmControl, rollout.ArmHoldout:
		return armControl
	}
	return 0
}

// Adoption returns rollout rolloutID's adoption aggregate for usage metric metric
// (its key), as of the newest event counted. ok is false when the aggregator does not
// follow that metric for the rollout: it follows the metrics of the plan's guardrails
// and gates and Options.UsageMetrics, from the rollout's start until
// AdoptionRetention after its end. It implements server.AdoptionReader.
func (a *Aggregator) Adoption(ctx context.Context, rolloutID, metric string) (report.Adoption, bool, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	ad := a.adopt[rolloutID]
	if ad == nil {
		return report.Adoption{}, false, nil
	}
	mi := slices.IndexFunc(ad.Metrics, func(m usageMetric) bool { return m.Key == metric })
	if mi < 0 {
		return report.Adoption{}, false, nil
	}
	out := report.Adoption{Metric: metric, AsOf: ad.AsOf}
	out.Treatment, out.Control = ad.counts(mi)
	return out, true, nil
}

// syncAdoptionLocked starts the adoption aggregate of a running rollout, or of one
// that ended less than AdoptionRetention ago (a replay of the log), and notes when a
// rollout ended.
func (a *Aggregator) syncAdoptionLocked(ctx context.Context, r store.Rollout) {
	ad := a.adopt[r.ID]
	switch {
	case r.State.Status == rollout.Running || r.State.Status == rollout.Paused:
		if ad == nil {
			a.newAdoptionLocked(ctx, r, time.Time{})
		}
	case r.State.Status.Terminal():
		end := r.State.Since
		if end.IsZero() {
			end = a.opts.Now()
		}
		switch {
		case ad == nil && a.opts.Now().Sub(end) < AdoptionRetention:
			a.newAdoptionLocked(ctx, r, end)
		case ad != nil && ad.EndedAt.IsZero():
			ad.EndedAt = end
		}
	}
}

// newAdoptionLocked adds the empty adoption aggregate of r, following the metrics of
// its plan and Options.UsageMetrics.
func (a *Aggregator) newAdoptionLocked(ctx context.Context, r store.Rollout, ended time.Time) {
	var keys []string
	for _, g := range r.Plan.Guardrails {
		keys = append(keys, g.Metric)
	}
	for _, g := range r.Plan.Gates {
		keys = append(keys, g.Metric)
	}
	keys = append(keys, a.opts.UsageMetrics...)
	ad := &adoptionAgg{Rollout: r.ID, Env: r.Environment, EndedAt: ended}
	for _, k := range keys {
		if k == "" || slices.ContainsFunc(ad.Metrics, func(m usageMetric) bool { return m.Key == k }) {
			continue
		}
		def, err := LookupMetric(ctx, a.st, k)
		if err != nil || def.Event == "" || def.Event == ExposureEvent {
			continue // the stage aggregate logs metrics it cannot read
		}
		ad.Metrics = append(ad.Metrics, usageMetric{Key: k, Event: def.Event})
	}
	// Kept even without a metric to follow, so the definitions are not looked up
	// again at every sync; it then counts nothing.
	ad.reindex()
	a.adopt[r.ID] = ad
	a.reindexAdoptionLocked()
}

// expireAdoptionLocked notes the end of the rollouts that are no longer running
// (seen lists the running ones) and drops aggregates AdoptionRetention after the end.
func (a *Aggregator) expireAdoptionLocked(seen map[string]bool) {
	now := a.opts.Now()
	changed := false
	for id, ad := range a.adopt {
		if !seen[id] && ad.EndedAt.IsZero() {
			ad.EndedAt = now
		}
		if !ad.EndedAt.IsZero() && now.Sub(ad.EndedAt) >= AdoptionRetention {
			delete(a.adopt, id)
			changed = true
		}
	}
	if changed {
		a.reindexAdoptionLocked()
	}
}

// reindexAdoptionLocked rebuilds the adoption aggregates by environment.
func (a *Aggregator) reindexAdoptionLocked() {
	a.adoptEnv = map[string][]*adoptionAgg{}
	for _, ad := range a.adopt {
		if len(ad.Metrics) == 0 {
			continue
		}
		a.adoptEnv[ad.Env] = append(a.adoptEnv[ad.Env], ad)
	}
}
