package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ramp-release/ramp/internal/controller"
	"github.com/ramp-release/ramp/internal/ingest"
	"github.com/ramp-release/ramp/internal/rollout"
	"github.com/ramp-release/ramp/internal/server"
	"github.com/ramp-release/ramp/internal/store"
	"github.com/ramp-release/ramp/internal/store/postgres"
	"github.com/ramp-release/ramp/internal/store/sqlite"
	"github.com/ramp-release/ramp/internal/web"
)

const (
	defaultAddr  = "127.0.0.1:8070"
	defaultStore = "./ramp-data"
)

// setting resolves a setting: the flag when given, else the environment variable (or
// the file named by NAME_FILE, for secrets), else the default.
func setting(cmd *cobra.Command, flag, env string, getenv func(string) string) (string, error) {
	if f := cmd.Flags().Lookup(flag); f != nil && f.Changed {
		return f.Value.String(), nil
	}
	if path := getenv(env + "_FILE"); path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return "", fmt.Errorf("%s_FILE: %w", env, err)
		}
		return strings.TrimSpace(string(b)), nil
	}
	if v := getenv(env); v != "" {
		return v, nil
	}
	return cmd.Flags().Lookup(flag).DefValue, nil
}

func newServeCommand(getenv func(string) string) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the ramp server (API, SDK stream, OFREP, dashboard)",
		Long: `Run the ramp server. With no flags it keeps its data in ./ramp-data (embedded SQLite)
and listens on 127.0.0.1:8070. On first start it prints an admin API token, once.

Settings: flag > environment variable > default. Secrets may come from files:
RAMP_STORE_FILE holds the store URL when it contains a password.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			addr, err := setting(cmd, "addr", "RAMP_ADDR", getenv)
			if err != nil {
				return err
			}
			storeURL, err := setting(cmd, "store", "RAMP_STORE", getenv)
			if err != nil {
				return err
			}
			logFormat, err := setting(cmd, "log-format", "RAMP_LOG_FORMAT", getenv)
			if err != nil {
				return err
			}
			tick, err := setting(cmd, "controller-tick", "RAMP_CONTROLLER_TICK", getenv)
			if err != nil {
				return err
			}
			opts := serveOptions{}
			if opts.tick, err = time.ParseDuration(tick); err != nil || opts.tick <= 0 {
				return fmt.Errorf("--controller-tick %q: give a positive duration such as 5s", tick)
			}
			return serveWith(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr(), addr, storeURL, logFormat, nil, opts)
		},
	}
	cmd.Flags().String("addr", defaultAddr, "listen address (RAMP_ADDR)")
	cmd.Flags().String("store", defaultStore, "a directory for embedded SQLite, or postgres://… (RAMP_STORE)")
	cmd.Flags().String("log-format", "auto", "auto (JSON unless stderr is a terminal), json or text (RAMP_LOG_FORMAT)")
	cmd.Flags().String("controller-tick", rollout.DefaultTick.String(), "how often the rollout controller decides; on PostgreSQL a dead leader is replaced within two ticks (RAMP_CONTROLLER_TICK)")
	return cmd
}

func newLogger(w io.Writer, format string) *slog.Logger {
	if format == "auto" {
		format = "json"
		if f, ok := w.(*os.File); ok {
			if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
				format = "text"
			}
		}
	}
	if format == "text" {
		return slog.New(slog.NewTextHandler(w, nil))
	}
	return slog.New(slog.NewJSONHandler(w, nil))
}

// openStore opens PostgreSQL for postgres:// URLs and embedded SQLite otherwise (a
// directory, or a sqlite: path to a file).
func openStore(ctx context.Context, url string, log *slog.Logger) (store.Store, string, error) {
	switch {
	case strings.HasPrefix(url, "postgres://"), strings.HasPrefix(url, "postgresql://"):
		st, err := postgres.Open(ctx, url, postgres.WithLog(log))
		return st, "PostgreSQL", err
	case strings.HasPrefix(url, "sqlite:"):
		path := strings.TrimPrefix(url, "sqlite:")
		st, err := sqlite.Open(ctx, path)
		return st, "SQLite " + path, err
	default:
		path := filepath.Join(url, "ramp.db")
		st, err := sqlite.Open(ctx, path)
		return st, "SQLite " + path, err
	}
}

// serveOptions are the settings of `ramp serve` beyond where it listens, where it
// keeps its data and how it logs.
type serveOptions struct {
	// tick is the rollout controller's period (default rollout.DefaultTick), in the
	// time of clock.
	tick time.Duration
	// clock, when set, is the time the rollout controller decides at and the time of
	// the analysis points it records: `ramp demo` runs a compressed one. Nil is the
	// wall clock.
	clock controller.Clock
	// started, when set, is called once the server accepts connections and the
	// controller runs, with the server's URL and the admin token created on first
	// start ("" on later starts).
	started func(url, token string)
}

// serve runs the server until ctx ends, with default options. ready, when not nil,
// receives the bound address once the server accepts connections (tests listen on
// :0).
func serve(ctx context.Context, stdout, stderr io.Writer, addr, storeURL, logFormat string, ready chan<- string) error {
	return serveWith(ctx, stdout, stderr, addr, storeURL, logFormat, ready, serveOptions{})
}

// serveWith is serve with options.
func serveWith(ctx context.Context, stdout, stderr io.Writer, addr, storeURL, logFormat string, ready chan<- string, opts serveOptions) error {
	log := newLogger(stderr, logFormat)
	st, storeName, err := openStore(ctx, storeURL, log)
	if err != nil {
		return fmt.Errorf("open the store %s: %w", storeURL, err)
	}
	defer st.Close()

	dashboard := web.New(web.Config{Version: version, Log: log})
	// The rollout controller persists each decision, then publishes it to the SDK
	// streams through the server, then notifies; the server sends people's rollout
	// operations through the controller, which reads each rollout's analysis from
	// the event aggregator.
	notes, err := controller.NewNotifications(ctx, st, controller.NotificationOptions{Log: log})
	if err != nil {
		return err
	}
	defer func() {
		// Deliveries still queued get a few seconds; a rollback never waited for them.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := notes.Close(ctx); err != nil {
			log.Warn("notifications", "err", err)
		}
	}()
	// SDK events → durable log → aggregator → analysis → controller decisions.
	agg, unitKey, err := newAggregator(st, log, os.Getenv)
	if err != nil {
		return err
	}
	// Over PostgreSQL, replicas elect the one that decides and aggregates.
	lead, runElection := leadership(st, opts.tick, log)
	var srv *server.Server
	source := &ingest.Source{Agg: agg, Points: st}
	if opts.clock != nil {
		source.Now = opts.clock.Now
	}
	ctrl := controller.New(st, controller.Options{Analysis: source, Notifier: notes, Log: log, Clock: opts.clock,
		Publish: func(ctx context.Context, env string) error { return srv.Publish(ctx, env) }, Tick: opts.tick, Leadership: lead})
	srv = server.New(st, log, server.Config{Version: version, Extra: dashboard.Mount, Rollouts: ctrl, Notifications: notes,
		Analysis: agg, EventsSink: agg.Notify, UnitKey: unitKey})
	defer srv.Close()
	registerLeadership(srv.Registry(), lead)
	token, err := srv.Bootstrap(ctx)
	if err != nil {
		return err
	}
	if token != "" {
		if err := createStarterEnvironments(ctx, st); err != nil {
			return err
		}
	}

	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w (is another ramp running? choose another address with --addr)", addr, err)
	}
	url := "http://" + ln.Addr().String()
	fmt.Fprintf(stdout, "ramp %s is running\n  dashboard and API: %s\n  store: %s\n", version, url, storeName)
	if token != "" {
		fmt.Fprintf(stdout, "\nFirst start: an admin API token was created. It is shown this once; keep it safe.\n\n  export RAMP_URL=%s\n  export RAMP_TOKEN=%s\n\n", url, token)
	}
	httpSrv := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- httpSrv.Serve(ln) }()
	// Shutting down, the controller stops first, then the aggregator (its last
	// checkpoint), and the lease is released last.
	electCtx, stopElection := context.WithCancel(context.Background())
	elected := make(chan struct{})
	go func() { defer close(elected); runElection(electCtx) }()
	defer func() {
		stopElection()
		<-elected
	}()
	aggCtx, stopAgg := context.WithCancel(context.Background())
	aggDone := make(chan error, 1)
	// One aggregator folds the shared event log: the leader's (CLARIFICATIONS §25).
	go func() {
		controller.WhileLeader(aggCtx, lead, time.Second, log, "event aggregator", agg.Run)
		aggDone <- nil
	}()
	defer func() {
		stopAgg()
		<-aggDone
	}()
	ctrlCtx, stopCtrl := context.WithCancel(context.Background())
	ctrlDone := make(chan error, 1)
	go func() { ctrlDone <- ctrl.Run(ctrlCtx) }()
	defer func() {
		stopCtrl()
		<-ctrlDone
	}()
	if ready != nil {
		ready <- ln.Addr().String()
	}
	if opts.started != nil {
		opts.started(url, token)
	}
	log.Info("serving", "addr", ln.Addr().String(), "store", storeName)
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	srv.Close() // end streams so Shutdown does not wait for them
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := httpSrv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shut down: %w", err)
	}
	return nil
}

// createStarterEnvironments gives a new installation the two environments most teams
// start with, so the first flag has somewhere to live.
func createStarterEnvironments(ctx context.Context, st store.Store) error {
	envs, err := st.ListEnvironments(ctx)
	if err != nil || len(envs) > 0 {
		return err
	}
	for _, e := range []store.Environment{
		{Key: "development", Name: "Development"},
		{Key: "production", Name: "Production"},
	} {
		e.CreatedAt = time.Now().UTC()
		// Replicas starting together on an empty PostgreSQL may race here: an
		// environment another created is as good.
		if _, err := st.CreateEnvironment(ctx, e, store.Change{Actor: "ramp serve", Reason: "first start"}); err != nil && !errors.Is(err, store.ErrExists) {
			return fmt.Errorf("create environment %s: %w", e.Key, err)
		}
	}
	return nil
}
