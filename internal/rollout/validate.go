package rollout

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ramp-release/ramp/flags"
)

// ValidateOptions carries what validation may check beyond the plan itself. Every
// field is optional.
type ValidateOptions struct {
	// SegmentExists reports whether a segment is defined in the plan's environment;
	// nil skips the check.
	SegmentExists func(key string) bool
	// Flag is the flag the plan rolls out; when set, the plan's flag key and
	// variants are checked against it.
	Flag *flags.Flag
	// LoadLocation resolves TimeZone; nil means time.LoadLocation (the system's
	// zoneinfo). The package itself embeds no time zone data.
	LoadLocation func(name string) (*time.Location, error)
}

// Validate checks the plan and returns [flags.ValidationErrors] naming every problem
// with its path and the fix, e.g.
//
//	plans["smart-reply"].stages[3].percent: 120 is above 100
//
// On success it sets p.Location from p.TimeZone.
func (p *Plan) Validate(opts ValidateOptions) error {
	v := &planValidator{p: p, opts: opts}
	name := p.Name
	if name == "" {
		name = p.Flag
	}
	v.root = fmt.Sprintf("plans[%q]", name)
	v.plan()
	if len(v.errs) > 0 {
		return v.errs
	}
	p.Location = v.loc
	return nil
}

type planValidator struct {
	p    *Plan
	opts ValidateOptions
	root string
	errs flags.ValidationErrors
	loc  *time.Location
}

func (v *planValidator) add(path, format string, args ...any) {
	v.errs = append(v.errs, flags.FieldError{Path: v.root + path, Message: fmt.Sprintf(format, args...)})
}

func (v *planValidator) key(path, what, key string) {
	if key == "" {
		v.add(path, "missing; name the %s", what)
		return
	}
	if msg := flags.CheckKey(key); msg != "" {
		v.add(path, "%s key %s", what, msg)
	}
}

func (v *planValidator) segmentRef(path, key string) {
	if key == "" {
		v.add(path, "missing; name a segment")
		return
	}
	if v.opts.SegmentExists != nil && !v.opts.SegmentExists(key) {
		v.add(path, "unknown segment %q; define it in environment %q or name another", key, v.p.Environment)
	}
}

func (v *planValidator) stageRef(path, name string) int {
	i := v.p.StageIndex(name)
	if i < 0 {
		names := make([]string, len(v.p.Stages))
		for j, s := range v.p.Stages {
			names[j] = strconv.Quote(s.Name)
		}
		v.add(path, "unknown stage %q; the plan's stages are %s", name, strings.Join(names, ", "))
	}
	return i
}

