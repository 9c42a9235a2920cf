package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ramp-release/ramp/flags"
	"github.com/ramp-release/ramp/internal/audit"
	"github.com/ramp-release/ramp/internal/controller"
	"github.com/ramp-release/ramp/internal/store"
)

func (s *Server) routeTable() []route {
	routes := append(s.coreRoutes(), s.rolloutRoutes()...)
	routes = append(routes, s.reportRoutes()...)
	return append(routes, s.analysisRoutes()...)
}

func (s *Server) coreRoutes() []route {
	viewer, editor, admin := string(store.RoleViewer), string(store.RoleEditor), string(store.RoleAdmin)
	return []route{
		{"GET", "/api/v1/openapi.json", authNone, "This document.", s.openAPI, "", "meta"},
		{"GET", "/api/v1/whoami", viewer, "The caller's token and role.", s.whoami, "", "meta"},

		{"GET", "/api/v1/environments", viewer, "List environments.", s.listEnvironments, "", "environments"},
		{"POST", "/api/v1/environments", admin, "Create an environment.", s.createEnvironment, "Environment", "environments"},
		{"GET", "/api/v1/environments/{env}", viewer, "Get an environment.", s.getEnvironment, "", "environments"},

		{"POST", "/api/v1/flags", editor, "Create a flag: its definition, and its initial state in every environment.", s.createFlag, "Flag", "flags"},
		{"GET", "/api/v1/flags/{key}", viewer, "Get a flag's definition and its state in every environment.", s.getFlagDefinition, "", "flags"},
		{"PUT", "/api/v1/flags/{key}", editor, "Replace a flag's shared definition (If-Match: its version).", s.putFlagDefinition, "FlagDefinition", "flags"},
		{"DELETE", "/api/v1/flags/{key}", editor, "Delete a flag in every environment.", s.deleteFlag, "", "flags"},
		{"GET", "/api/v1/environments/{env}/flags", viewer, "List the flags of an environment.", s.listFlags, "", "flags"},
		{"GET", "/api/v1/environments/{env}/flags/{key}", viewer, "Get a flag as an environment serves it.", s.getFlag, "", "flags"},
		{"PUT", "/api/v1/environments/{env}/flags/{key}", editor, "Replace a flag's state in an environment (If-Match: its version).", s.putFlagState, "FlagState", "flags"},
		{"POST", "/api/v1/environments/{env}/flags/{key}/enable", editor, "Turn a flag on in an environment.", s.toggleFlag(true), "", "flags"},
		{"POST", "/api/v1/environments/{env}/flags/{key}/disable", editor, "Turn a flag off in an environment.", s.toggleFlag(false), "", "flags"},

		{"GET", "/api/v1/environments/{env}/segments", viewer, "List segments.", s.listSegments, "", "segments"},
		{"POST", "/api/v1/environments/{env}/segments", editor, "Create a segment.", s.createSegment, "Segment", "segments"},
		{"GET", "/api/v1/environments/{env}/segments/{key}", viewer, "Get a segment.", s.getSegment, "", "segments"},
		{"PUT", "/api/v1/environments/{env}/segments/{key}", editor, "Replace a segment (If-Match: its version).", s.putSegment, "Segment", "segments"},
		{"DELETE", "/api/v1/environments/{env}/segments/{key}", editor, "Delete a segment no flag references.", s.deleteSegment, "", "segments"},

		{"GET", "/api/v1/tokens", admin, "List API tokens (never their secrets).", s.listTokens, "", "credentials"},
		{"POST", "/api/v1/tokens", admin, "Create an API token; the secret is returned once.", s.createToken, "TokenRequest", "credentials"},
		{"DELETE", "/api/v1/tokens/{id}", admin, "Revoke an API token.", s.revokeToken, "", "credentials"},
		{"GET", "/api/v1/environments/{env}/sdk-keys", admin, "List an environment's SDK keys.", s.listSDKKeys, "", "credentials"},
		{"POST", "/api/v1/environments/{env}/sdk-keys", admin, "Create an SDK key; the secret is returned once.", s.createSDKKey, "SDKKeyRequest", "credentials"},
		{"DELETE", "/api/v1/sdk-keys/{id}", admin, "Revoke an SDK key.", s.revokeSDKKey, "", "credentials"},

		{"GET", "/api/v1/audit", viewer, "List audit entries, newest first (filters: environment, target, actor, action, before, limit).", s.listAudit, "", "audit"},
		{"GET", "/api/v1/audit/verify", viewer, "Verify the audit log's hash chain.", s.verifyAudit, "", "audit"},

		{"GET", "/sdk/v1/flags", authSDK, "The environment's flag set for local evaluation (ETag / If-None-Match).", s.sdkFlags, "", "sdk"},
		{"GET", "/sdk/v1/stream", authSDK, "Server-sent events: the flag set on every change (Last-Event-ID resumes).", s.sdkStream, "", "sdk"},
		{"POST", "/sdk/v1/events", authSDK, "Queue a batch of exposures and metric events.", s.sdkEvents, "EventBatch", "sdk"},

		{"POST", "/ofrep/v1/evaluate/flags/{key}", authSDK, "OFREP: evaluate one flag.", s.ofrepSingle, "OFREPRequest", "ofrep"},
		{"POST", "/ofrep/v1/evaluate/flags", authSDK, "OFREP: evaluate every flag (ETag / If-None-Match).", s.ofrepBulk, "OFREPRequest", "ofrep"},
		{"GET", "/ofrep/v1/configuration", authSDK, "OFREP: provider configuration.", s.ofrepConfiguration, "", "ofrep"},
	}
}

