package rollout

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Plan is the definition of one release: how one flag's treatment variant reaches
// the users of one environment. It is what a template instantiates and what
// `ramp apply` reads from YAML; a rollout is one run of it (see [State]).
//
// Zero values mean "the default" wherever a default is documented, so a plan
// written by hand stays short. Call [Plan.Validate] before using a plan: it checks
// every field and resolves the time zone into Location.
type Plan struct {
	// Name identifies the plan in error paths (plans["smart-reply"]) and in the store.
	Name        string `json:"name,omitempty" yaml:"name,omitempty"`
	Description string `json:"description,omitempty" yaml:"description,omitempty"`
	// Template names the built-in or saved template the plan was made from; it is
	// informational only.
	Template    string `json:"template,omitempty" yaml:"template,omitempty"`
	Flag        string `json:"flag" yaml:"flag"`
	Environment string `json:"environment" yaml:"environment"`
	// Treatment is the variant being rolled out; Control is what everyone else gets
	// (and what a rollback serves).
	Treatment string `json:"treatment" yaml:"treatment"`
	Control   string `json:"control" yaml:"control"`
	// Salt seeds the bucket conditions of the rendered rules; empty means the flag's
	// own salt. It must stay fixed for the life of a rollout and across rollouts of the
	// same plan, so that the same units come first.
	Salt string `json:"salt,omitempty" yaml:"salt,omitempty"`
	// HoldoutPercent of all units never receive the treatment, even after completion:
	// buckets [100000−H, 100000), H = HoldoutPercent × 1000.
	HoldoutPercent float64 `json:"holdout_percent,omitempty" yaml:"holdout_percent,omitempty"`
	// Stages run in order; the last one must serve 100 % (see [Stage]).
	Stages []Stage `json:"stages" yaml:"stages"`
	// Guardrails are watched at every stage.
	Guardrails []Guardrail `json:"guardrails,omitempty" yaml:"guardrails,omitempty"`
	// Gates are success metrics that must be shown non-inferior (or superior) before
	// a stage may be left.
	Gates []Gate `json:"gates,omitempty" yaml:"gates,omitempty"`
	// Exclusions keep segments on control during the early stages.
	Exclusions []Exclusion `json:"exclusions,omitempty" yaml:"exclusions,omitempty"`
	// AdvanceOn says what lets a stage end: "evidence" (the default: every guardrail
	// clear with enough evidence) or "time" (the minimum duration and sample suffice;
	// guardrails still pause and roll back). Gates must pass either way.
	AdvanceOn Basis `json:"advance_on,omitempty" yaml:"advance_on,omitempty"`
	// TimeZone is the IANA zone of Windows and of date-only Blackouts; empty means UTC.
	TimeZone string `json:"time_zone,omitempty" yaml:"time_zone,omitempty"`
	// Windows are the times when the rollout may advance; none means any time.
	Windows []Window `json:"windows,omitempty" yaml:"windows,omitempty"`
	// Blackouts are calendar periods when the rollout never advances.
	Blackouts []Blackout `json:"blackouts,omitempty" yaml:"blackouts,omitempty"`
	// Alpha is the false-rollback rate of the whole plan (default 0.01); sizing
	// splits it evenly over stages and guardrails (see [Plan.Size]).
	Alpha float64 `json:"alpha,omitempty" yaml:"alpha,omitempty"`
	// Power is the chance of catching each guardrail's smallest harm that sizing
	// aims for (default 0.8).
	Power float64 `json:"power,omitempty" yaml:"power,omitempty"`
	// Tick is the controller's period (default 5s); data older than StaleAfter
	// (default 3 ticks) holds the rollout, and no fresh data for
	// PauseWithoutDataAfter (default 10m) pauses it and alerts. Simulations, whose
	// ticks are virtual minutes, set all three.
	Tick                  Duration `json:"tick,omitempty" yaml:"tick,omitempty"`
	StaleAfter            Duration `json:"stale_after,omitempty" yaml:"stale_after,omitempty"`
	PauseWithoutDataAfter Duration `json:"pause_without_data_after,omitempty" yaml:"pause_without_data_after,omitempty"`

	// Location is TimeZone resolved. Validate sets it; it is never serialized. A plan
	// that is not validated still works in UTC, and holds (never advances) when its
	// windows or date-only blackouts need a zone it cannot resolve.
	Location *time.Location `json:"-" yaml:"-"`
}

