package rollout

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ramp-release/ramp/flags"
)

func TestValidateNamesThePathAndTheFix(t *testing.T) {
	tests := []struct {
		name   string
		edit   func(p *Plan)
		opts   ValidateOptions
		path   string
		substr string
	}{
		{"a ring above 100 % is refused", func(p *Plan) { p.Stages[1].Percent = 120 },
			ValidateOptions{}, `plans["smart-reply"].stages[1].percent`, "120 is above 100"},
		{"a decreasing ring is refused because units would lose the treatment", func(p *Plan) {
			p.Stages = append(p.Stages[:2], Stage{Name: "ring-5", Percent: 5}, p.Stages[2])
		}, ValidateOptions{}, `plans["smart-reply"].stages[2].percent`, "rings must not decrease"},
		{"a negative ring is refused", func(p *Plan) { p.Stages[1].Percent = -1 },
			ValidateOptions{}, `.stages[1].percent`, "negative"},
		{"a ring thinner than one bucket is refused", func(p *Plan) { p.Stages[1].Percent = 0.0001 },
			ValidateOptions{}, `.stages[1].percent`, "less than one bucket"},
		{"a stage without an audience is refused", func(p *Plan) { p.Stages[0].Segments = nil },
			ValidateOptions{}, `.stages[0]`, "no audience"},
		{"the last stage must serve 100 %", func(p *Plan) { p.Stages = p.Stages[:2] },
			ValidateOptions{}, `.stages[1].percent`, "must serve 100 %"},
		{"the last stage must serve every region", func(p *Plan) {
			p.Stages[2].Regions = &Regions{Attribute: "country", Values: []string{"NZ"}}
		}, ValidateOptions{}, `.stages[2].regions`, "every region"},
		{"an unknown segment is found by the callback", func(p *Plan) {},
			ValidateOptions{SegmentExists: func(k string) bool { return k != "internal" }},
			`.stages[0].segments[0]`, `unknown segment "internal"`},
		{"a segment listed twice is refused", func(p *Plan) { p.Stages[1].Segments = []string{"internal"} },
			ValidateOptions{}, `.stages[1].segments[0]`, "already in the audience"},
		{"a decreasing segment split is refused", func(p *Plan) {
			p.Stages[0].SegmentPercent = 60
			p.Stages[1].Segments = []string{"beta"}
			p.Stages[1].SegmentPercent = 40
		}, ValidateOptions{}, `.stages[1].segment_percent`, "must not decrease"},
		{"a segment split without segments is refused", func(p *Plan) { p.Stages[1].SegmentPercent = 40 },
			ValidateOptions{}, `.stages[1].segment_percent`, "no segments"},
		{"a segment split above 100 % is refused", func(p *Plan) { p.Stages[0].SegmentPercent = 101 },
			ValidateOptions{}, `.stages[0].segment_percent`, "above 100"},
		{"a negative segment split is refused", func(p *Plan) { p.Stages[0].SegmentPercent = -3 },
			ValidateOptions{}, `.stages[0].segment_percent`, "not in (0, 100]"},
		{"duplicate stage names are refused", func(p *Plan) { p.Stages[1].Name = "alpha" },
			ValidateOptions{}, `.stages[1].name`, "unique"},
		{"a stage name must be a key", func(p *Plan) { p.Stages[1].Name = "Ring 10" },
			ValidateOptions{}, `.stages[1].name`, "keys use only"},
		{"a missing flag is named", func(p *Plan) { p.Flag = ""; p.Name = "x" },
			ValidateOptions{}, `plans["x"].flag`, "missing"},
		{"a missing environment is named", func(p *Plan) { p.Environment = "" },
			ValidateOptions{}, `.environment`, "missing"},
		{"treatment and control must differ", func(p *Plan) { p.Control = "on" },
			ValidateOptions{}, `.control`, "also the treatment"},
		{"variants are checked against the flag", func(p *Plan) { p.Treatment = "onn" },
			ValidateOptions{Flag: testFlag()}, `.treatment`, `unknown variant "onn"`},
		{"the flag key is checked against the flag", func(p *Plan) { p.Flag = "other" },
			ValidateOptions{Flag: testFlag()}, `.flag`, "differs"},
		{"a holdout above 50 % is refused", func(p *Plan) { p.HoldoutPercent = 60 },
			ValidateOptions{}, `.holdout_percent`, "above 50"},
		{"a negative holdout is refused", func(p *Plan) { p.HoldoutPercent = -1 },
			ValidateOptions{}, `.holdout_percent`, "negative"},
		{"an unknown basis is refused", func(p *Plan) { p.AdvanceOn = "vibes" },
			ValidateOptions{}, `.advance_on`, "evidence"},
		{"alpha must be a small probability", func(p *Plan) { p.Alpha = 2 },
			ValidateOptions{}, `.alpha`, "outside"},
		{"power must be a probability", func(p *Plan) { p.Power = 1.5 },
			ValidateOptions{}, `.power`, "outside"},
		{"a negative tick is refused", func(p *Plan) { p.Tick = -1 },
			ValidateOptions{}, `.tick`, "negative"},
		{"regions need a ring", func(p *Plan) {
			p.Stages[0].Regions = &Regions{Attribute: "country", Values: []string{"NZ"}}
		}, ValidateOptions{}, `.stages[0].regions`, "set percent"},
		{"regions need a known attribute", func(p *Plan) {
			p.Stages[1].Regions = &Regions{Attribute: "city", Values: []string{"Paris"}}
		}, ValidateOptions{}, `.stages[1].regions.attribute`, "country"},
		{"regions need values", func(p *Plan) {
			p.Stages[1].Regions = &Regions{Attribute: "country"}
		}, ValidateOptions{}, `.stages[1].regions.values`, "no values"},
		{"regions must only grow", func(p *Plan) {
			p.Stages[1].Regions = &Regions{Attribute: "country", Values: []string{"NZ", "AU"}}
			p.Stages = append(p.Stages[:2], Stage{Name: "ring-20", Percent: 20, Regions: &Regions{Attribute: "country", Values: []string{"NZ"}}}, p.Stages[2])
		}, ValidateOptions{}, `.stages[2].regions.values`, `"AU" from stages[1] is missing`},
		{"regions cannot come back after serving everywhere", func(p *Plan) {
			p.Stages = append(p.Stages[:2], Stage{Name: "ring-20", Percent: 20, Regions: &Regions{Attribute: "country", Values: []string{"NZ"}}}, p.Stages[2])
		}, ValidateOptions{}, `.stages[2].regions`, "already served every region"},
		{"max duration must not be shorter than min duration", func(p *Plan) { p.Stages[0].MaxDuration = Duration(time.Minute) },
			ValidateOptions{}, `.stages[0].max_duration`, "shorter than min_duration"},
		{"negative minimum units are refused", func(p *Plan) { p.Stages[0].MinUnitsPerArm = -1 },
			ValidateOptions{}, `.stages[0].min_units_per_arm`, "negative"},
		{"a guardrail needs a direction", func(p *Plan) { p.Guardrails[0].Direction = "" },
			ValidateOptions{}, `.guardrails[0].direction`, `"increase" or "decrease"`},
		{"a guardrail action is rollback or pause", func(p *Plan) { p.Guardrails[0].Action = "panic" },
			ValidateOptions{}, `.guardrails[0].action`, `"rollback" or "pause"`},
		{"a tolerance is relative or absolute, not both", func(p *Plan) { p.Guardrails[0].Tolerance.Absolute = 0.01 },
			ValidateOptions{}, `.guardrails[0].tolerance`, "set one"},
		{"a metric is guarded once", func(p *Plan) { p.Guardrails[1].Metric = "error_rate" },
			ValidateOptions{}, `.guardrails[1].metric`, "once"},
		{"the smallest harm must exceed the tolerance", func(p *Plan) { p.Guardrails[0].Harm = Amount{Relative: 0.05} },
			ValidateOptions{}, `.guardrails[0].harm`, "must exceed"},
		{"harm and tolerance are in the same terms", func(p *Plan) { p.Guardrails[0].Harm = Amount{Absolute: 0.5} },
			ValidateOptions{}, `.guardrails[0].harm`, "both relative or both absolute"},
		{"a proportion's baseline is a rate", func(p *Plan) {
			p.Guardrails[0].Kind = Proportion
			p.Guardrails[0].Baseline = 3
		}, ValidateOptions{}, `.guardrails[0].baseline`, "not a rate"},
		{"an unknown metric kind is refused", func(p *Plan) { p.Guardrails[0].Kind = "vibe" },
			ValidateOptions{}, `.guardrails[0].kind`, "unknown kind"},
		{"a gate names a known stage", func(p *Plan) {
			p.Gates = []Gate{{Metric: "conversion", Direction: Increase, FromStage: "ring-50"}}
		}, ValidateOptions{}, `.gates[0].from_stage`, `unknown stage "ring-50"`},
		{"a gate needs a metric", func(p *Plan) { p.Gates = []Gate{{Direction: Increase}} },
			ValidateOptions{}, `.gates[0].metric`, "missing"},
		{"an exclusion names a known stage", func(p *Plan) {
			p.Exclusions = []Exclusion{{Segment: "trial", UntilStage: "nope"}}
		}, ValidateOptions{}, `.exclusions[0].until_stage`, "unknown stage"},
		{"an exclusion until the first stage never applies", func(p *Plan) {
			p.Exclusions = []Exclusion{{Segment: "trial", UntilStage: "alpha"}}
		}, ValidateOptions{}, `.exclusions[0].until_stage`, "never apply"},
		{"an exclusion needs a segment", func(p *Plan) { p.Exclusions = []Exclusion{{}} },
			ValidateOptions{}, `.exclusions[0].segment`, "missing"},
		{"an unknown time zone is refused", func(p *Plan) { p.TimeZone = "Mars/Olympus" },
			ValidateOptions{}, `.time_zone`, "IANA"},
		{"a window needs days", func(p *Plan) { p.Windows = []Window{{From: "09:00", To: "17:00"}} },
			ValidateOptions{}, `.windows[0]`, "no days"},
		{"a window's days are weekdays", func(p *Plan) { p.Windows = []Window{{Days: []string{"funday"}, From: "09:00", To: "17:00"}} },
			ValidateOptions{}, `.windows[0]`, "not a day"},
		{"a window's times are HH:MM", func(p *Plan) { p.Windows = []Window{{Days: []string{"mon"}, From: "9am", To: "17:00"}} },
			ValidateOptions{}, `.windows[0]`, "HH:MM"},
		{"a window's end is a time of day", func(p *Plan) { p.Windows = []Window{{Days: []string{"mon"}, From: "09:00", To: "25:00"}} },
			ValidateOptions{}, `.windows[0]`, "to:"},
		{"an empty window is refused", func(p *Plan) { p.Windows = []Window{{Days: []string{"mon"}, From: "09:00", To: "09:00"}} },
			ValidateOptions{}, `.windows[0]`, "empty"},
		{"a blackout needs a name", func(p *Plan) { p.Blackouts = []Blackout{{From: "2026-11-20", To: "2026-11-30"}} },
			ValidateOptions{}, `.blackouts[0].name`, "missing"},
		{"blackout names are unique", func(p *Plan) {
			p.Blackouts = []Blackout{{Name: "a", From: "2026-11-20", To: "2026-11-30"}, {Name: "a", From: "2026-12-20", To: "2026-12-30"}}
		}, ValidateOptions{}, `.blackouts[1].name`, "unique"},
		{"a blackout ends after it starts", func(p *Plan) { p.Blackouts = []Blackout{{Name: "x", From: "2026-11-30", To: "2026-11-20"}} },
			ValidateOptions{}, `.blackouts[0]`, "not before"},
		{"a blackout's dates must parse", func(p *Plan) { p.Blackouts = []Blackout{{Name: "x", From: "Nov 20", To: "2026-11-20"}} },
			ValidateOptions{}, `.blackouts[0]`, "neither a date"},
		{"a plan needs stages", func(p *Plan) { p.Stages = nil },
			ValidateOptions{}, `.stages`, "at least one stage"},
		{"a plan name must be a key", func(p *Plan) { p.Name = "Smart Reply" },
			ValidateOptions{}, `.name`, "keys use only"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := testPlan()
			tt.edit(p)
			err := p.Validate(tt.opts)
			var verrs flags.ValidationErrors
			if !errors.As(err, &verrs) {
				t.Fatalf("Validate() = %v, want ValidationErrors", err)
			}
			for _, e := range verrs {
				if strings.HasSuffix(e.Path, tt.path) && strings.Contains(e.Message, tt.substr) {
					return
				}
			}
			t.Errorf("no error at %s containing %q; got:\n%v", tt.path, tt.substr, err)
		})
	}
}

