package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// call makes an API request and decodes the answer into out (when not nil).
func call(t *testing.T, env map[string]string, bearer, method, path string, body any, want int, out any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, env["RAMP_URL"]+path, rd)
	req.Header.Set("Authorization", "Bearer "+bearer)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Ramp-Reason", "ingest test")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("%s %s: %s %s; want %d", method, path, resp.Status, data, want)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s: %v in %s", method, path, err, data)
		}
	}
}

// TestEventsToAnalysisEndToEnd closes the loop through `ramp serve`: SDK events are
// queued, folded by the aggregator and analysed; the analysis, feedback and metric
// routes and the metrics commands answer.
func TestEventsToAnalysisEndToEnd(t *testing.T) {
	env := startServe(t)
	tok := env["RAMP_TOKEN"]
	call(t, env, tok, "POST", "/api/v1/flags", map[string]any{"key": "summarize", "type": "bool",
		"variants": map[string]any{"on": true, "off": false}, "off_variant": "off", "default": map[string]any{"variant": "off"}}, http.StatusCreated, nil)
	call(t, env, tok, "POST", "/api/v1/environments/development/flags/summarize/enable", nil, http.StatusOK, nil)
	var key struct {
		Secret string `json:"secret"`
	}
	call(t, env, tok, "POST", "/api/v1/environments/development/sdk-keys", map[string]any{"name": "app", "kind": "server"}, http.StatusCreated, &key)
	var ro struct {
		ID string `json:"id"`
	}
	call(t, env, tok, "POST", "/api/v1/rollouts", map[string]any{"overrides": map[string]any{
		"flag": "summarize", "environment": "development", "treatment": "on", "control": "off",
		"stages": []any{map[string]any{"name": "ring-10", "percent": 10, "min_duration": "1h"}, map[string]any{"name": "all", "percent": 100}},
		"guardrails": []any{
			map[string]any{"metric": "error_rate", "direction": "increase", "action": "pause"},
			map[string]any{"metric": "user_rating", "direction": "decrease", "action": "pause"},
		}}}, http.StatusCreated, &ro)
	call(t, env, tok, "POST", "/api/v1/rollouts/"+ro.ID+"/start", map[string]any{"reason": "test"}, http.StatusOK, nil)

	at := time.Now().UTC().Add(time.Second)
	var evs []map[string]any
	for i := range 400 {
		arm := "control"
		if i%10 == 0 {
			arm = "treatment"
		}
		u := fmt.Sprintf("user-%d", i)
		evs = append(evs,
			map[string]any{"kind": "exposure", "time": at, "unit": u, "flag": "summarize", "variant": map[string]string{"treatment": "on", "control": "off"}[arm],
				"rollout": ro.ID, "stage": "ring-10", "arm": arm, "rule_id": "rollout.ring." + arm, "dimensions": map[string]string{"country": []string{"DE", "BR"}[i%2]}},
			map[string]any{"kind": "metric", "time": at, "unit": u, "metric": "error", "value": i % 3 / 2})
		if i%20 == 0 {
			evs = append(evs, map[string]any{"kind": "metric", "time": at, "unit": u, "metric": "rating", "value": 4, "comment": "helpful summary " + u})
		}
	}
	var acc struct {
		Seq int64 `json:"seq"`
	}
	call(t, env, key.Secret, "POST", "/sdk/v1/events", map[string]any{"batch_id": "e2e-1", "events": evs}, http.StatusAccepted, &acc)

	deadline := time.Now().Add(20 * time.Second)
	for {
		var st struct {
			Seq int64 `json:"seq"`
		}
		call(t, env, tok, "GET", "/api/v1/ingest", nil, http.StatusOK, &st)
		if st.Seq >= acc.Seq {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the aggregator did not fold batch %d", acc.Seq)
		}
		time.Sleep(20 * time.Millisecond) // polling a condition with a deadline
	}

	var doc struct {
		Available bool `json:"available"`
		Units     struct {
			Treatment, Control float64
		} `json:"units"`
		Metrics []struct {
			Metric string `json:"metric"`
			Total  struct {
				Status    string `json:"status"`
				Treatment struct {
					Units float64 `json:"units"`
				} `json:"treatment"`
			} `json:"total"`
			Segments []struct {
				Segment struct{ Dimension, Value string } `json:"segment"`
			} `json:"segments"`
			Series []any `json:"series"`
		} `json:"metrics"`
		Verdicts struct {
			Guardrails []struct{ Metric, Verdict string } `json:"guardrails"`
		} `json:"verdicts"`
	}
	call(t, env, tok, "GET", "/api/v1/rollouts/"+ro.ID+"/analysis", nil, http.StatusOK, &doc)
	if !doc.Available || doc.Units.Treatment != 40 || doc.Units.Control != 360 || len(doc.Metrics) != 2 || doc.Metrics[0].Metric != "error_rate" {
		t.Fatalf("analysis: %+v", doc)
	}
	if n := doc.Metrics[0].Total.Treatment.Units; n != 40 {
		t.Errorf("error_rate counts %v treatment units; want 40", n)
	}
	if len(doc.Metrics[0].Segments) == 0 || doc.Metrics[0].Segments[0].Segment.Dimension != "country" {
		t.Errorf("error_rate has no country segments: %+v", doc.Metrics[0].Segments)
	}
	if len(doc.Verdicts.Guardrails) != 2 {
		t.Errorf("verdicts %+v", doc.Verdicts)
	}

	var fb struct {
		Items []struct{ Comment, Variant, Arm, StageName string } `json:"items"`
	}
	// Comments are stored with the aggregator's next checkpoint (within a second or two).
	for deadline := time.Now().Add(20 * time.Second); ; {
		call(t, env, tok, "GET", "/api/v1/rollouts/"+ro.ID+"/feedback?variant=on&stage=0", nil, http.StatusOK, &fb)
		if len(fb.Items) > 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond) // polling a condition with a deadline
	}
	if len(fb.Items) != 20 || !strings.HasPrefix(fb.Items[0].Comment, "helpful summary") || fb.Items[0].Arm != "treatment" {
		t.Errorf("treatment feedback: %+v", fb.Items)
	}

	out := mustRamp(t, env, "metrics", "list")
	for _, want := range []string{"error_rate", "latency_p95", "cost_per_request", "built-in"} {
		if !strings.Contains(out, want) {
			t.Errorf("metrics list lacks %q:\n%s", want, out)
		}
	}
	file := filepath.Join(t.TempDir(), "metrics.yaml")
	if err := os.WriteFile(file, []byte("metrics:\n  answer_length:\n    kind: mean\n    direction: lower_is_better\n    event: answer_tokens\n    population: active\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if out := mustRamp(t, env, "metrics", "apply", "-f", file); !strings.Contains(out, "+ metric answer_length") {
		t.Errorf("first apply:\n%s", out)
	}
	if out := mustRamp(t, env, "metrics", "apply", "-f", file); !strings.Contains(out, "no changes") {
		t.Errorf("second apply is not idempotent:\n%s", out)
	}
	if out := mustRamp(t, env, "metrics", "get", "answer_length"); !strings.Contains(out, `"aggregate": "mean"`) {
		t.Errorf("metrics get:\n%s", out)
	}
	if _, err := ramp(t, env, "metrics", "apply", "-f", writeTemp(t, "metrics:\n  bad:\n    kind: median\n    direction: up\n")); err == nil ||
		!strings.Contains(err.Error(), "kind") || !strings.Contains(err.Error(), "direction") {
		t.Errorf("an invalid definition: %v", err)
	}
}

func writeTemp(t *testing.T, content string) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "doc.yaml")
	if err := os.WriteFile(f, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}
