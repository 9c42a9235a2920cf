package server

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ramp-release/ramp/flags"
	"github.com/ramp-release/ramp/internal/controller"
	"github.com/ramp-release/ramp/internal/notify"
	"github.com/ramp-release/ramp/internal/rollout"
	"github.com/ramp-release/ramp/internal/store"
)

// RolloutController is what the rollout routes need from the controller: every
// change of a rollout's state goes through it, so that it is persisted, streamed and
// announced in that order, whoever asks.
type RolloutController interface {
	Start(ctx context.Context, id string, by controller.Actor, reason string) (store.Rollout, error)
	Schedule(ctx context.Context, id string, at time.Time, by controller.Actor, reason string) (store.Rollout, error)
	Advance(ctx context.Context, id string, by controller.Actor, reason string) (store.Rollout, error)
	Pause(ctx context.Context, id string, by controller.Actor, reason string) (store.Rollout, error)
	Resume(ctx context.Context, id string, by controller.Actor, reason string, restartEvidence bool) (store.Rollout, error)
	Rollback(ctx context.Context, id string, by controller.Actor, reason string) (store.Rollout, error)
	Approve(ctx context.Context, id string, stage int, by controller.Actor, reason string) (store.Rollout, rollout.Approval, error)
	// Preview is what the controller would decide now, without applying it.
	Preview(ctx context.Context, id string) (rollout.Decision, error)
	// VariantsChanged starts a new evidence period for the rollouts of flag whose
	// treatment or control value changed, and returns them.
	VariantsChanged(ctx context.Context, flag string, by controller.Actor, reason string) ([]store.Rollout, error)
}

// ChannelRouter is told when notification channels change, to route events anew.
type ChannelRouter interface {
	Reload(ctx context.Context) error
}

