package flags

import (
	"fmt"
	"testing"

	"github.com/twmb/murmur3"
	"pgregory.net/rapid"
)

func TestBucketReproducesFlagdFractionalV2Vectors(t *testing.T) {
	suits := []string{"clubs", "diamonds", "hearts", "spades"}
	tests := []struct {
		seed string
		keys []string
		want []string
	}{
		{"fractional-flag", []string{"jack", "queen", "ten", "nine", "3"}, []string{"hearts", "spades", "clubs", "diamonds", "clubs"}},
		{"shared-seed", []string{"seven", "eight", "nine", "two"}, []string{"hearts", "diamonds", "clubs", "spades"}},
	}
	for _, tt := range tests {
		for i, key := range tt.keys {
			t.Run(fmt.Sprintf("%s/%s", tt.seed, key), func(t *testing.T) {
				// flagd concatenates seed and key with no separator and splits 100
				// buckets 25/25/25/25 in the order the variants are listed.
				b := Bucket(tt.seed+key, 100)
				if got := suits[b/25]; got != tt.want[i] {
					t.Errorf("Bucket(%q, 100) = %d → %s, want %s", tt.seed+key, b, got, tt.want[i])
				}
			})
		}
	}
}

func TestMurmur32ConcatEqualsMurmur3OfTheConcatenation(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		a := rapid.String().Draw(t, "a")
		b := rapid.String().Draw(t, "b")
		if got, want := murmur32Concat(a, b), murmur3.StringSum32(a+b); got != want {
			t.Fatalf("murmur32Concat(%q, %q) = %#x, want %#x", a, b, got, want)
		}
	})
}
