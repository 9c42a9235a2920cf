package slack_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ramp-release/ramp/internal/notify/alert"
	"github.com/ramp-release/ramp/internal/notify/slack"
)

var rollback = alert.Event{
	Kind:        alert.RolledBack,
	Environment: "production",
	Flag:        "smart-reply",
	RolloutID:   "ro_42",
	Stage:       "ring 5%",
	Reason:      "error rate worse than control by 14% (tolerance 10%)",
	Evidence:    map[string]string{"p95_latency": "+3% <ok>", "error_rate": "+14.2% (95% CS 11.0–17.5%)"},
	Actor:       "controller",
	Time:        time.Date(2026, 3, 2, 10, 15, 0, 0, time.UTC),
}

// receiver records the requests a fake Slack answers with status.
func receiver(t *testing.T, status int, answer string) (*httptest.Server, <-chan *http.Request, <-chan []byte) {
	t.Helper()
	reqs, bodies := make(chan *http.Request, 10), make(chan []byte, 10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		reqs <- r
		bodies <- b
		w.WriteHeader(status)
		io.WriteString(w, answer)
	}))
	t.Cleanup(srv.Close)
	return srv, reqs, bodies
}

func TestARollbackIsPostedAsAReadableMessage(t *testing.T) {
	srv, reqs, bodies := receiver(t, http.StatusOK, "ok")
	n, err := slack.New(slack.Config{URL: alert.NewSecretURL(srv.URL + "/services/T0/B0/secret")})
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Notify(context.Background(), rollback); err != nil {
		t.Fatalf("Notify: %v", err)
	}
	r := <-reqs
	if r.Method != http.MethodPost || r.URL.Path != "/services/T0/B0/secret" || r.Header.Get("Content-Type") != "application/json" {
		t.Errorf("request %s %s (%s), want a JSON POST to the webhook path", r.Method, r.URL.Path, r.Header.Get("Content-Type"))
	}
	var got map[string]any
	if err := json.Unmarshal(<-bodies, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"text": ":rotating_light: Rolled back: smart-reply in production (stage ring 5%): error rate worse than control by 14% (tolerance 10%)",
		"blocks": []any{
			map[string]any{"type": "header", "text": map[string]any{
				"type": "plain_text", "text": ":rotating_light: Rolled back: smart-reply", "emoji": true}},
			map[string]any{"type": "section", "fields": []any{
				map[string]any{"type": "mrkdwn", "text": "*Flag*\n`smart-reply`"},
				map[string]any{"type": "mrkdwn", "text": "*Environment*\nproduction"},
				map[string]any{"type": "mrkdwn", "text": "*Stage*\nring 5%"},
				map[string]any{"type": "mrkdwn", "text": "*Rollout*\n`ro_42`"},
			}},
			map[string]any{"type": "section", "text": map[string]any{
				"type": "mrkdwn", "text": "*Reason*\nerror rate worse than control by 14% (tolerance 10%)"}},
			map[string]any{"type": "section", "text": map[string]any{
				"type": "mrkdwn", "text": "*Evidence*\n• `error_rate`: +14.2% (95% CS 11.0–17.5%)\n• `p95_latency`: +3% &lt;ok&gt;"}},
			map[string]any{"type": "context", "elements": []any{map[string]any{
				"type": "mrkdwn", "text": "By controller · <!date^1772446500^{date_short_pretty} at {time}|2026-03-02 10:15 UTC>"}}},
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("payload (-want +got):\n%s", diff)
	}
}

func TestEachKindHasItsEmoji(t *testing.T) {
	want := map[alert.Kind]string{
		alert.ApprovalRequested: ":raised_hand: Approval requested: smart-reply",
		alert.StageAdvanced:     ":arrow_up: Stage advanced: smart-reply",
		alert.Paused:            ":double_vertical_bar: Paused: smart-reply",
		alert.Resumed:           ":arrow_forward: Resumed: smart-reply",
		alert.RolledBack:        ":rotating_light: Rolled back: smart-reply",
		alert.Completed:         ":white_check_mark: Completed: smart-reply",
		alert.RollbackResolved:  ":large_green_circle: Rollback resolved: smart-reply",
	}
	for _, k := range alert.Kinds() {
		m := slack.NewMessage(alert.Event{Kind: k, Flag: "smart-reply"})
		if got := m.Blocks[0].Text.Text; got != want[k] {
			t.Errorf("%s header = %q, want %q", k, got, want[k])
		}
	}
}

func TestAMinimalEventLeavesOutEmptyBlocks(t *testing.T) {
	m := slack.NewMessage(alert.Event{Kind: alert.Completed, Flag: "f", Environment: "staging"})
	var types []string
	for _, b := range m.Blocks {
		types = append(types, b.Type)
	}
	if diff := cmp.Diff([]string{"header", "section"}, types); diff != "" {
		t.Errorf("blocks (-want +got):\n%s", diff)
	}
}

func TestSlackRefusalsAreClassifiedForRetry(t *testing.T) {
	tests := []struct {
		name      string
		status    int
		answer    string
		retryable bool
	}{
		{"an invalid payload is not retried", 400, "invalid_payload", false},
		{"a removed webhook is not retried", 404, "no_service", false},
		{"an archived channel is not retried", 410, "channel_is_archived", false},
		{"rate limiting is retried", 429, "rate_limited", true},
		{"a Slack outage is retried", 500, "rollup_error", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, _, _ := receiver(t, tt.status, tt.answer)
			n, _ := slack.New(slack.Config{URL: alert.NewSecretURL(srv.URL + "/services/x")})
			err := n.Notify(context.Background(), rollback)
			var se *alert.StatusError
			if !errors.As(err, &se) || se.StatusCode != tt.status || se.Body != tt.answer {
				t.Fatalf("Notify error = %v, want status %d with body %q", err, tt.status, tt.answer)
			}
			if got := alert.Retryable(err); got != tt.retryable {
				t.Errorf("Retryable = %v, want %v", got, tt.retryable)
			}
		})
	}
}

func TestANotifierNeedsAURL(t *testing.T) {
	if _, err := slack.New(slack.Config{}); err == nil {
		t.Error("New without a URL succeeded")
	}
}
