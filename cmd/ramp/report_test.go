package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/ramp-release/ramp/internal/report"
)

func TestReportCommands(t *testing.T) {
	env := startServe(t)
	mustRamp(t, env, "flags", "create", "smart-reply", "--type", "bool")
	mustRamp(t, env, "flags", "enable", "smart-reply", "-e", "production")
	planFile := filepath.Join(t.TempDir(), "plan.yaml")
	os.WriteFile(planFile, []byte(`name: smart-reply-production
flag: smart-reply
environment: production
treatment: "on"
control: "off"
stages:
  - {name: ring-10, percent: 10, min_duration: 1h}
  - {name: ring-100, percent: 100, min_duration: 1h}
guardrails:
  - {metric: error_rate, direction: increase, tolerance: {relative: 0.1}}
gates:
  - {metric: conversion, direction: increase, margin: {absolute: 0.01}}
`), 0o644)
	mustRamp(t, env, "plans", "apply", "-f", planFile)
	id := regexp.MustCompile(`ro_[0-9a-f]+`).FindString(mustRamp(t, env, "rollout", "create", "--plan", "smart-reply-production"))
	mustRamp(t, env, "rollout", "start", id, "--reason", "ship it")
	mustRamp(t, env, "rollout", "pause", id, "--reason", "looking at a support ticket")
	mustRamp(t, env, "rollout", "rollback", id, "--reason", "support tickets up")

	md := mustRamp(t, env, "report", id)
	for _, want := range []string{"# Rollout report: `smart-reply` in production", "## Velocity", "## Issue detection", "## Adoption", "## Business impact",
		"| 0 | ring-10 | 10 % |", "rolled back by", "support tickets up", "pause by", "rollback by"} {
		if !strings.Contains(md, want) {
			t.Errorf("the Markdown report lacks %q:\n%s", want, md)
		}
	}
	var rep report.Report
	if err := json.Unmarshal([]byte(mustRamp(t, env, "report", id, "--json")), &rep); err != nil {
		t.Fatalf("ramp report --json: %v", err)
	}
	if rep.RolloutID != id || rep.Status != "rolled_back" || len(rep.Detections) != 2 || rep.Detections[0].Cause != "manual" || !rep.Detections[1].FollowsPause {
		t.Errorf("the JSON report: %+v", rep)
	}
	if len(rep.Velocity.Rollbacks) != 1 || rep.Velocity.Rollbacks[0].Reason != "support tickets up" {
		t.Errorf("rollbacks %+v", rep.Velocity.Rollbacks)
	}

	pf := mustRamp(t, env, "report", "--portfolio")
	for _, want := range []string{"# Rollout portfolio", "| all | 1 | 0 | 1 | 0 | 100 % |", "## By environment", "| production | 1 |", "## By template", "| smart-reply-production | 1 |"} {
		if !strings.Contains(pf, want) {
			t.Errorf("the portfolio lacks %q:\n%s", want, pf)
		}
	}
	if out := mustRamp(t, env, "report", "--portfolio", "-e", "staging", "--json"); !strings.Contains(out, `"rollouts": 0`) {
		t.Errorf("the staging portfolio is not empty:\n%s", out)
	}
	if _, err := ramp(t, env, "report"); err == nil || !strings.Contains(err.Error(), "--portfolio") {
		t.Errorf("ramp report without arguments: %v", err)
	}
	if _, err := ramp(t, env, "report", "ro_missing"); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("a report on an unknown rollout: %v", err)
	}
}
