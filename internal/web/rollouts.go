package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The rollout pages read GET /api/v1/rollouts[/{id}] and act through POST
// /api/v1/rollouts/{id}/{action}; the structures below mirror the JSON the API
// writes (store.Rollout with the server's additions), kept loose so that a field
// added to the API never breaks a page.

// rolloutView is a rollout as the API returns it.
type rolloutView struct {
	ID          string       `json:"id"`
	PlanName    string       `json:"plan_name"`
	Plan        planView     `json:"plan"`
	Flag        string       `json:"flag"`
	Environment string       `json:"environment"`
	State       rolloutState `json:"state"`
	Waiting     []string     `json:"waiting"`
	RequestedBy string       `json:"requested_by"`
	Version     int64        `json:"version"`
	CreatedAt   time.Time    `json:"created_at"`
	UpdatedAt   time.Time    `json:"updated_at"`
	StageName   string       `json:"stage_name"`
	// Next is what the controller would decide now (only on GET of one rollout).
	Next      *decisionView `json:"next"`
	Approvals []approval    `json:"approvals"`
	Decisions []logEntry    `json:"decisions"`
}

type rolloutState struct {
	Status        string    `json:"status"`
	Stage         int       `json:"stage"`
	StartAt       time.Time `json:"start_at"`
	StageStarted  time.Time `json:"stage_started"`
	EvidenceStart time.Time `json:"evidence_start"`
	Since         time.Time `json:"since"`
	Reason        string    `json:"reason"`
}

type planView struct {
	Name           string          `json:"name"`
	Description    string          `json:"description"`
	Template       string          `json:"template"`
	Treatment      string          `json:"treatment"`
	Control        string          `json:"control"`
	HoldoutPercent float64         `json:"holdout_percent"`
	AdvanceOn      string          `json:"advance_on"`
	TimeZone       string          `json:"time_zone"`
	Stages         []stageView     `json:"stages"`
	Guardrails     []guardrailView `json:"guardrails"`
	Gates          []gateView      `json:"gates"`
	Windows        []struct {
		Days     []string `json:"days"`
		From, To string
	} `json:"windows"`
	Blackouts []struct {
		Name, From, To string
	} `json:"blackouts"`
}

type stageView struct {
	Name            string   `json:"name"`
	Description     string   `json:"description"`
	Segments        []string `json:"segments"`
	SegmentPercent  float64  `json:"segment_percent"`
	Percent         float64  `json:"percent"`
	RequireApproval bool     `json:"require_approval"`
	MinDuration     string   `json:"min_duration"`
	MinUnitsPerArm  int64    `json:"min_units_per_arm"`
}

// Audience describes who a stage exposes.
func (s stageView) Audience() string {
	var parts []string
	if len(s.Segments) > 0 {
		seg := "segment " + strings.Join(s.Segments, ", ")
		if s.SegmentPercent > 0 && s.SegmentPercent < 100 {
			seg += " (" + pct(s.SegmentPercent) + ")"
		}
		parts = append(parts, seg)
	}
	if s.Percent > 0 {
		parts = append(parts, pct(s.Percent)+" of users")
	}
	if len(parts) == 0 {
		return s.Description
	}
	return strings.Join(parts, " + ")
}

type amount struct {
	Relative float64 `json:"relative"`
	Absolute float64 `json:"absolute"`
}

func (a amount) String() string {
	switch {
	case a.Relative != 0:
		return pct(a.Relative*100) + " relative"
	case a.Absolute != 0:
		return strconv.FormatFloat(a.Absolute, 'g', 4, 64) + " absolute"
	}
	return "0"
}

type guardrailView struct {
	Metric    string `json:"metric"`
	Kind      string `json:"kind"`
	Direction string `json:"direction"`
	Tolerance amount `json:"tolerance"`
	Action    string `json:"action"`
}

// Rule says the guardrail in words.
func (g guardrailView) Rule() string {
	verb := "rise"
	if g.Direction == "decrease" {
		verb = "fall"
	}
	return "must not " + verb + " more than " + g.Tolerance.String() + " against control"
}

