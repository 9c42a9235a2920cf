package flags

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// roundTripDoc uses every field of the format and the values that are easy to lose
// in a round trip: int64 extremes, a float flag's zero, json objects, metadata
// integers beside whole floats.
const roundTripDoc = `{
  "flags": {
    "summarize-config": {
      "type": "json",
      "description": "Model and prompt for the AI summarizer",
      "enabled": true,
      "variants": {
        "baseline": {"model": "gpt-small", "prompt": "v3", "temperature": 0.2, "max_tokens": 512, "stop": ["\n\n"], "tools": null},
        "candidate": {"model": "gpt-large", "prompt": "v4 — “quoted” <b>&</b>", "temperature": 0, "nested": {"a": [1, {"b": false}]}},
        "empty": {}
      },
      "off_variant": "baseline",
      "rules": [
        {"id": "staff", "description": "Staff always get the candidate",
         "conditions": [{"op": "in_segment", "segment": "staff"}],
         "serve": {"variant": "candidate"},
         "metadata": {"rollout": "r-1", "stage": "alpha", "arm": "treatment"}},
        {"id": "holdout", "conditions": [{"bucket": {"from": 95000, "to": 100000}}], "serve": {"variant": "baseline"}},
        {"id": "ring", "conditions": [{"op": "bucket", "bucket": {"salt": "ring-salt", "from": 0, "to": 9500}}],
         "serve": {"split": [{"variant": "candidate", "weight": 100000}, {"variant": "baseline", "weight": 0}]}}
      ],
      "default": {"variant": "baseline"},
      "salt": "summarize-config",
      "bucket_by": "account_id",
      "version": 42,
      "metadata": {"owner": "ai-team", "count": 1, "ratio": 1.0, "zero": 0.0, "half": 0.5, "big": 9007199254740993, "on": true},
      "client_side": true,
      "tags": ["ai", "summarizer"]
    },
    "max-tokens": {"type": "int", "enabled": true,
      "variants": {"max": 9223372036854775807, "min": -9223372036854775808, "odd": 9007199254740993, "exp": 1e3},
      "default": {"variant": "odd"}},
    "float-zero-flag": {"type": "float", "enabled": true, "variants": {"zero": 0, "neg": -0.5, "big": 1e300}, "default": {"variant": "zero"}},
    "operators": {"type": "string", "enabled": false, "variants": {"a": "A", "b": ""},
      "rules": [{"conditions": [
        {"attribute": "country", "op": "in", "values": ["DE", "FR", 1, true, null]},
        {"attribute": "country", "op": "not_in", "values": ["US"]},
        {"attribute": "plan", "op": "equals", "value": false},
        {"attribute": "plan", "op": "not_equals", "value": 0},
        {"attribute": "email", "op": "contains", "value": "@"},
        {"attribute": "email", "op": "starts_with", "value": "a"},
        {"attribute": "email", "op": "ends_with", "value": ".com"},
        {"attribute": "email", "op": "matches", "value": "^[a-z]+@\\w+\\.com$"},
        {"attribute": "age", "op": "lt", "value": 1.5},
        {"attribute": "age", "op": "lte", "value": -2},
        {"attribute": "age", "op": "gt", "value": 0},
        {"attribute": "age", "op": "gte", "value": 1e-7},
        {"attribute": "app", "op": "semver_lt", "value": "2.0.0-rc.1"},
        {"attribute": "app", "op": "semver_eq", "value": "v1.4"},
        {"attribute": "app", "op": "semver_gt", "value": "1.0.0+build"},
        {"attribute": "t", "op": "before", "value": "2026-12-01T09:00:00+01:00"},
        {"attribute": "t", "op": "after", "value": 1796115600},
        {"attribute": "targetingKey", "op": "exists"},
        {"op": "not_in_segment", "segment": "staff"}
      ], "serve": {"variant": "b"}}]}
  },
  "segments": {
    "staff": {"key": "staff", "description": "Employees", "included": ["u-1", "u-2"], "excluded": ["u-3"],
      "rules": [{"conditions": [{"attribute": "email", "op": "ends_with", "value": "@acme.com"}]},
                {"conditions": [{"op": "in_segment", "segment": "contractors"}]}]},
    "contractors": {"rules": [{"conditions": [{"bucket": {"salt": "c", "from": 0, "to": 1}}]}]}
  }
}`

