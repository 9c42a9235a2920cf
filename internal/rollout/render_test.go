package rollout

import (
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"pgregory.net/rapid"

	"github.com/ramp-release/ramp/flags"
)

func bucketCond(from, to uint32) flags.Condition {
	return flags.Condition{Op: flags.OpBucket, Bucket: &flags.BucketRange{From: from, To: to}}
}

func meta(stage string, index int, arm Arm, audience string) map[string]string {
	m := map[string]string{MetaRolloutID: "r1", MetaStage: stage, MetaStageIndex: fmt.Sprint(index), MetaArm: string(arm)}
	if audience != "" {
		m[MetaAudience] = audience
	}
	return m
}

func TestRenderProducesTheManagedBlock(t *testing.T) {
	p := testPlan()
	p.HoldoutPercent = 5
	p.Exclusions = []Exclusion{{Segment: "enterprise", UntilStage: "ring-100"}}
	p.Stages[1].Regions = &Regions{Attribute: "country", Values: []string{"NZ", "AU"}}
	mustValidate(t, p)
	holdout := flags.Rule{ID: "rollout.holdout", Conditions: []flags.Condition{bucketCond(95000, 100000)}, Serve: flags.Allocation{Variant: "off"}}
	excluded := flags.Rule{ID: "rollout.excluded.enterprise", Conditions: inSegment("enterprise"), Serve: flags.Allocation{Variant: "off"}}
	region := flags.Condition{Attribute: "country", Op: flags.OpIn, Values: []any{"NZ", "AU"}}
	with := func(r flags.Rule, m map[string]string) flags.Rule { r.Metadata = m; return r }
	tests := []struct {
		name  string
		state State
		want  []flags.Rule
	}{
		{"a draft owns no block", NewState("r1", t0), nil},
		{"the alpha splits the internal segment in half below the holdout and exclusions", running(0, t0), []flags.Rule{
			with(holdout, meta("alpha", 0, ArmHoldout, "")),
			with(excluded, meta("alpha", 0, ArmExcluded, "")),
			{ID: "rollout.segment.internal.treatment", Conditions: append(inSegment("internal"), bucketCond(0, 47500)), Serve: flags.Allocation{Variant: "on"}, Metadata: meta("alpha", 0, ArmTreatment, "segment:internal")},
			{ID: "rollout.segment.internal.control", Conditions: inSegment("internal"), Serve: flags.Allocation{Variant: "off"}, Metadata: meta("alpha", 0, ArmControl, "segment:internal")},
			{ID: "rollout.outside", Serve: flags.Allocation{Variant: "off"}, Metadata: meta("alpha", 0, ArmOutside, "")},
		}},
		{"a regional ring retains the alpha and sends other countries to control", running(1, t0), []flags.Rule{
			with(holdout, meta("ring-10", 1, ArmHoldout, "")),
			with(excluded, meta("ring-10", 1, ArmExcluded, "")),
			{ID: "rollout.retained.internal.treatment", Conditions: append(inSegment("internal"), bucketCond(0, 47500)), Serve: flags.Allocation{Variant: "on"}, Metadata: meta("ring-10", 1, ArmRetained, "segment:internal")},
			{ID: "rollout.retained.internal.control", Conditions: inSegment("internal"), Serve: flags.Allocation{Variant: "off"}, Metadata: meta("ring-10", 1, ArmRetained, "segment:internal")},
			{ID: "rollout.ring.treatment", Conditions: []flags.Condition{region, bucketCond(0, 9500)}, Serve: flags.Allocation{Variant: "on"}, Metadata: meta("ring-10", 1, ArmTreatment, "ring")},
			{ID: "rollout.ring.control", Conditions: []flags.Condition{region}, Serve: flags.Allocation{Variant: "off"}, Metadata: meta("ring-10", 1, ArmControl, "ring")},
			{ID: "rollout.outside", Serve: flags.Allocation{Variant: "off"}, Metadata: meta("ring-10", 1, ArmOutside, "")},
		}},
		{"the last ring ends the exclusion and treats every eligible bucket", running(2, t0), []flags.Rule{
			with(holdout, meta("ring-100", 2, ArmHoldout, "")),
			{ID: "rollout.retained.internal.treatment", Conditions: append(inSegment("internal"), bucketCond(0, 95000)), Serve: flags.Allocation{Variant: "on"}, Metadata: meta("ring-100", 2, ArmRetained, "segment:internal")},
			{ID: "rollout.ring.treatment", Conditions: []flags.Condition{bucketCond(0, 95000)}, Serve: flags.Allocation{Variant: "on"}, Metadata: meta("ring-100", 2, ArmTreatment, "ring")},
			{ID: "rollout.ring.control", Serve: flags.Allocation{Variant: "off"}, Metadata: meta("ring-100", 2, ArmControl, "ring")},
		}},
		{"a completed rollout keeps the holdout and treats everyone else", State{RolloutID: "r1", Status: Completed, Stage: 2}, []flags.Rule{
			with(holdout, meta(StageCompleted, 3, ArmHoldout, "")),
			{ID: "rollout.completed", Serve: flags.Allocation{Variant: "on"}, Metadata: meta(StageCompleted, 3, ArmTreatment, "")},
		}},
		{"a rollback serves control to everyone", State{RolloutID: "r1", Status: RolledBack, Stage: 1}, []flags.Rule{
			{ID: "rollout.rolled_back", Serve: flags.Allocation{Variant: "off"}, Metadata: meta("ring-10", 1, ArmRolledBack, "")},
		}},
		{"a state naming no stage of the plan serves control", State{RolloutID: "r1", Status: Running, Stage: 7}, []flags.Rule{
			{ID: "rollout.rolled_back", Serve: flags.Allocation{Variant: "off"}, Metadata: meta("unknown", 7, ArmRolledBack, "")},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Render(p, tt.state)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Render (-want +got):\n%s", diff)
			}
		})
	}
}

