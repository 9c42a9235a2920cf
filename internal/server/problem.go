package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/ramp-release/ramp/flags"
	"github.com/ramp-release/ramp/internal/controller"
	"github.com/ramp-release/ramp/internal/rollout"
	"github.com/ramp-release/ramp/internal/store"
)

// Problem is an RFC 9457 problem detail. Errors lists every invalid field, with the
// evaluation core's messages, so a client can show them all at once.
type Problem struct {
	Type   string             `json:"type"`
	Title  string             `json:"title"`
	Status int                `json:"status"`
	Detail string             `json:"detail,omitempty"`
	Errors []flags.FieldError `json:"errors,omitempty"`
}

func (p *Problem) Error() string { return fmt.Sprintf("%d %s: %s", p.Status, p.Title, p.Detail) }

func problem(status int, detail string) *Problem {
	return &Problem{Type: "about:blank", Title: http.StatusText(status), Status: status, Detail: detail}
}

func badRequest(format string, args ...any) *Problem {
	return problem(http.StatusBadRequest, fmt.Sprintf(format, args...))
}

// toProblem maps an error to HTTP, in exactly one place.
func toProblem(err error) *Problem {
	var p *Problem
	if errors.As(err, &p) {
		return p
	}
	var verrs flags.ValidationErrors
	if errors.As(err, &verrs) {
		pr := problem(http.StatusUnprocessableEntity, "the request is well-formed but invalid; see errors for each field")
		pr.Type = "https://ramp.dev/problems/validation"
		pr.Errors = verrs
		return pr
	}
	var perr *flags.ParseError
	if errors.As(err, &perr) {
		pr := problem(http.StatusBadRequest, perr.Error())
		pr.Type = "https://ramp.dev/problems/malformed-json"
		return pr
	}
	var maxErr *http.MaxBytesError
	if errors.As(err, &maxErr) {
		return problem(http.StatusRequestEntityTooLarge, fmt.Sprintf("the request body is larger than %d bytes", maxErr.Limit))
	}
	switch {
	case errors.Is(err, controller.ErrForbidden):
		return problem(http.StatusForbidden, err.Error())
	case errors.Is(err, rollout.ErrIllegal), errors.Is(err, controller.ErrBlocked):
		return problem(http.StatusConflict, err.Error())
	case errors.Is(err, store.ErrFenced):
		return problem(http.StatusConflict, err.Error()+"; retry: the current leader decides")
	case errors.Is(err, store.ErrNotFound):
		return problem(http.StatusNotFound, err.Error())
	case errors.Is(err, store.ErrConflict):
		pr := problem(http.StatusPreconditionFailed, err.Error()+"; read the current version and retry with its ETag in If-Match")
		return pr
	case errors.Is(err, store.ErrExists):
		return problem(http.StatusConflict, err.Error())
	case errors.Is(err, store.ErrInvalid):
		return problem(http.StatusUnprocessableEntity, err.Error())
	}
	return problem(http.StatusInternalServerError, "internal error; the server log has the details")
}

func writeProblem(w http.ResponseWriter, p *Problem) {
	if p.Status == http.StatusServiceUnavailable && w.Header().Get("Retry-After") == "" {
		// Unavailable means "the store is, for now": clients (SDKs retrying event
		// batches) wait this many seconds.
		w.Header().Set("Retry-After", "2")
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}
