package notify_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ramp-release/ramp/internal/notify"
	"github.com/ramp-release/ramp/internal/notify/internal/smtptest"
)

// A leaky receiver: its error page echoes everything it was sent, as real
// ones do ("Cannot POST /services/…", "invalid routing key …").
func leakyReceiver(t *testing.T, status int) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.WriteHeader(status)
		fmt.Fprintf(w, "Cannot POST %s (http://%s%s?%s) with %s", r.URL.Path, r.Host, r.URL.Path, r.URL.RawQuery, body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// deadURL is the address of a server that has stopped: connection refused.
func deadURL(t *testing.T) string {
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close()
	return srv.URL
}

const (
	hookPath   = "/services/T0SECRET/B0SECRET/hooksecret0123456789"
	routingKey = "pdroutingkey0123456789abcdefghij"
	smtpPass   = "smtp-pa55word-do-not-leak"
)

type leakCase struct {
	name    string
	cfg     notify.ChannelConfig
	secrets []string // none may appear in any error or log line
}

func leakCases(t *testing.T) []leakCase {
	echo := leakyReceiver(t, http.StatusNotFound)
	outage := leakyReceiver(t, http.StatusServiceUnavailable)
	dead := deadURL(t)
	// The mail server rejects the login and quotes the password back.
	mail := smtptest.Start(t, smtptest.Options{
		Username: "ramp",
		Password: "other",
		Replies:  map[string]string{"AUTH": "535 5.7.8 credentials ramp/" + smtpPass + " rejected"},
	})
	mailCfg := func(name string, port int) notify.ChannelConfig {
		return notify.ChannelConfig{Name: name, Type: notify.TypeEmail, SMTPHost: "127.0.0.1", SMTPPort: port,
			Username: "ramp", Password: notify.NewSecret(smtpPass), From: "ramp@example.com", To: []string{"oncall@example.com"}}
	}
	deadPort := func() int {
		var port int
		fmt.Sscanf(dead[strings.LastIndex(dead, ":")+1:], "%d", &port)
		return port
	}()
	var cases []leakCase
	for _, r := range []struct {
		how, base string
	}{{"refusing", echo.URL}, {"failing", outage.URL}, {"unreachable", dead}} {
		full := r.base + hookPath + "?token=qu3rysecret"
		cases = append(cases,
			leakCase{"a Slack webhook " + r.how, notify.ChannelConfig{Name: "slack", Type: notify.TypeSlack,
				URL: notify.NewSecretURL(full)}, []string{full, hookPath, "hooksecret0123456789", "qu3rysecret"}},
			leakCase{"a signed webhook " + r.how, notify.ChannelConfig{Name: "hook", Type: notify.TypeWebhook,
				URL: notify.NewSecretURL(full), SigningSecret: notify.NewSecret(signingSecret)},
				[]string{full, hookPath, "hooksecret0123456789", "qu3rysecret", signingSecret, signingSecret[len("whsec_"):]}},
			leakCase{"PagerDuty " + r.how, notify.ChannelConfig{Name: "pager", Type: notify.TypePagerDuty,
				URL: notify.NewSecretURL(r.base + "/v2/enqueue"), RoutingKey: notify.NewSecret(routingKey)}, []string{routingKey}},
		)
	}
	cases = append(cases,
		leakCase{"an SMTP server refusing the login", mailCfg("mail", mail.Port), []string{smtpPass}},
		leakCase{"an SMTP server unreachable", mailCfg("mail", deadPort), []string{smtpPass}},
	)
	return cases
}

// TestNoReceiverErrorOrLogLeaksItsSecret runs every integration against a
// receiver that fails, and checks the error, the dispatcher's records and
// logs, and the printed configuration and notifier for its credentials.
func TestNoReceiverErrorOrLogLeaksItsSecret(t *testing.T) {
	event := notify.Event{Kind: notify.RolledBack, Environment: "production", Flag: "smart-reply", RolloutID: "ro_1",
		Reason: "error rate up", Evidence: map[string]string{"error_rate": "+14%"}}
	for _, tc := range leakCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			n, err := notify.New(tc.cfg)
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			var logs bytes.Buffer
			logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
			logText := slog.New(slog.NewTextHandler(&logs, nil))
			logger.Info("channel configured", "config", tc.cfg, "notifier", n)
			logText.Info("channel configured", "config", tc.cfg, "notifier", n)

			notifyErr := n.Notify(context.Background(), event)
			if notifyErr == nil {
				t.Fatal("Notify succeeded against a failing receiver")
			}

			opts, _, _ := testOptions(map[string]notify.Notifier{tc.cfg.Name: n}, notify.Route{Environment: "*", Channel: tc.cfg.Name})
			opts.MaxAttempts = 2
			opts.Logger = logger
			d := start(t, opts)
			if err := d.Dispatch(event); err != nil {
				t.Fatal(err)
			}
			closeNow(t, d)
			failures := d.Failures()
			if len(failures) != 1 {
				t.Fatalf("Failures() = %+v, want one", failures)
			}

			outputs := map[string]string{
				"the error":               notifyErr.Error(),
				"the delivery record":     fmt.Sprintf("%+v", failures[0]),
				"the logs":                logs.String(),
				"the printed config":      fmt.Sprintf("%v %+v %#v %s", tc.cfg, tc.cfg, tc.cfg, tc.cfg.URL),
				"the printed notifier":    fmt.Sprintf("%v %+v %s", n, n, n),
				"the Go-syntax notifier":  fmt.Sprintf("%#v", n),
				"the validation messages": fmt.Sprint(tc.cfg.Validate()),
			}
			for what, out := range outputs {
				for _, secret := range tc.secrets {
					if strings.Contains(out, secret) {
						t.Errorf("%s contains the secret %q:\n%s", what, secret, out)
					}
				}
			}
			if !strings.Contains(logs.String(), "notification failed") {
				t.Errorf("the failure was not logged:\n%s", logs.String())
			}
			t.Logf("error: %v", notifyErr)
		})
	}
}
