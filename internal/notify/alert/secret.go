package alert

import (
	"log/slog"
	"net/url"
	"sort"
	"strings"
)

// Redacted is what a Secret or SecretURL shows wherever it is printed,
// logged or encoded.
const Redacted = "REDACTED"

// Secret is a credential (a routing key, a password, a signing secret) that
// must never reach a log, an error or an API response. It prints, logs and
// encodes as REDACTED; only Reveal gives the value, at the one place that
// sends it.
//
// The value sits behind a pointer so that even reflection-based printing of
// a struct holding a Secret in an unexported field (fmt's %+v) shows an
// address, not the text. Decoding from JSON or YAML text works as for a
// string; encoding gives REDACTED, so a configuration read back from the API
// cannot be saved as is (Validate rejects the placeholder).
type Secret struct{ p *string }

// NewSecret wraps s.
func NewSecret(s string) Secret { return Secret{p: &s} }

// Reveal returns the secret itself. Call it only to send it to the service
// it is meant for.
func (s Secret) Reveal() string {
	if s.p == nil {
		return ""
	}
	return *s.p
}

// IsZero reports whether the secret is empty, so that `json:",omitzero"`
// leaves it out.
func (s Secret) IsZero() bool { return s.Reveal() == "" }

// String returns REDACTED, or "" for an empty secret.
func (s Secret) String() string { return redacted(s.IsZero()) }

// GoString keeps %#v from printing the value.
func (s Secret) GoString() string { return `alert.Secret("` + s.String() + `")` }

// LogValue makes log/slog print REDACTED.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalText encodes the secret as REDACTED (JSON, YAML, slog handlers).
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText reads the secret from configuration.
func (s *Secret) UnmarshalText(b []byte) error {
	v := string(b)
	s.p = &v
	return nil
}

// IsPlaceholder reports whether the secret is the literal REDACTED, as
// happens when a configuration that was read back is submitted again.
func (s Secret) IsPlaceholder() bool { return s.Reveal() == Redacted }

// Scrub replaces every occurrence of the secret in msg with REDACTED: for
// text that came from elsewhere, such as a receiver's error response that
// may echo what it was sent.
func (s Secret) Scrub(msg string) string { return scrub(msg, s.Reveal()) }

// SecretURL is a URL whose path or query is a credential, as a Slack
// incoming-webhook URL is. It behaves as Secret does: printed, logged and
// encoded as REDACTED, revealed only to send a request.
type SecretURL struct{ p *string }

// NewSecretURL wraps u. It does not check that u is a URL: Validate on the
// configuration that holds it does.
func NewSecretURL(u string) SecretURL { return SecretURL{p: &u} }

// Reveal returns the URL itself.
func (u SecretURL) Reveal() string {
	if u.p == nil {
		return ""
	}
	return *u.p
}

// IsZero reports whether the URL is empty.
func (u SecretURL) IsZero() bool { return u.Reveal() == "" }

// String returns REDACTED, or "" for an empty URL.
func (u SecretURL) String() string { return redacted(u.IsZero()) }

// GoString keeps %#v from printing the URL.
func (u SecretURL) GoString() string { return `alert.SecretURL("` + u.String() + `")` }

// LogValue makes log/slog print REDACTED.
func (u SecretURL) LogValue() slog.Value { return slog.StringValue(u.String()) }

// MarshalText encodes the URL as REDACTED.
func (u SecretURL) MarshalText() ([]byte, error) { return []byte(u.String()), nil }

// UnmarshalText reads the URL from configuration.
func (u *SecretURL) UnmarshalText(b []byte) error {
	v := string(b)
	u.p = &v
	return nil
}

// IsPlaceholder reports whether the URL is the literal REDACTED.
func (u SecretURL) IsPlaceholder() bool { return u.Reveal() == Redacted }

// Scrub replaces, in msg, the URL and each part of it that may carry the
// credential (path, query, password) with REDACTED. Receivers' error pages
// often echo the request path ("Cannot POST /services/T0/B0/xyz").
func (u SecretURL) Scrub(msg string) string {
	raw := u.Reveal()
	parts := []string{raw}
	if p, err := url.Parse(raw); err == nil {
		parts = append(parts, p.String(), p.RawQuery, p.Query().Encode())
		if len(p.Path) > 1 {
			parts = append(parts, p.Path, p.EscapedPath(), strings.Trim(p.Path, "/"))
		}
		if pw, ok := p.User.Password(); ok {
			parts = append(parts, pw)
		}
	}
	return scrub(msg, parts...)
}

func redacted(zero bool) string {
	if zero {
		return ""
	}
	return Redacted
}

// scrub replaces each non-empty secret in msg, longest first so that a
// secret containing another is removed whole.
func scrub(msg string, secrets ...string) string {
	sort.Slice(secrets, func(i, j int) bool { return len(secrets[i]) > len(secrets[j]) })
	for _, s := range secrets {
		if s != "" {
			msg = strings.ReplaceAll(msg, s, Redacted)
		}
	}
	return msg
}
