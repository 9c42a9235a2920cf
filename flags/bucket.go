package flags

import (
	"encoding/json"
	"math"
	"math/bits"
	"strconv"

	"github.com/twmb/murmur3"
)

// Bucket maps s to one of total buckets: MurmurHash3 x86-32 of s (seed 0), scaled
// with (uint64(h) * total) >> 32 as flagd's fractional-v2 does. The scaling keeps
// every bucket within one hash value of equal size without a modulo bias.
func Bucket(s string, total uint32) uint32 {
	return uint32((uint64(murmur3.StringSum32(s)) * uint64(total)) >> 32)
}

// murmurState is MurmurHash3 x86-32 (seed 0) part-way through its input: the hash of
// the whole 4-byte blocks written so far, the up to three bytes of the next block, and
// the length. A flag's state after salt + "/" is computed once at compile time, so
// evaluation hashes only the unit's value — the same hash as of the concatenation,
// without building it.
type murmurState struct {
	h    uint32
	tail uint32 // bytes of the incomplete block, little-endian
	nt   uint   // how many (0 to 3)
	n    int    // bytes written
}

// seedState is the hash state after salt + "/", the prefix of every bucketing seed.
func seedState(salt string) murmurState {
	return murmurWrite(murmurState{}, salt+"/")
}

// murmurWrite continues m with the bytes of b, a string or a byte slice (so a number
// formatted into a stack buffer is hashed without allocating).
func murmurWrite[B string | []byte](m murmurState, b B) murmurState {
	m.n += len(b)
	i := 0
	if m.nt > 0 {
		for ; m.nt < 4 && i < len(b); i++ {
			m.tail |= uint32(b[i]) << (8 * m.nt)
			m.nt++
		}
		if m.nt < 4 {
			return m
		}
		m.h = murmurBlock(m.h, m.tail)
		m.tail, m.nt = 0, 0
	}
	for ; len(b)-i >= 4; i += 4 {
		k := b[i : i+4]
		m.h = murmurBlock(m.h, uint32(k[0])|uint32(k[1])<<8|uint32(k[2])<<16|uint32(k[3])<<24)
	}
	for ; i < len(b); i++ {
		m.tail |= uint32(b[i]) << (8 * m.nt)
		m.nt++
	}
	return m
}

// murmurSum finishes the hash.
func murmurSum(m murmurState) uint32 {
	h := m.h
	if m.nt > 0 {
		k := m.tail * 0xcc9e2d51
		k = bits.RotateLeft32(k, 15)
		k *= 0x1b873593
		h ^= k
	}
	h ^= uint32(m.n)
	h ^= h >> 16
	h *= 0x85ebca6b
	h ^= h >> 13
	h *= 0xc2b2ae35
	h ^= h >> 16
	return h
}

// bucketOf returns the bucket of the seed's prefix followed by value: Bucket(prefix +
// value, TotalBuckets) without concatenating.
func bucketOf[B string | []byte](seed murmurState, value B) uint32 {
	return uint32((uint64(murmurSum(murmurWrite(seed, value))) * TotalBuckets) >> 32)
}

func murmurBlock(h, k uint32) uint32 {
	k *= 0xcc9e2d51
	k = bits.RotateLeft32(k, 15)
	k *= 0x1b873593
	h ^= k
	h = bits.RotateLeft32(h, 13)
	return h*5 + 0xe6546b64
}

// bucketInput is what a unit is bucketed on: a string, or a number formatted into num.
// Keeping the number in a caller-owned array lets bucketing on a numeric bucket_by
// attribute (an account id) stay free of allocations.
type bucketInput struct {
	str    string
	num    [32]byte
	numLen int // > 0 when the input is the number in num[:numLen]
}

// bucket returns the bucket of the seed's prefix (salt + "/") followed by the input.
func (in *bucketInput) bucket(seed murmurState) uint32 {
	if in.numLen > 0 {
		return bucketOf(seed, in.num[:in.numLen])
	}
	return bucketOf(seed, in.str)
}

// setValue sets the input from a bucket_by attribute value and reports whether the
// value can be bucketed on: a non-empty string; a bool as "true" or "false"; a whole
// number in plain decimal ("1234567", never "1.234567e+06"), whatever its Go type; any
// other finite number in strconv's shortest 'g' form. Lists, objects, null, empty
// strings and non-finite numbers cannot.
func (in *bucketInput) setValue(v any) bool {
	switch x := v.(type) {
	case string:
		in.str = x
		return x != ""
	case bool:
		in.str = "false"
		if x {
			in.str = "true"
		}
		return true
	case int:
		return in.setInt(int64(x))
	case int64:
		return in.setInt(x)
	case int32:
		return in.setInt(int64(x))
	case int16:
		return in.setInt(int64(x))
	case int8:
		return in.setInt(int64(x))
	case uint:
		return in.setUint(uint64(x))
	case uint64:
		return in.setUint(x)
	case uint32:
		return in.setUint(uint64(x))
	case uint16:
		return in.setUint(uint64(x))
	case uint8:
		return in.setUint(uint64(x))
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return in.setInt(i)
		}
	}
	f, ok := toFloat(v)
	if !ok || math.IsNaN(f) || math.IsInf(f, 0) {
		return false
	}
	if f == math.Trunc(f) && f >= -(1<<63) && f < 1<<63 {
		return in.setInt(int64(f))
	}
	in.numLen = len(strconv.AppendFloat(in.num[:0], f, 'g', -1, 64))
	return true
}

func (in *bucketInput) setInt(i int64) bool {
	in.numLen = len(strconv.AppendInt(in.num[:0], i, 10))
	return true
}

func (in *bucketInput) setUint(u uint64) bool {
	in.numLen = len(strconv.AppendUint(in.num[:0], u, 10))
	return true
}
