package email

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"maps"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ramp-release/ramp/internal/notify/alert"
)

// StartTLS says when the connection is upgraded to TLS.
type StartTLS string

// The StartTLS policies.
const (
	// Opportunistic upgrades when the server offers STARTTLS. The default.
	Opportunistic StartTLS = "opportunistic"
	// Required fails the delivery when the server does not offer STARTTLS.
	Required StartTLS = "required"
	// Disabled never upgrades.
	Disabled StartTLS = "disabled"
)

// Valid reports whether p is a known policy; empty means Opportunistic.
func (p StartTLS) Valid() bool {
	return p == "" || p == Opportunistic || p == Required || p == Disabled
}

// DefaultPort is the submission port.
const DefaultPort = 587

// Config configures a Notifier.
type Config struct {
	// Host is the SMTP server's name; TLS checks its certificate against it.
	Host string
	// Port is the SMTP server's port. Default DefaultPort.
	Port int
	// Username and Password authenticate with PLAIN; leave Username empty
	// for a server that needs no authentication.
	Username string
	Password alert.Secret
	// From is the sender: "ramp <ramp@example.com>".
	From string
	// To lists the recipients.
	To []string
	// StartTLS is the TLS policy. Default Opportunistic.
	StartTLS StartTLS
	// TLSConfig configures the TLS client; ServerName defaults to Host.
	TLSConfig *tls.Config
	// LocalName is the name given in EHLO. Default "localhost".
	LocalName string
	// Now is the clock for the Date header. Default time.Now.
	Now func() time.Time
}

// Notifier mails events to a fixed list of recipients.
type Notifier struct {
	cfg  Config
	from *mail.Address
	to   []*mail.Address
}

// New checks cfg and returns a Notifier for it.
func New(cfg Config) (*Notifier, error) {
	if cfg.Host == "" {
		return nil, errors.New("email: the SMTP host is required")
	}
	if cfg.Port == 0 {
		cfg.Port = DefaultPort
	}
	if !cfg.StartTLS.Valid() {
		return nil, fmt.Errorf("email: unknown STARTTLS policy %q", cfg.StartTLS)
	}
	from, err := mail.ParseAddress(cfg.From)
	if err != nil {
		return nil, fmt.Errorf("email: from address: %w", err)
	}
	if len(cfg.To) == 0 {
		return nil, errors.New("email: at least one recipient is required")
	}
	to := make([]*mail.Address, len(cfg.To))
	for i, s := range cfg.To {
		if to[i], err = mail.ParseAddress(s); err != nil {
			return nil, fmt.Errorf("email: recipient %d: %w", i+1, err)
		}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Notifier{cfg: cfg, from: from, to: to}, nil
}

// String names the integration, so printing a Notifier shows no password.
func (n *Notifier) String() string { return "email" }

// Notify sends one message for e.
func (n *Notifier) Notify(ctx context.Context, e alert.Event) error {
	err := n.send(ctx, n.Message(e))
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		err = fmt.Errorf("%w (%w)", ctx.Err(), err)
	}
	// A server may echo what it was sent; rebuild the error from its
	// scrubbed text, keeping only whether it is worth retrying.
	out := errors.New("email: " + n.cfg.Password.Scrub(err.Error()))
	if !alert.Retryable(err) {
		return alert.Permanent(out)
	}
	return out
}