// Stage is one step of a plan: an audience, and what must be true to leave it.
//
// The audience is a set of segments, a ring (a percentage of the eligible
// population), or both. Segment members are split at random: SegmentPercent of
// them get the treatment, the rest are their control (CLARIFICATIONS §23: a segment
// is compared with itself, never with everyone else). Segments stay in the
// audience in later stages, so audiences only grow.
type Stage struct {
	Name        string `json:"name" yaml:"name"`
	Description string `json:"description,omitempty" yaml:"description,omitempty"`
	// Segments added to the audience at this stage (e.g. "internal", "beta").
	Segments []string `json:"segments,omitempty" yaml:"segments,omitempty"`
	// SegmentPercent of the segment audience is treated (default 50). It must not
	// decrease from one stage to the next.
	SegmentPercent float64 `json:"segment_percent,omitempty" yaml:"segment_percent,omitempty"`
	// Percent is the ring: the share of the eligible population (everyone outside
	// the holdout, the exclusions and the segment audience, within Regions) that is
	// treated. Zero means no ring. Rings never decrease.
	Percent float64 `json:"percent,omitempty" yaml:"percent,omitempty"`
	// Regions limits the ring to units whose country or region is listed. Regions
	// only grow from stage to stage (geographic order) and the last stage has none.
	Regions *Regions `json:"regions,omitempty" yaml:"regions,omitempty"`
	// RequireApproval: entering this stage needs a release manager's approval (four
	// eyes: not the person who asked).
	RequireApproval bool `json:"require_approval,omitempty" yaml:"require_approval,omitempty"`
	// MinDuration and MinUnitsPerArm must pass before the stage may be left; both
	// count from the start of the stage's evidence period.
	MinDuration    Duration `json:"min_duration,omitempty" yaml:"min_duration,omitempty"`
	MinUnitsPerArm int64    `json:"min_units_per_arm,omitempty" yaml:"min_units_per_arm,omitempty"`
	// MaxDuration bounds the wait for evidence: past it, a stage still lacking
	// evidence pauses and alerts rather than advancing. Zero means no bound.
	MaxDuration Duration `json:"max_duration,omitempty" yaml:"max_duration,omitempty"`
}

// Regions limits a ring to some values of a geographic attribute.
type Regions struct {
	// Attribute is "country" or "region".
	Attribute string   `json:"attribute" yaml:"attribute"`
	Values    []string `json:"values" yaml:"values"`
}

// Guardrail is a metric that must not get worse than the tolerance, and what
// happens when it does.
type Guardrail struct {
	Metric string `json:"metric" yaml:"metric"`
	// Kind is the metric's kind (proportion, mean, ratio, quantile); only sizing
	// uses it.
	Kind MetricKind `json:"kind,omitempty" yaml:"kind,omitempty"`
	// Direction is the direction in which the metric gets worse.
	Direction Direction `json:"direction" yaml:"direction"`
	// Tolerance is the harm accepted, relative to control or in absolute units;
	// zero means any harm.
	Tolerance Amount `json:"tolerance" yaml:"tolerance"`
	// Action is what crossing does: rollback (the default) or pause.
	Action Action `json:"action,omitempty" yaml:"action,omitempty"`
	// Harm is the smallest harm worth catching, in the same terms as Tolerance.
	// With Baseline (and SD for non-proportions) it sizes each stage's minimum
	// sample (CLARIFICATIONS §41).
	Harm Amount `json:"harm,omitzero" yaml:"harm,omitempty"`
	// Baseline is control's expected value: a rate for proportions, a mean otherwise.
	Baseline float64 `json:"baseline,omitempty" yaml:"baseline,omitempty"`
	// SD is the per-unit standard deviation of non-proportion metrics.
	SD float64 `json:"sd,omitempty" yaml:"sd,omitempty"`
}

// Gate is a success metric that must be shown non-inferior (or superior) before a
// stage may be left.
type Gate struct {
	Metric string `json:"metric" yaml:"metric"`
	// Direction is the direction in which the metric gets better.
	Direction Direction `json:"direction" yaml:"direction"`
	// Margin is the non-inferiority margin: how much worse than control still passes.
	Margin Amount `json:"margin" yaml:"margin"`
	// Superior requires the treatment to be better, not merely not worse.
	Superior bool `json:"superior,omitempty" yaml:"superior,omitempty"`
	// FromStage names the first stage the gate applies to; empty means every stage.
	FromStage string `json:"from_stage,omitempty" yaml:"from_stage,omitempty"`
}

