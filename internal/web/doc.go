// Package web is ramp's dashboard: the pages release managers keep open during a
// rollout, served by `ramp serve` at "/" and embedded in the binary (html/template,
// htmx and uPlot; no Node is needed to build or run it).
//
// # One API, no second rule book
//
// The dashboard owns no data and checks no rule of its own. Every page reads, and
// every button writes, through the admin REST API: the handler is called in-process
// with the signed-in user's API token, exactly as the CLI would call it over the
// network. Validation, role checks, optimistic concurrency and the audit trail are
// therefore identical whether a change comes from a browser, the CLI or a script,
// and a validation problem comes back as the API's RFC 9457 problem, whose field
// paths the editors show next to the line they point at.
//
// # Sessions and CSRF
//
// A user signs in by pasting an API token into a form (POST, never a URL). The
// token goes back in an HttpOnly, SameSite=Strict cookie (Secure over TLS, or when
// configured behind a TLS-terminating proxy), together with a random per-sign-in
// nonce; no script can read it and nothing is kept in localStorage. Keeping the
// session in the cookie rather than in server memory lets any replica serve any
// request and survives restarts; revoking the token ends the session at once,
// because every request is authenticated by the API again.
//
// Every state-changing request carries a synchronizer token: an HMAC of the
// session's nonce keyed by its API token, sent as a hidden form field or, for htmx
// requests, the X-CSRF-Token header, and compared in constant time on the server.
// A page from another origin can neither read the cookie nor compute the token.
// Cross-origin requests are also refused up front by [http.CrossOriginProtection]
// (Sec-Fetch-Site and Origin), which covers the sign-in form too, and the pages are
// served with a strict Content-Security-Policy (scripts and styles from this origin
// only; no inline script, no eval).
//
// Buttons follow the role: an action the user's role may not take is not offered
// (the API would refuse it anyway).
//
// # Live pages
//
// Lists and rollout panels refresh themselves with htmx polling (a few seconds);
// the charts fetch the analysis series as JSON and redraw with uPlot. When an API
// the dashboard needs is not deployed (it answers 404), the page says so instead of
// failing.
package web
