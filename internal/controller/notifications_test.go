package controller_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ramp-release/ramp/internal/controller"
	"github.com/ramp-release/ramp/internal/notify"
	"github.com/ramp-release/ramp/internal/store"
)

func TestSealedChannelsKeepTheirSecretsForUseOnly(t *testing.T) {
	var cfg notify.ChannelConfig
	if err := json.Unmarshal([]byte(`{"name":"ops","type":"slack","url":"https://hooks.example.com/services/T0/B0/sekrit"}`), &cfg); err != nil {
		t.Fatal(err)
	}
	ch, err := controller.SealChannel("production", cfg, []notify.Kind{notify.RolledBack})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(ch.Config), "sekrit") {
		t.Errorf("stored settings %s lack the URL: it could not be used", ch.Config)
	}
	if view, _ := json.Marshal(ch); strings.Contains(string(view), "sekrit") {
		t.Errorf("the stored channel encodes its secret: %s", view)
	}
	back, kinds, err := controller.OpenChannel(ch)
	if err != nil {
		t.Fatal(err)
	}
	if back.URL.Reveal() != cfg.URL.Reveal() || len(kinds) != 1 || kinds[0] != notify.RolledBack {
		t.Errorf("reopened %v %v", back, kinds)
	}
	if view, _ := json.Marshal(back); !strings.Contains(string(view), "REDACTED") || strings.Contains(string(view), "sekrit") {
		t.Errorf("a reopened channel's JSON view: %s; want the URL redacted", view)
	}
	var edited notify.ChannelConfig
	json.Unmarshal([]byte(`{"name":"ops","type":"slack","url":"REDACTED"}`), &edited)
	if kept := controller.KeepSecrets(edited, back); kept.URL.Reveal() != cfg.URL.Reveal() {
		t.Error("KeepSecrets did not keep the stored URL in place of the placeholder")
	}
	if _, err := controller.SealChannel("production", cfg, []notify.Kind{"exploded"}); err == nil || !strings.Contains(err.Error(), `kinds[0]: "exploded"`) {
		t.Errorf("an unknown kind: %v", err)
	}
}

func TestNotificationsRouteByEnvironmentAndKindAndRecordDeliveries(t *testing.T) {
	st := openStore(t, filepath.Join(t.TempDir(), "ramp.db"))
	ctx := context.Background()
	for _, env := range []string{"production", "staging"} {
		if _, err := st.CreateEnvironment(ctx, store.Environment{Key: env}, store.Change{Actor: "setup"}); err != nil {
			t.Fatal(err)
		}
	}
	var mu sync.Mutex
	got := map[string][]string{}
	receiver := func(name string) *httptest.Server {
		return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			mu.Lock()
			got[name] = append(got[name], string(body))
			mu.Unlock()
		}))
	}
	prodSrv, stagingSrv := receiver("prod"), receiver("staging")
	defer prodSrv.Close()
	defer stagingSrv.Close()
	add := func(env, url string, kinds ...notify.Kind) {
		var cfg notify.ChannelConfig
		json.Unmarshal([]byte(`{"name":"ops","type":"slack","url":"`+url+`"}`), &cfg)
		ch, err := controller.SealChannel(env, cfg, kinds)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.PutNotificationChannel(ctx, ch, 0, store.Change{Actor: "admin"}); err != nil {
			t.Fatal(err)
		}
	}
	add("production", prodSrv.URL, notify.RolledBack)
	n, err := controller.NewNotifications(ctx, st, controller.NotificationOptions{})
	if err != nil {
		t.Fatal(err)
	}
	add("staging", stagingSrv.URL)
	if err := n.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	for _, e := range []notify.Event{
		{Kind: notify.RolledBack, Environment: "production", Flag: "f", RolloutID: "ro_1", Reason: "error rate"},
		{Kind: notify.StageAdvanced, Environment: "production", Flag: "f", RolloutID: "ro_1"}, // not routed
		{Kind: notify.Completed, Environment: "staging", Flag: "g", RolloutID: "ro_2"},
	} {
		if err := n.Dispatch(e); err != nil {
			t.Fatal(err)
		}
	}
	closeCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := n.Close(closeCtx); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got["prod"]) != 1 || !strings.Contains(got["prod"][0], "Rolled back") || len(got["staging"]) != 1 {
		t.Errorf("received %v; want one rollback in production's channel and one completion in staging's", got)
	}
	ds, err := st.ListNotificationDeliveries(ctx, store.DeliveryFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 2 {
		t.Fatalf("%d deliveries recorded; want 2: %+v", len(ds), ds)
	}
	for _, d := range ds {
		if d.Status != "delivered" || d.Channel != "ops" || d.Attempts != 1 {
			t.Errorf("delivery %+v; want delivered to ops in one attempt", d)
		}
	}
}
