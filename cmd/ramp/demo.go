package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"

	"github.com/ramp-release/ramp/flags"
	"github.com/ramp-release/ramp/internal/notify/slack"
	"github.com/ramp-release/ramp/internal/rollout"
	"github.com/ramp-release/ramp/internal/store"
	"github.com/ramp-release/ramp/sdk"
)

// `ramp demo` runs the whole product on a laptop for a minute: the real server on an
// embedded store, the real controller and analysis, the real Go SDK in front of
// thousands of synthetic users, and a Slack-style webhook whose alerts are printed. Its
// only fiction is the users' behaviour (demoModel) and the clock, which runs
// compressed so that a day of rollout passes in seconds.

// What the demo seeds.
const (
	demoEnv       = "production"
	demoFlag      = "smart-reply"
	demoTreatment = "treatment"
	demoControl   = "control"
	demoChannel   = "demo-slack"
	// demoExcludedUntil is the first stage enterprise customers may get the treatment in.
	demoExcludedUntil = "ring-50"
	// demoHoldoutPercent of users never get the treatment: the control that ring-100
	// is compared with.
	demoHoldoutPercent = 5.0
)

// Defaults of the command's flags.
const (
	defaultDemoSpeed    = 1800 // an hour of rollout every 2 s
	defaultDemoDuration = 90 * time.Second
	defaultDemoUsers    = 30_000
	// demoTick is the real time between two controller decisions.
	demoTick = 200 * time.Millisecond
	// demoTrafficTick is the real time between two rounds of user visits.
	demoTrafficTick = 25 * time.Millisecond
	maxDemoSpeed    = 100_000
)

// demoStageMinimum is each ai-standard stage's minimum duration in the demo plan, in
// virtual time: the template's days and hours shrunk so that a rollout takes about
// a virtual day (23 h, 46 s at the default speed).
var demoStageMinimum = map[string]time.Duration{
	"alpha": 4 * time.Hour, "beta": 4 * time.Hour,
	"ring-1": 2 * time.Hour, "ring-5": 2 * time.Hour, "ring-10": 3 * time.Hour,
	"ring-25": 3 * time.Hour, "ring-50": 3 * time.Hour, "ring-100": 2 * time.Hour,
}

// demoVariants are smart-reply's model and prompt configurations.
var demoVariants = map[string]any{
	demoControl: map[string]any{
		"model": "chat-small-2025-06", "prompt": "smart-reply/concise@v3", "temperature": 0.3, "max_tokens": 120,
	},
	demoTreatment: map[string]any{
		"model": "chat-large-2026-01", "prompt": "smart-reply/contextual@v1", "temperature": 0.2, "max_tokens": 200,
	},
}

type demoOptions struct {
	addr     string
	dataDir  string // "" for a temporary directory, removed at the end
	speed    float64
	duration time.Duration
	users    int
	seed     uint64
	reg      *demoRegression
	// stay keeps the server up after the summary until ctx ends.
	stay bool
	// log receives the server's and the SDK's logs (nil: none).
	log io.Writer
}

func newDemoCommand() *cobra.Command {
	o := demoOptions{}
	var regression string
	var verbose bool
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Watch a safe rollout of an AI feature, and an automatic rollback, in about a minute",
		Long: `ramp demo starts ramp on a temporary embedded store, seeds an AI feature (smart-reply, a
json flag whose variants are model and prompt configurations), segments, a plan from the
ai-standard template (alpha → beta → 1 → 5 → 10 → 25 → 50 → 100 %) with guardrails, and
a Slack-style webhook to a local receiver that prints the alerts. Then thousands of
synthetic users (countries, plans, time zones) use the feature through the real Go SDK
on a compressed clock, while the controller advances the rollout on its own. Open the
dashboard it prints to watch.

The treatment is exactly as good as control unless you inject a regression:

  --regression 'METRIC=EFFECT@STAGE [segment:ATTRIBUTE=VALUE]'

METRIC is error_rate, latency_p95, thumbs_up_rate or support_tickets_per_user; EFFECT a
relative change for the users served the treatment (+60%; thumbs-up falls: -10%); STAGE
when it begins (alpha, beta or ring:N; from the start when left out); the optional
segment confines it to some users (country, plan or platform). The guardrail is
crossed, the controller rolls back on its own and the alert arrives.

The demo ends when the rollout completes or rolls back, or after --duration, with a
summary. Give --data DIR to keep the store: 'ramp serve --store DIR' opens it later.`,
		Example: `  ramp demo
  ramp demo --regression 'error_rate=+60%@ring:25'
  ramp demo --regression 'error_rate=+100%@ring:10 segment:country=BR'
  ramp demo --regression 'latency_p95=+40%@ring:5' --speed 900 --duration 3m`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			switch {
			case !(o.speed >= 1 && o.speed <= maxDemoSpeed):
				return fmt.Errorf("--speed %v: give the virtual seconds that pass every real second, from 1 to %d (1800: an hour every 2 s)", o.speed, maxDemoSpeed)
			case o.duration <= 0:
				return fmt.Errorf("--duration %s: give a positive duration such as 90s or 3m", o.duration)
			case o.users < 200 || o.users > 1_000_000:
				return fmt.Errorf("--users %d: give from 200 to 1000000 synthetic users", o.users)
			}
			if regression != "" {
				r, err := parseDemoRegression(regression)
				if err != nil {
					return fmt.Errorf("--regression: %w", err)
				}
				o.reg = r
			}
			if verbose {
				o.log = cmd.ErrOrStderr()
			}
			_, err := runDemo(cmd.Context(), cmd.OutOrStdout(), o)
			return err
		},
	}
	f := cmd.Flags()
	f.Float64Var(&o.speed, "speed", defaultDemoSpeed, "virtual seconds per real second: 1800 runs an hour of rollout every 2 s")
	f.DurationVar(&o.duration, "duration", defaultDemoDuration, "end the demo after this long (real time), finished or not")
	f.IntVar(&o.users, "users", defaultDemoUsers, "synthetic users (each uses smart-reply about once an hour in their daytime)")
	f.StringVar(&regression, "regression", "", "inject a regression into the treatment, e.g. 'error_rate=+60%@ring:25' or 'error_rate=+100%@ring:10 segment:country=BR'")
	f.StringVar(&o.dataDir, "data", "", "keep the demo's store in this new or empty directory (default: a temporary one, removed at the end)")
	f.StringVar(&o.addr, "addr", "127.0.0.1:0", "listen address of the server and dashboard")
	f.Uint64Var(&o.seed, "seed", 1, "seed of the synthetic users and their behaviour")
	f.BoolVar(&o.stay, "stay", false, "keep the server and dashboard up after the summary, until Ctrl-C")
	f.BoolVar(&verbose, "verbose", false, "print the server's logs to stderr")
	return cmd
}

// --- the regression to inject

