package rollout

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// The built-in templates. Users' own templates are saved plans; the server stores
// them and [Override] instantiates them the same way.
const (
	// TemplateAIStandard: internal alpha → opted-in beta → 1 → 5 → 10 → 25 → 50 → 100 %.
	TemplateAIStandard = "ai-standard"
	// TemplateRegulated: the same stages, an approval for every one, at least 24 h
	// in each, advancing only in office hours. Rollback never needs an approval.
	TemplateRegulated = "regulated"
	// TemplateEcommerce: an A/B test against control with a conversion gate, and an
	// example peak-season blackout to edit.
	TemplateEcommerce = "ecommerce"
	// TemplateProgressive24h: 5 → 100 % over about a day for low-risk changes;
	// advances on time, still guarded.
	TemplateProgressive24h = "progressive-24h"
)

// TemplateNames lists the built-in templates.
func TemplateNames() []string {
	return []string{TemplateAIStandard, TemplateRegulated, TemplateEcommerce, TemplateProgressive24h}
}

const (
	hour = Duration(time.Hour)
	day  = 24 * hour
)

// aiGuardrails are the guardrails of an AI feature: errors and latency roll back,
// a drop in user satisfaction pauses for a person to judge. Baselines are typical
// values that only size the stages; set your own.
func aiGuardrails() []Guardrail {
	return []Guardrail{
		{Metric: "error_rate", Kind: Proportion, Direction: Increase, Tolerance: Amount{Relative: 0.10}, Action: Rollback,
			Harm: Amount{Relative: 0.50}, Baseline: 0.01},
		{Metric: "latency_p95", Kind: Quantile, Direction: Increase, Tolerance: Amount{Relative: 0.15}, Action: Rollback},
		{Metric: "thumbs_up_rate", Kind: Proportion, Direction: Decrease, Tolerance: Amount{Absolute: 0.02}, Action: Pause,
			Harm: Amount{Absolute: 0.05}, Baseline: 0.80},
	}
}

func aiStages(minRing Duration, approval bool) []Stage {
	stages := []Stage{
		{Name: "alpha", Description: "internal users", Segments: []string{"internal"}, MinDuration: day, MaxDuration: 7 * day},
		{Name: "beta", Description: "users who opted in to the beta", Segments: []string{"beta"}, MinDuration: day, MaxDuration: 7 * day},
	}
	for _, pct := range []float64{1, 5, 10, 25, 50, 100} {
		stages = append(stages, Stage{Name: fmt.Sprintf("ring-%g", pct), Percent: pct, MinDuration: minRing, MaxDuration: 7 * day})
	}
	if approval {
		for i := range stages {
			stages[i].RequireApproval = true
		}
	}
	return stages
}

// Template returns a built-in template as a plan without flag, environment or
// variants; ok is false for an unknown name.
func Template(name string) (p Plan, ok bool) {
	switch name {
	case TemplateAIStandard:
		stages := aiStages(4*hour, false)
		stages[len(stages)-1].MinDuration = day // bake at 100 % before completing
		return Plan{
			Template:    name,
			Description: "AI feature: internal alpha, opted-in beta, then rings 1 → 5 → 10 → 25 → 50 → 100 %",
			Stages:      stages,
			Guardrails:  aiGuardrails(),
		}, true
	case TemplateRegulated:
		return Plan{
			Template:    name,
			Description: "Regulated change: an approval for every stage, at least 24 h in each, advancing Mon–Thu 09:00–16:00; rollback needs no approval",
			Stages:      aiStages(day, true),
			Guardrails:  aiGuardrails(),
			TimeZone:    "UTC",
			Windows:     []Window{{Days: []string{"mon-thu"}, From: "09:00", To: "16:00"}},
		}, true
	case TemplateEcommerce:
		return Plan{
			Template:    name,
			Description: "E-commerce A/B test against control with a conversion gate; edit the example peak-season blackout",
			Stages: []Stage{
				{Name: "ring-1", Percent: 1, MinDuration: 4 * hour, MaxDuration: 3 * day},
				{Name: "ring-10", Percent: 10, MinDuration: day, MaxDuration: 7 * day},
				{Name: "ab-50", Description: "the A/B test: half treatment, half control, a full week", Percent: 50, MinDuration: 7 * day, MaxDuration: 21 * day},
				{Name: "ring-100", Percent: 100, MinDuration: day},
			},
			Guardrails: []Guardrail{
				{Metric: "checkout_error_rate", Kind: Proportion, Direction: Increase, Tolerance: Amount{Relative: 0.05}, Action: Rollback,
					Harm: Amount{Relative: 0.30}, Baseline: 0.02},
				{Metric: "page_latency_p95", Kind: Quantile, Direction: Increase, Tolerance: Amount{Relative: 0.10}, Action: Rollback},
			},
			Gates: []Gate{
				{Metric: "conversion_rate", Direction: Increase, Margin: Amount{Relative: 0.01}, FromStage: "ab-50"},
			},
			TimeZone: "UTC",
			Windows:  []Window{{Days: []string{"mon-thu"}, From: "09:00", To: "17:00"}},
			Blackouts: []Blackout{
				{Name: "peak-season-example", From: "2026-11-23", To: "2026-12-01"},
			},
		}, true
	case TemplateProgressive24h:
		return Plan{
			Template:    name,
			Description: "Low-risk change: 5 → 100 % over about a day on time alone, guardrails still rolling back",
			AdvanceOn:   OnTime,
			Stages: []Stage{
				{Name: "ring-5", Percent: 5, MinDuration: 3 * hour, MaxDuration: day},
				{Name: "ring-10", Percent: 10, MinDuration: 3 * hour, MaxDuration: day},
				{Name: "ring-25", Percent: 25, MinDuration: 6 * hour, MaxDuration: day},
				{Name: "ring-50", Percent: 50, MinDuration: 6 * hour, MaxDuration: day},
				{Name: "ring-100", Percent: 100, MinDuration: 6 * hour},
			},
			Guardrails: []Guardrail{
				{Metric: "error_rate", Kind: Proportion, Direction: Increase, Tolerance: Amount{Relative: 0.10}, Action: Rollback,
					Harm: Amount{Relative: 0.50}, Baseline: 0.01},
				{Metric: "latency_p95", Kind: Quantile, Direction: Increase, Tolerance: Amount{Relative: 0.15}, Action: Rollback},
			},
		}, true
	}
	return Plan{}, false
}

