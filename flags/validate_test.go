package flags

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// problems decodes doc and returns the validation messages, failing the test when
// the document is accepted or does not even parse.
func problems(t *testing.T, doc string) []string {
	t.Helper()
	_, err := DecodeSet([]byte(doc))
	var verrs ValidationErrors
	if !errors.As(err, &verrs) {
		t.Fatalf("DecodeSet returned %v (%T), want ValidationErrors", err, err)
	}
	msgs := make([]string, len(verrs))
	for i, e := range verrs {
		msgs[i] = e.Error()
	}
	return msgs
}

// summarize wraps the body of a flag "summarize" (type json unless the body says
// otherwise) into a set with a "beta-testers" segment.
func summarize(body string) string {
	return `{"flags": {"summarize": {"enabled": true,
		"variants": {"small": {"model": "s"}, "large": {"model": "l"}}, ` + body + `}},
		"segments": {"beta-testers": {"included": ["u1"]}}}`
}

func TestValidationNamesThePathAndTheFix(t *testing.T) {
	const jsonType = `"type": "json", `
	tests := []struct {
		name string
		doc  string
		want []string
	}{
		{
			"an unknown operator is named with the closest one",
			summarize(jsonType + `"rules": [
				{"conditions": [], "serve": {"variant": "small"}},
				{"conditions": [], "serve": {"variant": "small"}},
				{"conditions": [{"attribute": "email", "op": "containz", "value": "@acme.com"}], "serve": {"variant": "large"}}]`),
			[]string{`flags["summarize"].rules[2].conditions[0].op: unknown operator "containz" (did you mean "contains"?)`},
		},
		{
			"an operator far from every known one gets no suggestion",
			summarize(jsonType + `"rules": [{"conditions": [{"attribute": "a", "op": "xyzzy", "value": 1}], "serve": {"variant": "large"}}]`),
			[]string{`flags["summarize"].rules[0].conditions[0].op: unknown operator "xyzzy"`},
		},
		{
			"a missing operator lists the operators",
			summarize(jsonType + `"rules": [{"conditions": [{"attribute": "a", "value": 1}], "serve": {"variant": "large"}}]`),
			[]string{`flags["summarize"].rules[0].conditions[0].op: missing; use one of ` + strings.Join(operators, ", ")},
		},
		{
			"unknown variants are named wherever they are served",
			summarize(jsonType + `"off_variant": "smal", "rules": [{"serve": {"variant": "huge"}}],
				"default": {"split": [{"variant": "small", "weight": 50000}, {"variant": "larg", "weight": 50000}]}`),
			[]string{
				`flags["summarize"].off_variant: unknown variant "smal" (did you mean "small"?); the flag's variants are "large", "small"`,
				`flags["summarize"].rules[0].serve.variant: unknown variant "huge"; the flag's variants are "large", "small"`,
				`flags["summarize"].default.split[1].variant: unknown variant "larg" (did you mean "large"?); the flag's variants are "large", "small"`,
			},
		},
		{
			"weights must sum to 100000",
			summarize(jsonType + `"default": {"split": [{"variant": "small", "weight": 10}, {"variant": "large", "weight": 90}]}`),
			[]string{`flags["summarize"].default.split: weights sum to 100; they must sum to 100000 (weights are in buckets: 1% = 1000)`},
		},
		{
			"a split lists each variant once",
			summarize(jsonType + `"default": {"split": [{"variant": "small", "weight": 50000}, {"variant": "small", "weight": 50000}]}`),
			[]string{`flags["summarize"].default.split[1].variant: "small" is also split[0]; list each variant once`},
		},
		{
			"rule ids are unique within a flag",
			summarize(jsonType + `"rules": [{"id": "beta", "serve": {"variant": "small"}}, {"id": "ga", "serve": {"variant": "small"}}, {"id": "beta", "serve": {"variant": "large"}}]`),
			[]string{`flags["summarize"].rules[2].id: "beta" is also the id of rules[0]; rule ids must be unique within a flag`},
		},
		{
			"an allocation serves a variant or a split, not both, and not nothing",
			summarize(jsonType + `"rules": [{"serve": {}}], "default": {"variant": "small", "split": [{"variant": "small", "weight": 100000}]}`),
			[]string{
				`flags["summarize"].rules[0].serve: serves nothing; set variant or split`,
				`flags["summarize"].default: has both variant and split; serve one variant or a split, not both`,
			},
		},
		{
			"a bad regular expression is named with the parser's reason",
			summarize(jsonType + `"rules": [{"conditions": [{"attribute": "email", "op": "matches", "value": "([a-z]+@acme"}], "serve": {"variant": "large"}}]`),
			[]string{"flags[\"summarize\"].rules[0].conditions[0].value: bad regular expression: missing closing ): `([a-z]+@acme`"},
		},
		{
			"an int flag's variants are whole numbers",
			`{"flags": {"max-tokens": {"type": "int", "variants": {"short": 256, "long": 1.5, "word": "many", "huge": 1e19}}}}`,
			[]string{
				`flags["max-tokens"].variants["huge"]: an int flag's variants must be whole numbers within ±2^63, not 1e+19; use type float for fractions`,
				`flags["max-tokens"].variants["long"]: an int flag's variants must be whole numbers within ±2^63, not 1.5; use type float for fractions`,
				`flags["max-tokens"].variants["word"]: an int flag's variants must be whole numbers, not the string "many"`,
			},
		},
		{
			"a bool flag's variants are true or false",
			`{"flags": {"beta-ui": {"type": "bool", "variants": {"on": true, "off": "yes"}}}}`,
			[]string{`flags["beta-ui"].variants["off"]: a bool flag's variants must be true or false, not the string "yes"`},
		},
		{
			"string and float flags check their variants",
			`{"flags": {"model": {"type": "string", "variants": {"a": 1, "b": null}}, "temp": {"type": "float", "variants": {"t": "0.2", "big": 1e400}}}}`,
			[]string{
				`flags["model"].variants["a"]: a string flag's variants must be strings, not the number 1`,
				`flags["model"].variants["b"]: a string flag's variants must be strings, not null`,
				`flags["temp"].variants["big"]: a float flag's variants must be numbers, not the number 1e400, which is out of range`,
				`flags["temp"].variants["t"]: a float flag's variants must be numbers, not the string "0.2"`,
			},
		},
		{
			"a json flag's variants may be any JSON value but not out-of-range numbers",
			`{"flags": {"cfg": {"type": "json", "variants": {"obj": {"a": [1, null, true]}, "list": [1], "null": null, "bad": {"n": 1e999}}}}}`,
			[]string{`flags["cfg"].variants["bad"]: a json variant must be a JSON value, not the number 1e999, which is out of range`},
		},
		{
			"the type is required and must be known",
			`{"flags": {"a": {"variants": {"x": 1}}, "b": {"type": "strng", "variants": {"x": "1"}}, "c": {"type": "number", "variants": {"x": 1}}}}`,
			[]string{
				`flags["a"].type: missing; use one of bool, string, int, float, json`,
				`flags["b"].type: unknown type "strng" (did you mean "string"?); use one of bool, string, int, float, json`,
				`flags["c"].type: unknown type "number"; use one of bool, string, int, float, json`,
			},
		},
		{
			"segment references must exist",
			summarize(jsonType + `"rules": [{"conditions": [{"op": "in_segment", "segment": "beta-tester"}, {"op": "not_in_segment", "segment": "staff"}], "serve": {"variant": "large"}}]`),
			[]string{
				`flags["summarize"].rules[0].conditions[0].segment: unknown segment "beta-tester" (did you mean "beta-testers"?); define it under segments`,
				`flags["summarize"].rules[0].conditions[1].segment: unknown segment "staff"; define it under segments`,
			},
		},
		{
			"segment references must not form a cycle",
			`{"flags": {}, "segments": {
				"a": {"rules": [{"conditions": [{"op": "in_segment", "segment": "b"}]}]},
				"b": {"rules": [{"conditions": [{"attribute": "x", "op": "exists"}, {"op": "in_segment", "segment": "c"}]}]},
				"c": {"rules": [{"conditions": [{"op": "not_in_segment", "segment": "a"}]}]},
				"d": {"rules": [{"conditions": [{"op": "in_segment", "segment": "a"}]}]},
				"self": {"rules": [{"conditions": [{"op": "in_segment", "segment": "self"}]}]}}}`,
			[]string{
				`segments["c"].rules[0].conditions[0].segment: segment references form a cycle: a → b → c → a; remove one of these references`,
				`segments["self"].rules[0].conditions[0].segment: segment references form a cycle: self → self; remove one of these references`,
			},
		},
		{
			"keys are not empty",
			`{"flags": {"": {"type": "bool", "variants": {"": true}}}, "segments": {"": {"included": [""], "excluded": [""]}}}`,
			[]string{
				`segments[""]: segment key must not be empty`,
				`segments[""].included[0]: must not be empty`,
				`segments[""].excluded[0]: must not be empty`,
				`flags[""]: flag key must not be empty`,
				`flags[""].variants[""]: variant key must not be empty`,
			},
		},
		{
			"keys use only a-z, 0-9, '.', '_' and '-'",
			`{"flags": {"Summarize_V2": {"type": "bool", "variants": {"Bad Name": true, "émoji": false}}}, "segments": {"beta testers": {}}}`,
			[]string{
				`segments["beta testers"]: segment key "beta testers" has ' ' at position 4; keys use only a-z, 0-9, '.', '_' and '-' (try "beta-testers")`,
				`flags["Summarize_V2"]: flag key "Summarize_V2" has 'S' at position 0; keys use only a-z, 0-9, '.', '_' and '-' (try "summarize_v2")`,
				`flags["Summarize_V2"].variants["Bad Name"]: variant key "Bad Name" has 'B' at position 0; keys use only a-z, 0-9, '.', '_' and '-' (try "bad-name")`,
				`flags["Summarize_V2"].variants["émoji"]: variant key "émoji" has 'é' at position 0; keys use only a-z, 0-9, '.', '_' and '-' (try "-moji")`,
			},
		},
		{
			"keys are at most 128 characters",
			`{"flags": {"` + strings.Repeat("k", 129) + `": {"type": "bool", "variants": {"on": true}}}}`,
			[]string{`flags["` + strings.Repeat("k", 129) + `"]: flag key is 129 characters long; the limit is 128`},
		},
		{
			"a flag needs variants",
			`{"flags": {"empty": {"type": "bool", "variants": {}}, "none": {"type": "bool"}}}`,
			[]string{
				`flags["empty"].variants: a flag needs at least one variant`,
				`flags["none"].variants: a flag needs at least one variant`,
			},
		},
		{
			"null flags and segments are named",
			`{"flags": {"gone": null}, "segments": {"gone": null}}`,
			[]string{
				`segments["gone"]: the segment is null; remove it or give it keys or rules`,
				`flags["gone"]: the flag is null; give it a type and variants or remove it`,
			},
		},
		{
			"a flag's key field, if given, equals its map key",
			`{"flags": {"a": {"key": "b", "type": "bool", "variants": {"on": true}}}, "segments": {"s": {"key": "t"}}}`,
			[]string{
				`segments["s"].key: "t" differs from the key "s" it is listed under; remove it or make them equal`,
				`flags["a"].key: "b" differs from the key "a" it is listed under; remove it or make them equal`,
			},
		},
		{
			"versions, metadata and tags are checked",
			`{"flags": {"a": {"type": "bool", "variants": {"on": true}, "version": -2, "metadata": {"list": [1], "obj": {}, "nil": null, "ok": 1.5}, "tags": ["ai", ""]}}}`,
			[]string{
				`flags["a"].version: -2 is negative`,
				`flags["a"].metadata["list"]: metadata values must be strings, numbers or booleans, not a list`,
				`flags["a"].metadata["nil"]: metadata values must be strings, numbers or booleans, not null`,
				`flags["a"].metadata["obj"]: metadata values must be strings, numbers or booleans, not an object`,
				`flags["a"].tags[1]: must not be empty`,
			},
		},
		{
			"operands match their operator",
			summarize(jsonType + `"rules": [{"conditions": [
				{"attribute": "a", "op": "equals"},
				{"attribute": "a", "op": "equals", "value": ["x"]},
				{"attribute": "a", "op": "in", "values": []},
				{"attribute": "a", "op": "not_in", "value": "x"},
				{"attribute": "a", "op": "in", "values": ["x", {"y": 1}, [1]]},
				{"attribute": "a", "op": "starts_with", "value": 1},
				{"attribute": "a", "op": "matches", "value": true},
				{"attribute": "a", "op": "lt", "value": "10"},
				{"attribute": "a", "op": "semver_gt", "value": 2},
				{"attribute": "a", "op": "semver_lt", "value": "one"},
				{"attribute": "a", "op": "before", "value": "tomorrow"},
				{"attribute": "a", "op": "after", "value": false},
				{"attribute": "a", "op": "contains", "value": {"x": 1}},
				{"op": "exists"},
				{"attribute": "a", "op": "exists", "value": 1},
				{"attribute": "a", "op": "in_segment", "segment": "beta-testers"},
				{"op": "in_segment"},
				{"op": "equals", "attribute": "a", "value": "x", "segment": "beta-testers", "bucket": {"from": 0, "to": 1}}
			], "serve": {"variant": "large"}}]`),
			[]string{
				`flags["summarize"].rules[0].conditions[0].value: missing; equals needs a value`,
				`flags["summarize"].rules[0].conditions[1].value: must be a string, number or boolean, not a list`,
				`flags["summarize"].rules[0].conditions[2].values: in needs a non-empty list, e.g. ["DE", "FR"]`,
				`flags["summarize"].rules[0].conditions[3].value: not_in takes no value; put its operands in values`,
				`flags["summarize"].rules[0].conditions[3].values: not_in needs a non-empty list, e.g. ["DE", "FR"]`,
				`flags["summarize"].rules[0].conditions[4].values[1]: must be a string, number, boolean or null, not an object`,
				`flags["summarize"].rules[0].conditions[4].values[2]: must be a string, number, boolean or null, not a list`,
				`flags["summarize"].rules[0].conditions[5].value: starts_with needs a string, not the number 1`,
				`flags["summarize"].rules[0].conditions[6].value: matches needs a regular expression string, not the boolean true`,
				`flags["summarize"].rules[0].conditions[7].value: lt needs a number, not the string "10"`,
				`flags["summarize"].rules[0].conditions[8].value: semver_gt needs a version string such as "1.4.0", not the number 2`,
				`flags["summarize"].rules[0].conditions[9].value: "one" is not a semantic version; write it as MAJOR.MINOR.PATCH, e.g. "1.4.0" or "2.0.0-rc.1"`,
				`flags["summarize"].rules[0].conditions[10].value: "tomorrow" is not an RFC 3339 time; write it like "2026-12-01T09:00:00Z"`,
				`flags["summarize"].rules[0].conditions[11].value: after needs an RFC 3339 time string or Unix seconds, not the boolean false`,
				`flags["summarize"].rules[0].conditions[12].value: must be a string, number or boolean, not an object`,
				`flags["summarize"].rules[0].conditions[13].attribute: missing; exists tests a context attribute, e.g. "country"`,
				`flags["summarize"].rules[0].conditions[14].value: exists takes no value`,
				`flags["summarize"].rules[0].conditions[15].attribute: in_segment does not test an attribute; remove it`,
				`flags["summarize"].rules[0].conditions[16].segment: missing; name the segment to test`,
				`flags["summarize"].rules[0].conditions[17].segment: equals takes no segment; put its operand in value`,
				`flags["summarize"].rules[0].conditions[17].bucket: equals takes no bucket range; put its operand in value`,
			},
		},
		{
			"bucket ranges lie within [0, 100000) and need a salt inside segments",
			`{"flags": {"ring": {"type": "bool", "variants": {"on": true}, "rules": [{"conditions": [
				{"bucket": {"from": 5000, "to": 5000}},
				{"op": "bucket", "bucket": {"from": 0, "to": 100001}},
				{"op": "bucket"},
				{"op": "bucket", "attribute": "country", "values": ["DE"], "bucket": {"from": 0, "to": 1}}
			], "serve": {"variant": "on"}}]}},
			"segments": {"ring": {"rules": [{"conditions": [{"bucket": {"from": 0, "to": 10}}, {"bucket": {"salt": "s", "from": 0, "to": 10}}]}]}}}`,
			[]string{
				`segments["ring"].rules[0].conditions[0].bucket.salt: a bucket condition in a segment needs an explicit salt (there is no flag to take it from)`,
				`flags["ring"].rules[0].conditions[0].bucket: from 5000 must be below to 5000 (the range is [from, to))`,
				`flags["ring"].rules[0].conditions[1].bucket.to: 100001 is above 100000, the number of buckets`,
				`flags["ring"].rules[0].conditions[2].bucket: missing; give the range as {"from": 0, "to": 5000}`,
				`flags["ring"].rules[0].conditions[3].attribute: bucket does not test an attribute; remove it`,
				`flags["ring"].rules[0].conditions[3].values: bucket takes no list of values; give the range in bucket`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, problems(t, tt.doc)); diff != "" {
				t.Errorf("validation messages (-want +got):\n%s", diff)
			}
		})
	}
}

