package sim

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/twmb/murmur3"

	"github.com/ramp-release/ramp/flags"
	"github.com/ramp-release/ramp/internal/rollout"
)

// segmentDef is a segment of the simulated traffic: its flag definition and the same
// test on a simulated unit.
type segmentDef struct {
	cond flags.Condition
	has  func(u *Unit, t *Traffic) bool
}

// Segments the simulated traffic defines; a plan may name any of them in its stages
// and exclusions.
var simSegments = map[string]segmentDef{
	"internal":   {flags.Condition{Attribute: "internal", Op: flags.OpEquals, Value: true}, func(u *Unit, _ *Traffic) bool { return u.Internal }},
	"beta":       {flags.Condition{Attribute: "beta", Op: flags.OpEquals, Value: true}, func(u *Unit, _ *Traffic) bool { return u.Beta }},
	"enterprise": {flags.Condition{Attribute: DimPlan, Op: flags.OpEquals, Value: "enterprise"}, planIs("enterprise")},
	"pro":        {flags.Condition{Attribute: DimPlan, Op: flags.OpEquals, Value: "pro"}, planIs("pro")},
	"free":       {flags.Condition{Attribute: DimPlan, Op: flags.OpEquals, Value: "free"}, planIs("free")},
}

func planIs(v string) func(u *Unit, t *Traffic) bool {
	return func(u *Unit, t *Traffic) bool { return t.Plans[u.Dims[1]].Value == v }
}

// SegmentNames lists the segments a simulated plan may use.
func SegmentNames() []string { return []string{"internal", "beta", "enterprise", "pro", "free"} }

// flagSet returns the flag the plan rolls out, with the simulated segments, as the
// server holds it before the rollout: enabled, serving control by default.
func flagSet(p *rollout.Plan) *flags.Set {
	set := &flags.Set{
		Flags: map[string]*flags.Flag{p.Flag: {
			Key:      p.Flag,
			Type:     flags.TypeString,
			Variants: map[string]any{p.Treatment: p.Treatment, p.Control: p.Control},
			Enabled:  true,
			Default:  &flags.Allocation{Variant: p.Control},
			Salt:     p.Salt,
		}},
		Segments: map[string]*flags.Segment{},
	}
	for key, s := range simSegments {
		set.Segments[key] = &flags.Segment{Key: key, Rules: []flags.SegmentRule{{Conditions: []flags.Condition{s.cond}}}}
	}
	return set
}

// Arms a unit can count in for a stage's analysis.
const (
	notCompared uint8 = iota
	armTreatment
	armControl
)

// assigner serves the rollout's flag to simulated units. The rules are always the
// production ones: rollout.Render's managed block installed on the flag and compiled
// by flags.Compile. With real set, every unit is evaluated by Snapshot.Evaluate, as
// the server and the SDKs do. Otherwise the same rendered rules are walked directly —
// bucket ranges, segment membership and region lists, the only conditions Render
// writes — on the unit's bucket, hashed once as flags.Bucket hashes it; this is
// several times faster, and TestFastAssignmentEqualsFlagEvaluation checks that it
// gives every unit the same variant and rule as the real evaluation, for every stage
// of plans with holdouts, exclusions, segments and regions. A rendered condition the
// fast path does not know switches it to the real evaluation.
//
// Each exposure is then classified as the aggregator does: which arm of the stage's
// comparison it counts in, if any.
type assigner struct {
	p    *rollout.Plan
	t    *Traffic
	real bool

	snap   *flags.Snapshot
	rules  []fastRule
	fast   bool
	design design
	ok     bool // the stage compares arms
	ctx    flags.Context
	boxed  [3][]any
	region []string // region of each country index

	// seed holds the bucketing prefix salt + "/" followed by the unit key.
	seed    []byte
	seedLen int
}

// fastRule is a rendered rule, pre-digested for the fast path.
type fastRule struct {
	id      string
	conds   []fastCond
	treated bool
	arm     uint8
}