func (v *planValidator) plan() {
	p := v.p
	if p.Name != "" {
		if msg := flags.CheckKey(p.Name); msg != "" {
			v.add(".name", "plan name %s", msg)
		}
	}
	v.key(".flag", "flag", p.Flag)
	if p.Environment == "" {
		v.add(".environment", "missing; name the environment, e.g. \"production\"")
	}
	v.key(".treatment", "treatment variant", p.Treatment)
	v.key(".control", "control variant", p.Control)
	if p.Treatment != "" && p.Treatment == p.Control {
		v.add(".control", "%q is also the treatment; control must be another variant", p.Control)
	}
	if f := v.opts.Flag; f != nil {
		if f.Key != "" && p.Flag != "" && f.Key != p.Flag {
			v.add(".flag", "%q differs from the flag %q it is checked against", p.Flag, f.Key)
		}
		for _, ref := range []struct{ path, name string }{{".treatment", p.Treatment}, {".control", p.Control}} {
			if _, ok := f.Variants[ref.name]; ref.name != "" && !ok {
				v.add(ref.path, "unknown variant %q; the flag's variants are %s", ref.name, quotedKeys(f.Variants))
			}
		}
	}
	switch {
	case math.IsNaN(p.HoldoutPercent) || p.HoldoutPercent < 0:
		v.add(".holdout_percent", "%v is negative; use 0 for no holdout", p.HoldoutPercent)
	case p.HoldoutPercent > 50:
		v.add(".holdout_percent", "%v is above 50; a holdout is the small slice kept from the treatment (e.g. 5)", p.HoldoutPercent)
	}
	switch p.AdvanceOn {
	case "", OnEvidence, OnTime:
	default:
		v.add(".advance_on", "unknown basis %q; use \"evidence\" or \"time\"", p.AdvanceOn)
	}
	if p.Alpha != 0 && !(p.Alpha > 0 && p.Alpha < 0.5) {
		v.add(".alpha", "%v is outside (0, 0.5); the default is 0.01", p.Alpha)
	}
	if p.Power != 0 && !(p.Power >= 0.5 && p.Power < 1) {
		v.add(".power", "%v is outside [0.5, 1); the default is 0.8", p.Power)
	}
	for _, d := range []struct {
		path string
		d    Duration
	}{{".tick", p.Tick}, {".stale_after", p.StaleAfter}, {".pause_without_data_after", p.PauseWithoutDataAfter}} {
		if d.d < 0 {
			v.add(d.path, "%s is negative; leave it out for the default", d.d)
		}
	}
	v.stages()
	v.guardrails()
	v.gates()
	v.exclusions()
	v.calendar()
}

