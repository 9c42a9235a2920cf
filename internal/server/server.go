// Package server is ramp's HTTP surface: the admin REST API (/api/v1), the SDK
// snapshot, stream and event endpoints (/sdk/v1), OpenFeature Remote Evaluation
// (/ofrep/v1), health and metrics. It is a thin adapter: flags are evaluated by package
// flags, stored by a store.Store, and every error is mapped to an RFC 9457 problem in
// one place (problem.go).
package server

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/ramp-release/ramp/internal/store"
)

// MaxBodyBytes bounds request bodies; larger ones get 413.
const MaxBodyBytes = 1 << 20

// Config tunes a Server; the zero value is usable.
type Config struct {
	// Heartbeat is the interval of SSE comments that keep idle streams open (default 15 s).
	Heartbeat time.Duration
	// SDKKeyCacheTTL bounds how long a key revoked on another replica keeps working (default 5 s).
	SDKKeyCacheTTL time.Duration
	// EventsSink receives accepted SDK event batches after they are durably queued;
	// nil ignores them.
	EventsSink func(env string, seq int64)
	// Version is reported by /healthz.
	Version string
	// Extra routes mounted on the same mux (e.g. the dashboard at "/").
	Extra func(mux *http.ServeMux)
	// Rollouts changes rollouts (start, advance, roll back, …); nil leaves them
	// readable but not changeable.
	Rollouts RolloutController
	// Analysis reads the event aggregator's statistics for the analysis routes; nil
	// answers them with "no data".
	Analysis AnalysisReader
	// UnitKey, when set, replaces every event's unit key before the batch is stored
	// (the keyed hash of ingest.UnitHasher), so raw unit ids are never kept.
	UnitKey func(unit string) string
	// Notifications is told when notification channels change; nil for none.
	Notifications ChannelRouter
	// ChangePoll is how often the revisions of the environments this server holds
	// are compared with the store's (default 1 s): changes committed by other
	// replicas arrive through the store's change feed (store.ChangeFeed) when it has
	// one, and this bounds how late they can be when a notification is missed.
	ChangePoll time.Duration
}

// Server serves ramp's HTTP API over a store.
type Server struct {
	store   store.Store
	log     *slog.Logger
	cfg     Config
	hub     *hub
	sdkKeys *sdkKeyCache
	metrics *metrics
	handler http.Handler
	routes  []route
	stop    chan struct{}
	// endWatch stops the goroutine that follows other replicas' changes;
	// watchDone is closed when it has.
	endWatch  context.CancelFunc
	watchDone chan struct{}
	// channelsSeen identifies the notification channels last loaded, and
	// channelsChecked is when they were last compared with the store's (both
	// owned by the watching goroutine).
	channelsSeen    string
	channelsKnown   bool
	channelsChecked time.Time
}

// New builds a server. Call Close to stop its streams.
func New(st store.Store, log *slog.Logger, cfg Config) *Server {
	if cfg.Heartbeat == 0 {
		cfg.Heartbeat = 15 * time.Second
	}
	if cfg.SDKKeyCacheTTL == 0 {
		cfg.SDKKeyCacheTTL = 5 * time.Second
	}
	if cfg.ChangePoll <= 0 {
		cfg.ChangePoll = time.Second
	}
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	s := &Server{
		store:   st,
		log:     log,
		cfg:     cfg,
		hub:     newHub(st, log),
		sdkKeys: &sdkKeyCache{ttl: cfg.SDKKeyCacheTTL, entries: map[string]sdkKeyEntry{}},
		stop:    make(chan struct{}),
	}
	s.metrics = newMetrics(s)
	s.routes = s.routeTable()
	mux := http.NewServeMux()
	for _, rt := range s.routes {
		mux.Handle(rt.method+" "+rt.pattern, s.wrap(rt))
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok", "version": cfg.Version})
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := st.Ping(ctx); err != nil {
			writeProblem(w, problem(http.StatusServiceUnavailable, "the store does not answer: "+err.Error()))
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.metrics.registry, promhttp.HandlerOpts{}))
	if cfg.Extra != nil {
		cfg.Extra(mux)
	}
	s.handler = s.metrics.instrument(mux)
	s.watchChanges()
	return s
}