// rolloutRoutes are the release plan and rollout operations.
func (s *Server) rolloutRoutes() []route {
	viewer, editor, rm, admin := string(store.RoleViewer), string(store.RoleEditor), string(store.RoleReleaseManager), string(store.RoleAdmin)
	return []route{
		{"GET", "/api/v1/plans", viewer, "List saved release plans.", s.listPlans, "", "plans"},
		{"POST", "/api/v1/plans", editor, "Save a release plan (from scratch, or from a template with overrides: name a template and give no stages).", s.createPlan, "Plan", "plans"},
		{"GET", "/api/v1/plans/{name}", viewer, "Get a saved plan with each stage's recommended minimum sample.", s.getPlan, "", "plans"},
		{"PUT", "/api/v1/plans/{name}", editor, "Replace a saved plan (If-Match: its version). Rollouts under way keep their snapshot.", s.putPlan, "Plan", "plans"},
		{"DELETE", "/api/v1/plans/{name}", editor, "Delete a saved plan.", s.deletePlan, "", "plans"},
		{"GET", "/api/v1/templates", viewer, "List templates: the built-in ones and the saved plans.", s.listTemplates, "", "plans"},
		{"GET", "/api/v1/templates/{name}", viewer, "Get a template.", s.getTemplate, "", "plans"},

		{"GET", "/api/v1/rollouts", viewer, "List rollouts, newest first (filters: environment, flag, status, active=true, limit).", s.listRollouts, "", "rollouts"},
		{"POST", "/api/v1/rollouts", editor, "Create a rollout of a flag in an environment from a saved plan or a template, with overrides.", s.createRollout, "CreateRollout", "rollouts"},
		{"GET", "/api/v1/rollouts/{id}", viewer, "Get a rollout: its state, what its next step waits for, its approvals and decision log.", s.getRollout, "", "rollouts"},
		{"GET", "/api/v1/rollouts/{id}/decisions", viewer, "A rollout's decision log, oldest first (after, limit).", s.listDecisions, "", "rollouts"},
		{"POST", "/api/v1/rollouts/{id}/start", rm, "Start a rollout now.", s.rolloutOp(false, s.startRollout), "RolloutAction", "rollouts"},
		{"POST", "/api/v1/rollouts/{id}/schedule", rm, "Schedule a rollout to start at a time (at).", s.rolloutOp(false, s.scheduleRollout), "RolloutAction", "rollouts"},
		{"POST", "/api/v1/rollouts/{id}/advance", rm, "Advance to the next stage now, overriding evidence and minimums (never a blackout or a required approval).", s.rolloutOp(false, s.advanceRollout), "RolloutAction", "rollouts"},
		{"POST", "/api/v1/rollouts/{id}/pause", rm, "Pause a running rollout; it keeps serving its stage.", s.rolloutOp(false, s.pauseRollout), "RolloutAction", "rollouts"},
		{"POST", "/api/v1/rollouts/{id}/resume", rm, "Resume a paused rollout (restart_evidence: start a new evidence period).", s.rolloutOp(false, s.resumeRollout), "RolloutAction", "rollouts"},
		{"POST", "/api/v1/rollouts/{id}/rollback", rm, "Roll back: control for everyone, committed and streamed before this returns. A reason is required.", s.rolloutOp(true, s.rollbackRollout), "RolloutAction", "rollouts"},
		{"POST", "/api/v1/rollouts/{id}/approve", rm, "Approve entering the next stage (four eyes: not the requester).", s.approveRollout, "RolloutAction", "rollouts"},

		{"GET", "/api/v1/environments/{env}/notification-channels", admin, "List an environment's notification channels (secrets redacted).", s.listChannels, "", "notifications"},
		{"POST", "/api/v1/environments/{env}/notification-channels", admin, "Create a notification channel with its route (kinds).", s.createChannel, "NotificationChannel", "notifications"},
		{"GET", "/api/v1/environments/{env}/notification-channels/{name}", admin, "Get a notification channel (secrets redacted).", s.getChannel, "", "notifications"},
		{"PUT", "/api/v1/environments/{env}/notification-channels/{name}", admin, "Replace a channel (If-Match: its version); REDACTED keeps a stored secret.", s.putChannel, "NotificationChannel", "notifications"},
		{"DELETE", "/api/v1/environments/{env}/notification-channels/{name}", admin, "Delete a notification channel.", s.deleteChannel, "", "notifications"},
		{"GET", "/api/v1/notification-deliveries", viewer, "Notification deliveries and failures, newest first (filters: environment, rollout, limit).", s.listDeliveries, "", "notifications"},
	}
}

// --- plans and templates

// planView is a saved plan with each stage's recommended minimum sample
// (CLARIFICATIONS §41).
type planView struct {
	store.SavedPlan
	Sizing []rollout.Sizing `json:"sizing,omitempty"`
}

func sizing(p rollout.Plan) []rollout.Sizing {
	if len(p.Stages) == 0 {
		return nil
	}
	return p.SizeStages(func(int) float64 { return 0 })
}

func (s *Server) listPlans(w http.ResponseWriter, r *http.Request) error {
	p, err := page(r)
	if err != nil {
		return err
	}
	plans, err := s.store.ListPlans(r.Context(), p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, pageOf(plans, p, func(p store.SavedPlan) string { return p.Name }))
	return nil
}

// template returns a built-in template, or a saved plan used as one.
func (s *Server) template(ctx context.Context, name string) (rollout.Plan, string, error) {
	if p, ok := rollout.Template(name); ok {
		return p, "built-in", nil
	}
	saved, err := s.store.GetPlan(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		return rollout.Plan{}, "", fmt.Errorf("template %q %w; the built-in templates are %s, and any saved plan can serve as one",
			name, store.ErrNotFound, strings.Join(rollout.TemplateNames(), ", "))
	}
	saved.Plan.Name = ""
	return saved.Plan, "saved", err
}

