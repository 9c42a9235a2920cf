package flags

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/twmb/murmur3"
	"gonum.org/v1/gonum/stat/distuv"
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

func TestMurmurWriteInPiecesEqualsMurmur3OfTheConcatenation(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		parts := rapid.SliceOfN(rapid.String(), 0, 4).Draw(t, "parts")
		var m murmurState
		for i, p := range parts {
			if i%2 == 0 {
				m = murmurWrite(m, p)
			} else {
				m = murmurWrite(m, []byte(p))
			}
		}
		whole := strings.Join(parts, "")
		if got, want := murmurSum(m), murmur3.StringSum32(whole); got != want {
			t.Fatalf("murmurSum of %q written in pieces = %#x, want %#x", parts, got, want)
		}
	})
}

// splitFlag is a bool flag whose default splits treatment ("on") p buckets and
// control the rest, salted with salt.
func splitFlag(salt string, p uint32) *Flag {
	return &Flag{
		Type: TypeBool, Enabled: true, Salt: salt,
		Variants: map[string]any{"on": true, "off": false},
		Default:  &Allocation{Split: []WeightedVariant{{Variant: "on", Weight: p}, {Variant: "off", Weight: TotalBuckets - p}}},
	}
}

func mustCompile(t interface {
	Helper()
	Fatalf(string, ...any)
}, set *Set) *Snapshot {
	t.Helper()
	snap, err := Compile(set)
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	return snap
}

// chiSquareP returns the p-value of a chi-square statistic with df degrees of freedom.
func chiSquareP(stat float64, df int) float64 {
	return 1 - distuv.ChiSquared{K: float64(df)}.CDF(stat)
}

// TestBucketsAreUniform spreads 1 000 000 unit keys over 100 variants of 1 % each
// through a compiled split, i.e. the real seed salt + "/" + key, and tests the counts
// with a chi-square goodness-of-fit test.
func TestBucketsAreUniform(t *testing.T) {
	if testing.Short() {
		t.Skip("1 000 000 evaluations")
	}
	const units, cells = 1_000_000, 100
	variants := map[string]any{}
	var split []WeightedVariant
	for i := range cells {
		name := fmt.Sprintf("v%02d", i)
		variants[name] = name
		split = append(split, WeightedVariant{Variant: name, Weight: TotalBuckets / cells})
	}
	snap := mustCompile(t, &Set{Flags: map[string]*Flag{"uniform": {
		Type: TypeString, Enabled: true, Variants: variants, Default: &Allocation{Split: split},
	}}})
	counts := map[string]int{}
	key := make([]byte, 0, 32)
	for i := range units {
		key = strconv.AppendInt(append(key[:0], "user-"...), int64(i), 10)
		r := snap.Evaluate("uniform", Context{Key: string(key)})
		counts[r.Variant]++
	}
	if len(counts) != cells {
		t.Fatalf("%d variants served, want %d", len(counts), cells)
	}
	expected := float64(units) / cells
	var stat float64
	for _, n := range counts {
		stat += (float64(n) - expected) * (float64(n) - expected) / expected
	}
	p := chiSquareP(stat, cells-1)
	t.Logf("chi-square %.1f with %d degrees of freedom, p = %.3f", stat, cells-1, p)
	if p <= 0.001 {
		t.Errorf("buckets are not uniform: chi-square %.1f, p = %.5f", stat, p)
	}
}

// TestSplitsWithDifferentSaltsAreIndependent checks that two flags with different
// salts assign treatment independently: a chi-square test of independence on the 2×2
// table of (treated by A, treated by B).
func TestSplitsWithDifferentSaltsAreIndependent(t *testing.T) {
	const units = 200_000
	snap := mustCompile(t, &Set{Flags: map[string]*Flag{
		"a": splitFlag("", 50_000),             // salted with its key "a"
		"b": splitFlag("summarize-v2", 20_000), // an explicit salt
	}})
	var table [2][2]float64
	for i := range units {
		ctx := Context{Key: "unit-" + strconv.Itoa(i)}
		a, b := snap.Evaluate("a", ctx).Value.(bool), snap.Evaluate("b", ctx).Value.(bool)
		table[boolIndex(a)][boolIndex(b)]++
	}
	var stat float64
	for i := range 2 {
		for j := range 2 {
			row, col := table[i][0]+table[i][1], table[0][j]+table[1][j]
			expected := row * col / units
			stat += (table[i][j] - expected) * (table[i][j] - expected) / expected
		}
	}
	p := chiSquareP(stat, 1)
	t.Logf("2×2 table %v: chi-square %.2f, p = %.3f", table, stat, p)
	if p <= 0.001 {
		t.Errorf("assignments of differently salted flags are correlated: chi-square %.2f, p = %.5f", stat, p)
	}
	if share := (table[1][0] + table[1][1]) / units; share < 0.49 || share > 0.51 {
		t.Errorf("flag a treats %.3f of units, want 0.50", share)
	}
	if share := (table[0][1] + table[1][1]) / units; share < 0.19 || share > 0.21 {
		t.Errorf("flag b treats %.3f of units, want 0.20", share)
	}
}

