package web

import (
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/ramp-release/ramp/flags"
)

// flagsKey matches the keys of flags, segments and environments.
var flagsKey = regexp.MustCompile(`^[a-z0-9._-]{1,128}$`)

// environment is an environment as the API lists it.
type environment struct {
	Key         string    `json:"key"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	CreatedAt   time.Time `json:"created_at"`
}

// flagView is a flag as one environment serves it (GET
// /api/v1/environments/{env}/flags/{key}). Variant values and metadata stay raw so
// that AI configuration payloads are shown exactly as written, keys in order.
type flagView struct {
	Key               string                     `json:"key"`
	Type              string                     `json:"type"`
	Description       string                     `json:"description"`
	Variants          map[string]json.RawMessage `json:"variants"`
	OffVariant        string                     `json:"off_variant"`
	Enabled           bool                       `json:"enabled"`
	Rules             []flags.Rule               `json:"rules"`
	Default           *flags.Allocation          `json:"default"`
	Salt              string                     `json:"salt"`
	BucketBy          string                     `json:"bucket_by"`
	Version           int64                      `json:"version"`
	Metadata          map[string]json.RawMessage `json:"metadata"`
	ClientSide        bool                       `json:"client_side"`
	Tags              []string                   `json:"tags"`
	Environment       string                     `json:"environment"`
	DefinitionVersion int64                      `json:"definition_version"`
}

// Rollout describes the rollout whose managed block the flag's rules contain, read
// from the metadata the rollout engine puts on every rendered rule.
func (f flagView) Rollout() *rolloutMark { return markOf(f.Rules) }

// UserRules are the rules above the rollout's managed block.
func (f flagView) UserRules() []flags.Rule {
	var out []flags.Rule
	for _, r := range f.Rules {
		if r.Metadata["rollout_id"] == "" {
			out = append(out, r)
		}
	}
	return out
}

// ManagedRules are the rules of the rollout's managed block.
func (f flagView) ManagedRules() []flags.Rule {
	var out []flags.Rule
	for _, r := range f.Rules {
		if r.Metadata["rollout_id"] != "" {
			out = append(out, r)
		}
	}
	return out
}

// Segments lists the segments the flag's rules test, in order of first use.
func (f flagView) Segments() []string {
	var out []string
	seen := map[string]bool{}
	for _, r := range f.Rules {
		for _, c := range r.Conditions {
			if c.Segment != "" && !seen[c.Segment] {
				seen[c.Segment] = true
				out = append(out, c.Segment)
			}
		}
	}
	return out
}

// VariantNames lists the variants, sorted.
func (f flagView) VariantNames() []string { return sortedKeys(f.Variants) }

// matches reports whether the flag fits a search: its key, description, type or
// a tag contains q (case-insensitively).
func (f flagView) matches(q string) bool {
	if q == "" {
		return true
	}
	q = strings.ToLower(q)
	if strings.Contains(f.Key, q) || strings.Contains(strings.ToLower(f.Description), q) || strings.Contains(f.Type, q) {
		return true
	}
	for _, t := range f.Tags {
		if strings.Contains(strings.ToLower(t), q) {
			return true
		}
	}
	return false
}

// rolloutMark is what the rules tell about a running rollout.
type rolloutMark struct {
	ID    string
	Stage string
	// Percent is the share of the eligible population treated by the ring; -1 when
	// the stage has no ring (a segment stage).
	Percent    float64
	RolledBack bool
	Completed  bool
}

// Status is the rollout's state as far as the rules show it.
func (m *rolloutMark) Status() string {
	switch {
	case m.RolledBack:
		return "rolled_back"
	case m.Completed:
		return "completed"
	}
	return "running"
}

func markOf(rules []flags.Rule) *rolloutMark {
	var m *rolloutMark
	var ringTo uint32
	holdout := uint32(0)
	ring := false
	for _, r := range rules {
		id := r.Metadata["rollout_id"]
		if id == "" {
			continue
		}
		if m == nil {
			m = &rolloutMark{ID: id, Stage: r.Metadata["stage"], Percent: -1}
		}
		switch r.Metadata["arm"] {
		case "rolled_back":
			m.RolledBack = true
		case "holdout":
			for _, c := range r.Conditions {
				if c.Bucket != nil {
					holdout = flags.TotalBuckets - c.Bucket.From
				}
			}
		case "treatment":
			if r.Metadata["audience"] == "ring" {
				for _, c := range r.Conditions {
					if c.Bucket != nil {
						ring, ringTo = true, c.Bucket.To
					}
				}
			}
		}
		if r.Metadata["stage"] == "completed" {
			m.Completed = true
		}
	}
	if m == nil {
		return nil
	}
	switch {
	case m.Completed:
		m.Percent = 100
	case m.RolledBack:
		m.Percent = 0
	case ring && holdout < flags.TotalBuckets:
		m.Percent = float64(ringTo) * 100 / float64(flags.TotalBuckets-holdout)
	}
	return m
}

func (d *Dashboard) environments(r *http.Request, s *session) ([]environment, error) {
	var l list[environment]
	if err := d.get(r, s, "/api/v1/environments", &l); err != nil {
		return nil, err
	}
	return l.Items, nil
}

// listFlags reads every flag of env, following the API's pages.
func (d *Dashboard) listFlags(r *http.Request, s *session, env string) ([]flagView, error) {
	var all []flagView
	after := ""
	for {
		var l list[flagView]
		target := "/api/v1/environments/" + esc(env) + "/flags?limit=1000"
		if after != "" {
			target += "&after=" + url.QueryEscape(after)
		}
		if err := d.get(r, s, target, &l); err != nil {
			return nil, err
		}
		all = append(all, l.Items...)
		if l.Next == "" || len(l.Items) == 0 {
			return all, nil
		}
		after = l.Next
	}
}

// --- environments

type environmentsData struct {
	Rows []environmentRow
}

type environmentRow struct {
	environment
	Flags, Enabled, Rollouts int
	Error                    string
}

func (d *Dashboard) environmentsPage(w http.ResponseWriter, r *http.Request, s *session) {
	if env := r.URL.Query().Get("env"); env != "" && flagsKey.MatchString(env) {
		// The environment switcher without JavaScript.
		http.Redirect(w, r, "/env/"+env+"/flags", http.StatusSeeOther)
		return
	}
	envs, err := d.environments(r, s)
	if err != nil {
		d.apiError(w, r, s, err)
		return
	}
	var data environmentsData
	for _, e := range envs {
		row := environmentRow{environment: e}
		fl, err := d.listFlags(r, s, e.Key)
		if err != nil {
			row.Error = err.Error()
		}
		row.Flags = len(fl)
		for i := range fl {
			if fl[i].Enabled {
				row.Enabled++
			}
			if m := fl[i].Rollout(); m != nil && m.Status() == "running" {
				row.Rollouts++
			}
		}
		data.Rows = append(data.Rows, row)
	}
	p := d.newPage(r, s, "Environments", "environments", "", data)
	p.Envs = envs
	d.render(w, r, http.StatusOK, "environments", p)
}

// --- the flag list

type flagsData struct {
	Query string
	Rows  []flagRow
	Total int
}

// flagRow is one line of the flag list; Rollout comes from the rollout API when it
// is deployed, else from the rules.
type flagRow struct {
	flagView
	Mark *rolloutMark
	Live *rolloutSummary
}

// View is the row's flag, for templates (which cannot name an embedded unexported field).
func (r flagRow) View() flagView { return r.flagView }

func (d *Dashboard) flagsPage(w http.ResponseWriter, r *http.Request, s *session) {
	env := r.PathValue("env")
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	fl, err := d.listFlags(r, s, env)
	if err != nil {
		d.apiError(w, r, s, err)
		return
	}
	live := d.rolloutsByFlag(r, s, env)
	data := flagsData{Query: q, Total: len(fl)}
	for _, f := range fl {
		if f.matches(q) {
			data.Rows = append(data.Rows, flagRow{flagView: f, Mark: f.Rollout(), Live: live[f.Key]})
		}
	}
	if r.Header.Get("HX-Request") != "" && r.Header.Get("HX-Target") == "flag-rows" {
		d.renderFragment(w, http.StatusOK, "flags", "flag-rows", &page{S: s, Env: env, Data: data})
		return
	}
	d.rememberEnv(w, r, env)
	d.render(w, r, http.StatusOK, "flags", d.newPage(r, s, "Flags", "flags", env, data))
}

// toggleFlag turns a flag on or off through the API.
func (d *Dashboard) toggleFlag(w http.ResponseWriter, r *http.Request, s *session) {
	env, key := r.PathValue("env"), r.PathValue("key")
	op, word := "disable", "off"
	if r.PostFormValue("enabled") == "true" {
		op, word = "enable", "on"
	}
	var f flagView
	_, err := d.send(r, s, http.MethodPost, "/api/v1/environments/"+esc(env)+"/flags/"+esc(key)+"/"+op,
		callOpts{reason: "turned " + word + " in the dashboard"}, &f)
	if err != nil {
		d.apiError(w, r, s, err)
		return
	}
	if r.Header.Get("HX-Request") != "" {
		d.renderFragment(w, http.StatusOK, "flags", "toggle", &page{S: s, Env: env, Data: f})
		return
	}
	back := r.PostFormValue("back")
	if !localPath(back) {
		back = "/env/" + env + "/flags/" + key
	}
	http.Redirect(w, r, back, http.StatusSeeOther)
}

// --- one flag

type flagData struct {
	Flag        flagView
	Definition  definitionView
	EnvStates   []envState
	Segments    []segmentView
	Live        *rolloutSummary
	RolloutsAPI bool
}

// definitionView is a flag's shared definition with its state in every environment
// (GET /api/v1/flags/{key}).
type definitionView struct {
	Version      int64                      `json:"version"`
	UpdatedAt    time.Time                  `json:"updated_at"`
	CreatedAt    time.Time                  `json:"created_at"`
	Environments map[string]stateView       `json:"environments"`
	Variants     map[string]json.RawMessage `json:"variants"`
}

// stateView is a flag's state in one environment.
type stateView struct {
	Enabled    bool              `json:"enabled"`
	OffVariant string            `json:"off_variant,omitempty"`
	Rules      []flags.Rule      `json:"rules,omitempty"`
	Default    *flags.Allocation `json:"default,omitempty"`
	Version    int64             `json:"version"`
	UpdatedAt  time.Time         `json:"updated_at"`
}

type envState struct {
	Env   string
	State stateView
	Mark  *rolloutMark
}

func (d *Dashboard) flagPage(w http.ResponseWriter, r *http.Request, s *session) {
	env, key := r.PathValue("env"), r.PathValue("key")
	var data flagData
	if err := d.get(r, s, "/api/v1/environments/"+esc(env)+"/flags/"+esc(key), &data.Flag); err != nil {
		d.apiError(w, r, s, err)
		return
	}
	if err := d.get(r, s, "/api/v1/flags/"+esc(key), &data.Definition); err != nil {
		d.apiError(w, r, s, err)
		return
	}
	for _, e := range sortedKeys(data.Definition.Environments) {
		st := data.Definition.Environments[e]
		data.EnvStates = append(data.EnvStates, envState{Env: e, State: st, Mark: markOf(st.Rules)})
	}
	for _, seg := range data.Flag.Segments() {
		var sv segmentView
		if err := d.get(r, s, "/api/v1/environments/"+esc(env)+"/segments/"+esc(seg), &sv); err != nil {
			sv = segmentView{Key: seg, Missing: true}
		}
		data.Segments = append(data.Segments, sv)
	}
	byFlag := d.rolloutsByFlag(r, s, env)
	data.Live = byFlag[key]
	data.RolloutsAPI = byFlag != nil
	d.rememberEnv(w, r, env)
	d.render(w, r, http.StatusOK, "flag", d.newPage(r, s, key, "flags", env, data))
}

// --- editors

// editorData drives the shared document editor.
type editorData struct {
	Heading string
	Intro   string
	Action  string
	Cancel  string
	Submit  string
	// Doc is the document in the textarea; Version its If-Match.
	Doc     string
	Version int64
	Reason  string
	// Errors are the API's field errors, with the line each points at; Problem is
	// a message for the whole document (a parse error, a conflict).
	Errors      []fieldError
	Problem     string
	ProblemLine int
	// Help lists what the document may refer to (variants, segments).
	Help []helpItem
}

type helpItem struct {
	Label string
	Items []string
}

// FirstLine is the line to select when the editor opens with problems.
func (e editorData) FirstLine() int {
	if e.ProblemLine > 0 {
		return e.ProblemLine
	}
	for _, fe := range e.Errors {
		if fe.Line > 0 {
			return fe.Line
		}
	}
	return 0
}

// gutterLine is one line number beside the editor, marked when a problem points at it.
type gutterLine struct {
	N   int
	Msg string
}

// Gutter numbers the document's lines and marks those the problems point at.
func (e editorData) Gutter() []gutterLine {
	n := strings.Count(e.Doc, "\n") + 1
	out := make([]gutterLine, max(n, e.Rows()))
	for i := range out {
		out[i].N = i + 1
	}
	mark := func(line int, msg string) {
		if line > 0 && line <= len(out) {
			if out[line-1].Msg != "" {
				msg = out[line-1].Msg + "; " + msg
			}
			out[line-1].Msg = msg
		}
	}
	mark(e.ProblemLine, e.Problem)
	for _, fe := range e.Errors {
		mark(fe.Line, fe.Path+": "+fe.Message)
	}
	return out
}

// Rows sizes the textarea to the document, within reason.
func (e editorData) Rows() int { return min(max(strings.Count(e.Doc, "\n")+3, 14), 40) }

// applyProblem puts an API problem into the editor: each field error with its line
// in the document (paths relative to prefix), or a message for the whole document.
func (e *editorData) applyProblem(err error, prefix string) {
	p, ok := err.(*apiProblem)
	if !ok {
		e.Problem = "The change could not be saved: " + err.Error()
		return
	}
	switch {
	case len(p.Errors) > 0:
		for _, fe := range p.Errors {
			fe.Path = trimPath(fe.Path, prefix)
			fe.Line = lineOf([]byte(e.Doc), fe.Path)
			e.Errors = append(e.Errors, fe)
		}
		e.Problem = plural(len(p.Errors), "problem", "problems") + " to fix before this can be saved:"
	case p.Status == http.StatusPreconditionFailed:
		e.Problem = "Someone else changed this since you opened it. Copy your edit, reload the page to see their version, and apply your change again."
	case p.Status == http.StatusBadRequest:
		e.Problem = p.Detail
		e.ProblemLine = lineInMessage(p.Detail)
	case p.Status == http.StatusForbidden:
		e.Problem = p.Detail
	case p.notDeployed():
		e.Problem = "This server does not offer that API."
	default:
		e.Problem = p.Error()
	}
}

// indent pretty-prints v for the textarea.
func indent(v any) string {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return ""
	}
	return string(b)
}

func (d *Dashboard) renderEditor(w http.ResponseWriter, r *http.Request, s *session, status int, env, title string, e editorData) {
	d.render(w, r, status, "editor", d.newPage(r, s, title, "flags", env, e))
}

const newFlagTemplate = `{
  "key": "summarizer-model",
  "type": "json",
  "description": "Model and prompt the summarizer uses",
  "variants": {
    "control": {"model": "gpt-small", "prompt_version": "v3", "temperature": 0.2},
    "candidate": {"model": "gpt-large", "prompt_version": "v4", "temperature": 0.1}
  },
  "off_variant": "control",
  "enabled": false,
  "default": {"variant": "control"},
  "tags": ["ai"]
}`

func (d *Dashboard) newFlagEditor(w http.ResponseWriter, r *http.Request, s *session) {
	env := r.PathValue("env")
	d.renderEditor(w, r, s, http.StatusOK, env, "New flag", d.newFlagData(env, newFlagTemplate))
}

func (d *Dashboard) newFlagData(env, doc string) editorData {
	return editorData{
		Heading: "New flag",
		Intro: "A flag document in JSON (see docs/flag-format.md). Its variants are shared by every environment; " +
			"its targeting (enabled, rules, default) becomes the initial state everywhere, and you can change it per environment afterwards.",
		Action: "/env/" + env + "/new-flag", Cancel: "/env/" + env + "/flags", Submit: "Create flag", Doc: doc,
		Help: []helpItem{
			{Label: "Types", Items: []string{"bool", "string", "int", "float", "json"}},
			{Label: "Allocation", Items: []string{`{"variant": "on"}`, `{"split": [{"variant": "on", "weight": 10000}, {"variant": "off", "weight": 90000}]}`}},
		},
	}
}

func (d *Dashboard) createFlag(w http.ResponseWriter, r *http.Request, s *session) {
	env := r.PathValue("env")
	e := d.newFlagData(env, r.PostFormValue("doc"))
	e.Reason = r.PostFormValue("reason")
	var created struct {
		Key string `json:"key"`
	}
	_, err := d.send(r, s, http.MethodPost, "/api/v1/flags", callOpts{body: []byte(e.Doc), reason: e.Reason}, &created)
	if err != nil {
		var probe struct {
			Key string `json:"key"`
		}
		_ = json.Unmarshal([]byte(e.Doc), &probe)
		e.applyProblem(err, fmt.Sprintf("flags[%q]", probe.Key))
		d.renderEditor(w, r, s, http.StatusUnprocessableEntity, env, "New flag", e)
		return
	}
	http.Redirect(w, r, "/env/"+env+"/flags/"+created.Key+"?done=created", http.StatusSeeOther)
}

// targetingDoc is the part of a flag that each environment sets: what the
// targeting editor shows.
type targetingDoc struct {
	Enabled    bool              `json:"enabled"`
	OffVariant string            `json:"off_variant,omitempty"`
	Rules      []flags.Rule      `json:"rules,omitempty"`
	Default    *flags.Allocation `json:"default,omitempty"`
}

func (d *Dashboard) targetingData(r *http.Request, s *session, env, key string, f *flagView) editorData {
	segs, _ := d.segmentKeys(r, s, env)
	return editorData{
		Heading: "Targeting of " + key + " in " + env,
		Intro: "Who gets which variant in " + env + ": rules are tried in order and the first that matches serves; " +
			"the default serves everyone else. A running rollout's rules (ids starting with rollout.) are managed by the rollout: leave them as they are.",
		Action: "/env/" + env + "/flags/" + key + "/targeting", Cancel: "/env/" + env + "/flags/" + key, Submit: "Save targeting",
		Version: f.Version,
		Help: []helpItem{
			{Label: "Variants", Items: f.VariantNames()},
			{Label: "Segments in " + env, Items: segs},
			{Label: "Operators", Items: []string{"equals", "not_equals", "in", "not_in", "contains", "starts_with", "ends_with", "matches",
				"lt", "lte", "gt", "gte", "semver_lt", "semver_eq", "semver_gt", "before", "after", "exists", "in_segment", "not_in_segment"}},
		},
	}
}

func (d *Dashboard) targetingEditor(w http.ResponseWriter, r *http.Request, s *session) {
	env, key := r.PathValue("env"), r.PathValue("key")
	var f flagView
	if err := d.get(r, s, "/api/v1/environments/"+esc(env)+"/flags/"+esc(key), &f); err != nil {
		d.apiError(w, r, s, err)
		return
	}
	e := d.targetingData(r, s, env, key, &f)
	e.Doc = indent(targetingDoc{Enabled: f.Enabled, OffVariant: f.OffVariant, Rules: f.Rules, Default: f.Default})
	d.renderEditor(w, r, s, http.StatusOK, env, "Targeting · "+key, e)
}

func (d *Dashboard) saveTargeting(w http.ResponseWriter, r *http.Request, s *session) {
	env, key := r.PathValue("env"), r.PathValue("key")
	var f flagView
	if err := d.get(r, s, "/api/v1/environments/"+esc(env)+"/flags/"+esc(key), &f); err != nil {
		d.apiError(w, r, s, err)
		return
	}
	e := d.targetingData(r, s, env, key, &f)
	e.Doc, e.Reason = r.PostFormValue("doc"), r.PostFormValue("reason")
	e.Version, _ = strconv.ParseInt(r.PostFormValue("version"), 10, 64)
	_, err := d.send(r, s, http.MethodPut, "/api/v1/environments/"+esc(env)+"/flags/"+esc(key),
		callOpts{body: []byte(e.Doc), ifMatch: strconv.FormatInt(e.Version, 10), reason: e.Reason}, nil)
	if err != nil {
		e.applyProblem(err, fmt.Sprintf("flags[%q]", key))
		d.renderEditor(w, r, s, http.StatusUnprocessableEntity, env, "Targeting · "+key, e)
		return
	}
	http.Redirect(w, r, "/env/"+env+"/flags/"+key+"?done=saved", http.StatusSeeOther)
}

// definitionDoc is the part of a flag shared by every environment.
type definitionDoc struct {
	Type        string                     `json:"type"`
	Description string                     `json:"description,omitempty"`
	Variants    map[string]json.RawMessage `json:"variants"`
	Salt        string                     `json:"salt,omitempty"`
	BucketBy    string                     `json:"bucket_by,omitempty"`
	Metadata    map[string]json.RawMessage `json:"metadata,omitempty"`
	ClientSide  bool                       `json:"client_side,omitempty"`
	Tags        []string                   `json:"tags,omitempty"`
}

func definitionData(env, key string) editorData {
	return editorData{
		Heading: "Definition of " + key,
		Intro: "Shared by every environment: the type, the variants and their values (an AI configuration: model, prompt, temperature), " +
			"bucketing and metadata. Changing the value of a variant that a running rollout serves needs the release-manager role and " +
			"starts a new evidence period for that rollout's stage.",
		Action: "/env/" + env + "/flags/" + key + "/definition", Cancel: "/env/" + env + "/flags/" + key, Submit: "Save definition",
		Help: []helpItem{{Label: "Types", Items: []string{"bool", "string", "int", "float", "json"}}},
	}
}

func (d *Dashboard) definitionEditor(w http.ResponseWriter, r *http.Request, s *session) {
	env, key := r.PathValue("env"), r.PathValue("key")
	var f flagView
	if err := d.get(r, s, "/api/v1/environments/"+esc(env)+"/flags/"+esc(key), &f); err != nil {
		d.apiError(w, r, s, err)
		return
	}
	e := definitionData(env, key)
	e.Version = f.DefinitionVersion
	e.Doc = indent(definitionDoc{Type: f.Type, Description: f.Description, Variants: f.Variants, Salt: f.Salt, BucketBy: f.BucketBy,
		Metadata: f.Metadata, ClientSide: f.ClientSide, Tags: f.Tags})
	d.renderEditor(w, r, s, http.StatusOK, env, "Definition · "+key, e)
}

func (d *Dashboard) saveDefinition(w http.ResponseWriter, r *http.Request, s *session) {
	env, key := r.PathValue("env"), r.PathValue("key")
	e := definitionData(env, key)
	e.Doc, e.Reason = r.PostFormValue("doc"), r.PostFormValue("reason")
	e.Version, _ = strconv.ParseInt(r.PostFormValue("version"), 10, 64)
	_, err := d.send(r, s, http.MethodPut, "/api/v1/flags/"+esc(key),
		callOpts{body: []byte(e.Doc), ifMatch: strconv.FormatInt(e.Version, 10), reason: e.Reason}, nil)
	if err != nil {
		e.applyProblem(err, fmt.Sprintf("flags[%q]", key))
		d.renderEditor(w, r, s, http.StatusUnprocessableEntity, env, "Definition · "+key, e)
		return
	}
	http.Redirect(w, r, "/env/"+env+"/flags/"+key+"?done=saved", http.StatusSeeOther)
}

// --- rendering rules for people

// describeCondition writes a condition as a phrase: country in DE, FR.
func describeCondition(c flags.Condition) template.HTML {
	h := template.HTMLEscapeString
	code := func(s string) string { return "<code>" + h(s) + "</code>" }
	if c.Bucket != nil {
		return template.HTML(fmt.Sprintf("bucket %s–%s <span class=\"muted\">(%s of units)</span>",
			h(strconv.FormatUint(uint64(c.Bucket.From), 10)), h(strconv.FormatUint(uint64(c.Bucket.To), 10)),
			h(bucketsPercent(c.Bucket.To-min(c.Bucket.From, c.Bucket.To)))))
	}
	attr := c.Attribute
	if attr == "" {
		attr = "key"
	}
	op := string(c.Op)
	switch c.Op {
	case flags.OpInSegment:
		return template.HTML("in segment " + code(c.Segment))
	case flags.OpNotInSegment:
		return template.HTML("not in segment " + code(c.Segment))
	case flags.OpExists:
		return template.HTML(code(attr) + " is set")
	case flags.OpIn, flags.OpNotIn:
		vals := make([]string, len(c.Values))
		for i, v := range c.Values {
			vals[i] = h(jsonValue(v))
		}
		word := "in"
		if c.Op == flags.OpNotIn {
			word = "not in"
		}
		return template.HTML(code(attr) + " " + word + ` <span class="val">` + strings.Join(vals, ", ") + "</span>")
	}
	words := map[string]string{"equals": "=", "not_equals": "≠", "lt": "<", "lte": "≤", "gt": ">", "gte": "≥",
		"starts_with": "starts with", "ends_with": "ends with", "contains": "contains", "matches": "matches",
		"semver_lt": "version <", "semver_eq": "version =", "semver_gt": "version >", "before": "before", "after": "after"}
	if w, ok := words[op]; ok {
		op = w
	}
	return template.HTML(code(attr) + " " + h(op) + ` <span class="val">` + h(jsonValue(c.Value)) + "</span>")
}

// splitSegment is one variant's share of an allocation.
type splitSegment struct {
	Variant string
	Percent string
	X, W    float64
	Tone    int
}

// splitBar describes an allocation as shares for a bar (SVG, so no inline styles
// are needed under the Content-Security-Policy).
func splitBar(v any) []splitSegment {
	var a *flags.Allocation
	switch x := v.(type) {
	case *flags.Allocation:
		a = x
	case flags.Allocation:
		a = &x
	}
	if a == nil {
		return nil
	}
	if a.Variant != "" {
		return []splitSegment{{Variant: a.Variant, Percent: "100%", X: 0, W: 100}}
	}
	var out []splitSegment
	x := 0.0
	for i, wv := range a.Split {
		w := float64(wv.Weight) / 1000
		out = append(out, splitSegment{Variant: wv.Variant, Percent: bucketsPercent(wv.Weight), X: x, W: w, Tone: i % 5})
		x += w
	}
	return out
}