// OnCross is what happens when the guardrail is crossed.
func (g guardrailView) OnCross() string {
	if g.Action == "" {
		return "rollback"
	}
	return g.Action
}

type gateView struct {
	Metric    string `json:"metric"`
	Direction string `json:"direction"`
	Margin    amount `json:"margin"`
	Superior  bool   `json:"superior"`
	FromStage string `json:"from_stage"`
}

type metricResult struct {
	Metric    string `json:"metric"`
	Verdict   string `json:"verdict"`
	Dimension string `json:"dimension"`
	Summary   string `json:"summary"`
}

type approval struct {
	Stage     int       `json:"stage"`
	Approver  string    `json:"approver"`
	Requester string    `json:"requester"`
	At        time.Time `json:"at"`
}

type evidence struct {
	StageName      string         `json:"stage_name"`
	Trigger        *metricResult  `json:"trigger"`
	Guardrails     []metricResult `json:"guardrails"`
	Gates          []metricResult `json:"gates"`
	SRM            bool           `json:"srm"`
	UnitsTreatment int64          `json:"units_treatment"`
	UnitsControl   int64          `json:"units_control"`
	MinUnitsPerArm int64          `json:"min_units_per_arm"`
	Elapsed        string         `json:"elapsed"`
	MinDuration    string         `json:"min_duration"`
	DataAsOf       time.Time      `json:"data_as_of"`
	DataAge        string         `json:"data_age"`
	Blackout       string         `json:"blackout"`
	BlackoutEnd    time.Time      `json:"blackout_end"`
	NextWindow     time.Time      `json:"next_window"`
	ApprovalIssues []string       `json:"approval_issues"`
}

// decisionView is what the controller would decide now.
type decisionView struct {
	Action         string    `json:"action"`
	Holds          []string  `json:"holds"`
	FromStage      int       `json:"from_stage"`
	ToStage        int       `json:"to_stage"`
	Reason         string    `json:"reason"`
	ApprovalNeeded bool      `json:"approval_needed"`
	At             time.Time `json:"at"`
	Evidence       evidence  `json:"evidence"`
}

// logEntry is one entry of a rollout's decision log.
type logEntry struct {
	Seq       int64     `json:"seq"`
	At        time.Time `json:"at"`
	Actor     string    `json:"actor"`
	Kind      string    `json:"kind"`
	Action    string    `json:"action"`
	From      string    `json:"from"`
	To        string    `json:"to"`
	FromStage int       `json:"from_stage"`
	ToStage   int       `json:"to_stage"`
	Reason    string    `json:"reason"`
	Holds     []string  `json:"holds"`
	Evidence  *evidence `json:"evidence"`
	AuditSeq  int64     `json:"audit_seq"`
}

// tone is the status people see: a running rollout that waits is "holding".
func (ro *rolloutView) tone() string {
	if ro.State.Status == "running" {
		if ro.Next != nil && ro.Next.Action == "hold" && len(ro.Next.Holds) > 0 {
			return "holding"
		}
		if ro.Next == nil && len(ro.Waiting) > 0 {
			return "holding"
		}
	}
	return ro.State.Status
}

func (ro *rolloutView) active() bool {
	return ro.State.Status != "completed" && ro.State.Status != "rolled_back"
}

// approved reports whether an approval to enter stage i is on record.
func (ro *rolloutView) approved(i int) bool {
	for _, a := range ro.Approvals {
		if a.Stage == i {
			return true
		}
	}
	return false
}

func (ro *rolloutView) stage(i int) *stageView {
	if i >= 0 && i < len(ro.Plan.Stages) {
		return &ro.Plan.Stages[i]
	}
	return nil
}

// percent is the share of the eligible population treated now.
func (ro *rolloutView) percent() float64 {
	switch ro.State.Status {
	case "completed":
		return 100
	case "rolled_back", "draft", "scheduled":
		return 0
	}
	if st := ro.stage(ro.State.Stage); st != nil {
		return st.Percent
	}
	return 0
}

// rolloutSummary is what lists show about a rollout.
type rolloutSummary struct {
	ID, Flag, Environment string
	Status                string
	Tone                  string
	StageLabel            string
	Treatment, Control    string
	Template              string
	Active                bool
	Waiting               []string
	Since                 time.Time
	Percent               float64
}

