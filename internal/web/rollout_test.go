package web_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestRolloutInBrowser starts a release plan from the dashboard with injected
// traffic, watches it advance without a reload, pauses and resumes it, rolls it
// back with a reason, and checks through OFREP that control is served again.
func TestRolloutInBrowser(t *testing.T) {
	s := startServer(t)
	s.seed()
	b := newBrowser(t, s.url)
	b.signIn(s.tokens["rita"])

	// Units that the first rings treat: found through OFREP before anything starts,
	// by the rule the rollout will render (a bucket below the ring's threshold).
	b.open("/env/production/flags/summarizer-config")
	b.click("[data-testid=start-rollout]")
	b.waitFor("the start form", `!!document.querySelector("[data-testid=start-submit]")`)
	b.click("[data-testid=template-progressive-24h]")
	b.check("start", "[data-testid=template-ai-standard]", "#treatment", "#control", "[data-testid=start-submit]")
	if got := eval[string](b, `document.getElementById("treatment").value + "/" + document.getElementById("control").value`); got != "candidate/baseline" {
		t.Errorf("treatment/control preselected as %s, want candidate/baseline", got)
	}
	b.setValue("#reason", "summarizer v4 is ready")
	b.click("[data-testid=start-submit]")
	b.waitFor("the rollout page", `location.pathname.startsWith("/rollouts/") && !!document.querySelector("[data-testid=rollout-status]")`)
	id := strings.TrimPrefix(b.path(), "/rollouts/")
	b.waitFor("the first stage", `document.querySelector("[data-testid=rollout-status]").dataset.status === "running" && document.querySelector("[data-testid=current-stage]").textContent === "ring-5"`)
	if got := b.text("[data-testid=ring-percent]"); got != "5%" {
		t.Errorf("ring percentage = %q, want 5%%", got)
	}
	// What it waits for: the stage's minimum time.
	b.waitFor("the hold", `!!document.querySelector("[data-testid=next-step] [data-hold=time]")`)
	if got := b.text("[data-testid=next-step]"); !strings.Contains(got, "minimum duration") || !strings.Contains(got, "of the minimum 3h") {
		t.Errorf("next step = %q", got)
	}
	b.check("rollout-holding", "[data-testid=rollout-status]", "[data-testid=next-step]", "[data-testid=guard-error_rate]",
		"[data-testid=action-pause]", "[data-testid=action-rollback]", "[data-testid=action-advance]", ".timeline")

	// The controller advances after the minimum time; the open page follows.
	s.tick(3*time.Hour + time.Minute)
	b.waitFor("the page to show ring-10", `document.querySelector("[data-testid=current-stage]").textContent === "ring-10" && document.querySelector("[data-testid=ring-percent]").textContent === "10%"`)
	// An hour into ring-10 the charts have a series to draw.
	s.tick(time.Hour)
	b.waitFor("the charts", `document.querySelectorAll(".chart canvas").length >= 2`)
	b.check("rollout-charts", "[data-chart=error_rate] canvas", "[data-chart=latency_p95] canvas")

	// The flag list shows where the rollout is.
	b.open("/env/production/flags")
	b.waitFor("the rollout in the flag list", `(document.querySelector("[data-testid=flag-row-summarizer-config] .rollout-cell") || {}).textContent?.includes("ring-10")`)
	b.check("flags-rolling-out", "[data-testid=flag-row-summarizer-config] .rollout-cell")
	b.open("/rollouts/" + id)

	var treated string
	for i := 0; i < 400 && treated == ""; i++ {
		unit := fmt.Sprintf("acct-%d", i)
		if v, _ := s.ofrep("summarizer-config", unit); v == "candidate" {
			treated = unit
		}
	}
	if treated == "" {
		t.Fatal("at ring-10 no unit of 400 gets the candidate through OFREP")
	}

	// Pause and resume by hand.
	b.click("[data-testid=action-pause]")
	b.waitFor("paused", `document.querySelector("[data-testid=rollout-status]").dataset.status === "paused"`)
	b.check("rollout-paused", "[data-testid=action-resume]")
	b.click("[data-testid=action-resume]")
	b.waitFor("running again", `document.querySelector("[data-testid=rollout-status]").dataset.status === "running"`)

	// Roll back: a dialog asks for a reason, and refuses to go on without one.
	b.click("[data-testid=action-rollback]")
	b.waitFor("the dialog", `document.getElementById("rollback-dialog").open`)
	b.check("rollout-rollback-dialog", "#rollback-reason", "[data-testid=confirm-rollback]")
	b.click("[data-testid=confirm-rollback]")
	if eval[string](b, `document.querySelector("[data-testid=rollout-status]").dataset.status`) != "running" || !eval[bool](b, `document.getElementById("rollback-dialog").open`) {
		t.Fatal("the rollback went ahead without a reason")
	}
	b.setValue("#rollback-reason", "thumbs-up rate dropped in the support inbox")
	b.click("[data-testid=confirm-rollback]")
	b.waitFor("rolled back", `document.querySelector("[data-testid=rollout-status]").dataset.status === "rolled_back" && !document.getElementById("rollback-dialog").open`)
	b.check("rollout-rolled-back", "[data-testid=rollout-status]", "[data-testid^=decision-]")
	if v, _ := s.ofrep("summarizer-config", treated); v != "baseline" {
		t.Errorf("after the rollback OFREP serves %s to %s, want baseline (control)", v, treated)
	}
	var ro struct {
		State struct{ Reason string }
	}
	s.api("GET", "/api/v1/rollouts/"+id, s.admin, "", http.StatusOK, &ro)
	if !strings.Contains(ro.State.Reason, "thumbs-up rate dropped") {
		t.Errorf("the rollout's reason is %q", ro.State.Reason)
	}
	if log := b.text("[aria-labelledby=log-h]"); !strings.Contains(log, "rita") || !strings.Contains(strings.ToLower(log), "rollback") {
		t.Errorf("the decision log does not show rita's rollback:\n%s", log)
	}

	for _, vp := range []viewport{laptop, phone} {
		b.setViewport(vp)
		b.open("/rollouts/" + id)
		b.check("rollout", "[data-testid=rollout-status]", ".timeline", "[data-testid=next-step]")
		b.open("/env/production/rollouts")
		b.check("rollouts", "[data-testid=rollout-row-"+id+"]")
		b.open("/env/production/flags")
		b.check("flags-after-rollout", "[data-testid=flag-row-summarizer-config] .rollout-cell")
	}
	if errs := b.consoleErrors(); len(errs) > 0 {
		t.Errorf("console errors:\n%s", strings.Join(errs, "\n"))
	}
}