// readPlan reads a plan document; a plan that names a template and gives no stages
// is the template with the document's fields as overrides.
func (s *Server) readPlan(r *http.Request, name string) (rollout.Plan, error) {
	var p rollout.Plan
	if err := readJSON(r, &p); err != nil {
		return p, err
	}
	if name != "" {
		if p.Name != "" && p.Name != name {
			return p, fieldProblem("name", fmt.Sprintf("%q differs from the URL's plan %q; a plan cannot be renamed", p.Name, name))
		}
		p.Name = name
	}
	if p.Name == "" {
		return p, fieldProblem("name", `missing; name the plan, e.g. "smart-reply-production"`)
	}
	if p.Template != "" && len(p.Stages) == 0 {
		base, _, err := s.template(r.Context(), p.Template)
		if err != nil {
			return p, err
		}
		p = rollout.Override(base, p)
	}
	return p, s.validatePlan(r.Context(), &p, false)
}

// validatePlan checks a plan against the flag and segments it names. A saved plan
// may leave the flag, environment and variants to the rollouts made from it
// (complete false): it is then checked as a template.
func (s *Server) validatePlan(ctx context.Context, p *rollout.Plan, complete bool) error {
	probe := *p
	if !complete {
		fill := func(dst *string, v string) {
			if *dst == "" {
				*dst = v
			}
		}
		fill(&probe.Flag, "any-flag")
		fill(&probe.Environment, "any-environment")
		fill(&probe.Treatment, "treatment")
		fill(&probe.Control, "control")
	}
	var opts rollout.ValidateOptions
	var problems flags.ValidationErrors
	root := fmt.Sprintf("plans[%q]", planLabel(p))
	if p.Environment != "" {
		set, _, err := s.store.Snapshot(ctx, p.Environment)
		switch {
		case errors.Is(err, store.ErrNotFound):
			problems = append(problems, flags.FieldError{Path: root + ".environment", Message: fmt.Sprintf("unknown environment %q; create it first or name another", p.Environment)})
		case err != nil:
			return err
		default:
			opts.SegmentExists = func(key string) bool { return set.Segments[key] != nil }
			if p.Flag != "" {
				if f := set.Flags[p.Flag]; f != nil {
					opts.Flag = f
				} else {
					problems = append(problems, flags.FieldError{Path: root + ".flag", Message: fmt.Sprintf("unknown flag %q in %q; create it first or name another", p.Flag, p.Environment)})
				}
			}
		}
	}
	if err := probe.Validate(opts); err != nil {
		var ve flags.ValidationErrors
		if !errors.As(err, &ve) {
			return err
		}
		problems = append(problems, ve...)
	}
	if len(problems) > 0 {
		return problems
	}
	p.Location = probe.Location
	return nil
}

func planLabel(p *rollout.Plan) string {
	if p.Name != "" {
		return p.Name
	}
	return p.Flag
}

func (s *Server) createPlan(w http.ResponseWriter, r *http.Request) error {
	p, err := s.readPlan(r, "")
	if err != nil {
		return err
	}
	saved, err := s.store.PutPlan(r.Context(), store.SavedPlan{Name: p.Name, Plan: p}, 0, change(r))
	if err != nil {
		return err
	}
	setETag(w, saved.Version)
	writeJSON(w, http.StatusCreated, planView{saved, sizing(saved.Plan)})
	return nil
}

func (s *Server) getPlan(w http.ResponseWriter, r *http.Request) error {
	p, err := s.store.GetPlan(r.Context(), r.PathValue("name"))
	if err != nil {
		return err
	}
	setETag(w, p.Version)
	writeJSON(w, http.StatusOK, planView{p, sizing(p.Plan)})
	return nil
}

func (s *Server) putPlan(w http.ResponseWriter, r *http.Request) error {
	version, err := ifMatch(r)
	if err != nil {
		return err
	}
	p, err := s.readPlan(r, r.PathValue("name"))
	if err != nil {
		return err
	}
	saved, err := s.store.PutPlan(r.Context(), store.SavedPlan{Name: p.Name, Plan: p}, version, change(r))
	if err != nil {
		return err
	}
	setETag(w, saved.Version)
	writeJSON(w, http.StatusOK, planView{saved, sizing(saved.Plan)})
	return nil
}