func summarize(ro *rolloutView) *rolloutSummary {
	s := &rolloutSummary{ID: ro.ID, Flag: ro.Flag, Environment: ro.Environment, Status: ro.State.Status, Tone: ro.tone(),
		Treatment: ro.Plan.Treatment, Control: ro.Plan.Control, Active: ro.active(), Waiting: ro.Waiting,
		Since: ro.State.Since, Percent: ro.percent(), Template: cmpOr(ro.PlanName, ro.Plan.Template, ro.Plan.Name)}
	switch ro.State.Status {
	case "draft", "scheduled":
		s.StageLabel = "not started"
	case "completed":
		s.StageLabel = "100%"
	default:
		if st := ro.stage(ro.State.Stage); st != nil {
			s.StageLabel = st.Name
			if n := strconv.FormatFloat(st.Percent, 'f', -1, 64); st.Percent > 0 && !strings.Contains(st.Name, n) {
				s.StageLabel += " · " + pct(st.Percent) // "beta · 5%", but not "ring-5 · 5%"
			}
		}
	}
	return s
}

func cmpOr(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

// rolloutsIn lists env's rollouts; notDeployed is true when the API has no
// rollout routes.
func (d *Dashboard) rolloutsIn(r *http.Request, s *session, env string) (rs []rolloutView, notDeployed bool, err error) {
	var l list[rolloutView]
	err = d.get(r, s, "/api/v1/rollouts?limit=200&environment="+url.QueryEscape(env), &l)
	if p, ok := err.(*apiProblem); ok && p.notDeployed() {
		return nil, true, nil
	}
	return l.Items, false, err
}

// rolloutsByFlag returns the newest rollout of each flag in env, preferring an
// active one; nil when the rollout API is not deployed.
func (d *Dashboard) rolloutsByFlag(r *http.Request, s *session, env string) map[string]*rolloutSummary {
	rs, notDeployed, err := d.rolloutsIn(r, s, env)
	if notDeployed || err != nil {
		return nil
	}
	out := map[string]*rolloutSummary{}
	for i := range rs {
		sum := summarize(&rs[i])
		if cur, ok := out[sum.Flag]; !ok || (!cur.Active && sum.Active) {
			out[sum.Flag] = sum
		}
	}
	return out
}

// --- the list

type rolloutsData struct {
	NotDeployed bool
	Active      []*rolloutSummary
	Finished    []*rolloutSummary
}

func (d *Dashboard) rolloutsPage(w http.ResponseWriter, r *http.Request, s *session) {
	env := r.PathValue("env")
	rs, notDeployed, err := d.rolloutsIn(r, s, env)
	if err != nil {
		d.apiError(w, r, s, err)
		return
	}
	data := rolloutsData{NotDeployed: notDeployed}
	for i := range rs {
		sum := summarize(&rs[i])
		if sum.Active {
			data.Active = append(data.Active, sum)
		} else {
			data.Finished = append(data.Finished, sum)
		}
	}
	if r.Header.Get("HX-Request") != "" && r.Header.Get("HX-Target") == "rollout-lists" {
		d.renderFragment(w, http.StatusOK, "rollouts", "rollout-lists", &page{S: s, Env: env, Data: data})
		return
	}
	d.rememberEnv(w, r, env)
	d.render(w, r, http.StatusOK, "rollouts", d.newPage(r, s, "Rollouts", "rollouts", env, data))
}

// --- one rollout

type rolloutData struct {
	R        rolloutView
	Tone     string
	Percent  float64
	Timeline []timelineStage
	// Ready says what the controller will do at its next tick when it is not
	// holding; Waiting says what it holds for.
	Ready     string
	Waiting   []waitItem
	Guards    []guardRow
	Gates     []metricResult
	Decisions []logEntry
	Actions   rolloutActions
	// Analysis tells whether the analysis API answers; Metrics are the charts.
	AnalysisMissing bool
	Metrics         []guardRow
	Units           string
	// OOB marks a refresh: the decision log travels along as an out-of-band swap.
	OOB bool
}

type timelineStage struct {
	Index    int
	Name     string
	Audience string
	Approval bool
	Approved bool
	State    string // done, current, upcoming
	MinTime  string
}

type waitItem struct {
	Reason string
	Title  string
	Detail string
}

type guardRow struct {
	Metric    string
	Rule      string
	Action    string
	Verdict   string
	Summary   string
	Dimension string
}

type rolloutActions struct {
	Start, Advance, Pause, Resume, Rollback, Approve bool
	ApproveStage                                     string
	Any                                              bool
}

func (d *Dashboard) loadRollout(r *http.Request, s *session, id string) (*rolloutData, error) {
	var ro rolloutView
	if err := d.get(r, s, "/api/v1/rollouts/"+esc(id), &ro); err != nil {
		return nil, err
	}
	return d.rolloutData(r, s, ro), nil
}

func (d *Dashboard) rolloutData(r *http.Request, s *session, ro rolloutView) *rolloutData {
	data := &rolloutData{R: ro, Tone: ro.tone(), Percent: ro.percent()}
	approved := map[int]bool{}
	for _, a := range ro.Approvals {
		approved[a.Stage] = true
	}
	for i, st := range ro.Plan.Stages {
		ts := timelineStage{Index: i, Name: st.Name, Audience: st.Audience(), Approval: st.RequireApproval, Approved: approved[i], MinTime: st.MinDuration}
		switch {
		case ro.State.Status == "completed", i < ro.State.Stage:
			ts.State = "done"
		case i == ro.State.Stage && ro.State.Status != "draft" && ro.State.Status != "scheduled":
			ts.State = "current"
		default:
			ts.State = "upcoming"
		}
		data.Timeline = append(data.Timeline, ts)
	}
	data.Waiting, data.Ready = waitingFor(&ro)
	var results []metricResult
	if ro.Next != nil {
		results = ro.Next.Evidence.Guardrails
		data.Gates = ro.Next.Evidence.Gates
	}
	if len(results) == 0 {
		for i := len(ro.Decisions) - 1; i >= 0; i-- {
			if e := ro.Decisions[i].Evidence; e != nil && len(e.Guardrails) > 0 {
				results = e.Guardrails
				break
			}
		}
	}
	for _, g := range ro.Plan.Guardrails {
		row := guardRow{Metric: g.Metric, Rule: g.Rule(), Action: g.OnCross(), Verdict: "not_enough_evidence"}
		for _, res := range results {
			if res.Metric == g.Metric {
				row.Verdict, row.Summary, row.Dimension = cmpOr(res.Verdict, row.Verdict), res.Summary, res.Dimension
			}
		}
		data.Guards = append(data.Guards, row)
	}
	if ro.Next != nil {
		ev := ro.Next.Evidence
		if ev.UnitsTreatment > 0 || ev.UnitsControl > 0 {
			data.Units = fmt.Sprintf("%s treatment · %s control units in this stage", thousands(ev.UnitsTreatment), thousands(ev.UnitsControl))
		}
	}
	data.Decisions = slices.Clone(ro.Decisions)
	slices.Reverse(data.Decisions)
	if s.Can(roleReleaseManager) {
		a := &data.Actions
		st := ro.State.Status
		a.Start = st == "draft" || st == "scheduled"
		a.Advance = st == "running"
		a.Pause = st == "running"
		a.Resume = st == "paused"
		a.Rollback = st == "running" || st == "paused" || st == "scheduled"
		if st == "running" || st == "draft" || st == "scheduled" {
			next := ro.State.Stage + 1
			if st != "running" {
				next = 0
			}
			if nx := ro.stage(next); nx != nil && nx.RequireApproval && !approved[next] && ro.RequestedBy != s.Name {
				a.Approve, a.ApproveStage = true, nx.Name
			}
		}
		a.Any = a.Start || a.Advance || a.Pause || a.Resume || a.Rollback || a.Approve
	}
	data.Metrics = data.Guards
	return data
}

// waitingFor explains the next step: what the rollout holds for, or what the
// controller is about to do.
func waitingFor(ro *rolloutView) ([]waitItem, string) {
	n := ro.Next
	holds := ro.Waiting
	var ev evidence
	if n != nil {
		holds, ev = n.Holds, n.Evidence
		switch n.Action {
		case "advance":
			if nx := ro.stage(n.ToStage); nx != nil {
				return nil, "Nothing: every condition holds, and the controller moves to " + nx.Name + " at its next tick."
			}
		case "complete":
			return nil, "Nothing: the last stage is done, and the controller completes the rollout at its next tick."
		case "rollback", "pause":
			return nil, "The controller is about to " + n.Action + ": " + n.Reason
		}
	}
	// A draft only says it is not started; say too when its first stage needs an
	// approval, so the requester knows whom to ask before pressing Start.
	if st := ro.State.Status; (st == "draft" || st == "scheduled") && !slices.Contains(holds, "approval") {
		if first := ro.stage(0); first != nil && first.RequireApproval && !ro.approved(0) {
			holds = append(slices.Clone(holds), "approval")
		}
	}
	var out []waitItem
	for _, h := range holds {
		if h == "finished" {
			continue // the status says it
		}
		it := waitItem{Reason: h, Title: "Waiting for " + holdLabel(h)}
		switch h {
		case "time":
			if ev.MinDuration != "" {
				it.Detail = ev.Elapsed + " of the minimum " + ev.MinDuration + " in this stage have passed."
			}
		case "sample":
			if ev.MinUnitsPerArm > 0 {
				it.Detail = fmt.Sprintf("%s treatment and %s control units of the %s needed in each arm.",
					thousands(ev.UnitsTreatment), thousands(ev.UnitsControl), thousands(ev.MinUnitsPerArm))
			}
		case "evidence":
			var names []string
			for _, g := range ev.Guardrails {
				if g.Verdict != "clear" {
					names = append(names, g.Metric)
				}
			}
			for _, g := range ev.Gates {
				if g.Verdict != "clear" {
					names = append(names, g.Metric+" (gate)")
				}
			}
			if len(names) > 0 {
				it.Detail = "Not yet clear: " + strings.Join(names, ", ") + "."
			}
		case "blackout":
			it.Detail = "Blackout “" + ev.Blackout + "”"
			if !ev.BlackoutEnd.IsZero() {
				it.Detail += " until " + when(ev.BlackoutEnd)
			}
			it.Detail += ". Nothing advances during a blackout; a rollback is always possible."
		case "window":
			if !ev.NextWindow.IsZero() {
				it.Detail = "The next advancement window opens " + when(ev.NextWindow) + "."
			}
		case "approval":
			next := ro.State.Stage + 1
			if ro.State.Status != "running" {
				next = 0
			}
			name := "the next stage"
			if st := ro.stage(next); st != nil {
				name = st.Name
			}
			it.Detail = "Entering " + name + " needs a release manager other than " + ro.RequestedBy + " to approve."
			if len(ev.ApprovalIssues) > 0 {
				it.Detail += " " + strings.Join(ev.ApprovalIssues, "; ") + "."
			}
		case "stale_data":
			if ev.DataAsOf.IsZero() {
				it.Detail = "No analysis of this stage's evidence period has arrived yet."
			} else {
				it.Detail = "The latest analysis is " + ev.DataAge + " old (as of " + when(ev.DataAsOf) + ")."
			}
		case "paused":
			it.Detail = "Paused: " + ro.State.Reason
		case "not_started":
			it.Detail = "This rollout is a draft: a release manager starts it."
		}
		out = append(out, it)
	}
	if len(out) == 0 && n != nil && n.Action == "hold" && n.Reason != "" && ro.active() {
		out = append(out, waitItem{Reason: "hold", Title: "Holding", Detail: n.Reason})
	}
	return out, ""
}

func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	if n < 0 {
		return "-" + thousands(-n)
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + " " + s[i:]
	}
	return s
}