// readJSON decodes a request body strictly: unknown fields, trailing data and bodies
// over MaxBodyBytes are errors.
func readJSON(r *http.Request, v any) error {
	data, err := io.ReadAll(r.Body)
	if err != nil {
		return err
	}
	if len(data) == 0 {
		return badRequest("the request body is empty; send a JSON document")
	}
	return flags.DecodeJSON(data, v)
}

// ifMatch reads the version a write is based on from If-Match ("3" or "W/\"3\"").
func ifMatch(r *http.Request) (int64, error) {
	h := r.Header.Get("If-Match")
	if h == "" {
		return 0, &Problem{Type: "about:blank", Title: http.StatusText(http.StatusPreconditionRequired), Status: http.StatusPreconditionRequired,
			Detail: "send the version you read in If-Match (the ETag of the GET), so that concurrent edits cannot overwrite each other"}
	}
	h = strings.Trim(strings.TrimPrefix(h, "W/"), `"`)
	v, err := strconv.ParseInt(h, 10, 64)
	if err != nil || v < 1 {
		return 0, badRequest("If-Match %q is not a version; use the ETag returned by GET", r.Header.Get("If-Match"))
	}
	return v, nil
}

func setETag(w http.ResponseWriter, version int64) {
	w.Header().Set("ETag", fmt.Sprintf(`"%d"`, version))
}

// page reads ?after= and ?limit=.
func page(r *http.Request) (store.Page, error) {
	p := store.Page{After: r.URL.Query().Get("after")}
	if l := r.URL.Query().Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 1000 {
			return p, badRequest("limit %q must be a whole number from 1 to 1000", l)
		}
		p.Limit = n
	}
	return p, nil
}

// list is a page of results; Next is the cursor for the following page.
type list[T any] struct {
	Items []T    `json:"items"`
	Next  string `json:"next,omitempty"`
}

func pageOf[T any](items []T, p store.Page, key func(T) string) list[T] {
	l := list[T]{Items: items}
	if l.Items == nil {
		l.Items = []T{}
	}
	limit := p.Limit
	if limit == 0 {
		limit = 100
	}
	if len(items) == limit {
		l.Next = key(items[len(items)-1])
	}
	return l
}

func (s *Server) whoami(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, principalFrom(r.Context()).token)
	return nil
}

// --- environments

func (s *Server) listEnvironments(w http.ResponseWriter, r *http.Request) error {
	envs, err := s.store.ListEnvironments(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, list[store.Environment]{Items: nonNil(envs)})
	return nil
}