// demoRegression is a harm the treatment does to some users from some stage on.
type demoRegression struct {
	// Metric is the guardrail's metric key.
	Metric string
	// Effect is the relative change of the metric's driver for the users affected:
	// +0.6 multiplies the error probability by 1.6.
	Effect float64
	// Onset is the stage from which the treatment does harm ("" from the start).
	Onset string
	// Attribute and Value confine the harm to some users ("" for everyone).
	Attribute, Value string
}

func (r *demoRegression) String() string {
	s := fmt.Sprintf("%s %+g %%", r.Metric, math.Round(r.Effect*1000)/10)
	if r.Attribute != "" {
		s += fmt.Sprintf(" for users with %s=%s", r.Attribute, r.Value)
	}
	s += " when served the treatment"
	if r.Onset != "" {
		s += ", from stage " + r.Onset + " on"
	}
	return s
}

// demoMetric is a metric a regression may target: which way it gets worse.
type demoMetric struct {
	key   string
	worse int // +1: worse when it rises; -1: when it falls
}

var demoMetrics = []demoMetric{
	{"error_rate", +1}, {"latency_p95", +1}, {"thumbs_up_rate", -1}, {"support_tickets_per_user", +1},
}

// demoMetricAliases are other names users may reach for.
var demoMetricAliases = map[string]string{"latency": "latency_p95", "tickets_per_user": "support_tickets_per_user"}

// parseDemoRegression reads 'METRIC=EFFECT[@STAGE] [segment:ATTRIBUTE=VALUE]', e.g.
// 'error_rate=+60%@ring:25' or 'error_rate=+100%@ring:10 segment:country=BR'.
func parseDemoRegression(s string) (*demoRegression, error) {
	const shape = "write METRIC=EFFECT@STAGE, e.g. error_rate=+60%@ring:25"
	fields := strings.Fields(s)
	if len(fields) == 0 {
		return nil, fmt.Errorf("empty; %s", shape)
	}
	metric, rest, ok := strings.Cut(fields[0], "=")
	if !ok {
		return nil, fmt.Errorf("%q has no '='; %s", fields[0], shape)
	}
	r := &demoRegression{Metric: strings.ToLower(strings.TrimSpace(metric))}
	if alias, ok := demoMetricAliases[r.Metric]; ok {
		r.Metric = alias
	}
	i := slices.IndexFunc(demoMetrics, func(m demoMetric) bool { return m.key == r.Metric })
	if i < 0 {
		return nil, fmt.Errorf("unknown metric %q; use error_rate, latency_p95, thumbs_up_rate or support_tickets_per_user", metric)
	}
	m := demoMetrics[i]
	effect, onset, hasOnset := strings.Cut(rest, "@")
	num, isPercent := strings.CutSuffix(effect, "%")
	v, err := strconv.ParseFloat(num, 64)
	if !isPercent || err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return nil, fmt.Errorf("effect %q: write a relative change in percent, e.g. +60%%", effect)
	}
	r.Effect = v / 100
	worse := "+"
	if m.worse < 0 {
		worse = "-"
	}
	switch {
	case v == 0:
		return nil, fmt.Errorf("effect %s changes nothing; leave --regression out for a healthy treatment", effect)
	case (v > 0) != (m.worse > 0):
		dir := "rises"
		if m.worse < 0 {
			dir = "falls"
		}
		return nil, fmt.Errorf("effect %s would improve %s, which gets worse when it %s: write %s%g%%", effect, r.Metric, dir, worse, math.Abs(v))
	case v < -100:
		return nil, fmt.Errorf("effect %s: %s cannot fall by more than 100%%", effect, r.Metric)
	case v > 1000:
		return nil, fmt.Errorf("effect %s is above +1000%%; a tenfold harm is plenty for a demo", effect)
	}
	if hasOnset {
		if strings.Contains(onset, "@") {
			return nil, fmt.Errorf("%q: give one stage after '@'", "@"+onset)
		}
		if r.Onset, err = demoOnset(onset); err != nil {
			return nil, err
		}
	}
	for _, f := range fields[1:] {
		seg, ok := strings.CutPrefix(f, "segment:")
		if !ok {
			return nil, fmt.Errorf("unexpected %q after the effect; only segment:ATTRIBUTE=VALUE may follow, e.g. segment:country=BR", f)
		}
		if r.Attribute != "" {
			return nil, fmt.Errorf("%q: give one segment", f)
		}
		attr, val, ok := strings.Cut(seg, "=")
		if !ok || attr == "" || val == "" {
			return nil, fmt.Errorf("segment %q: write segment:ATTRIBUTE=VALUE, e.g. segment:country=BR", seg)
		}
		values := demoAttributeValues(attr)
		if values == nil {
			return nil, fmt.Errorf("segment attribute %q: use country, plan or platform (the analysis dimensions)", attr)
		}
		if !slices.Contains(values, val) {
			return nil, fmt.Errorf("segment %s=%s: the demo's users have %s %s", attr, val, attr, strings.Join(values, ", "))
		}
		r.Attribute, r.Value = attr, val
	}
	return r, nil
}

// demoOnset reads a stage: alpha, beta, ring:N or ring-N.
func demoOnset(s string) (string, error) {
	rings := "1, 5, 10, 25, 50 and 100"
	name := s
	if n, ok := strings.CutPrefix(s, "ring:"); ok {
		name = "ring-" + n
	}
	if _, ok := demoStageMinimum[name]; ok {
		return name, nil
	}
	if strings.HasPrefix(name, "ring-") {
		return "", fmt.Errorf("stage %q: the demo plan's rings are %s (write ring:25)", s, rings)
	}
	return "", fmt.Errorf("unknown stage %q after '@'; use alpha, beta or ring:N (rings %s)", s, rings)
}

// --- the synthetic users

// demoShare is an attribute value and the share of users who have it.
type demoShare struct {
	value string
	share float64
}

// demoCountry is where users live: their share and time zones (with the UTC offset
// that drives their daily rhythm; daylight saving is ignored).
type demoCountry struct {
	code  string
	share float64
	zones []demoZone
}

type demoZone struct {
	name   string
	offset time.Duration
}

var demoCountries = []demoCountry{
	{"US", 0.26, []demoZone{{"America/New_York", -5 * time.Hour}, {"America/Chicago", -6 * time.Hour}, {"America/Los_Angeles", -8 * time.Hour}}},
	{"BR", 0.18, []demoZone{{"America/Sao_Paulo", -3 * time.Hour}}},
	{"IN", 0.10, []demoZone{{"Asia/Kolkata", 5*time.Hour + 30*time.Minute}}},
	{"DE", 0.08, []demoZone{{"Europe/Berlin", time.Hour}}},
	{"GB", 0.07, []demoZone{{"Europe/London", 0}}},
	{"FR", 0.06, []demoZone{{"Europe/Paris", time.Hour}}},
	{"JP", 0.06, []demoZone{{"Asia/Tokyo", 9 * time.Hour}}},
	{"MX", 0.05, []demoZone{{"America/Mexico_City", -6 * time.Hour}}},
	{"CA", 0.04, []demoZone{{"America/Toronto", -5 * time.Hour}, {"America/Vancouver", -8 * time.Hour}}},
	{"AU", 0.04, []demoZone{{"Australia/Sydney", 10 * time.Hour}}},
	{"ES", 0.03, []demoZone{{"Europe/Madrid", time.Hour}}},
	{"KR", 0.03, []demoZone{{"Asia/Seoul", 9 * time.Hour}}},
}