// Exclusion keeps a segment (high-stakes accounts, trials) on control until a stage.
type Exclusion struct {
	Segment string `json:"segment" yaml:"segment"`
	// UntilStage names the first stage in which the segment is no longer excluded;
	// empty means for the whole rollout (until it completes).
	UntilStage string `json:"until_stage,omitempty" yaml:"until_stage,omitempty"`
}

// Window is a weekly period in which advancement may happen, in the plan's zone.
type Window struct {
	// Days are "mon" … "sun", ranges such as "mon-thu", or "weekdays"/"every day".
	Days []string `json:"days" yaml:"days"`
	// From and To are "HH:MM" in 24-hour time; To may be earlier than From for a
	// window that crosses midnight (it then ends on the next day).
	From string `json:"from" yaml:"from"`
	To   string `json:"to" yaml:"to"`
}

// Blackout is a calendar period when the rollout never advances (peak season,
// a freeze). From and To are dates ("2026-11-26", in the plan's zone; To includes
// its whole day) or RFC 3339 times (To exclusive).
type Blackout struct {
	Name string `json:"name" yaml:"name"`
	From string `json:"from" yaml:"from"`
	To   string `json:"to" yaml:"to"`
}

// Amount is a tolerance, margin or harm, relative to control (0.10 = 10 %) or
// absolute in the metric's units (0.02 = 2 points of a rate). At most one is set.
type Amount struct {
	Relative float64 `json:"relative,omitempty" yaml:"relative,omitempty"`
	Absolute float64 `json:"absolute,omitempty" yaml:"absolute,omitempty"`
}

// IsZero reports whether neither part is set.
func (a Amount) IsZero() bool { return a.Relative == 0 && a.Absolute == 0 }

// of returns the amount in the metric's units, given control's baseline.
func (a Amount) of(baseline float64) float64 {
	if a.Relative != 0 {
		return a.Relative * baseline
	}
	return a.Absolute
}

func (a Amount) String() string {
	switch {
	case a.Relative != 0:
		return strconv.FormatFloat(a.Relative*100, 'f', -1, 64) + " % relative"
	case a.Absolute != 0:
		return strconv.FormatFloat(a.Absolute, 'f', -1, 64) + " absolute"
	}
	return "0"
}

// Direction is a way a metric moves.
type Direction string

// The directions.
const (
	Increase Direction = "increase"
	Decrease Direction = "decrease"
)

// MetricKind says how a metric is summarised per unit; it matters for sizing.
type MetricKind string

// The metric kinds.
const (
	Proportion MetricKind = "proportion"
	Mean       MetricKind = "mean"
	Ratio      MetricKind = "ratio"
	Quantile   MetricKind = "quantile"
)

// Basis says what lets a stage end; see [Plan.AdvanceOn].
type Basis string

// The bases.
const (
	OnEvidence Basis = "evidence"
	OnTime     Basis = "time"
)

// Defaults of the plan's optional fields.
const (
	DefaultTick                  = 5 * time.Second
	DefaultStaleTicks            = 3
	DefaultPauseWithoutDataAfter = 10 * time.Minute
	DefaultAlpha                 = 0.01
	DefaultPower                 = 0.8
	DefaultSegmentPercent        = 50.0
	// MaxMultipleExposure is the share of units seen in both arms of one stage above
	// which the assignment is considered broken (CLARIFICATIONS §39).
	MaxMultipleExposure = 0.01
)

func (p *Plan) tick() time.Duration {
	if p.Tick > 0 {
		return time.Duration(p.Tick)
	}
	return DefaultTick
}

// StaleAfterDuration is the age beyond which analysis data holds the rollout.
func (p *Plan) StaleAfterDuration() time.Duration {
	if p.StaleAfter > 0 {
		return time.Duration(p.StaleAfter)
	}
	return DefaultStaleTicks * p.tick()
}

// PauseWithoutData is how long the rollout may go without fresh data before it
// pauses and alerts.
func (p *Plan) PauseWithoutData() time.Duration {
	if p.PauseWithoutDataAfter > 0 {
		return time.Duration(p.PauseWithoutDataAfter)
	}
	return DefaultPauseWithoutDataAfter
}

func (p *Plan) alpha() float64 {
	if p.Alpha > 0 {
		return p.Alpha
	}
	return DefaultAlpha
}

func (p *Plan) power() float64 {
	if p.Power > 0 {
		return p.Power
	}
	return DefaultPower
}

func (p *Plan) basis() Basis {
	if p.AdvanceOn == "" {
		return OnEvidence
	}
	return p.AdvanceOn
}

