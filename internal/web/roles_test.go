package web_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// dashClient is a signed-in user of the dashboard over plain HTTP.
type dashClient struct {
	t      *testing.T
	s      *rampServer
	cookie *http.Cookie
	csrf   string
}

func signInAs(t *testing.T, s *rampServer, name string) *dashClient {
	t.Helper()
	c := &dashClient{t: t, s: s, cookie: signInHTTP(t, s, s.tokens[name])}
	c.csrf = csrfOf(t, s, c.cookie)
	return c
}

func (c *dashClient) get(path string) (int, string) {
	c.t.Helper()
	req, _ := http.NewRequest("GET", c.s.url+path, nil)
	req.AddCookie(c.cookie)
	resp, err := noRedirect.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func (c *dashClient) post(path string, form url.Values) (int, string, string) {
	c.t.Helper()
	form.Set("_csrf", c.csrf)
	req, _ := http.NewRequest("POST", c.s.url+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	req.AddCookie(c.cookie)
	resp, err := noRedirect.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Location"), string(body)
}

// TestButtonsFollowTheRole checks what each role is offered, and that the four-eyes
// approval of a regulated rollout works from the dashboard.
func TestButtonsFollowTheRole(t *testing.T) {
	s := startServer(t)
	s.seed()
	rita, max, eddie, vera := signInAs(t, s, "rita"), signInAs(t, s, "max"), signInAs(t, s, "eddie"), signInAs(t, s, "vera")

	// A plan whose stages name segments production lacks: the start form lists the
	// API's problems.
	status, _, body := rita.post("/env/production/flags/summarizer-config/start",
		url.Values{"template": {"regulated"}, "treatment": {"candidate"}, "control": {"baseline"}})
	if status != http.StatusUnprocessableEntity || !strings.Contains(body, "data-testid=\"start-errors\"") || !strings.Contains(body, "stages[0].segments") {
		t.Fatalf("start with unknown segments: %d\n%s", status, excerpt(body, "start-errors"))
	}

	for _, seg := range []string{"internal", "beta"} {
		s.api("POST", "/api/v1/environments/production/segments", s.admin, `{"key":"`+seg+`","included":["user-1"]}`, http.StatusCreated, nil)
	}
	// rita asked for it, so she cannot approve its first stage: it stays a draft.
	status, _, body = rita.post("/env/production/flags/summarizer-config/start",
		url.Values{"template": {"regulated"}, "treatment": {"candidate"}, "control": {"baseline"}, "reason": {"Q3 model"}})
	if status != http.StatusConflict || !strings.Contains(body, "created as a draft") {
		t.Fatalf("start of a regulated rollout by its requester: %d\n%s", status, excerpt(body, "start-errors"))
	}
	var rs struct {
		Items []struct{ ID string }
	}
	s.api("GET", "/api/v1/rollouts?environment=production", s.admin, "", http.StatusOK, &rs)
	if len(rs.Items) != 1 {
		t.Fatalf("%d rollouts, want 1", len(rs.Items))
	}
	id := rs.Items[0].ID
	page := "/rollouts/" + id

	_, body = rita.get(page)
	if strings.Contains(body, `data-testid="action-approve"`) {
		t.Error("the requester is offered to approve her own rollout")
	}
	if !strings.Contains(body, `data-hold="approval"`) {
		t.Errorf("the page does not say the rollout waits for an approval:\n%s", excerpt(body, "next-step"))
	}
	_, body = max.get(page)
	if !strings.Contains(body, `data-testid="action-approve"`) || !strings.Contains(body, "Approve alpha") {
		t.Fatalf("another release manager is not offered the approval:\n%s", excerpt(body, "actions-bar"))
	}
	if status, loc, _ := max.post(page+"/approve", url.Values{"reason": {"reviewed the eval report"}}); status != http.StatusSeeOther || loc != page {
		t.Fatalf("approve: %d → %s", status, loc)
	}
	var ro struct {
		Approvals []struct {
			Stage    int
			Approver string
		}
	}
	s.api("GET", "/api/v1/rollouts/"+id, s.admin, "", http.StatusOK, &ro)
	if len(ro.Approvals) != 1 || ro.Approvals[0].Approver != "max" || ro.Approvals[0].Stage != 0 {
		t.Fatalf("approvals = %+v", ro.Approvals)
	}
	_, body = rita.get(page)
	if !strings.Contains(body, `data-testid="action-start"`) || !strings.Contains(body, ">approved<") {
		t.Errorf("after the approval rita cannot start, or alpha is not shown approved:\n%s", excerpt(body, "timeline"))
	}

	// Editors edit flags but do not steer rollouts; viewers only read.
	_, body = eddie.get(page)
	if strings.Contains(body, `data-testid="action-`) || strings.Contains(body, "rollback-dialog") {
		t.Error("an editor is offered rollout actions")
	}
	_, body = eddie.get("/env/production/flags/summarizer-config")
	if !strings.Contains(body, `data-testid="edit-targeting"`) || strings.Contains(body, `data-testid="start-rollout"`) {
		t.Error("an editor should edit targeting but not start rollouts")
	}
	if status, _, _ := eddie.post(page+"/pause", url.Values{}); status != http.StatusForbidden {
		t.Errorf("an editor's pause: %d, want 403 from the API", status)
	}
	_, body = vera.get("/env/production/flags")
	if strings.Contains(body, `<button type="submit" class="switch"`) || strings.Contains(body, "New flag") {
		t.Error("a viewer is offered to change flags")
	}
	if status, _ := vera.get("/env/production/new-flag"); status != http.StatusForbidden {
		t.Errorf("a viewer opening the editor: %d, want 403", status)
	}
}

// TestSessions checks the cookie's attributes over TLS and that revoking a token
// ends the sessions made with it at once.
func TestSessions(t *testing.T) {
	s := startServer(t)
	ts := httptest.NewTLSServer(s.srv.Handler())
	defer ts.Close()
	client := ts.Client()
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := client.PostForm(ts.URL+"/login", url.Values{"token": {s.tokens["eddie"]}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var secure bool
	for _, c := range resp.Cookies() {
		if c.Name == "ramp_session" {
			secure = c.Secure && c.HttpOnly && c.SameSite == http.SameSiteStrictMode
		}
	}
	if !secure {
		t.Errorf("over TLS the session cookie must be Secure, HttpOnly and SameSite=Strict: %v", resp.Header["Set-Cookie"])
	}

	eddie := signInAs(t, s, "eddie")
	if status, _ := eddie.get("/env/production/flags"); status != http.StatusOK {
		t.Fatalf("signed in: %d", status)
	}
	var toks struct {
		Items []struct{ ID, Name string }
	}
	s.api("GET", "/api/v1/tokens", s.admin, "", http.StatusOK, &toks)
	for _, tok := range toks.Items {
		if tok.Name == "eddie" {
			s.api("DELETE", "/api/v1/tokens/"+tok.ID, s.admin, "", http.StatusNoContent, nil)
		}
	}
	req, _ := http.NewRequest("GET", s.url+"/env/production/flags", nil)
	req.AddCookie(eddie.cookie)
	resp, err = noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login") {
		t.Errorf("after revoking the token: %d → %q, want a redirect to the sign-in page", resp.StatusCode, resp.Header.Get("Location"))
	}
	// Signing out clears the cookie.
	vera := signInAs(t, s, "vera")
	status, loc, _ := vera.post("/logout", url.Values{})
	if status != http.StatusSeeOther || loc != "/login" {
		t.Errorf("sign out: %d → %s", status, loc)
	}
}

// excerpt returns the part of a page around marker, for failure messages.
func excerpt(body, marker string) string {
	i := strings.Index(body, marker)
	if i < 0 {
		if len(body) > 600 {
			return body[:600] + "…"
		}
		return body
	}
	return body[max(0, i-200):min(len(body), i+1200)]
}