func (s *Server) deletePlan(w http.ResponseWriter, r *http.Request) error {
	if err := s.store.DeletePlan(r.Context(), r.PathValue("name"), change(r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// templateView is a template as listed.
type templateView struct {
	Name        string       `json:"name"`
	Source      string       `json:"source"` // built-in or saved
	Description string       `json:"description,omitempty"`
	Plan        rollout.Plan `json:"plan"`
}

func (s *Server) listTemplates(w http.ResponseWriter, r *http.Request) error {
	var out []templateView
	for _, name := range rollout.TemplateNames() {
		p, _ := rollout.Template(name)
		out = append(out, templateView{Name: name, Source: "built-in", Description: p.Description, Plan: p})
	}
	after := ""
	for {
		saved, err := s.store.ListPlans(r.Context(), store.Page{After: after, Limit: 1000})
		if err != nil {
			return err
		}
		for _, p := range saved {
			out = append(out, templateView{Name: p.Name, Source: "saved", Description: p.Plan.Description, Plan: p.Plan})
		}
		if len(saved) < 1000 {
			break
		}
		after = saved[len(saved)-1].Name
	}
	writeJSON(w, http.StatusOK, list[templateView]{Items: out})
	return nil
}

func (s *Server) getTemplate(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	p, source, err := s.template(r.Context(), name)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, templateView{Name: name, Source: source, Description: p.Description, Plan: p})
	return nil
}

// --- rollouts

// CreateRollout creates a rollout: from a saved plan, or from a template (built-in
// or saved), or from the overrides alone; the overrides name at least what the
// plan or template leaves open (flag, environment, treatment, control).
type CreateRollout struct {
	Plan      string       `json:"plan,omitempty"`
	Template  string       `json:"template,omitempty"`
	Overrides rollout.Plan `json:"overrides"`
}

// RolloutAction is the optional body of a rollout operation.
type RolloutAction struct {
	// Reason is recorded in the audit log and the notifications (X-Ramp-Reason
	// works too); a rollback requires one.
	Reason string `json:"reason,omitempty"`
	// At is when a scheduled rollout starts.
	At time.Time `json:"at,omitzero"`
	// RestartEvidence, on resume, starts a new evidence period.
	RestartEvidence bool `json:"restart_evidence,omitempty"`
	// Stage, on approve, is the stage approved: the next one (the default).
	Stage *int `json:"stage,omitempty"`
}

// rolloutView is a rollout with what it waits for and its history.
type rolloutView struct {
	store.Rollout
	StageName string `json:"stage_name"`
	// Next is what the controller would decide now: Holds say what the next step
	// waits for. Absent when no controller runs in this server.
	Next      *rollout.Decision       `json:"next,omitempty"`
	Approvals []rollout.Approval      `json:"approvals"`
	Decisions []store.RolloutDecision `json:"decisions,omitempty"`
}

func (s *Server) viewOfRollout(ctx context.Context, ro store.Rollout, withHistory bool) (rolloutView, error) {
	v := rolloutView{Rollout: ro, StageName: fmt.Sprint(ro.State.Stage)}
	if i := ro.State.Stage; i >= 0 && i < len(ro.Plan.Stages) {
		v.StageName = ro.Plan.Stages[i].Name
	}
	if !withHistory {
		return v, nil
	}
	if s.cfg.Rollouts != nil {
		d, err := s.cfg.Rollouts.Preview(ctx, ro.ID)
		if err != nil {
			return v, err
		}
		v.Next = &d
	}
	approvals, err := s.store.ListApprovals(ctx, ro.ID)
	if err != nil {
		return v, err
	}
	v.Approvals = nonNil(approvals)
	// The newest 50 decisions; the full log is at /decisions.
	all, err := s.store.ListRolloutDecisions(ctx, ro.ID, 0, 1000)
	if err != nil {
		return v, err
	}
	v.Decisions = all[max(0, len(all)-50):]
	return v, nil
}

func (s *Server) listRollouts(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f := store.RolloutFilter{Environment: q.Get("environment"), Flag: q.Get("flag")}
	for _, st := range q["status"] {
		f.Statuses = append(f.Statuses, rollout.Status(st))
	}
	if q.Get("active") == "true" {
		f.Statuses = store.ActiveStatuses
	}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 1000 {
			return badRequest("limit %q must be a whole number from 1 to 1000", l)
		}
		f.Limit = n
	}
	rs, err := s.store.ListRollouts(r.Context(), f)
	if err != nil {
		return err
	}
	views := make([]rolloutView, len(rs))
	for i, ro := range rs {
		views[i], _ = s.viewOfRollout(r.Context(), ro, false)
	}
	writeJSON(w, http.StatusOK, list[rolloutView]{Items: views})
	return nil
}

func (s *Server) createRollout(w http.ResponseWriter, r *http.Request) error {
	var req CreateRollout
	if err := readJSON(r, &req); err != nil {
		return err
	}
	ctx := r.Context()
	var p rollout.Plan
	switch {
	case req.Plan != "" && req.Template != "":
		return fieldProblem("template", "give a plan or a template, not both")
	case req.Plan != "":
		saved, err := s.store.GetPlan(ctx, req.Plan)
		if err != nil {
			return err
		}
		p = rollout.Override(saved.Plan, req.Overrides)
	case req.Template != "":
		base, _, err := s.template(ctx, req.Template)
		if err != nil {
			return err
		}
		p = rollout.Override(base, req.Overrides)
		p.Template = req.Template
	default:
		p = rollout.Override(rollout.Plan{}, req.Overrides)
	}
	if p.Environment != "" {
		if _, err := s.store.GetEnvironment(ctx, p.Environment); err != nil {
			return err
		}
		if p.Flag != "" {
			if _, err := s.store.GetFlag(ctx, p.Environment, p.Flag); err != nil {
				return err
			}
		}
	}
	if err := s.validatePlan(ctx, &p, true); err != nil {
		return err
	}
	c := change(r)
	reason := c.Reason
	if reason == "" {
		reason = "created by " + c.Actor
	}
	ro, err := s.store.CreateRollout(ctx, store.Rollout{
		PlanName: req.Plan, Plan: p, Flag: p.Flag, Environment: p.Environment,
		State: rollout.State{Status: rollout.Draft, Since: time.Now().UTC(), Reason: reason}, RequestedBy: c.Actor,
	}, c)
	if err != nil {
		return err
	}
	view, err := s.viewOfRollout(ctx, ro, true)
	if err != nil {
		return err
	}
	setETag(w, ro.Version)
	writeJSON(w, http.StatusCreated, view)
	return nil
}

func (s *Server) getRollout(w http.ResponseWriter, r *http.Request) error {
	ro, err := s.store.GetRollout(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	view, err := s.viewOfRollout(r.Context(), ro, true)
	if err != nil {
		return err
	}
	setETag(w, ro.Version)
	writeJSON(w, http.StatusOK, view)
	return nil
}

func (s *Server) listDecisions(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	var after int64
	if a := q.Get("after"); a != "" {
		n, err := strconv.ParseInt(a, 10, 64)
		if err != nil || n < 0 {
			return badRequest("after %q must be a decision's seq", a)
		}
		after = n
	}
	n := 0
	if l := q.Get("limit"); l != "" {
		v, err := strconv.Atoi(l)
		if err != nil || v < 1 || v > 1000 {
			return badRequest("limit %q must be a whole number from 1 to 1000", l)
		}
		n = v
	}
	ds, err := s.store.ListRolloutDecisions(r.Context(), r.PathValue("id"), after, n)
	if err != nil {
		return err
	}
	l := list[store.RolloutDecision]{Items: nonNil(ds)}
	if limit := cmp.Or(n, 100); len(ds) == limit {
		l.Next = strconv.FormatInt(ds[len(ds)-1].Seq, 10)
	}
	writeJSON(w, http.StatusOK, l)
	return nil
}

// readOptionalJSON decodes a body when there is one.
func readOptionalJSON(r *http.Request, v any) error {
	if r.Body == nil {
		return nil
	}
	data, err := io.ReadAll(r.Body)
	if err != nil {
		return err
	}
	if len(strings.TrimSpace(string(data))) == 0 {
		return nil
	}
	return flags.DecodeJSON(data, v)
}

func errNoController() error {
	return problem(http.StatusServiceUnavailable, "the rollout controller is not running in this server; rollouts can be read but not changed")
}

// actionInput is what an operation on a rollout gets from its request.
type actionInput struct {
	id     string
	by     controller.Actor
	reason string
	body   RolloutAction
}

// rolloutOp makes a handler for an operation on a rollout: it reads the optional
// body, requires a reason when asked to, runs op through the controller and
// returns the rollout as it now stands.
func (s *Server) rolloutOp(needReason bool, op func(ctx context.Context, in actionInput) (store.Rollout, error)) func(w http.ResponseWriter, r *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		in, err := s.actionInput(r, needReason)
		if err != nil {
			return err
		}
		// Once asked, an operation completes even if the caller goes away: a
		// rollback must not be abandoned halfway because a client disconnected.
		ro, err := op(context.WithoutCancel(r.Context()), in)
		if err != nil {
			return err
		}
		view, err := s.viewOfRollout(r.Context(), ro, true)
		if err != nil {
			return err
		}
		setETag(w, ro.Version)
		writeJSON(w, http.StatusOK, view)
		return nil
	}
}

func (s *Server) actionInput(r *http.Request, needReason bool) (actionInput, error) {
	if s.cfg.Rollouts == nil {
		return actionInput{}, errNoController()
	}
	in := actionInput{id: r.PathValue("id")}
	if err := readOptionalJSON(r, &in.body); err != nil {
		return in, err
	}
	p := principalFrom(r.Context())
	in.by = controller.Actor{Name: p.actor(), Role: p.token.Role}
	in.reason = strings.TrimSpace(in.body.Reason)
	if in.reason == "" {
		in.reason = change(r).Reason
	}
	if needReason && in.reason == "" {
		return in, fieldProblem("reason", "required: say why (in the body's reason or the X-Ramp-Reason header); it goes to the audit log and the notifications")
	}
	return in, nil
}

func (s *Server) startRollout(ctx context.Context, in actionInput) (store.Rollout, error) {
	return s.cfg.Rollouts.Start(ctx, in.id, in.by, in.reason)
}

func (s *Server) scheduleRollout(ctx context.Context, in actionInput) (store.Rollout, error) {
	if in.body.At.IsZero() {
		return store.Rollout{}, fieldProblem("at", "missing; give the start time in RFC 3339, e.g. \"2026-03-02T09:00:00Z\"")
	}
	return s.cfg.Rollouts.Schedule(ctx, in.id, in.body.At, in.by, in.reason)
}

func (s *Server) advanceRollout(ctx context.Context, in actionInput) (store.Rollout, error) {
	return s.cfg.Rollouts.Advance(ctx, in.id, in.by, in.reason)
}

func (s *Server) pauseRollout(ctx context.Context, in actionInput) (store.Rollout, error) {
	return s.cfg.Rollouts.Pause(ctx, in.id, in.by, in.reason)
}

func (s *Server) resumeRollout(ctx context.Context, in actionInput) (store.Rollout, error) {
	return s.cfg.Rollouts.Resume(ctx, in.id, in.by, in.reason, in.body.RestartEvidence)
}

func (s *Server) rollbackRollout(ctx context.Context, in actionInput) (store.Rollout, error) {
	return s.cfg.Rollouts.Rollback(ctx, in.id, in.by, in.reason)
}

// approval is the answer to an approve request.
type approval struct {
	Approval rollout.Approval `json:"approval"`
	Rollout  rolloutView      `json:"rollout"`
}

func (s *Server) approveRollout(w http.ResponseWriter, r *http.Request) error {
	in, err := s.actionInput(r, false)
	if err != nil {
		return err
	}
	stage := -1
	if in.body.Stage != nil {
		stage = *in.body.Stage
	}
	ro, a, err := s.cfg.Rollouts.Approve(context.WithoutCancel(r.Context()), in.id, stage, in.by, in.reason)
	if err != nil {
		return err
	}
	view, err := s.viewOfRollout(r.Context(), ro, true)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, approval{Approval: a, Rollout: view})
	return nil
}

