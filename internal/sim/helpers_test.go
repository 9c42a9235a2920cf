package sim

import (
	"math/rand/v2"
	"strings"

	"github.com/twmb/murmur3"

	"github.com/ramp-release/ramp/flags"
)

func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 1)) }

// containsBlock reports whether doc shows block verbatim (as a fenced code block's body).
func containsBlock(doc, block string) bool { return strings.Contains(doc, block) }

// fastRuleID is the id of the rule the fast path matches for u ("" for the
// default allocation); tests compare it with the real evaluation's.
func (a *assigner) fastRuleID(u *Unit) string {
	a.writeKey(u)
	b := uint32((uint64(murmur3.Sum32(a.seed)) * flags.TotalBuckets) >> 32)
	for i := range a.rules {
		if a.rules[i].holds(u, a.t, b) {
			return a.rules[i].id
		}
	}
	return ""
}