func (v *planValidator) stages() {
	p := v.p
	if len(p.Stages) == 0 {
		v.add(".stages", "a plan needs at least one stage; the last one serves 100 %%")
		return
	}
	names := map[string]int{}
	prevPercent, prevSegPercent := 0.0, 0.0
	prevPercentAt, prevSegAt := -1, -1
	var prevRegions *Regions
	prevRegionsAt := -1
	segSeen := map[string]int{}
	for i, s := range p.Stages {
		path := fmt.Sprintf(".stages[%d]", i)
		v.key(path+".name", "stage", s.Name)
		if j, dup := names[s.Name]; dup && s.Name != "" {
			v.add(path+".name", "%q is also the name of stages[%d]; stage names must be unique", s.Name, j)
		}
		names[s.Name] = i
		if len(s.Segments) == 0 && s.Percent == 0 {
			v.add(path, "the stage has no audience; set segments, percent or both")
		}
		for k, seg := range s.Segments {
			v.segmentRef(fmt.Sprintf("%s.segments[%d]", path, k), seg)
			if j, dup := segSeen[seg]; dup && seg != "" {
				v.add(fmt.Sprintf("%s.segments[%d]", path, k), "%q is already in the audience since stages[%d]; segments stay in the audience, list each once", seg, j)
			}
			segSeen[seg] = i
		}
		if len(s.Segments) == 0 && s.SegmentPercent != 0 {
			v.add(path+".segment_percent", "the stage has no segments; remove segment_percent or add segments")
		}
		if s.SegmentPercent != 0 {
			switch {
			case math.IsNaN(s.SegmentPercent) || s.SegmentPercent < 0:
				v.add(path+".segment_percent", "%v is not in (0, 100]; leave it out for %v", s.SegmentPercent, DefaultSegmentPercent)
			case s.SegmentPercent > 100:
				v.add(path+".segment_percent", "%v is above 100", s.SegmentPercent)
			}
		}
		if len(s.Segments) > 0 {
			sp := s.SegmentPercent
			if sp == 0 {
				sp = DefaultSegmentPercent
			}
			if sp < prevSegPercent {
				v.add(path+".segment_percent", "%v is below %v in stages[%d]; segment splits must not decrease, or units that had the treatment would lose it", sp, prevSegPercent, prevSegAt)
			}
			if sp <= 100 {
				prevSegPercent, prevSegAt = max(sp, prevSegPercent), i
			}
		}
		switch {
		case math.IsNaN(s.Percent) || s.Percent < 0:
			v.add(path+".percent", "%v is negative; rings are in (0, 100]", s.Percent)
		case s.Percent > 100:
			v.add(path+".percent", "%v is above 100", s.Percent)
		case s.Percent > 0 && p.threshold(s.Percent) == 0:
			v.add(path+".percent", "%v is less than one bucket (0.001 %% of the eligible units); use at least %v", s.Percent, 100/float64(p.eligibleBuckets()))
		case s.Percent < prevPercent:
			v.add(path+".percent", "%v is below %v in stages[%d]; rings must not decrease, or units that had the treatment would lose it", s.Percent, prevPercent, prevPercentAt)
		}
		if s.Percent > prevPercent && s.Percent <= 100 {
			prevPercent, prevPercentAt = s.Percent, i
		}
		if s.Regions != nil {
			v.regions(path+".regions", s.Regions, s.Percent)
		}
		if s.Percent > 0 {
			// Regions only grow: every stage with a ring keeps the previous ring stage's
			// regions; a ring without regions is everywhere, after which none may return.
			if prevRegionsAt >= 0 {
				switch {
				case prevRegions == nil && s.Regions != nil:
					v.add(path+".regions", "stages[%d] already served every region; regions must only grow (geographic order), so remove them here", prevRegionsAt)
				case prevRegions != nil && s.Regions != nil:
					if s.Regions.Attribute != prevRegions.Attribute {
						v.add(path+".regions.attribute", "%q differs from %q in stages[%d]; keep one geographic attribute for the whole plan", s.Regions.Attribute, prevRegions.Attribute, prevRegionsAt)
					}
					for _, val := range prevRegions.Values {
						if !slices.Contains(s.Regions.Values, val) {
							v.add(path+".regions.values", "%q from stages[%d] is missing; regions must only grow (geographic order), add it back", val, prevRegionsAt)
						}
					}
				}
			}
			prevRegions, prevRegionsAt = s.Regions, i
		}
		if s.MinDuration < 0 {
			v.add(path+".min_duration", "%s is negative", s.MinDuration)
		}
		if s.MaxDuration < 0 {
			v.add(path+".max_duration", "%s is negative", s.MaxDuration)
		}
		if s.MaxDuration > 0 && s.MaxDuration < s.MinDuration {
			v.add(path+".max_duration", "%s is shorter than min_duration %s; raise it or leave it out", s.MaxDuration, s.MinDuration)
		}
		if s.MinUnitsPerArm < 0 {
			v.add(path+".min_units_per_arm", "%d is negative", s.MinUnitsPerArm)
		}
	}
	last := p.Stages[len(p.Stages)-1]
	path := fmt.Sprintf(".stages[%d]", len(p.Stages)-1)
	if last.Percent != 100 {
		v.add(path+".percent", "the last stage serves %v %%; it must serve 100 %% (completion serves the treatment to everyone outside the holdout), so add a final stage with percent 100", last.Percent)
	} else if last.Regions != nil {
		v.add(path+".regions", "the last stage must serve every region (completion does); remove regions or add a final stage without them")
	}
}

func (v *planValidator) regions(path string, r *Regions, percent float64) {
	if percent == 0 {
		v.add(path, "regions limit the ring; set percent or remove regions")
	}
	switch r.Attribute {
	case "country", "region":
	case "":
		v.add(path+".attribute", "missing; use \"country\" or \"region\"")
	default:
		v.add(path+".attribute", "unknown attribute %q; use \"country\" or \"region\"", r.Attribute)
	}
	if len(r.Values) == 0 {
		v.add(path+".values", "no values; list them, e.g. [\"NZ\", \"AU\"]")
	}
	for i, val := range r.Values {
		if strings.TrimSpace(val) == "" {
			v.add(fmt.Sprintf("%s.values[%d]", path, i), "must not be empty")
		}
	}
}