// activeRolloutsOf lists the unfinished rollouts of a flag in every environment.
func (s *Server) activeRolloutsOf(ctx context.Context, flag string, statuses ...rollout.Status) ([]store.Rollout, error) {
	if len(statuses) == 0 {
		statuses = store.ActiveStatuses
	}
	return s.store.ListRollouts(ctx, store.RolloutFilter{Flag: flag, Statuses: statuses})
}

// rolloutsServingChanged returns the running or paused rollouts of flag whose
// treatment or control value differs between the definitions (CLARIFICATIONS §38).
func (s *Server) rolloutsServingChanged(ctx context.Context, flag string, cur, next map[string]any) ([]string, error) {
	rs, err := s.activeRolloutsOf(ctx, flag, rollout.Running, rollout.Paused)
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, ro := range rs {
		for _, v := range []string{ro.Plan.Treatment, ro.Plan.Control} {
			a, _ := json.Marshal(cur[v])
			b, _ := json.Marshal(next[v])
			if string(a) != string(b) {
				ids = append(ids, fmt.Sprintf("%s (%s, variant %q)", ro.ID, ro.Environment, v))
				break
			}
		}
	}
	return ids, nil
}

// keepManagedBlock returns rules with any managed rules removed and the current
// managed block appended: the block changes only through the rollout API
// (CLARIFICATIONS §20).
func keepManagedBlock(rules, current []flags.Rule) []flags.Rule {
	out := slices.DeleteFunc(slices.Clone(rules), rollout.IsManaged)
	for _, r := range current {
		if rollout.IsManaged(r) {
			out = append(out, r)
		}
	}
	return out
}

