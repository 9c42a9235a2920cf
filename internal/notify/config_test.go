package notify_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ramp-release/ramp/internal/notify"
	"github.com/ramp-release/ramp/internal/notify/email"
	"github.com/ramp-release/ramp/internal/notify/pagerduty"
	"github.com/ramp-release/ramp/internal/notify/slack"
	"github.com/ramp-release/ramp/internal/notify/webhook"
)

const (
	slackURL      = "https://hooks.slack.com/services/T0000/B0000/XXXXXXXXXXXXXXXXXXXXXXXX"
	signingSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	pdKey         = "R0UT1NGKEY0000000000000000000042"
)

func validConfigs() map[notify.ChannelType]notify.ChannelConfig {
	return map[notify.ChannelType]notify.ChannelConfig{
		notify.TypeSlack:     {Name: "ops", Type: notify.TypeSlack, URL: notify.NewSecretURL(slackURL)},
		notify.TypePagerDuty: {Name: "pager", Type: notify.TypePagerDuty, RoutingKey: notify.NewSecret(pdKey)},
		notify.TypeWebhook: {Name: "hooks", Type: notify.TypeWebhook, URL: notify.NewSecretURL("https://example.com/ramp"),
			SigningSecret: notify.NewSecret(signingSecret)},
		notify.TypeEmail: {Name: "mail", Type: notify.TypeEmail, SMTPHost: "smtp.example.com", SMTPPort: 587,
			Username: "ramp", Password: notify.NewSecret("pw"), From: "ramp <ramp@example.com>",
			To: []string{"oncall@example.com"}, StartTLS: email.Required},
	}
}

func TestValidConfigurationsBuildTheirIntegration(t *testing.T) {
	for typ, cfg := range validConfigs() {
		t.Run(string(typ), func(t *testing.T) {
			n, err := notify.New(cfg)
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			var ok bool
			switch typ {
			case notify.TypeSlack:
				_, ok = n.(*slack.Notifier)
			case notify.TypePagerDuty:
				_, ok = n.(*pagerduty.Notifier)
			case notify.TypeWebhook:
				_, ok = n.(*webhook.Notifier)
			case notify.TypeEmail:
				_, ok = n.(*email.Notifier)
			}
			if !ok {
				t.Errorf("New built a %T", n)
			}
		})
	}
}

