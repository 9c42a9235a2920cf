package openfeature_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cucumber/godog"
	of "github.com/open-feature/go-sdk/openfeature"
	"github.com/open-feature/go-sdk/openfeature/isolated"

	"github.com/ramp-release/ramp/flags"
	"github.com/ramp-release/ramp/sdk/internal/ramptest"
	rampof "github.com/ramp-release/ramp/sdk/openfeature"
)

// TestEventsFeature runs testdata/events.feature: the provider's READY, STALE, ERROR,
// FATAL and CONFIGURATION_CHANGED events against a real server.
func TestEventsFeature(t *testing.T) {
	var out bytes.Buffer
	suite := godog.TestSuite{
		ScenarioInitializer: func(sc *godog.ScenarioContext) { (&eventsWorld{t: t}).register(sc) },
		Options: &godog.Options{Format: "pretty", Output: &out, Paths: []string{"testdata/events.feature"},
			Strict: true, NoColors: true},
	}
	status := suite.Run()
	if status != 0 || testing.Verbose() {
		t.Log(out.String())
	}
	if status != 0 {
		t.Fatalf("godog status %d", status)
	}
	if n := strings.Count(out.String(), "Scenario:"); n != 7 {
		t.Errorf("%d scenarios ran, want 7", n)
	}
}

// eventsWorld is one scenario's state.
type eventsWorld struct {
	t      *testing.T
	s      *ramptest.Server
	api    *of.EvaluationAPI
	client *of.Client
	events map[of.EventType]chan of.EventDetails
}

func (w *eventsWorld) register(sc *godog.ScenarioContext) {
	sc.After(func(ctx context.Context, _ *godog.Scenario, err error) (context.Context, error) {
		if w.api != nil {
			sctx, cancel := context.WithTimeout(context.Background(), wait)
			defer cancel()
			_ = w.api.Shutdown(sctx)
		}
		if w.s != nil {
			w.s.Kill()
		}
		return ctx, err
	})
	sc.Given(`^a ramp server with the string flag "([^"]*)" serving "([^"]*)"$`, w.serverWithFlag)
	sc.Given(`^a ready provider$`, func() error { return w.readyProvider(0) })
	sc.Given(`^a ready provider with a grace period of (\d+) ms$`, w.readyProvider)
	sc.Given(`^the server is down$`, func() error { w.s.Kill(); return nil })
	sc.When(`^a provider is registered$`, func() error { return w.registerProvider(0, "") })
	sc.When(`^a provider with a grace period of (\d+) ms is registered$`, func(ms int) error { return w.registerProvider(ms, "") })
	sc.When(`^a provider with the SDK key "([^"]*)" is registered$`, func(key string) error { return w.registerProvider(0, key) })
	sc.When(`^the flag "([^"]*)" is changed to serve "([^"]*)"$`, w.changeFlag)
	sc.When(`^the server goes down$`, func() error { w.s.Kill(); return nil })
	sc.When(`^the server comes back$`, func() error { w.s.Restart(); return nil })
	sc.When(`^the SDK key is revoked$`, func() error { w.s.RevokeKey(); w.s.DropConnections(); return nil })
	sc.Then(`^the provider emits (READY|STALE|ERROR|CONFIGURATION_CHANGED)$`, func(name string) error {
		_, err := w.next(name)
		return err
	})
	sc.Then(`^the provider emits CONFIGURATION_CHANGED for the flags "([^"]*)"$`, w.configurationChanged)
	sc.Then(`^the provider state is "([^"]*)"$`, w.state)
	sc.Then(`^the flag "([^"]*)" evaluates to "([^"]*)" with reason "([^"]*)"$`, w.evaluates)
	sc.Then(`^the flag "([^"]*)" evaluates to the default with the error code "([^"]*)"$`, w.evaluatesToDefault)
}

func (w *eventsWorld) serverWithFlag(key, value string) error {
	w.s = ramptest.Start(w.t)
	w.s.CreateFlag(flags.Flag{Key: key, Type: flags.TypeString, Enabled: true,
		Variants: map[string]any{"first": value, "second": "bye"}, Default: &flags.Allocation{Variant: "first"}})
	return nil
}

// registerProvider registers a provider without waiting for its initialization; the
// event handlers are in place before, so no event is missed.
func (w *eventsWorld) registerProvider(graceMS int, key string) error {
	w.api = isolated.NewAPI()
	w.events = map[of.EventType]chan of.EventDetails{}
	for _, t := range []of.EventType{of.ProviderReady, of.ProviderStale, of.ProviderError, of.ProviderConfigChange} {
		ch := make(chan of.EventDetails, 16)
		w.events[t] = ch
		cb := func(d of.EventDetails) { ch <- d }
		w.api.AddHandler(t, &cb)
	}
	cfg := config(w.s)
	if graceMS > 0 {
		cfg.ErrorGrace = time.Duration(graceMS) * time.Millisecond
	}
	if key != "" {
		cfg.SDKKey = key
	}
	if err := w.api.SetProvider(context.Background(), rampof.New(cfg)); err != nil {
		return err
	}
	w.client = w.api.NewClient()
	return nil
}

func (w *eventsWorld) readyProvider(graceMS int) error {
	if err := w.registerProvider(graceMS, ""); err != nil {
		return err
	}
	_, err := w.next("READY")
	return err
}

var eventTypes = map[string]of.EventType{
	"READY": of.ProviderReady, "STALE": of.ProviderStale, "ERROR": of.ProviderError,
	"CONFIGURATION_CHANGED": of.ProviderConfigChange,
}

// next waits for the next event of a type. Handlers run on goroutines of their own,
// so events of different types are checked one type at a time, not in one sequence.
func (w *eventsWorld) next(name string) (of.EventDetails, error) {
	select {
	case d := <-w.events[eventTypes[name]]:
		return d, nil
	case <-time.After(wait):
		return of.EventDetails{}, fmt.Errorf("no %s event within %s (state %s)", name, wait, w.client.State())
	}
}

func (w *eventsWorld) changeFlag(key, value string) error {
	w.s.SetDefault(key, "second")
	if value != "bye" {
		return fmt.Errorf("the second variant serves bye, not %q", value)
	}
	return nil
}

func (w *eventsWorld) configurationChanged(keys string) error {
	d, err := w.next("CONFIGURATION_CHANGED")
	if err != nil {
		return err
	}
	if got := strings.Join(d.FlagChanges, ","); got != keys {
		return fmt.Errorf("changed flags %q, want %q", got, keys)
	}
	return nil
}

// state waits briefly for the state: the SDK writes it when it handles the event.
func (w *eventsWorld) state(want string) error {
	deadline := time.Now().Add(wait)
	for string(w.client.State()) != want {
		if time.Now().After(deadline) {
			return fmt.Errorf("state %s, want %s", w.client.State(), want)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return nil
}

func (w *eventsWorld) evaluates(key, value, reason string) error {
	d, err := w.client.StringValueDetails(context.Background(), key, "default", of.NewEvaluationContext("user-1", nil))
	if err != nil || d.Value != value || string(d.Reason) != reason {
		return fmt.Errorf("%s: value %q, reason %s, error %v; want %q with %s", key, d.Value, d.Reason, err, value, reason)
	}
	return nil
}

func (w *eventsWorld) evaluatesToDefault(key, code string) error {
	d, _ := w.client.StringValueDetails(context.Background(), key, "default", of.NewEvaluationContext("user-1", nil))
	if d.Value != "default" || string(d.ErrorCode) != code {
		return fmt.Errorf("%s: value %q, error code %q; want the default with %s", key, d.Value, d.ErrorCode, code)
	}
	return nil
}
