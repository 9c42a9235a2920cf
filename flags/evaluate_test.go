package flags

import (
	"encoding/json"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// conditionFlag is a bool flag whose only rule serves "on" when cond holds; "off"
// otherwise.
func conditionFlag(cond Condition) *Flag {
	return &Flag{
		Type:     TypeBool,
		Enabled:  true,
		Variants: map[string]any{"on": true, "off": false},
		Rules:    []Rule{{Conditions: []Condition{cond}, Serve: Allocation{Variant: "on"}}},
		Default:  &Allocation{Variant: "off"},
	}
}

// holds reports whether cond holds for ctx, evaluated through a compiled flag.
func holds(t *testing.T, cond Condition, segments map[string]*Segment, ctx Context) bool {
	t.Helper()
	snap, err := Compile(&Set{Flags: map[string]*Flag{"f": conditionFlag(cond)}, Segments: segments})
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	r := snap.Evaluate("f", ctx)
	if r.ErrorCode != ErrNone {
		t.Fatalf("Evaluate: %v %s", r.ErrorCode, r.ErrorMessage)
	}
	return r.Variant == "on"
}

func user(attrs map[string]any) Context { return Context{Key: "user-1", Attributes: attrs} }

type conditionCase struct {
	name  string
	cond  Condition
	attrs map[string]any
	want  bool
}

func runConditionCases(t *testing.T, cases []conditionCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := holds(t, tc.cond, nil, user(tc.attrs)); got != tc.want {
				t.Errorf("condition %+v on %v = %v, want %v", tc.cond, tc.attrs, got, tc.want)
			}
		})
	}
}

func attr(name string, v any) map[string]any { return map[string]any{name: v} }

func TestEqualsAndNotEquals(t *testing.T) {
	eq := func(v any) Condition { return Condition{Attribute: "a", Op: OpEquals, Value: v} }
	ne := func(v any) Condition { return Condition{Attribute: "a", Op: OpNotEquals, Value: v} }
	runConditionCases(t, []conditionCase{
		{"equals matches the same string", eq("DE"), attr("a", "DE"), true},
		{"equals is case-sensitive", eq("DE"), attr("a", "de"), false},
		{"equals matches an int attribute against a JSON number", eq(5.0), attr("a", 5), true},
		{"equals matches an int64 attribute", eq(5.0), attr("a", int64(5)), true},
		{"equals matches a uint8 attribute", eq(5.0), attr("a", uint8(5)), true},
		{"equals matches a float32 attribute", eq(0.5), attr("a", float32(0.5)), true},
		{"equals matches a json.Number attribute", eq(5.0), attr("a", json.Number("5")), true},
		{"equals matches a Go int operand", eq(7), attr("a", 7.0), true},
		{"equals does not turn a numeric string into a number", eq(5.0), attr("a", "5"), false},
		{"equals does not turn a number into a string", eq("5"), attr("a", 5), false},
		{"equals matches a bool", eq(true), attr("a", true), true},
		{"equals tells true from false", eq(true), attr("a", false), false},
		{"equals does not read the string true as a bool", eq(true), attr("a", "true"), false},
		{"equals does not match a list containing the value (use contains)", eq("x"), attr("a", []any{"x"}), false},
		{"equals never holds on a missing attribute", eq("DE"), nil, false},
		{"equals never holds on a null attribute", eq("DE"), attr("a", nil), false},
		{"not_equals holds for a different string", ne("DE"), attr("a", "FR"), true},
		{"not_equals does not hold for the same string", ne("DE"), attr("a", "DE"), false},
		{"not_equals holds for a different number", ne(1.0), attr("a", 2), true},
		{"not_equals holds across types", ne("1"), attr("a", 1), true},
		{"not_equals never holds on a missing attribute", ne("DE"), nil, false},
		{"not_equals never holds on a null attribute", ne("DE"), attr("a", nil), false},
	})
}

func TestInAndNotIn(t *testing.T) {
	in := func(vs ...any) Condition { return Condition{Attribute: "a", Op: OpIn, Values: vs} }
	notIn := func(vs ...any) Condition { return Condition{Attribute: "a", Op: OpNotIn, Values: vs} }
	many := []any{"AT", "BE", "CH", "DE", "DK", "ES", "FI", "FR", "GB", "IE", "IT", "NL"} // > smallSet: a map
	runConditionCases(t, []conditionCase{
		{"in matches a listed string", in("DE", "FR"), attr("a", "FR"), true},
		{"in does not match an unlisted string", in("DE", "FR"), attr("a", "US"), false},
		{"in matches a listed number of another Go type", in(1.0, 2.0), attr("a", int32(2)), true},
		{"in does not match an unlisted number", in(1.0, 2.0), attr("a", 3), false},
		{"in matches a listed bool", in(true), attr("a", true), true},
		{"in does not match a number against a numeric string", in("1"), attr("a", 1), false},
		{"in with more than eight values matches a listed string", in(many...), attr("a", "NL"), true},
		{"in with more than eight values does not match an unlisted string", in(many...), attr("a", "US"), false},
		{"in with more than eight values still matches numbers", in(append([]any{42.0}, many...)...), attr("a", 42), true},
		{"in matches a list attribute sharing an element", in("beta", "alpha"), attr("a", []any{"gamma", "beta"}), true},
		{"in matches a []string attribute sharing an element", in("beta"), attr("a", []string{"x", "beta"}), true},
		{"in matches a []string attribute against a large list", in(many...), attr("a", []string{"x", "FR"}), true},
		{"in does not match a list attribute with no listed element", in("beta"), attr("a", []any{"x", nil, 3.0}), false},
		{"in matches a list attribute by number", in(3.0), attr("a", []any{"x", 3}), true},
		{"in never matches an empty list attribute", in("beta"), attr("a", []any{}), false},
		{"in never holds on a missing attribute", in("DE"), nil, false},
		{"in never holds on a null attribute, even when null is listed", in(nil, "DE"), attr("a", nil), false},
		{"in does not match an object attribute", in("DE"), attr("a", map[string]any{"DE": true}), false},
		{"not_in holds for an unlisted string", notIn("DE", "FR"), attr("a", "US"), true},
		{"not_in does not hold for a listed string", notIn("DE", "FR"), attr("a", "DE"), false},
		{"not_in with more than eight values holds for an unlisted string", notIn(many...), attr("a", "US"), true},
		{"not_in with more than eight values does not hold for a listed string", notIn(many...), attr("a", "CH"), false},
		{"not_in holds for a list attribute with no listed element", notIn("beta"), attr("a", []any{"x"}), true},
		{"not_in does not hold for a list attribute with a listed element", notIn("beta"), attr("a", []string{"beta"}), false},
		{"not_in never holds on a missing attribute", notIn("DE"), nil, false},
		{"not_in never holds on a null attribute", notIn("DE"), attr("a", nil), false},
	})
}