func TestValidateErrorReadsAsTheStyleGuideShows(t *testing.T) {
	p := testPlan()
	p.Stages[1].Percent = 120
	p.Stages[2].Percent = 100
	err := p.Validate(ValidateOptions{})
	const want = `plans["smart-reply"].stages[1].percent: 120 is above 100`
	if err == nil || err.Error() != want {
		t.Errorf("Validate() = %v, want %s", err, want)
	}
}

func TestValidateAcceptsAPlanAndResolvesItsZone(t *testing.T) {
	p := testPlan()
	p.TimeZone = "Europe/Berlin"
	p.Windows = []Window{{Days: []string{"mon-thu"}, From: "09:00", To: "16:00"}}
	p.Blackouts = []Blackout{{Name: "peak", From: "2026-11-20", To: "2026-11-30"}}
	p.Exclusions = []Exclusion{{Segment: "enterprise", UntilStage: "ring-100"}}
	p.Gates = []Gate{{Metric: "conversion", Direction: Increase, Margin: Amount{Relative: 0.01}, FromStage: "ring-10"}}
	var loaded []string
	err := p.Validate(ValidateOptions{
		SegmentExists: func(string) bool { return true },
		Flag:          testFlag(),
		LoadLocation: func(name string) (*time.Location, error) {
			loaded = append(loaded, name)
			return time.LoadLocation(name)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if p.Location == nil || p.Location.String() != "Europe/Berlin" {
		t.Errorf("Location = %v, want Europe/Berlin", p.Location)
	}
	if fmt.Sprint(loaded) != "[Europe/Berlin]" {
		t.Errorf("resolver called with %v", loaded)
	}
}

func TestCheckEditProtectsWhatTheRolloutAlreadyServed(t *testing.T) {
	tests := []struct {
		name   string
		edit   func(p *Plan)
		state  State
		substr string
	}{
		{"changing a later stage is allowed", func(p *Plan) { p.Stages[2].MinDuration = day }, running(1, t0), ""},
		{"changing guardrails is allowed", func(p *Plan) { p.Guardrails = p.Guardrails[:1] }, running(1, t0), ""},
		{"a draft may change anything", func(p *Plan) { p.HoldoutPercent = 5 }, NewState("r1", t0), ""},
		{"the current stage's ring cannot change", func(p *Plan) { p.Stages[1].Percent = 5 }, running(1, t0), "already entered"},
		{"an entered stage's segments cannot change", func(p *Plan) { p.Stages[0].Segments = []string{"staff"} }, running(1, t0), "already entered"},
		{"an entered stage's regions cannot change", func(p *Plan) {
			p.Stages[1].Regions = &Regions{Attribute: "country", Values: []string{"NZ"}}
		}, running(1, t0), "already entered"},
		{"entered stages cannot be removed", func(p *Plan) { p.Stages = p.Stages[:1] }, running(1, t0), "cannot be removed"},
		{"the holdout is fixed", func(p *Plan) { p.HoldoutPercent = 5 }, running(0, t0), "holdout"},
		{"the salt is fixed", func(p *Plan) { p.Salt = "new" }, running(0, t0), "salt"},
		{"the treatment is fixed", func(p *Plan) { p.Treatment = "v2" }, running(0, t0), "treatment"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prev, next := testPlan(), testPlan()
			tt.edit(next)
			err := CheckEdit(prev, next, tt.state)
			if tt.substr == "" {
				if err != nil {
					t.Errorf("CheckEdit = %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.substr) {
				t.Errorf("CheckEdit = %v, want %q", err, tt.substr)
			}
		})
	}
}