// TestValidationListsEveryProblem makes sure one pass reports all of a document's
// problems, across flags and segments, not only the first.
func TestValidationListsEveryProblem(t *testing.T) {
	doc := `{"flags": {
		"summarize": {"type": "json", "variants": {"small": {}}, "off_variant": "smal",
			"rules": [{"id": "x", "serve": {"variant": "small"}}, {"id": "x", "conditions": [{"attribute": "e", "op": "containz", "value": "@"}], "serve": {"variant": "big"}}],
			"default": {"split": [{"variant": "small", "weight": 1}]}},
		"max-tokens": {"type": "int", "variants": {"long": 1.5}},
		"beta-ui": {"type": "bool", "variants": {"on": "yes"}}},
		"segments": {"loop": {"rules": [{"conditions": [{"op": "in_segment", "segment": "loop"}]}]}}}`
	want := []string{
		`segments["loop"].rules[0].conditions[0].segment: segment references form a cycle: loop → loop; remove one of these references`,
		`flags["beta-ui"].variants["on"]: a bool flag's variants must be true or false, not the string "yes"`,
		`flags["max-tokens"].variants["long"]: an int flag's variants must be whole numbers within ±2^63, not 1.5; use type float for fractions`,
		`flags["summarize"].off_variant: unknown variant "smal" (did you mean "small"?); the flag's variants are "small"`,
		`flags["summarize"].rules[1].id: "x" is also the id of rules[0]; rule ids must be unique within a flag`,
		`flags["summarize"].rules[1].conditions[0].op: unknown operator "containz" (did you mean "contains"?)`,
		`flags["summarize"].rules[1].serve.variant: unknown variant "big"; the flag's variants are "small"`,
		`flags["summarize"].default.split: weights sum to 1; they must sum to 100000 (weights are in buckets: 1% = 1000)`,
	}
	got := problems(t, doc)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("validation messages (-want +got):\n%s", diff)
	}
	_, err := DecodeSet([]byte(doc))
	if msg := err.Error(); !strings.HasPrefix(msg, "8 problems: segments[\"loop\"]") || !strings.Contains(msg, "; flags[\"beta-ui\"]") {
		t.Errorf("ValidationErrors.Error() = %q, want every problem joined", msg)
	}
}