func TestJSONRoundTripKeepsTheSetEqual(t *testing.T) {
	first, err := DecodeSet([]byte(roundTripDoc))
	if err != nil {
		t.Fatal(err)
	}
	out, err := json.Marshal(first)
	if err != nil {
		t.Fatal(err)
	}
	second, err := DecodeSet(out)
	if err != nil {
		t.Fatalf("DecodeSet of the marshalled set: %v\n%s", err, out)
	}
	if diff := cmp.Diff(first, second, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("round trip changed the set (-first +second):\n%s\n%s", diff, out)
	}
	if _, err := Compile(second); err != nil {
		t.Errorf("Compile of the round-tripped set: %v", err)
	}
}

// TestJSONRoundTripKeepsValueTypes pins the types a consumer relies on, after one
// and after two round trips.
func TestJSONRoundTripKeepsValueTypes(t *testing.T) {
	set, err := DecodeSet([]byte(roundTripDoc))
	if err != nil {
		t.Fatal(err)
	}
	for pass := range 2 {
		cfg, ints, floats := set.Flags["summarize-config"], set.Flags["max-tokens"], set.Flags["float-zero-flag"]
		checks := []struct {
			what      string
			got, want any
		}{
			{"int64 max", ints.Variants["max"], int64(math.MaxInt64)},
			{"int64 min", ints.Variants["min"], int64(math.MinInt64)},
			{"an int above 2^53 stays exact", ints.Variants["odd"], int64(9007199254740993)},
			{"an int written with an exponent", ints.Variants["exp"], int64(1000)},
			{"a float flag's zero stays a float", floats.Variants["zero"], 0.0},
			{"a float flag's large value", floats.Variants["big"], 1e300},
			{"a json variant is an object", cfg.Variants["candidate"].(map[string]any)["model"], "gpt-large"},
			{"numbers inside json variants are float64", cfg.Variants["baseline"].(map[string]any)["max_tokens"], 512.0},
			{"integer metadata is int64", cfg.Metadata["count"], int64(1)},
			{"an integer above 2^53 in metadata stays exact", cfg.Metadata["big"], int64(9007199254740993)},
			{"whole float metadata stays float", cfg.Metadata["ratio"], 1.0},
			{"float zero metadata stays float", cfg.Metadata["zero"], 0.0},
			{"fractional metadata is float", cfg.Metadata["half"], 0.5},
			{"bool metadata", cfg.Metadata["on"], true},
		}
		for _, c := range checks {
			if diff := cmp.Diff(c.want, c.got); diff != "" {
				t.Errorf("pass %d, %s (-want +got):\n%s", pass, c.what, diff)
			}
		}
		out, err := json.Marshal(set)
		if err != nil {
			t.Fatal(err)
		}
		if set, err = DecodeSet(out); err != nil {
			t.Fatal(err)
		}
	}
}

