package httpjson

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ramp-release/ramp/internal/notify/alert"
)

func TestAnEchoCutInsideTheSecretLeavesNoFragment(t *testing.T) {
	const path = "/services/T0/B0/0123456789abcdefghij"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		// Padding puts the echoed path across the read limit.
		w.Write([]byte(strings.Repeat(" ", readLimit-10) + r.URL.Path + strings.Repeat(" ", 100)))
	}))
	defer srv.Close()
	err := Post(context.Background(), nil, alert.NewSecretURL(srv.URL+path), nil, []byte("{}"))
	var se *alert.StatusError
	if !errors.As(err, &se) || se.StatusCode != http.StatusBadRequest {
		t.Fatalf("Post = %v, want a 400", err)
	}
	for _, fragment := range []string{"/services", "0123456789"} {
		if strings.Contains(err.Error(), fragment) {
			t.Errorf("the error keeps %q: %q", fragment, err)
		}
	}
}

func TestARedirectIsReportedNotFollowed(t *testing.T) {
	var followed atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/moved" {
			followed.Store(true)
			return
		}
		http.Redirect(w, r, "/moved", http.StatusMovedPermanently)
	}))
	defer srv.Close()
	err := Post(context.Background(), nil, alert.NewSecretURL(srv.URL+"/hook"), nil, []byte("{}"))
	if err == nil || alert.Retryable(err) || followed.Load() {
		t.Errorf("Post = %v (followed: %v), want a permanent error without following", err, followed.Load())
	}
}

func TestAnUnparsableURLIsNotQuoted(t *testing.T) {
	err := Post(context.Background(), nil, alert.NewSecretURL("http://exa mple.com/s3cret"), nil, nil)
	if err == nil || strings.Contains(err.Error(), "s3cret") || alert.Retryable(err) {
		t.Errorf("Post = %v", err)
	}
}

func TestRetryAfterReadsSecondsAndDates(t *testing.T) {
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name, header string
		want         time.Duration
	}{
		{"seconds are read", "30", 30 * time.Second},
		{"an HTTP date is read", "Mon, 02 Mar 2026 10:01:00 GMT", time.Minute},
		{"a past date is no wait", "Mon, 02 Mar 2026 09:00:00 GMT", 0},
		{"garbage is no wait", "soon", 0},
		{"no header is no wait", "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := retryAfter(tt.header, now); got != tt.want {
				t.Errorf("retryAfter(%q) = %v, want %v", tt.header, got, tt.want)
			}
		})
	}
}
