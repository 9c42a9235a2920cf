package notify

import (
	"errors"
	"fmt"
	"net/mail"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/ramp-release/ramp/internal/notify/email"
	"github.com/ramp-release/ramp/internal/notify/pagerduty"
	"github.com/ramp-release/ramp/internal/notify/slack"
	"github.com/ramp-release/ramp/internal/notify/webhook"
)

// ChannelType names an integration.
type ChannelType string

// The integrations.
const (
	TypeSlack     ChannelType = "slack"
	TypePagerDuty ChannelType = "pagerduty"
	TypeEmail     ChannelType = "email"
	TypeWebhook   ChannelType = "webhook"
)

// ChannelConfig is one notification channel as an administrator configures
// it through the API or a YAML file: a name that routes refer to, a type,
// and the fields of that type. Secret fields decode from plain strings and
// encode as REDACTED.
type ChannelConfig struct {
	// Name is how routes refer to the channel: "ops", "release-managers".
	Name string `json:"name"`
	// Type is slack, pagerduty, email or webhook.
	Type ChannelType `json:"type"`

	// URL is the Slack incoming webhook or the webhook endpoint (required
	// for both), or the PagerDuty Events API endpoint (optional; default
	// https://events.pagerduty.com/v2/enqueue).
	URL SecretURL `json:"url,omitzero"`

	// RoutingKey is the PagerDuty integration key.
	RoutingKey Secret `json:"routing_key,omitzero"`
	// Source is PagerDuty's payload source. Default "ramp/<environment>".
	Source string `json:"source,omitempty"`

	// SigningSecret signs webhooks: "whsec_" + base64 of 24 to 64 bytes.
	SigningSecret Secret `json:"signing_secret,omitzero"`

	// SMTPHost and SMTPPort locate the mail server (port default 587).
	SMTPHost string `json:"smtp_host,omitempty"`
	SMTPPort int    `json:"smtp_port,omitempty"`
	// Username and Password authenticate with SMTP PLAIN; both or neither.
	Username string `json:"username,omitempty"`
	Password Secret `json:"password,omitzero"`
	// From is the sender address, To the recipients.
	From string   `json:"from,omitempty"`
	To   []string `json:"to,omitempty"`
	// StartTLS is opportunistic (default), required or disabled.
	StartTLS email.StartTLS `json:"starttls,omitempty"`
}

var channelName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)

// Validate reports every problem with c, each naming the field as
// channels["name"].field and saying how to fix it. It never quotes a secret.
func (c ChannelConfig) Validate() error {
	at := fmt.Sprintf("channels[%q]", c.Name)
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s.%s: %s", at, field, fmt.Sprintf(format, args...)))
	}
	if !channelName.MatchString(c.Name) {
		bad("name", "must be 1 to 64 letters, digits, '-', '_' or '.', starting with a letter or digit")
	}

	// Which fields each type uses; a field set for another type is a
	// mistake worth reporting (a routing key on a Slack channel means the
	// type is wrong).
	used := map[string]bool{}
	switch c.Type {
	case TypeSlack:
		used["url"] = true
		checkURL(bad, "url", c.URL, true)
	case TypeWebhook:
		used["url"], used["signing_secret"] = true, true
		checkURL(bad, "url", c.URL, true)
		switch {
		case c.SigningSecret.IsZero():
			bad("signing_secret", "required; generate 32 random bytes and write them as whsec_ followed by their base64")
		case c.SigningSecret.IsPlaceholder():
			bad("signing_secret", placeholder)
		case !strings.HasPrefix(c.SigningSecret.Reveal(), webhook.SecretPrefix):
			bad("signing_secret", "must start with whsec_ followed by base64")
		default:
			if _, err := webhook.ParseSecret(c.SigningSecret.Reveal()); err != nil {
				bad("signing_secret", "%s; generate 32 random bytes and write them as whsec_ followed by their base64",
					strings.TrimPrefix(err.Error(), webhook.ErrInvalidSecret.Error()+": "))
			}
		}
	case TypePagerDuty:
		used["url"], used["routing_key"], used["source"] = true, true, true
		checkURL(bad, "url", c.URL, false)
		switch {
		case c.RoutingKey.IsZero():
			bad("routing_key", "required; copy the integration key of an Events API v2 integration of the PagerDuty service")
		case c.RoutingKey.IsPlaceholder():
			bad("routing_key", placeholder)
		case strings.ContainsAny(c.RoutingKey.Reveal(), " \t\r\n"):
			bad("routing_key", "contains white space; copy the integration key without it")
		}
	case TypeEmail:
		for _, f := range []string{"smtp_host", "smtp_port", "username", "password", "from", "to", "starttls"} {
			used[f] = true
		}
		c.validateEmail(bad)
	case "":
		bad("type", "required; use slack, pagerduty, email or webhook")
	default:
		bad("type", "%q is not a channel type; use slack, pagerduty, email or webhook", c.Type)
	}
	if c.Type.valid() {
		for field, set := range map[string]bool{
			"url":            !c.URL.IsZero(),
			"routing_key":    !c.RoutingKey.IsZero(),
			"source":         c.Source != "",
			"signing_secret": !c.SigningSecret.IsZero(),
			"smtp_host":      c.SMTPHost != "",
			"smtp_port":      c.SMTPPort != 0,
			"username":       c.Username != "",
			"password":       !c.Password.IsZero(),
			"from":           c.From != "",
			"to":             len(c.To) > 0,
			"starttls":       c.StartTLS != "",
		} {
			if set && !used[field] {
				bad(field, "not used by %s channels; remove it or fix the type", c.Type)
			}
		}
	}
	// Map iteration above is random; sort so the output is stable.
	slices.SortFunc(errs, func(a, b error) int { return strings.Compare(a.Error(), b.Error()) })
	return errors.Join(errs...)
}