// --- notification channels

// NotificationChannel is a channel as the API reads and shows it: the integration's
// settings (secrets redacted when shown) and its route, the kinds it receives.
type NotificationChannel struct {
	notify.ChannelConfig
	Kinds []notify.Kind `json:"kinds,omitempty"`
}

// channelView is a stored channel as the API shows it: secrets REDACTED.
type channelView struct {
	Environment string `json:"environment"`
	notify.ChannelConfig
	Kinds     []notify.Kind `json:"kinds,omitempty"`
	Version   int64         `json:"version"`
	CreatedAt time.Time     `json:"created_at"`
	UpdatedAt time.Time     `json:"updated_at"`
}

func viewOfChannel(ch store.NotificationChannel) (channelView, error) {
	cfg, kinds, err := controller.OpenChannel(ch)
	if err != nil {
		return channelView{}, err
	}
	return channelView{Environment: ch.Environment, ChannelConfig: cfg, Kinds: kinds, Version: ch.Version, CreatedAt: ch.CreatedAt, UpdatedAt: ch.UpdatedAt}, nil
}

// readChannel decodes a channel document strictly.
func readChannel(r *http.Request) (NotificationChannel, error) {
	var req NotificationChannel
	data, err := io.ReadAll(r.Body)
	if err != nil {
		return req, err
	}
	if len(data) == 0 {
		return req, badRequest("the request body is empty; send a JSON document")
	}
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return req, badRequest("%s", strings.TrimPrefix(err.Error(), "json: "))
	}
	return req, nil
}