func TestStringOperators(t *testing.T) {
	op := func(o Operator, v any) Condition { return Condition{Attribute: "a", Op: o, Value: v} }
	runConditionCases(t, []conditionCase{
		{"contains finds a substring", op(OpContains, "@acme"), attr("a", "ann@acme.com"), true},
		{"contains is case-sensitive", op(OpContains, "ACME"), attr("a", "ann@acme.com"), false},
		{"contains finds a string in a list", op(OpContains, "beta"), attr("a", []any{"alpha", "beta"}), true},
		{"contains finds a string in a []string", op(OpContains, "beta"), attr("a", []string{"alpha", "beta"}), true},
		{"contains does not match a substring of a list element", op(OpContains, "bet"), attr("a", []string{"beta"}), false},
		{"contains finds a number in a list", op(OpContains, 2.0), attr("a", []any{1, 2, 3}), true},
		{"contains finds a bool in a list", op(OpContains, true), attr("a", []any{false, true}), true},
		{"contains with a number never holds on a string", op(OpContains, 5.0), attr("a", "hello"), false},
		{"contains with a number never matches an empty string in a []string", op(OpContains, 5.0), attr("a", []string{""}), false},
		{"contains never holds on a number attribute", op(OpContains, "1"), attr("a", 12), false},
		{"contains never holds on a missing attribute", op(OpContains, "x"), nil, false},
		{"starts_with matches a prefix", op(OpStartsWith, "en-"), attr("a", "en-GB"), true},
		{"starts_with does not match a suffix", op(OpStartsWith, "GB"), attr("a", "en-GB"), false},
		{"starts_with never holds on a non-string", op(OpStartsWith, "1"), attr("a", 12), false},
		{"ends_with matches a suffix", op(OpEndsWith, "@acme.com"), attr("a", "ann@acme.com"), true},
		{"ends_with does not match a prefix", op(OpEndsWith, "ann"), attr("a", "ann@acme.com"), false},
		{"ends_with never holds on a list", op(OpEndsWith, "x"), attr("a", []any{"x"}), false},
		{"matches applies a regular expression", op(OpMatches, `^user-[0-9]+$`), attr("a", "user-42"), true},
		{"matches honours anchors", op(OpMatches, `^user-[0-9]+$`), attr("a", "xuser-42"), false},
		{"matches finds an unanchored pattern anywhere", op(OpMatches, `[0-9]{3}`), attr("a", "ab123cd"), true},
		{"matches never holds on a non-string", op(OpMatches, `.*`), attr("a", 5), false},
		{"matches never holds on a null attribute", op(OpMatches, `.*`), attr("a", nil), false},
	})
}

func TestNumericComparisons(t *testing.T) {
	op := func(o Operator, v float64) Condition { return Condition{Attribute: "a", Op: o, Value: v} }
	runConditionCases(t, []conditionCase{
		{"lt holds below the operand", op(OpLT, 18), attr("a", 17), true},
		{"lt does not hold at the operand", op(OpLT, 18), attr("a", 18), false},
		{"lte holds at the operand", op(OpLTE, 18), attr("a", int64(18)), true},
		{"lte does not hold above the operand", op(OpLTE, 18), attr("a", 18.5), false},
		{"gt holds above the operand", op(OpGT, 0.5), attr("a", 0.75), true},
		{"gt does not hold at the operand", op(OpGT, 0.5), attr("a", 0.5), false},
		{"gte holds at the operand", op(OpGTE, 100), attr("a", uint16(100)), true},
		{"gte does not hold below the operand", op(OpGTE, 100), attr("a", 99.999), false},
		{"gt reads a json.Number integer", op(OpGT, 10), attr("a", json.Number("11")), true},
		{"lt reads a json.Number fraction", op(OpLT, 1), attr("a", json.Number("0.25")), true},
		{"gt compares negative numbers", op(OpGT, -5), attr("a", -4), true},
		{"gt never holds on a numeric string", op(OpGT, 1), attr("a", "5"), false},
		{"lt never holds on a bool", op(OpLT, 1), attr("a", false), false},
		{"gte never holds on a missing attribute", op(OpGTE, 0), nil, false},
		{"lte never holds on a null attribute", op(OpLTE, 0), attr("a", nil), false},
	})
}

func TestSemverOperators(t *testing.T) {
	op := func(o Operator, v string) Condition { return Condition{Attribute: "v", Op: o, Value: v} }
	runConditionCases(t, []conditionCase{
		{"semver_lt compares minor versions numerically", op(OpSemverLT, "1.10.0"), attr("v", "1.9.3"), true},
		{"semver_lt does not hold for an equal version", op(OpSemverLT, "1.10.0"), attr("v", "1.10.0"), false},
		{"semver_gt compares major versions", op(OpSemverGT, "1.99.99"), attr("v", "2.0.0"), true},
		{"semver_gt does not hold for a smaller patch", op(OpSemverGT, "2.0.1"), attr("v", "2.0.0"), false},
		{"semver_eq ignores build metadata", op(OpSemverEQ, "1.4.0+build.7"), attr("v", "1.4.0+other"), true},
		{"semver_eq accepts a leading v", op(OpSemverEQ, "v1.4.0"), attr("v", "1.4.0"), true},
		{"semver_eq reads missing parts as zero", op(OpSemverEQ, "1.4"), attr("v", "1.4.0"), true},
		{"semver_lt ranks a pre-release below its release", op(OpSemverLT, "2.0.0"), attr("v", "2.0.0-rc.1"), true},
		{"semver_gt ranks a release above its pre-release", op(OpSemverGT, "2.0.0-rc.1"), attr("v", "2.0.0"), true},
		{"semver_eq tells pre-releases apart", op(OpSemverEQ, "2.0.0-rc.1"), attr("v", "2.0.0-rc.2"), false},
		{"semver operators never hold on an invalid version", op(OpSemverLT, "9.0.0"), attr("v", "latest"), false},
		{"semver operators never hold on a version with four parts", op(OpSemverLT, "9.0.0"), attr("v", "1.2.3.4"), false},
		{"semver operators never hold on an empty pre-release", op(OpSemverLT, "9.0.0"), attr("v", "1.2.3-"), false},
		{"semver operators never hold on a number", op(OpSemverLT, "9.0.0"), attr("v", 1.5), false},
		{"semver operators never hold on a missing attribute", op(OpSemverGT, "0.0.1"), nil, false},
	})
}

