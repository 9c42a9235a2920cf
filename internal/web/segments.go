package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/ramp-release/ramp/flags"
)

// segmentView is a segment as the API returns it.
type segmentView struct {
	Environment string              `json:"environment"`
	Key         string              `json:"key"`
	Description string              `json:"description"`
	Included    []string            `json:"included"`
	Excluded    []string            `json:"excluded"`
	Rules       []flags.SegmentRule `json:"rules"`
	Version     int64               `json:"version"`
	UpdatedAt   time.Time           `json:"updated_at"`
	// Missing is set when a flag refers to a segment the API could not return.
	Missing bool `json:"-"`
}

// segmentDoc is what the segment editor shows.
type segmentDoc struct {
	Key         string              `json:"key,omitempty"`
	Description string              `json:"description,omitempty"`
	Included    []string            `json:"included,omitempty"`
	Excluded    []string            `json:"excluded,omitempty"`
	Rules       []flags.SegmentRule `json:"rules,omitempty"`
}

func (d *Dashboard) listSegments(r *http.Request, s *session, env string) ([]segmentView, error) {
	var l list[segmentView]
	if err := d.get(r, s, "/api/v1/environments/"+esc(env)+"/segments?limit=1000", &l); err != nil {
		return nil, err
	}
	return l.Items, nil
}

func (d *Dashboard) segmentKeys(r *http.Request, s *session, env string) ([]string, error) {
	segs, err := d.listSegments(r, s, env)
	keys := make([]string, len(segs))
	for i, sg := range segs {
		keys[i] = sg.Key
	}
	return keys, err
}

type segmentsData struct {
	Segments []segmentView
}

func (d *Dashboard) segmentsPage(w http.ResponseWriter, r *http.Request, s *session) {
	env := r.PathValue("env")
	segs, err := d.listSegments(r, s, env)
	if err != nil {
		d.apiError(w, r, s, err)
		return
	}
	d.rememberEnv(w, r, env)
	d.render(w, r, http.StatusOK, "segments", d.newPage(r, s, "Segments", "segments", env, segmentsData{Segments: segs}))
}

const newSegmentTemplate = `{
  "key": "beta-testers",
  "description": "Users who opted into betas",
  "included": ["user-42"],
  "rules": [
    {"conditions": [{"attribute": "beta_opt_in", "op": "equals", "value": true}]}
  ]
}`

func segmentEditorData(env, key string) editorData {
	e := editorData{
		Intro: "A segment is a reusable audience in " + env + ": listed unit keys are in (included) or out (excluded); " +
			"anyone else is in when any rule matches (all conditions of a rule must hold).",
		Cancel: "/env/" + env + "/segments", Submit: "Save segment",
		Help: []helpItem{{Label: "Operators", Items: []string{"equals", "in", "ends_with", "semver_gt", "in_segment", "exists"}}},
	}
	if key == "" {
		e.Heading, e.Action, e.Submit = "New segment in "+env, "/env/"+env+"/new-segment", "Create segment"
	} else {
		e.Heading, e.Action = "Segment "+key+" in "+env, "/env/"+env+"/segments/"+key
	}
	return e
}

func (d *Dashboard) newSegmentEditor(w http.ResponseWriter, r *http.Request, s *session) {
	env := r.PathValue("env")
	e := segmentEditorData(env, "")
	e.Doc = newSegmentTemplate
	d.render(w, r, http.StatusOK, "editor", d.newPage(r, s, "New segment", "segments", env, e))
}

func (d *Dashboard) createSegment(w http.ResponseWriter, r *http.Request, s *session) {
	env := r.PathValue("env")
	e := segmentEditorData(env, "")
	e.Doc, e.Reason = r.PostFormValue("doc"), r.PostFormValue("reason")
	var created segmentView
	if _, err := d.send(r, s, http.MethodPost, "/api/v1/environments/"+esc(env)+"/segments",
		callOpts{body: []byte(e.Doc), reason: e.Reason}, &created); err != nil {
		var probe struct {
			Key string `json:"key"`
		}
		_ = json.Unmarshal([]byte(e.Doc), &probe)
		e.applyProblem(err, fmt.Sprintf("segments[%q]", probe.Key))
		d.render(w, r, http.StatusUnprocessableEntity, "editor", d.newPage(r, s, "New segment", "segments", env, e))
		return
	}
	http.Redirect(w, r, "/env/"+env+"/segments?done=segment-saved", http.StatusSeeOther)
}

func (d *Dashboard) segmentEditor(w http.ResponseWriter, r *http.Request, s *session) {
	env, key := r.PathValue("env"), r.PathValue("key")
	var sv segmentView
	if err := d.get(r, s, "/api/v1/environments/"+esc(env)+"/segments/"+esc(key), &sv); err != nil {
		d.apiError(w, r, s, err)
		return
	}
	e := segmentEditorData(env, key)
	e.Version = sv.Version
	e.Doc = indent(segmentDoc{Description: sv.Description, Included: sv.Included, Excluded: sv.Excluded, Rules: sv.Rules})
	d.render(w, r, http.StatusOK, "editor", d.newPage(r, s, "Segment · "+key, "segments", env, e))
}

func (d *Dashboard) saveSegment(w http.ResponseWriter, r *http.Request, s *session) {
	env, key := r.PathValue("env"), r.PathValue("key")
	e := segmentEditorData(env, key)
	e.Doc, e.Reason = r.PostFormValue("doc"), r.PostFormValue("reason")
	e.Version, _ = strconv.ParseInt(r.PostFormValue("version"), 10, 64)
	if _, err := d.send(r, s, http.MethodPut, "/api/v1/environments/"+esc(env)+"/segments/"+esc(key),
		callOpts{body: []byte(e.Doc), ifMatch: strconv.FormatInt(e.Version, 10), reason: e.Reason}, nil); err != nil {
		e.applyProblem(err, fmt.Sprintf("segments[%q]", key))
		d.render(w, r, http.StatusUnprocessableEntity, "editor", d.newPage(r, s, "Segment · "+key, "segments", env, e))
		return
	}
	http.Redirect(w, r, "/env/"+env+"/segments?done=segment-saved", http.StatusSeeOther)
}
