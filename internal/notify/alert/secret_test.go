package alert_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ramp-release/ramp/internal/notify/alert"
)

const (
	password = "hunter2-correct-horse"
	hookURL  = "https://hooks.slack.com/services/T0001/B0001/XXXXsecretXXXX"
)

// holder has secrets in exported and unexported fields, as configurations
// and notifiers do.
type holder struct {
	Key    alert.Secret
	URL    alert.SecretURL
	hidden alert.Secret
	url    alert.SecretURL
}

func TestSecretsNeverPrintTheirValue(t *testing.T) {
	h := holder{
		Key:    alert.NewSecret(password),
		URL:    alert.NewSecretURL(hookURL),
		hidden: alert.NewSecret(password),
		url:    alert.NewSecretURL(hookURL),
	}
	var logs bytes.Buffer
	text := slog.New(slog.NewTextHandler(&logs, nil))
	js := slog.New(slog.NewJSONHandler(&logs, nil))
	text.Info("config", "key", h.Key, "url", h.URL, "holder", h)
	js.Info("config", "key", h.Key, "url", h.URL, "holder", h)
	encoded, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}

	outputs := map[string]string{
		"%v of a secret":              fmt.Sprintf("%v", h.Key),
		"%s of a secret URL":          fmt.Sprintf("%s", h.URL),
		"%q of a secret":              fmt.Sprintf("%q", h.Key),
		"%#v of a secret":             fmt.Sprintf("%#v", h.Key),
		"%x of a secret":              fmt.Sprintf("%x", h.Key),
		"%v of a struct holding them": fmt.Sprintf("%v", h),
		"%+v of a struct":             fmt.Sprintf("%+v", h),
		"%#v of a struct":             fmt.Sprintf("%#v", h),
		"%+v of a pointer to it":      fmt.Sprintf("%+v", &h),
		"slog text and JSON handlers": logs.String(),
		"JSON encoding":               string(encoded),
	}
	for name, out := range outputs {
		for _, secret := range []string{password, hookURL, "XXXXsecretXXXX"} {
			if strings.Contains(out, secret) {
				t.Errorf("%s shows %q: %s", name, secret, out)
			}
		}
	}
	if got := fmt.Sprint(h.Key); got != alert.Redacted {
		t.Errorf("a secret prints as %q, want %q", got, alert.Redacted)
	}
	if !strings.Contains(string(encoded), `"Key":"REDACTED"`) {
		t.Errorf("JSON encoding does not show REDACTED: %s", encoded)
	}
}

func TestSecretsDecodeFromConfigurationText(t *testing.T) {
	var cfg struct {
		Key alert.Secret    `json:"key"`
		URL alert.SecretURL `json:"url"`
		Nil alert.Secret    `json:"nil,omitzero"`
	}
	if err := json.Unmarshal([]byte(`{"key":"`+password+`","url":"`+hookURL+`"}`), &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.Key.Reveal() != password || cfg.URL.Reveal() != hookURL {
		t.Errorf("decoded %q and %q", cfg.Key.Reveal(), cfg.URL.Reveal())
	}
	if !cfg.Nil.IsZero() || cfg.Nil.String() != "" {
		t.Errorf("an absent secret is not zero: %q", cfg.Nil.String())
	}
	out, _ := json.Marshal(cfg)
	if got, want := string(out), `{"key":"REDACTED","url":"REDACTED"}`; got != want {
		t.Errorf("encoded as %s, want %s", got, want)
	}
}

func TestScrubRemovesEveryPartOfASecretURL(t *testing.T) {
	u := alert.NewSecretURL("https://user:pa55word@example.com/hooks/abc123?token=t0k3n")
	tests := []struct {
		name, in, want string
	}{
		{"the whole URL is replaced", `Post "https://user:pa55word@example.com/hooks/abc123?token=t0k3n": EOF`, `Post "REDACTED": EOF`},
		{"an echoed path is replaced", "Cannot POST /hooks/abc123", "Cannot POST REDACTED"},
		{"an echoed query is replaced", "bad token=t0k3n", "bad REDACTED"},
		{"the password alone is replaced", "auth pa55word refused", "auth REDACTED refused"},
		{"text without the URL is left alone", "connection refused", "connection refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := u.Scrub(tt.in); got != tt.want {
				t.Errorf("Scrub(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestErrorsSayWhetherToRetry(t *testing.T) {
	tests := []struct {
		name      string
		err       error
		retryable bool
	}{
		{"a 500 is retried", &alert.StatusError{StatusCode: 500}, true},
		{"a 503 is retried", &alert.StatusError{StatusCode: 503}, true},
		{"a 429 is retried", &alert.StatusError{StatusCode: 429}, true},
		{"a 400 is not retried", &alert.StatusError{StatusCode: 400}, false},
		{"a 404 is not retried", &alert.StatusError{StatusCode: 404}, false},
		{"a 302 is not retried", &alert.StatusError{StatusCode: 302}, false},
		{"a wrapped 403 is not retried", fmt.Errorf("slack: %w", &alert.StatusError{StatusCode: 403}), false},
		{"a network error is retried", errors.New("connection refused"), true},
		{"a permanent error is not retried", alert.Permanent(errors.New("550 no such user")), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := alert.Retryable(tt.err); got != tt.retryable {
				t.Errorf("Retryable(%v) = %v, want %v", tt.err, got, tt.retryable)
			}
		})
	}
	wait := fmt.Errorf("x: %w", &alert.StatusError{StatusCode: http.StatusTooManyRequests, Wait: 7 * time.Second})
	if got := alert.RetryAfter(wait); got != 7*time.Second {
		t.Errorf("RetryAfter = %v, want 7s", got)
	}
}

func TestEventIDIsStableAndDistinct(t *testing.T) {
	at := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	e := alert.Event{Kind: alert.RolledBack, Environment: "production", Flag: "smart-reply", RolloutID: "ro_1", Time: at}
	again := e
	again.Evidence = map[string]string{"error_rate": "+14%"}
	if e.ID() != again.ID() {
		t.Error("evidence changed the id of the same occurrence")
	}
	later := e
	later.Time = at.Add(time.Second)
	if e.ID() == later.ID() {
		t.Error("two occurrences at different times share an id")
	}
	keyed, rekeyed := e, later
	keyed.DedupKey, rekeyed.DedupKey = "audit-42", "audit-42"
	if keyed.ID() != rekeyed.ID() {
		t.Error("the same DedupKey gave different ids")
	}
}

func TestSummaryNamesFlagEnvironmentAndStage(t *testing.T) {
	tests := []struct {
		name string
		e    alert.Event
		want string
	}{
		{"a rollback names all three",
			alert.Event{Kind: alert.RolledBack, Flag: "smart-reply", Environment: "production", Stage: "ring 5%"},
			"Rolled back: smart-reply in production (stage ring 5%)"},
		{"a completion without stage leaves it out",
			alert.Event{Kind: alert.Completed, Flag: "smart-reply", Environment: "staging"},
			"Completed: smart-reply in staging"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, tt.e.Summary()); diff != "" {
				t.Errorf("Summary() (-want +got):\n%s", diff)
			}
		})
	}
}