// channelProblem turns notify's validation errors ("channels["ops"].url: required")
// into field errors.
func channelProblem(err error) error {
	var out flags.ValidationErrors
	for _, line := range strings.Split(err.Error(), "\n") {
		path, msg, ok := strings.Cut(line, ": ")
		if !ok {
			path, msg = "", line
		}
		out = append(out, flags.FieldError{Path: path, Message: msg})
	}
	return out
}

func (s *Server) reloadChannels(ctx context.Context) {
	if s.cfg.Notifications == nil {
		return
	}
	if err := s.cfg.Notifications.Reload(ctx); err != nil {
		s.log.Error("reload notification channels", "err", err)
	}
}

func (s *Server) writeChannel(w http.ResponseWriter, status int, ch store.NotificationChannel) error {
	v, err := viewOfChannel(ch)
	if err != nil {
		return err
	}
	setETag(w, ch.Version)
	writeJSON(w, status, v)
	return nil
}

func (s *Server) listChannels(w http.ResponseWriter, r *http.Request) error {
	env := r.PathValue("env")
	if _, err := s.store.GetEnvironment(r.Context(), env); err != nil {
		return err
	}
	chs, err := s.store.ListNotificationChannels(r.Context(), env)
	if err != nil {
		return err
	}
	views := make([]channelView, 0, len(chs))
	for _, ch := range chs {
		v, err := viewOfChannel(ch)
		if err != nil {
			return err
		}
		views = append(views, v)
	}
	writeJSON(w, http.StatusOK, list[channelView]{Items: views})
	return nil
}

