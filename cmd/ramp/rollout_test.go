package main

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestMain lets the test binary act as `ramp serve` in a child process, so that a
// test can kill it with SIGKILL (RAMP_TEST_SERVE_DIR names its data directory).
func TestMain(m *testing.M) {
	if dir := os.Getenv("RAMP_TEST_SERVE_DIR"); dir != "" {
		if err := serve(context.Background(), os.Stdout, os.Stderr, "127.0.0.1:0", dir, "text", nil); err != nil {
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// startChild runs `ramp serve` on dir in a child process and returns it and its URL
// and, on a first start, its admin token.
func startChild(t *testing.T, dir string, first bool) (*exec.Cmd, string, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "RAMP_TEST_SERVE_DIR="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	found := make(chan [2]string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		var url, token string
		for sc.Scan() {
			line := sc.Text()
			if m := regexp.MustCompile(`dashboard and API: (http://\S+)`).FindStringSubmatch(line); m != nil {
				url = m[1]
			}
			if m := regexp.MustCompile(`ramp_api_[a-z0-9]+`).FindString(line); m != "" {
				token = m
			}
			if url != "" && (token != "" || !first && strings.Contains(line, "store:")) {
				select {
				case found <- [2]string{url, token}:
				default:
				}
			}
		}
	}()
	select {
	case f := <-found:
		return cmd, f[0], f[1]
	case <-time.After(30 * time.Second):
		t.Fatal("the child ramp serve did not start")
	}
	return nil, "", ""
}

func TestAKilledServerResumesRolloutsWhereTheyWere(t *testing.T) {
	dir := t.TempDir()
	child, url, token := startChild(t, dir, true)
	env := map[string]string{"RAMP_URL": url, "RAMP_TOKEN": token}
	mustRamp(t, env, "flags", "create", "smart-reply", "--type", "bool")
	mustRamp(t, env, "flags", "enable", "smart-reply", "-e", "production")
	out := mustRamp(t, env, "rollout", "create", "-e", "production", "--template", "progressive-24h", "--flag", "smart-reply", "--treatment", "on", "--control", "off")
	id := regexp.MustCompile(`ro_[0-9a-f]+`).FindString(out)
	mustRamp(t, env, "rollout", "start", id)
	mustRamp(t, env, "rollout", "advance", id)
	before := mustRamp(t, env, "rollout", "status", id, "-o", "json")

	if err := child.Process.Kill(); err != nil { // SIGKILL: no shutdown of any kind
		t.Fatal(err)
	}
	child.Wait()
	_, url2, _ := startChild(t, dir, false)
	env["RAMP_URL"] = url2
	after := mustRamp(t, env, "rollout", "status", id, "-o", "json")
	field := func(doc, name string) string {
		return regexp.MustCompile(`"` + name + `": "?([^",\n]*)`).FindStringSubmatch(doc)[1]
	}
	for _, f := range []string{"status", "stage", "stage_started", "evidence_start"} {
		if field(before, f) != field(after, f) {
			t.Errorf("%s was %s before the kill and is %s after", f, field(before, f), field(after, f))
		}
	}
	if field(after, "stage") != "1" || field(after, "status") != "running" {
		t.Errorf("after the restart: %s at stage %s; want running at stage 1", field(after, "status"), field(after, "stage"))
	}
	if out := mustRamp(t, env, "flags", "get", "smart-reply", "-e", "production"); !strings.Contains(out, `"stage": "ring-10"`) {
		t.Errorf("the flag's managed block after the restart:\n%s", out)
	}
}

func TestRolloutCommands(t *testing.T) {
	env := startServe(t)
	dir := t.TempDir()
	mustRamp(t, env, "flags", "create", "smart-reply", "--type", "bool")
	mustRamp(t, env, "flags", "enable", "smart-reply", "-e", "production")
	planFile := filepath.Join(dir, "plan.yaml")
	os.WriteFile(planFile, []byte(`name: smart-reply-production
flag: smart-reply
environment: production
treatment: "on"
control: "off"
stages:
  - {name: ring-10, percent: 10, min_duration: 60m}
  - {name: ring-50, percent: 50, min_duration: 1h, require_approval: true}
  - {name: ring-100, percent: 100, min_duration: 1h}
guardrails:
  - {metric: error_rate, direction: increase, tolerance: {relative: 0.1}}
`), 0o644)
	if out := mustRamp(t, env, "plans", "apply", "-f", planFile); !strings.Contains(out, "created plan smart-reply-production") {
		t.Fatalf("plans apply:\n%s", out)
	}
	if out := mustRamp(t, env, "plans", "apply", "-f", planFile); !strings.Contains(out, "unchanged") {
		t.Fatalf("plans apply of the same file:\n%s", out)
	}
	if out := mustRamp(t, env, "templates", "list"); !strings.Contains(out, "ai-standard") || !strings.Contains(out, "smart-reply-production  saved") {
		t.Fatalf("templates list:\n%s", out)
	}

	out := mustRamp(t, env, "rollout", "create", "--plan", "smart-reply-production")
	id := regexp.MustCompile(`ro_[0-9a-f]+`).FindString(out)
	if id == "" {
		t.Fatalf("rollout create:\n%s", out)
	}
	if out := mustRamp(t, env, "rollout", "start", id, "--reason", "ship it"); !strings.Contains(out, "running, 1/3 ring-10") {
		t.Fatalf("rollout start:\n%s", out)
	}
	if out := mustRamp(t, env, "rollout", "status", id); !strings.Contains(out, "next:") || !strings.Contains(out, "start") || !strings.Contains(out, "ship it") {
		t.Fatalf("rollout status:\n%s", out)
	}

	// Four eyes: the creator cannot approve; another release manager can.
	if _, err := ramp(t, env, "rollout", "approve", id); err == nil || !strings.Contains(err.Error(), "403") || !strings.Contains(err.Error(), "four eyes") {
		t.Fatalf("approving one's own rollout: %v", err)
	}
	tok := regexp.MustCompile(`ramp_api_[a-z0-9]+`).FindString(mustRamp(t, env, "tokens", "create", "--name", "bob", "--role", "release-manager"))
	bob := map[string]string{"RAMP_URL": env["RAMP_URL"], "RAMP_TOKEN": tok}
	if out := mustRamp(t, bob, "rollout", "approve", id, "--reason", "fine by me"); !strings.Contains(out, "approved entering stage 1") {
		t.Fatalf("bob's approval:\n%s", out)
	}
	if out := mustRamp(t, env, "rollout", "advance", id); !strings.Contains(out, "running, 2/3 ring-50") {
		t.Fatalf("advance after the approval:\n%s", out)
	}
	if out := mustRamp(t, env, "rollout", "pause", id); !strings.Contains(out, "paused") {
		t.Fatalf("pause:\n%s", out)
	}
	if out := mustRamp(t, env, "rollout", "resume", id, "--restart-evidence"); !strings.Contains(out, "running") || !strings.Contains(out, "new evidence period") {
		t.Fatalf("resume:\n%s", out)
	}
	if _, err := ramp(t, env, "rollout", "rollback", id); err == nil || !strings.Contains(err.Error(), "--reason") {
		t.Fatalf("a rollback without a reason: %v", err)
	}
	if out := mustRamp(t, env, "rollout", "rollback", id, "--reason", "support tickets up"); !strings.Contains(out, "rolled_back") {
		t.Fatalf("rollback:\n%s", out)
	}
	if out := mustRamp(t, env, "rollout", "list", "-e", "production"); !strings.Contains(out, id) || !strings.Contains(out, "rolled_back") {
		t.Fatalf("rollout list:\n%s", out)
	}
	if out := mustRamp(t, env, "rollout", "decisions", id); !strings.Contains(out, "rollback") || !strings.Contains(out, "support tickets up") {
		t.Fatalf("rollout decisions:\n%s", out)
	}
	if out := mustRamp(t, env, "audit", "list", "--target", "rollout:"+id); !strings.Contains(out, "rollout.approve") || !strings.Contains(out, "rollout.rollback") {
		t.Fatalf("audit of the rollout:\n%s", out)
	}

	t.Run("export and apply carry plans and skip managed rules", func(t *testing.T) {
		exported := filepath.Join(dir, "ramp.yaml")
		mustRamp(t, env, "export", "-f", exported)
		data, _ := os.ReadFile(exported)
		if !strings.Contains(string(data), "plans:") || !strings.Contains(string(data), "smart-reply-production:") || strings.Contains(string(data), "rollout.") {
			t.Fatalf("export:\n%s", data)
		}
		if out := mustRamp(t, env, "apply", "-f", exported); !strings.Contains(out, "no changes") {
			t.Fatalf("applying the export changed something:\n%s", out)
		}
		changed := strings.Replace(string(data), "min_duration: 1h", "min_duration: 2h", 1)
		os.WriteFile(exported, []byte(changed), 0o644)
		if out := mustRamp(t, env, "apply", "-f", exported); !strings.Contains(out, "~ plan smart-reply-production (stages)") || !strings.Contains(out, "applied 1 changes") {
			t.Fatalf("apply of a changed plan:\n%s", out)
		}
		if out := mustRamp(t, env, "apply", "-f", exported); !strings.Contains(out, "no changes") {
			t.Fatalf("second apply changed something:\n%s", out)
		}
	})
}