// TestSemverPrecedenceFollowsSemverOrg checks every pair of the example chain in
// https://semver.org/#spec-item-11, with each operator both ways.
func TestSemverPrecedenceFollowsSemverOrg(t *testing.T) {
	chain := []string{"1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2",
		"1.0.0-beta.11", "1.0.0-rc.1", "1.0.0", "1.0.1", "1.1.0", "2.0.0"}
	for i, a := range chain {
		for j, b := range chain {
			va, ok1 := parseSemver(a)
			vb, ok2 := parseSemver(b)
			if !ok1 || !ok2 {
				t.Fatalf("parseSemver(%q), parseSemver(%q) failed", a, b)
			}
			want := 0
			if i < j {
				want = -1
			} else if i > j {
				want = 1
			}
			if got := compareSemver(va, vb); got != want {
				t.Errorf("compareSemver(%q, %q) = %d, want %d", a, b, got, want)
			}
		}
	}
	// And through a compiled condition, for one pair.
	if !holds(t, Condition{Attribute: "v", Op: OpSemverLT, Value: "1.0.0-beta.11"}, nil, user(attr("v", "1.0.0-beta.2"))) {
		t.Error(`1.0.0-beta.2 semver_lt 1.0.0-beta.11 should hold: numeric identifiers compare numerically`)
	}
}

func TestBeforeAndAfter(t *testing.T) {
	op := func(o Operator, v any) Condition { return Condition{Attribute: "t", Op: o, Value: v} }
	const launch = "2026-12-01T09:00:00Z"
	const launchUnix = 1796115600.0 // the same instant
	runConditionCases(t, []conditionCase{
		{"before holds for an earlier RFC 3339 time", op(OpBefore, launch), attr("t", "2026-11-30T23:59:59Z"), true},
		{"before does not hold at the same instant", op(OpBefore, launch), attr("t", launch), false},
		{"after holds for a later time", op(OpAfter, launch), attr("t", "2026-12-01T09:00:00.000000001Z"), true},
		{"after does not hold at the same instant", op(OpAfter, launch), attr("t", launch), false},
		{"before compares instants across offsets", op(OpBefore, launch), attr("t", "2026-12-01T10:59:59+02:00"), true},
		{"after compares instants across negative offsets", op(OpAfter, launch), attr("t", "2026-12-01T04:00:01-05:00"), true},
		{"before reads Unix seconds from the context", op(OpBefore, launch), attr("t", launchUnix-1), true},
		{"after reads Unix seconds as an integer", op(OpAfter, launch), attr("t", int64(launchUnix)+1), true},
		{"after reads fractional Unix seconds", op(OpAfter, launch), attr("t", launchUnix+0.5), true},
		{"after reads Unix seconds as a json.Number", op(OpAfter, launch), attr("t", json.Number("1796115601")), true},
		{"before accepts a Unix-seconds operand", op(OpBefore, launchUnix), attr("t", "2026-12-01T08:59:59Z"), true},
		{"after accepts a Unix-seconds operand against Unix seconds", op(OpAfter, launchUnix), attr("t", launchUnix), false},
		{"before holds for a date after 2262 (no nanosecond overflow)", op(OpBefore, "3000-01-01T00:00:00Z"), attr("t", "2026-01-01T00:00:00Z"), true},
		{"after holds for a date before 1678", op(OpAfter, "1600-01-01T00:00:00Z"), attr("t", "1970-01-01T00:00:00Z"), true},
		{"before accepts lower-case t and z", op(OpBefore, launch), attr("t", "2026-11-30t23:59:59z"), true},
		{"before never holds on a time without an offset", op(OpBefore, launch), attr("t", "2026-01-01T00:00:00"), false},
		{"before never holds on a date alone", op(OpBefore, launch), attr("t", "2026-01-01"), false},
		{"before never holds on a bool", op(OpBefore, launch), attr("t", true), false},
		{"after never holds on a missing attribute", op(OpAfter, 0.0), nil, false},
	})
}

func TestExists(t *testing.T) {
	exists := Condition{Attribute: "plan", Op: OpExists}
	runConditionCases(t, []conditionCase{
		{"exists holds for a string", exists, attr("plan", "pro"), true},
		{"exists holds for an empty string", exists, attr("plan", ""), true},
		{"exists holds for false", exists, attr("plan", false), true},
		{"exists holds for zero", exists, attr("plan", 0), true},
		{"exists holds for an empty list", exists, attr("plan", []any{}), true},
		{"exists does not hold for null", exists, attr("plan", nil), false},
		{"exists does not hold for a missing attribute", exists, attr("other", "x"), false},
	})
}

func TestUnitKeyAttribute(t *testing.T) {
	for _, name := range []string{"key", "targetingKey"} {
		t.Run(name+" tests the unit key", func(t *testing.T) {
			cond := Condition{Attribute: name, Op: OpStartsWith, Value: "user-"}
			if !holds(t, cond, nil, Context{Key: "user-1"}) {
				t.Errorf("%s starts_with user- should hold for key user-1", name)
			}
			if holds(t, cond, nil, Context{Key: "", Attributes: attr(name, "user-1")}) {
				t.Errorf("%s should read the unit key, not an attribute of that name", name)
			}
			if holds(t, Condition{Attribute: name, Op: OpExists}, nil, Context{}) {
				t.Errorf("%s exists should not hold without a unit key", name)
			}
		})
	}
}

// TestEveryOperatorFailsClosedOnMissingAndNullAttributes is the missing-attribute
// rule: whatever the operator, negations included, a condition on an attribute the
// context lacks or holds as null does not hold.
func TestEveryOperatorFailsClosedOnMissingAndNullAttributes(t *testing.T) {
	conds := []Condition{
		{Op: OpEquals, Value: "x"}, {Op: OpNotEquals, Value: "x"}, {Op: OpIn, Values: []any{"x"}},
		{Op: OpNotIn, Values: []any{"x"}}, {Op: OpContains, Value: "x"}, {Op: OpStartsWith, Value: "x"},
		{Op: OpEndsWith, Value: "x"}, {Op: OpMatches, Value: ".*"}, {Op: OpLT, Value: 1.0},
		{Op: OpLTE, Value: 1.0}, {Op: OpGT, Value: 1.0}, {Op: OpGTE, Value: 1.0},
		{Op: OpSemverLT, Value: "1.0.0"}, {Op: OpSemverEQ, Value: "1.0.0"}, {Op: OpSemverGT, Value: "1.0.0"},
		{Op: OpBefore, Value: "2026-01-01T00:00:00Z"}, {Op: OpAfter, Value: "2026-01-01T00:00:00Z"}, {Op: OpExists},
	}
	for _, c := range conds {
		c.Attribute = "a"
		for _, ctx := range []Context{user(nil), user(attr("a", nil)), {Attributes: attr("b", "x")}} {
			t.Run(fmt.Sprintf("%s with %v", c.Op, ctx.Attributes), func(t *testing.T) {
				if holds(t, c, nil, ctx) {
					t.Errorf("%s held on a context without the attribute", c.Op)
				}
			})
		}
	}
}