func (s *Server) createChannel(w http.ResponseWriter, r *http.Request) error {
	req, err := readChannel(r)
	if err != nil {
		return err
	}
	env := r.PathValue("env")
	if _, err := s.store.GetEnvironment(r.Context(), env); err != nil {
		return err
	}
	ch, err := controller.SealChannel(env, req.ChannelConfig, req.Kinds)
	if err != nil {
		return channelProblem(err)
	}
	saved, err := s.store.PutNotificationChannel(r.Context(), ch, 0, change(r))
	if err != nil {
		return err
	}
	s.reloadChannels(r.Context())
	return s.writeChannel(w, http.StatusCreated, saved)
}

func (s *Server) getChannel(w http.ResponseWriter, r *http.Request) error {
	ch, err := s.store.GetNotificationChannel(r.Context(), r.PathValue("env"), r.PathValue("name"))
	if err != nil {
		return err
	}
	return s.writeChannel(w, http.StatusOK, ch)
}

func (s *Server) putChannel(w http.ResponseWriter, r *http.Request) error {
	version, err := ifMatch(r)
	if err != nil {
		return err
	}
	req, err := readChannel(r)
	if err != nil {
		return err
	}
	env, name := r.PathValue("env"), r.PathValue("name")
	if req.Name != "" && req.Name != name {
		return fieldProblem("name", fmt.Sprintf("%q differs from the URL's channel %q; a channel cannot be renamed", req.Name, name))
	}
	req.Name = name
	cur, err := s.store.GetNotificationChannel(r.Context(), env, name)
	if err != nil {
		return err
	}
	prev, _, err := controller.OpenChannel(cur)
	if err != nil {
		return err
	}
	ch, err := controller.SealChannel(env, controller.KeepSecrets(req.ChannelConfig, prev), req.Kinds)
	if err != nil {
		return channelProblem(err)
	}
	saved, err := s.store.PutNotificationChannel(r.Context(), ch, version, change(r))
	if err != nil {
		return err
	}
	s.reloadChannels(r.Context())
	return s.writeChannel(w, http.StatusOK, saved)
}

func (s *Server) deleteChannel(w http.ResponseWriter, r *http.Request) error {
	if err := s.store.DeleteNotificationChannel(r.Context(), r.PathValue("env"), r.PathValue("name"), change(r)); err != nil {
		return err
	}
	s.reloadChannels(r.Context())
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) listDeliveries(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f := store.DeliveryFilter{Environment: q.Get("environment"), RolloutID: q.Get("rollout")}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 1000 {
			return badRequest("limit %q must be a whole number from 1 to 1000", l)
		}
		f.Limit = n
	}
	ds, err := s.store.ListNotificationDeliveries(r.Context(), f)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, list[store.NotificationDelivery]{Items: nonNil(ds)})
	return nil
}