var (
	demoPlans     = []demoShare{{"free", 0.62}, {"pro", 0.28}, {"enterprise", 0.10}}
	demoPlatforms = []demoShare{{"web", 0.50}, {"ios", 0.30}, {"android", 0.20}}
)

// demoBetaShare of users opted in to the beta.
const demoBetaShare = 0.08

func demoAttributeValues(attr string) []string {
	var out []string
	switch attr {
	case "country":
		for _, c := range demoCountries {
			out = append(out, c.code)
		}
	case "plan":
		for _, p := range demoPlans {
			out = append(out, p.value)
		}
	case "platform":
		for _, p := range demoPlatforms {
			out = append(out, p.value)
		}
	}
	return out
}

// demoUser is one synthetic user: the context the app evaluates the flag with, and
// how often they use the feature.
type demoUser struct {
	key                         string
	ctx                         flags.Context
	country, plan, platform     string
	internal, beta              bool
	zone                        int     // index into demoPopulation.zones
	rate                        float64 // visits per virtual hour at the peak of their day
	visited, treated, regressed bool
}

func (u *demoUser) attribute(name string) string {
	switch name {
	case "country":
		return u.country
	case "plan":
		return u.plan
	case "platform":
		return u.platform
	}
	return ""
}

type demoPopulation struct {
	users     []demoUser
	zones     []demoZone
	internal  []string // the employees' keys: the internal segment
	beta      int
	countries int
}

// pick draws a value by share.
func demoPick[T any](r *rand.Rand, items []T, share func(T) float64) T {
	u := r.Float64()
	for _, it := range items {
		if u -= share(it); u < 0 {
			return it
		}
	}
	return items[len(items)-1]
}

// newDemoPopulation makes n users: a few employees (the internal segment), about 8 %
// opted in to the beta, and a mix of countries, time zones, plans and platforms.
func newDemoPopulation(n int, r *rand.Rand) *demoPopulation {
	p := &demoPopulation{countries: len(demoCountries)}
	zoneIndex := map[string]int{}
	for _, c := range demoCountries {
		for _, z := range c.zones {
			zoneIndex[z.name] = len(p.zones)
			p.zones = append(p.zones, z)
		}
	}
	employees := min(max(n/100, 20), 100)
	p.users = make([]demoUser, n)
	for i := range p.users {
		u := &p.users[i]
		u.internal = i < employees
		if u.internal {
			u.key = fmt.Sprintf("emp-%03d", i+1)
			p.internal = append(p.internal, u.key)
		} else {
			u.key = fmt.Sprintf("user-%06d", i-employees+1)
		}
		c := demoPick(r, demoCountries, func(c demoCountry) float64 { return c.share })
		z := c.zones[r.IntN(len(c.zones))]
		u.country, u.zone = c.code, zoneIndex[z.name]
		u.plan = demoPick(r, demoPlans, func(s demoShare) float64 { return s.share }).value
		if u.internal {
			u.plan = "pro"
		}
		u.platform = demoPick(r, demoPlatforms, func(s demoShare) float64 { return s.share }).value
		u.beta = !u.internal && r.Float64() < demoBetaShare
		if u.beta {
			p.beta++
		}
		// Some people use the feature much more than others (log-normal, mean 1).
		u.rate = 0.8 * math.Exp(0.5*r.NormFloat64()-0.125)
		u.ctx = flags.Context{Key: u.key, Attributes: map[string]any{
			"country": u.country, "plan": u.plan, "platform": u.platform, "timezone": z.name, "beta_opt_in": u.beta,
		}}
	}
	return p
}

// activity is how busy people are at local hour h: little at night, most in the
// afternoon (a raised sine from 07:00 to 23:00).
func demoActivity(h float64) float64 {
	h = math.Mod(h+48, 24)
	if h < 7 || h > 23 {
		return 0.15
	}
	return 0.15 + 1.6*math.Sin(math.Pi*(h-7)/16)
}

// demoModel is what a request to smart-reply does, the same for both variants: the
// treatment is as good as control unless a regression is injected.
type demoModel struct {
	errorRate     float64 // per request: a timeout, a refusal, a provider error
	latencyMedian float64 // ms
	latencyLogSD  float64
	rateShare     float64 // of requests the user rates with a thumb
	thumbsUp      float64 // of ratings
	ticketRate    float64 // support tickets per request
	ticketOnError float64 // more when the request failed
}

var demoBehaviour = demoModel{errorRate: 0.05, latencyMedian: 420, latencyLogSD: 0.45, rateShare: 0.3, thumbsUp: 0.82,
	ticketRate: 0.003, ticketOnError: 0.03}

// demoComments are what unhappy users write with a thumbs-down.
var demoComments = []string{"the reply was off-topic", "too long", "it misread the thread", "wrong language", "sounded robotic"}

// --- the compressed clock

// demoClock is the demo's compressed time: speed virtual seconds pass every real
// second. The controller decides by it, stage durations are counted in it and the
// SDK dates metric events with it.
//
// It runs behind the wall clock: it starts far enough in the past that it cannot
// overtake the wall clock during the demo. The server dates what it receives with
// the wall clock (exposures, and any event claiming a later time), and an event
// dated before its stage's evidence period does not count; a clock running ahead
// would make every event look older than the stage it belongs to.
type demoClock struct {
	speed  float64
	origin time.Time // the virtual time at start
	start  time.Time // the wall time at start (with its monotonic reading)
}

// newDemoClock returns a clock that stays behind the wall clock for span. It starts
// at a midnight UTC, so that every demo meets the same times of day: the rollout's
// rings run in the Americas' daytime, when most of the synthetic users are awake.
func newDemoClock(speed float64, span time.Duration) *demoClock {
	start := time.Now()
	behind := time.Duration(float64(span) * (speed - 1))
	return &demoClock{speed: speed, start: start, origin: start.Add(-behind).UTC().Truncate(24 * time.Hour)}
}

// Now returns the virtual time.
func (c *demoClock) Now() time.Time {
	return c.origin.Add(c.toVirtual(time.Since(c.start)))
}

// NewTicker ticks every d of virtual time.
func (c *demoClock) NewTicker(d time.Duration) (<-chan time.Time, func()) {
	t := time.NewTicker(max(c.toReal(d), time.Millisecond))
	return t.C, t.Stop
}

func (c *demoClock) toVirtual(d time.Duration) time.Duration {
	return time.Duration(float64(d) * c.speed)
}

func (c *demoClock) toReal(d time.Duration) time.Duration {
	return time.Duration(float64(d) / c.speed)
}

// --- the run