// TestValidateRejectsValuesJSONCannotCarry covers sets built in Go: NaN and infinities
// cannot be written as JSON, so a set holding them could not be stored or sent.
func TestValidateRejectsValuesJSONCannotCarry(t *testing.T) {
	set := &Set{Flags: map[string]*Flag{
		"f": {
			Type: TypeFloat, Variants: map[string]any{"nan": math.NaN(), "odd": struct{}{}},
			Metadata: map[string]any{"inf": math.Inf(1), "ch": make(chan int)},
			Rules: []Rule{{Conditions: []Condition{
				{Attribute: "a", Op: OpLT, Value: math.Inf(-1)},
				{Attribute: "a", Op: OpIn, Values: []any{math.NaN(), "ok"}},
			}, Serve: Allocation{Variant: "nan"}}},
		},
		"j": {Type: TypeJSON, Variants: map[string]any{"deep": map[string]any{"x": []any{math.NaN()}}, "odd": []any{struct{}{}}}},
	}}
	var verrs ValidationErrors
	if !errors.As(Validate(set), &verrs) {
		t.Fatal("Validate accepted NaN and infinities")
	}
	var got []string
	for _, e := range verrs {
		got = append(got, e.Error())
	}
	want := []string{
		`flags["f"].variants["nan"]: a float flag's variants must be finite numbers`,
		`flags["f"].variants["odd"]: a float flag's variants must be numbers, not a struct {}`,
		`flags["f"].rules[0].conditions[0].value: -Inf is not a finite number`,
		`flags["f"].rules[0].conditions[1].values[0]: NaN is not a finite number`,
		`flags["f"].metadata["ch"]: metadata values must be strings, numbers or booleans, not a chan int`,
		`flags["f"].metadata["inf"]: +Inf is not a finite number`,
		`flags["j"].variants["deep"]: a json variant must not hold NaN or infinity`,
		`flags["j"].variants["odd"]: a json variant must be a JSON value, not a struct {}`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("validation messages (-want +got):\n%s", diff)
	}
}

