package flags

import (
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

// bucketOf returns the bucket of prefix + value, where prefix is salt + "/". It hashes
// the two strings as one without concatenating them, so no memory is allocated.
func bucketOf(prefix, value string) uint32 {
	return uint32((uint64(murmur32Concat(prefix, value)) * TotalBuckets) >> 32)
}

// murmur32Concat is MurmurHash3 x86-32 (seed 0) of a + b.
func murmur32Concat(a, b string) uint32 {
	n := len(a) + len(b)
	var h uint32
	i := 0
	for ; i+4 <= len(a); i += 4 {
		h = murmurBlock(h, uint32(a[i])|uint32(a[i+1])<<8|uint32(a[i+2])<<16|uint32(a[i+3])<<24)
	}
	// Up to three bytes of a are left; complete their block with the start of b.
	var k uint32
	var shift uint
	for ; i < len(a); i++ {
		k |= uint32(a[i]) << shift
		shift += 8
	}
	j := 0
	if shift > 0 {
		for ; shift < 32 && j < len(b); j++ {
			k |= uint32(b[j]) << shift
			shift += 8
		}
		if shift == 32 {
			h = murmurBlock(h, k)
			k, shift = 0, 0
		}
	}
	for ; j+4 <= len(b); j += 4 {
		h = murmurBlock(h, uint32(b[j])|uint32(b[j+1])<<8|uint32(b[j+2])<<16|uint32(b[j+3])<<24)
	}
	for ; j < len(b); j++ {
		k |= uint32(b[j]) << shift
		shift += 8
	}
	if shift > 0 {
		k *= 0xcc9e2d51
		k = bits.RotateLeft32(k, 15)
		k *= 0x1b873593
		h ^= k
	}
	h ^= uint32(n)
	h ^= h >> 16
	h *= 0x85ebca6b
	h ^= h >> 13
	h *= 0xc2b2ae35
	h ^= h >> 16
	return h
}

func murmurBlock(h, k uint32) uint32 {
	k *= 0xcc9e2d51
	k = bits.RotateLeft32(k, 15)
	k *= 0x1b873593
	h ^= k
	h = bits.RotateLeft32(h, 13)
	return h*5 + 0xe6546b64
}

// bucketValue returns the string hashed for a bucket_by attribute value: strings as
// they are, numbers in their shortest decimal form (formatting a number allocates,
// which only bucket_by attributes holding numbers pay), bools as "true"/"false".
func bucketValue(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, x != ""
	case bool:
		if x {
			return "true", true
		}
		return "false", true
	}
	if f, ok := toFloat(v); ok {
		return strconv.FormatFloat(f, 'g', -1, 64), true
	}
	return "", false
}
