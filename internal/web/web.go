package web

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"path"
	"strings"
	"time"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Config tunes a Dashboard; the zero value is usable.
type Config struct {
	// API answers the dashboard's calls in-process. Nil means the mux the dashboard
	// is mounted on, which serves the admin API (see [Dashboard.Mount]).
	API http.Handler
	// SecureCookies marks the session cookie Secure on plain-HTTP requests too, for
	// a server behind a TLS-terminating proxy. Requests that arrive over TLS always
	// get a Secure cookie.
	SecureCookies bool
	// Poll is the interval of live updates (default 3 s).
	Poll time.Duration
	// SessionTTL bounds a sign-in (default 12 h).
	SessionTTL time.Duration
	// Log receives errors the user cannot act on; nil discards them.
	Log *slog.Logger
	// Version is shown in the footer.
	Version string
}

// Dashboard serves the web UI. Build it with New and register it with Mount.
type Dashboard struct {
	cfg    Config
	api    http.Handler
	pages  map[string]*template.Template
	assets map[string]asset
	csrf   *http.CrossOriginProtection
}

// asset is an embedded static file with its content type and a hash for caching.
type asset struct {
	data        []byte
	contentType string
	hash        string
}

// New builds a dashboard. It panics if the embedded templates do not parse, which
// a test catches before any release.
func New(cfg Config) *Dashboard {
	if cfg.Poll <= 0 {
		cfg.Poll = 3 * time.Second
	}
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = 12 * time.Hour
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	d := &Dashboard{cfg: cfg, api: cfg.API, csrf: http.NewCrossOriginProtection()}
	d.csrf.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d.renderError(w, r, nil, http.StatusForbidden, "This request came from another site, so it was refused. Reload the dashboard and try again.")
	}))
	d.assets = loadAssets()
	d.pages = d.parseTemplates()
	return d
}

// Mount registers the dashboard's pages on mux. Unless Config.API is set, the
// dashboard answers its own API calls with mux itself, so it must be the mux that
// serves /api/v1 (server.Config.Extra passes exactly that one).
//
// The dashboard registers specific patterns only (no catch-all "/"), so an API
// route that is not deployed still answers 404 rather than a page.
func (d *Dashboard) Mount(mux *http.ServeMux) {
	if d.api == nil {
		d.api = mux
	}
	h := func(pattern string, fn http.HandlerFunc) { mux.Handle(pattern, d.secure(fn)) }
	mux.Handle("GET /static/{file}", http.HandlerFunc(d.serveAsset))
	h("GET /{$}", d.home)
	h("GET /login", d.loginPage)
	h("POST /login", d.login)
	h("POST /logout", d.authed(roleViewer, d.logout))

	h("GET /environments", d.authed(roleViewer, d.environmentsPage))
	h("GET /env/{env}/flags", d.authed(roleViewer, d.flagsPage))
	h("GET /env/{env}/flags/{key}", d.authed(roleViewer, d.flagPage))
	h("POST /env/{env}/flags/{key}/toggle", d.authed(roleEditor, d.toggleFlag))
	h("GET /env/{env}/flags/{key}/targeting", d.authed(roleEditor, d.targetingEditor))
	h("POST /env/{env}/flags/{key}/targeting", d.authed(roleEditor, d.saveTargeting))
	h("GET /env/{env}/flags/{key}/definition", d.authed(roleEditor, d.definitionEditor))
	h("POST /env/{env}/flags/{key}/definition", d.authed(roleEditor, d.saveDefinition))
	h("GET /env/{env}/new-flag", d.authed(roleEditor, d.newFlagEditor))
	h("POST /env/{env}/new-flag", d.authed(roleEditor, d.createFlag))

	h("GET /env/{env}/segments", d.authed(roleViewer, d.segmentsPage))
	h("GET /env/{env}/segments/{key}", d.authed(roleEditor, d.segmentEditor))
	h("POST /env/{env}/segments/{key}", d.authed(roleEditor, d.saveSegment))
	h("GET /env/{env}/new-segment", d.authed(roleEditor, d.newSegmentEditor))
	h("POST /env/{env}/new-segment", d.authed(roleEditor, d.createSegment))

	h("GET /audit", d.authed(roleViewer, d.auditPage))
	h("GET /audit/verify", d.authed(roleViewer, d.verifyAudit))

	h("GET /env/{env}/rollouts", d.authed(roleViewer, d.rolloutsPage))
	h("GET /env/{env}/flags/{key}/start", d.authed(roleReleaseManager, d.startRolloutPage))
	h("POST /env/{env}/flags/{key}/start", d.authed(roleReleaseManager, d.startRollout))
	h("GET /rollouts/{id}", d.authed(roleViewer, d.rolloutPage))
	h("GET /rollouts/{id}/live", d.authed(roleViewer, d.rolloutLive))
	h("GET /rollouts/{id}/series", d.authed(roleViewer, d.rolloutSeries))
	h("POST /rollouts/{id}/{action}", d.authed(roleViewer, d.rolloutAction))
	h("GET /rollouts/{id}/report", d.authed(roleViewer, d.reportPage))
	h("GET /rollouts/{id}/report/charts", d.authed(roleViewer, d.reportCharts))
	h("GET /rollouts/{id}/report.md", d.authed(roleViewer, d.reportMarkdown))
	h("GET /reports", d.authed(roleViewer, d.portfolioPage))
}

