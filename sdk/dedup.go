package sdk

import (
	"hash/maphash"
	"math/bits"
	"sync"
	"sync/atomic"
)

// dedup remembers which exposures were reported recently, so that a unit evaluated a
// million times reports its variant once per window.
//
// It is a fixed-size, set-associative hash table: dedupShards shards, each an array of
// sets of dedupWays slots of 8 bytes, so that a set is one 64-byte cache line. A
// 64-bit hash of unit, flag, variant and flag version picks the shard (its top bits)
// and the set (its middle bits); the slot keeps a 36-bit fingerprint (its low bits),
// when the exposure was last reported, and a "used since" bit. A full set evicts like
// CLOCK, the usual approximation of LRU: the oldest slot not used since the last
// sweep, else the oldest after clearing every bit. The table never allocates after
// construction and never grows. Lookups that find a fresh entry (the common case)
// take no lock: slots are read and marked with atomic operations, and only recording
// an exposure takes the shard's mutex. Two exposures with the same shard, set and
// fingerprint (about one chance in 10⁹ per new exposure with full sets) share a slot:
// the second is not reported in that window, which the analysis tolerates.
type dedup struct {
	shards []dedupShard
	window uint64 // in clock units (see clockShift)
}

const (
	dedupShardBits = 6
	dedupShards    = 1 << dedupShardBits
	dedupWays      = 8 // 8 × 8 bytes: one cache line per set

	// A slot is fingerprint<<slotFPShift | used<<slotTimeBits | time. Zero is empty.
	slotTimeBits = 26
	slotTimeMask = 1<<slotTimeBits - 1
	slotUsed     = 1 << slotTimeBits
	slotFPShift  = slotTimeBits + 1
	slotFPMask   = 1<<(64-slotFPShift) - 1

	// clockShift converts clock nanoseconds to slot time units: 2²⁴ ns ≈ 16.8 ms, so
	// 26 bits span 13 days and windows up to half of that compare safely across the
	// wrap.
	clockShift = 24
)

type dedupShard struct {
	mu   sync.Mutex // serialises writers; readers take no lock
	sets uint64     // number of sets
	// slots holds sets*dedupWays entries; set i is slots[i*dedupWays : (i+1)*dedupWays].
	slots []atomic.Uint64
	// hits counts lookups answered "seen" (deduplicated exposures).
	hits atomic.Int64
	_    [64]byte // keep shards on separate cache lines
}

func newDedup(size int, windowNanos int64) *dedup {
	w := uint64(max(windowNanos>>clockShift, 1))
	w = min(w, slotTimeMask/2) // about 6.5 days
	d := &dedup{shards: make([]dedupShard, dedupShards), window: w}
	perShard := (size + dedupShards - 1) / dedupShards
	sets := max((perShard+dedupWays-1)/dedupWays, 1)
	for i := range d.shards {
		d.shards[i].sets = uint64(sets)
		d.shards[i].slots = make([]atomic.Uint64, sets*dedupWays)
	}
	return d
}

// capacity is the number of entries the table holds.
func (d *dedup) capacity() int { return len(d.shards) * len(d.shards[0].slots) }

// firstIn reports whether the exposure with hash h is new in the window ending at now
// (clock nanoseconds), and remembers it as reported at now when it is.
func (d *dedup) firstIn(h uint64, now int64) bool {
	sh := &d.shards[h>>(64-dedupShardBits)]
	// Lemire's multiply-shift maps 32 middle bits onto [0, sets) without a division.
	base := (uint64(uint32(h>>26)) * sh.sets >> 32) * dedupWays
	slots := sh.slots[base : base+dedupWays : base+dedupWays]
	fp := h&slotFPMask | 1 // never 0, so an empty slot never matches
	t := uint64(now>>clockShift) & slotTimeMask
	for i := range slots {
		v := slots[i].Load()
		if v>>slotFPShift != fp {
			continue
		}
		if (t-v)&slotTimeMask >= d.window {
			break // reported too long ago: report again, under the lock
		}
		if v&slotUsed == 0 {
			// Racing with a writer that replaced the slot can only mark the new
			// entry used, which delays its eviction a little.
			slots[i].Or(slotUsed)
		}
		sh.hits.Add(1)
		return false
	}
	return sh.record(slots, fp, t, d.window)
}

// record is the locked path: find the fingerprint again (another writer may have
// recorded it), or take an empty slot, or evict.
func (sh *dedupShard) record(slots []atomic.Uint64, fp, t, window uint64) bool {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	fresh := fp<<slotFPShift | t
	victim, victimAge, victimUsed := -1, uint64(0), true
	for i := range slots {
		v := slots[i].Load()
		switch {
		case v == 0:
			slots[i].Store(fresh)
			return true
		case v>>slotFPShift == fp:
			if (t-v)&slotTimeMask < window {
				sh.hits.Add(1)
				return false
			}
			slots[i].Store(fresh)
			return true
		}
		age, used := (t-v)&slotTimeMask, v&slotUsed != 0
		// Prefer slots not used since the last sweep, then the oldest.
		if victim < 0 || (victimUsed && !used) || (used == victimUsed && age >= victimAge) {
			victim, victimAge, victimUsed = i, age, used
		}
	}
	if victimUsed { // every slot was used: start a new sweep
		for i := range slots {
			slots[i].And(^uint64(slotUsed))
		}
	}
	slots[victim].Store(fresh)
	return true
}

// deduplicated returns the number of lookups answered "seen".
func (d *dedup) deduplicated() int64 {
	var n int64
	for i := range d.shards {
		n += d.shards[i].hits.Load()
	}
	return n
}

// exposureSeed keys the exposure hash; it is per process, which is all the dedup
// cache needs.
var exposureSeed = maphash.MakeSeed()

// exposureHash is the dedup key of unit × flag × variant × flag version.
func exposureHash(unit, flag, variant string, version int64) uint64 {
	// Rotating the variant's hash keeps (flag, variant) and (variant, flag) apart; the
	// two mixes spread every input bit over the result.
	fv := maphash.String(exposureSeed, flag) ^ bits.RotateLeft64(maphash.String(exposureSeed, variant), 29) ^ uint64(version)*0x9e3779b97f4a7c15
	return mix64(maphash.String(exposureSeed, unit) ^ mix64(fv))
}

// mix64 is the splitmix64 finalizer: it spreads every input bit over the output, so
// combining hashes with it does not make similar inputs collide.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// coarseClock is a monotonic clock read with one atomic load: time.Now costs about
// 50 ns here, a third of the evaluation budget. A goroutine advances it every tick.
type coarseClock struct{ nanos atomic.Int64 }

func (c *coarseClock) now() int64 { return c.nanos.Load() }