// demoReport is how a demo ended.
type demoReport struct {
	URL, Token, RolloutID string
	// Status is the rollout's last status; Stage the last stage it reached.
	Status rollout.Status
	Stage  string
	// Alerts are the texts the local Slack receiver got.
	Alerts []string
	// Interrupted is set when the demo was stopped before the rollout finished or
	// its duration passed.
	Interrupted bool
}

// demoPrinter writes lines from several goroutines, each with the real and the
// virtual time since the rollout started.
type demoPrinter struct {
	mu    sync.Mutex
	w     io.Writer
	clock *demoClock
	t0    time.Time // virtual start of the rollout
}

func (p *demoPrinter) printf(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.w, format, args...)
}

// event prints a line stamped with real and virtual time, at virtual time at.
func (p *demoPrinter) event(at time.Time, symbol, format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	real := p.clock.toReal(at.Sub(p.clock.origin))
	fmt.Fprintf(p.w, "  %5s  %-9s %s %s\n", demoRealStamp(real), demoVirtualStamp(at.Sub(p.t0)), symbol, fmt.Sprintf(format, args...))
}

func demoRealStamp(d time.Duration) string {
	d = max(d, 0).Round(time.Second)
	return fmt.Sprintf("%d:%02d", int(d.Minutes()), int(d.Seconds())%60)
}