func TestMarshalWritesWholeFloatMetadataWithAFraction(t *testing.T) {
	f := Flag{Type: TypeBool, Variants: map[string]any{"on": true}, Metadata: map[string]any{
		"count": int64(3), "ratio": 2.0, "neg": -1.0, "half": 0.5, "huge": 1e21, "name": "x",
	}}
	out, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"type":"bool","variants":{"on":true},"enabled":false,"metadata":{"count":3,"half":0.5,"huge":1e+21,"name":"x","neg":-1.0,"ratio":2.0}}`
	if string(out) != want {
		t.Errorf("json.Marshal(flag) =\n%s\nwant\n%s", out, want)
	}
	// A pointer marshals the same way, and a flag without metadata omits it.
	out, _ = json.Marshal(&Flag{Type: TypeBool, Variants: map[string]any{"on": true}})
	if want := `{"type":"bool","variants":{"on":true},"enabled":false}`; string(out) != want {
		t.Errorf("json.Marshal(&flag) = %s, want %s", out, want)
	}
}

// TestGoBuiltSetsRoundTrip: a set built in Go, once validated (which normalizes its
// numbers), survives JSON unchanged.
func TestGoBuiltSetsRoundTrip(t *testing.T) {
	for name, set := range map[string]*Set{
		"summarize":    summarizeSet(),
		"rollout-bool": rolloutFlagSet(TypeBool),
		"realistic":    realisticSet(200, 1),
	} {
		t.Run(name, func(t *testing.T) {
			if err := Validate(set); err != nil {
				t.Fatal(err)
			}
			out, err := json.Marshal(set)
			if err != nil {
				t.Fatal(err)
			}
			back, err := DecodeSet(out)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(set, back, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("round trip (-built +decoded):\n%s", diff)
			}
		})
	}
}

func TestParseErrorsSayWhereAndWhat(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want ParseError
	}{
		{"an empty document", "", ParseError{Line: 1, Column: 1,
			Msg: `the document is empty; a flag set is an object such as {"flags": {}}`}},
		{"a blank document", "  \n\t", ParseError{Line: 1, Column: 1,
			Msg: `the document is empty; a flag set is an object such as {"flags": {}}`}},
		{"a document cut short", "{\"flags\": {\n", ParseError{Offset: 12, Line: 2, Column: 1,
			Msg: `invalid JSON: the document ends before its last value is complete`}},
		{"a trailing comma", `{"flags": {"a": {"type": "bool",}}}`, ParseError{Offset: 32, Line: 1, Column: 33,
			Msg: `invalid JSON: invalid character '}' looking for beginning of object key string`}},
		{"a misspelt literal", "{\"flags\": {\n  \"a\": {\"variants\": {\"on\": tru}}}}", ParseError{Offset: 42, Line: 2, Column: 31,
			Msg: `invalid JSON: invalid character '}' in literal true (expecting 'e')`}},
		{"a second document after the first", `{"flags": {}} {"flags": {}}`, ParseError{Offset: 14, Line: 1, Column: 15,
			Msg: `unexpected data after the JSON document`}},
		{"a stray closing brace", "{\"flags\": {}}\n}", ParseError{Offset: 14, Line: 2, Column: 1,
			Msg: `unexpected data after the JSON document`}},
		{"an unknown field, with the closest known one", "{\"flags\": {\n  \"summarize\": {\n    \"type\": \"bool\",\n    \"varients\": {}\n  }\n}}",
			ParseError{Offset: 53, Line: 4, Column: 5, Path: `flags["summarize"]`, Msg: `unknown field "varients" (did you mean "variants"?)`}},
		{"an unknown field deep in a rule", `{"flags": {"a": {"rules": [{"conditions": [{"atribute": "x"}]}]}}}`,
			ParseError{Offset: 44, Line: 1, Column: 45, Path: `flags["a"].rules[0].conditions[0]`, Msg: `unknown field "atribute" (did you mean "attribute"?)`}},
		{"an unknown field at the top", `{"flag": {}}`,
			ParseError{Offset: 1, Line: 1, Column: 2, Msg: `unknown field "flag" (did you mean "flags"?)`}},
		{"an unknown field far from any known one lists the fields", `{"flags": {}, "segments": {"s": {"zzz": 1}}}`,
			ParseError{Offset: 33, Line: 1, Column: 34, Path: `segments["s"]`, Msg: `unknown field "zzz"; the fields here are "description", "excluded", "included", "key", "rules"`}},
		{"a field spelt with capitals (encoding/json would accept it)", `{"flags": {"a": {"Type": "bool"}}}`,
			ParseError{Offset: 17, Line: 1, Column: 18, Path: `flags["a"]`, Msg: `unknown field "Type" (did you mean "type"? field names are lower case)`}},
		{"a flag defined twice (encoding/json would keep the last)", `{"flags": {"a": {}, "a": {}}}`,
			ParseError{Offset: 20, Line: 1, Column: 21, Path: `flags`, Msg: `"a" appears twice in this object; keep one`}},
		{"a field given twice", `{"flags": {"a": {"type": "bool", "type": "string"}}}`,
			ParseError{Offset: 33, Line: 1, Column: 34, Path: `flags["a"]`, Msg: `"type" appears twice in this object; keep one`}},
		{"a variant defined twice", `{"flags": {"a": {"variants": {"on": true, "on": false}}}}`,
			ParseError{Offset: 42, Line: 1, Column: 43, Path: `flags["a"].variants`, Msg: `"on" appears twice in this object; keep one`}},
		{"a key repeated inside a json value", `{"flags": {"a": {"variants": {"on": {"x": 1, "x": 2}}}}}`,
			ParseError{Offset: 45, Line: 1, Column: 46, Path: `flags["a"].variants["on"]`, Msg: `"x" appears twice in this object; keep one`}},
		{"a negative weight", `{"flags": {"a": {"default": {"split": [{"variant": "on", "weight": -1}]}}}}`,
			ParseError{Offset: 67, Line: 1, Column: 68, Path: `flags["a"].default.split[0].weight`, Msg: `expected a whole number from 0 to 4294967295, not the number -1`}},
		{"a fractional weight", `{"flags": {"a": {"default": {"split": [{"variant": "on", "weight": 2.5}]}}}}`,
			ParseError{Offset: 67, Line: 1, Column: 68, Path: `flags["a"].default.split[0].weight`, Msg: `expected a whole number from 0 to 4294967295, not the number 2.5`}},
		{"a bucket bound that is a string", `{"flags": {"a": {"rules": [{"conditions": [{"bucket": {"from": "0"}}]}]}}}`,
			ParseError{Offset: 63, Line: 1, Column: 64, Path: `flags["a"].rules[0].conditions[0].bucket.from`, Msg: `expected a whole number from 0 to 4294967295, not the string "0"`}},
		{"a version that is a string", `{"flags": {"a": {"version": "3"}}}`,
			ParseError{Offset: 28, Line: 1, Column: 29, Path: `flags["a"].version`, Msg: `expected a whole number, not the string "3"`}},
		{"enabled as a string", `{"flags": {"a": {"enabled": "true"}}}`,
			ParseError{Offset: 28, Line: 1, Column: 29, Path: `flags["a"].enabled`, Msg: `expected true or false, not the string "true"`}},
		{"rules as an object", `{"flags": {"a": {"rules": {}}}}`,
			ParseError{Offset: 26, Line: 1, Column: 27, Path: `flags["a"].rules`, Msg: `expected a list, not an object`}},
		{"flags as a list", `{"flags": []}`,
			ParseError{Offset: 10, Line: 1, Column: 11, Path: `flags`, Msg: `expected an object, not a list`}},
		{"a flag as a string", `{"flags": {"a": "on"}}`,
			ParseError{Offset: 16, Line: 1, Column: 17, Path: `flags["a"]`, Msg: `expected an object, not the string "on"`}},
		{"a document that is a list", `[]`,
			ParseError{Msg: `expected an object, not a list`, Line: 1, Column: 1}},
		{"rule metadata that is not a string", `{"flags": {"a": {"rules": [{"metadata": {"stage": 1}}]}}}`,
			ParseError{Offset: 50, Line: 1, Column: 51, Path: `flags["a"].rules[0].metadata["stage"]`, Msg: `expected a string, not the number 1`}},
		{"a tag that is a bool", `{"flags": {"a": {"tags": [true]}}}`,
			ParseError{Offset: 26, Line: 1, Column: 27, Path: `flags["a"].tags[0]`, Msg: `expected a string, not the boolean true`}},
		{"a type that is a list", `{"flags": {"a": {"type": ["bool"]}}}`,
			ParseError{Offset: 25, Line: 1, Column: 26, Path: `flags["a"].type`, Msg: `expected a string, not a list`}},
		{"nesting deeper than 10000 levels", `{"flags": {"a": {"variants": {"on": ` + strings.Repeat("[", 10001) + strings.Repeat("]", 10001) + `}}}}`,
			ParseError{Offset: 10032, Line: 1, Column: 10033, Msg: `invalid JSON: invalid character '[' exceeded max depth`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeSet([]byte(tt.doc))
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("DecodeSet returned %v (%T), want a *ParseError", err, err)
			}
			if diff := cmp.Diff(tt.want, *pe); diff != "" {
				t.Errorf("ParseError (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseErrorMessage(t *testing.T) {
	tests := []struct {
		err  ParseError
		want string
	}{
		{ParseError{Line: 4, Column: 5, Path: `flags["summarize"]`, Msg: `unknown field "varients"`}, `line 4, column 5: flags["summarize"]: unknown field "varients"`},
		{ParseError{Line: 1, Column: 1, Msg: "empty"}, "line 1, column 1: empty"},
		{ParseError{Msg: "no position"}, "no position"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
}

func TestDecodeSetAcceptsNullAndEmptySets(t *testing.T) {
	for _, doc := range []string{`null`, `{}`, `{"flags": null}`, `{"flags": {}, "segments": {}}`, " {\"flags\": {}}\n\n"} {
		set, err := DecodeSet([]byte(doc))
		if err != nil {
			t.Errorf("DecodeSet(%q): %v", doc, err)
			continue
		}
		if set.Flags == nil || len(set.Flags) != 0 {
			t.Errorf("DecodeSet(%q).Flags = %v, want an empty map", doc, set.Flags)
		}
	}
}

func TestDescribeRaw(t *testing.T) {
	tests := []struct{ raw, want string }{
		{`{"a": 1}`, "an object"}, {`[1]`, "a list"}, {`1.5`, "the number 1.5"}, {`-2`, "the number -2"},
		{`"x"`, `the string "x"`}, {`"\u00e9\n"`, `the string "é\n"`}, {`false`, "the boolean false"},
	}
	for _, tt := range tests {
		if got := describeRaw([]byte(tt.raw)); got != tt.want {
			t.Errorf("describeRaw(%s) = %q, want %q", tt.raw, got, tt.want)
		}
	}
}