type fastCond struct {
	bucket   bool
	from, to uint32
	segment  func(u *Unit, t *Traffic) bool
	// countries marks the country indexes an attribute condition holds for.
	countries []bool
}

func newAssigner(p *rollout.Plan, t *Traffic, real bool) *assigner {
	a := &assigner{p: p, t: t, real: real, ctx: flags.Context{Attributes: make(map[string]any, 6)}}
	for d, s := range [][]Share{t.Countries, t.Plans, t.Platforms} {
		for _, v := range s {
			a.boxed[d] = append(a.boxed[d], v.Value)
		}
	}
	for _, c := range t.Countries {
		a.region = append(a.region, c.Region)
	}
	salt := p.Salt
	if salt == "" {
		salt = p.Flag
	}
	a.seed = append([]byte(salt), '/')
	a.seedLen = len(a.seed)
	return a
}

// render compiles the flag for the rollout's state.
func (a *assigner) render(s rollout.State) error {
	set := flagSet(a.p)
	f := rollout.RenderFlag(a.p, s, set.Flags[a.p.Flag])
	set.Flags[a.p.Flag] = f
	snap, err := flags.Compile(set)
	if err != nil {
		return fmt.Errorf("compile the rendered flag for stage %d: %w", s.Stage, err)
	}
	a.snap = snap
	a.design, a.ok = design{}, false
	if s.Status == rollout.Running || s.Status == rollout.Paused {
		a.design, a.ok = stageDesign(a.p, s.Stage)
	}
	a.rules, a.fast = a.digest(f.Rules)
	return nil
}

// digest turns rendered rules into fast rules; ok is false when a condition is one
// the fast path does not know.
func (a *assigner) digest(rules []flags.Rule) ([]fastRule, bool) {
	salt := a.p.Salt
	out := make([]fastRule, 0, len(rules))
	for _, r := range rules {
		if r.Serve.Variant == "" {
			return nil, false
		}
		fr := fastRule{id: r.ID, treated: r.Serve.Variant == a.p.Treatment}
		if a.ok {
			fr.arm = a.design.armOf(r.Metadata[rollout.MetaArm], r.ID)
		}
		for _, c := range r.Conditions {
			switch {
			case c.Op == flags.OpBucket || (c.Op == "" && c.Bucket != nil):
				if c.Bucket.Salt != salt {
					return nil, false
				}
				fr.conds = append(fr.conds, fastCond{bucket: true, from: c.Bucket.From, to: c.Bucket.To})
			case c.Op == flags.OpInSegment:
				s, ok := simSegments[c.Segment]
				if !ok {
					return nil, false
				}
				fr.conds = append(fr.conds, fastCond{segment: s.has})
			case c.Op == flags.OpIn && (c.Attribute == DimCountry || c.Attribute == "region"):
				in := make([]bool, len(a.t.Countries))
				for i, country := range a.t.Countries {
					v := country.Value
					if c.Attribute == "region" {
						v = country.Region
					}
					for _, want := range c.Values {
						if s, ok := want.(string); ok && s == v && v != "" {
							in[i] = true
						}
					}
				}
				fr.conds = append(fr.conds, fastCond{countries: in})
			default:
				return nil, false
			}
		}
		out = append(out, fr)
	}
	return out, true
}

// writeKey writes the unit's key after the bucketing prefix and returns the key.
func (a *assigner) writeKey(u *Unit) []byte {
	a.seed = append(a.seed[:a.seedLen], 'u', '-')
	a.seed = strconv.AppendUint(a.seed, u.ID, 16)
	return a.seed[a.seedLen:]
}

// Key is the unit key a simulated unit is evaluated with: "u-" and its ID in hex.
func (u *Unit) Key() string { return "u-" + strconv.FormatUint(u.ID, 16) }

