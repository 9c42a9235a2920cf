package flags

import (
	"fmt"
	"testing"
)

// rolloutFlagSet is the logical flag of ../shared/BENCHMARKS.md: country in [DE, FR]
// → on, otherwise a 25 % on / 75 % off split sticky on the unit key.
func rolloutFlagSet(typ Type) *Set {
	on, off := any(true), any(false)
	if typ == TypeString {
		on, off = "on", "off"
	}
	return &Set{Flags: map[string]*Flag{"rollout-flag": {
		Type:     typ,
		Enabled:  true,
		Variants: map[string]any{"on": on, "off": off},
		Rules: []Rule{{
			Conditions: []Condition{{Attribute: "country", Op: OpIn, Values: []any{"DE", "FR"}}},
			Serve:      Allocation{Variant: "on"},
		}},
		Default: &Allocation{Split: []WeightedVariant{{Variant: "on", Weight: 25_000}, {Variant: "off", Weight: 75_000}}},
	}}}
}

// benchContexts are BENCHMARKS.md's 10 000 units with countries cycling over eight values.
func benchContexts() []Context {
	countries := []string{"DE", "US", "FR", "GB", "ES", "IT", "PL", "NL"}
	ctxs := make([]Context, 10_000)
	for i := range ctxs {
		ctxs[i] = Context{
			Key:        fmt.Sprintf("user-%08x-%04d", uint32(i)*2654435761, i),
			Attributes: map[string]any{"country": countries[i%len(countries)]},
		}
	}
	return ctxs
}

func benchmarkRolloutFlag(b *testing.B, typ Type) {
	snap, err := Compile(rolloutFlagSet(typ))
	if err != nil {
		b.Fatal(err)
	}
	ctxs := benchContexts()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		r := snap.Evaluate("rollout-flag", ctxs[i])
		if r.ErrorCode != ErrNone {
			b.Fatal(r.ErrorMessage)
		}
		if i++; i == len(ctxs) {
			i = 0
		}
	}
}

func BenchmarkEvaluateRolloutFlagBool(b *testing.B)   { benchmarkRolloutFlag(b, TypeBool) }
func BenchmarkEvaluateRolloutFlagString(b *testing.B) { benchmarkRolloutFlag(b, TypeString) }