// watchChanges follows the changes other processes commit to the store, so that
// this server's SDK streams see them too; Close stops it.
func (s *Server) watchChanges() {
	ctx, cancel := context.WithCancel(context.Background())
	s.endWatch, s.watchDone = cancel, make(chan struct{})
	var changes <-chan string
	if feed, ok := s.store.(store.ChangeFeed); ok {
		var err error
		if changes, err = feed.Changes(ctx); err != nil {
			s.log.Warn("the store's change feed is unavailable; changes made on other replicas arrive by polling", "err", err, "every", s.cfg.ChangePoll)
		}
	}
	go func() {
		defer close(s.watchDone)
		s.hub.watch(ctx, changes, s.cfg.ChangePoll, s.followChannels)
		if changes != nil {
			for range changes { // until the feed, which ends with ctx, has closed it
			}
		}
	}()
}

// channelsPoll is how often the stored notification channels are compared with
// those loaded, in case a change on another replica was not heard of.
const channelsPoll = 10 * time.Second

// followChannels reloads the notification channels when force, or when the stored
// ones differ from those last loaded, so that alerts sent by whichever replica
// leads reach channels configured through any replica.
func (s *Server) followChannels(ctx context.Context, force bool) {
	if s.cfg.Notifications == nil || !force && time.Since(s.channelsChecked) < channelsPoll {
		return
	}
	s.channelsChecked = time.Now()
	chans, err := s.store.ListNotificationChannels(ctx, "")
	if err != nil {
		return // the store is down; the streams' watcher says so
	}
	var b strings.Builder
	for _, ch := range chans {
		fmt.Fprintf(&b, "%s/%s/%d;", ch.Environment, ch.Name, ch.Version)
	}
	// The first look only learns what NewNotifications loaded at start.
	seen := b.String()
	if force || s.channelsKnown && seen != s.channelsSeen {
		s.reloadChannels(ctx)
	}
	s.channelsSeen, s.channelsKnown = seen, true
}

// Handler returns the server's HTTP handler.
func (s *Server) Handler() http.Handler { return s.handler }

// Close ends open streams so that an http.Server can shut down gracefully.
func (s *Server) Close() {
	select {
	case <-s.stop:
	default:
		close(s.stop)
	}
	s.endWatch()
	<-s.watchDone
}

// Publish reads env's flags from the store and, when they changed, streams the new
// snapshot to its SDKs. The rollout controller calls it after each commit.
func (s *Server) Publish(ctx context.Context, env string) error {
	_, err := s.hub.reload(ctx, env)
	return err
}

// Registry exposes the server's Prometheus registry so other components can add
// their metrics to /metrics.
func (s *Server) Registry() *prometheus.Registry { return s.metrics.registry }

// route is one API operation: the mux pattern, who may call it, and its handler. The
// same table registers the routes and generates the OpenAPI document, so the two
// cannot drift apart.
type route struct {
	method, pattern string
	// auth is "none", "sdk" (an SDK key) or a role name an API token must include.
	auth    string
	summary string
	handler func(w http.ResponseWriter, r *http.Request) error
	// body names the request schema in the OpenAPI document ("" for none).
	body string
	tag  string
}

const (
	authNone = "none"
	authSDK  = "sdk"
)

func (s *Server) wrap(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body != nil {
			r.Body = http.MaxBytesReader(w, r.Body, MaxBodyBytes)
		}
		switch rt.auth {
		case authNone, authSDK: // SDK handlers authenticate themselves: they need the key
		default:
			p, prob := s.authenticate(r)
			if prob != nil {
				writeProblem(w, prob)
				return
			}
			need := store.Role(rt.auth)
			if !p.token.Role.Allows(need) {
				writeProblem(w, problem(http.StatusForbidden, "this needs the role "+string(need)+
					" (or a stronger one); your token "+p.token.Name+" has "+string(p.token.Role)))
				return
			}
			r = r.WithContext(context.WithValue(r.Context(), principalKey{}, p))
		}
		if err := rt.handler(w, r); err != nil {
			p := toProblem(err)
			if p.Status >= 500 {
				s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
			}
			writeProblem(w, p)
		}
	})
}

// change builds the audit Change of a request: the caller and the reason it gave in
// the X-Ramp-Reason header.
func change(r *http.Request) store.Change {
	return store.Change{Actor: principalFrom(r.Context()).actor(), Reason: strings.TrimSpace(r.Header.Get("X-Ramp-Reason"))}
}