// assign serves the flag to u; it reports whether u gets the treatment and the arm
// it counts in.
func (a *assigner) assign(u *Unit) (treated bool, arm uint8, err error) {
	if a.real || !a.fast {
		return a.evaluate(u)
	}
	a.writeKey(u)
	// flags.Bucket: MurmurHash3 x86-32 of salt + "/" + key, scaled to 100 000 buckets.
	b := uint32((uint64(murmur3.Sum32(a.seed)) * flags.TotalBuckets) >> 32)
	for i := range a.rules {
		r := &a.rules[i]
		if r.holds(u, a.t, b) {
			return r.treated, r.arm, nil
		}
	}
	// The default allocation (control) serves: Render's blocks always end with a
	// rule that matches everyone, so only a state without a block gets here.
	return false, notCompared, nil
}

func (r *fastRule) holds(u *Unit, t *Traffic, b uint32) bool {
	for _, c := range r.conds {
		switch {
		case c.bucket:
			if b < c.from || b >= c.to {
				return false
			}
		case c.segment != nil:
			if !c.segment(u, t) {
				return false
			}
		default:
			if !c.countries[u.Dims[0]] {
				return false
			}
		}
	}
	return true
}

// evaluate is assign through Snapshot.Evaluate.
func (a *assigner) evaluate(u *Unit) (treated bool, arm uint8, err error) {
	r := a.evaluateFlag(u)
	if r.ErrorCode != flags.ErrNone {
		return false, 0, fmt.Errorf("evaluate %s for %s: %s", a.p.Flag, r.FlagKey, r.ErrorMessage)
	}
	treated = r.Variant == a.p.Treatment
	if a.ok {
		arm = a.design.armOf(r.RuleMetadata[rollout.MetaArm], r.RuleID)
	}
	return treated, arm, nil
}

func (a *assigner) evaluateFlag(u *Unit) flags.Result {
	a.ctx.Key = u.Key()
	at := a.ctx.Attributes
	at[DimCountry] = a.boxed[0][u.Dims[0]]
	at[DimPlan] = a.boxed[1][u.Dims[1]]
	at[DimPlatform] = a.boxed[2][u.Dims[2]]
	at["region"] = a.region[u.Dims[0]]
	at["internal"] = u.Internal
	at["beta"] = u.Beta
	return a.snap.Evaluate(a.p.Flag, a.ctx)
}

// design is how a stage's analysis compares arms: the audience, the planned
// treatment share π and whether the holdout is the control (a 100 % ring).
type design struct {
	audience       string
	share          float64
	holdoutControl bool
}

const (
	audienceRing    = "ring"
	audienceSegment = "segment"
)

// stageDesign is the plan's comparison for stage i (rollout.Plan.Comparison), the
// same the aggregator uses. TestDesignShareIsTheRenderedShare checks that π is the
// share the rendered rules really treat.
func stageDesign(p *rollout.Plan, i int) (design, bool) {
	c, ok := p.Comparison(i)
	return design{audience: c.Audience, share: c.Share, holdoutControl: c.HoldoutControl}, ok
}

// testedStages counts the stages that run tests: the α budget's S.
func testedStages(p *rollout.Plan) int {
	n := 0
	for i := range p.Stages {
		if _, ok := stageDesign(p, i); ok {
			n++
		}
	}
	return max(n, 1)
}

// armOf maps an exposure (its rule's arm and id) to the arm it counts in, as the
// aggregator does: only the stage's audience is compared.
func (d design) armOf(arm, ruleID string) uint8 {
	audience := func() bool {
		if ruleID == "" {
			return true
		}
		switch d.audience {
		case audienceRing:
			return strings.HasPrefix(ruleID, rollout.RuleIDPrefix+"ring.")
		case audienceSegment:
			return strings.HasPrefix(ruleID, rollout.RuleIDPrefix+"segment.")
		}
		return false
	}
	switch rollout.Arm(arm) {
	case rollout.ArmTreatment:
		if audience() {
			return armTreatment
		}
	case rollout.ArmControl:
		if audience() {
			return armControl
		}
	case rollout.ArmHoldout:
		if d.holdoutControl {
			return armControl
		}
	}
	return notCompared
}
