package web

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
)

// sessionCookie holds "<nonce>.<API token>". It is HttpOnly and SameSite=Strict, so
// scripts cannot read it and other sites cannot send it.
const sessionCookie = "ramp_session"

// csrfField and csrfHeader carry the synchronizer token of state-changing requests.
const (
	csrfField  = "_csrf"
	csrfHeader = "X-CSRF-Token"
)

// Roles, weakest first, as the API names them. The dashboard uses them only to
// decide which buttons to offer; the API enforces them.
const (
	roleViewer         = "viewer"
	roleEditor         = "editor"
	roleReleaseManager = "release-manager"
	roleAdmin          = "admin"
)

func roleRank(role string) int {
	switch role {
	case roleViewer:
		return 1
	case roleEditor:
		return 2
	case roleReleaseManager:
		return 3
	case roleAdmin:
		return 4
	}
	return 0
}

// session is a signed-in user: their API token and what the API says about it.
type session struct {
	token string
	nonce string
	// Name, ID and Role come from /api/v1/whoami.
	Name string `json:"name"`
	ID   string `json:"id"`
	Role string `json:"role"`
}

// Can reports whether the user's role includes role.
func (s *session) Can(role string) bool {
	return s != nil && roleRank(s.Role) >= roleRank(role) && roleRank(role) > 0
}

// CSRF is the session's synchronizer token: HMAC-SHA256 of the sign-in's nonce keyed
// by the API token. Only someone holding the cookie can compute it.
func (s *session) CSRF() string {
	m := hmac.New(sha256.New, []byte(s.token))
	m.Write([]byte("ramp dashboard csrf\x00" + s.nonce))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// checkCSRF compares the request's token with the session's in constant time.
func (s *session) checkCSRF(r *http.Request) bool {
	got := r.Header.Get(csrfHeader)
	if got == "" {
		got = r.PostFormValue(csrfField)
	}
	want := s.CSRF()
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

func newNonce() string {
	var b [18]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// secureRequest reports whether cookies must be Secure: the request came over TLS
// (directly or through a proxy that says so), or the configuration asks for it.
func (d *Dashboard) secureRequest(r *http.Request) bool {
	return d.cfg.SecureCookies || r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}

func (d *Dashboard) setSessionCookie(w http.ResponseWriter, r *http.Request, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: value, Path: "/", HttpOnly: true,
		Secure: d.secureRequest(r), SameSite: http.SameSiteStrictMode, MaxAge: maxAge})
}

// session authenticates the request's cookie through the API. Without a valid one
// it sends the user to the sign-in page and returns false.
func (d *Dashboard) session(w http.ResponseWriter, r *http.Request) (*session, bool) {
	s, status := d.lookupSession(r)
	if s != nil {
		return s, true
	}
	if status == http.StatusUnauthorized {
		d.setSessionCookie(w, r, "", -1)
	}
	if status != 0 && status != http.StatusUnauthorized {
		d.renderError(w, r, nil, http.StatusServiceUnavailable, "The API could not check your sign-in. Try again in a moment.")
		return nil, false
	}
	next := r.URL.Path
	if r.Method != http.MethodGet || r.Header.Get("HX-Request") != "" {
		next = r.Header.Get("HX-Current-URL")
		if u, err := url.Parse(next); err == nil {
			next = u.Path
		}
	}
	target := "/login"
	if localPath(next) && next != "/" && next != "/login" {
		target += "?next=" + url.QueryEscape(next)
	}
	if r.Header.Get("HX-Request") != "" {
		w.Header().Set("HX-Redirect", target)
		w.WriteHeader(http.StatusUnauthorized)
		return nil, false
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
	return nil, false
}

// lookupSession returns the session of the request's cookie, or nil and the API's
// status (0 when there is no cookie at all).
func (d *Dashboard) lookupSession(r *http.Request) (*session, int) {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return nil, 0
	}
	nonce, token, ok := strings.Cut(c.Value, ".")
	if !ok || nonce == "" || token == "" {
		return nil, http.StatusUnauthorized
	}
	s := &session{token: token, nonce: nonce}
	resp := d.call(r, s, http.MethodGet, "/api/v1/whoami", callOpts{})
	if !resp.ok() {
		return nil, resp.Status
	}
	if err := jsonUnmarshal(resp.Body, s); err != nil {
		return nil, http.StatusInternalServerError
	}
	return s, 0
}

// localPath accepts only paths on this site as redirect targets.
func localPath(p string) bool {
	return strings.HasPrefix(p, "/") && !strings.HasPrefix(p, "//") && !strings.HasPrefix(p, "/\\")
}

// authed wraps a handler that needs a signed-in user with at least role; for
// methods other than GET it also checks the CSRF token.
func (d *Dashboard) authed(role string, fn func(w http.ResponseWriter, r *http.Request, s *session)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s, ok := d.session(w, r)
		if !ok {
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			r.Body = http.MaxBytesReader(w, r.Body, 2<<20)
			if !s.checkCSRF(r) {
				d.renderError(w, r, s, http.StatusForbidden, "This form has expired or did not come from this dashboard. Reload the page and try again.")
				return
			}
		}
		if !s.Can(role) {
			d.renderError(w, r, s, http.StatusForbidden, "This page needs the role "+role+"; your token "+s.Name+" has "+s.Role+".")
			return
		}
		fn(w, r, s)
	}
}

func (d *Dashboard) loginPage(w http.ResponseWriter, r *http.Request) {
	if s, _ := d.lookupSession(r); s != nil {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	d.render(w, r, http.StatusOK, "login", &page{Title: "Sign in", Data: loginData{Next: r.URL.Query().Get("next")}})
}

type loginData struct {
	Next  string
	Error string
}

// login checks the pasted token with the API and starts a session.
func (d *Dashboard) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	token := strings.TrimSpace(r.PostFormValue("token"))
	next := r.PostFormValue("next")
	if !localPath(next) {
		next = "/"
	}
	fail := func(status int, msg string) {
		d.render(w, r, status, "login", &page{Title: "Sign in", Data: loginData{Next: next, Error: msg}})
	}
	if token == "" {
		fail(http.StatusUnprocessableEntity, "Paste an API token to sign in.")
		return
	}
	s := &session{token: token, nonce: newNonce()}
	resp := d.call(r, s, http.MethodGet, "/api/v1/whoami", callOpts{})
	switch {
	case resp.ok():
	case resp.Status == http.StatusUnauthorized:
		fail(http.StatusUnauthorized, "That token was not accepted: "+resp.problem().Detail+".")
		return
	default:
		fail(http.StatusServiceUnavailable, "The API could not check the token ("+resp.problem().Error()+"). Try again in a moment.")
		return
	}
	d.setSessionCookie(w, r, s.nonce+"."+s.token, int(d.cfg.SessionTTL.Seconds()))
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (d *Dashboard) logout(w http.ResponseWriter, r *http.Request, s *session) {
	d.setSessionCookie(w, r, "", -1)
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}
