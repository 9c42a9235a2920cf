package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ramp-release/ramp/internal/controller"
	"github.com/ramp-release/ramp/internal/store"
	"github.com/ramp-release/ramp/internal/store/postgres"
)

// leadership decides which replica makes the rollout controller's automatic
// decisions and folds the event log. Over PostgreSQL any number of replicas share
// the store, so they elect one through the controller lease (CLARIFICATIONS §35);
// embedded SQLite belongs to one process, which always leads. run takes part in
// elections until its context ends (a no-op for SQLite).
func leadership(st store.Store, tick time.Duration, log *slog.Logger) (lead controller.Leadership, run func(ctx context.Context)) {
	if _, shared := st.(*postgres.Store); !shared {
		return controller.Always(1), func(context.Context) {}
	}
	e := controller.NewElector(st, controller.ElectorOptions{Tick: tick, Log: log})
	return e, func(ctx context.Context) { _ = e.Run(ctx) }
}

// registerLeadership exports whether this replica leads, and with which epoch.
func registerLeadership(reg prometheus.Registerer, lead controller.Leadership) {
	reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "ramp_controller_leader",
			Help: "1 while this replica leads the rollout controller (and runs the event aggregator), else 0.",
		}, func() float64 {
			if _, ok := lead.Leader(); ok {
				return 1
			}
			return 0
		}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "ramp_controller_epoch",
			Help: "The fencing epoch of this replica's leadership; 0 while another replica leads.",
		}, func() float64 {
			epoch, _ := lead.Leader()
			return float64(epoch)
		}),
	)
}