func segmentSet() map[string]*Segment {
	return map[string]*Segment{
		"beta": {
			Included: []string{"vip-1", "blocked-1"},
			Excluded: []string{"blocked-1", "staff-2"},
			Rules: []SegmentRule{{Conditions: []Condition{
				{Attribute: "email", Op: OpEndsWith, Value: "@acme.com"},
			}}},
		},
		"staff": {Rules: []SegmentRule{
			{Conditions: []Condition{{Attribute: "role", Op: OpEquals, Value: "staff"}}},
			{Conditions: []Condition{{Op: OpInSegment, Segment: "beta"}, {Attribute: "plan", Op: OpEquals, Value: "internal"}}},
		}},
		"not-staff": {Rules: []SegmentRule{{Conditions: []Condition{{Op: OpNotInSegment, Segment: "staff"}}}}},
		"empty":     {},
	}
}

func TestSegments(t *testing.T) {
	in := func(seg string) Condition { return Condition{Op: OpInSegment, Segment: seg} }
	notIn := func(seg string) Condition { return Condition{Op: OpNotInSegment, Segment: seg} }
	tests := []struct {
		name string
		cond Condition
		ctx  Context
		want bool
	}{
		{"in_segment holds for an included key", in("beta"), Context{Key: "vip-1"}, true},
		{"in_segment holds for a key matching a segment rule", in("beta"), Context{Key: "u", Attributes: attr("email", "a@acme.com")}, true},
		{"in_segment does not hold for a key matching nothing", in("beta"), Context{Key: "u", Attributes: attr("email", "a@other.com")}, false},
		{"in_segment does not hold for an excluded key even when a rule matches", in("beta"), Context{Key: "staff-2", Attributes: attr("email", "s@acme.com")}, false},
		{"in_segment holds for a key both included and excluded (included wins)", in("beta"), Context{Key: "blocked-1"}, true},
		{"in_segment applies rules to a context without a key", in("beta"), Context{Attributes: attr("email", "a@acme.com")}, true},
		{"in_segment holds when any segment rule matches", in("staff"), Context{Key: "u", Attributes: attr("role", "staff")}, true},
		{"in_segment follows a nested segment", in("staff"), Context{Key: "vip-1", Attributes: attr("plan", "internal")}, true},
		{"in_segment requires every condition of a rule with a nested segment", in("staff"), Context{Key: "vip-1", Attributes: attr("plan", "pro")}, false},
		{"in_segment follows two levels of nesting", in("not-staff"), Context{Key: "u", Attributes: attr("role", "guest")}, true},
		{"in_segment does not hold for a segment with no keys and no rules", in("empty"), Context{Key: "u"}, false},
		{"not_in_segment holds outside the segment", notIn("beta"), Context{Key: "u"}, true},
		{"not_in_segment does not hold for an included key", notIn("beta"), Context{Key: "vip-1"}, false},
		{"not_in_segment holds for an excluded key", notIn("beta"), Context{Key: "staff-2", Attributes: attr("email", "s@acme.com")}, true},
		{"not_in_segment of a nested negation", notIn("not-staff"), Context{Key: "u", Attributes: attr("role", "staff")}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := holds(t, tt.cond, segmentSet(), tt.ctx); got != tt.want {
				t.Errorf("%s %s for %+v = %v, want %v", tt.cond.Op, tt.cond.Segment, tt.ctx, got, tt.want)
			}
		})
	}
}

func TestBucketConditions(t *testing.T) {
	const key = "user-1"
	b := Bucket("f/"+key, TotalBuckets) // the flag's salt defaults to its key "f"
	other := Bucket("ring/"+key, TotalBuckets)
	tests := []struct {
		name string
		rng  BucketRange
		want bool
	}{
		{"bucket holds when the unit's bucket is the lower bound", BucketRange{From: b, To: b + 1}, true},
		{"bucket does not hold when the unit's bucket is the upper bound", BucketRange{From: b - 1, To: b}, false},
		{"bucket holds for the whole range", BucketRange{From: 0, To: TotalBuckets}, true},
		{"bucket does not hold just above the unit's bucket", BucketRange{From: b + 1, To: TotalBuckets}, false},
		{"bucket uses its own salt when it has one", BucketRange{Salt: "ring", From: other, To: other + 1}, true},
		{"bucket with its own salt ignores the flag's bucket", BucketRange{Salt: "ring", From: b, To: b + 1}, b == other},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rng := tt.rng
			if got := holds(t, Condition{Bucket: &rng}, nil, Context{Key: key}); got != tt.want {
				t.Errorf("bucket %+v for %s (bucket %d, ring bucket %d) = %v, want %v", tt.rng, key, b, other, got, tt.want)
			}
		})
	}
	t.Run("bucket may name its operator explicitly", func(t *testing.T) {
		if !holds(t, Condition{Op: OpBucket, Bucket: &BucketRange{From: 0, To: TotalBuckets}}, nil, Context{Key: key}) {
			t.Error("op bucket with a full range should hold")
		}
	})
}

