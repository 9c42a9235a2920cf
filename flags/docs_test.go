package flags

import (
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestFlagFormatDocExamplesAreValid keeps docs/flag-format.md honest: every operator
// has a row in its table, every JSON block is valid JSON, every JSON block that is a
// whole set loads, and the complete example evaluates as the text says.
func TestFlagFormatDocExamplesAreValid(t *testing.T) {
	doc, err := os.ReadFile("../docs/flag-format.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```json\n(.*?)```").FindAllSubmatch(doc, -1)
	if len(blocks) == 0 {
		t.Fatal("no JSON examples found")
	}
	for _, op := range operators {
		if !regexp.MustCompile("\n\\| [^|]*`" + op + "`").Match(doc) {
			t.Errorf("the operator table does not document %s", op)
		}
	}
	var full *Set
	for _, b := range blocks {
		if !json.Valid(b[1]) {
			t.Errorf("invalid JSON example:\n%s", b[1])
			continue
		}
		if strings.HasPrefix(strings.TrimSpace(string(b[1])), `{`) && strings.Contains(string(b[1]), `"flags"`) {
			set, err := DecodeSet(b[1])
			if err != nil {
				t.Errorf("example set does not load: %v", err)
				continue
			}
			full = set
		}
	}
	if full == nil {
		t.Fatal("no complete example set")
	}
	snap := mustCompile(t, full)
	if got := Bucket("summarizer-config/acct-42", TotalBuckets); got != 27363 {
		t.Errorf("the worked example's bucket is %d, the doc says 27363", got)
	}
	tests := []struct {
		flag    string
		ctx     Context
		variant string
		reason  Reason
	}{
		{"summarizer-config", Context{Key: "user-9", Attributes: map[string]any{"account_id": "acct-42"}}, "baseline", ReasonDefault},
		{"summarizer-config", Context{Key: "user-42", Attributes: map[string]any{"account_id": "acct-42"}}, "candidate", ReasonTargetingMatch},
		// user-13 is excluded from beta-testers: the exclusion beats the staff rule.
		{"summarizer-config", Context{Key: "user-13", Attributes: map[string]any{"account_id": "acct-42", "email": "x@acme.com"}}, "baseline", ReasonDefault},
		{"summarizer-config", Context{Key: "user-14", Attributes: map[string]any{"account_id": "acct-42", "email": "x@acme.com"}}, "candidate", ReasonTargetingMatch},
		{"summarizer-config", Context{Key: "user-9", Attributes: map[string]any{"account_id": "acct-42", "plan": "enterprise", "beta_opt_in": true}}, "candidate", ReasonTargetingMatch},
		{"summarizer-enabled", Context{Key: "u", Attributes: map[string]any{"app_version": "4.1.9", "email": "x@acme.com"}}, "off", ReasonTargetingMatch},
		{"summarizer-enabled", Context{Key: "u", Attributes: map[string]any{"app_version": "4.2.0", "country": "DE", "now": "2026-12-01T09:00:01+01:00"}}, "on", ReasonTargetingMatch},
		{"summarizer-enabled", Context{Key: "u", Attributes: map[string]any{"app_version": "4.2.0", "country": "DE", "now": "2026-12-01T08:59:59+01:00"}}, "off", ReasonDefault},
	}
	for _, tt := range tests {
		if r := snap.Evaluate(tt.flag, tt.ctx); r.Variant != tt.variant || r.Reason != tt.reason {
			t.Errorf("%s for %+v = %q %v, want %q %v", tt.flag, tt.ctx, r.Variant, r.Reason, tt.variant, tt.reason)
		}
	}
}
