package flags_test

import (
	"fmt"
	"log"

	"github.com/ramp-release/ramp/flags"
)

func ExampleSnapshot_Evaluate() {
	// A json flag carrying the summarizer's model configuration: beta testers get the
	// candidate, 10 % of everyone else too, the rest the baseline.
	doc := []byte(`{
	  "flags": {
	    "summarizer-config": {
	      "type": "json",
	      "enabled": true,
	      "variants": {
	        "baseline":  {"model": "gpt-small", "prompt": "v3"},
	        "candidate": {"model": "gpt-large", "prompt": "v4"}
	      },
	      "rules": [
	        {"id": "beta", "conditions": [{"op": "in_segment", "segment": "beta-testers"}], "serve": {"variant": "candidate"}},
	        {"id": "ring-10", "conditions": [{"bucket": {"from": 0, "to": 10000}}], "serve": {"variant": "candidate"}}
	      ],
	      "default": {"variant": "baseline"}
	    }
	  },
	  "segments": {
	    "beta-testers": {"included": ["user-42"], "rules": [{"conditions": [{"attribute": "email", "op": "ends_with", "value": "@acme.com"}]}]}
	  }
	}`)
	set, err := flags.DecodeSet(doc)
	if err != nil {
		log.Fatal(err)
	}
	snap, err := flags.Compile(set) // once per change; Evaluate is then lock-free and allocation-free
	if err != nil {
		log.Fatal(err)
	}
	for _, ctx := range []flags.Context{
		{Key: "user-42"},
		{Key: "user-7", Attributes: map[string]any{"email": "ann@acme.com"}},
		{Key: "user-1"},
		{Key: "user-2"},
		{}, // no unit key: the ring cannot place this context
	} {
		r := snap.Evaluate("summarizer-config", ctx)
		if r.UsesCallerDefault() {
			fmt.Printf("%-8s → caller's default (%s %s)\n", ctx.Key, r.Reason, r.ErrorCode)
			continue
		}
		fmt.Printf("%-8s → %-9s %v (%s, rule %d)\n", ctx.Key, r.Variant, r.Value, r.Reason, r.RuleIndex)
	}
	// Output:
	// user-42  → candidate map[model:gpt-large prompt:v4] (TARGETING_MATCH, rule 0)
	// user-7   → candidate map[model:gpt-large prompt:v4] (TARGETING_MATCH, rule 0)
	// user-1   → baseline  map[model:gpt-small prompt:v3] (DEFAULT, rule -1)
	// user-2   → candidate map[model:gpt-large prompt:v4] (TARGETING_MATCH, rule 1)
	//          → caller's default (ERROR TARGETING_KEY_MISSING)
}