func demoVirtualStamp(d time.Duration) string {
	d = max(d, 0).Truncate(time.Minute)
	return fmt.Sprintf("T+%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
}

// runDemo runs the demo until the rollout finishes, o.duration passes or ctx ends,
// and prints a summary. It returns an error only when the demo could not run.
func runDemo(ctx context.Context, out io.Writer, o demoOptions) (*demoReport, error) {
	if o.speed <= 0 {
		o.speed = defaultDemoSpeed
	}
	if o.duration <= 0 {
		o.duration = defaultDemoDuration
	}
	if o.users <= 0 {
		o.users = defaultDemoUsers
	}
	if o.addr == "" {
		o.addr = "127.0.0.1:0"
	}
	logw := o.log
	if logw == nil {
		logw = io.Discard
	}
	dir, cleanup, err := demoDataDir(o.dataDir)
	if err != nil {
		return nil, err
	}
	defer cleanup()

	rng := rand.New(rand.NewPCG(o.seed, 0x7261_6d70))
	pop := newDemoPopulation(o.users, rng)
	// Seeding, the rollout and the summary take a little more than o.duration.
	clock := newDemoClock(o.speed, o.duration+time.Minute)
	pr := &demoPrinter{w: out, clock: clock, t0: clock.Now()}
	alerts := newDemoAlerts(pr)
	defer alerts.close()

	// The server, exactly as `ramp serve` wires it, on the demo's clock.
	srvCtx, stopServer := context.WithCancel(context.WithoutCancel(ctx))
	started := make(chan [2]string, 1)
	served := make(chan error, 1)
	go func() {
		served <- serveWith(srvCtx, io.Discard, logw, o.addr, dir, "text", nil, serveOptions{
			tick: clock.toVirtual(demoTick), clock: clock,
			started: func(url, token string) { started <- [2]string{url, token} },
		})
	}()
	defer func() {
		stopServer()
		if err := <-served; err != nil {
			pr.printf("ramp demo: the server stopped with an error: %v\n", err)
		}
	}()
	var base, token string
	select {
	case s := <-started:
		base, token = s[0], s[1]
	case err := <-served:
		served <- nil // the deferred shutdown has nothing left to wait for
		return nil, fmt.Errorf("start the server: %w", err)
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if token == "" {
		return nil, fmt.Errorf("the store in %s already has API tokens; the demo needs a new or empty directory", dir)
	}
	api := &apiClient{base: base, token: token, reason: "ramp demo", http: &http.Client{Timeout: 30 * time.Second}}
	rep := &demoReport{URL: base, Token: token}

	plan := demoPlan(pop, clock)
	sdkKey, err := demoSeed(ctx, api, pop, plan, alerts.url)
	if err != nil {
		return rep, fmt.Errorf("seed the demo: %w", err)
	}
	var created struct {
		ID string `json:"id"`
	}
	if _, err := api.do(ctx, "POST", "/api/v1/rollouts", map[string]any{"template": rollout.TemplateAIStandard, "overrides": plan}, &created, nil); err != nil {
		return rep, fmt.Errorf("create the rollout: %w", err)
	}
	rep.RolloutID = created.ID

	sdkLog := slog.New(slog.NewTextHandler(logw, nil))
	var sdkErrors demoErrors
	client, err := sdk.New(ctx, sdk.Config{URL: base, SDKKey: sdkKey, Environment: demoEnv, FlushInterval: 100 * time.Millisecond,
		QueueSize: 200_000, MaxBatch: 5000, Logger: sdkLog, OnError: sdkErrors.note})
	if err != nil {
		return rep, err
	}
	closeSDK := sync.OnceFunc(func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		_ = client.Close(cctx)
	})
	defer closeSDK()
	readyCtx, cancel := context.WithTimeout(ctx, 15*time.Second)
	err = client.WaitReady(readyCtx)
	cancel()
	if err != nil {
		return rep, fmt.Errorf("the SDK did not get the flags: %w", err)
	}

	demoHeader(pr, o, pop, plan, rep, alerts.url)
	if _, err := api.do(ctx, "POST", "/api/v1/rollouts/"+rep.RolloutID+"/start", map[string]any{"reason": "ramp demo"}, nil, nil); err != nil {
		return rep, fmt.Errorf("start the rollout: %w", err)
	}
	pr.t0 = clock.Now()

	// Users, and a watcher printing the controller's decisions.
	runCtx, stopRun := context.WithTimeout(ctx, o.duration)
	defer stopRun()
	traffic := newDemoTraffic(client, clock, pop, plan, o.reg, rand.New(rand.NewPCG(o.seed, 0x7573_6572)))
	trafficDone := make(chan struct{})
	go func() { defer close(trafficDone); traffic.run(runCtx) }()
	w := &demoWatcher{api: api, id: rep.RolloutID, plan: plan, pr: pr, pop: pop, finished: make(chan struct{})}
	watchDone := make(chan struct{})
	go func() { defer close(watchDone); w.run(runCtx) }()

	select {
	case <-w.finished:
		// Give the alert a moment to arrive (its delivery never held the rollback up),
		// with users still being served: control now, or the treatment for everyone.
		select {
		case <-alerts.arrived:
		case <-time.After(5 * time.Second):
		case <-runCtx.Done():
		}
		grace := time.NewTimer(time.Second)
		select {
		case <-grace.C:
		case <-runCtx.Done():
		}
	case <-runCtx.Done():
	}
	rep.Interrupted = ctx.Err() != nil
	stopRun()
	<-trafficDone
	<-watchDone
	closeSDK()

	sumCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
	defer cancel()
	w.drain(sumCtx)
	if err := demoSummary(sumCtx, pr, api, rep, w, traffic, client, &sdkErrors, alerts, o); err != nil {
		return rep, err
	}
	if o.stay && ctx.Err() == nil {
		pr.printf("\nThe server stays up for you to explore: %s (Ctrl-C to stop).\n", base)
		<-ctx.Done()
	}
	return rep, nil
}

// demoDataDir returns the directory for the store: o.dataDir (new or empty) or a
// temporary one removed by cleanup.
func demoDataDir(dir string) (string, func(), error) {
	if dir == "" {
		tmp, err := os.MkdirTemp("", "ramp-demo-")
		if err != nil {
			return "", nil, err
		}
		return tmp, func() { os.RemoveAll(tmp) }, nil
	}
	if _, err := os.Stat(filepath.Join(dir, "ramp.db")); err == nil {
		return "", nil, fmt.Errorf("--data %s already holds a ramp store; the demo seeds a fresh one: give a new or empty directory, or leave --data out", dir)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", nil, fmt.Errorf("--data %s: %w", dir, err)
	}
	return dir, func() {}, nil
}

// demoPlan is the ai-standard template with stages short enough for a demo: the
// minimum durations of demoStageMinimum, minimum samples a third of what each stage
// should see, advancing on time and sample (the guardrails still pause and roll
// back), a fourth guardrail on support tickets, enterprise customers kept on control
// until ring-50, a 5 % holdout so that ring-100 still has a control to be compared
// with, and no windows or blackouts.
func demoPlan(pop *demoPopulation, clock *demoClock) rollout.Plan {
	p, _ := rollout.Template(rollout.TemplateAIStandard)
	n := float64(len(pop.users))
	eligible := n - float64(len(pop.internal)+pop.beta)
	enterprise := 0.0
	for _, s := range demoPlans {
		if s.value == "enterprise" {
			enterprise = s.share * eligible
		}
	}
	kept := 1 - demoHoldoutPercent/100
	passedExclusion := false
	for i := range p.Stages {
		s := &p.Stages[i]
		s.MinDuration = rollout.Duration(demoStageMinimum[s.Name])
		if s.Name == demoExcludedUntil {
			passedExclusion = true
		}
		// Units each arm should see (most users visit within a few hours), and a
		// third of it as the stage's minimum.
		var treated, pool float64
		switch {
		case slices.Contains(s.Segments, "internal"):
			pool = float64(len(pop.internal))
			treated = pool * kept / 2
		case slices.Contains(s.Segments, "beta"):
			pool = float64(len(pop.internal) + pop.beta)
			treated = pool * kept / 2
		default:
			pool = eligible
			if !passedExclusion {
				pool -= enterprise
			}
			treated = pool * kept * s.Percent / 100
		}
		expected := min(treated, pool-treated)
		s.MinUnitsPerArm = int64(max(3, math.Min(1000, math.Round(expected*0.85/3))))
	}
	p.Guardrails = append(p.Guardrails, rollout.Guardrail{Metric: "support_tickets_per_user", Kind: rollout.Mean, Direction: rollout.Increase,
		Tolerance: rollout.Amount{Relative: 0.25}, Action: rollout.Rollback})
	return rollout.Plan{
		Description: "ramp demo: " + p.Description,
		Flag:        demoFlag, Environment: demoEnv, Treatment: demoTreatment, Control: demoControl,
		Stages: p.Stages, Guardrails: p.Guardrails,
		Exclusions:     []rollout.Exclusion{{Segment: "enterprise", UntilStage: demoExcludedUntil}},
		HoldoutPercent: demoHoldoutPercent,
		AdvanceOn:      rollout.OnTime,
		// Ticks and freshness bounds in the demo's time: data older than 3 s (real)
		// holds, no data for 10 s pauses.
		Tick:                  rollout.Duration(clock.toVirtual(demoTick)),
		StaleAfter:            rollout.Duration(clock.toVirtual(3 * time.Second)),
		PauseWithoutDataAfter: rollout.Duration(clock.toVirtual(10 * time.Second)),
	}
}

// demoSeed creates, through the API, what the demo needs and returns a server SDK
// key: the segments, the flag (serving control), the alert channel.
func demoSeed(ctx context.Context, api *apiClient, pop *demoPopulation, plan rollout.Plan, alertURL string) (string, error) {
	env := "/api/v1/environments/" + demoEnv
	segments := []flags.Segment{
		{Key: "internal", Description: "employees who dogfood AI features", Included: pop.internal},
		{Key: "beta", Description: "users who opted in to the beta", Rules: []flags.SegmentRule{{Conditions: []flags.Condition{
			{Attribute: "beta_opt_in", Op: flags.OpEquals, Value: true}}}}},
		{Key: "enterprise", Description: "enterprise customers: not in early stages", Rules: []flags.SegmentRule{{Conditions: []flags.Condition{
			{Attribute: "plan", Op: flags.OpEquals, Value: "enterprise"}}}}},
	}
	for _, s := range segments {
		if _, err := api.do(ctx, "POST", env+"/segments", s, nil, nil); err != nil {
			return "", fmt.Errorf("segment %s: %w", s.Key, err)
		}
	}
	flag := flags.Flag{Key: demoFlag, Type: flags.TypeJSON, Description: "AI smart replies: the model and prompt configuration",
		Variants: demoVariants, OffVariant: demoControl, Enabled: true, Default: &flags.Allocation{Variant: demoControl},
		Tags: []string{"ai", "demo"}}
	if _, err := api.do(ctx, "POST", "/api/v1/flags", flag, nil, nil); err != nil {
		return "", fmt.Errorf("flag %s: %w", demoFlag, err)
	}
	channel := map[string]any{"name": demoChannel, "type": "slack", "url": alertURL,
		"kinds": []string{"paused", "rolled_back", "completed"}}
	if _, err := api.do(ctx, "POST", env+"/notification-channels", channel, nil, nil); err != nil {
		return "", fmt.Errorf("notification channel: %w", err)
	}
	var key struct {
		Secret string `json:"secret"`
	}
	if _, err := api.do(ctx, "POST", env+"/sdk-keys", map[string]any{"name": "demo-app"}, &key, nil); err != nil {
		return "", fmt.Errorf("SDK key: %w", err)
	}
	if key.Secret == "" {
		return "", errors.New("SDK key: the answer carries no secret")
	}
	return key.Secret, nil
}

func demoHeader(pr *demoPrinter, o demoOptions, pop *demoPopulation, plan rollout.Plan, rep *demoReport, alertURL string) {
	var stages []string
	for _, s := range plan.Stages {
		stages = append(stages, fmt.Sprintf("%s %s", s.Name, s.MinDuration))
	}
	var guards []string
	for _, g := range plan.Guardrails {
		guards = append(guards, fmt.Sprintf("%s (%s)", g.Metric, g.Action))
	}
	per := time.Duration(float64(time.Hour) / o.speed)
	pr.printf(`ramp demo: a safe rollout of the AI feature %q, on a compressed clock

  dashboard    %s/rollouts/%s
               (sign in at %s/login with the admin token)
  admin token  %s
  CLI          RAMP_URL=%s RAMP_TOKEN=%s ramp rollout status %s
  clock        1 virtual hour every %s (--speed %g); the demo ends within %s
  users        %d synthetic users in %d countries and %d time zones (%d employees, %d beta testers),
               using %s through the Go SDK
  plan         ai-standard, advancing on time and sample: %s
  guardrails   %s
  exclusions   enterprise customers stay on control until %s; a %g %% holdout never gets the treatment
  alerts       Slack-style webhook to a local receiver (%s), printed here
`, demoFlag, rep.URL, rep.RolloutID, rep.URL, rep.Token, rep.URL, rep.Token, rep.RolloutID,
		per.Round(time.Millisecond), o.speed, o.duration, len(pop.users), pop.countries, len(pop.zones), len(pop.internal), pop.beta,
		demoFlag, strings.Join(stages, " → "), strings.Join(guards, ", "), demoExcludedUntil, plan.HoldoutPercent, alertURL)
	if o.reg == nil {
		pr.printf("  regression   none: the treatment is as good as control (try --regression 'error_rate=+60%%@ring:25')\n")
	} else {
		pr.printf("  regression   %s\n", o.reg)
		if o.reg.Onset == "ring-100" {
			pr.printf("               note: at ring-100 everyone gets the treatment and there is no control left to compare\n" +
				"               with, so nothing can detect it there; that is what a holdout is for\n")
		}
	}
	pr.printf("\n   real  virtual\n")
}

// --- users at work

// demoTraffic drives the synthetic users through the SDK.
type demoTraffic struct {
	client *sdk.Client
	clock  *demoClock
	pop    *demoPopulation
	reg    *demoRegression
	rng    *rand.Rand
	// stages maps stage names to indexes; onset is the regression's stage index.
	stages map[string]int
	onset  int
	// reached is the latest stage seen in an evaluation's rule metadata.
	reached int

	visits, treatedVisits, events atomic.Int64
}

func newDemoTraffic(client *sdk.Client, clock *demoClock, pop *demoPopulation, plan rollout.Plan, reg *demoRegression, rng *rand.Rand) *demoTraffic {
	t := &demoTraffic{client: client, clock: clock, pop: pop, reg: reg, rng: rng, stages: map[string]int{}, reached: -1}
	for i, s := range plan.Stages {
		t.stages[s.Name] = i
	}
	if reg != nil && reg.Onset != "" {
		t.onset = t.stages[reg.Onset]
	}
	return t
}

// run makes users visit, each at their own rate and the rhythm of their time zone,
// until ctx ends.
func (t *demoTraffic) run(ctx context.Context) {
	tick := time.NewTicker(demoTrafficTick)
	defer tick.Stop()
	last := t.clock.Now()
	activity := make([]float64, len(t.pop.zones))
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		now := t.clock.Now()
		hours := now.Sub(last).Hours()
		last = now
		utc := float64(now.Hour()) + float64(now.Minute())/60
		for i, z := range t.pop.zones {
			activity[i] = demoActivity(utc + z.offset.Hours())
		}
		for i := range t.pop.users {
			u := &t.pop.users[i]
			for range demoPoisson(t.rng, u.rate*activity[u.zone]*hours) {
				t.visit(ctx, u, now)
			}
		}
	}
}

