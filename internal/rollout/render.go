package rollout

import (
	"strconv"
	"strings"

	"github.com/ramp-release/ramp/flags"
)

// TotalBuckets is the number of buckets a unit can fall in (flags.TotalBuckets).
const TotalBuckets = flags.TotalBuckets

// Keys of the metadata every rendered rule carries. The SDK's exposure records
// them, so the analysis can attribute each exposure to a rollout, stage and arm.
const (
	MetaRolloutID  = "rollout_id"
	MetaStage      = "stage"       // the stage's name, or "completed"
	MetaStageIndex = "stage_index" // decimal
	MetaArm        = "arm"
	// MetaAudience says which part of the stage's audience a treatment or control
	// rule serves: "segment:<key>" or "ring". Arms are compared within one audience
	// only, never insiders with everyone else (CLARIFICATIONS §23).
	MetaAudience = "audience"
)

// RuleIDPrefix starts the id of every rule of a managed block. It is reserved: rules
// with ids starting with it are replaced whenever a block is installed.
const RuleIDPrefix = "rollout."

// Arm is the part of the population a rendered rule serves.
type Arm string

// The arms.
const (
	// ArmTreatment and ArmControl are the randomised arms of the current stage's
	// audience: the only units a stage's analysis compares.
	ArmTreatment Arm = "treatment"
	ArmControl   Arm = "control"
	// ArmHoldout never gets the treatment, even after completion.
	ArmHoldout Arm = "holdout"
	// ArmExcluded is a segment kept on control until a later stage: control, but
	// not a control to compare with.
	ArmExcluded Arm = "excluded"
	// ArmRetained is the segment audience of earlier stages, still split at the
	// current segment share so nobody loses the treatment, but no longer compared.
	ArmRetained Arm = "retained"
	// ArmOutside is everyone outside the stage's audience (outside its regions, or
	// everyone but the segments in a segment-only stage): control, not compared.
	ArmOutside Arm = "outside"
	// ArmRolledBack is everyone after a rollback: control.
	ArmRolledBack Arm = "rolled_back"
)

// StageCompleted is the MetaStage of rules rendered for a completed rollout.
const StageCompleted = "completed"

// Render returns the managed block for the rollout's current state: the rules
// that replace the flag's default allocation in the plan's environment
// (CLARIFICATIONS §20). The user's own rules stay above the block; see [Install].
//
// For a running or paused rollout at stage i the block is, in order:
//
//  1. holdout: bucket in [100000−H, 100000) → control (arm holdout);
//  2. each exclusion still active → control (arm excluded);
//  3. each segment of stage i: bucket below the segment threshold → treatment,
//     otherwise control (arms treatment/control, audience segment:<key>);
//  4. each segment of earlier stages, split the same way (arm retained);
//  5. the ring: within the stage's regions, bucket in [0, floor(p·(100000−H)/100))
//     → treatment, the rest of the regions → control (audience ring);
//  6. everyone else → control (arm outside), or, without regions, the ring's control.
//
// The segment threshold is the largest segment share so far and never below the
// ring, so a segment member gets at least what everyone else gets. All thresholds
// cut the same bucket axis from 0 upwards and never decrease, so moving to a later
// stage (or completing) only adds treated units.
//
// A completed rollout renders the holdout and then the treatment for everyone; a
// rolled-back one renders control for everyone. Draft and scheduled rollouts own
// no block (nil): the flag serves what it served before.
func Render(p *Plan, s State) []flags.Rule {
	r := renderer{p: p, id: s.RolloutID}
	switch s.Status {
	case Running, Paused:
		if s.Stage < 0 || s.Stage >= len(p.Stages) {
			// A state that names no stage of the plan cannot be rendered safely.
			r.stage, r.index = "unknown", s.Stage
			r.add("rolled_back", nil, p.Control, ArmRolledBack, "")
			return r.rules
		}
		r.running(s.Stage)
	case Completed:
		r.stage, r.index = StageCompleted, len(p.Stages)
		r.holdout()
		r.add("completed", nil, p.Treatment, ArmTreatment, "")
	case RolledBack:
		r.stage, r.index = "rolled_back", s.Stage
		if s.Stage >= 0 && s.Stage < len(p.Stages) {
			r.stage = p.Stages[s.Stage].Name
		}
		r.add("rolled_back", nil, p.Control, ArmRolledBack, "")
	}
	return r.rules
}

type renderer struct {
	p     *Plan
	id    string
	stage string
	index int
	rules []flags.Rule
}

