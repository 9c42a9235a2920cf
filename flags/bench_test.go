package flags

import (
	"encoding/json"
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

// TestRolloutFlagMatchesBenchmarksSemantics checks the benchmarked flag before it is
// timed (shared/BENCHMARKS.md): every DE and FR unit is on, 23–27 % of the others
// are on, and a second pass gives the same answers.
func TestRolloutFlagMatchesBenchmarksSemantics(t *testing.T) {
	for _, typ := range []Type{TypeBool, TypeString} {
		t.Run(string(typ), func(t *testing.T) {
			snap := mustCompile(t, rolloutFlagSet(typ))
			ctxs := benchContexts()
			first := make([]string, len(ctxs))
			var rest, restOn, on int
			for i, ctx := range ctxs {
				r := snap.Evaluate("rollout-flag", ctx)
				if r.ErrorCode != ErrNone {
					t.Fatalf("%s: %v", ctx.Key, r.ErrorCode)
				}
				first[i] = r.Variant
				isOn := r.Variant == "on"
				if isOn {
					on++
				}
				switch country := ctx.Attributes["country"]; country {
				case "DE", "FR":
					if !isOn || r.Reason != ReasonTargetingMatch {
						t.Fatalf("%s in %s got %q (%v), want on by the rule", ctx.Key, country, r.Variant, r.Reason)
					}
				default:
					rest++
					if isOn {
						restOn++
					}
					if r.Reason != ReasonSplit {
						t.Fatalf("%s in %s: reason %v, want SPLIT", ctx.Key, country, r.Reason)
					}
				}
			}
			share := float64(restOn) / float64(rest)
			t.Logf("%d of %d other units on (%.2f %%); overall on-rate %.2f %% (expected 43.75 %%)", restOn, rest, 100*share, 100*float64(on)/float64(len(ctxs)))
			if share < 0.23 || share > 0.27 {
				t.Errorf("%.4f of the other units are on, want 0.23 to 0.27", share)
			}
			for i, ctx := range ctxs {
				if r := snap.Evaluate("rollout-flag", ctx); r.Variant != first[i] {
					t.Fatalf("%s: %q on the first pass, %q on the second", ctx.Key, first[i], r.Variant)
				}
			}
		})
	}
}

// TestServedPathsDoNotAllocate: every evaluation path, served or not, allocates
// nothing once the snapshot is compiled and the context built.
func TestServedPathsDoNotAllocate(t *testing.T) {
	set := summarizeSet()
	for k, f := range map[string]*Flag{
		"big-in":       conditionFlag(Condition{Attribute: "country", Op: OpIn, Values: []any{"AT", "BE", "CH", "DE", "DK", "ES", "FI", "FR", "GB", "IE"}}),
		"regexp":       conditionFlag(Condition{Attribute: "email", Op: OpMatches, Value: `^[a-z]+@acme\.com$`}),
		"semver":       conditionFlag(Condition{Attribute: "app", Op: OpSemverGT, Value: "2.0.0-rc.1"}),
		"before":       conditionFlag(Condition{Attribute: "at", Op: OpBefore, Value: "2030-01-01T00:00:00Z"}),
		"contains":     conditionFlag(Condition{Attribute: "groups", Op: OpContains, Value: "beta"}),
		"gte":          conditionFlag(Condition{Attribute: "age", Op: OpGTE, Value: 18.0}),
		"segment":      conditionFlag(Condition{Op: OpInSegment, Segment: "half"}),
		"by-account":   {Type: TypeBool, Enabled: true, BucketBy: "account_id", Variants: map[string]any{"on": true, "off": false}, Default: &Allocation{Split: []WeightedVariant{{Variant: "on", Weight: 50_000}, {Variant: "off", Weight: 50_000}}}},
		"by-number":    {Type: TypeBool, Enabled: true, BucketBy: "account_no", Variants: map[string]any{"on": true, "off": false}, Default: &Allocation{Split: []WeightedVariant{{Variant: "on", Weight: 50_000}, {Variant: "off", Weight: 50_000}}}},
		"rollout-flag": rolloutFlagSet(TypeBool).Flags["rollout-flag"],
	} {
		set.Flags[k] = f
	}
	snap := mustCompile(t, set)
	ctx := Context{Key: "user-1", Attributes: map[string]any{
		"country": "FR", "plan": "pro", "email": "ann@acme.com", "app": "2.1.0", "at": "2026-06-01T12:00:00+02:00",
		"groups": []any{"alpha", "beta"}, "age": json.Number("42"), "account_id": "acct-7", "account_no": 1234567,
	}}
	tests := []struct {
		name, flag string
		ctx        Context
		reason     string // "" when it depends on the unit's bucket
	}{
		{"a static flag", "static", ctx, "STATIC"},
		{"a rule match", "targeted", ctx, "TARGETING_MATCH"},
		{"a rule serving a split", "split-rule", ctx, "SPLIT"},
		{"a default split", "split-default", ctx, "SPLIT"},
		{"the default", "targeted", Context{Key: "u"}, "DEFAULT"},
		{"no default", "no-default", Context{Key: "u"}, "DEFAULT"},
		{"disabled with an off variant", "off-with-variant", ctx, "DISABLED"},
		{"disabled without an off variant", "off-without-variant", ctx, "DISABLED"},
		{"flag not found", "nope", ctx, "ERROR"},
		{"targeting key missing", "split-default", Context{}, "ERROR"},
		{"a bucket ring", "bucket-ring", ctx, ""},
		{"a segment with a bucket rule", "segment-bucket", ctx, ""},
		{"in over more than eight values", "big-in", ctx, "TARGETING_MATCH"},
		{"a regular expression", "regexp", ctx, "TARGETING_MATCH"},
		{"a semver comparison", "semver", ctx, "TARGETING_MATCH"},
		{"a time with an offset", "before", ctx, "TARGETING_MATCH"},
		{"contains on a list", "contains", ctx, "TARGETING_MATCH"},
		{"a json.Number comparison", "gte", ctx, "TARGETING_MATCH"},
		{"a segment", "segment", ctx, ""},
		{"a split by a string attribute", "by-account", ctx, "SPLIT"},
		{"a split by a numeric attribute", "by-number", ctx, "SPLIT"},
		{"the benchmark flag's rule", "rollout-flag", ctx, "TARGETING_MATCH"},
		{"the benchmark flag's split", "rollout-flag", Context{Key: "user-1", Attributes: map[string]any{"country": "US"}}, "SPLIT"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if r := snap.Evaluate(tt.flag, tt.ctx); tt.reason != "" && r.Reason.String() != tt.reason {
				t.Fatalf("reason %v (%v), want %v", r.Reason, r.ErrorCode, tt.reason)
			}
			if allocs := testing.AllocsPerRun(200, func() { snap.Evaluate(tt.flag, tt.ctx) }); allocs != 0 {
				t.Errorf("Evaluate allocates %.1f times per call, want 0", allocs)
			}
		})
	}
}