// visit is one use of smart-reply: the app asks the SDK for the configuration, calls
// the model and reports what happened.
func (t *demoTraffic) visit(ctx context.Context, u *demoUser, now time.Time) {
	d := t.client.JSONDetail(demoFlag, u.ctx, demoVariants[demoControl])
	t.visits.Add(1)
	u.visited = true
	stage := t.reached
	if s, ok := d.RuleMetadata["stage"]; ok {
		if i, ok := t.stages[s]; ok {
			stage = i
			t.reached = max(t.reached, i)
		}
	}
	m := demoBehaviour
	if d.Variant == demoTreatment {
		t.treatedVisits.Add(1)
		u.treated = true
		if r := t.reg; r != nil && stage >= t.onset && (r.Attribute == "" || u.attribute(r.Attribute) == r.Value) {
			u.regressed = true
			switch r.Metric {
			case "error_rate":
				m.errorRate = min(1, m.errorRate*(1+r.Effect))
			case "latency_p95":
				m.latencyMedian *= 1 + r.Effect
			case "thumbs_up_rate":
				m.thumbsUp = max(0, m.thumbsUp*(1+r.Effect))
			case "support_tickets_per_user":
				m.ticketRate *= 1 + r.Effect
				m.ticketOnError *= 1 + r.Effect
			}
		}
	}
	at := sdk.WithTime(now)
	track := func(metric string, v float64, opts ...sdk.TrackOption) {
		if t.client.Track(ctx, u.key, metric, v, append(opts, at)...) == nil {
			t.events.Add(1) // a full queue drops the event; the SDK counts it
		}
	}
	r := t.rng
	track("latency_ms", math.Round(m.latencyMedian*math.Exp(m.latencyLogSD*r.NormFloat64())))
	failed := r.Float64() < m.errorRate
	ticket := m.ticketRate
	if failed {
		track("error", 1)
		ticket += m.ticketOnError
	} else if r.Float64() < m.rateShare {
		if r.Float64() < m.thumbsUp {
			track("thumbs_up", 1)
		} else if r.Float64() < 0.2 {
			track("thumbs_up", 0, sdk.WithComment(demoComments[r.IntN(len(demoComments))]))
		} else {
			track("thumbs_up", 0)
		}
	}
	if r.Float64() < ticket {
		track("support_ticket", 1)
	}
}

// demoErrors counts the problems the SDK reports and keeps the last.
type demoErrors struct {
	mu   sync.Mutex
	n    int
	last string
}

func (e *demoErrors) note(err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.n++
	e.last = err.Error()
}

func (e *demoErrors) get() (int, string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.n, e.last
}

// demoPoisson draws a Poisson variate by inversion (the means here are small).
func demoPoisson(r *rand.Rand, mean float64) int {
	if mean <= 0 {
		return 0
	}
	u, p := r.Float64(), math.Exp(-mean)
	cdf, k := p, 0
	for u > cdf && k < 1000 {
		k++
		p *= mean / float64(k)
		cdf += p
	}
	return k
}

// --- watching the controller

// demoWatcher prints the rollout's decisions as the controller makes them.
type demoWatcher struct {
	api  *apiClient
	id   string
	plan rollout.Plan
	pr   *demoPrinter
	pop  *demoPopulation

	seq       int64
	decisions []store.RolloutDecision
	finished  chan struct{}
	done      bool
}

