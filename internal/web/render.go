package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"math"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// page is what every full page template receives.
type page struct {
	Title string
	S     *session
	// Env is the environment the page is about ("" for none); Envs feed the switcher.
	Env  string
	Envs []environment
	// Nav names the active navigation entry.
	Nav   string
	Flash string
	Data  any
}

// pageNames are the templates in templates/, each rendered inside layout.html.
var pageNames = []string{"login", "error", "environments", "flags", "flag", "editor", "segments", "audit", "rollouts", "rollout", "start", "report", "portfolio"}

func (d *Dashboard) parseTemplates() map[string]*template.Template {
	funcs := template.FuncMap{
		"asset":       d.assetURL,
		"version":     func() string { return d.cfg.Version },
		"sessionTTL":  func() string { return short(d.cfg.SessionTTL) },
		"pollEvery":   func() string { return fmt.Sprintf("every %ds", max(1, int(d.cfg.Poll/time.Second))) },
		"pollSeconds": func() int { return max(1, int(d.cfg.Poll/time.Second)) },
		"prettyJSON": func(raw json.RawMessage) template.HTML {
			return highlightJSON(raw)
		},
		"ago":        ago,
		"when":       when,
		"pct":        pct,
		"splitBar":   splitBar,
		"plural":     plural,
		"join":       strings.Join,
		"statusTone": statusTone,
		"humanize":   humanize,
		"sortedKeys": sortedKeys[json.RawMessage],
		"condition":  describeCondition,
		"rawText":    rawText,
		"holdLabel":  holdLabel,
		"actionArgs": func(p *page, action, label, class string) actionButton {
			d := p.Data.(*rolloutData)
			return actionButton{ID: d.R.ID, Action: action, Label: label, Class: class, CSRF: p.S.CSRF()}
		},
		"stageLabel": func(r rolloutView, i int) string {
			if st := r.stage(i); st != nil {
				return st.Name
			}
			return strconv.Itoa(i)
		},
		"rowPage": func(p *page, data any) *page {
			return &page{S: p.S, Env: p.Env, Data: data}
		},
	}
	out := map[string]*template.Template{}
	for _, name := range pageNames {
		t := template.New(name).Funcs(funcs)
		t = template.Must(t.ParseFS(templateFS, "templates/layout.html", "templates/parts.html", "templates/"+name+".html"))
		out[name] = t
	}
	return out
}

// render writes a full page: the named template inside layout.html.
func (d *Dashboard) render(w http.ResponseWriter, r *http.Request, status int, name string, p *page) {
	d.renderTemplate(w, status, name, "layout", p)
}

// renderFragment writes one named template of a page (a table body, a panel).
func (d *Dashboard) renderFragment(w http.ResponseWriter, status int, name, fragment string, data any) {
	d.renderTemplate(w, status, name, fragment, data)
}

