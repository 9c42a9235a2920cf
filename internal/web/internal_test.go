package web

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ramp-release/ramp/flags"
)

func TestLineOfPointsAtTheField(t *testing.T) {
	doc := `{
  "key": "smart-reply",
  "variants": {
    "on": true,
    "we\"ird]": false
  },
  "rules": [
    {"conditions": [{"op": "in_segment", "segment": "nobody"}],
     "serve": {"variant": "on"}},
    {
      "serve": {"split": [{"variant": "on", "weight": 1}]}
    }
  ]
}`
	for _, tc := range []struct {
		name, path string
		want       int
	}{
		{"a top-level member", "key", 2},
		{"a quoted member", `variants["on"]`, 4},
		{"a quoted member with a quote and a bracket", `variants["we\"ird]"]`, 5},
		{"a member of an array element on the same line", "rules[0].conditions[0].segment", 8},
		{"the next line of the same element", "rules[0].serve.variant", 9},
		{"a nested split", "rules[1].serve.split[0].weight", 11},
		{"the deepest part that exists", "rules[1].serve.split[3].weight", 11},
		{"an array element", "rules[1]", 10},
		{"nothing that exists", "default.variant", 0},
		{"the document itself", "", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := lineOf([]byte(doc), tc.path); got != tc.want {
				t.Errorf("lineOf(%q) = %d, want %d", tc.path, got, tc.want)
			}
		})
	}
	if got := lineOf([]byte(`{"a": [1, `), "a[0]"); got != 1 {
		t.Errorf("a truncated document keeps what was found: got %d, want 1", got)
	}
}

func TestTrimPathMakesPathsRelativeToTheEditedDocument(t *testing.T) {
	for path, want := range map[string]string{
		`flags["smart-reply"].rules[0].serve`: "rules[0].serve",
		`flags["smart-reply"]`:                "",
		`flags["other"].key`:                  `flags["other"].key`,
		"key":                                 "key",
	} {
		if got := trimPath(path, `flags["smart-reply"]`); got != want {
			t.Errorf("trimPath(%q) = %q, want %q", path, got, want)
		}
	}
}

func TestMarkOfReadsTheRolloutFromTheRules(t *testing.T) {
	rule := func(arm, audience string, from, to uint32) flags.Rule {
		return flags.Rule{Conditions: []flags.Condition{{Bucket: &flags.BucketRange{From: from, To: to}}},
			Metadata: map[string]string{"rollout_id": "ro-1", "stage": "ring-10", "arm": arm, "audience": audience}}
	}
	m := markOf([]flags.Rule{
		{ID: "qa"},
		rule("holdout", "", 95_000, 100_000),
		rule("treatment", "ring", 0, 9_500),
	})
	want := &rolloutMark{ID: "ro-1", Stage: "ring-10", Percent: 10}
	if diff := cmp.Diff(want, m); diff != "" {
		t.Errorf("markOf (-want +got):\n%s", diff)
	}
	if markOf([]flags.Rule{{ID: "qa"}}) != nil {
		t.Error("a flag without managed rules has no rollout")
	}
}

func TestUserTextIsEscaped(t *testing.T) {
	evil := `<script>alert(1)</script>`
	if got := string(highlightJSON([]byte(`{"prompt": "` + evil + `", "` + evil + `": 1}`))); strings.Contains(got, "<script>") {
		t.Errorf("highlightJSON let markup through: %s", got)
	}
	c := flags.Condition{Attribute: evil, Op: flags.OpEquals, Value: evil}
	if got := string(describeCondition(c)); strings.Contains(got, "<script>") {
		t.Errorf("describeCondition let markup through: %s", got)
	}
}

func TestHighlightJSONKeepsKeyOrder(t *testing.T) {
	got := string(highlightJSON([]byte(`{"model":"m","temperature":0.2,"tools":["a"],"x":null,"y":true,"z":{}}`)))
	want := `{
  <span class="j-key">&#34;model&#34;</span>: <span class="j-str">&#34;m&#34;</span>,
  <span class="j-key">&#34;temperature&#34;</span>: <span class="j-num">0.2</span>,
  <span class="j-key">&#34;tools&#34;</span>: [
    <span class="j-str">&#34;a&#34;</span>
  ],
  <span class="j-key">&#34;x&#34;</span>: <span class="j-lit">null</span>,
  <span class="j-key">&#34;y&#34;</span>: <span class="j-lit">true</span>,
  <span class="j-key">&#34;z&#34;</span>: {}
}`
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("highlightJSON (-want +got):\n%s", diff)
	}
}

func TestOnlyLocalRedirects(t *testing.T) {
	for p, want := range map[string]bool{"/env/production/flags": true, "/": true, "//evil.example": false,
		`/\evil.example`: false, "https://evil.example": false, "": false} {
		if got := localPath(p); got != want {
			t.Errorf("localPath(%q) = %v, want %v", p, got, want)
		}
	}
}

func TestCSRFTokenIsBoundToTheSignIn(t *testing.T) {
	a := &session{token: "ramp_api_a", nonce: "n1"}
	if a.CSRF() == (&session{token: "ramp_api_a", nonce: "n2"}).CSRF() {
		t.Error("two sign-ins with the same token share a CSRF token")
	}
	if a.CSRF() == (&session{token: "ramp_api_b", nonce: "n1"}).CSRF() {
		t.Error("two tokens with the same nonce share a CSRF token")
	}
}

func TestFormatting(t *testing.T) {
	for got, want := range map[string]string{
		pct(10): "10%", pct(2.5): "2.5%", pct(100.0 / 3): "33.33%", thousands(1234567): "1 234 567", thousands(999): "999",
		bucketsPercent(9_500): "9.5%",
	} {
		if got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
}
