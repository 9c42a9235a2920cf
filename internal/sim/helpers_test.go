package sim

import (
	"math/rand/v2"
	"strings"
)

func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 1)) }

// containsBlock reports whether doc shows block verbatim (as a fenced code block's body).
func containsBlock(doc, block string) bool { return strings.Contains(doc, block) }
