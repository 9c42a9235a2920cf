package rollout

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"go.yaml.in/yaml/v3"
)

func TestDurationReadsAndWritesText(t *testing.T) {
	tests := []struct {
		text string
		want time.Duration
		out  string
	}{
		{"90s", 90 * time.Second, "1m30s"},
		{"4h", 4 * time.Hour, "4h"},
		{"24h", 24 * time.Hour, "1d"},
		{"7d", 7 * 24 * time.Hour, "7d"},
		{"1d12h", 36 * time.Hour, "1d12h"},
		{"1h30m", 90 * time.Minute, "1h30m"},
		{"1.5s", 1500 * time.Millisecond, "1.5s"},
		{"0s", 0, "0s"},
		{"-5m", -5 * time.Minute, "-5m"},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			var d Duration
			if err := d.UnmarshalText([]byte(tt.text)); err != nil {
				t.Fatal(err)
			}
			if d.D() != tt.want {
				t.Errorf("parsed %v, want %v", d.D(), tt.want)
			}
			if d.String() != tt.out {
				t.Errorf("String() = %q, want %q", d.String(), tt.out)
			}
		})
	}
	for _, bad := range []string{"", "soon", "xd", "2d3"} {
		if _, err := ParseDuration(bad); err == nil {
			t.Errorf("ParseDuration(%q) accepted", bad)
		}
	}
	var d Duration
	if err := d.UnmarshalText([]byte("soon")); err == nil {
		t.Error("UnmarshalText accepted soon")
	}
}

func TestEveryTemplateInstantiatesToAValidPlan(t *testing.T) {
	for _, name := range TemplateNames() {
		t.Run(name, func(t *testing.T) {
			p, err := Instantiate(name, Plan{Name: "smart-reply", Flag: "smart-reply", Environment: "production", Treatment: "on", Control: "off"})
			if err != nil {
				t.Fatal(err)
			}
			if err := p.Validate(ValidateOptions{Flag: testFlag(), SegmentExists: func(string) bool { return true }}); err != nil {
				t.Fatal(err)
			}
			if p.Template != name {
				t.Errorf("Template = %q", p.Template)
			}
			if len(p.Guardrails) == 0 {
				t.Error("a template without guardrails is not guarded")
			}
		})
	}
}

func TestTemplatesSayWhatTheirNamesPromise(t *testing.T) {
	std, _ := Template(TemplateAIStandard)
	var audiences []string
	for _, s := range std.Stages {
		if len(s.Segments) > 0 {
			audiences = append(audiences, s.Name)
		} else {
			audiences = append(audiences, strings.TrimPrefix(s.Name, "ring-"))
		}
	}
	if got := strings.Join(audiences, " → "); got != "alpha → beta → 1 → 5 → 10 → 25 → 50 → 100" {
		t.Errorf("ai-standard stages: %s", got)
	}
	reg, _ := Template(TemplateRegulated)
	for _, s := range reg.Stages {
		if !s.RequireApproval || s.MinDuration < day {
			t.Errorf("regulated stage %s: approval %v, minimum %s", s.Name, s.RequireApproval, s.MinDuration)
		}
	}
	ecom, _ := Template(TemplateEcommerce)
	if len(ecom.Blackouts) == 0 || len(ecom.Gates) == 0 {
		t.Error("ecommerce has no blackout or no gate")
	}
	prog, _ := Template(TemplateProgressive24h)
	var total Duration
	for _, s := range prog.Stages {
		total += s.MinDuration
	}
	if prog.Stages[0].Percent != 5 || total != day || prog.AdvanceOn != OnTime {
		t.Errorf("progressive-24h starts at %v %% and lasts %s on %s", prog.Stages[0].Percent, total, prog.AdvanceOn)
	}
	if _, ok := Template("nope"); ok {
		t.Error("unknown template found")
	}
	if _, err := Instantiate("ai-standrd", Plan{}); err == nil || !strings.Contains(err.Error(), "ai-standard") {
		t.Errorf("Instantiate(unknown) = %v", err)
	}
}

func TestOverrideReplacesWhatIsSetAndCopiesTheRest(t *testing.T) {
	base, _ := Template(TemplateEcommerce)
	berlin, _ := time.LoadLocation("Europe/Berlin")
	p := Override(base, Plan{
		Flag: "checkout", Environment: "production", Treatment: "new", Control: "old",
		HoldoutPercent: 5, TimeZone: "Europe/Berlin", Location: berlin, Alpha: 0.05, Power: 0.9,
		Salt: "s", AdvanceOn: OnTime, Name: "n", Description: "d", Template: "mine",
		Tick: Duration(time.Minute), StaleAfter: Duration(time.Hour), PauseWithoutDataAfter: Duration(2 * time.Hour),
		Blackouts:  []Blackout{{Name: "bfcm", From: "2026-11-26", To: "2026-11-30"}},
		Exclusions: []Exclusion{{Segment: "vip"}},
		Windows:    []Window{{Days: []string{"weekdays"}, From: "08:00", To: "18:00"}},
		Gates:      []Gate{{Metric: "aov", Direction: Increase}},
		Guardrails: []Guardrail{{Metric: "e", Direction: Increase}},
		Stages:     []Stage{{Name: "all", Percent: 100, Segments: []string{"x"}, Regions: &Regions{Attribute: "country", Values: []string{"DE"}}}},
	})
	if p.Flag != "checkout" || p.HoldoutPercent != 5 || p.TimeZone != "Europe/Berlin" || p.Blackouts[0].Name != "bfcm" ||
		p.Alpha != 0.05 || p.Power != 0.9 || p.Salt != "s" || p.AdvanceOn != OnTime || p.Template != "mine" ||
		p.Tick.D() != time.Minute || p.Location != berlin || len(p.Stages) != 1 || len(p.Gates) != 1 {
		t.Errorf("overrides not applied: %+v", p)
	}
	p2 := Override(base, Plan{Flag: "checkout"})
	p2.Stages[0].Percent = 3
	p2.Guardrails[0].Metric = "changed"
	if base.Stages[0].Percent == 3 || base.Guardrails[0].Metric == "changed" {
		t.Error("editing the plan edited the template")
	}
	if len(p2.Blackouts) != 1 || p2.Blackouts[0].Name != "peak-season-example" {
		t.Errorf("template blackout lost: %v", p2.Blackouts)
	}
}

