package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// The dashboard is a client of the admin API like the CLI, except that it calls
// the handler in-process: no network hop, but the same routing, authentication,
// role checks, validation and audit as any other caller.

// apiResponse is what the API answered.
type apiResponse struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r *apiResponse) ok() bool { return r.Status >= 200 && r.Status < 300 }

// problem decodes an RFC 9457 problem, or makes one from the status when the body
// is not one (e.g. the mux's own 404 for a route that is not deployed).
func (r *apiResponse) problem() *apiProblem {
	p := &apiProblem{Status: r.Status}
	if err := json.Unmarshal(r.Body, p); err != nil || p.Status == 0 {
		p = &apiProblem{Status: r.Status, Title: http.StatusText(r.Status), Detail: strings.TrimSpace(string(r.Body))}
	}
	return p
}

// apiProblem is an RFC 9457 problem as the API writes it.
type apiProblem struct {
	Type   string       `json:"type"`
	Title  string       `json:"title"`
	Status int          `json:"status"`
	Detail string       `json:"detail"`
	Errors []fieldError `json:"errors"`
}

// fieldError is one invalid field, with the evaluation core's path and message.
type fieldError struct {
	Path    string `json:"path"`
	Message string `json:"message"`
	// Line is where the path points in the document being edited (0: unknown).
	Line int `json:"-"`
}

func (p *apiProblem) Error() string {
	if p.Detail != "" {
		return p.Detail
	}
	return fmt.Sprintf("%d %s", p.Status, p.Title)
}

// notDeployed reports whether the API does not have the route at all (as opposed
// to a missing resource, which the API reports as a problem document).
func (p *apiProblem) notDeployed() bool { return p.Status == http.StatusNotFound && p.Type == "" }

// recorder is the http.ResponseWriter the API writes into.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (w *recorder) Header() http.Header { return w.header }
func (w *recorder) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.body.Write(b)
}
func (w *recorder) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}

// callOpts are the optional parts of an API call.
type callOpts struct {
	body    []byte
	ifMatch string
	reason  string
}

// call sends one request to the API as the signed-in user.
func (d *Dashboard) call(r *http.Request, s *session, method, target string, o callOpts) *apiResponse {
	req, err := http.NewRequestWithContext(r.Context(), method, target, bytes.NewReader(o.body))
	if err != nil {
		return &apiResponse{Status: http.StatusInternalServerError, Body: []byte(err.Error())}
	}
	req.RemoteAddr = r.RemoteAddr
	req.Host = r.Host
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "ramp-dashboard")
	if s != nil {
		req.Header.Set("Authorization", "Bearer "+s.token)
	}
	if o.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if o.ifMatch != "" {
		req.Header.Set("If-Match", o.ifMatch)
	}
	if o.reason != "" {
		req.Header.Set("X-Ramp-Reason", o.reason)
	}
	rec := &recorder{header: http.Header{}}
	d.api.ServeHTTP(rec, req)
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	return &apiResponse{Status: rec.status, Header: rec.header, Body: rec.body.Bytes()}
}

// get reads a JSON resource into v; a non-2xx answer is returned as *apiProblem.
func (d *Dashboard) get(r *http.Request, s *session, target string, v any) error {
	resp := d.call(r, s, http.MethodGet, target, callOpts{})
	if !resp.ok() {
		return resp.problem()
	}
	if v == nil {
		return nil
	}
	if err := json.Unmarshal(resp.Body, v); err != nil {
		return fmt.Errorf("decode %s: %w", target, err)
	}
	return nil
}

// send writes a JSON body (or none) and decodes the answer into v when given.
func (d *Dashboard) send(r *http.Request, s *session, method, target string, o callOpts, v any) (*apiResponse, error) {
	resp := d.call(r, s, method, target, o)
	if !resp.ok() {
		return resp, resp.problem()
	}
	if v != nil && len(resp.Body) > 0 {
		if err := json.Unmarshal(resp.Body, v); err != nil {
			return resp, fmt.Errorf("decode the answer of %s %s: %w", method, target, err)
		}
	}
	return resp, nil
}

// esc escapes one path segment of an API URL.
func esc(s string) string { return url.PathEscape(s) }

// list is a page of the API's results.
type list[T any] struct {
	Items []T    `json:"items"`
	Next  string `json:"next"`
}
