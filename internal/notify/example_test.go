package notify_test

import (
	"context"
	"fmt"
	"time"

	"github.com/ramp-release/ramp/internal/notify"
)

// The controller's side: build the channels from configuration once, route
// events to them, and dispatch each decision after it has been persisted
// and streamed. Dispatch returns at once; Close drains at shutdown.
func Example() {
	// In the server: for each stored ChannelConfig, n, err := notify.New(cfg).
	// Here a stand-in channel prints what it would send.
	printer := notify.NotifierFunc(func(_ context.Context, e notify.Event) error {
		fmt.Println("slack:", e.Summary()+":", e.Reason)
		return nil
	})
	d, err := notify.NewDispatcher(notify.Options{
		Channels: map[string]notify.Notifier{"ops": printer},
		Routes: []notify.Route{
			{Environment: "production", Kinds: []notify.Kind{notify.RolledBack, notify.Paused}, Channel: "ops"},
		},
		OnResult: func(r notify.DeliveryRecord) {
			fmt.Printf("audit: %s to %s %s after %d attempt(s)\n", r.Kind, r.Channel, r.Status, r.Attempts)
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}

	_ = d.Dispatch(notify.Event{
		Kind:        notify.RolledBack,
		Environment: "production",
		Flag:        "smart-reply",
		RolloutID:   "ro_42",
		Stage:       "ring 5%",
		Reason:      "error rate worse than control by 14%",
		Actor:       "controller",
		DedupKey:    "audit-1017",
	})
	_ = d.Dispatch(notify.Event{Kind: notify.StageAdvanced, Environment: "production", Flag: "other"}) // no route: nothing sent

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := d.Close(ctx); err != nil {
		fmt.Println(err)
	}
	// Output:
	// slack: Rolled back: smart-reply in production (stage ring 5%): error rate worse than control by 14%
	// audit: rolled_back to ops delivered after 1 attempt(s)
}