func (d *Dashboard) rolloutPage(w http.ResponseWriter, r *http.Request, s *session) {
	data, err := d.loadRollout(r, s, r.PathValue("id"))
	if err != nil {
		if p, ok := err.(*apiProblem); ok && p.notDeployed() {
			d.renderError(w, r, s, http.StatusNotFound, "This server does not offer the rollout API, so rollouts cannot be shown. The flag pages still show the stage its rules serve.")
			return
		}
		d.apiError(w, r, s, err)
		return
	}
	data.AnalysisMissing = !d.analysisAvailable(r, s, data.R.ID)
	d.rememberEnv(w, r, data.R.Environment)
	d.render(w, r, http.StatusOK, "rollout", d.newPage(r, s, data.R.Flag+" rollout", "rollouts", data.R.Environment, data))
}

// rolloutLive is the part of the rollout page that refreshes itself.
func (d *Dashboard) rolloutLive(w http.ResponseWriter, r *http.Request, s *session) {
	data, err := d.loadRollout(r, s, r.PathValue("id"))
	if err != nil {
		d.apiError(w, r, s, err)
		return
	}
	data.OOB = true
	d.renderFragment(w, http.StatusOK, "rollout", "rollout-live", &page{S: s, Env: data.R.Environment, Data: data})
}