// send runs one SMTP session.
func (n *Notifier) send(ctx context.Context, msg []byte) (err error) {
	addr := net.JoinHostPort(n.cfg.Host, strconv.Itoa(n.cfg.Port))
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	// Unblock any read or write when ctx ends.
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	c, err := smtp.NewClient(conn, n.cfg.Host)
	if err != nil {
		conn.Close()
		return step("greeting", err)
	}
	defer c.Close()
	local := n.cfg.LocalName
	if local == "" {
		local = "localhost"
	}
	if err := c.Hello(local); err != nil {
		return step("EHLO", err)
	}
	if ok, _ := c.Extension("STARTTLS"); ok && n.cfg.StartTLS != Disabled {
		tc := &tls.Config{}
		if n.cfg.TLSConfig != nil {
			tc = n.cfg.TLSConfig.Clone()
		}
		if tc.ServerName == "" {
			tc.ServerName = n.cfg.Host
		}
		if err := c.StartTLS(tc); err != nil {
			return step("STARTTLS", err)
		}
	} else if n.cfg.StartTLS == Required {
		return alert.Permanent(errors.New("the server does not offer STARTTLS, which the channel requires"))
	}
	if n.cfg.Username != "" {
		if ok, _ := c.Extension("AUTH"); !ok {
			return alert.Permanent(errors.New("the server does not offer AUTH, but a username is configured"))
		}
		// net/smtp refuses this too, with a less helpful error.
		if _, isTLS := c.TLSConnectionState(); !isTLS && !isLocalhost(n.cfg.Host) {
			return alert.Permanent(errors.New("refusing to send the password over an unencrypted connection; the server must offer STARTTLS"))
		}
		auth := smtp.PlainAuth("", n.cfg.Username, n.cfg.Password.Reveal(), n.cfg.Host)
		if err := c.Auth(auth); err != nil {
			return step("AUTH", err)
		}
	}
	if err := c.Mail(n.from.Address); err != nil {
		return step("MAIL FROM", err)
	}
	for _, to := range n.to {
		if err := c.Rcpt(to.Address); err != nil {
			return step("RCPT TO "+to.Address, err)
		}
	}
	w, err := c.Data()
	if err != nil {
		return step("DATA", err)
	}
	if _, err := w.Write(msg); err != nil {
		return step("DATA", err)
	}
	if err := w.Close(); err != nil {
		return step("DATA", err)
	}
	// The message is accepted; a failed QUIT changes nothing.
	_ = c.Quit()
	return nil
}

// step names the SMTP step that failed and marks a 5xx reply permanent.
func step(name string, err error) error {
	err = fmt.Errorf("%s: %w", name, err)
	var te *textproto.Error
	if errors.As(err, &te) && te.Code >= 500 {
		return alert.Permanent(err)
	}
	return err
}

func isLocalhost(host string) bool {
	return host == "localhost" || host == "127.0.0.1" || host == "::1"
}

// Message renders e as an RFC 5322 message, with CRLF line endings.
func (n *Notifier) Message(e alert.Event) []byte {
	var b bytes.Buffer
	header := func(k, v string) { fmt.Fprintf(&b, "%s: %s\r\n", k, v) }
	header("From", n.from.String())
	to := make([]string, len(n.to))
	for i, a := range n.to {
		to[i] = a.String()
	}
	header("To", strings.Join(to, ", "))
	header("Subject", mime.QEncoding.Encode("utf-8", headerText("[ramp] "+e.Summary())))
	header("Date", n.cfg.Now().Format(time.RFC1123Z))
	header("Message-ID", MessageID(e, n.from.Address))
	header("MIME-Version", "1.0")
	header("Content-Type", `text/plain; charset="utf-8"`)
	header("Content-Transfer-Encoding", "quoted-printable")
	header("X-Ramp-Event", string(e.Kind))
	b.WriteString("\r\n")
	qp := quotedprintable.NewWriter(&b)
	_, _ = qp.Write([]byte(strings.ReplaceAll(Body(e), "\n", "\r\n")))
	_ = qp.Close()
	return b.Bytes()
}

// MessageID is the Message-ID of e's message: the event's id at the
// sender's domain.
func MessageID(e alert.Event, from string) string {
	domain := "ramp.invalid"
	if _, d, ok := strings.Cut(from, "@"); ok && d != "" {
		domain = d
	}
	return "<" + e.ID() + "@" + domain + ">"
}

// Body is the text of e's message.
func Body(e alert.Event) string {
	var b strings.Builder
	b.WriteString(e.Summary() + "\n\n")
	for _, f := range []struct{ name, value string }{
		{"Flag", e.Flag},
		{"Environment", e.Environment},
		{"Stage", e.Stage},
		{"Rollout", e.RolloutID},
		{"By", e.Actor},
		{"Time", formatTime(e.Time)},
	} {
		if f.value != "" {
			fmt.Fprintf(&b, "%-12s %s\n", f.name+":", f.value)
		}
	}
	if e.Reason != "" {
		b.WriteString("\nReason:\n" + e.Reason + "\n")
	}
	if len(e.Evidence) > 0 {
		b.WriteString("\nEvidence:\n")
		for _, k := range slices.Sorted(maps.Keys(e.Evidence)) {
			fmt.Fprintf(&b, "  %s: %s\n", k, e.Evidence[k])
		}
	}
	return b.String()
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

// headerText keeps a header value on one line: a reason with a newline must
// not start a header of its own.
func headerText(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
