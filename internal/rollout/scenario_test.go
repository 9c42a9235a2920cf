package rollout

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"
)

var rewrite = flag.Bool("rewrite", false, "rewrite the expected output of testdata/scenarios")

// TestScenarios runs the text scenarios in testdata/scenarios, a small format in
// the spirit of cockroachdb/datadriven: each block is a command line, optional
// input lines, a "----" line and the expected output, ended by a blank line.
// `go test -run Scenarios -rewrite` regenerates the expected output.
//
// Commands:
//
//	plan                      the input is the plan in YAML; it is validated
//	start <RFC 3339 time>     start the rollout (by alice)
//	tick <duration> [k=v…]    advance the clock, decide on a made-up analysis, apply
//	at <RFC 3339 time> [k=v…] the same at an absolute time
//	approve by=… role=…       record an approval of the next stage by … (asked by alice)
//	edit-treatment            the treatment's value changed: a new evidence period
//	pause | resume | rollback a person's action (by carol)
//	render                    print the managed block
//
// A tick's analysis is current and fresh, every guardrail clear, 1000 units per
// arm, unless overridden: <metric>=clear|crossed|none, units=N, srm, data=none|stale.
// Invariants checked after every step: the state is legal, and Decide never
// advanced in a blackout, outside a window or without data.
func TestScenarios(t *testing.T) {
	files, err := filepath.Glob("testdata/scenarios/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no scenarios: %v", err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			r := &scenarioRunner{t: t}
			var out strings.Builder
			lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
			for i := 0; i < len(lines); {
				line := lines[i]
				if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
					out.WriteString(line + "\n")
					i++
					continue
				}
				start := i
				for i < len(lines) && lines[i] != "----" {
					i++
				}
				if i == len(lines) {
					t.Fatalf("%s:%d: command without ----", file, start+1)
				}
				cmd, input := lines[start], lines[start+1:i]
				i++
				var want []string
				for i < len(lines) && lines[i] != "" {
					want = append(want, lines[i])
					i++
				}
				got := r.run(cmd, strings.Join(input, "\n"))
				out.WriteString(strings.Join(lines[start:start+1+len(input)], "\n") + "\n----\n")
				if got != "" {
					out.WriteString(got + "\n")
				}
				if !*rewrite {
					if diff := cmp.Diff(strings.Join(want, "\n"), got); diff != "" {
						t.Errorf("%s:%d: %s (-want +got):\n%s", file, start+1, cmd, diff)
					}
				}
			}
			if *rewrite {
				if err := os.WriteFile(file, []byte(out.String()), 0o644); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

type scenarioRunner struct {
	t         *testing.T
	p         *Plan
	s         State
	now       time.Time
	approvals []Approval
}

func (r *scenarioRunner) run(cmd, input string) string {
	r.t.Helper()
	fields := strings.Fields(cmd)
	args := map[string]string{}
	var positional []string
	for _, f := range fields[1:] {
		if k, v, ok := strings.Cut(f, "="); ok {
			args[k] = v
		} else {
			positional = append(positional, f)
		}
	}
	switch fields[0] {
	case "plan":
		var p Plan
		if err := yaml.Unmarshal([]byte(input), &p); err != nil {
			r.t.Fatalf("plan: %v", err)
		}
		if err := p.Validate(ValidateOptions{}); err != nil {
			return "invalid: " + err.Error()
		}
		r.p = &p
		var names []string
		for _, s := range p.Stages {
			names = append(names, s.Name)
		}
		return fmt.Sprintf("ok: %s; holdout %d buckets", strings.Join(names, " → "), p.HoldoutBuckets())
	case "start":
		r.now = r.parseTime(positional[0])
		return r.step(NewState("r1", r.now).Start(r.p, "alice", "start", r.now))
	case "tick", "at":
		if fields[0] == "tick" {
			d, err := ParseDuration(positional[0])
			if err != nil {
				r.t.Fatal(err)
			}
			r.now = r.now.Add(d.D())
		} else {
			r.now = r.parseTime(positional[0])
		}
		return r.decide(args, positional[1:])
	case "approve":
		r.approvals = append(r.approvals, Approval{RolloutID: "r1", Stage: r.s.Stage + 1, Approver: args["by"], ApproverRole: args["role"], Requester: "alice", At: r.now})
		return fmt.Sprintf("%s approves stage %q as %s", args["by"], stageName(r.p, r.s.Stage+1), args["role"])
	case "edit-treatment":
		return r.step(r.s.RestartEvidence("alice", "treatment value changed", r.now))
	case "pause":
		return r.step(r.s.Pause("carol", "manual", r.now))
	case "resume":
		return r.step(r.s.Resume("carol", "manual", r.now))
	case "rollback":
		return r.step(r.s.Rollback("carol", "manual", r.now))
	case "render":
		var b strings.Builder
		for i, rule := range Render(r.p, r.s) {
			if i > 0 {
				b.WriteByte('\n')
			}
			var conds []string
			for _, c := range rule.Conditions {
				switch {
				case c.Bucket != nil:
					conds = append(conds, fmt.Sprintf("bucket[%d,%d)", c.Bucket.From, c.Bucket.To))
				case c.Segment != "":
					conds = append(conds, "in_segment "+c.Segment)
				default:
					conds = append(conds, fmt.Sprintf("%s %s %v", c.Attribute, c.Op, c.Values))
				}
			}
			if len(conds) == 0 {
				conds = []string{"everyone"}
			}
			fmt.Fprintf(&b, "%s → %s (arm %s)", strings.Join(conds, " and "), rule.Serve.Variant, rule.Metadata[MetaArm])
		}
		return b.String()
	}
	r.t.Fatalf("unknown command %q", cmd)
	return ""
}

func (r *scenarioRunner) parseTime(s string) time.Time {
	at, err := time.Parse(time.RFC3339, s)
	if err != nil {
		r.t.Fatal(err)
	}
	return at
}

func (r *scenarioRunner) step(next State, tr Transition, err error) string {
	if err != nil {
		return "error: " + err.Error()
	}
	r.s = next
	if !tr.Changed() {
		return "no change"
	}
	return fmt.Sprintf("%s: %s → %s at %q", tr.Kind, tr.From, tr.To, stageName(r.p, next.Stage))
}

func (r *scenarioRunner) decide(args map[string]string, positional []string) string {
	a := &Analysis{AsOf: r.now, Stage: r.s.Stage, EvidenceStart: r.s.EvidenceStart, UnitsTreatment: 1000, UnitsControl: 1000}
	for _, g := range r.p.Guardrails {
		v := Verdict(args[g.Metric])
		if v == "" {
			v = Clear
		}
		if v != "none" {
			a.Guardrails = append(a.Guardrails, MetricResult{Metric: g.Metric, Verdict: v})
		}
	}
	if u, ok := args["units"]; ok {
		n, _ := strconv.ParseInt(u, 10, 64)
		a.UnitsTreatment, a.UnitsControl = n, n
	}
	if slices.Contains(positional, "srm") {
		a.SRM = true
	}
	switch args["data"] {
	case "none":
		a = nil
	case "stale":
		a.AsOf = r.now.Add(-r.p.StaleAfterDuration() - time.Second)
	}
	d := Decide(r.p, r.s, a, r.approvals, r.now)
	_, _, inBlackout, _ := r.p.ActiveBlackout(r.now)
	inWindow, _ := r.p.InWindow(r.now)
	if (d.Action == Advance || d.Action == Complete) && (inBlackout || !inWindow || a == nil) {
		r.t.Errorf("invariant: %s at %s despite blackout=%v window=%v data=%v", d.Action, r.now, inBlackout, inWindow, a != nil)
	}
	next, _, err := r.s.Apply(r.p, d)
	if err != nil {
		r.t.Fatalf("apply %s: %v", d.Action, err)
	}
	r.s = next
	what := string(d.Action)
	if d.Action == Hold {
		var hs []string
		for _, h := range d.Holds {
			hs = append(hs, string(h))
		}
		what += " (" + strings.Join(hs, ", ") + ")"
	}
	if d.ApprovalNeeded {
		what += " [approval requested]"
	}
	loc := r.p.Location
	return fmt.Sprintf("%s %s → %s at %q: %s", r.now.In(loc).Format("Mon 15:04"), what, r.s.Status, stageName(r.p, r.s.Stage), d.Reason)
}
