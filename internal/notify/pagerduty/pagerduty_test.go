package pagerduty_test

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
	"github.com/ramp-release/ramp/internal/notify/pagerduty"
)

const routingKey = "R0UT1NGKEY0000000000000000000042"

// eventsAPI is a fake Events API v2: it records each body sent to
// /v2/enqueue and answers 202 as PagerDuty does.
func eventsAPI(t *testing.T) (*httptest.Server, <-chan map[string]any) {
	t.Helper()
	got := make(chan map[string]any, 10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/v2/enqueue" {
			http.Error(w, "not found", http.StatusNotFound)
			return
		}
		var body map[string]any
		b, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(b, &body); err != nil {
			http.Error(w, `{"status":"invalid event","message":"Event object is invalid"}`, http.StatusBadRequest)
			return
		}
		got <- body
		w.WriteHeader(http.StatusAccepted)
		io.WriteString(w, `{"status":"success","message":"Event processed","dedup_key":"ro_42"}`)
	}))
	t.Cleanup(srv.Close)
	return srv, got
}

func event(k alert.Kind) alert.Event {
	return alert.Event{
		Kind:        k,
		Environment: "production",
		Flag:        "smart-reply",
		RolloutID:   "ro_42",
		Stage:       "ring 5%",
		Reason:      "error rate worse than control by 14%",
		Evidence:    map[string]string{"error_rate": "+14.2%"},
		Actor:       "controller",
		Time:        time.Date(2026, 3, 2, 10, 15, 0, 0, time.UTC),
	}
}

func TestRolloutEventsTriggerAndResolveOneIncident(t *testing.T) {
	trigger := func(k alert.Kind, severity, summary string) map[string]any {
		return map[string]any{
			"routing_key":  routingKey,
			"event_action": "trigger",
			"dedup_key":    "ro_42",
			"client":       "ramp",
			"payload": map[string]any{
				"summary":   summary,
				"source":    "ramp/production",
				"severity":  severity,
				"timestamp": "2026-03-02T10:15:00Z",
				"component": "smart-reply",
				"group":     "production",
				"class":     string(k),
				"custom_details": map[string]any{
					"kind":        string(k),
					"flag":        "smart-reply",
					"environment": "production",
					"rollout_id":  "ro_42",
					"stage":       "ring 5%",
					"reason":      "error rate worse than control by 14%",
					"actor":       "controller",
					"evidence":    map[string]any{"error_rate": "+14.2%"},
				},
			},
		}
	}
	resolve := map[string]any{"routing_key": routingKey, "event_action": "resolve", "dedup_key": "ro_42", "client": "ramp"}

	tests := []struct {
		name string
		kind alert.Kind
		want map[string]any
	}{
		{"a rollback triggers a critical alert", alert.RolledBack, trigger(alert.RolledBack, "critical",
			"Rolled back: smart-reply in production (stage ring 5%): error rate worse than control by 14%")},
		{"a pause triggers a warning", alert.Paused, trigger(alert.Paused, "warning",
			"Paused: smart-reply in production (stage ring 5%): error rate worse than control by 14%")},
		{"a resolved rollback resolves it", alert.RollbackResolved, resolve},
		{"a resume resolves it", alert.Resumed, resolve},
		{"a completion resolves it", alert.Completed, resolve},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, got := eventsAPI(t)
			n, err := pagerduty.New(pagerduty.Config{RoutingKey: alert.NewSecret(routingKey), URL: srv.URL + "/v2/enqueue"})
			if err != nil {
				t.Fatal(err)
			}
			if err := n.Notify(context.Background(), event(tt.kind)); err != nil {
				t.Fatalf("Notify: %v", err)
			}
			if diff := cmp.Diff(tt.want, <-got); diff != "" {
				t.Errorf("request (-want +got):\n%s", diff)
			}
		})
	}
}

func TestApprovalsAndAdvancesDoNotPage(t *testing.T) {
	srv, got := eventsAPI(t)
	n, _ := pagerduty.New(pagerduty.Config{RoutingKey: alert.NewSecret(routingKey), URL: srv.URL + "/v2/enqueue"})
	for _, k := range []alert.Kind{alert.ApprovalRequested, alert.StageAdvanced} {
		if err := n.Notify(context.Background(), event(k)); !errors.Is(err, alert.ErrSkipped) {
			t.Errorf("Notify(%s) = %v, want ErrSkipped", k, err)
		}
	}
	select {
	case b := <-got:
		t.Errorf("PagerDuty received %v", b)
	default:
	}
}

func TestAnEventWithoutRolloutIDIsKeyedByEnvironmentAndFlag(t *testing.T) {
	e := event(alert.RolledBack)
	e.RolloutID = ""
	if got, want := pagerduty.DedupKey(e), "ramp/production/smart-reply"; got != want {
		t.Errorf("DedupKey = %q, want %q", got, want)
	}
}

func TestTheSourceCanBeConfigured(t *testing.T) {
	srv, got := eventsAPI(t)
	n, _ := pagerduty.New(pagerduty.Config{RoutingKey: alert.NewSecret(routingKey), URL: srv.URL + "/v2/enqueue", Source: "ramp-eu"})
	if err := n.Notify(context.Background(), event(alert.RolledBack)); err != nil {
		t.Fatal(err)
	}
	if src := (<-got)["payload"].(map[string]any)["source"]; src != "ramp-eu" {
		t.Errorf("source = %v, want ramp-eu", src)
	}
}

func TestAnInvalidEventIsNotRetried(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		io.WriteString(w, `{"status":"invalid event","message":"Event object is invalid","errors":["Length of 'routing_key' is incorrect (should be 32 characters)"]}`)
	}))
	defer srv.Close()
	n, _ := pagerduty.New(pagerduty.Config{RoutingKey: alert.NewSecret("short"), URL: srv.URL})
	err := n.Notify(context.Background(), event(alert.RolledBack))
	if err == nil || alert.Retryable(err) {
		t.Fatalf("Notify = %v, want a permanent error", err)
	}
}

func TestTheDefaultEndpointIsPagerDuty(t *testing.T) {
	if pagerduty.DefaultURL != "https://events.pagerduty.com/v2/enqueue" {
		t.Errorf("DefaultURL = %s", pagerduty.DefaultURL)
	}
	if _, err := pagerduty.New(pagerduty.Config{}); err == nil {
		t.Error("New without a routing key succeeded")
	}
}