func (g Guardrail) action() Action {
	if g.Action == "" {
		return Rollback
	}
	return g.Action
}

// StageIndex returns the index of the stage with the given name, or -1.
func (p *Plan) StageIndex(name string) int {
	for i, s := range p.Stages {
		if s.Name == name {
			return i
		}
	}
	return -1
}

// HoldoutBuckets is H, the number of buckets in the holdout.
func (p *Plan) HoldoutBuckets() uint32 {
	h := p.HoldoutPercent * 1000
	if h <= 0 {
		return 0
	}
	if h >= TotalBuckets {
		return TotalBuckets
	}
	return uint32(h + 0.5)
}

// eligibleBuckets is 100 000 − H, the buckets rings and segment splits are cut from.
func (p *Plan) eligibleBuckets() uint32 { return TotalBuckets - p.HoldoutBuckets() }

// threshold converts a percentage of the eligible buckets into the exclusive upper
// bucket bound floor(pct · (100000 − H) / 100) (CLARIFICATIONS §10).
func (p *Plan) threshold(pct float64) uint32 {
	e := p.eligibleBuckets()
	if pct <= 0 {
		return 0
	}
	if pct >= 100 {
		return e
	}
	// The small epsilon keeps 0.1 % of 100 000 at 100 and not 99 after rounding.
	t := uint32(pct*float64(e)/100 + 1e-9)
	return min(t, e)
}

// segmentPercent returns the share of the segment audience treated at stage i: the
// largest segment percent so far, and never less than the ring (segment members
// are part of the population, so they get at least what everyone else gets).
func (p *Plan) segmentPercent(i int) float64 {
	pct := 0.0
	for j := 0; j <= i && j < len(p.Stages); j++ {
		s := p.Stages[j]
		if len(s.Segments) == 0 {
			continue
		}
		sp := s.SegmentPercent
		if sp == 0 {
			sp = DefaultSegmentPercent
		}
		pct = max(pct, sp)
	}
	if i < len(p.Stages) {
		pct = max(pct, p.Stages[i].Percent)
	}
	return pct
}

// HasControl reports whether stage i has a randomised control arm to compare with:
// a segment split below 100 %, a ring below 100 %, or a holdout. A stage without one
// (100 % and no holdout) can only be timed: its evidence requirements are waived.
func (p *Plan) HasControl(i int) bool {
	if i < 0 || i >= len(p.Stages) {
		return false
	}
	if p.HoldoutBuckets() > 0 {
		return true
	}
	s := p.Stages[i]
	if len(s.Segments) > 0 && p.segmentPercent(i) < 100 {
		return true
	}
	return s.Percent > 0 && s.Percent < 100
}

// Duration is a time.Duration written as text ("90s", "4h", "1h30m", "7d") in JSON
// and YAML.
type Duration time.Duration

// D returns the value as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// String writes whole days as "7d" and trims zero units: "24h" is "1d", "90m" is "1h30m".
func (d Duration) String() string {
	t := time.Duration(d)
	if t == 0 {
		return "0s"
	}
	neg := t < 0
	if neg {
		t = -t
	}
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	if t%time.Second != 0 {
		b.WriteString(t.String())
		return b.String()
	}
	day := 24 * time.Hour
	for _, u := range []struct {
		d    time.Duration
		name string
	}{{day, "d"}, {time.Hour, "h"}, {time.Minute, "m"}, {time.Second, "s"}} {
		if n := t / u.d; n > 0 {
			b.WriteString(strconv.FormatInt(int64(n), 10))
			b.WriteString(u.name)
			t -= n * u.d
		}
	}
	return b.String()
}

// MarshalText writes the String form.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText reads Go's duration syntax, optionally led by whole days ("2d12h").
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// ParseDuration reads Go's duration syntax, optionally led by whole days ("2d12h").
func ParseDuration(s string) (Duration, error) {
	s = strings.TrimSpace(s)
	var days time.Duration
	if i := strings.IndexByte(s, 'd'); i > 0 {
		n, err := strconv.ParseUint(s[:i], 10, 16)
		if err != nil {
			return 0, fmt.Errorf("duration %q: whole days come first, as in \"2d12h\"", s)
		}
		days = time.Duration(n) * 24 * time.Hour
		s = s[i+1:]
		if s == "" {
			return Duration(days), nil
		}
	}
	t, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("duration %q: use units such as \"90s\", \"30m\", \"4h\" or \"7d\"", s)
	}
	return Duration(days + t), nil
}