func TestPlansRoundTripThroughJSONAndYAML(t *testing.T) {
	p, _ := Instantiate(TemplateEcommerce, Plan{Name: "checkout", Flag: "checkout", Environment: "production", Treatment: "on", Control: "off", HoldoutPercent: 5})
	p.Exclusions = []Exclusion{{Segment: "enterprise", UntilStage: "ab-50"}}
	p.Stages[0].Regions = &Regions{Attribute: "country", Values: []string{"NZ"}}
	p.Stages[1].Regions = &Regions{Attribute: "country", Values: []string{"NZ", "AU"}}
	p.Tick = Duration(5 * time.Minute)
	mustValidate(t, &p)
	ignore := cmpopts.IgnoreFields(Plan{}, "Location")

	j, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"holdout_percent":5`, `"min_duration":"4h"`, `"max_duration":"3d"`, `"until_stage":"ab-50"`, `"tick":"5m"`, `"time_zone":"UTC"`} {
		if !strings.Contains(string(j), want) {
			t.Errorf("JSON lacks %s:\n%s", want, j)
		}
	}
	var fromJSON Plan
	if err := json.Unmarshal(j, &fromJSON); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(p, fromJSON, ignore); diff != "" {
		t.Errorf("JSON round trip (-want +got):\n%s", diff)
	}

	y, err := yaml.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"holdout_percent: 5", "min_duration: 4h", "until_stage: ab-50", "require_approval", "advance_on"} {
		if want == "require_approval" || want == "advance_on" {
			if strings.Contains(string(y), want) {
				t.Errorf("YAML writes the zero %s:\n%s", want, y)
			}
			continue
		}
		if !strings.Contains(string(y), want) {
			t.Errorf("YAML lacks %s:\n%s", want, y)
		}
	}
	var fromYAML Plan
	if err := yaml.Unmarshal(y, &fromYAML); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(p, fromYAML, ignore); diff != "" {
		t.Errorf("YAML round trip (-want +got):\n%s", diff)
	}
}

func TestAHandWrittenYAMLPlanReads(t *testing.T) {
	const doc = `
name: smart-reply
flag: smart-reply
environment: production
treatment: "on"
control: "off"
holdout_percent: 5
time_zone: UTC
windows:
  - days: [mon-thu]
    from: "09:00"
    to: "16:00"
blackouts:
  - {name: peak, from: 2026-11-20, to: 2026-11-30}
stages:
  - {name: alpha, segments: [internal], min_duration: 1d}
  - {name: ring-5, percent: 5, min_duration: 4h, min_units_per_arm: 1000, require_approval: true}
  - {name: ring-100, percent: 100}
guardrails:
  - {metric: error_rate, direction: increase, tolerance: {relative: 0.1}, action: rollback}
`
	var p Plan
	if err := yaml.Unmarshal([]byte(doc), &p); err != nil {
		t.Fatal(err)
	}
	mustValidate(t, &p)
	if p.Stages[0].MinDuration != day || !p.Stages[1].RequireApproval || p.Guardrails[0].Tolerance.Relative != 0.1 || p.Blackouts[0].From != "2026-11-20" {
		t.Errorf("read %+v", p)
	}
}

func TestThresholdsCutTheEligibleBucketsFromTheBottom(t *testing.T) {
	tests := []struct {
		name    string
		holdout float64
		pct     float64
		want    uint32
	}{
		{"one percent without a holdout is a thousand buckets", 0, 1, 1000},
		{"five percent with a five percent holdout is floor(5 × 95 000 / 100)", 5, 5, 4750},
		{"a tenth of a percent is a hundred buckets, not 99", 0, 0.1, 100},
		{"one third of a percent rounds down", 0, 1.0 / 3, 333},
		{"a hundred percent is every eligible bucket", 5, 100, 95000},
		{"zero is no bucket", 5, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &Plan{HoldoutPercent: tt.holdout}
			if got := p.threshold(tt.pct); got != tt.want {
				t.Errorf("threshold(%v) = %d, want %d", tt.pct, got, tt.want)
			}
		})
	}
	if (&Plan{HoldoutPercent: 100}).HoldoutBuckets() != TotalBuckets {
		t.Error("a whole holdout is every bucket")
	}
}

func TestAmountsDescribeThemselves(t *testing.T) {
	if got := (Amount{Relative: 0.1}).String(); got != "10 % relative" {
		t.Error(got)
	}
	if got := (Amount{Absolute: 0.02}).String(); got != "0.02 absolute" {
		t.Error(got)
	}
	if got := (Amount{}).String(); got != "0" {
		t.Error(got)
	}
}
