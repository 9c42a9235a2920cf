package web_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestDashboardInBrowser drives the dashboard in headless Chromium against the whole
// server: sign in, create a flag through the editor (an invalid document first, to
// see the errors inline), turn it on, read and verify the audit log, and check that
// every page fits a laptop and a phone without console errors.
func TestDashboardInBrowser(t *testing.T) {
	s := startServer(t)
	s.seed()
	b := newBrowser(t, s.url)

	// Signed out, every page leads to the sign-in form.
	b.open("/env/production/flags")
	b.waitFor("the sign-in page", `location.pathname === "/login"`)
	b.check("login", "#token", "form[action='/login'] button")

	// A wrong token is refused with a message, and not kept.
	b.setValue("#token", "ramp_api_nottherealone")
	b.click("form[action='/login'] button[type=submit]")
	b.waitFor("the error", `!!document.getElementById("login-error")`)
	if got := b.text("#login-error"); !strings.Contains(got, "not accepted") {
		t.Errorf("login error = %q", got)
	}

	b.signIn(s.admin)
	b.check("flags", "#flag-search", "[data-testid=flag-row-summarizer-config]", "[data-testid=new-flag]", "[data-testid=toggle-checkout-redesign]")
	if eval[bool](b, `document.cookie.includes("ramp_session")`) {
		t.Error("the session cookie is readable from JavaScript; it must be HttpOnly")
	}

	// Search narrows the list without a reload.
	b.run("type a search", chromedp.SendKeys(chromedp.CSS("#flag-search"), "summ"))
	b.waitFor("the search to narrow the list", `document.querySelectorAll("#flag-rows tr").length === 1 && !!document.querySelector("[data-testid=flag-row-summarizer-config]")`)
	b.open("/env/production/flags")

	// The editor: an invalid document shows every problem next to its line.
	b.click("[data-testid=new-flag]")
	b.waitFor("the editor", `!!document.getElementById("doc")`)
	b.check("editor-new", "#doc", "[data-testid=editor-submit]")
	invalid := `{
  "key": "smart-reply",
  "type": "json",
  "description": "Suggested replies in the inbox",
  "variants": {
    "control": {"model": "gpt-small", "prompt_version": "v1"},
    "candidate": {"model": "gpt-large", "prompt_version": "v2", "temperature": 0.3}
  },
  "off_variant": "contorl",
  "enabled": false,
  "default": {"split": [{"variant": "control", "weight": 50000}, {"variant": "candidate", "weight": 40000}]}
}`
	b.setValue("#doc", invalid)
	b.click("[data-testid=editor-submit]")
	b.waitFor("the inline errors", `!!document.querySelector("[data-testid=editor-errors] .field-errors")`)
	errs := b.text("[data-testid=editor-errors]")
	for _, want := range []string{"off_variant", "contorl", "line 9", "default.split", "100000"} {
		if !strings.Contains(errs, want) {
			t.Errorf("the editor's errors do not mention %q:\n%s", want, errs)
		}
	}
	if got := eval[string](b, `document.getElementById("doc").value`); got != invalid {
		t.Errorf("the editor lost the document after an error:\n%s", got)
	}
	b.check("editor-invalid", "[data-testid=editor-errors]", "#doc")
	if status, _ := s.do("GET", "/api/v1/flags/smart-reply", s.admin, ""); status != http.StatusNotFound {
		t.Errorf("the invalid flag was stored (GET = %d)", status)
	}

	// Fix it and save: the flag page opens.
	valid := strings.Replace(strings.Replace(invalid, `"contorl"`, `"control"`, 1), `"weight": 40000`, `"weight": 50000`, 1)
	b.setValue("#doc", valid)
	b.click("[data-testid=editor-submit]")
	b.waitFor("the new flag's page", `location.pathname === "/env/production/flags/smart-reply"`)
	b.check("flag-created", "[data-testid=variant-candidate]", "[data-testid=toggle-smart-reply]", "[data-testid=edit-targeting]")
	if got := b.text(".flash"); !strings.Contains(got, "created") {
		t.Errorf("flash = %q", got)
	}

	// Turn it on: the switch flips in place and the API agrees.
	if v, reason := s.ofrep("smart-reply", "user-1"); reason != "DISABLED" || v != "control" {
		t.Errorf("before the toggle OFREP serves %q (%s), want control (DISABLED)", v, reason)
	}
	b.click("[data-testid=toggle-smart-reply]")
	b.waitFor("the switch to turn on", `document.querySelector("[data-testid=toggle-smart-reply]").getAttribute("aria-checked") === "true"`)
	var f struct{ Enabled bool }
	s.api("GET", "/api/v1/environments/production/flags/smart-reply", s.admin, "", http.StatusOK, &f)
	if !f.Enabled {
		t.Error("the toggle did not enable the flag")
	}
	if _, reason := s.ofrep("smart-reply", "user-1"); reason != "SPLIT" {
		t.Errorf("after the toggle OFREP answers with reason %s, want SPLIT", reason)
	}

	// The targeting editor uses the same validation.
	b.click("[data-testid=edit-targeting]")
	b.waitFor("the targeting editor", `!!document.getElementById("doc")`)
	b.setValue("#doc", `{"enabled": true, "rules": [{"conditions": [{"op": "in_segment", "segment": "nobody"}], "serve": {"variant": "candidate"}}], "default": {"variant": "control"}}`)
	b.click("[data-testid=editor-submit]")
	b.waitFor("the inline error", `!!document.querySelector("[data-testid=editor-errors]")`)
	if errs := b.text("[data-testid=editor-errors]"); !strings.Contains(errs, "rules[0].conditions[0].segment") || !strings.Contains(errs, "line 1") {
		t.Errorf("targeting errors = %q", errs)
	}
	b.check("editor-targeting-invalid", "[data-testid=editor-errors]")

	// The audit log has the creation and the toggle, by this user; filters and the
	// chain verification work.
	b.open("/audit")
	b.waitFor("audit entries", `document.querySelectorAll("[data-testid^=audit-]").length > 0`)
	b.setValue("#f-target", "flag:smart-reply")
	b.run("filter", chromedp.Submit(chromedp.CSS("form.filters")))
	b.waitFor("the filtered log", `[...document.querySelectorAll("#audit-results code.break")].every(c => c.textContent === "flag:smart-reply") && document.querySelectorAll("#audit-results code.break").length >= 2`)
	log := b.text("#audit-results")
	for _, want := range []string{"flag.create", "flag.state.update", "bootstrap-admin", "turned on in the dashboard"} {
		if !strings.Contains(log, want) {
			t.Errorf("the audit log does not show %q:\n%s", want, log)
		}
	}
	b.click("[data-testid=verify]")
	b.waitFor("the verification", `!!document.querySelector("[data-testid=verify-ok]")`)
	b.check("audit-verified", "[data-testid=verify-ok]", "form.filters")

	// Every page at both sizes.
	for _, vp := range []viewport{laptop, phone} {
		b.setViewport(vp)
		b.open("/env/production/flags")
		b.check("flags", "#flag-search", "[data-testid=flag-row-summarizer-config]", "[data-testid=toggle-summarizer-config]")
		b.open("/env/production/flags/summarizer-config")
		b.check("flag", "[data-testid=variant-baseline]", "[data-testid=variant-candidate]", "#targeting-h", "#segments-h")
		b.open("/env/production/new-flag")
		b.check("editor", "#doc")
		b.open("/env/production/segments")
		b.check("segments", ".segment-card")
		b.open("/environments")
		b.check("environments", "[data-testid=env-production]")
		b.open("/audit")
		b.check("audit", "form.filters", "[data-testid^=audit-]")
	}

	// Buttons follow the role: a viewer sees the state but no switch or editor.
	b.setViewport(laptop)
	b.signOut()
	b.signIn(s.tokens["vera"])
	b.check("flags-viewer", "#flag-rows")
	if eval[bool](b, `!!document.querySelector("[data-testid=new-flag]") || !!document.querySelector("button.switch")`) {
		t.Error("a viewer is offered actions")
	}
	b.open("/env/production/flags/summarizer-config")
	if eval[bool](b, `!!document.querySelector("[data-testid=edit-targeting], [data-testid=edit-definition], [data-testid=start-rollout]")`) {
		t.Error("a viewer is offered the editors")
	}

	if errs := b.consoleErrors(); len(errs) > 0 {
		t.Errorf("console errors:\n%s", strings.Join(errs, "\n"))
	}
}