// secure adds the headers every dashboard response carries and refuses
// cross-origin state changes before anything else runs.
func (d *Dashboard) secure(next http.Handler) http.Handler {
	protected := d.csrf.Handler(next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "+
			"connect-src 'self'; font-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Cache-Control", "no-store")
		protected.ServeHTTP(w, r)
	})
}

// home sends the user to the flags of the first environment.
func (d *Dashboard) home(w http.ResponseWriter, r *http.Request) {
	s, ok := d.session(w, r)
	if !ok {
		return
	}
	envs, err := d.environments(r, s)
	if err != nil || len(envs) == 0 {
		http.Redirect(w, r, "/environments", http.StatusSeeOther)
		return
	}
	env := envs[0].Key
	if c, err := r.Cookie(envCookie); err == nil {
		for _, e := range envs {
			if e.Key == c.Value {
				env = e.Key
			}
		}
	}
	http.Redirect(w, r, "/env/"+env+"/flags", http.StatusSeeOther)
}

// envCookie remembers the environment last looked at (not a secret).
const envCookie = "ramp_env"

func (d *Dashboard) rememberEnv(w http.ResponseWriter, r *http.Request, env string) {
	http.SetCookie(w, &http.Cookie{Name: envCookie, Value: env, Path: "/", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: d.secureRequest(r), MaxAge: 90 * 24 * 3600})
}

func loadAssets() map[string]asset {
	sub, err := fs.Sub(staticFS, "static")
	if err != nil {
		panic(err)
	}
	out := map[string]asset{}
	entries, err := fs.ReadDir(sub, ".")
	if err != nil {
		panic(err)
	}
	for _, e := range entries {
		name := e.Name()
		var ct string
		switch path.Ext(name) {
		case ".js":
			ct = "text/javascript; charset=utf-8"
		case ".css":
			ct = "text/css; charset=utf-8"
		case ".svg":
			ct = "image/svg+xml"
		default:
			continue // licences and the README are in the source, not served
		}
		data, err := fs.ReadFile(sub, name)
		if err != nil {
			panic(err)
		}
		sum := sha256.Sum256(data)
		out[name] = asset{data: data, contentType: ct, hash: hex.EncodeToString(sum[:8])}
	}
	return out
}

// serveAsset serves an embedded file. URLs carry the content hash (?v=), so a
// matching request may be cached for good and a new release changes the URL.
func (d *Dashboard) serveAsset(w http.ResponseWriter, r *http.Request) {
	a, ok := d.assets[r.PathValue("file")]
	if !ok {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Content-Type", a.contentType)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("ETag", `"`+a.hash+`"`)
	if r.URL.Query().Get("v") == a.hash {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "no-cache")
	}
	if strings.Contains(r.Header.Get("If-None-Match"), a.hash) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	_, _ = w.Write(a.data)
}

// assetURL is the URL of an embedded file, versioned by its content.
func (d *Dashboard) assetURL(name string) string {
	a, ok := d.assets[name]
	if !ok {
		panic(fmt.Sprintf("web: no static file %q", name))
	}
	return "/static/" + name + "?v=" + a.hash
}