func TestInstallKeepsTheUsersRulesAboveTheBlock(t *testing.T) {
	p := mustValidate(t, testPlan())
	f := testFlag()
	first := RenderFlag(p, running(0, t0), f)
	second := Install(first, Render(p, running(1, t0)))
	if second.Rules[0].ID != "qa" {
		t.Fatalf("user rule moved: %v", second.Rules[0].ID)
	}
	want := Install(f, Render(p, running(1, t0)))
	if diff := cmp.Diff(want, second); diff != "" {
		t.Errorf("installing over an old block differs from installing fresh (-want +got):\n%s", diff)
	}
	if len(f.Rules) != 1 {
		t.Error("Install modified its input")
	}
	if removed := Install(second, nil); len(removed.Rules) != 1 || removed.Rules[0].ID != "qa" {
		t.Errorf("a nil block leaves %v", removed.Rules)
	}
	set := &flags.Set{Flags: map[string]*flags.Flag{"smart-reply": second}, Segments: map[string]*flags.Segment{"internal": {Included: []string{"x"}}}}
	if err := flags.Validate(set); err != nil {
		t.Fatal(err)
	}
	snap, err := flags.Compile(set)
	if err != nil {
		t.Fatal(err)
	}
	if r := snap.Evaluate("smart-reply", flags.Context{Key: "qa-user"}); r.Variant != "on" || r.RuleID != "qa" {
		t.Errorf("QA user got %s by %s", r.Variant, r.RuleID)
	}
}

