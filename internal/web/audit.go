package web

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// auditEntry is one audit record as the API lists it.
type auditEntry struct {
	Seq         int64           `json:"seq"`
	Time        time.Time       `json:"time"`
	Actor       string          `json:"actor"`
	Action      string          `json:"action"`
	Environment string          `json:"environment"`
	Target      string          `json:"target"`
	Before      json.RawMessage `json:"before"`
	After       json.RawMessage `json:"after"`
	Reason      string          `json:"reason"`
	Hash        string          `json:"hash"`
}

// HasDetails reports whether there is a before or after state to show.
func (e auditEntry) HasDetails() bool { return len(e.Before) > 0 || len(e.After) > 0 }

// ShortHash is the start of the entry's hash, to recognise it.
func (e auditEntry) ShortHash() string { return e.Hash[:min(len(e.Hash), 12)] }

type auditFilter struct {
	Environment, Target, Actor, Action, Before string
}

// query is the filter as API query parameters.
func (f auditFilter) query() url.Values {
	q := url.Values{}
	for k, v := range map[string]string{"environment": f.Environment, "target": f.Target, "actor": f.Actor, "action": f.Action, "before": f.Before} {
		if v != "" {
			q.Set(k, v)
		}
	}
	return q
}

// Older is the dashboard URL of the next page.
func (d auditData) Older() string {
	f := d.Filter
	f.Before = d.Next
	return "/audit?" + f.query().Encode()
}

// LiveURL is the URL the newest page polls.
func (d auditData) LiveURL() string { return "/audit?" + d.Filter.query().Encode() }

// Live says whether the list refreshes itself: only the newest page does.
func (d auditData) Live() bool { return d.Filter.Before == "" }

type auditData struct {
	Filter  auditFilter
	Entries []auditEntry
	Next    string
	Error   string
	Actions []string
	// Verify is the result of a chain verification asked for with ?verify=1.
	Verify *verifyResult
}

// knownActions feed the action filter's suggestions; any other text works too.
var knownActions = []string{"flag.create", "flag.definition.update", "flag.state.update", "flag.delete", "segment.put", "segment.delete",
	"environment.create", "api_token.create", "api_token.revoke", "sdk_key.create", "sdk_key.revoke",
	"rollout.start", "rollout.advance", "rollout.pause", "rollout.resume", "rollout.rollback", "rollout.approve", "rollout.complete"}

func (d *Dashboard) auditPage(w http.ResponseWriter, r *http.Request, s *session) {
	q := r.URL.Query()
	data := auditData{Actions: knownActions, Filter: auditFilter{
		Environment: strings.TrimSpace(q.Get("environment")), Target: strings.TrimSpace(q.Get("target")),
		Actor: strings.TrimSpace(q.Get("actor")), Action: strings.TrimSpace(q.Get("action")), Before: q.Get("before"),
	}}
	aq := data.Filter.query()
	aq.Set("limit", "50")
	var l list[auditEntry]
	if err := d.get(r, s, "/api/v1/audit?"+aq.Encode(), &l); err != nil {
		data.Error = err.Error()
	}
	data.Entries, data.Next = l.Items, l.Next
	if q.Get("verify") != "" {
		res := d.verify(r, s)
		data.Verify = &res
	}
	if r.Header.Get("HX-Request") != "" && r.Header.Get("HX-Target") == "audit-results" {
		d.renderFragment(w, http.StatusOK, "audit", "audit-results", &page{S: s, Data: data})
		return
	}
	d.render(w, r, http.StatusOK, "audit", d.newPage(r, s, "Audit log", "audit", data.Filter.Environment, data))
}

// verifyResult is the API's answer to a chain verification.
type verifyResult struct {
	OK       bool   `json:"ok"`
	Entries  int    `json:"entries"`
	BrokenAt int64  `json:"broken_at"`
	Problem  string `json:"problem"`
	Error    string `json:"-"`
	At       time.Time
}

func (d *Dashboard) verify(r *http.Request, s *session) verifyResult {
	var res verifyResult
	if err := d.get(r, s, "/api/v1/audit/verify", &res); err != nil {
		res.Error = err.Error()
	}
	res.At = time.Now()
	return res
}

// verifyAudit answers the Verify button: the result alone for htmx, else the page.
func (d *Dashboard) verifyAudit(w http.ResponseWriter, r *http.Request, s *session) {
	if r.Header.Get("HX-Request") == "" {
		http.Redirect(w, r, "/audit?verify=1", http.StatusSeeOther)
		return
	}
	d.renderFragment(w, http.StatusOK, "audit", "verify-result", d.verify(r, s))
}