func boolIndex(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestRaisingASplitNeverMovesAUnitOutOfTreatment: when the first split entry's weight
// grows from p to q, every unit treated at p is still treated at q.
func TestRaisingASplitNeverMovesAUnitOutOfTreatment(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		salt := rapid.StringMatching(`[a-z0-9-]{0,12}`).Draw(t, "salt")
		p := rapid.Uint32Range(0, TotalBuckets).Draw(t, "p")
		q := rapid.Uint32Range(p, TotalBuckets).Draw(t, "q")
		keys := rapid.SliceOfN(rapid.String(), 1, 50).Draw(t, "keys")
		before := mustCompile(t, &Set{Flags: map[string]*Flag{"ring": splitFlag(salt, p)}})
		after := mustCompile(t, &Set{Flags: map[string]*Flag{"ring": splitFlag(salt, q)}})
		for _, key := range keys {
			if key == "" {
				continue
			}
			was, now := before.Evaluate("ring", Context{Key: key}), after.Evaluate("ring", Context{Key: key})
			if was.Variant == "on" && now.Variant != "on" {
				t.Fatalf("unit %q left treatment when the split grew from %d to %d (bucket %d)", key, p, q, Bucket(salt+"/"+key, TotalBuckets))
			}
		}
	})
}

// ringFlag renders CLARIFICATIONS §10's layout as ordinary rules: the holdout
// [100000 − h, 100000) is always control, ring p % treats [0, p·(100000 − h)/100).
func ringFlag(salt string, holdout uint32, percent float64) *Flag {
	to := uint32(percent * float64(TotalBuckets-holdout) / 100)
	f := &Flag{
		Type: TypeBool, Enabled: true, Salt: salt,
		Variants: map[string]any{"on": true, "off": false},
		Default:  &Allocation{Variant: "off"},
	}
	if holdout > 0 {
		f.Rules = append(f.Rules, Rule{ID: "holdout", Conditions: []Condition{{Bucket: &BucketRange{From: TotalBuckets - holdout, To: TotalBuckets}}}, Serve: Allocation{Variant: "off"}})
	}
	if to > 0 {
		f.Rules = append(f.Rules, Rule{ID: "ring", Conditions: []Condition{{Bucket: &BucketRange{From: 0, To: to}}}, Serve: Allocation{Variant: "on"}})
	}
	return f
}

// TestRaisingABucketRingNeverMovesAUnitOutOfTreatment: rings [0, to) rendered as
// bucket conditions only grow, and a unit in the holdout is never treated.
func TestRaisingABucketRingNeverMovesAUnitOutOfTreatment(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		salt := rapid.StringMatching(`[a-z0-9-]{1,12}`).Draw(t, "salt")
		holdout := rapid.Uint32Range(0, 10_000).Draw(t, "holdout")
		p := rapid.Float64Range(0, 100).Draw(t, "p")
		q := rapid.Float64Range(p, 100).Draw(t, "q")
		keys := rapid.SliceOfN(rapid.StringMatching(`user-[0-9a-f]{1,8}`), 1, 50).Draw(t, "keys")
		before := mustCompile(t, &Set{Flags: map[string]*Flag{"ring": ringFlag(salt, holdout, p)}})
		after := mustCompile(t, &Set{Flags: map[string]*Flag{"ring": ringFlag(salt, holdout, q)}})
		for _, key := range keys {
			b := Bucket(salt+"/"+key, TotalBuckets)
			was, now := before.Evaluate("ring", Context{Key: key}), after.Evaluate("ring", Context{Key: key})
			if was.Variant == "on" && now.Variant != "on" {
				t.Fatalf("unit %q (bucket %d) left the ring when it grew from %.3f %% to %.3f %%", key, b, p, q)
			}
			if b >= TotalBuckets-holdout && now.Variant == "on" {
				t.Fatalf("unit %q in the holdout (bucket %d ≥ %d) was treated", key, b, TotalBuckets-holdout)
			}
		}
	})
}

// TestAssignmentsAreSticky: the same unit gets the same answer on every evaluation,
// from every snapshot compiled from the same definition, and whatever other flags
// the set holds.
func TestAssignmentsAreSticky(t *testing.T) {
	first := mustCompile(t, &Set{Flags: map[string]*Flag{"ring": splitFlag("", 30_000)}})
	second := mustCompile(t, &Set{Flags: map[string]*Flag{
		"ring":  splitFlag("", 30_000),
		"other": splitFlag("", 70_000),
	}})
	for i := range 10_000 {
		ctx := Context{Key: "unit-" + strconv.Itoa(i)}
		a, b, c := first.Evaluate("ring", ctx), first.Evaluate("ring", ctx), second.Evaluate("ring", ctx)
		if a.Variant != b.Variant || a.Variant != c.Variant {
			t.Fatalf("%s: %q, then %q, then %q from a recompiled set", ctx.Key, a.Variant, b.Variant, c.Variant)
		}
	}
}

func TestBucketOfEqualsBucketOfTheSeedString(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		salt, key := rapid.String().Draw(t, "salt"), rapid.String().Draw(t, "key")
		want := Bucket(salt+"/"+key, TotalBuckets)
		if got := bucketOf(seedState(salt), key); got != want {
			t.Fatalf("bucketOf(seedState(%q), %q) = %d, want %d", salt, key, got, want)
		}
		if got := bucketOf(seedState(salt), []byte(key)); got != want {
			t.Fatalf("bucketOf with a byte slice = %d, want %d", got, want)
		}
	})
}

func TestBucketStaysWithinTotal(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		s := rapid.String().Draw(t, "s")
		total := rapid.Uint32Range(1, 1<<32-1).Draw(t, "total")
		if b := Bucket(s, total); b >= total {
			t.Fatalf("Bucket(%q, %d) = %d", s, total, b)
		}
	})
}