func (v *planValidator) amount(path string, a Amount) {
	if a.Relative != 0 && a.Absolute != 0 {
		v.add(path, "has both relative and absolute; set one")
	}
	if a.Relative < 0 || a.Absolute < 0 || math.IsNaN(a.Relative) || math.IsNaN(a.Absolute) {
		v.add(path, "is negative; amounts are sizes of harm, written as positive numbers")
	}
}

func (v *planValidator) direction(path string, d Direction, meaning string) {
	switch d {
	case Increase, Decrease:
	case "":
		v.add(path, "missing; say in which direction the metric gets %s: \"increase\" or \"decrease\"", meaning)
	default:
		v.add(path, "unknown direction %q; use \"increase\" or \"decrease\"", d)
	}
}

func (v *planValidator) guardrails() {
	seen := map[string]int{}
	for i, g := range v.p.Guardrails {
		path := fmt.Sprintf(".guardrails[%d]", i)
		if g.Metric == "" {
			v.add(path+".metric", "missing; name the metric key, e.g. \"error_rate\"")
		} else if j, dup := seen[g.Metric]; dup {
			v.add(path+".metric", "%q is also guardrails[%d]; list each metric once", g.Metric, j)
		}
		seen[g.Metric] = i
		v.direction(path+".direction", g.Direction, "worse")
		v.amount(path+".tolerance", g.Tolerance)
		switch g.Action {
		case "", Rollback, Pause:
		default:
			v.add(path+".action", "unknown action %q; a crossed guardrail can \"rollback\" or \"pause\"", g.Action)
		}
		switch g.Kind {
		case "", Proportion, Mean, Ratio, Quantile:
		default:
			v.add(path+".kind", "unknown kind %q; use proportion, mean, ratio or quantile", g.Kind)
		}
		if !g.Harm.IsZero() {
			v.amount(path+".harm", g.Harm)
			switch {
			case g.Harm.Relative != 0 && g.Tolerance.Absolute != 0, g.Harm.Absolute != 0 && g.Tolerance.Relative != 0:
				v.add(path+".harm", "is %s but the tolerance is %s; write both relative or both absolute", g.Harm, g.Tolerance)
			case g.Harm.Relative+g.Harm.Absolute <= g.Tolerance.Relative+g.Tolerance.Absolute:
				v.add(path+".harm", "%s is not above the tolerance %s; the smallest harm worth catching must exceed what is tolerated", g.Harm, g.Tolerance)
			}
		}
		if g.Baseline < 0 || math.IsNaN(g.Baseline) {
			v.add(path+".baseline", "%v is negative", g.Baseline)
		}
		if g.Kind == Proportion && g.Baseline >= 1 {
			v.add(path+".baseline", "%v is not a rate; a proportion's baseline is in (0, 1), e.g. 0.01 for 1 %%", g.Baseline)
		}
		if g.SD < 0 || math.IsNaN(g.SD) {
			v.add(path+".sd", "%v is negative", g.SD)
		}
	}
}

func (v *planValidator) gates() {
	seen := map[string]int{}
	for i, g := range v.p.Gates {
		path := fmt.Sprintf(".gates[%d]", i)
		if g.Metric == "" {
			v.add(path+".metric", "missing; name the success metric, e.g. \"conversion_rate\"")
		} else if j, dup := seen[g.Metric]; dup {
			v.add(path+".metric", "%q is also gates[%d]; list each metric once", g.Metric, j)
		}
		seen[g.Metric] = i
		v.direction(path+".direction", g.Direction, "better")
		v.amount(path+".margin", g.Margin)
		if g.FromStage != "" {
			v.stageRef(path+".from_stage", g.FromStage)
		}
	}
}

func (v *planValidator) exclusions() {
	for i, e := range v.p.Exclusions {
		path := fmt.Sprintf(".exclusions[%d]", i)
		v.segmentRef(path+".segment", e.Segment)
		if e.UntilStage != "" {
			if v.stageRef(path+".until_stage", e.UntilStage) == 0 {
				v.add(path+".until_stage", "%q is the first stage, so the exclusion would never apply; name a later stage or remove it", e.UntilStage)
			}
		}
	}
}

