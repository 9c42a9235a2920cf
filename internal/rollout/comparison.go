package rollout

import "math"

// Comparison is how a stage's analysis compares arms: which audience is randomised,
// its planned treatment share π, and whether the holdout is the control (a 100 %
// ring with a holdout).
type Comparison struct {
	Audience       string // ComparisonRing or ComparisonSegment
	Share          float64
	HoldoutControl bool
}

// The audiences a stage's comparison randomises.
const (
	ComparisonRing    = "ring"
	ComparisonSegment = "segment"
)

// Comparison mirrors the buckets Render cuts (CLARIFICATIONS §10): a ring stage
// compares its ring's arms, a segment-only stage its segments' split, and a 100 %
// ring with a holdout compares treatment with the holdout. ok is false for a stage
// without a randomised control. The aggregator and the simulator both use it, so the
// share they test against is the share the rendered rules treat.
func (p *Plan) Comparison(i int) (Comparison, bool) {
	if i < 0 || i >= len(p.Stages) {
		return Comparison{}, false
	}
	st := p.Stages[i]
	h := float64(p.HoldoutBuckets())
	e := float64(TotalBuckets) - h
	threshold := func(pct float64) float64 {
		switch {
		case pct <= 0:
			return 0
		case pct >= 100:
			return e
		}
		return math.Min(math.Floor(pct*e/100+1e-9), e)
	}
	if st.Percent > 0 {
		t := threshold(st.Percent)
		switch {
		case t > 0 && t < e:
			return Comparison{Audience: ComparisonRing, Share: t / e}, true
		case t >= e && h > 0 && st.Regions == nil:
			return Comparison{Audience: ComparisonRing, Share: e / TotalBuckets, HoldoutControl: true}, true
		}
		return Comparison{}, false
	}
	if len(st.Segments) == 0 {
		return Comparison{}, false
	}
	pct := 0.0
	for j := 0; j <= i; j++ {
		if s := p.Stages[j]; len(s.Segments) > 0 {
			sp := s.SegmentPercent
			if sp == 0 {
				sp = DefaultSegmentPercent
			}
			pct = math.Max(pct, sp)
		}
	}
	if t := threshold(pct); t > 0 && t < e {
		return Comparison{Audience: ComparisonSegment, Share: t / e}, true
	}
	return Comparison{}, false
}
