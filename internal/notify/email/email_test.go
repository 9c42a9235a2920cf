package email_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"math/big"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ramp-release/ramp/internal/notify/alert"
	"github.com/ramp-release/ramp/internal/notify/email"
	"github.com/ramp-release/ramp/internal/notify/internal/smtptest"
)

var (
	sentAt   = time.Date(2026, 3, 2, 10, 15, 5, 0, time.UTC)
	rollback = alert.Event{
		Kind:        alert.RolledBack,
		Environment: "production",
		Flag:        "smart-reply",
		RolloutID:   "ro_42",
		Stage:       "ring 5%",
		Reason:      "error rate worse than control by 14% (tolerance 10%)",
		Evidence:    map[string]string{"p95_latency": "+3%", "error_rate": "+14.2% (95% CS 11.0–17.5%)"},
		Actor:       "controller",
		Time:        time.Date(2026, 3, 2, 10, 15, 0, 0, time.UTC),
	}
)

func config(srv *smtptest.Server) email.Config {
	return email.Config{
		Host: srv.Host,
		Port: srv.Port,
		From: "ramp <ramp@example.com>",
		To:   []string{"oncall@example.com", "Release Managers <release@example.com>"},
		Now:  func() time.Time { return sentAt },
	}
}

func TestARollbackArrivesAsAProperMessage(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Options{})
	n, err := email.New(config(srv))
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Notify(context.Background(), rollback); err != nil {
		t.Fatalf("Notify: %v", err)
	}
	m := srv.Next(t)

	if diff := cmp.Diff([]string{"oncall@example.com", "release@example.com"}, m.To); m.From != "ramp@example.com" || diff != "" {
		t.Errorf("envelope from %q to %v, want ramp@example.com to both recipients", m.From, m.To)
	}
	if !strings.Contains(string(m.Data), "\r\n\r\n") || strings.Contains(strings.ReplaceAll(string(m.Data), "\r\n", ""), "\n") {
		t.Error("the message does not use CRLF line endings throughout")
	}
	msg, err := mail.ReadMessage(strings.NewReader(string(m.Data)))
	if err != nil {
		t.Fatalf("the message does not parse as RFC 5322: %v", err)
	}
	headers := map[string]string{}
	for _, k := range []string{"From", "To", "Subject", "Date", "Message-Id", "Mime-Version", "Content-Type", "Content-Transfer-Encoding", "X-Ramp-Event"} {
		headers[k] = msg.Header.Get(k)
	}
	want := map[string]string{
		"From":                      `"ramp" <ramp@example.com>`,
		"To":                        `<oncall@example.com>, "Release Managers" <release@example.com>`,
		"Subject":                   "[ramp] Rolled back: smart-reply in production (stage ring 5%)",
		"Date":                      "Mon, 02 Mar 2026 10:15:05 +0000",
		"Message-Id":                "<" + rollback.ID() + "@example.com>",
		"Mime-Version":              "1.0",
		"Content-Type":              `text/plain; charset="utf-8"`,
		"Content-Transfer-Encoding": "quoted-printable",
		"X-Ramp-Event":              "rolled_back",
	}
	if diff := cmp.Diff(want, headers); diff != "" {
		t.Errorf("headers (-want +got):\n%s", diff)
	}
	if d, err := msg.Header.Date(); err != nil || !d.Equal(sentAt) {
		t.Errorf("Date parses as %v, %v", d, err)
	}
	body, err := io.ReadAll(quotedprintable.NewReader(msg.Body))
	if err != nil {
		t.Fatal(err)
	}
	wantBody := strings.ReplaceAll(`Rolled back: smart-reply in production (stage ring 5%)

Flag:        smart-reply
Environment: production
Stage:       ring 5%
Rollout:     ro_42
By:          controller
Time:        2026-03-02 10:15:00 UTC

Reason:
error rate worse than control by 14% (tolerance 10%)

Evidence:
  error_rate: +14.2% (95% CS 11.0–17.5%)
  p95_latency: +3%
`, "\n", "\r\n")
	if diff := cmp.Diff(wantBody, string(body)); diff != "" {
		t.Errorf("body (-want +got):\n%s", diff)
	}
}

func TestASubjectCannotBeSplitByTheEventText(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Options{})
	n, _ := email.New(config(srv))
	e := rollback
	e.Flag = "evil\r\nBcc: victim@example.com"
	if err := n.Notify(context.Background(), e); err != nil {
		t.Fatal(err)
	}
	msg, err := mail.ReadMessage(strings.NewReader(string(srv.Next(t).Data)))
	if err != nil {
		t.Fatal(err)
	}
	if bcc := msg.Header.Get("Bcc"); bcc != "" {
		t.Errorf("the flag name injected a Bcc header: %q", bcc)
	}
}

