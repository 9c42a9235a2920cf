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

// fuzzContexts are evaluated against every accepted document: no key, a key alone,
// and keys with attributes of every type under the names seeds use.
var fuzzContexts = []Context{
	{},
	{Key: "user-1"},
	{Key: "user-2", Attributes: map[string]any{
		"country": "DE", "plan": "pro", "email": "ann@acme.com", "app_version": "2.1.0-rc.1", "app": "1.4.0",
		"age": 42, "t": "2026-06-01T12:00:00+02:00", "account_id": "acct-7", "groups": []any{"beta", 3.0, nil},
		"v": "1.0.0", "a": 1.5, "x": true, "role": "staff",
	}},
	{Key: "user-3", Attributes: map[string]any{
		"country": []string{"FR", "DE"}, "plan": nil, "email": 7, "app_version": "latest", "age": json.Number("17.5"),
		"t": 1796115600.0, "account_id": int64(1234567), "a": "1.5", "x": map[string]any{"y": 1},
	}},
}

// FuzzDecodeSet is the oracle of CLARIFICATIONS §13: any document the decoder and
// validator accept compiles, survives a JSON round trip semantically unchanged (and
// byte-identical on the second marshal), and never evaluates to GENERAL; anything
// else is rejected with a *ParseError that has a position or a non-empty
// ValidationErrors.
func FuzzDecodeSet(f *testing.F) {
	f.Add([]byte(roundTripDoc))
	f.Add([]byte(`{"flags": {"a": {"type": "bool", "enabled": true, "variants": {"on": true, "off": false},
		"default": {"split": [{"variant": "on", "weight": 25000}, {"variant": "off", "weight": 75000}]}}}}`))
	f.Add([]byte(`{"flags": {"a": {"type": "bool", "variants": {"on": "yes"}}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		set, err := DecodeSet(data)
		if err != nil {
			var pe *ParseError
			var ve ValidationErrors
			switch {
			case errors.As(err, &pe):
				// checkDocument finds every problem encoding/json would, with a place.
				if pe.Msg == "" || pe.Line < 1 || pe.Column < 1 || pe.Offset > int64(len(data)) {
					t.Fatalf("a ParseError without a message or a position: %+v", pe)
				}
			case errors.As(err, &ve):
				if len(ve) == 0 {
					t.Fatal("empty ValidationErrors")
				}
			default:
				t.Fatalf("DecodeSet returned %T: %v", err, err)
			}
			return
		}
		snap, err := Compile(set)
		if err != nil {
			t.Fatalf("an accepted set does not compile: %v", err)
		}
		out, err := json.Marshal(set)
		if err != nil {
			t.Fatalf("an accepted set does not marshal: %v", err)
		}
		back, err := DecodeSet(out)
		if err != nil {
			t.Fatalf("the marshalled set is rejected: %v\n%s", err, out)
		}
		if diff := cmp.Diff(set, back, cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("the round trip changed the set (-first +second):\n%s", diff)
		}
		again, err := json.Marshal(back)
		if err != nil || string(again) != string(out) {
			t.Fatalf("the second marshal differs (%v):\n%s\n%s", err, out, again)
		}
		for _, key := range snap.Keys() {
			for _, ctx := range fuzzContexts {
				checkResult(t, snap, key, ctx)
			}
		}
	})
}

// checkResult evaluates key twice and checks what must hold of any result.
func checkResult(t *testing.T, snap *Snapshot, key string, ctx Context) Result {
	t.Helper()
	r := snap.Evaluate(key, ctx)
	switch r.ErrorCode {
	case ErrNone:
	case ErrTargetingKeyMissing:
		if r.Reason != ReasonError || r.Variant != "" || r.Value != nil {
			t.Fatalf("%s: an error result serves something: %+v", key, r)
		}
	default:
		t.Fatalf("%s for %+v: error %v (%s)", key, ctx, r.ErrorCode, r.ErrorMessage)
	}
	f, _ := snap.Flag(key)
	if r.Variant != "" {
		want, ok := f.Variants[r.Variant]
		if !ok || !jsonEqual(r.Value, want) {
			t.Fatalf("%s: variant %q served %v, its value is %v", key, r.Variant, r.Value, want)
		}
	}
	if (r.Reason == ReasonDisabled) != (!f.Enabled && r.ErrorCode == ErrNone) {
		t.Fatalf("%s: reason %v for a flag with enabled=%v", key, r.Reason, f.Enabled)
	}
	if r.RuleIndex >= len(f.Rules) || r.RuleIndex >= 0 && r.RuleID != f.Rules[r.RuleIndex].ID {
		t.Fatalf("%s: rule %d (%q) does not exist", key, r.RuleIndex, r.RuleID)
	}
	r2 := snap.Evaluate(key, ctx)
	if r.Variant != r2.Variant || r.Reason != r2.Reason || r.ErrorCode != r2.ErrorCode || r.RuleIndex != r2.RuleIndex {
		t.Fatalf("%s: not deterministic: %+v then %+v", key, r, r2)
	}
	return r
}

// fuzzEvaluateSet is the fixed set FuzzEvaluate evaluates: the realistic 200 flags,
// plus flags using every operator.
func fuzzEvaluateSet(t testing.TB) *Snapshot {
	set := realisticSet(200, 1)
	extra, err := DecodeSet([]byte(roundTripDoc))
	if err != nil {
		t.Fatal(err)
	}
	for k, f := range extra.Flags {
		f.Enabled = true
		set.Flags[k] = f
	}
	for k, s := range extra.Segments {
		set.Segments[k] = s
	}
	for k, f := range summarizeSet().Flags {
		set.Flags["s."+k] = f
	}
	set.Segments["half"] = summarizeSet().Segments["half"]
	snap, err := Compile(set)
	if err != nil {
		t.Fatal(err)
	}
	return snap
}

// FuzzEvaluate evaluates random contexts against a fixed realistic set: no panic,
// never GENERAL, the same answer twice, and a served value that is the variant's.
func FuzzEvaluate(f *testing.F) {
	f.Add("user-00000061", "DE", "5.2.0", "ann@acme.com", 42.0, true, int64(7))
	f.Add("", "", "", "", 0.0, false, int64(0))
	f.Add("qa-bot-1", "FR", "2.0.0-rc.1+b", "x@beta.example.com", -1.5, false, int64(-1))
	snap := fuzzEvaluateSet(f)
	f.Fuzz(func(t *testing.T, key, country, version, email string, age float64, flag bool, n int64) {
		var account any = "acct-" + country
		if flag {
			account = n
		}
		ctx := Context{Key: key, Attributes: map[string]any{
			"country":     country,
			"plan":        strings.ToLower(country),
			"role":        email,
			"platform":    version,
			"app_version": version,
			"app":         version,
			"email":       email,
			"age":         age,
			"a":           n,
			"x":           flag,
			"t":           version,
			"account_id":  account,
			"groups":      []any{country, age, flag, nil},
		}}
		if math.IsNaN(age) || n%5 == 0 {
			ctx.Attributes["country"] = nil
			delete(ctx.Attributes, "email")
		}
		if n%7 == 0 {
			ctx.Attributes["t"] = age // Unix seconds
		}
		for _, k := range snap.Keys() {
			r := checkResult(t, snap, k, ctx)
			if r.ErrorCode == ErrTargetingKeyMissing && key != "" && ctx.Attributes["account_id"] != nil {
				if fl, _ := snap.Flag(k); fl.BucketBy == "" {
					t.Fatalf("%s: TARGETING_KEY_MISSING with key %q", k, key)
				}
			}
		}
	})
}