func TestARingTreatsItsShareOfTheEligibleUnits(t *testing.T) {
	p := testPlan()
	p.HoldoutPercent = 5
	mustValidate(t, p)
	set := &flags.Set{
		Flags:    map[string]*flags.Flag{"smart-reply": RenderFlag(p, running(1, t0), testFlag())},
		Segments: map[string]*flags.Segment{"internal": {Included: []string{"nobody"}}},
	}
	snap, err := flags.Compile(set)
	if err != nil {
		t.Fatal(err)
	}
	const n = 20000
	arms := map[string]int{}
	for i := range n {
		r := snap.Evaluate("smart-reply", flags.Context{Key: fmt.Sprintf("user-%d", i)})
		arms[r.RuleMetadata[MetaArm]]++
		if (r.RuleMetadata[MetaArm] == string(ArmTreatment)) != (r.Variant == "on") {
			t.Fatalf("arm %s served %s", r.RuleMetadata[MetaArm], r.Variant)
		}
	}
	// 10 % of the 95 % eligible, and 5 % holdout, within four standard errors.
	for arm, want := range map[string]float64{"treatment": 0.095, "holdout": 0.05, "control": 0.855} {
		got := float64(arms[arm]) / n
		if se := math.Sqrt(want * (1 - want) / n); math.Abs(got-want) > 4*se {
			t.Errorf("%s share %.4f, want %.4f", arm, got, want)
		}
	}
}

// renderWorld is a random plan and population for the rendering properties.
type renderWorld struct {
	plan    *Plan
	units   []flags.Context
	segment map[string]*flags.Segment
}

var (
	segmentPool = []string{"internal", "beta", "vip", "staff"}
	countryPool = []string{"NZ", "AU", "DE", "FR", "BR"}
)

func drawPlan(t *rapid.T) *Plan {
	p := &Plan{Name: "p", Flag: "smart-reply", Environment: "production", Treatment: "on", Control: "off"}
	p.HoldoutPercent = rapid.SampledFrom([]float64{0, 0, 1, 5, 12.5}).Draw(t, "holdout")
	p.Salt = rapid.SampledFrom([]string{"", "fixed-salt"}).Draw(t, "salt")
	pool := slices.Clone(segmentPool)
	nextSeg := func(t *rapid.T, label string) string {
		i := rapid.IntRange(0, len(pool)-1).Draw(t, label)
		s := pool[i]
		pool = slices.Delete(pool, i, i+1)
		return s
	}
	segPct := 0.0
	for i := range rapid.IntRange(0, 2).Draw(t, "segment stages") {
		st := Stage{Name: fmt.Sprintf("seg-%d", i)}
		for k := range rapid.IntRange(1, 2).Draw(t, "segments") {
			if len(pool) > 0 {
				st.Segments = append(st.Segments, nextSeg(t, fmt.Sprintf("segment %d.%d", i, k)))
			}
		}
		segPct = max(segPct, rapid.SampledFrom([]float64{10, 50, 50, 100}).Draw(t, "segment percent"))
		st.SegmentPercent = segPct
		p.Stages = append(p.Stages, st)
	}
	rings := rapid.SliceOfN(rapid.SampledFrom([]float64{0.5, 1, 5, 10, 25, 33.3, 50, 75, 100}), 0, 5).Draw(t, "rings")
	slices.Sort(rings)
	rings = append(rings, 100)
	regional := rapid.IntRange(0, len(rings)-1).Draw(t, "regional ring stages")
	countries := 1
	for i, pct := range rings {
		st := Stage{Name: fmt.Sprintf("ring-%d", i), Percent: pct}
		if i < regional {
			countries = min(len(countryPool), countries+rapid.IntRange(0, 1).Draw(t, "more countries"))
			st.Regions = &Regions{Attribute: "country", Values: slices.Clone(countryPool[:countries])}
		}
		if len(pool) > 0 && rapid.Bool().Draw(t, "ring adds a segment") {
			st.Segments = []string{nextSeg(t, "ring segment")}
			st.SegmentPercent = segPct
			if segPct == 0 {
				st.SegmentPercent = DefaultSegmentPercent
				segPct = DefaultSegmentPercent
			}
		}
		p.Stages = append(p.Stages, st)
	}
	if rapid.Bool().Draw(t, "exclusion") {
		until := ""
		if len(p.Stages) > 1 && rapid.Bool().Draw(t, "exclusion ends") {
			until = p.Stages[rapid.IntRange(1, len(p.Stages)-1).Draw(t, "until")].Name
		}
		p.Exclusions = []Exclusion{{Segment: "trial", UntilStage: until}}
	}
	return p
}

