package report

import (
	"math"
	"time"
)

// Adoption is the adoption aggregate of one rollout for one usage metric: per arm,
// how many units were exposed and how many used the feature, at all and again on
// day 1 and day 7 after their first exposure. It holds counts only; see
// [AdoptionCounts] for what the event aggregator must keep to fill it.
type Adoption struct {
	// Metric is the usage metric (its key; the aggregator follows its event).
	Metric string `json:"metric"`
	// AsOf is the time of the newest event counted.
	AsOf      time.Time      `json:"as_of"`
	Treatment AdoptionCounts `json:"treatment"`
	Control   AdoptionCounts `json:"control"`
}

// AdoptionCounts are one arm's adoption counts. A unit belongs to the arm of its
// first exposure in the rollout (any stage) and is counted once.
//
// The aggregate that fills them keeps, per rollout and unit, 16 bytes: the arm
// (1 byte), the time of the first exposure (8 bytes, Unix seconds of the event
// time) and a bit set of usage days (bit 0: a usage event at or after the first
// exposure; bit 1: one in [first + 24 h, first + 48 h); bit 2: one in
// [first + 7 d, first + 8 d)). An exposure of a unit not yet known adds it
// (Exposed += 1); a usage event of a known unit sets its bits, and every bit that
// turns from 0 to 1 adds one to Used, Day1 or Day7. Day1Eligible and Day7Eligible
// count the units whose window has fully passed at AsOf (first + 48 h ≤ AsOf,
// first + 8 d ≤ AsOf); they come from a per-arm count of first exposures per hour,
// summed over the hours that end by AsOf − 48 h (− 8 d), so eligibility never needs
// a scan of the units. The state lives with the aggregator's checkpoint and is kept
// for eight days after the rollout ends, so that day-7 use can be seen.
type AdoptionCounts struct {
	Exposed      int64 `json:"exposed"`
	Used         int64 `json:"used"`
	Day1Eligible int64 `json:"day1_eligible"`
	Day1         int64 `json:"day1"`
	Day7Eligible int64 `json:"day7_eligible"`
	Day7         int64 `json:"day7"`
}

// AdoptionSection is the report's adoption section.
type AdoptionSection struct {
	// Available is false when the aggregator keeps no adoption aggregate; Note says why.
	Available bool      `json:"available"`
	Note      string    `json:"note,omitempty"`
	Metric    string    `json:"metric,omitempty"`
	AsOf      time.Time `json:"as_of,omitzero"`
	// Rows are used, day 1 and day 7.
	Rows []AdoptionRow `json:"rows,omitempty"`
	// AgainstControl is false when control never produced the usage event (the
	// feature does not exist there), so there is nothing to compare.
	AgainstControl bool `json:"against_control"`
}

// AdoptionRow is one adoption figure in both arms.
type AdoptionRow struct {
	// What is "used", "day1" or "day7".
	What      string `json:"what"`
	Treatment Share  `json:"treatment"`
	Control   Share  `json:"control"`
	// Diff is treatment − control with Newcombe's 95 % interval (hybrid Wilson
	// score), when the comparison applies.
	Diff *Share `json:"diff,omitempty"`
}

// Share is a proportion k/n with its 95 % interval.
type Share struct {
	K     int64    `json:"k,omitempty"`
	N     int64    `json:"n,omitempty"`
	Value *float64 `json:"value"`
	Lower *float64 `json:"lower"`
	Upper *float64 `json:"upper"`
}

// z95 is the standard normal quantile of 0.975.
const z95 = 1.959963984540054

func adoptionSection(in Input) *AdoptionSection {
	a := in.Adoption
	if a == nil {
		return &AdoptionSection{Note: "The event aggregator keeps no adoption aggregate (first exposure and usage days per unit) for this rollout, so adoption cannot be reported."}
	}
	s := &AdoptionSection{Available: true, Metric: a.Metric, AsOf: a.AsOf.UTC()}
	s.AgainstControl = a.Control.Exposed > 0 && a.Control.Used > 0
	row := func(what string, kt, nt, kc, nc int64) AdoptionRow {
		r := AdoptionRow{What: what, Treatment: wilson(kt, nt), Control: wilson(kc, nc)}
		if s.AgainstControl && nt > 0 && nc > 0 {
			d := newcombe(kt, nt, kc, nc)
			r.Diff = &d
		}
		return r
	}
	t, c := a.Treatment, a.Control
	s.Rows = []AdoptionRow{
		row("used", t.Used, t.Exposed, c.Used, c.Exposed),
		row("day1", t.Day1, t.Day1Eligible, c.Day1, c.Day1Eligible),
		row("day7", t.Day7, t.Day7Eligible, c.Day7, c.Day7Eligible),
	}
	if !s.AgainstControl {
		s.Note = "Control never produced the usage event, so adoption is shown for the treatment alone."
	}
	return s
}

// wilson is the Wilson score interval of k successes in n at 95 %.
func wilson(k, n int64) Share {
	s := Share{K: k, N: n}
	if n <= 0 {
		return s
	}
	p, lo, hi := wilsonBounds(k, n)
	s.Value, s.Lower, s.Upper = &p, &lo, &hi
	return s
}

func wilsonBounds(k, n int64) (p, lo, hi float64) {
	nf := float64(n)
	p = float64(k) / nf
	z2 := z95 * z95
	den := 1 + z2/nf
	centre := (p + z2/(2*nf)) / den
	half := z95 * math.Sqrt(p*(1-p)/nf+z2/(4*nf*nf)) / den
	return p, max(centre-half, 0), min(centre+half, 1)
}

// newcombe is the difference p1 − p2 with Newcombe's hybrid score interval (his
// method 10): the Wilson bounds of each proportion combined in quadrature.
func newcombe(k1, n1, k2, n2 int64) Share {
	p1, l1, u1 := wilsonBounds(k1, n1)
	p2, l2, u2 := wilsonBounds(k2, n2)
	d := p1 - p2
	lo := d - math.Sqrt((p1-l1)*(p1-l1)+(u2-p2)*(u2-p2))
	hi := d + math.Sqrt((u1-p1)*(u1-p1)+(p2-l2)*(p2-l2))
	return Share{Value: &d, Lower: &lo, Upper: &hi}
}
