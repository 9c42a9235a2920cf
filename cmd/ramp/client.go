package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// apiClient calls a ramp server's admin API.
type apiClient struct {
	base   string
	token  string
	reason string
	http   *http.Client
}

func newAPIClient(getenv func(string) string, reason string) (*apiClient, error) {
	base := strings.TrimRight(getenv("RAMP_URL"), "/")
	if base == "" {
		base = "http://" + defaultAddr
	}
	token := getenv("RAMP_TOKEN")
	if path := getenv("RAMP_TOKEN_FILE"); path != "" && token == "" {
		b, err := readFile(path)
		if err != nil {
			return nil, fmt.Errorf("RAMP_TOKEN_FILE: %w", err)
		}
		token = strings.TrimSpace(string(b))
	}
	if token == "" {
		return nil, errors.New("no API token: set RAMP_TOKEN (ramp serve prints an admin token on first start; 'ramp tokens create' makes more)")
	}
	return &apiClient{base: base, token: token, reason: reason, http: &http.Client{Timeout: 30 * time.Second}}, nil
}

// apiError is a problem+json answer, printed with every field error.
type apiError struct {
	Status int
	Title  string `json:"title"`
	Detail string `json:"detail"`
	Errors []struct {
		Path    string `json:"path"`
		Message string `json:"message"`
	} `json:"errors"`
}

func (e *apiError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d %s", e.Status, e.Title)
	if e.Detail != "" {
		b.WriteString(": " + e.Detail)
	}
	for _, fe := range e.Errors {
		fmt.Fprintf(&b, "\n  %s: %s", fe.Path, fe.Message)
	}
	return b.String()
}

// do sends a request; body (if not nil) is encoded as JSON and out (if not nil)
// receives the decoded answer. It returns the response headers.
func (c *apiClient) do(ctx context.Context, method, path string, body, out any, headers map[string]string) (http.Header, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.reason != "" {
		req.Header.Set("X-Ramp-Reason", c.reason)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("cannot reach ramp at %s: %w (is 'ramp serve' running? set RAMP_URL)", c.base, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode >= 400 {
		e := &apiError{Status: resp.StatusCode, Title: http.StatusText(resp.StatusCode)}
		_ = json.Unmarshal(data, e)
		return resp.Header, e
	}
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			return resp.Header, fmt.Errorf("decode the answer of %s %s: %w", method, path, err)
		}
	}
	return resp.Header, nil
}