func drawWorld(t *rapid.T) renderWorld {
	p := drawPlan(t)
	if err := p.Validate(ValidateOptions{}); err != nil {
		t.Fatalf("generated plan does not validate: %v", err)
	}
	w := renderWorld{plan: p, segment: map[string]*flags.Segment{}}
	for _, s := range append(slices.Clone(segmentPool), "trial") {
		w.segment[s] = &flags.Segment{Included: []string{"nobody"}}
	}
	n := rapid.IntRange(50, 200).Draw(t, "units")
	for i := range n {
		ctx := flags.Context{Key: fmt.Sprintf("unit-%d-%d", i, rapid.IntRange(0, 1<<20).Draw(t, "key")), Attributes: map[string]any{}}
		if c := rapid.IntRange(-1, len(countryPool)-1).Draw(t, "country"); c >= 0 {
			ctx.Attributes["country"] = countryPool[c]
		}
		for s, seg := range w.segment {
			if rapid.IntRange(0, 9).Draw(t, "member of "+s) == 0 {
				seg.Included = append(seg.Included, ctx.Key)
			}
		}
		w.units = append(w.units, ctx)
	}
	return w
}

func (w renderWorld) snapshot(t *rapid.T, s State) *flags.Snapshot {
	set := &flags.Set{Flags: map[string]*flags.Flag{"smart-reply": RenderFlag(w.plan, s, testFlag())}, Segments: w.segment}
	if err := flags.Validate(set); err != nil {
		t.Fatalf("rendered flag for %s stage %d does not validate: %v", s.Status, s.Stage, err)
	}
	snap, err := flags.Compile(set)
	if err != nil {
		t.Fatal(err)
	}
	return snap
}

// TestRenderingIsMonotoneAndKeepsTheHoldout checks, with the real evaluator, that
// moving to a later stage (or completing) never takes the treatment from a unit,
// that the holdout never gets it, and that every rendered flag validates.
func TestRenderingIsMonotoneAndKeepsTheHoldout(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		w := drawWorld(t)
		p := w.plan
		h := p.HoldoutBuckets()
		salt := p.Salt
		if salt == "" {
			salt = "smart-reply"
		}
		states := []State{}
		for i := range p.Stages {
			states = append(states, running(i, t0))
		}
		states = append(states, State{RolloutID: "r1", Status: Completed, Stage: len(p.Stages) - 1})
		treated := make([]bool, len(w.units))
		for _, s := range states {
			snap := w.snapshot(t, s)
			for u, ctx := range w.units {
				if ctx.Key == "qa-user" {
					continue
				}
				r := snap.Evaluate("smart-reply", ctx)
				if r.ErrorCode != flags.ErrNone {
					t.Fatalf("%s: %s", ctx.Key, r.ErrorMessage)
				}
				on := r.Variant == "on"
				if treated[u] && !on {
					t.Fatalf("unit %s lost the treatment at %s stage %d (arm %s)", ctx.Key, s.Status, s.Stage, r.RuleMetadata[MetaArm])
				}
				treated[u] = on
				inHoldout := flags.Bucket(salt+"/"+ctx.Key, TotalBuckets) >= TotalBuckets-h
				if inHoldout && (on || r.RuleMetadata[MetaArm] != string(ArmHoldout)) {
					t.Fatalf("holdout unit %s got %s (arm %s) at %s stage %d", ctx.Key, r.Variant, r.RuleMetadata[MetaArm], s.Status, s.Stage)
				}
				if r.RuleMetadata[MetaRolloutID] != "r1" {
					t.Fatalf("rule %s lacks the rollout id", r.RuleID)
				}
				if s.Status == Completed && !inHoldout && !on {
					t.Fatalf("completed rollout leaves %s on control", ctx.Key)
				}
			}
		}
		snap := w.snapshot(t, State{RolloutID: "r1", Status: RolledBack, Stage: rapid.IntRange(0, len(p.Stages)-1).Draw(t, "rolled back at")})
		for _, ctx := range w.units {
			if r := snap.Evaluate("smart-reply", ctx); r.Variant != "off" {
				t.Fatalf("rolled back rollout serves %s to %s", r.Variant, ctx.Key)
			}
		}
	})
}