func TestValidationErrorsNameTheFieldAndTheFix(t *testing.T) {
	slackCfg := validConfigs()[notify.TypeSlack]
	webhookCfg := validConfigs()[notify.TypeWebhook]
	pdCfg := validConfigs()[notify.TypePagerDuty]
	emailCfg := validConfigs()[notify.TypeEmail]
	with := func(c notify.ChannelConfig, change func(*notify.ChannelConfig)) notify.ChannelConfig {
		c.To = append([]string(nil), c.To...)
		change(&c)
		return c
	}
	tests := []struct {
		name string
		cfg  notify.ChannelConfig
		want []string
	}{
		{"a Slack channel needs a URL", with(slackCfg, func(c *notify.ChannelConfig) { c.URL = notify.SecretURL{} }),
			[]string{`channels["ops"].url: required; give the https:// URL of the receiver`}},
		{"a Slack URL must be http or https", with(slackCfg, func(c *notify.ChannelConfig) { c.URL = notify.NewSecretURL("hooks.slack.com/services/T/B/secret") }),
			[]string{`channels["ops"].url: must be an https:// or http:// URL`}},
		{"a channel needs a name", with(slackCfg, func(c *notify.ChannelConfig) { c.Name = "" }),
			[]string{`channels[""].name: must be 1 to 64 letters, digits, '-', '_' or '.', starting with a letter or digit`}},
		{"a channel needs a type", with(slackCfg, func(c *notify.ChannelConfig) { c.Type = "" }),
			[]string{`channels["ops"].type: required; use slack, pagerduty, email or webhook`}},
		{"an unknown type is named", with(slackCfg, func(c *notify.ChannelConfig) { c.Type = "teams" }),
			[]string{`channels["ops"].type: "teams" is not a channel type; use slack, pagerduty, email or webhook`}},
		{"a field of another type is reported", with(slackCfg, func(c *notify.ChannelConfig) { c.RoutingKey = notify.NewSecret(pdKey) }),
			[]string{`channels["ops"].routing_key: not used by slack channels; remove it or fix the type`}},
		{"a redacted URL sent back is refused", with(slackCfg, func(c *notify.ChannelConfig) { c.URL = notify.NewSecretURL("REDACTED") }),
			[]string{`channels["ops"].url: is the REDACTED placeholder shown when a channel is read back; send the real value`}},
		{"a PagerDuty channel needs a routing key", with(pdCfg, func(c *notify.ChannelConfig) { c.RoutingKey = notify.Secret{} }),
			[]string{`channels["pager"].routing_key: required; copy the integration key of an Events API v2 integration of the PagerDuty service`}},
		{"a PagerDuty endpoint must be a URL", with(pdCfg, func(c *notify.ChannelConfig) { c.URL = notify.NewSecretURL("events.pagerduty.com") }),
			[]string{`channels["pager"].url: must be an https:// or http:// URL`}},
		{"a webhook needs a signing secret", with(webhookCfg, func(c *notify.ChannelConfig) { c.SigningSecret = notify.Secret{} }),
			[]string{`channels["hooks"].signing_secret: required; generate 32 random bytes and write them as whsec_ followed by their base64`}},
		{"a signing secret needs its prefix", with(webhookCfg, func(c *notify.ChannelConfig) { c.SigningSecret = notify.NewSecret("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw") }),
			[]string{`channels["hooks"].signing_secret: must start with whsec_ followed by base64`}},
		{"a short signing secret is refused", with(webhookCfg, func(c *notify.ChannelConfig) { c.SigningSecret = notify.NewSecret("whsec_c2hvcnQ=") }),
			[]string{`channels["hooks"].signing_secret: the key is 5 bytes, want 24 to 64; generate 32 random bytes and write them as whsec_ followed by their base64`}},
		{"an e-mail channel lists every missing field", notify.ChannelConfig{Name: "mail", Type: notify.TypeEmail},
			[]string{
				`channels["mail"].from: required; give the sender, e.g. "ramp <ramp@example.com>"`,
				`channels["mail"].smtp_host: required; give the SMTP server's host name`,
				`channels["mail"].to: required; list at least one recipient`,
			}},
		{"recipients must be addresses", with(emailCfg, func(c *notify.ChannelConfig) { c.To = append(c.To, "oncall") }),
			[]string{`channels["mail"].to[1]: "oncall" is not an e-mail address`}},
		{"a port in the host is moved to smtp_port", with(emailCfg, func(c *notify.ChannelConfig) { c.SMTPHost = "smtp.example.com:587" }),
			[]string{`channels["mail"].smtp_host: must be a host name alone; put the port in smtp_port`}},
		{"a username needs a password", with(emailCfg, func(c *notify.ChannelConfig) { c.Password = notify.Secret{} }),
			[]string{`channels["mail"].password: required with a username`}},
		{"an unknown STARTTLS policy is named", with(emailCfg, func(c *notify.ChannelConfig) { c.StartTLS = "always" }),
			[]string{`channels["mail"].starttls: "always" is not a policy; use opportunistic, required or disabled`}},
		{"a port out of range is refused", with(emailCfg, func(c *notify.ChannelConfig) { c.SMTPPort = 70000 }),
			[]string{`channels["mail"].smtp_port: 70000 is not a TCP port; use 587 (submission), 25, or leave it out for 587`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if err == nil {
				t.Fatal("Validate accepted the configuration")
			}
			if diff := cmp.Diff(tt.want, strings.Split(err.Error(), "\n")); diff != "" {
				t.Errorf("Validate (-want +got):\n%s", diff)
			}
			if strings.Contains(err.Error(), "hooks.slack.com/services") || strings.Contains(err.Error(), pdKey) {
				t.Errorf("the error quotes a secret: %v", err)
			}
			if _, err := notify.New(tt.cfg); err == nil {
				t.Error("New accepted the configuration")
			}
		})
	}
}

func TestAChannelReadFromJSONRedactsItsSecretsWhenWrittenBack(t *testing.T) {
	in := fmt.Sprintf(`{"name":"ops","type":"webhook","url":%q,"signing_secret":%q}`, slackURL, signingSecret)
	var cfg notify.ChannelConfig
	if err := json.Unmarshal([]byte(in), &cfg); err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	if cfg.URL.Reveal() != slackURL || cfg.SigningSecret.Reveal() != signingSecret {
		t.Error("secrets did not decode")
	}
	out, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(out), `{"name":"ops","type":"webhook","url":"REDACTED","signing_secret":"REDACTED"}`; got != want {
		t.Errorf("encoded as %s, want %s", got, want)
	}
	var back notify.ChannelConfig
	if err := json.Unmarshal(out, &back); err != nil {
		t.Fatal(err)
	}
	if err := back.Validate(); err == nil || !strings.Contains(err.Error(), "REDACTED placeholder") {
		t.Errorf("a read-back configuration validated: %v", err)
	}
}