// summarizeSet is a realistic flag set exercising every reason.
func summarizeSet() *Set {
	return &Set{
		Flags: map[string]*Flag{
			"static": {Type: TypeString, Enabled: true, Variants: map[string]any{"v1": "gpt-small"}, Default: &Allocation{Variant: "v1"}, Version: 3},
			"targeted": {
				Type: TypeInt, Enabled: true,
				Variants: map[string]any{"low": int64(256), "high": int64(4096)},
				Rules: []Rule{
					{ID: "de", Conditions: []Condition{{Attribute: "country", Op: OpEquals, Value: "DE"}}, Serve: Allocation{Variant: "low"},
						Metadata: map[string]string{"rollout": "r-7", "stage": "beta", "arm": "treatment"}},
					{ID: "pro", Conditions: []Condition{{Attribute: "plan", Op: OpEquals, Value: "pro"}}, Serve: Allocation{Variant: "high"}},
				},
				Default:  &Allocation{Variant: "low"},
				Metadata: map[string]any{"owner": "ai-team", "cost": 0.25, "tier": int64(2), "public": true},
			},
			"split-rule": {
				Type: TypeBool, Enabled: true, Variants: map[string]any{"on": true, "off": false},
				Rules: []Rule{{ID: "ring", Conditions: []Condition{{Attribute: "plan", Op: OpEquals, Value: "pro"}},
					Serve: Allocation{Split: []WeightedVariant{{Variant: "on", Weight: 100_000}, {Variant: "off", Weight: 0}}}}},
				Default: &Allocation{Variant: "off"},
			},
			"split-default": {
				Type: TypeBool, Enabled: true, Variants: map[string]any{"on": true, "off": false},
				Default: &Allocation{Split: []WeightedVariant{{Variant: "on", Weight: 0}, {Variant: "off", Weight: 100_000}}},
			},
			"no-default": {
				Type: TypeFloat, Enabled: true, Variants: map[string]any{"hot": 0.9},
				Rules: []Rule{{Conditions: []Condition{{Attribute: "plan", Op: OpEquals, Value: "pro"}}, Serve: Allocation{Variant: "hot"}}},
			},
			"off-with-variant": {
				Type: TypeJSON, Enabled: false, OffVariant: "safe",
				Variants: map[string]any{"safe": map[string]any{"model": "small"}, "new": map[string]any{"model": "large"}},
				Default:  &Allocation{Variant: "new"},
			},
			"off-without-variant": {
				Type: TypeBool, Enabled: false, Variants: map[string]any{"on": true}, Default: &Allocation{Variant: "on"},
			},
			"bucket-ring": {
				Type: TypeBool, Enabled: true, Variants: map[string]any{"on": true, "off": false},
				Rules:   []Rule{{Conditions: []Condition{{Bucket: &BucketRange{From: 0, To: 50_000}}}, Serve: Allocation{Variant: "on"}}},
				Default: &Allocation{Variant: "off"},
			},
			"segment-bucket": {
				Type: TypeBool, Enabled: true, Variants: map[string]any{"on": true, "off": false},
				Rules:   []Rule{{Conditions: []Condition{{Op: OpInSegment, Segment: "half"}}, Serve: Allocation{Variant: "on"}}},
				Default: &Allocation{Variant: "off"},
			},
		},
		Segments: map[string]*Segment{
			"half": {Rules: []SegmentRule{{Conditions: []Condition{{Bucket: &BucketRange{Salt: "half", From: 0, To: 50_000}}}}}},
		},
	}
}

func TestEvaluateReasonsAndResults(t *testing.T) {
	snap, err := Compile(summarizeSet())
	if err != nil {
		t.Fatal(err)
	}
	targetedMeta := map[string]any{"owner": "ai-team", "cost": 0.25, "tier": int64(2), "public": true}
	tests := []struct {
		name string
		flag string
		ctx  Context
		want Result
	}{
		{"a flag without rules serving one variant is STATIC", "static", Context{Key: "u"},
			Result{FlagKey: "static", Value: "gpt-small", Variant: "v1", Reason: ReasonStatic, RuleIndex: -1, Version: 3, Type: TypeString}},
		{"a flag without rules is STATIC even without a unit key", "static", Context{},
			Result{FlagKey: "static", Value: "gpt-small", Variant: "v1", Reason: ReasonStatic, RuleIndex: -1, Version: 3, Type: TypeString}},
		{"a matching rule is TARGETING_MATCH with its index, id and metadata", "targeted", user(attr("country", "DE")),
			Result{FlagKey: "targeted", Value: int64(256), Variant: "low", Reason: ReasonTargetingMatch, RuleIndex: 0, RuleID: "de",
				RuleMetadata: map[string]string{"rollout": "r-7", "stage": "beta", "arm": "treatment"}, Metadata: targetedMeta, Type: TypeInt}},
		{"the first matching rule wins", "targeted", user(map[string]any{"country": "DE", "plan": "pro"}),
			Result{FlagKey: "targeted", Value: int64(256), Variant: "low", Reason: ReasonTargetingMatch, RuleIndex: 0, RuleID: "de",
				RuleMetadata: map[string]string{"rollout": "r-7", "stage": "beta", "arm": "treatment"}, Metadata: targetedMeta, Type: TypeInt}},
		{"a later rule matches when earlier ones do not", "targeted", user(attr("plan", "pro")),
			Result{FlagKey: "targeted", Value: int64(4096), Variant: "high", Reason: ReasonTargetingMatch, RuleIndex: 1, RuleID: "pro", Metadata: targetedMeta, Type: TypeInt}},
		{"no matching rule serves the default with DEFAULT", "targeted", user(attr("country", "FR")),
			Result{FlagKey: "targeted", Value: int64(256), Variant: "low", Reason: ReasonDefault, RuleIndex: -1, Metadata: targetedMeta, Type: TypeInt}},
		{"a rule serving a split is SPLIT and keeps the rule", "split-rule", user(attr("plan", "pro")),
			Result{FlagKey: "split-rule", Value: true, Variant: "on", Reason: ReasonSplit, RuleIndex: 0, RuleID: "ring", Type: TypeBool}},
		{"a default split is SPLIT", "split-default", user(nil),
			Result{FlagKey: "split-default", Value: false, Variant: "off", Reason: ReasonSplit, RuleIndex: -1, Type: TypeBool}},
		{"no rule and no default tells the caller to use its default", "no-default", user(nil),
			Result{FlagKey: "no-default", Reason: ReasonDefault, RuleIndex: -1, Type: TypeFloat}},
		{"a disabled flag serves its off variant with DISABLED", "off-with-variant", user(nil),
			Result{FlagKey: "off-with-variant", Value: map[string]any{"model": "small"}, Variant: "safe", Reason: ReasonDisabled, RuleIndex: -1, Type: TypeJSON}},
		{"a disabled flag without an off variant tells the caller to use its default", "off-without-variant", user(nil),
			Result{FlagKey: "off-without-variant", Reason: ReasonDisabled, RuleIndex: -1, Type: TypeBool}},
		{"a disabled flag needs no unit key", "off-without-variant", Context{},
			Result{FlagKey: "off-without-variant", Reason: ReasonDisabled, RuleIndex: -1, Type: TypeBool}},
		{"an unknown flag is FLAG_NOT_FOUND", "nope", user(nil),
			Result{FlagKey: "nope", Reason: ReasonError, RuleIndex: -1, ErrorCode: ErrFlagNotFound, ErrorMessage: "flag not found"}},
		{"a default split without a unit key is TARGETING_KEY_MISSING, not a silent default", "split-default", Context{},
			Result{FlagKey: "split-default", Reason: ReasonError, RuleIndex: -1, Type: TypeBool, ErrorCode: ErrTargetingKeyMissing, ErrorMessage: errorMessages[ErrTargetingKeyMissing]}},
		{"a rule's split without a unit key is TARGETING_KEY_MISSING and names the rule", "split-rule", Context{Attributes: attr("plan", "pro")},
			Result{FlagKey: "split-rule", Reason: ReasonError, RuleIndex: 0, RuleID: "ring", Type: TypeBool, ErrorCode: ErrTargetingKeyMissing, ErrorMessage: errorMessages[ErrTargetingKeyMissing]}},
		{"a bucket condition without a unit key is TARGETING_KEY_MISSING", "bucket-ring", Context{},
			Result{FlagKey: "bucket-ring", Reason: ReasonError, RuleIndex: -1, Type: TypeBool, ErrorCode: ErrTargetingKeyMissing, ErrorMessage: errorMessages[ErrTargetingKeyMissing]}},
		{"a bucket condition in a segment without a unit key is TARGETING_KEY_MISSING", "segment-bucket", Context{},
			Result{FlagKey: "segment-bucket", Reason: ReasonError, RuleIndex: -1, Type: TypeBool, ErrorCode: ErrTargetingKeyMissing, ErrorMessage: errorMessages[ErrTargetingKeyMissing]}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := snap.Evaluate(tt.flag, tt.ctx)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Evaluate(%q, %+v) mismatch (-want +got):\n%s", tt.flag, tt.ctx, diff)
			}
			if got.UsesCallerDefault() != (got.Variant == "") {
				t.Errorf("UsesCallerDefault() = %v for variant %q", got.UsesCallerDefault(), got.Variant)
			}
		})
	}
}