func (s *Server) createEnvironment(w http.ResponseWriter, r *http.Request) error {
	var env store.Environment
	if err := readJSON(r, &env); err != nil {
		return err
	}
	if msg := flags.CheckKey(env.Key); msg != "" {
		return fieldProblem("key", "environment key "+msg)
	}
	if env.Name == "" {
		env.Name = env.Key
	}
	env.CreatedAt = time.Now().UTC()
	created, err := s.store.CreateEnvironment(r.Context(), env, change(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, created)
	return nil
}

func (s *Server) getEnvironment(w http.ResponseWriter, r *http.Request) error {
	env, err := s.store.GetEnvironment(r.Context(), r.PathValue("env"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, env)
	return nil
}

func fieldProblem(path, msg string) error {
	return flags.ValidationErrors{{Path: path, Message: msg}}
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// --- flags

// splitFlag separates a flag document into its shared definition and its state.
func splitFlag(f *flags.Flag) (store.FlagDefinition, store.FlagState) {
	return store.FlagDefinition{
			Key: f.Key, Type: f.Type, Description: f.Description, Variants: f.Variants, Salt: f.Salt,
			BucketBy: f.BucketBy, Metadata: f.Metadata, ClientSide: f.ClientSide, Tags: f.Tags,
		}, store.FlagState{
			Enabled: f.Enabled, OffVariant: f.OffVariant, Rules: f.Rules, Default: f.Default,
		}
}

// validateIn checks flag f as it would stand in environment env, with that
// environment's segments, so errors carry the evaluation core's paths and messages.
func (s *Server) validateIn(r *http.Request, env string, f *flags.Flag) error {
	set, _, err := s.store.Snapshot(r.Context(), env)
	if err != nil {
		return err
	}
	return flags.Validate(&flags.Set{Flags: map[string]*flags.Flag{f.Key: f}, Segments: set.Segments})
}

func (s *Server) createFlag(w http.ResponseWriter, r *http.Request) error {
	var f flags.Flag
	if err := readJSON(r, &f); err != nil {
		return err
	}
	if f.Key == "" {
		return fieldProblem("key", "missing; name the flag, e.g. \"summarize\"")
	}
	flags.Normalize(&flags.Set{Flags: map[string]*flags.Flag{f.Key: &f}})
	envs, err := s.store.ListEnvironments(r.Context())
	if err != nil {
		return err
	}
	if len(envs) == 0 {
		if err := flags.Validate(&flags.Set{Flags: map[string]*flags.Flag{f.Key: &f}}); err != nil {
			return err
		}
	}
	for _, env := range envs {
		if err := s.validateIn(r, env.Key, &f); err != nil {
			return err
		}
	}
	def, state := splitFlag(&f)
	now := time.Now().UTC()
	def.CreatedAt, def.UpdatedAt = now, now
	if err := s.store.CreateFlag(r.Context(), def, state, change(r)); err != nil {
		return err
	}
	s.reloadAll(r, envs)
	return s.writeFlagDefinition(w, r, f.Key, http.StatusCreated)
}

// flagDefinitionView is a flag's definition with its state in every environment.
type flagDefinitionView struct {
	store.FlagDefinition
	Environments map[string]store.FlagState `json:"environments"`
	// RestartedRollouts names the rollouts whose evidence period this change
	// restarted, because it changed a value they serve.
	RestartedRollouts []string `json:"restarted_rollouts,omitempty"`
}

func (s *Server) writeFlagDefinition(w http.ResponseWriter, r *http.Request, key string, status int, restarted ...string) error {
	envs, err := s.store.ListEnvironments(r.Context())
	if err != nil {
		return err
	}
	view := flagDefinitionView{Environments: map[string]store.FlagState{}}
	found := false
	for _, env := range envs {
		f, err := s.store.GetFlag(r.Context(), env.Key, key)
		if err != nil {
			return err
		}
		view.FlagDefinition, found = f.Definition, true
		view.Environments[env.Key] = f.State
	}
	if !found {
		return fmt.Errorf("flag %q: %w (create an environment first: flags live in environments)", key, store.ErrNotFound)
	}
	view.RestartedRollouts = restarted
	setETag(w, view.Version)
	writeJSON(w, status, view)
	return nil
}

func (s *Server) getFlagDefinition(w http.ResponseWriter, r *http.Request) error {
	return s.writeFlagDefinition(w, r, r.PathValue("key"), http.StatusOK)
}

func (s *Server) putFlagDefinition(w http.ResponseWriter, r *http.Request) error {
	version, err := ifMatch(r)
	if err != nil {
		return err
	}
	var def store.FlagDefinition
	if err := readJSON(r, &def); err != nil {
		return err
	}
	key := r.PathValue("key")
	if def.Key != "" && def.Key != key {
		return fieldProblem("key", fmt.Sprintf("%q differs from the URL's flag %q; a flag cannot be renamed", def.Key, key))
	}
	def.Key = key
	probe := &flags.Flag{Key: key, Type: def.Type, Variants: def.Variants, Metadata: def.Metadata}
	flags.Normalize(&flags.Set{Flags: map[string]*flags.Flag{key: probe}})
	def.Variants, def.Metadata = probe.Variants, probe.Metadata
	def.UpdatedAt = time.Now().UTC()
	// Changing a value a rollout serves invalidates its evidence (CLARIFICATIONS §38, §40).
	var affected []string
	if envs, err := s.store.ListEnvironments(r.Context()); err == nil && len(envs) > 0 {
		if cur, err := s.store.GetFlag(r.Context(), envs[0].Key, key); err == nil {
			if affected, err = s.rolloutsServingChanged(r.Context(), key, cur.Definition.Variants, def.Variants); err != nil {
				return err
			}
		}
	}
	p := principalFrom(r.Context())
	if len(affected) > 0 && !p.token.Role.Allows(store.RoleReleaseManager) {
		return problem(http.StatusForbidden, fmt.Sprintf("this changes the value of a variant that running rollouts serve (%s): that takes the role %s, and each rollout starts a new evidence period; your token %s has %s",
			strings.Join(affected, ", "), store.RoleReleaseManager, p.token.Name, p.token.Role))
	}
	if _, err := s.store.UpdateFlagDefinition(r.Context(), def, version, change(r)); err != nil {
		return err
	}
	envs, _ := s.store.ListEnvironments(r.Context())
	s.reloadAll(r, envs)
	var restarted []string
	if len(affected) > 0 && s.cfg.Rollouts != nil {
		rs, err := s.cfg.Rollouts.VariantsChanged(r.Context(), key, controller.Actor{Name: p.actor(), Role: p.token.Role}, change(r).Reason)
		if err != nil {
			// The definition is committed; the controller's next tick notices the
			// changed values and restarts the evidence itself.
			s.log.Error("restart the evidence of rollouts after a variant change", "flag", key, "err", err)
		}
		for _, ro := range rs {
			restarted = append(restarted, ro.ID)
		}
	}
	return s.writeFlagDefinition(w, r, key, http.StatusOK, restarted...)
}

func (s *Server) deleteFlag(w http.ResponseWriter, r *http.Request) error {
	active, err := s.activeRolloutsOf(r.Context(), r.PathValue("key"))
	if err != nil {
		return err
	}
	if len(active) > 0 {
		return problem(http.StatusConflict, fmt.Sprintf("flag %q has rollout %s under way in %s; roll it back or let it complete first",
			r.PathValue("key"), active[0].ID, active[0].Environment))
	}
	if err := s.store.DeleteFlag(r.Context(), r.PathValue("key"), change(r)); err != nil {
		return err
	}
	envs, _ := s.store.ListEnvironments(r.Context())
	s.reloadAll(r, envs)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// reloadAll publishes the new snapshots of the given environments to their streams.
func (s *Server) reloadAll(r *http.Request, envs []store.Environment) {
	for _, env := range envs {
		s.reload(r, env.Key)
	}
}

func (s *Server) reload(r *http.Request, env string) {
	if _, err := s.hub.reload(r.Context(), env); err != nil {
		// The write is committed; streams catch up at the next change or poll.
		s.log.Error("publish change", "environment", env, "err", err)
	}
}

// flagView is a flag as one environment serves it: the flag document plus the
// environment and the shared definition's version (for If-Match on the definition).
type flagView struct {
	Flag              *flags.Flag
	Environment       string
	DefinitionVersion int64
}

// MarshalJSON writes the flag document's fields with the two extra ones beside them.
func (v flagView) MarshalJSON() ([]byte, error) {
	doc, err := json.Marshal(v.Flag)
	if err != nil {
		return nil, err
	}
	extra, err := json.Marshal(struct {
		Environment       string `json:"environment"`
		DefinitionVersion int64  `json:"definition_version"`
	}{v.Environment, v.DefinitionVersion})
	if err != nil {
		return nil, err
	}
	// Both are JSON objects: splice extra's members into doc.
	out := append(doc[:len(doc)-1:len(doc)-1], ',')
	return append(out, extra[1:]...), nil
}

func viewOf(f store.Flag) flagView {
	return flagView{Flag: f.Eval(), Environment: f.Environment, DefinitionVersion: f.Definition.Version}
}

func (s *Server) listFlags(w http.ResponseWriter, r *http.Request) error {
	p, err := page(r)
	if err != nil {
		return err
	}
	if _, err := s.store.GetEnvironment(r.Context(), r.PathValue("env")); err != nil {
		return err
	}
	fs, err := s.store.ListFlags(r.Context(), r.PathValue("env"), p)
	if err != nil {
		return err
	}
	views := make([]flagView, len(fs))
	for i, f := range fs {
		views[i] = viewOf(f)
	}
	writeJSON(w, http.StatusOK, pageOf(views, p, func(v flagView) string { return v.Flag.Key }))
	return nil
}

func (s *Server) getFlag(w http.ResponseWriter, r *http.Request) error {
	f, err := s.store.GetFlag(r.Context(), r.PathValue("env"), r.PathValue("key"))
	if err != nil {
		return err
	}
	setETag(w, f.State.Version)
	writeJSON(w, http.StatusOK, viewOf(f))
	return nil
}

func (s *Server) putFlagState(w http.ResponseWriter, r *http.Request) error {
	version, err := ifMatch(r)
	if err != nil {
		return err
	}
	var state store.FlagState
	if err := readJSON(r, &state); err != nil {
		return err
	}
	env, key := r.PathValue("env"), r.PathValue("key")
	return s.updateState(w, r, env, key, version, func(cur store.Flag) store.FlagState {
		// A rollout's managed block changes only through the rollout API.
		state.Rules = keepManagedBlock(state.Rules, cur.State.Rules)
		return state
	})
}

// updateState applies edit to the flag's state in env, checked against version, and
// validates the result with the evaluation core before it is stored.
func (s *Server) updateState(w http.ResponseWriter, r *http.Request, env, key string, version int64, edit func(store.Flag) store.FlagState) error {
	cur, err := s.store.GetFlag(r.Context(), env, key)
	if err != nil {
		return err
	}
	next := cur
	next.State = edit(cur)
	f := next.Eval()
	flags.Normalize(&flags.Set{Flags: map[string]*flags.Flag{key: f}})
	next.State.Rules, next.State.Default = f.Rules, f.Default
	if err := s.validateIn(r, env, f); err != nil {
		return err
	}
	next.State.UpdatedAt = time.Now().UTC()
	updated, err := s.store.UpdateFlagState(r.Context(), env, key, next.State, version, change(r))
	if err != nil {
		return err
	}
	s.reload(r, env)
	setETag(w, updated.State.Version)
	writeJSON(w, http.StatusOK, viewOf(updated))
	return nil
}

func (s *Server) toggleFlag(on bool) func(w http.ResponseWriter, r *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		env, key := r.PathValue("env"), r.PathValue("key")
		// Enabling is idempotent and commutes with other edits, so retry on a concurrent
		// change instead of asking the caller for a version.
		for attempt := 0; ; attempt++ {
			cur, err := s.store.GetFlag(r.Context(), env, key)
			if err != nil {
				return err
			}
			err = s.updateState(w, r, env, key, cur.State.Version, func(f store.Flag) store.FlagState {
				st := f.State
				st.Enabled = on
				return st
			})
			if errors.Is(err, store.ErrConflict) && attempt < 5 {
				continue
			}
			return err
		}
	}
}

// --- segments

func segmentOf(env, key string, seg *flags.Segment, version int64) store.Segment {
	return store.Segment{Environment: env, Key: key, Description: seg.Description, Included: seg.Included,
		Excluded: seg.Excluded, Rules: seg.Rules, Version: version}
}

func (s *Server) readSegment(r *http.Request, env, key string) (*flags.Segment, error) {
	var seg flags.Segment
	if err := readJSON(r, &seg); err != nil {
		return nil, err
	}
	if key == "" {
		key = seg.Key
		if key == "" {
			return nil, fieldProblem("key", "missing; name the segment, e.g. \"beta\"")
		}
	} else if seg.Key != "" && seg.Key != key {
		return nil, fieldProblem("key", fmt.Sprintf("%q differs from the URL's segment %q; a segment cannot be renamed", seg.Key, key))
	}
	seg.Key = key
	set, _, err := s.store.Snapshot(r.Context(), env)
	if err != nil {
		return nil, err
	}
	set.Segments[key] = &seg
	if err := flags.Validate(set); err != nil {
		return nil, err
	}
	return &seg, nil
}

func (s *Server) listSegments(w http.ResponseWriter, r *http.Request) error {
	p, err := page(r)
	if err != nil {
		return err
	}
	if _, err := s.store.GetEnvironment(r.Context(), r.PathValue("env")); err != nil {
		return err
	}
	segs, err := s.store.ListSegments(r.Context(), r.PathValue("env"), p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, pageOf(segs, p, func(s store.Segment) string { return s.Key }))
	return nil
}

func (s *Server) createSegment(w http.ResponseWriter, r *http.Request) error {
	env := r.PathValue("env")
	seg, err := s.readSegment(r, env, "")
	if err != nil {
		return err
	}
	saved, err := s.store.PutSegment(r.Context(), segmentOf(env, seg.Key, seg, 0), 0, change(r))
	if err != nil {
		return err
	}
	s.reload(r, env)
	setETag(w, saved.Version)
	writeJSON(w, http.StatusCreated, saved)
	return nil
}

func (s *Server) getSegment(w http.ResponseWriter, r *http.Request) error {
	seg, err := s.store.GetSegment(r.Context(), r.PathValue("env"), r.PathValue("key"))
	if err != nil {
		return err
	}
	setETag(w, seg.Version)
	writeJSON(w, http.StatusOK, seg)
	return nil
}

func (s *Server) putSegment(w http.ResponseWriter, r *http.Request) error {
	version, err := ifMatch(r)
	if err != nil {
		return err
	}
	env, key := r.PathValue("env"), r.PathValue("key")
	seg, err := s.readSegment(r, env, key)
	if err != nil {
		return err
	}
	saved, err := s.store.PutSegment(r.Context(), segmentOf(env, key, seg, version), version, change(r))
	if err != nil {
		return err
	}
	s.reload(r, env)
	setETag(w, saved.Version)
	writeJSON(w, http.StatusOK, saved)
	return nil
}

func (s *Server) deleteSegment(w http.ResponseWriter, r *http.Request) error {
	env := r.PathValue("env")
	if err := s.store.DeleteSegment(r.Context(), env, r.PathValue("key"), change(r)); err != nil {
		return err
	}
	s.reload(r, env)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// --- credentials

// TokenRequest creates an API token.
type TokenRequest struct {
	Name string     `json:"name"`
	Role store.Role `json:"role"`
}

// createdSecret is returned once when a credential is created.
type createdSecret[T any] struct {
	Credential T      `json:"credential"`
	Secret     string `json:"secret"`
	Note       string `json:"note"`
}

func checkRole(role store.Role) error {
	if role.Rank() == 0 {
		names := make([]string, len(store.Roles))
		for i, r := range store.Roles {
			names[i] = string(r)
		}
		return fieldProblem("role", fmt.Sprintf("unknown role %q; use one of %s", role, strings.Join(names, ", ")))
	}
	return nil
}

func (s *Server) listTokens(w http.ResponseWriter, r *http.Request) error {
	ts, err := s.store.ListAPITokens(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, list[store.APIToken]{Items: nonNil(ts)})
	return nil
}

func (s *Server) createToken(w http.ResponseWriter, r *http.Request) error {
	var req TokenRequest
	if err := readJSON(r, &req); err != nil {
		return err
	}
	if strings.TrimSpace(req.Name) == "" {
		return fieldProblem("name", "missing; name the token after its holder, e.g. \"ana\" or \"ci-deploy\"")
	}
	if err := checkRole(req.Role); err != nil {
		return err
	}
	secret := newSecret(apiTokenPrefix)
	t, err := s.store.CreateAPIToken(r.Context(), store.APIToken{
		ID: newID(), Name: req.Name, Role: req.Role, Hash: hashSecret(secret), Prefix: displayPrefix(secret),
		CreatedAt: time.Now().UTC(), CreatedBy: principalFrom(r.Context()).actor(),
	}, change(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, createdSecret[store.APIToken]{t, secret, "store the secret now: ramp keeps only its hash and cannot show it again"})
	return nil
}

func (s *Server) revokeToken(w http.ResponseWriter, r *http.Request) error {
	if err := s.store.RevokeAPIToken(r.Context(), r.PathValue("id"), change(r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// SDKKeyRequest creates an SDK key.
type SDKKeyRequest struct {
	Name string           `json:"name"`
	Kind store.SDKKeyKind `json:"kind"`
}

func (s *Server) listSDKKeys(w http.ResponseWriter, r *http.Request) error {
	if _, err := s.store.GetEnvironment(r.Context(), r.PathValue("env")); err != nil {
		return err
	}
	ks, err := s.store.ListSDKKeys(r.Context(), r.PathValue("env"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, list[store.SDKKey]{Items: nonNil(ks)})
	return nil
}

func (s *Server) createSDKKey(w http.ResponseWriter, r *http.Request) error {
	var req SDKKeyRequest
	if err := readJSON(r, &req); err != nil {
		return err
	}
	prefix := serverKeyPrefix
	switch req.Kind {
	case store.SDKKeyServer, "":
		req.Kind = store.SDKKeyServer
	case store.SDKKeyClient:
		prefix = clientKeyPrefix
	default:
		return fieldProblem("kind", fmt.Sprintf("unknown kind %q; use \"server\" (full flag set, events) or \"client\" (client-side flags through OFREP)", req.Kind))
	}
	env := r.PathValue("env")
	if _, err := s.store.GetEnvironment(r.Context(), env); err != nil {
		return err
	}
	if req.Name == "" {
		req.Name = string(req.Kind)
	}
	secret := newSecret(prefix)
	k, err := s.store.CreateSDKKey(r.Context(), store.SDKKey{
		ID: newID(), Environment: env, Kind: req.Kind, Name: req.Name, Hash: hashSecret(secret),
		Prefix: displayPrefix(secret), CreatedAt: time.Now().UTC(),
	}, change(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, createdSecret[store.SDKKey]{k, secret, "store the secret now: ramp keeps only its hash and cannot show it again"})
	return nil
}

func (s *Server) revokeSDKKey(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if err := s.store.RevokeSDKKey(r.Context(), id, change(r)); err != nil {
		return err
	}
	s.sdkKeys.forget(id)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// --- audit

func (s *Server) listAudit(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f := store.AuditFilter{Environment: q.Get("environment"), Target: q.Get("target"), Actor: q.Get("actor"), Action: q.Get("action")}
	if b := q.Get("before"); b != "" {
		n, err := strconv.ParseInt(b, 10, 64)
		if err != nil || n < 1 {
			return badRequest("before %q must be an entry's seq (a positive whole number)", b)
		}
		f.BeforeSeq = n
	}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 1000 {
			return badRequest("limit %q must be a whole number from 1 to 1000", l)
		}
		f.Limit = n
	}
	entries, err := s.store.ListAudit(r.Context(), f)
	if err != nil {
		return err
	}
	l := list[audit.Entry]{Items: nonNil(entries)}
	limit := f.Limit
	if limit == 0 {
		limit = 100
	}
	if len(entries) == limit {
		l.Next = strconv.FormatInt(entries[len(entries)-1].Seq, 10)
	}
	writeJSON(w, http.StatusOK, l)
	return nil
}

// VerifyResult reports whether the audit chain is intact.
type VerifyResult struct {
	OK       bool   `json:"ok"`
	Entries  int    `json:"entries"`
	BrokenAt int64  `json:"broken_at,omitempty"`
	Problem  string `json:"problem,omitempty"`
}

func (s *Server) verifyAudit(w http.ResponseWriter, r *http.Request) error {
	entries, err := s.store.AllAudit(r.Context())
	if err != nil {
		return err
	}
	res := VerifyResult{OK: true, Entries: len(entries)}
	var be *audit.BrokenError
	if err := audit.Verify(entries); errors.As(err, &be) {
		res = VerifyResult{OK: false, Entries: len(entries), BrokenAt: be.Seq, Problem: be.Error()}
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}