func (v *planValidator) calendar() {
	p := v.p
	load := v.opts.LoadLocation
	if load == nil {
		load = time.LoadLocation
	}
	switch {
	case p.TimeZone == "" || p.TimeZone == "UTC":
		v.loc = time.UTC
	default:
		loc, err := load(p.TimeZone)
		if err != nil {
			v.add(".time_zone", "unknown time zone %q; use an IANA name such as \"Europe/Berlin\" (%v)", p.TimeZone, err)
		} else {
			v.loc = loc
		}
	}
	for i, w := range p.Windows {
		if _, err := w.parse(); err != nil {
			v.add(fmt.Sprintf(".windows[%d]", i), "%v", err)
		}
	}
	names := map[string]int{}
	for i, b := range p.Blackouts {
		path := fmt.Sprintf(".blackouts[%d]", i)
		if b.Name == "" {
			v.add(path+".name", "missing; name the period, e.g. \"peak-season\"")
		} else if j, dup := names[b.Name]; dup {
			v.add(path+".name", "%q is also blackouts[%d]; names must be unique", b.Name, j)
		}
		names[b.Name] = i
		if v.loc == nil {
			continue
		}
		if _, _, err := b.span(v.loc); err != nil {
			v.add(path, "%v", err)
		}
	}
}

// CheckEdit reports whether plan next may replace plan prev while rollout s runs
// it, without taking the treatment from anyone or mixing two assignments: the flag,
// environment, variants, salt and holdout stay fixed, and the stages already
// entered keep their audience (name, segments, shares, regions). Later stages,
// guardrails, gates, the calendar and the minimums may change freely. Validate
// next as well.
func CheckEdit(prev, next *Plan, s State) error {
	v := &planValidator{p: next, root: fmt.Sprintf("plans[%q]", next.Name)}
	if s.Status == Draft || s.Status == Scheduled || s.Status.Terminal() {
		return nil
	}
	fixed := []struct{ path, was, is string }{
		{".flag", prev.Flag, next.Flag}, {".environment", prev.Environment, next.Environment},
		{".treatment", prev.Treatment, next.Treatment}, {".control", prev.Control, next.Control},
		{".salt", prev.Salt, next.Salt},
	}
	for _, f := range fixed {
		if f.was != f.is {
			v.add(f.path, "cannot change from %q to %q while the rollout runs; roll back and start a new rollout", f.was, f.is)
		}
	}
	if prev.HoldoutPercent != next.HoldoutPercent {
		v.add(".holdout_percent", "cannot change from %v to %v while the rollout runs: units would move in or out of the holdout", prev.HoldoutPercent, next.HoldoutPercent)
	}
	for i := 0; i <= s.Stage && i < len(prev.Stages); i++ {
		path := fmt.Sprintf(".stages[%d]", i)
		if i >= len(next.Stages) {
			v.add(".stages", "stage %q was already entered and cannot be removed", prev.Stages[i].Name)
			break
		}
		a, b := prev.Stages[i], next.Stages[i]
		if a.Name != b.Name || !slices.Equal(a.Segments, b.Segments) || a.SegmentPercent != b.SegmentPercent ||
			a.Percent != b.Percent || !sameRegions(a.Regions, b.Regions) {
			v.add(path, "stage %q was already entered; its name and audience cannot change while the rollout runs (edit later stages instead)", a.Name)
		}
	}
	if len(v.errs) > 0 {
		return v.errs
	}
	return nil
}

func sameRegions(a, b *Regions) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Attribute == b.Attribute && slices.Equal(a.Values, b.Values)
}

func quotedKeys[T any](m map[string]T) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, strconv.Quote(k))
	}
	sort.Strings(keys)
	return strings.Join(keys, ", ")
}