func (r *renderer) add(id string, conds []flags.Condition, variant string, arm Arm, audience string) {
	meta := map[string]string{
		MetaRolloutID:  r.id,
		MetaStage:      r.stage,
		MetaStageIndex: strconv.Itoa(r.index),
		MetaArm:        string(arm),
	}
	if audience != "" {
		meta[MetaAudience] = audience
	}
	r.rules = append(r.rules, flags.Rule{
		ID:         RuleIDPrefix + id,
		Conditions: conds,
		Serve:      flags.Allocation{Variant: variant},
		Metadata:   meta,
	})
}

func (r *renderer) bucket(from, to uint32) flags.Condition {
	return flags.Condition{Op: flags.OpBucket, Bucket: &flags.BucketRange{Salt: r.p.Salt, From: from, To: to}}
}

func (r *renderer) holdout() {
	if h := r.p.HoldoutBuckets(); h > 0 {
		r.add("holdout", []flags.Condition{r.bucket(TotalBuckets-h, TotalBuckets)}, r.p.Control, ArmHoldout, "")
	}
}

// split renders "conds and bucket below thr → treatment, conds → control".
func (r *renderer) split(id string, conds []flags.Condition, thr uint32, treated, control Arm, audience string) {
	e := r.p.eligibleBuckets()
	if thr > 0 {
		c := append(append([]flags.Condition(nil), conds...), r.bucket(0, thr))
		r.add(id+".treatment", c, r.p.Treatment, treated, audience)
	}
	if thr < e || len(conds) == 0 {
		r.add(id+".control", conds, r.p.Control, control, audience)
	}
}

func inSegment(key string) []flags.Condition {
	return []flags.Condition{{Op: flags.OpInSegment, Segment: key}}
}

func (r *renderer) running(i int) {
	p := r.p
	st := p.Stages[i]
	r.stage, r.index = st.Name, i
	r.holdout()

	excluded := map[string]bool{}
	for _, x := range p.Exclusions {
		if excluded[x.Segment] || !exclusionActive(p, x, i) {
			continue
		}
		excluded[x.Segment] = true
		r.add("excluded."+x.Segment, inSegment(x.Segment), p.Control, ArmExcluded, "")
	}

	segThr := p.threshold(p.segmentPercent(i))
	current := map[string]bool{}
	for _, seg := range st.Segments {
		if current[seg] {
			continue
		}
		current[seg] = true
		r.split("segment."+seg, inSegment(seg), segThr, ArmTreatment, ArmControl, "segment:"+seg)
	}
	for j := range i {
		for _, seg := range p.Stages[j].Segments {
			if current[seg] {
				continue
			}
			current[seg] = true
			r.split("retained."+seg, inSegment(seg), segThr, ArmRetained, ArmRetained, "segment:"+seg)
		}
	}

	ringThr := p.threshold(st.Percent)
	switch {
	case ringThr == 0:
		r.add("outside", nil, p.Control, ArmOutside, "")
	case st.Regions != nil:
		vals := make([]any, len(st.Regions.Values))
		for k, v := range st.Regions.Values {
			vals[k] = v
		}
		region := []flags.Condition{{Attribute: st.Regions.Attribute, Op: flags.OpIn, Values: vals}}
		r.split("ring", region, ringThr, ArmTreatment, ArmControl, "ring")
		r.add("outside", nil, p.Control, ArmOutside, "")
	default:
		r.split("ring", nil, ringThr, ArmTreatment, ArmControl, "ring")
	}
}

// exclusionActive reports whether exclusion x still keeps its segment on control at
// stage i. An exclusion naming an unknown stage stays active (fail safe).
func exclusionActive(p *Plan, x Exclusion, i int) bool {
	if x.UntilStage == "" {
		return true
	}
	until := p.StageIndex(x.UntilStage)
	return until < 0 || i < until
}

// IsManaged reports whether a rule belongs to a rollout's managed block.
func IsManaged(rule flags.Rule) bool { return strings.HasPrefix(rule.ID, RuleIDPrefix) }

// Install returns a copy of f whose rules are f's own rules (any previous managed
// block removed) followed by block. The user's rules stay above the block, so a
// force-on rule for QA keeps working; the block ends with a rule that matches every
// context, so it takes the place of the default allocation, which is kept for the
// day the block is removed. Installing a nil block removes the managed block.
func Install(f *flags.Flag, block []flags.Rule) *flags.Flag {
	out := *f
	out.Rules = make([]flags.Rule, 0, len(f.Rules)+len(block))
	for _, rule := range f.Rules {
		if !IsManaged(rule) {
			out.Rules = append(out.Rules, rule)
		}
	}
	out.Rules = append(out.Rules, block...)
	return &out
}

// RenderFlag is Install(f, Render(p, s)): the complete flag for the rollout's state.
func RenderFlag(p *Plan, s State, f *flags.Flag) *flags.Flag {
	return Install(f, Render(p, s))
}
