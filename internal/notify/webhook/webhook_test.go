package webhook_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ramp-release/ramp/internal/notify/alert"
	"github.com/ramp-release/ramp/internal/notify/webhook"
)

// The test vector published with the Standard Webhooks reference
// implementations: a receiver's library must accept what we send.
const (
	vectorSecret    = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	vectorID        = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	vectorTimestamp = 1614265330
	vectorBody      = `{"test": 2432232314}`
	vectorSignature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
)

func TestSignaturesMatchTheStandardWebhooksTestVector(t *testing.T) {
	got, err := webhook.Sign(vectorSecret, vectorID, vectorTimestamp, []byte(vectorBody))
	if err != nil {
		t.Fatal(err)
	}
	if got != vectorSignature {
		t.Errorf("Sign = %s, want %s", got, vectorSignature)
	}
}

func vectorHeader() http.Header {
	h := http.Header{}
	h.Set(webhook.HeaderID, vectorID)
	h.Set(webhook.HeaderTimestamp, strconv.Itoa(vectorTimestamp))
	h.Set(webhook.HeaderSignature, vectorSignature)
	return h
}

func TestVerifyAcceptsOnlyAuthenticRecentRequests(t *testing.T) {
	sent := time.Unix(vectorTimestamp, 0)
	with := func(key, value string) http.Header {
		h := vectorHeader()
		if value == "" {
			h.Del(key)
		} else {
			h.Set(key, value)
		}
		return h
	}
	tests := []struct {
		name      string
		secret    string
		header    http.Header
		body      string
		now       time.Time
		tolerance time.Duration
		want      error
	}{
		{"the authentic request is accepted", vectorSecret, vectorHeader(), vectorBody, sent, 0, nil},
		{"the secret's prefix may be left out", vectorSecret[len("whsec_"):], vectorHeader(), vectorBody, sent, 0, nil},
		{"a request within the window is accepted", vectorSecret, vectorHeader(), vectorBody, sent.Add(4 * time.Minute), 0, nil},
		{"one matching signature among several is enough", vectorSecret,
			with(webhook.HeaderSignature, "v1,bm9wZQ== v2,abc "+vectorSignature), vectorBody, sent, 0, nil},
		{"a tampered body is refused", vectorSecret, vectorHeader(), `{"test": 2432232315}`, sent, 0, webhook.ErrSignatureMismatch},
		{"a tampered id is refused", vectorSecret, with(webhook.HeaderID, "msg_other"), vectorBody, sent, 0, webhook.ErrSignatureMismatch},
		{"a wrong secret is refused", "whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldY", vectorHeader(), vectorBody, sent, 0, webhook.ErrSignatureMismatch},
		{"a timestamp older than five minutes is refused", vectorSecret, vectorHeader(), vectorBody, sent.Add(5*time.Minute + time.Second), 0, webhook.ErrTimestampTooOld},
		{"a timestamp more than five minutes ahead is refused", vectorSecret, vectorHeader(), vectorBody, sent.Add(-5*time.Minute - time.Second), 0, webhook.ErrTimestampTooNew},
		{"a custom tolerance narrows the window", vectorSecret, vectorHeader(), vectorBody, sent.Add(time.Minute), 30 * time.Second, webhook.ErrTimestampTooOld},
		{"a re-signed old request with a new timestamp is refused", vectorSecret,
			with(webhook.HeaderTimestamp, strconv.Itoa(vectorTimestamp+3600)), vectorBody, sent.Add(time.Hour), 0, webhook.ErrSignatureMismatch},
		{"a missing signature is refused", vectorSecret, with(webhook.HeaderSignature, ""), vectorBody, sent, 0, webhook.ErrMissingHeaders},
		{"a missing id is refused", vectorSecret, with(webhook.HeaderID, ""), vectorBody, sent, 0, webhook.ErrMissingHeaders},
		{"a timestamp that is not a number is refused", vectorSecret, with(webhook.HeaderTimestamp, "yesterday"), vectorBody, sent, 0, webhook.ErrInvalidTimestamp},
		{"an absurd timestamp is refused", vectorSecret, with(webhook.HeaderTimestamp, "9223372036854775807"), vectorBody, sent, 0, webhook.ErrTimestampTooNew},
		{"a malformed secret is reported", "whsec_not base64!", vectorHeader(), vectorBody, sent, 0, webhook.ErrInvalidSecret},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := webhook.Verify(tt.secret, tt.header, []byte(tt.body), tt.now, tt.tolerance)
			if !errors.Is(err, tt.want) {
				t.Errorf("Verify = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestEventsArriveSignedAndVerifiable(t *testing.T) {
	const secret = "whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
	type received struct {
		header http.Header
		body   []byte
	}
	got := make(chan received, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- received{r.Header, b}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()

	now := time.Date(2026, 3, 2, 10, 15, 30, 0, time.UTC)
	n, err := webhook.New(webhook.Config{
		URL:    alert.NewSecretURL(srv.URL + "/hooks/ramp"),
		Secret: alert.NewSecret(secret),
		Now:    func() time.Time { return now },
	})
	if err != nil {
		t.Fatal(err)
	}
	e := alert.Event{
		Kind: alert.Paused, Environment: "production", Flag: "smart-reply", RolloutID: "ro_42",
		Stage: "beta", Reason: "p95 latency up 18%", Evidence: map[string]string{"p95_latency": "+18%"},
		Actor: "controller", Time: time.Date(2026, 3, 2, 10, 15, 0, 0, time.UTC), DedupKey: "audit-7",
	}
	if err := n.Notify(context.Background(), e); err != nil {
		t.Fatalf("Notify: %v", err)
	}
	r := <-got

	if err := webhook.Verify(secret, r.header, r.body, now, 0); err != nil {
		t.Errorf("the receiver cannot verify the request: %v", err)
	}
	if id := r.header.Get(webhook.HeaderID); id != webhook.MessageID(e) || id != "msg_"+e.ID() {
		t.Errorf("webhook-id = %q, want msg_%s", id, e.ID())
	}
	if ts := r.header.Get(webhook.HeaderTimestamp); ts != strconv.FormatInt(now.Unix(), 10) {
		t.Errorf("webhook-timestamp = %q, want the attempt's time %d", ts, now.Unix())
	}
	var body map[string]any
	if err := json.Unmarshal(r.body, &body); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"type":      "rollout.paused",
		"timestamp": "2026-03-02T10:15:00Z",
		"data": map[string]any{
			"kind":        "paused",
			"environment": "production",
			"flag":        "smart-reply",
			"rollout_id":  "ro_42",
			"stage":       "beta",
			"reason":      "p95 latency up 18%",
			"evidence":    map[string]any{"p95_latency": "+18%"},
			"actor":       "controller",
			"time":        "2026-03-02T10:15:00Z",
			"dedup_key":   "audit-7",
		},
	}
	if diff := cmp.Diff(want, body); diff != "" {
		t.Errorf("body (-want +got):\n%s", diff)
	}
}

func TestEveryAttemptIsSignedAfreshWithTheSameID(t *testing.T) {
	const secret = "whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
	headers := make(chan http.Header, 2)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		headers <- r.Header
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	clock := time.Unix(1_800_000_000, 0)
	n, _ := webhook.New(webhook.Config{URL: alert.NewSecretURL(srv.URL), Secret: alert.NewSecret(secret),
		Now: func() time.Time { return clock }})
	e := alert.Event{Kind: alert.RolledBack, Flag: "f", Environment: "production", Time: clock}
	for range 2 {
		if err := n.Notify(context.Background(), e); err == nil || !alert.Retryable(err) {
			t.Fatalf("Notify = %v, want a retryable error", err)
		}
		clock = clock.Add(10 * time.Second)
	}
	first, second := <-headers, <-headers
	if first.Get(webhook.HeaderID) != second.Get(webhook.HeaderID) {
		t.Error("the id changed between attempts")
	}
	if first.Get(webhook.HeaderTimestamp) == second.Get(webhook.HeaderTimestamp) ||
		first.Get(webhook.HeaderSignature) == second.Get(webhook.HeaderSignature) {
		t.Error("the second attempt reused the first one's timestamp and signature")
	}
}

func TestSecretsAreChecked(t *testing.T) {
	tests := []struct {
		name, secret string
		ok           bool
	}{
		{"a 24-byte key is accepted", vectorSecret, true},
		{"a 16-byte key is too short", "whsec_MDEyMzQ1Njc4OWFiY2RlZg==", false},
		{"text that is not base64 is refused", "whsec_%%%", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := webhook.ParseSecret(tt.secret)
			if (err == nil) != tt.ok {
				t.Errorf("ParseSecret = %v, want ok=%v", err, tt.ok)
			}
		})
	}
	if _, err := webhook.New(webhook.Config{URL: alert.NewSecretURL("https://example.com"), Secret: alert.NewSecret("whsec_")}); err == nil {
		t.Error("New accepted an empty key")
	}
}

func FuzzVerify(f *testing.F) {
	f.Add(vectorID, strconv.Itoa(vectorTimestamp), vectorSignature, []byte(vectorBody))
	f.Add("", "-1", "v1,", []byte{})
	f.Add("msg", "1614265330", "v1,,,, v1 v2,x", []byte("{}"))
	f.Fuzz(func(t *testing.T, id, ts, sig string, body []byte) {
		h := http.Header{}
		h.Set(webhook.HeaderID, id)
		h.Set(webhook.HeaderTimestamp, ts)
		h.Set(webhook.HeaderSignature, sig)
		err := webhook.Verify(vectorSecret, h, body, time.Unix(vectorTimestamp, 0), 0)
		if err == nil {
			// Only a genuine signature may pass.
			want, _ := webhook.Sign(vectorSecret, id, mustInt(t, ts), body)
			if !slices.Contains(strings.Fields(sig), want) {
				t.Fatalf("accepted a forged signature %q", sig)
			}
		}
	})
}

func mustInt(t *testing.T, s string) int64 {
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Fatalf("accepted timestamp %q", s)
	}
	return v
}