func TestEvaluateOnANilSnapshotFindsNoFlag(t *testing.T) {
	var h Holder
	r := h.Load().Evaluate("any", Context{Key: "u"})
	if r.ErrorCode != ErrFlagNotFound || r.Reason != ReasonError || !r.UsesCallerDefault() {
		t.Errorf("Evaluate on a nil snapshot = %+v, want FLAG_NOT_FOUND", r)
	}
}

func TestBucketByBucketsOnTheNamedAttribute(t *testing.T) {
	flag := func(bucketBy string) *Set {
		return &Set{Flags: map[string]*Flag{"per-account": {
			Type: TypeString, Enabled: true, BucketBy: bucketBy, Salt: "acct-salt",
			Variants: map[string]any{"a": "A", "b": "B", "c": "C", "d": "D"},
			Rules: []Rule{
				{ID: "ring", Conditions: []Condition{{Bucket: &BucketRange{From: 0, To: 30_000}}}, Serve: Allocation{Variant: "a"}},
				{ID: "other", Conditions: []Condition{{Bucket: &BucketRange{Salt: "other", From: 0, To: 50_000}}}, Serve: Allocation{Variant: "b"}},
			},
			Default: &Allocation{Split: []WeightedVariant{{Variant: "c", Weight: 50_000}, {Variant: "d", Weight: 50_000}}},
		}}}
	}
	// want computes the variant from the documented seeds: salt + "/" + value.
	want := func(value string) string {
		own, other := Bucket("acct-salt/"+value, TotalBuckets), Bucket("other/"+value, TotalBuckets)
		switch {
		case own < 30_000:
			return "a"
		case other < 50_000:
			return "b"
		case own < 50_000:
			return "c"
		}
		return "d"
	}
	snap, err := Compile(flag("account_id"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		attr    any
		hashed  string
		errCode ErrorCode
	}{
		{"a string account id is hashed as written", "acct-42", "acct-42", ErrNone},
		{"an int account id is hashed in decimal", 1234567, "1234567", ErrNone},
		{"an int64 account id is hashed in decimal", int64(9007199254740993), "9007199254740993", ErrNone},
		{"a uint64 account id is hashed in decimal", uint64(18446744073709551615), "18446744073709551615", ErrNone},
		{"a whole float account id is hashed in decimal, not exponent form", 1234567.0, "1234567", ErrNone},
		{"a json.Number account id is hashed in decimal", json.Number("1234567"), "1234567", ErrNone},
		{"a fractional number is hashed in shortest form", 0.5, "0.5", ErrNone},
		{"a bool is hashed as true or false", true, "true", ErrNone},
		{"an empty string cannot be bucketed on", "", "", ErrTargetingKeyMissing},
		{"a list cannot be bucketed on", []any{"x"}, "", ErrTargetingKeyMissing},
		{"null cannot be bucketed on", nil, "", ErrTargetingKeyMissing},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := snap.Evaluate("per-account", Context{Key: "user-1", Attributes: attr("account_id", tt.attr)})
			if r.ErrorCode != tt.errCode {
				t.Fatalf("error code = %v, want %v", r.ErrorCode, tt.errCode)
			}
			if tt.errCode == ErrNone && r.Variant != want(tt.hashed) {
				t.Errorf("variant = %q, want %q (bucket of %q is %d)", r.Variant, want(tt.hashed), tt.hashed, Bucket("acct-salt/"+tt.hashed, TotalBuckets))
			}
		})
	}
	t.Run("units of one account share a variant whatever their key", func(t *testing.T) {
		for acct := 0; acct < 50; acct++ {
			first := snap.Evaluate("per-account", Context{Key: "u0", Attributes: attr("account_id", acct)})
			for u := 1; u < 5; u++ {
				r := snap.Evaluate("per-account", Context{Key: fmt.Sprintf("u%d", u), Attributes: attr("account_id", acct)})
				if r.Variant != first.Variant {
					t.Fatalf("account %d: unit u%d got %q, unit u0 got %q", acct, u, r.Variant, first.Variant)
				}
			}
		}
	})
	t.Run("a missing bucket_by attribute is TARGETING_KEY_MISSING even with a unit key", func(t *testing.T) {
		r := snap.Evaluate("per-account", Context{Key: "user-1"})
		if r.ErrorCode != ErrTargetingKeyMissing {
			t.Errorf("error code = %v, want TARGETING_KEY_MISSING", r.ErrorCode)
		}
	})
	for _, name := range []string{"key", "targetingKey"} {
		t.Run("bucket_by "+name+" buckets splits and bucket conditions on the unit key", func(t *testing.T) {
			byKey, err := Compile(flag(name))
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i < 100; i++ {
				key := fmt.Sprintf("user-%d", i)
				r := byKey.Evaluate("per-account", Context{Key: key})
				if r.ErrorCode != ErrNone || r.Variant != want(key) {
					t.Fatalf("%s: got %q %v, want %q", key, r.Variant, r.ErrorCode, want(key))
				}
			}
		})
	}
}