const placeholder = "is the REDACTED placeholder shown when a channel is read back; send the real value"

func (t ChannelType) valid() bool {
	return t == TypeSlack || t == TypePagerDuty || t == TypeEmail || t == TypeWebhook
}

func (c ChannelConfig) validateEmail(bad func(field, format string, args ...any)) {
	if c.SMTPHost == "" {
		bad("smtp_host", "required; give the SMTP server's host name")
	} else if strings.ContainsAny(c.SMTPHost, ":/ ") {
		bad("smtp_host", "must be a host name alone; put the port in smtp_port")
	}
	if c.SMTPPort < 0 || c.SMTPPort > 65535 {
		bad("smtp_port", "%d is not a TCP port; use 587 (submission), 25, or leave it out for 587", c.SMTPPort)
	}
	switch {
	case c.Username != "" && c.Password.IsZero():
		bad("password", "required with a username")
	case c.Username == "" && !c.Password.IsZero():
		bad("username", "required with a password")
	case c.Password.IsPlaceholder():
		bad("password", placeholder)
	}
	if c.From == "" {
		bad("from", `required; give the sender, e.g. "ramp <ramp@example.com>"`)
	} else if _, err := mail.ParseAddress(c.From); err != nil {
		bad("from", `%q is not an e-mail address; write it as "ramp@example.com" or "ramp <ramp@example.com>"`, c.From)
	}
	if len(c.To) == 0 {
		bad("to", "required; list at least one recipient")
	}
	for i, to := range c.To {
		if _, err := mail.ParseAddress(to); err != nil {
			bad(fmt.Sprintf("to[%d]", i), "%q is not an e-mail address", to)
		}
	}
	if !c.StartTLS.Valid() {
		bad("starttls", "%q is not a policy; use opportunistic, required or disabled", c.StartTLS)
	}
}

// checkURL reports a URL that is missing (when required) or not http(s).
// It never quotes the URL: its path may be the credential.
func checkURL(bad func(field, format string, args ...any), field string, u SecretURL, required bool) {
	switch {
	case u.IsZero():
		if required {
			bad(field, "required; give the https:// URL of the receiver")
		}
	case u.IsPlaceholder():
		bad(field, placeholder)
	default:
		p, err := url.Parse(u.Reveal())
		if err != nil || (p.Scheme != "https" && p.Scheme != "http") || p.Host == "" {
			bad(field, "must be an https:// or http:// URL")
		}
	}
}

// New validates c and builds its integration.
func New(c ChannelConfig) (Notifier, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	var (
		n   Notifier
		err error
	)
	switch c.Type {
	case TypeSlack:
		n, err = slack.New(slack.Config{URL: c.URL})
	case TypePagerDuty:
		n, err = pagerduty.New(pagerduty.Config{RoutingKey: c.RoutingKey, URL: c.URL.Reveal(), Source: c.Source})
	case TypeWebhook:
		n, err = webhook.New(webhook.Config{URL: c.URL, Secret: c.SigningSecret})
	case TypeEmail:
		n, err = email.New(email.Config{
			Host:     c.SMTPHost,
			Port:     c.SMTPPort,
			Username: c.Username,
			Password: c.Password,
			From:     c.From,
			To:       c.To,
			StartTLS: c.StartTLS,
		})
	}
	if err != nil {
		return nil, fmt.Errorf("channels[%q]: %w", c.Name, err)
	}
	return n, nil
}