var rolloutActionNames = map[string]bool{"start": true, "advance": true, "pause": true, "resume": true, "rollback": true, "approve": true}

// errTarget is the id of the element a dialog shows its errors in.
var errTarget = regexp.MustCompile(`^[a-z][a-z0-9-]{0,40}$`)

// rolloutAction carries out a person's action through the API.
func (d *Dashboard) rolloutAction(w http.ResponseWriter, r *http.Request, s *session) {
	id, action := r.PathValue("id"), r.PathValue("action")
	if !rolloutActionNames[action] {
		d.renderError(w, r, s, http.StatusNotFound, "There is no rollout action "+strconv.Quote(action)+".")
		return
	}
	reason := strings.TrimSpace(r.PostFormValue("reason"))
	if action == "rollback" && reason == "" {
		d.actionError(w, r, s, http.StatusUnprocessableEntity, "Say why you roll back: the reason goes to the audit log and the notifications.")
		return
	}
	body, _ := json.Marshal(struct {
		Reason string `json:"reason,omitempty"`
	}{reason})
	if _, err := d.send(r, s, http.MethodPost, "/api/v1/rollouts/"+esc(id)+"/"+action, callOpts{body: body}, nil); err != nil {
		p, _ := err.(*apiProblem)
		switch {
		case p == nil:
			d.apiError(w, r, s, err)
		case p.notDeployed():
			d.actionError(w, r, s, http.StatusNotFound, "This server does not offer the rollout API.")
		default:
			msg := p.Error()
			for _, fe := range p.Errors {
				msg += " (" + fe.Path + ": " + fe.Message + ")"
			}
			d.actionError(w, r, s, p.Status, msg)
		}
		return
	}
	if r.Header.Get("HX-Request") == "" {
		http.Redirect(w, r, "/rollouts/"+id, http.StatusSeeOther)
		return
	}
	d.rolloutLive(w, r, s)
}

