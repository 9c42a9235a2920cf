package web_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromiumPath finds Debian's chromium. Without it the browser tests skip locally
// and fail in CI (CLARIFICATIONS §36).
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	msg := "chromium is not installed; install it with: apt-get update && apt-get install -y chromium"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// viewport is a screen size the dashboard must work on.
type viewport struct {
	name          string
	width, height int64
	scale         float64
	mobile        bool
}

var (
	laptop = viewport{name: "laptop", width: 1366, height: 768, scale: 1}
	phone  = viewport{name: "phone", width: 390, height: 844, scale: 2, mobile: true}
)

// browser is one headless Chromium with a tab, the console messages it saw and
// where its screenshots go.
type browser struct {
	t     *testing.T
	ctx   context.Context
	base  string
	shots string
	vp    viewport

	mu      sync.Mutex
	console []chromedp.ConsoleMessage
}

func newBrowser(t *testing.T, base string) *browser {
	t.Helper()
	path := chromiumPath(t)
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		// The flags of CLARIFICATIONS §32, and a fresh profile.
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.NoFirstRun,
		chromedp.UserDataDir(t.TempDir()),
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancelCtx()
		cancelAlloc()
	})
	shots := os.Getenv("RAMP_SCREENSHOT_DIR")
	if shots == "" {
		shots = t.TempDir()
	} else if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	b := &browser{t: t, ctx: ctx, base: base, shots: shots}
	// Start the browser. The first call must have no deadline (it would end the
	// browser), so a watchdog bounds it instead.
	started := make(chan error, 1)
	go func() { started <- chromedp.Do(ctx) }()
	watchdog := time.NewTimer(60 * time.Second)
	defer watchdog.Stop()
	select {
	case err := <-started:
		if err != nil {
			t.Fatalf("start chromium: %v", err)
		}
	case <-watchdog.C:
		cancelCtx()
		t.Fatal("chromium did not start within 60 s")
	}
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			b.mu.Lock()
			b.console = append(b.console, m)
			b.mu.Unlock()
		}
	}()
	b.setViewport(laptop)
	return b
}

// run runs steps with a deadline, failing the test with what was being done.
func (b *browser) run(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.t.Fatalf("%s (%s): %v", what, b.vp.name, err)
	}
}

// eval evaluates a JavaScript expression.
func eval[T any](b *browser, expr string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// waitFor polls a JavaScript predicate until it holds. Errors while a page is
// being replaced (the predicate's context is gone) count as "not yet".
func (b *browser) waitFor(what, predicate string) {
	b.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	var lastErr error
	for {
		ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool]("!!("+predicate+")"))
		cancel()
		if err == nil && ok {
			return
		}
		lastErr = err
		if time.Now().After(deadline) {
			where, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string]("location.pathname"))
			b.t.Fatalf("waiting for %s (%s, at %s): timed out (last error: %v)", what, b.vp.name, where, lastErr)
		}
		select {
		case <-tick.C:
		case <-b.ctx.Done():
			b.t.Fatalf("waiting for %s: %v", what, b.ctx.Err())
		}
	}
}

func (b *browser) setViewport(vp viewport) {
	b.t.Helper()
	b.vp = vp
	opts := []chromedp.EmulateViewportOption{chromedp.EmulateScale(vp.scale)}
	if vp.mobile {
		opts = append(opts, chromedp.EmulateMobile, chromedp.EmulateTouch)
	}
	b.run("set the viewport", chromedp.EmulateViewport(vp.width, vp.height, opts...))
}

func (b *browser) open(path string) {
	b.t.Helper()
	b.run("open "+path, chromedp.Navigate(b.base+path))
	b.waitFor("the page to load", `document.readyState === "complete"`)
}

// check asserts what every page must satisfy: no horizontal overflow and the key
// elements visible; then it saves a screenshot.
func (b *browser) check(name string, visible ...string) {
	b.t.Helper()
	b.waitFor("htmx to settle", `typeof htmx !== "undefined" && document.querySelectorAll(".htmx-request").length === 0`)
	if !eval[bool](b, `document.documentElement.scrollWidth <= window.innerWidth && document.documentElement.scrollWidth <= document.documentElement.clientWidth`) {
		wide := eval[string](b, `(() => {
			const w = document.documentElement.clientWidth, out = [];
			for (const el of document.querySelectorAll("body *")) {
				const r = el.getBoundingClientRect();
				if (r.right > w + 0.5 && getComputedStyle(el).position !== "fixed") out.push(el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") + "." + el.className + " right=" + Math.round(r.right));
			}
			return out.slice(0, 8).join("; ");
		})()`)
		b.t.Errorf("%s (%s): the page overflows horizontally: scrollWidth %v > %v; widest: %s", name, b.vp.name,
			eval[float64](b, "document.documentElement.scrollWidth"), eval[float64](b, "window.innerWidth"), wide)
	}
	for _, sel := range visible {
		js := fmt.Sprintf(`(() => { const el = document.querySelector(%q); if (!el) return false;
			const r = el.getBoundingClientRect(), s = getComputedStyle(el);
			return r.width > 0 && r.height > 0 && s.visibility !== "hidden" && s.display !== "none"; })()`, sel)
		if !eval[bool](b, js) {
			b.t.Errorf("%s (%s): %s is not visible", name, b.vp.name, sel)
		}
	}
	b.screenshot(name)
}

func (b *browser) screenshot(name string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	file := filepath.Join(b.shots, fmt.Sprintf("%s-%s.png", name, b.vp.name))
	if err := os.WriteFile(file, buf, 0o644); err != nil {
		b.t.Fatal(err)
	}
	b.t.Logf("screenshot: %s", file)
}

// consoleErrors returns the console errors and uncaught exceptions seen so far,
// leaving out the browser's own note of an HTTP error status, which the tests
// cause on purpose (an invalid document gets 422).
func (b *browser) consoleErrors() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for _, m := range b.console {
		if testing.Verbose() {
			b.t.Logf("console: %s %s %s", m.Type, m.Source, m.Text)
		}
		if m.Type != chromedp.ConsoleError && m.Type != chromedp.ConsoleException {
			continue
		}
		if m.Source == "network" && strings.Contains(m.Text, "the server responded with a status of 4") {
			continue
		}
		out = append(out, fmt.Sprintf("%s %s:%d %s", m.Source, m.URL, m.Line+1, m.Text))
	}
	return out
}

// click clicks the first element that matches a CSS selector.
func (b *browser) click(sel string) {
	b.t.Helper()
	b.run("click "+sel, chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible))
}

// setValue replaces the value of a field, as pasting would.
func (b *browser) setValue(sel, value string) {
	b.t.Helper()
	b.run("fill "+sel, chromedp.SetValue(chromedp.CSS(sel), value, chromedp.NodeVisible))
}

func (b *browser) text(sel string) string {
	b.t.Helper()
	return eval[string](b, fmt.Sprintf(`(document.querySelector(%q) || {}).innerText || ""`, sel))
}

func (b *browser) path() string { return eval[string](b, "location.pathname") }

func (b *browser) signIn(token string) {
	b.t.Helper()
	b.open("/login")
	b.setValue("#token", token)
	b.click("form[action='/login'] button[type=submit]")
	b.waitFor("the flag list after signing in", `location.pathname.endsWith("/flags") && !!document.getElementById("flag-rows")`)
}

func (b *browser) signOut() {
	b.t.Helper()
	b.click("form[action='/logout'] button")
	b.waitFor("the sign-in page", `location.pathname === "/login"`)
}