func (w *demoWatcher) run(ctx context.Context) {
	tick := time.NewTicker(150 * time.Millisecond)
	defer tick.Stop()
	for {
		w.poll(ctx)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// drain prints the decisions not printed yet.
func (w *demoWatcher) drain(ctx context.Context) { w.poll(ctx) }

func (w *demoWatcher) poll(ctx context.Context) {
	var page struct {
		Items []store.RolloutDecision `json:"items"`
	}
	path := fmt.Sprintf("/api/v1/rollouts/%s/decisions?after=%d&limit=1000", w.id, w.seq)
	if _, err := w.api.do(ctx, "GET", path, nil, &page, nil); err != nil {
		return // the next poll tries again; the summary reports what was seen
	}
	for _, d := range page.Items {
		w.seq = max(w.seq, d.Seq)
		w.decisions = append(w.decisions, d)
		w.print(d)
		if (d.Kind == string(rollout.KindComplete) || d.Kind == string(rollout.KindRollback)) && !w.done {
			w.done = true
			close(w.finished)
		}
	}
}

func (w *demoWatcher) stage(i int) string {
	if i >= 0 && i < len(w.plan.Stages) {
		return w.plan.Stages[i].Name
	}
	return strconv.Itoa(i)
}

func (w *demoWatcher) audience(i int) string {
	if i < 0 || i >= len(w.plan.Stages) {
		return ""
	}
	s := w.plan.Stages[i]
	switch {
	case slices.Contains(s.Segments, "internal"):
		return fmt.Sprintf("the %d employees of segment internal, half of them on the treatment", len(w.pop.internal))
	case slices.Contains(s.Segments, "beta"):
		return fmt.Sprintf("+ the %d beta testers, half of them on the treatment", w.pop.beta)
	case s.Percent == 100:
		return "the treatment for everyone"
	}
	return fmt.Sprintf("the treatment for %g %% of everyone else", s.Percent)
}

func (w *demoWatcher) print(d store.RolloutDecision) {
	units := ""
	if ev := d.Evidence; ev != nil && (ev.UnitsTreatment > 0 || ev.UnitsControl > 0) {
		units = fmt.Sprintf(" with %d treatment and %d control units", ev.UnitsTreatment, ev.UnitsControl)
	}
	elapsed := ""
	if ev := d.Evidence; ev != nil && ev.Elapsed > 0 {
		elapsed = " after " + rollout.Duration(ev.Elapsed.D().Round(time.Minute)).String()
	}
	switch rollout.TransitionKind(d.Kind) {
	case rollout.KindStart:
		w.pr.event(d.At, "▶", "start     %-9s %s", w.stage(d.ToStage), w.audience(d.ToStage))
	case rollout.KindAdvance:
		w.pr.event(d.At, "⬆", "advance   %-9s %s passed%s%s; now %s", w.stage(d.ToStage), w.stage(d.FromStage), elapsed, units, w.audience(d.ToStage))
	case rollout.KindComplete:
		w.pr.event(d.At, "✔", "complete  %-9s %s passed%s%s: smart-reply's treatment is everyone's", w.stage(d.FromStage), w.stage(d.FromStage), elapsed, units)
	case rollout.KindRollback:
		w.pr.event(d.At, "⟲", "ROLLBACK  %-9s by the %s: %s", w.stage(d.FromStage), d.Actor, d.Reason)
		w.pr.printf("                   everyone is served control again (flag version %d, streamed to the SDK)\n", d.FlagVersion)
	case rollout.KindPause:
		w.pr.event(d.At, "⏸", "PAUSE     %-9s %s", w.stage(d.FromStage), d.Reason)
		w.pr.printf("                   a person decides now: resume or roll back on the dashboard, or ramp rollout resume %s\n", w.id)
	case rollout.KindResume:
		w.pr.event(d.At, "▶", "resume    %-9s by %s", w.stage(d.ToStage), d.Actor)
	default:
		if d.Kind == store.KindHold {
			w.pr.event(d.At, "…", "hold      %-9s %s", w.stage(d.FromStage), d.Reason)
			return
		}
		w.pr.event(d.At, "·", "%-9s %-9s %s", d.Kind, w.stage(d.ToStage), d.Reason)
	}
}

// --- the alert receiver

// demoAlerts is the local Slack-style receiver: it prints what it gets.
type demoAlerts struct {
	srv     *httptest.Server
	url     string
	pr      *demoPrinter
	arrived chan struct{} // receives once per alert

	mu    sync.Mutex
	texts []string
	times []time.Time
}

func newDemoAlerts(pr *demoPrinter) *demoAlerts {
	a := &demoAlerts{pr: pr, arrived: make(chan struct{}, 16)}
	a.srv = httptest.NewServer(http.HandlerFunc(a.receive))
	a.url = a.srv.URL + "/services/demo"
	return a
}

func (a *demoAlerts) close() { a.srv.Close() }

func (a *demoAlerts) receive(w http.ResponseWriter, r *http.Request) {
	var m slack.Message
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&m); err != nil {
		http.Error(w, "not a Slack message", http.StatusBadRequest)
		return
	}
	text := html.UnescapeString(m.Text)
	a.mu.Lock()
	a.texts = append(a.texts, text)
	a.times = append(a.times, time.Now())
	a.mu.Unlock()
	var b strings.Builder
	fmt.Fprintf(&b, "  %5s  %-9s 🔔 alert received by the Slack webhook at %s\n", demoRealStamp(time.Since(a.pr.clock.start)), "", a.srv.URL)
	fmt.Fprintf(&b, "                   │ %s\n", text)
	for _, bl := range m.Blocks {
		if bl.Text == nil || !strings.HasPrefix(bl.Text.Text, "*Evidence*") {
			continue
		}
		for _, line := range strings.Split(html.UnescapeString(bl.Text.Text), "\n")[1:] {
			fmt.Fprintf(&b, "                   │   %s\n", strings.TrimPrefix(line, "• "))
		}
	}
	a.pr.printf("%s", b.String())
	w.WriteHeader(http.StatusOK)
	io.WriteString(w, "ok")
	select {
	case a.arrived <- struct{}{}:
	default:
	}
}

func (a *demoAlerts) received() ([]string, []time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.texts), slices.Clone(a.times)
}

// --- the summary

