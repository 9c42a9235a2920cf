package report

import (
	"sort"
	"time"

	"github.com/ramp-release/ramp/internal/rollout"
)

// Portfolio is the view across rollouts: whether an organisation is getting better
// at launching. Each group (all rollouts, each environment, each template, each
// month of start) has the same figures.
type Portfolio struct {
	AsOf          time.Time `json:"as_of"`
	Overall       Group     `json:"overall"`
	ByEnvironment []Group   `json:"by_environment"`
	ByTemplate    []Group   `json:"by_template"`
	// ByMonth groups rollouts by the month they started (UTC), oldest first, so
	// that a trend shows.
	ByMonth  []Group          `json:"by_month"`
	Rollouts []RolloutSummary `json:"rollouts"`
}

// Group is the figures of a set of rollouts.
type Group struct {
	Key        string `json:"key"`
	Rollouts   int    `json:"rollouts"`
	Completed  int    `json:"completed"`
	RolledBack int    `json:"rolled_back"`
	Active     int    `json:"active"`
	// RollbackRate is RolledBack over finished rollouts (completed or rolled back);
	// null when none has finished.
	RollbackRate *float64 `json:"rollback_rate"`
	// MedianToFull is the median time from start to 100 % over the ReachedFull
	// rollouts that got there.
	ReachedFull  int               `json:"reached_full"`
	MedianToFull *rollout.Duration `json:"median_to_full,omitempty"`
	// Detections counts automatic alerts (a rollback after a pause of the same issue
	// is not counted again); the medians are over them: time from the stage's start,
	// time from the first crossing (over those with one), and treatment units at
	// detection.
	Detections                 int               `json:"detections"`
	MedianDetection            *rollout.Duration `json:"median_detection,omitempty"`
	MedianCrossedToDetection   *rollout.Duration `json:"median_crossed_to_detection,omitempty"`
	MedianTreatmentAtDetection *float64          `json:"median_treatment_units_at_detection,omitempty"`
	// PausesPerRollout is the mean number of pauses.
	PausesPerRollout float64 `json:"pauses_per_rollout"`
}

// RolloutSummary is one rollout's line in the portfolio.
type RolloutSummary struct {
	ID          string            `json:"id"`
	Flag        string            `json:"flag"`
	Environment string            `json:"environment"`
	Group       string            `json:"group"`
	Status      rollout.Status    `json:"status"`
	StartedAt   time.Time         `json:"started_at,omitzero"`
	ToFull      *rollout.Duration `json:"to_full,omitempty"`
	Pauses      int               `json:"pauses"`
	Detections  int               `json:"detections"`
	// FirstDetection is the time from the stage's start to the first alert.
	FirstDetection *rollout.Duration `json:"first_detection,omitempty"`
}

// NewPortfolio summarises reports (each made by [New]) as of now.
func NewPortfolio(reports []Report, now time.Time) Portfolio {
	rs := append([]Report(nil), reports...)
	sort.SliceStable(rs, func(i, j int) bool {
		a, b := rs[i].Velocity.StartedAt, rs[j].Velocity.StartedAt
		if !a.Equal(b) {
			return a.Before(b)
		}
		return rs[i].RolloutID < rs[j].RolloutID
	})
	pf := Portfolio{AsOf: now.UTC(), Overall: group("all", rs), ByEnvironment: []Group{}, ByTemplate: []Group{}, ByMonth: []Group{}, Rollouts: []RolloutSummary{}}
	pf.ByEnvironment = groupBy(rs, func(r Report) string { return r.Environment })
	pf.ByTemplate = groupBy(rs, func(r Report) string { return r.Group })
	pf.ByMonth = groupBy(rs, func(r Report) string {
		if r.Velocity.StartedAt.IsZero() {
			return ""
		}
		return r.Velocity.StartedAt.UTC().Format("2006-01")
	})
	for _, r := range rs {
		s := RolloutSummary{ID: r.RolloutID, Flag: r.Flag, Environment: r.Environment, Group: r.Group, Status: r.Status,
			StartedAt: r.Velocity.StartedAt, ToFull: r.Velocity.ToFull, Pauses: len(r.Velocity.Pauses)}
		for _, d := range alerts(r) {
			s.Detections++
			if s.FirstDetection == nil {
				s.FirstDetection = d.FromStageStart
			}
		}
		pf.Rollouts = append(pf.Rollouts, s)
	}
	return pf
}

// alerts are a report's automatic alerts, each issue once.
func alerts(r Report) []Detection {
	var out []Detection
	for _, d := range r.Detections {
		if d.Automatic && !d.FollowsPause {
			out = append(out, d)
		}
	}
	return out
}

// groupBy groups reports by key (the empty key is left out), keys in order.
func groupBy(rs []Report, key func(Report) string) []Group {
	by := map[string][]Report{}
	var keys []string
	for _, r := range rs {
		k := key(r)
		if k == "" {
			continue
		}
		if _, ok := by[k]; !ok {
			keys = append(keys, k)
		}
		by[k] = append(by[k], r)
	}
	sort.Strings(keys)
	out := []Group{}
	for _, k := range keys {
		out = append(out, group(k, by[k]))
	}
	return out
}

func group(key string, rs []Report) Group {
	g := Group{Key: key, Rollouts: len(rs)}
	var toFull, detect, crossed, units []float64
	pauses := 0
	for _, r := range rs {
		switch r.Status {
		case rollout.Completed:
			g.Completed++
		case rollout.RolledBack:
			g.RolledBack++
		default:
			g.Active++
		}
		if r.Velocity.ToFull != nil {
			toFull = append(toFull, float64(*r.Velocity.ToFull))
		}
		pauses += len(r.Velocity.Pauses)
		for _, d := range alerts(r) {
			g.Detections++
			if d.FromStageStart != nil {
				detect = append(detect, float64(*d.FromStageStart))
			}
			if d.FromFirstCrossed != nil {
				crossed = append(crossed, float64(*d.FromFirstCrossed))
			}
			if d.Units.AtDetection != nil {
				units = append(units, d.Units.AtDetection.Treatment)
			}
		}
	}
	if fin := g.Completed + g.RolledBack; fin > 0 {
		rate := float64(g.RolledBack) / float64(fin)
		g.RollbackRate = &rate
	}
	g.ReachedFull = len(toFull)
	g.MedianToFull = medianDuration(toFull)
	g.MedianDetection = medianDuration(detect)
	g.MedianCrossedToDetection = medianDuration(crossed)
	if m, ok := median(units); ok {
		g.MedianTreatmentAtDetection = &m
	}
	if len(rs) > 0 {
		g.PausesPerRollout = float64(pauses) / float64(len(rs))
	}
	return g
}

// median is the middle value (the mean of the two middle values for an even count).
func median(xs []float64) (float64, bool) {
	if len(xs) == 0 {
		return 0, false
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2], true
	}
	return (s[n/2-1] + s[n/2]) / 2, true
}

func medianDuration(xs []float64) *rollout.Duration {
	m, ok := median(xs)
	if !ok {
		return nil
	}
	d := rollout.Duration(time.Duration(m).Round(time.Second))
	return &d
}