// Instantiate makes a plan from a built-in template and the user's overrides (see
// [Override]); the overrides name at least the flag, environment and variants.
func Instantiate(template string, overrides Plan) (Plan, error) {
	base, ok := Template(template)
	if !ok {
		return Plan{}, fmt.Errorf("unknown template %q; the built-in templates are %s", template, strings.Join(TemplateNames(), ", "))
	}
	return Override(base, overrides), nil
}

// Override returns base with every field that is set in o replaced: strings and
// numbers when non-zero, lists when non-empty (a list replaces the template's list
// as a whole: give all the stages, or none). It is how a template, built-in or
// saved, becomes a plan for one flag in one environment.
func Override(base, o Plan) Plan {
	out := base
	str := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	str(&out.Name, o.Name)
	str(&out.Description, o.Description)
	str(&out.Template, o.Template)
	str(&out.Flag, o.Flag)
	str(&out.Environment, o.Environment)
	str(&out.Treatment, o.Treatment)
	str(&out.Control, o.Control)
	str(&out.Salt, o.Salt)
	str(&out.TimeZone, o.TimeZone)
	if o.AdvanceOn != "" {
		out.AdvanceOn = o.AdvanceOn
	}
	num := func(dst *float64, v float64) {
		if v != 0 {
			*dst = v
		}
	}
	num(&out.HoldoutPercent, o.HoldoutPercent)
	num(&out.Alpha, o.Alpha)
	num(&out.Power, o.Power)
	dur := func(dst *Duration, v Duration) {
		if v != 0 {
			*dst = v
		}
	}
	dur(&out.Tick, o.Tick)
	dur(&out.StaleAfter, o.StaleAfter)
	dur(&out.PauseWithoutDataAfter, o.PauseWithoutDataAfter)
	if len(o.Stages) > 0 {
		out.Stages = o.Stages
	}
	if len(o.Guardrails) > 0 {
		out.Guardrails = o.Guardrails
	}
	if len(o.Gates) > 0 {
		out.Gates = o.Gates
	}
	if len(o.Exclusions) > 0 {
		out.Exclusions = o.Exclusions
	}
	if len(o.Windows) > 0 {
		out.Windows = o.Windows
	}
	if len(o.Blackouts) > 0 {
		out.Blackouts = o.Blackouts
	}
	if o.Location != nil {
		out.Location = o.Location
	}
	// Copy the lists so that editing the plan never edits the template.
	out.Stages = cloneStages(out.Stages)
	out.Guardrails = slices.Clone(out.Guardrails)
	out.Gates = slices.Clone(out.Gates)
	out.Exclusions = slices.Clone(out.Exclusions)
	out.Windows = slices.Clone(out.Windows)
	out.Blackouts = slices.Clone(out.Blackouts)
	return out
}

func cloneStages(in []Stage) []Stage {
	out := slices.Clone(in)
	for i := range out {
		out[i].Segments = slices.Clone(out[i].Segments)
		if r := out[i].Regions; r != nil {
			out[i].Regions = &Regions{Attribute: r.Attribute, Values: slices.Clone(r.Values)}
		}
	}
	return out
}
