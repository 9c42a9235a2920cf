package httpjson

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ramp-release/ramp/internal/notify/alert"
)

// DefaultClient is used when an integration is given no client. Its timeout
// bounds one attempt; the dispatcher's context usually ends it sooner.
var DefaultClient = &http.Client{
	Timeout:       30 * time.Second,
	CheckRedirect: NoRedirects,
}

// NoRedirects makes an http.Client return a redirect as the response.
func NoRedirects(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// An error response is read up to readLimit bytes and kept, scrubbed, up to
// keepLimit. When the read was cut, its last tailCut bytes are dropped
// before scrubbing, so that a secret split by the cut cannot survive as a
// fragment that no longer matches.
const (
	readLimit = 4096
	tailCut   = 512
	keepLimit = 256
)

// Post sends body to u with the given headers and returns nil on any 2xx
// answer. Its error contains neither u nor any of secrets: the url.Error
// that net/http wraps around transport failures is unwrapped, and the text
// of the receiver's answer is scrubbed.
func Post(ctx context.Context, client *http.Client, u alert.SecretURL, header http.Header, body []byte, secrets ...alert.Secret) error {
	if client == nil {
		client = DefaultClient
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.Reveal(), bytes.NewReader(body))
	if err != nil {
		// The parse error quotes the URL.
		return alert.Permanent(errors.New("invalid receiver URL"))
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/json")
	if req.Header.Get("User-Agent") == "" {
		req.Header.Set("User-Agent", "ramp-notify")
	}
	resp, err := client.Do(req)
	if err != nil {
		return transportError(err, u, secrets)
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, readLimit))
	// Drain a little more so the connection can be reused.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	if len(snippet) == readLimit {
		snippet = snippet[:readLimit-tailCut]
	}
	return &alert.StatusError{
		StatusCode: resp.StatusCode,
		Body:       clean(string(snippet), u, secrets),
		Wait:       retryAfter(resp.Header.Get("Retry-After"), time.Now()),
	}
}

// sendError is a transport failure with the URL taken out of its text. It
// unwraps to the cause (not the url.Error), so errors.Is still finds
// context.DeadlineExceeded and the like.
type sendError struct {
	msg   string
	cause error
}

func (e *sendError) Error() string { return e.msg }
func (e *sendError) Unwrap() error { return e.cause }

func transportError(err error, u alert.SecretURL, secrets []alert.Secret) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return &sendError{msg: "send: " + clean(err.Error(), u, secrets), cause: err}
}

func clean(s string, u alert.SecretURL, secrets []alert.Secret) string {
	s = u.Scrub(s)
	for _, sec := range secrets {
		s = sec.Scrub(s)
	}
	s = strings.TrimSpace(strings.ToValidUTF8(s, "?"))
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > keepLimit {
		cut := keepLimit
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}

// retryAfter reads a Retry-After header: seconds, or an HTTP date.
func retryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && s > 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}