func (d *Dashboard) renderTemplate(w http.ResponseWriter, status int, name, tmpl string, data any) {
	t, ok := d.pages[name]
	if !ok {
		panic("web: no page template " + name)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, tmpl, data); err != nil {
		d.cfg.Log.Error("render page", "page", name, "template", tmpl, "err", err)
		http.Error(w, "the page could not be rendered; the server log has the details", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// renderError shows a problem: a page for a normal request, a notice in the toast
// area for an htmx request (so the element that asked is left as it was).
func (d *Dashboard) renderError(w http.ResponseWriter, r *http.Request, s *session, status int, msg string) {
	if r.Header.Get("HX-Request") != "" {
		w.Header().Set("HX-Retarget", "#toast")
		w.Header().Set("HX-Reswap", "innerHTML")
		d.renderFragment(w, status, "error", "toast", msg)
		return
	}
	p := &page{Title: http.StatusText(status), S: s, Data: errorData{Status: status, Message: msg}}
	d.render(w, r, status, "error", p)
}

// actionButton is one button of a rollout's actions bar.
type actionButton struct {
	ID, Action, Label, Class, CSRF string
}

type errorData struct {
	Status  int
	Message string
}

// apiError shows an API problem; a route that is not deployed gets its own wording.
func (d *Dashboard) apiError(w http.ResponseWriter, r *http.Request, s *session, err error) {
	var p *apiProblem
	if pp, ok := err.(*apiProblem); ok {
		p = pp
	}
	switch {
	case p == nil:
		d.cfg.Log.Error("dashboard", "path", r.URL.Path, "err", err)
		d.renderError(w, r, s, http.StatusInternalServerError, "Something went wrong; the server log has the details.")
	case p.notDeployed():
		d.renderError(w, r, s, http.StatusNotFound, "This server does not offer that API yet.")
	case p.Status == http.StatusPreconditionFailed:
		d.renderError(w, r, s, p.Status, "Someone else changed this in the meantime. Reload the page to see their change, then try again.")
	default:
		msg := p.Error()
		for _, fe := range p.Errors {
			msg += " — " + fe.Path + ": " + fe.Message
		}
		d.renderError(w, r, s, p.Status, msg)
	}
}

// newPage fills the parts every page shares.
func (d *Dashboard) newPage(r *http.Request, s *session, title, nav, env string, data any) *page {
	envs, _ := d.environments(r, s)
	return &page{Title: title, S: s, Env: env, Envs: envs, Nav: nav, Flash: flash(r.URL.Query().Get("done")), Data: data}
}

// flash turns a fixed code from a redirect into a message (never text from the URL).
func flash(code string) string {
	switch code {
	case "created":
		return "Flag created."
	case "saved":
		return "Changes saved."
	case "segment-saved":
		return "Segment saved."
	case "started":
		return "Rollout started."
	}
	return ""
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

// --- template helpers

// highlightJSON pretty-prints a JSON value with spans for keys, strings, numbers and
// literals, keeping the document's key order.
func highlightJSON(raw json.RawMessage) template.HTML {
	if len(bytes.TrimSpace(raw)) == 0 {
		return ""
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var b strings.Builder
	if err := writeJSON(&b, dec, 0); err != nil {
		return template.HTML(template.HTMLEscapeString(string(raw)))
	}
	return template.HTML(b.String())
}

func writeJSON(b *strings.Builder, dec *json.Decoder, depth int) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	indent := func(n int) { b.WriteString("\n" + strings.Repeat("  ", n)) }
	switch t := tok.(type) {
	case json.Delim:
		closing, open := "}", t == '{'
		if t == '[' {
			closing = "]"
		}
		b.WriteString(string(t))
		n := 0
		for dec.More() {
			if n > 0 {
				b.WriteString(",")
			}
			indent(depth + 1)
			if open {
				k, err := dec.Token()
				if err != nil {
					return err
				}
				key, _ := json.Marshal(k)
				b.WriteString(`<span class="j-key">` + template.HTMLEscapeString(string(key)) + `</span>: `)
			}
			if err := writeJSON(b, dec, depth+1); err != nil {
				return err
			}
			n++
		}
		if _, err := dec.Token(); err != nil {
			return err
		}
		if n > 0 {
			indent(depth)
		}
		b.WriteString(closing)
	case string:
		s, _ := json.Marshal(t)
		b.WriteString(`<span class="j-str">` + template.HTMLEscapeString(string(s)) + `</span>`)
	case json.Number:
		b.WriteString(`<span class="j-num">` + template.HTMLEscapeString(t.String()) + `</span>`)
	case bool:
		b.WriteString(`<span class="j-lit">` + strconv.FormatBool(t) + `</span>`)
	case nil:
		b.WriteString(`<span class="j-lit">null</span>`)
	}
	return nil
}

// rawText shows a JSON scalar as text: a string without its quotes.
func rawText(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	return string(raw)
}

// jsonValue writes a scalar or short value compactly for prose ("DE", 3, true).
func jsonValue(v any) string {
	switch x := v.(type) {
	case string:
		return strconv.Quote(x)
	case nil:
		return "null"
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// ago says how long ago t was, briefly.
func ago(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	d := time.Since(t)
	switch {
	case d < 0:
		return "in " + short(-d)
	case d < 5*time.Second:
		return "just now"
	}
	return short(d) + " ago"
}

func short(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh %dm", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}

// when formats a time for tables: UTC, to the second.
func when(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04:05") + " UTC"
}

// pct formats a percentage with at most two decimals.
func pct(p float64) string {
	if p == math.Trunc(p) {
		return strconv.FormatFloat(p, 'f', 0, 64) + "%"
	}
	return strings.TrimRight(strings.TrimRight(strconv.FormatFloat(p, 'f', 2, 64), "0"), ".") + "%"
}

// bucketsPercent turns a count of the 100 000 buckets into a percentage.
func bucketsPercent(n uint32) string { return pct(float64(n) / 1000) }

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

// humanize turns a snake_case or dotted name into words ("flag.state.update" →
// "flag state update").
func humanize(s string) string {
	return strings.NewReplacer("_", " ", ".", " ").Replace(s)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// statusTone maps a rollout status or verdict to a colour class.
func statusTone(status string) string {
	switch status {
	case "running", "clear", "healthy", "completed", "ok", "pass", "advance", "start", "resume", "complete":
		return "good"
	case "holding", "waiting", "scheduled", "not_enough_evidence", "hold", "pending":
		return "wait"
	case "paused", "pause", "stale", "warning":
		return "warn"
	case "rolled_back", "rollback", "crossed", "failed", "fail":
		return "bad"
	}
	return "neutral"
}