func demoSummary(ctx context.Context, pr *demoPrinter, api *apiClient, rep *demoReport, w *demoWatcher, t *demoTraffic,
	client *sdk.Client, sdkErrors *demoErrors, alerts *demoAlerts, o demoOptions) error {
	var ro struct {
		store.Rollout
		StageName string `json:"stage_name"`
	}
	if _, err := api.do(ctx, "GET", "/api/v1/rollouts/"+rep.RolloutID, nil, &ro, nil); err != nil {
		return fmt.Errorf("read the rollout for the summary: %w", err)
	}
	rep.Status, rep.Stage = ro.State.Status, ro.StageName
	rep.Alerts, _ = alerts.received()

	pr.printf("\nSummary\n")
	switch ro.State.Status {
	case rollout.Completed:
		pr.printf("  outcome       completed: smart-reply's treatment reached 100 %% of users\n")
	case rollout.RolledBack:
		pr.printf("  outcome       rolled back automatically at %s: everyone is on control\n", ro.StageName)
	case rollout.Paused:
		pr.printf("  outcome       paused at %s, waiting for a person (%s)\n", ro.StageName, ro.State.Reason)
	case rollout.Running:
		if rep.Interrupted {
			pr.printf("  outcome       still running at %s when the demo was interrupted\n", ro.StageName)
		} else {
			pr.printf("  outcome       still running at %s when the demo ended (--duration %s); give it longer or a higher --speed\n",
				ro.StageName, o.duration)
		}
	default:
		pr.printf("  outcome       %s at %s\n", ro.State.Status, ro.StageName)
	}

	// Time per stage, from the decision log.
	type visit struct {
		stage    int
		from, to time.Time
	}
	var visits []visit
	for _, d := range w.decisions {
		switch rollout.TransitionKind(d.Kind) {
		case rollout.KindStart, rollout.KindAdvance:
			if n := len(visits); n > 0 && visits[n-1].to.IsZero() {
				visits[n-1].to = d.At
			}
			visits = append(visits, visit{stage: d.ToStage, from: d.At})
		case rollout.KindComplete, rollout.KindRollback:
			if n := len(visits); n > 0 && visits[n-1].to.IsZero() {
				visits[n-1].to = d.At
			}
		}
	}
	var parts []string
	for _, v := range visits {
		end := v.to
		open := end.IsZero()
		if open {
			end = w.pr.clock.Now()
		}
		d := end.Sub(v.from)
		s := fmt.Sprintf("%s %s (%s)", w.stage(v.stage), rollout.Duration(d.Round(time.Minute)), w.pr.clock.toReal(d).Round(100*time.Millisecond))
		if open {
			s += " so far"
		}
		parts = append(parts, s)
	}
	pr.printf("  stages        %s\n", demoWrap(parts, " → ", 16, 100))

	var last *store.RolloutDecision
	for i := range w.decisions {
		if d := &w.decisions[i]; d.Kind != store.KindHold {
			last = d
		}
	}
	if last != nil {
		pr.printf("  decision      %s by the %s: %s\n", last.Kind, last.Actor, last.Reason)
	}

	visited, treated, regressed := 0, 0, 0
	for i := range t.pop.users {
		u := &t.pop.users[i]
		if u.visited {
			visited++
		}
		if u.treated {
			treated++
		}
		if u.regressed {
			regressed++
		}
	}
	stats := client.Stats()
	pr.printf("  units         %d of %d users used smart-reply (%d visits); %d were served the treatment at some point\n",
		visited, len(t.pop.users), t.visits.Load(), treated)
	if o.reg != nil {
		pr.printf("  blast radius  %d users met the regression before it was stopped\n", regressed)
	}
	pr.printf("  SDK           %d exposures and %d metric events sent in %d batches; %d dropped\n",
		stats.Exposures, t.events.Load(), stats.BatchesSent, stats.EventsDropped)
	if stats.Exposures == 0 && t.visits.Load() > 0 {
		pr.printf("  warning       the SDK recorded no exposures of the rollout, so the analysis had no data to decide on:\n" +
			"                the SDK and the rules the rollout renders disagree on how they name the rollout\n")
	}
	if n, last := sdkErrors.get(); n > 0 {
		pr.printf("                %d SDK errors, the last: %s\n", n, last)
	}

	if ro.State.Status == rollout.RolledBack {
		var inStage time.Duration
		if n := len(visits); n > 0 && !visits[n-1].to.IsZero() {
			inStage = visits[n-1].to.Sub(visits[n-1].from)
		}
		if err := demoRollbackEvidence(ctx, pr, api, rep.RolloutID, inStage); err != nil {
			return err
		}
	}
	texts, times := alerts.received()
	if len(texts) == 0 {
		pr.printf("  alerts        none received\n")
	}
	for i, text := range texts {
		pr.printf("  alert         %s: %s\n", demoRealStamp(times[i].Sub(pr.clock.start)), demoTruncate(text, 110))
	}
	var verify struct {
		OK      bool `json:"ok"`
		Entries int  `json:"entries"`
	}
	if _, err := api.do(ctx, "GET", "/api/v1/audit/verify", nil, &verify, nil); err == nil {
		state := "intact"
		if !verify.OK {
			state = "BROKEN"
		}
		pr.printf("  audit log     %d entries, hash chain %s\n", verify.Entries, state)
	}
	if o.dataDir != "" {
		pr.printf("\nThe store is kept in %s: ramp serve --store %s, and sign in with the token above.\n", o.dataDir, o.dataDir)
	}
	return nil
}

// demoRollbackEvidence prints the audit entry of the rollback: what the controller
// decided on, as recorded for good.
func demoRollbackEvidence(ctx context.Context, pr *demoPrinter, api *apiClient, id string, inStage time.Duration) error {
	var page struct {
		Items []store.AuditEntry `json:"items"`
	}
	q := url.Values{"target": {"rollout:" + id}, "action": {"rollout.rollback"}, "limit": {"1"}}
	if _, err := api.do(ctx, "GET", "/api/v1/audit?"+q.Encode(), nil, &page, nil); err != nil {
		return fmt.Errorf("read the rollback's audit entry: %w", err)
	}
	if len(page.Items) == 0 {
		pr.printf("  evidence      the rollback has no audit entry!\n")
		return nil
	}
	e := page.Items[0]
	var after struct {
		Decision store.RolloutDecision `json:"decision"`
	}
	_ = json.Unmarshal(e.After, &after)
	pr.printf("  evidence      audit entry #%d (%s by %s), as recorded:\n", e.Seq, e.Action, e.Actor)
	ev := after.Decision.Evidence
	if ev == nil {
		pr.printf("                (no evidence recorded)\n")
		return nil
	}
	if tr := ev.Trigger; tr != nil {
		where := ""
		if tr.Dimension != "" {
			where = " in " + tr.Dimension
		}
		pr.printf("                trigger    %s %s%s: %s\n", tr.Metric, tr.Verdict, where, tr.Summary)
	}
	for _, g := range ev.Guardrails {
		if ev.Trigger != nil && g.Metric == ev.Trigger.Metric && ev.Trigger.Dimension == "" {
			continue // printed as the trigger
		}
		pr.printf("                guardrail  %s %s %s\n", g.Metric, g.Verdict, g.Summary)
	}
	pr.printf("                units      %d treatment, %d control, %s into stage %s\n",
		ev.UnitsTreatment, ev.UnitsControl, rollout.Duration(inStage.Round(time.Minute)), ev.StageName)
	return nil
}

// demoWrap joins parts with sep, breaking lines at width and indenting them.
func demoWrap(parts []string, sep string, indent, width int) string {
	var b strings.Builder
	col := indent
	for i, p := range parts {
		if i > 0 {
			if col+len(sep)+len(p) > width {
				b.WriteString(strings.TrimRight(sep, " ") + "\n" + strings.Repeat(" ", indent))
				col = indent
			} else {
				b.WriteString(sep)
				col += len(sep)
			}
		}
		b.WriteString(p)
		col += len(p)
	}
	return b.String()
}

func demoTruncate(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}
