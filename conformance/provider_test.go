package conformance

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	"github.com/open-feature/go-sdk/openfeature"

	"github.com/ramp-release/ramp/sdk"
	rampof "github.com/ramp-release/ramp/sdk/openfeature"
)

// rampProviderTags keeps the provider-status scenarios that the upstream OFREP
// provider cannot take part in: ramp's provider keeps state, so it must pass them.
const rampProviderTags = "~@hooks && ~@evaluation-options && ~@immutability && ~@async && ~@reason-codes-cached"

// TestRampProvider runs the upstream scenarios through ramp's own OpenFeature provider
// (sdk/openfeature: local evaluation from the SDK stream) against the real server,
// including the provider-status ones: not ready (a server that does not answer),
// fatal (a revoked SDK key), error (no server, past the grace period) and stale (the
// stream lost after the provider was ready). Nothing is skipped: unlike the upstream
// OFREP client, ramp's provider must report the Object type mismatch.
func TestRampProvider(t *testing.T) {
	dir := gherkinDir(t)
	rs := startRamp(t)
	rs.seedFlags(t, filepath.Join(dir, "test-flags.json"))

	config := func(base, key string) sdk.Config {
		return sdk.Config{URL: base, SDKKey: key, DisableEvents: true, ErrorGrace: 50 * time.Millisecond,
			ReconnectMin: 20 * time.Millisecond, ReconnectMax: 100 * time.Millisecond, RequestTimeout: 5 * time.Second}
	}

	// A server that accepts requests and never answers them keeps a provider NOT_READY.
	release := make(chan struct{})
	hanging := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(func() { close(release); hanging.Close() })

	// A revoked key is rejected for good: FATAL.
	var revoked struct {
		Secret     string `json:"secret"`
		Credential struct {
			ID string `json:"id"`
		} `json:"credential"`
	}
	rs.admin(t, "POST", "/api/v1/environments/"+environment+"/sdk-keys", map[string]any{"kind": "server"}, http.StatusCreated, &revoked)
	rs.admin(t, "DELETE", "/api/v1/sdk-keys/"+revoked.Credential.ID, nil, http.StatusNoContent, nil)

	// A port nothing listens on: initialisation fails past the grace period, ERROR.
	closed := httptest.NewServer(http.NotFoundHandler())
	closedURL := closed.URL
	closed.Close()

	// Stale providers reach ramp through a proxy that each scenario cuts once ready.
	target, _ := url.Parse(rs.URL)
	cuts := map[*rampof.Provider]*httptest.Server{}

	suite{
		tags:      rampProviderTags,
		scenarios: 78,
		newProvider: func() (openfeature.FeatureProvider, error) {
			return rampof.New(config(rs.URL, rs.SDKKey)), nil
		},
		providerIn: func(state string) (openfeature.FeatureProvider, error) {
			switch state {
			case "not ready":
				return rampof.New(config(hanging.URL, rs.SDKKey)), nil
			case "fatal":
				return rampof.New(config(rs.URL, revoked.Secret)), nil
			case "error":
				return rampof.New(config(closedURL, rs.SDKKey)), nil
			case "stale":
				proxy := httputil.NewSingleHostReverseProxy(target)
				proxy.FlushInterval = -1 // server-sent events pass through at once
				ps := httptest.NewServer(proxy)
				t.Cleanup(ps.Close)
				p := rampof.New(config(ps.URL, rs.SDKKey))
				cuts[p] = ps
				return p, nil
			}
			return nil, fmt.Errorf("no recipe for a %q provider", state)
		},
		reach: func(ctx context.Context, state string, client *openfeature.Client) error {
			want := map[string]openfeature.State{"not ready": openfeature.NotReadyState, "fatal": openfeature.FatalState,
				"error": openfeature.ErrorState, "stale": openfeature.StaleState}[state]
			if state == "stale" {
				if err := waitState(client, openfeature.ReadyState); err != nil {
					return err
				}
				for _, ps := range cuts {
					ps.CloseClientConnections()
					ps.Close()
				}
				clear(cuts)
			}
			return waitState(client, want)
		},
	}.run(t, dir)
}

// waitState polls the client's state until it is want, for at most 10 s.
func waitState(client *openfeature.Client, want openfeature.State) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := client.State()
		if got == want {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the provider stayed %s; want %s", got, want)
		}
		time.Sleep(5 * time.Millisecond) // polling a state that changes asynchronously
	}
}