// actionError shows an action's failure in the dialog it came from, if any.
func (d *Dashboard) actionError(w http.ResponseWriter, r *http.Request, s *session, status int, msg string) {
	if t := r.PostFormValue("errtarget"); r.Header.Get("HX-Request") != "" && errTarget.MatchString(t) {
		w.Header().Set("HX-Retarget", "#"+t)
		w.Header().Set("HX-Reswap", "innerHTML")
		d.renderFragment(w, status, "error", "inline-error", msg)
		return
	}
	d.renderError(w, r, s, status, msg)
}

// --- starting a rollout

type templateView struct {
	Name        string   `json:"name"`
	Source      string   `json:"source"`
	Description string   `json:"description"`
	Plan        planView `json:"plan"`
}

type startData struct {
	Flag      flagView
	Templates []templateView
	Template  string
	Treatment string
	Control   string
	Holdout   string
	Reason    string
	Problem   string
	Errors    []fieldError
	DraftID   string
}

func (d *Dashboard) startData(r *http.Request, s *session, env, key string) (*startData, error) {
	data := &startData{}
	if err := d.get(r, s, "/api/v1/environments/"+esc(env)+"/flags/"+esc(key), &data.Flag); err != nil {
		return nil, err
	}
	var l list[templateView]
	if err := d.get(r, s, "/api/v1/templates", &l); err != nil {
		return nil, err
	}
	data.Templates = l.Items
	names := data.Flag.VariantNames()
	if len(names) > 0 {
		data.Control = cmpOr(data.Flag.OffVariant, names[0])
		for _, n := range names {
			if n != data.Control {
				data.Treatment = n
				break
			}
		}
	}
	if len(data.Templates) > 0 {
		data.Template = data.Templates[0].Name
	}
	return data, nil
}