// TestCSRF checks that state changes need the session's token and a same-origin
// request, whatever the cookie says.
func TestCSRF(t *testing.T) {
	s := startServer(t)
	s.seed()
	cookie := signInHTTP(t, s, s.admin)
	post := func(body string, headers ...string) int {
		t.Helper()
		req, _ := http.NewRequest("POST", s.url+"/env/production/flags/reply-tone/toggle", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.AddCookie(cookie)
		for i := 0; i+1 < len(headers); i += 2 {
			req.Header.Set(headers[i], headers[i+1])
		}
		resp, err := noRedirect.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := post("enabled=false"); got != http.StatusForbidden {
		t.Errorf("without a CSRF token: %d, want 403", got)
	}
	if got := post("enabled=false&_csrf=forged"); got != http.StatusForbidden {
		t.Errorf("with a forged CSRF token: %d, want 403", got)
	}
	token := csrfOf(t, s, cookie)
	if got := post("enabled=false&_csrf="+token, "Sec-Fetch-Site", "cross-site"); got != http.StatusForbidden {
		t.Errorf("from another site: %d, want 403", got)
	}
	if got := post("enabled=false&_csrf="+token, "Origin", "https://evil.example"); got != http.StatusForbidden {
		t.Errorf("with a foreign Origin: %d, want 403", got)
	}
	var f struct{ Enabled bool }
	s.api("GET", "/api/v1/environments/production/flags/reply-tone", s.admin, "", http.StatusOK, &f)
	if !f.Enabled {
		t.Fatal("a refused request changed the flag")
	}
	if got := post("enabled=false&_csrf="+token, "Sec-Fetch-Site", "same-origin"); got != http.StatusSeeOther {
		t.Errorf("a genuine request: %d, want 303", got)
	}
	if got := post("enabled=true", "X-CSRF-Token", token, "HX-Request", "true"); got != http.StatusOK {
		t.Errorf("a genuine htmx request: %d, want 200", got)
	}
}

var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// signInHTTP signs in with a plain HTTP client and returns the session cookie.
func signInHTTP(t *testing.T, s *rampServer, token string) *http.Cookie {
	t.Helper()
	req, _ := http.NewRequest("POST", s.url+"/login", strings.NewReader("token="+token))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign in: %d", resp.StatusCode)
	}
	for _, c := range resp.Cookies() {
		if c.Name == "ramp_session" {
			if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode {
				t.Errorf("session cookie %+v: want HttpOnly and SameSite=Strict", c)
			}
			if strings.Contains(resp.Header.Get("Location"), token) {
				t.Error("the token is in a URL")
			}
			return c
		}
	}
	t.Fatal("no session cookie")
	return nil
}

// csrfOf reads the CSRF token a page carries for the session.
func csrfOf(t *testing.T, s *rampServer, cookie *http.Cookie) string {
	t.Helper()
	req, _ := http.NewRequest("GET", s.url+"/env/production/flags", nil)
	req.AddCookie(cookie)
	resp, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	page := string(data)
	const marker = `name="_csrf" value="`
	i := strings.Index(page, marker)
	if i < 0 {
		t.Fatalf("no CSRF token in the page (status %d)", resp.StatusCode)
	}
	rest := page[i+len(marker):]
	return rest[:strings.IndexByte(rest, '"')]
}
