package sdk

import (
	"fmt"
	"testing"
)

// BenchmarkDedupHit10k is the dedup cache alone: 10 000 remembered exposures looked up
// in rotation in the default 100 000-entry table.
func BenchmarkDedupHit10k(b *testing.B) {
	d := newDedup(100_000, 3600e9)
	hs := make([]uint64, 10_000)
	for i := range hs {
		hs[i] = exposureHash(fmt.Sprintf("user-%08x-%04d", uint32(i)*2654435761, i), "rollout-flag", "on", 3)
		d.firstIn(hs[i], 0)
	}
	i := 0
	for b.Loop() {
		if d.firstIn(hs[i], 1e9) {
			b.Fatal("miss")
		}
		if i++; i == len(hs) {
			i = 0
		}
	}
}
