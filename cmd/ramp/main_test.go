package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// startServe runs `ramp serve` in-process on a free loopback port with a fresh data
// directory and returns the environment a CLI user would export.
func startServe(t *testing.T) map[string]string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var stdout bytes.Buffer
	ready := make(chan string, 1)
	done := make(chan error, 1)
	dir := t.TempDir()
	go func() {
		done <- serve(ctx, &stdout, &bytes.Buffer{}, "127.0.0.1:0", dir, "text", ready)
	}()
	var addr string
	select {
	case addr = <-ready:
	case err := <-done:
		t.Fatalf("serve ended: %v", err)
	case <-time.After(20 * time.Second):
		t.Fatal("serve did not start")
	}
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	token := regexp.MustCompile(`ramp_api_[a-z0-9]+`).FindString(stdout.String())
	if token == "" {
		t.Fatalf("serve printed no admin token:\n%s", stdout.String())
	}
	if !strings.Contains(stdout.String(), "http://"+addr) {
		t.Fatalf("serve did not print its URL:\n%s", stdout.String())
	}
	return map[string]string{"RAMP_URL": "http://" + addr, "RAMP_TOKEN": token}
}

// ramp runs one CLI command and returns its output.
func ramp(t *testing.T, env map[string]string, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	root := newRootCommand(&out, &errOut, func(k string) string { return env[k] })
	root.SetArgs(args)
	err := root.ExecuteContext(context.Background())
	return out.String(), err
}

func mustRamp(t *testing.T, env map[string]string, args ...string) string {
	t.Helper()
	out, err := ramp(t, env, args...)
	if err != nil {
		t.Fatalf("ramp %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func TestTheREADMETourWorks(t *testing.T) {
	env := startServe(t)
	dir := t.TempDir()
	flagFile := filepath.Join(dir, "summarize.yaml")
	os.WriteFile(flagFile, []byte(`key: summarize
type: json
variants:
  control:   {model: small-v1, temperature: 0.2}
  treatment: {model: large-v2, temperature: 0.1}
off_variant: control
enabled: true
rules:
  - id: eu-first
    conditions: [{attribute: country, op: in, values: [DE, FR]}]
    serve: {variant: treatment}
default:
  split: [{variant: treatment, weight: 10000}, {variant: control, weight: 90000}]
`), 0o644)
	mustRamp(t, env, "flags", "create", "-f", flagFile)
	if out := mustRamp(t, env, "flags", "list", "-e", "production"); !strings.Contains(out, "treatment 10% / control 90%") {
		t.Fatalf("flags list:\n%s", out)
	}
	if out := mustRamp(t, env, "sdk-keys", "create", "-e", "production"); !strings.Contains(out, "ramp_srv_") {
		t.Fatalf("sdk-keys create:\n%s", out)
	}
	mustRamp(t, env, "flags", "disable", "summarize", "-e", "production", "--reason", "summaries too long")
	if out := mustRamp(t, env, "audit", "list"); !strings.Contains(out, "summaries too long") {
		t.Fatalf("audit list lacks the reason:\n%s", out)
	}
	if out := mustRamp(t, env, "audit", "verify"); !strings.Contains(out, "intact") {
		t.Fatalf("audit verify:\n%s", out)
	}

	t.Run("export and apply round-trip, and apply is idempotent", func(t *testing.T) {
		exported := filepath.Join(dir, "ramp.yaml")
		mustRamp(t, env, "export", "-f", exported)
		if out := mustRamp(t, env, "apply", "-f", exported); !strings.Contains(out, "no changes") {
			t.Fatalf("applying the export changed something:\n%s", out)
		}
		data, _ := os.ReadFile(exported)
		changed := strings.Replace(string(data), "temperature: 0.1", "temperature: 0.3", 1)
		os.WriteFile(exported, []byte(changed), 0o644)
		out := mustRamp(t, env, "apply", "-f", exported)
		if !strings.Contains(out, "~ flag summarize definition (variants)") || !strings.Contains(out, "applied 1 changes") {
			t.Fatalf("apply of a changed variant:\n%s", out)
		}
		if out := mustRamp(t, env, "apply", "-f", exported); !strings.Contains(out, "no changes") {
			t.Fatalf("second apply changed something:\n%s", out)
		}
	})

	t.Run("bad input says what and where", func(t *testing.T) {
		bad := filepath.Join(dir, "bad.yaml")
		os.WriteFile(bad, []byte("flags:\n  x:\n    type: bool\n    variants: {on: true}\n    enviroments: {}\n"), 0o644)
		_, err := ramp(t, env, "apply", "-f", bad)
		if err == nil || !strings.Contains(err.Error(), `did you mean "environments"`) {
			t.Fatalf("apply of a misspelt field: %v", err)
		}
		_, err = ramp(t, env, "flags", "get", "nope")
		if err == nil || !strings.Contains(err.Error(), "404") {
			t.Fatalf("get of a missing flag: %v", err)
		}
		_, err = ramp(t, map[string]string{"RAMP_URL": env["RAMP_URL"]}, "flags", "list")
		if err == nil || !strings.Contains(err.Error(), "RAMP_TOKEN") {
			t.Fatalf("a command without a token: %v", err)
		}
	})
}