func TestUnicodeInTheSubjectIsEncoded(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Options{})
	n, _ := email.New(config(srv))
	e := rollback
	e.Stage = "Stufe 5 % – Köln"
	if err := n.Notify(context.Background(), e); err != nil {
		t.Fatal(err)
	}
	data := string(srv.Next(t).Data)
	raw := data[:strings.Index(data, "\r\n\r\n")]
	if strings.ContainsFunc(raw, func(r rune) bool { return r > 127 }) {
		t.Errorf("raw headers carry non-ASCII text:\n%s", raw)
	}
	msg, _ := mail.ReadMessage(strings.NewReader(data))
	subject, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if err != nil || subject != "[ramp] Rolled back: smart-reply in production (stage Stufe 5 % – Köln)" {
		t.Errorf("Subject decodes to %q, %v", subject, err)
	}
}

func TestPlainAuthenticationAfterStartTLS(t *testing.T) {
	cert, pool := selfSigned(t)
	srv := smtptest.Start(t, smtptest.Options{
		TLS:      &tls.Config{Certificates: []tls.Certificate{cert}},
		Username: "ramp",
		Password: "s3cret-pw",
	})
	cfg := config(srv)
	cfg.Username, cfg.Password = "ramp", alert.NewSecret("s3cret-pw")
	cfg.StartTLS = email.Required
	cfg.TLSConfig = &tls.Config{RootCAs: pool}
	n, err := email.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Notify(context.Background(), rollback); err != nil {
		t.Fatalf("Notify: %v", err)
	}
	if m := srv.Next(t); !m.TLS || m.User != "ramp" {
		t.Errorf("message sent with TLS=%v as user %q, want TLS as ramp", m.TLS, m.User)
	}
}

func TestFailuresSayWhetherToRetry(t *testing.T) {
	tests := []struct {
		name      string
		opts      smtptest.Options
		configure func(*email.Config)
		retryable bool
		mention   string
	}{
		{"a rejected recipient is not retried",
			smtptest.Options{Replies: map[string]string{"RCPT": "550 5.1.1 no such user"}}, nil, false, "550"},
		{"a full mailbox server is retried",
			smtptest.Options{Replies: map[string]string{"MAIL": "451 4.3.0 try again later"}}, nil, true, "451"},
		{"wrong credentials are not retried",
			smtptest.Options{Username: "ramp", Password: "right"},
			func(c *email.Config) { c.Username, c.Password = "ramp", alert.NewSecret("wrong") }, false, "535"},
		{"a required STARTTLS the server lacks is not retried",
			smtptest.Options{}, func(c *email.Config) { c.StartTLS = email.Required }, false, "STARTTLS"},
		{"a username for a server without AUTH is not retried",
			smtptest.Options{}, func(c *email.Config) { c.Username, c.Password = "ramp", alert.NewSecret("pw") }, false, "AUTH"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := smtptest.Start(t, tt.opts)
			cfg := config(srv)
			if tt.configure != nil {
				tt.configure(&cfg)
			}
			n, err := email.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			err = n.Notify(context.Background(), rollback)
			if err == nil {
				t.Fatal("Notify succeeded")
			}
			if got := alert.Retryable(err); got != tt.retryable {
				t.Errorf("Retryable(%v) = %v, want %v", err, got, tt.retryable)
			}
			if !strings.Contains(err.Error(), tt.mention) {
				t.Errorf("error %q does not mention %q", err, tt.mention)
			}
			if got := srv.Received(); len(got) != 0 {
				t.Errorf("the server accepted %d messages", len(got))
			}
		})
	}
}

func TestAnUnreachableServerIsRetried(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	n, _ := email.New(email.Config{Host: "127.0.0.1", Port: port, From: "ramp@example.com", To: []string{"a@example.com"}})
	if err := n.Notify(context.Background(), rollback); err == nil || !alert.Retryable(err) {
		t.Errorf("Notify = %v, want a retryable error", err)
	}
}

func TestASilentServerIsAbandonedWhenTheContextEnds(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			accepted <- c // never greets
		}
	}()
	n, _ := email.New(email.Config{Host: "127.0.0.1", Port: ln.Addr().(*net.TCPAddr).Port,
		From: "ramp@example.com", To: []string{"a@example.com"}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.Notify(ctx, rollback) }()
	c := <-accepted
	defer c.Close()
	cancel()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "context canceled") {
			t.Errorf("Notify = %v, want the cancellation", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Notify did not return after its context ended")
	}
}

func TestConfigurationIsChecked(t *testing.T) {
	tests := []struct {
		name string
		cfg  email.Config
	}{
		{"a host is required", email.Config{From: "a@b.c", To: []string{"d@e.f"}}},
		{"a sender is required", email.Config{Host: "mail", To: []string{"d@e.f"}}},
		{"a recipient is required", email.Config{Host: "mail", From: "a@b.c"}},
		{"recipients must be addresses", email.Config{Host: "mail", From: "a@b.c", To: []string{"nobody"}}},
		{"the STARTTLS policy must be known", email.Config{Host: "mail", From: "a@b.c", To: []string{"d@e.f"}, StartTLS: "always"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := email.New(tt.cfg); err == nil {
				t.Error("New succeeded")
			}
		})
	}
}

// selfSigned makes a certificate for 127.0.0.1 and a pool that trusts it.
func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "smtptest"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}