func (d *Dashboard) startRolloutPage(w http.ResponseWriter, r *http.Request, s *session) {
	env, key := r.PathValue("env"), r.PathValue("key")
	data, err := d.startData(r, s, env, key)
	if err != nil {
		d.apiError(w, r, s, err)
		return
	}
	d.render(w, r, http.StatusOK, "start", d.newPage(r, s, "Start a rollout · "+key, "rollouts", env, data))
}

// startRollout creates the rollout from a template and starts it.
func (d *Dashboard) startRollout(w http.ResponseWriter, r *http.Request, s *session) {
	env, key := r.PathValue("env"), r.PathValue("key")
	data, err := d.startData(r, s, env, key)
	if err != nil {
		d.apiError(w, r, s, err)
		return
	}
	data.Template, data.Treatment, data.Control = r.PostFormValue("template"), r.PostFormValue("treatment"), r.PostFormValue("control")
	data.Holdout, data.Reason = strings.TrimSpace(r.PostFormValue("holdout")), strings.TrimSpace(r.PostFormValue("reason"))
	overrides := map[string]any{"flag": key, "environment": env, "treatment": data.Treatment, "control": data.Control}
	if data.Holdout != "" {
		h, err := strconv.ParseFloat(data.Holdout, 64)
		if err != nil || h < 0 || h >= 100 {
			data.Problem = "The holdout is a percentage from 0 to 100, e.g. 5."
			d.render(w, r, http.StatusUnprocessableEntity, "start", d.newPage(r, s, "Start a rollout · "+key, "rollouts", env, data))
			return
		}
		overrides["holdout_percent"] = h
	}
	body, _ := json.Marshal(map[string]any{"template": data.Template, "overrides": overrides})
	var created rolloutView
	if _, err := d.send(r, s, http.MethodPost, "/api/v1/rollouts", callOpts{body: body, reason: data.Reason}, &created); err != nil {
		p, ok := err.(*apiProblem)
		if !ok {
			d.apiError(w, r, s, err)
			return
		}
		data.Problem = p.Error()
		data.Errors = p.Errors
		d.render(w, r, http.StatusUnprocessableEntity, "start", d.newPage(r, s, "Start a rollout · "+key, "rollouts", env, data))
		return
	}
	startBody, _ := json.Marshal(map[string]string{"reason": data.Reason})
	if _, err := d.send(r, s, http.MethodPost, "/api/v1/rollouts/"+esc(created.ID)+"/start", callOpts{body: startBody}, nil); err != nil {
		data.Problem = "The rollout was created as a draft but did not start: " + err.Error()
		data.DraftID = created.ID
		d.render(w, r, http.StatusConflict, "start", d.newPage(r, s, "Start a rollout · "+key, "rollouts", env, data))
		return
	}
	http.Redirect(w, r, "/rollouts/"+created.ID+"?done=started", http.StatusSeeOther)
}

// holdLabel explains what a holding rollout waits for.
func holdLabel(reason string) string {
	switch reason {
	case "time":
		return "the stage's minimum duration"
	case "sample":
		return "enough units in each arm"
	case "evidence":
		return "enough evidence that the guardrails are clear"
	case "blackout":
		return "the end of a blackout"
	case "window":
		return "the next advancement window"
	case "approval":
		return "an approval"
	case "stale_data":
		return "fresh analysis data"
	case "not_started":
		return "someone to start it"
	case "paused":
		return "someone to resume it"
	case "finished":
		return "nothing: it is finished"
	}
	return humanize(reason)
}