func TestFlagAndRuleMetadataAreReturned(t *testing.T) {
	snap, err := Compile(summarizeSet())
	if err != nil {
		t.Fatal(err)
	}
	r := snap.Evaluate("targeted", user(attr("country", "DE")))
	wantFlag := map[string]any{"owner": "ai-team", "cost": 0.25, "tier": int64(2), "public": true}
	if diff := cmp.Diff(wantFlag, r.Metadata); diff != "" {
		t.Errorf("flag metadata (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]string{"rollout": "r-7", "stage": "beta", "arm": "treatment"}, r.RuleMetadata); diff != "" {
		t.Errorf("rule metadata (-want +got):\n%s", diff)
	}
	// The default carries the flag's metadata but no rule's.
	r = snap.Evaluate("targeted", user(nil))
	if diff := cmp.Diff(wantFlag, r.Metadata); diff != "" || r.RuleMetadata != nil {
		t.Errorf("default: flag metadata diff %s, rule metadata %v", diff, r.RuleMetadata)
	}
}

func TestSnapshotAccessors(t *testing.T) {
	set := summarizeSet()
	snap, err := Compile(set)
	if err != nil {
		t.Fatal(err)
	}
	if snap.Set() != set {
		t.Error("Set() should return the compiled set")
	}
	want := []string{"bucket-ring", "no-default", "off-with-variant", "off-without-variant", "segment-bucket", "split-default", "split-rule", "static", "targeted"}
	if diff := cmp.Diff(want, snap.Keys()); diff != "" {
		t.Errorf("Keys() (-want +got):\n%s", diff)
	}
	if f, ok := snap.Flag("static"); !ok || f != set.Flags["static"] {
		t.Errorf("Flag(static) = %v, %v", f, ok)
	}
	if _, ok := snap.Flag("nope"); ok {
		t.Error("Flag(nope) should not be found")
	}
	var h Holder
	if h.Load() != nil {
		t.Error("a new Holder should hold nothing")
	}
	h.Store(snap)
	if h.Load() != snap {
		t.Error("Load() should return the stored snapshot")
	}
}

func TestReasonAndErrorCodeNames(t *testing.T) {
	var got []string
	for r := ReasonError; r <= ReasonDisabled+1; r++ {
		text, _ := r.MarshalText()
		got = append(got, string(text))
	}
	for c := ErrNone; c <= ErrGeneral+1; c++ {
		text, _ := c.MarshalText()
		got = append(got, string(text))
	}
	want := []string{"ERROR", "STATIC", "TARGETING_MATCH", "SPLIT", "DEFAULT", "DISABLED", "UNKNOWN",
		"", "FLAG_NOT_FOUND", "TYPE_MISMATCH", "TARGETING_KEY_MISSING", "PARSE_ERROR", "GENERAL", "GENERAL"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("names (-want +got):\n%s", diff)
	}
}

// TestResultsMarshalWithOpenFeatureNames guards the JSON the server returns.
func TestResultsMarshalWithOpenFeatureNames(t *testing.T) {
	out, err := json.Marshal(struct {
		Reason    Reason
		ErrorCode ErrorCode
	}{ReasonTargetingMatch, ErrTargetingKeyMissing})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"Reason":"TARGETING_MATCH","ErrorCode":"TARGETING_KEY_MISSING"}`; string(out) != want {
		t.Errorf("got %s, want %s", out, want)
	}
}

func TestJSONEqualComparesStructurally(t *testing.T) {
	obj := map[string]any{"a": []any{1.0, "x", true, nil}}
	tests := []struct {
		a, b any
		want bool
	}{
		{obj, map[string]any{"a": []any{1, "x", true, nil}}, true},
		{obj, map[string]any{"a": []any{1, "x", true}}, false},
		{obj, map[string]any{"b": []any{1, "x", true, nil}}, false},
		{obj, []any{obj}, false},
		{[]any{"x"}, "x", false},
		{nil, nil, true},
		{nil, false, false},
		{"x", "x", true},
		{2, 2.0, true},
		{2, "2", false},
		{struct{}{}, 1, false},
	}
	for _, tt := range tests {
		if got := jsonEqual(tt.a, tt.b); got != tt.want {
			t.Errorf("jsonEqual(%v, %v) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
	// equals falls back to jsonEqual for attribute values that are neither strings,
	// bools nor numbers.
	c := compiledCondition{op: OpEquals, value: []any{"x"}}
	if !c.test([]any{"x"}) || c.test([]any{"y"}) {
		t.Error("equals with a list operand should compare lists structurally")
	}
}

func TestToFloatReadsEveryNumericType(t *testing.T) {
	for _, v := range []any{int(3), int8(3), int16(3), int32(3), int64(3), uint(3), uint8(3), uint16(3), uint32(3), uint64(3), float32(3), 3.0, json.Number("3")} {
		if f, ok := toFloat(v); !ok || f != 3 {
			t.Errorf("toFloat(%T) = %v, %v", v, f, ok)
		}
	}
	for _, v := range []any{"3", true, nil, json.Number("x"), []any{3}} {
		if _, ok := toFloat(v); ok {
			t.Errorf("toFloat(%#v) should fail", v)
		}
	}
}

func TestParseRFC3339AgreesWithTheStandardLibrary(t *testing.T) {
	valid := []string{"2026-12-01T09:00:00Z", "2026-12-01T09:00:00.123456789Z", "2026-12-01T09:00:00.5+05:30",
		"2024-02-29T23:59:59-00:00", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59.999999999Z",
		"1969-12-31T23:59:59.1234567891Z", "2000-03-01T00:00:00-23:59"}
	for _, s := range valid {
		got, ok := parseRFC3339(s)
		want, err := timeParse(s)
		if !ok || err != nil {
			t.Errorf("%q: parseRFC3339 ok=%v, time.Parse err=%v", s, ok, err)
			continue
		}
		if got != want {
			t.Errorf("parseRFC3339(%q) = %+v, want %+v", s, got, want)
		}
	}
	invalid := []string{"", "2026-12-01", "2026-12-01T09:00:00", "2026-13-01T00:00:00Z", "2026-02-29T00:00:00Z",
		"2100-02-29T00:00:00Z", "2026-04-31T00:00:00Z", "2026-12-01T24:00:00Z", "2026-12-01T09:60:00Z",
		"2026-12-01T09:00:60Z", "2026-12-01T09:00:00.Z", "2026-12-01T09:00:00+2:00", "2026-12-01T09:00:00+24:00",
		"2026-12-01T09:00:00+02:60", "2026-12-01 09:00:00Z", "20x6-12-01T09:00:00Z", "2026-12-01T09:00:00ZZ",
		"2026-00-01T00:00:00Z", "2026-01-00T00:00:00Z", "2026-12-01T09:00:00+0200", "2026-12-01T09:00:00+02:0x"}
	for _, s := range invalid {
		if got, ok := parseRFC3339(s); ok {
			t.Errorf("parseRFC3339(%q) = %+v, want an error", s, got)
		}
	}
}

func timeParse(s string) (instant, error) {
	tm, err := time.Parse(time.RFC3339Nano, s)
	return instant{sec: tm.Unix(), nsec: int32(tm.Nanosecond())}, err
}

func TestParseInstantReadsUnixSeconds(t *testing.T) {
	tests := []struct {
		v    any
		want instant
		ok   bool
	}{
		{int64(1796115600), instant{sec: 1796115600}, true},
		{1796115600.25, instant{sec: 1796115600, nsec: 250_000_000}, true},
		{-1.5, instant{sec: -2, nsec: 500_000_000}, true},
		{0.9999999999, instant{sec: 1}, true},
		{json.Number("12"), instant{sec: 12}, true},
		{json.Number("1.5"), instant{sec: 1, nsec: 500_000_000}, true},
		{1e300, instant{sec: 1<<63 - 1}, true},
		{-1e300, instant{sec: -1 << 63}, true},
		{math.NaN(), instant{}, false},
		{true, instant{}, false},
	}
	for _, tt := range tests {
		got, ok := parseInstant(tt.v)
		if ok != tt.ok || got != tt.want {
			t.Errorf("parseInstant(%v) = %+v, %v; want %+v, %v", tt.v, got, ok, tt.want, tt.ok)
		}
	}
	if instant.compare(instant{sec: 1, nsec: 2}, instant{sec: 1, nsec: 1}) != 1 || (instant{}).compare(instant{}) != 0 {
		t.Error("compare")
	}
}

func TestSemverParsing(t *testing.T) {
	valid := map[string]version{
		"1.2.3":              {major: 1, minor: 2, patch: 3},
		"v1.2.3-rc.1+build5": {major: 1, minor: 2, patch: 3, pre: "rc.1"},
		"1":                  {major: 1},
		"1.2":                {major: 1, minor: 2},
		"1.2.3-x-y":          {major: 1, minor: 2, patch: 3, pre: "x-y"},
	}
	for s, want := range valid {
		got, ok := parseSemver(s)
		if !ok || got != want {
			t.Errorf("parseSemver(%q) = %+v, %v; want %+v", s, got, ok, want)
		}
	}
	for _, s := range []string{"", "v", "1.", "1..2", "1.2.3.4", "1.2.x", "a.b.c", "1.2.3-", "99999999999999999999.0.0", "-1.0.0"} {
		if _, ok := parseSemver(s); ok {
			t.Errorf("parseSemver(%q) should fail", s)
		}
	}
	// Pre-release corner cases: a longer list ranks higher when the shared part is
	// equal; numeric identifiers rank below alphanumeric ones.
	pre := []struct {
		a, b string
		want int
	}{
		{"1.0", "1", 1}, {"1", "1.0", -1}, {"alpha", "1", 1}, {"1", "alpha", -1},
		{"2", "10", -1}, {"a.b", "a.b", 0}, {"b", "a", 1},
	}
	for _, p := range pre {
		if got := comparePrerelease(p.a, p.b); got != p.want {
			t.Errorf("comparePrerelease(%q, %q) = %d, want %d", p.a, p.b, got, p.want)
		}
	}
}

// TestEvaluateIgnoresAttributesOfUnrelatedNames makes sure that an attribute name
// sharing a prefix with the tested one is not read.
func TestEvaluateIgnoresAttributesOfUnrelatedNames(t *testing.T) {
	cond := Condition{Attribute: "country", Op: OpEquals, Value: "DE"}
	if holds(t, cond, nil, user(map[string]any{"Country": "DE", "country_code": "DE", "country ": "DE"})) {
		t.Error("only the attribute named exactly country should be read")
	}
}

// TestListAndObjectAttributes pins docs/flag-format.md: in, not_in and contains look
// at a list's elements; to every other operator a list or an object is a value unlike
// any operand.
func TestListAndObjectAttributes(t *testing.T) {
	obj := map[string]any{"DE": true}
	list := []any{"DE", 5.0}
	op := func(o Operator, v any) Condition { return Condition{Attribute: "a", Op: o, Value: v} }
	runConditionCases(t, []conditionCase{
		{"equals never holds on an object", op(OpEquals, "DE"), attr("a", obj), false},
		{"not_equals holds on an object", op(OpNotEquals, "DE"), attr("a", obj), true},
		{"in never holds on an object", Condition{Attribute: "a", Op: OpIn, Values: []any{"DE", true, nil}}, attr("a", obj), false},
		{"not_in holds on an object", Condition{Attribute: "a", Op: OpNotIn, Values: []any{"DE"}}, attr("a", obj), true},
		{"contains never holds on an object", op(OpContains, "DE"), attr("a", obj), false},
		{"starts_with never holds on an object", op(OpStartsWith, "D"), attr("a", obj), false},
		{"lt never holds on an object", op(OpLT, 10.0), attr("a", obj), false},
		{"semver_gt never holds on an object", op(OpSemverGT, "0.0.1"), attr("a", obj), false},
		{"before never holds on an object", op(OpBefore, "2999-01-01T00:00:00Z"), attr("a", obj), false},
		{"exists holds on an object", Condition{Attribute: "a", Op: OpExists}, attr("a", obj), true},
		{"equals never holds on a list", op(OpEquals, "DE"), attr("a", list), false},
		{"not_equals holds on a list even when it contains the operand", op(OpNotEquals, "DE"), attr("a", list), true},
		{"gt never holds on a list of numbers", op(OpGT, 1.0), attr("a", list), false},
		{"matches never holds on a list", op(OpMatches, "DE"), attr("a", list), false},
	})
}

// TestSnapshotsAreSafeForConcurrentReadersWhileSwapped evaluates from several
// goroutines while a Holder swaps snapshots (run with -race).
func TestSnapshotsAreSafeForConcurrentReadersWhileSwapped(t *testing.T) {
	var h Holder
	h.Store(mustCompile(t, rolloutFlagSet(TypeBool)))
	ctxs := benchContexts()[:500]
	done := make(chan struct{})
	errs := make(chan string, 4)
	for g := range 4 {
		go func() {
			for i := 0; ; i++ {
				select {
				case <-done:
					errs <- ""
					return
				default:
				}
				ctx := ctxs[(i+g*97)%len(ctxs)]
				if r := h.Load().Evaluate("rollout-flag", ctx); r.ErrorCode != ErrNone {
					errs <- fmt.Sprintf("%s: %v", ctx.Key, r.ErrorCode)
					return
				}
			}
		}()
	}
	for range 50 {
		h.Store(mustCompile(t, rolloutFlagSet(TypeBool)))
	}
	close(done)
	for range 4 {
		if msg := <-errs; msg != "" {
			t.Error(msg)
		}
	}
}