func TestValidateNormalizesGoValues(t *testing.T) {
	set := &Set{Flags: map[string]*Flag{
		"n": {Type: TypeInt, Enabled: true, Variants: map[string]any{"a": 3, "b": uint8(4), "c": 5.0, "d": uint64(1 << 62), "e": uint(6), "f": int32(7)},
			Metadata: map[string]any{"i": 3, "u": uint16(4), "f": 2.0, "s": "x", "big": uint64(math.MaxUint64)},
			Rules: []Rule{{Conditions: []Condition{
				{Attribute: "a", Op: OpIn, Values: []any{1, int64(2), float32(0.5)}},
				{Attribute: "a", Op: OpEquals, Value: int16(3)},
			}, Serve: Allocation{Variant: "a"}}}},
		"tooBig": {Type: TypeInt, Variants: map[string]any{"x": uint64(math.MaxUint64)}},
	}}
	err := Validate(set)
	want := ValidationErrors{
		{Path: `flags["tooBig"]`, Message: `flag key "tooBig" has 'B' at position 3; keys use only a-z, 0-9, '.', '_' and '-' (try "toobig")`},
		{Path: `flags["tooBig"].variants["x"]`, Message: `an int flag's variants must be whole numbers within ±2^63, not 1.8446744073709552e+19; use type float for fractions`},
	}
	if diff := cmp.Diff(want, err); diff != "" {
		t.Errorf("Validate (-want +got):\n%s", diff)
	}
	f := set.Flags["n"]
	wantVariants := map[string]any{"a": int64(3), "b": int64(4), "c": int64(5), "d": int64(1 << 62), "e": int64(6), "f": int64(7)}
	if diff := cmp.Diff(wantVariants, f.Variants); diff != "" {
		t.Errorf("variants (-want +got):\n%s", diff)
	}
	wantMeta := map[string]any{"i": int64(3), "u": int64(4), "f": 2.0, "s": "x", "big": float64(math.MaxUint64)}
	if diff := cmp.Diff(wantMeta, f.Metadata); diff != "" {
		t.Errorf("metadata (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]any{1.0, 2.0, 0.5}, f.Rules[0].Conditions[0].Values); diff != "" {
		t.Errorf("values (-want +got):\n%s", diff)
	}
	Normalize(nil) // a nil set is left alone
	Normalize(&Set{Flags: map[string]*Flag{"x": nil}, Segments: map[string]*Segment{"s": nil}})
}

func TestValidateANilSet(t *testing.T) {
	err := Validate(nil)
	if diff := cmp.Diff(ValidationErrors{{Message: "the flag set is missing"}}, err); diff != "" {
		t.Errorf("Validate(nil) (-want +got):\n%s", diff)
	}
	if _, err := Compile(nil); err == nil {
		t.Error("Compile(nil) should fail")
	}
}

func TestCheckKey(t *testing.T) {
	tests := []struct{ key, want string }{
		{"summarize", ""},
		{"a.b_c-9", ""},
		{strings.Repeat("x", 128), ""},
		{"", "must not be empty"},
		{strings.Repeat("x", 129), "is 129 characters long; the limit is 128"},
		{"ai/summarize", `"ai/summarize" has '/' at position 2; keys use only a-z, 0-9, '.', '_' and '-' (try "ai-summarize")`},
		{"Beta", `"Beta" has 'B' at position 0; keys use only a-z, 0-9, '.', '_' and '-' (try "beta")`},
	}
	for _, tt := range tests {
		if got := CheckKey(tt.key); got != tt.want {
			t.Errorf("CheckKey(%q) = %q, want %q", tt.key, got, tt.want)
		}
	}
}

func TestDecodeFlagValidatesAgainstTheSetsSegments(t *testing.T) {
	segments := map[string]*Segment{"beta": {Included: []string{"u1"}}}
	f, err := DecodeFlag("beta-ui", []byte(`{"type": "bool", "enabled": true, "variants": {"on": true, "off": false},
		"rules": [{"conditions": [{"op": "in_segment", "segment": "beta"}], "serve": {"variant": "on"}}], "default": {"variant": "off"}}`), segments)
	if err != nil {
		t.Fatal(err)
	}
	if f.Type != TypeBool || len(f.Rules) != 1 {
		t.Errorf("DecodeFlag = %+v", f)
	}
	_, err = DecodeFlag("beta-ui", []byte(`{"type": "bool", "variants": {"on": true},
		"rules": [{"conditions": [{"op": "in_segment", "segment": "alpha"}], "serve": {"variant": "on"}}]}`), segments)
	if want := `flags["beta-ui"].rules[0].conditions[0].segment: unknown segment "alpha"; define it under segments`; err == nil || err.Error() != want {
		t.Errorf("DecodeFlag error = %v, want %s", err, want)
	}
	_, err = DecodeFlag("beta-ui", []byte(`{"type": "bool", "variant": {}}`), nil)
	var pe *ParseError
	if !errors.As(err, &pe) || pe.Msg != `unknown field "variant" (did you mean "variants"?)` {
		t.Errorf("DecodeFlag with an unknown field = %v", err)
	}
}

func TestSuggest(t *testing.T) {
	tests := []struct {
		got        string
		candidates []string
		want       string
	}{
		{"containz", operators, ` (did you mean "contains"?)`},
		{"eq", operators, ``}, // too short for a distance-2 guess to be useful
		{"in", operators, ``}, // an exact match needs no suggestion
		{"startswith", operators, ` (did you mean "starts_with"?)`},
		{"semver_gte", operators, ` (did you mean "semver_gt"?)`},
		{"anything", nil, ``},
	}
	for _, tt := range tests {
		if got := suggest(tt.got, tt.candidates); got != tt.want {
			t.Errorf("suggest(%q) = %q, want %q", tt.got, got, tt.want)
		}
	}
}
