package webhook

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ramp-release/ramp/internal/notify/alert"
	"github.com/ramp-release/ramp/internal/notify/internal/httpjson"
)

// The headers of a signed request.
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

// SecretPrefix starts a signing secret, which is SecretPrefix followed by
// the base64 of the key.
const SecretPrefix = "whsec_"

// Key lengths the specification accepts, in bytes.
const (
	MinKeyLen = 24
	MaxKeyLen = 64
)

// DefaultTolerance is how far a request's timestamp may be from the
// receiver's clock, either way, when Verify is given no tolerance.
const DefaultTolerance = 5 * time.Minute

// Errors of ParseSecret and Verify.
var (
	ErrInvalidSecret     = errors.New("webhook: invalid signing secret")
	ErrMissingHeaders    = errors.New("webhook: missing webhook-id, webhook-timestamp or webhook-signature header")
	ErrInvalidTimestamp  = errors.New("webhook: webhook-timestamp is not unix seconds")
	ErrTimestampTooOld   = errors.New("webhook: timestamp too old")
	ErrTimestampTooNew   = errors.New("webhook: timestamp too far in the future")
	ErrSignatureMismatch = errors.New("webhook: no signature matches")
)

// ParseSecret decodes a signing secret, "whsec_" followed by the base64 of
// 24 to 64 random bytes, into its key. The prefix may be left out, as the
// specification's libraries allow.
func ParseSecret(secret string) ([]byte, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, SecretPrefix))
	if err != nil {
		return nil, fmt.Errorf("%w: the part after %q is not base64", ErrInvalidSecret, SecretPrefix)
	}
	if len(key) < MinKeyLen || len(key) > MaxKeyLen {
		return nil, fmt.Errorf("%w: the key is %d bytes, want %d to %d", ErrInvalidSecret, len(key), MinKeyLen, MaxKeyLen)
	}
	return key, nil
}

// Sign returns the webhook-signature header value for one request.
func Sign(secret, id string, timestamp int64, body []byte) (string, error) {
	key, err := ParseSecret(secret)
	if err != nil {
		return "", err
	}
	return "v1," + base64.StdEncoding.EncodeToString(mac(key, id, timestamp, body)), nil
}

func mac(key []byte, id string, timestamp int64, body []byte) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(id))
	h.Write([]byte{'.'})
	h.Write(strconv.AppendInt(nil, timestamp, 10))
	h.Write([]byte{'.'})
	h.Write(body)
	return h.Sum(nil)
}

// Verify checks that body and header came from a sender holding secret, at
// a time within tolerance of now (DefaultTolerance if tolerance is zero or
// less). The signature header may list several space-separated signatures,
// as during a secret rotation; one match is enough.
func Verify(secret string, header http.Header, body []byte, now time.Time, tolerance time.Duration) error {
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	id, ts, sigs := header.Get(HeaderID), header.Get(HeaderTimestamp), header.Get(HeaderSignature)
	if id == "" || ts == "" || sigs == "" {
		return ErrMissingHeaders
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return ErrInvalidTimestamp
	}
	// Compare in seconds: time.Unix of an absurd value would overflow.
	switch age := now.Unix() - sec; {
	case age > int64(tolerance/time.Second):
		return ErrTimestampTooOld
	case -age > int64(tolerance/time.Second):
		return ErrTimestampTooNew
	}
	key, err := ParseSecret(secret)
	if err != nil {
		return err
	}
	want := mac(key, id, sec, body)
	for _, sig := range strings.Fields(sigs) {
		version, value, ok := strings.Cut(sig, ",")
		if !ok || version != "v1" {
			continue
		}
		got, err := base64.StdEncoding.DecodeString(value)
		if err == nil && hmac.Equal(got, want) {
			return nil
		}
	}
	return ErrSignatureMismatch
}

// Payload is the body of a request.
type Payload struct {
	// Type is "rollout." followed by the event's kind.
	Type string `json:"type"`
	// Timestamp is when the event happened.
	Timestamp time.Time `json:"timestamp"`
	// Data is the event.
	Data alert.Event `json:"data"`
}

// Config configures a Notifier.
type Config struct {
	// URL is the receiver's endpoint.
	URL alert.SecretURL
	// Secret is the signing secret, "whsec_" + base64.
	Secret alert.Secret
	// Client sends the request. Default: a client that does not follow
	// redirects.
	Client *http.Client
	// Now is the clock for webhook-timestamp. Default time.Now.
	Now func() time.Time
}

// Notifier posts signed events to one endpoint.
type Notifier struct {
	url    alert.SecretURL
	secret alert.Secret
	client *http.Client
	now    func() time.Time
}

// New returns a Notifier for cfg.
func New(cfg Config) (*Notifier, error) {
	if cfg.URL.IsZero() {
		return nil, errors.New("webhook: the endpoint URL is required")
	}
	if _, err := ParseSecret(cfg.Secret.Reveal()); err != nil {
		return nil, err
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Notifier{url: cfg.URL, secret: cfg.Secret, client: cfg.Client, now: cfg.Now}, nil
}

// String names the integration, so printing a Notifier shows no secret.
func (n *Notifier) String() string { return "webhook" }

// MessageID is the webhook-id of e: the same on every attempt.
func MessageID(e alert.Event) string { return "msg_" + e.ID() }

// Notify posts e, signed with a fresh timestamp.
func (n *Notifier) Notify(ctx context.Context, e alert.Event) error {
	now := n.now()
	if e.Time.IsZero() {
		e.Time = now
	}
	body, err := json.Marshal(Payload{Type: "rollout." + string(e.Kind), Timestamp: e.Time, Data: e})
	if err != nil {
		return alert.Permanent(fmt.Errorf("webhook: encode payload: %w", err))
	}
	id, ts := MessageID(e), now.Unix()
	sig, err := Sign(n.secret.Reveal(), id, ts, body)
	if err != nil {
		return alert.Permanent(err)
	}
	h := http.Header{}
	h.Set(HeaderID, id)
	h.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
	h.Set(HeaderSignature, sig)
	if err := httpjson.Post(ctx, n.client, n.url, h, body, n.secret); err != nil {
		return fmt.Errorf("webhook: %w", err)
	}
	return nil
}
