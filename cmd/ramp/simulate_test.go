package main

import (
	"bytes"
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
)

func simulate(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	root := newRootCommand(&out, &errOut, func(string) string { return "" })
	root.SetArgs(append([]string{"simulate"}, args...))
	err = root.ExecuteContext(context.Background())
	return out.String(), errOut.String(), err
}

func TestSimulatePrintsTheTables(t *testing.T) {
	out, errOut, err := simulate(t, "--template", "ai-standard", "--runs", "3", "--scenarios", "aa,srm", "--horizon", "12h", "--seed", "5")
	if err != nil {
		t.Fatal(err)
	}
	if errOut != "" {
		t.Errorf("stderr is not a terminal, yet something was written there: %q", errOut)
	}
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`(?m)^plan ai-standard: alpha → beta → ring-1 → .* → ring-100; advances on evidence; guardrails error_rate, latency_p95, thumbs_up_rate$`),
		regexp.MustCompile(`(?m)^α 0.01 for the plan over 7 tested stages × 3 metrics: `),
		regexp.MustCompile(`(?m)^traffic: 1000 new units every 5 virtual minutes`),
		regexp.MustCompile(`(?m)^3 runs per scenario, seed 5$`),
		regexp.MustCompile(`(?m)^  STAGE +π +COMPARED UNITS/H +NEEDS`),
		regexp.MustCompile(`(?m)^  ring-5 +5 % +[0-9 ]+ +[0-9 ]+ T \(error_rate\)`),
		regexp.MustCompile(`(?m)^Outcomes \(ramp's decisions applied; `),
		regexp.MustCompile(`(?m)^SCENARIO +RUNS +ROLLED BACK +PAUSED +COMPLETED +UNFINISHED +DETECTED \(95% CI\)`),
		// Twelve virtual hours are not enough to leave alpha: the A/A runs are unfinished.
		regexp.MustCompile(`(?m)^aa +3 +0 +0 +0 +3 +false 0 = 0 % \[0 %, 70.8 %\]`),
		regexp.MustCompile(`(?m)^srm +3 +`),
		regexp.MustCompile(`(?m)^Detectors on the same data`),
		regexp.MustCompile(`(?m)^SCENARIO +ORACLE E\[N\] +RAMP +Z-TEST PEEKED EVERY TICK +THRESHOLD 1.5× ×3 TICKS$`),
		regexp.MustCompile(`(?m)^srm +[0-9 ]+ \(α 0.0014\) +.* +n/a \(no SRM test\) +n/a \(watches the error rate\)$`),
		regexp.MustCompile(`(?m)^aa +— +false 0 = 0 % \[0 %, 70.8 %\]; SRM pauses 0 = 0 % `),
		regexp.MustCompile(`(?m)^[0-9.]+ s wall time$`),
	} {
		if !want.MatchString(out) {
			t.Errorf("output lacks %s:\n%s", want, out)
		}
	}
}

func TestSimulateJSON(t *testing.T) {
	out, _, err := simulate(t, "--plan", "../../internal/sim/testdata/four-guardrails.yaml", "--runs", "4", "--scenarios", "error",
		"--observe", "--json", "--horizon", "3d")
	if err != nil {
		t.Fatal(err)
	}
	var rep struct {
		Plan struct {
			Name       string `json:"name"`
			Guardrails []any  `json:"guardrails"`
		} `json:"plan"`
		Runs  int `json:"runs"`
		Alpha struct {
			TestedStages int     `json:"tested_stages"`
			Overall      float64 `json:"overall_test"`
		} `json:"alpha"`
		Scenarios []struct {
			Scenario string `json:"scenario"`
			Runs     int    `json:"runs"`
			Observe  bool   `json:"observe"`
			Onset    string `json:"onset"`
			Ramp     struct {
				Fired          int `json:"fired"`
				TreatmentUnits struct {
					N      int     `json:"n"`
					Median float64 `json:"median"`
				} `json:"treatment_units"`
				Ratio float64 `json:"ratio"`
			} `json:"ramp"`
			Oracle *struct {
				Units float64 `json:"units"`
				Test  string  `json:"test"`
			} `json:"oracle"`
		} `json:"scenarios"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	if rep.Plan.Name != "smart-reply-guarded" || len(rep.Plan.Guardrails) != 4 || rep.Runs != 4 || rep.Alpha.TestedStages != 7 {
		t.Errorf("report header: %+v", rep)
	}
	if len(rep.Scenarios) != 1 {
		t.Fatalf("%d scenarios", len(rep.Scenarios))
	}
	sc := rep.Scenarios[0]
	if sc.Scenario != "error" || sc.Runs != 4 || !sc.Observe || sc.Onset != "ring-5" || sc.Oracle == nil || sc.Oracle.Test != "error_rate" {
		t.Errorf("scenario: %+v", sc)
	}
	if sc.Ramp.Fired < 3 || sc.Ramp.TreatmentUnits.N != sc.Ramp.Fired || !(sc.Ramp.Ratio > 0.5 && sc.Ramp.Ratio < 5) {
		t.Errorf("ramp's detections: %+v", sc.Ramp)
	}
}

func TestSimulateSaysWhatIsWrong(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{nil, "give the plan to simulate: --plan FILE or --template NAME"},
		{[]string{"--plan", "p.yaml", "--template", "ai-standard"}, "not both"},
		{[]string{"--template", "ai-fancy"}, `unknown template "ai-fancy"; the built-in templates are ai-standard`},
		{[]string{"--template", "ai-standard", "--scenarios", "aa,outage"}, `unknown scenario "outage"; the scenarios are aa, error, thumbs`},
		{[]string{"--template", "ai-standard", "--onset", "ring-7"}, `onset stage "ring-7" is not in the plan`},
		{[]string{"--template", "ai-standard", "--runs", "0"}, "--runs 0"},
	} {
		_, _, err := simulate(t, tt.args...)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("simulate %q: error %v, want it to say %q", tt.args, err, tt.want)
		}
	}
}
