package openfeature

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	of "github.com/open-feature/go-sdk/openfeature"

	"github.com/ramp-release/ramp/flags"
	"github.com/ramp-release/ramp/sdk"
)

// Name is the provider's name in OpenFeature metadata.
const Name = "ramp"

// eventBuffer bounds the provider events waiting for the OpenFeature SDK to read them.
const eventBuffer = 256

// Provider is an OpenFeature provider backed by a ramp [sdk.Client]: flags are
// evaluated in-process from the client's snapshot. Create it with [New] and register it
// with openfeature.SetProviderAndWait; initialization starts the client.
type Provider struct {
	cfg sdk.Config

	client atomic.Pointer[sdk.Client]
	events chan of.Event

	// mu orders initialization, shutdown and the events derived from the client.
	mu        sync.Mutex
	stopWatch func()
	inited    bool
	last      sdk.Status // the status last reported to OpenFeature
}

// New returns a provider that will run an sdk.Client with cfg once OpenFeature
// initializes it. cfg's own callbacks (OnChange, OnStatus, OnError) still run.
func New(cfg sdk.Config) *Provider {
	return &Provider{cfg: cfg, events: make(chan of.Event, eventBuffer)}
}

// Client returns the ramp client behind the provider, or nil before initialization
// and after shutdown. Use it for what OpenFeature does not cover, such as Stats.
func (p *Provider) Client() *sdk.Client { return p.client.Load() }

// Metadata names the provider.
func (p *Provider) Metadata() of.Metadata { return of.Metadata{Name: Name} }

// Hooks returns no hooks: the provider needs none.
func (p *Provider) Hooks() []of.Hook { return nil }

// EventChannel delivers the provider's events: READY when the server confirms the
// flags (again), CONFIGURATION_CHANGED with the changed flag keys, STALE when the
// stream is lost (the last flags are still served), ERROR after the client's grace
// period without the server, and ERROR with PROVIDER_FATAL when the server rejects
// the SDK key.
func (p *Provider) EventChannel() <-chan of.Event { return p.events }

// Init initializes the provider without a deadline; see InitWithContext.
func (p *Provider) Init(evalCtx of.EvaluationContext) error {
	return p.InitWithContext(context.Background(), evalCtx)
}

// InitWithContext starts the ramp client and waits until the server confirms its
// flags. It fails when ctx ends first, when the client reaches its error status
// (Config.ErrorGrace without the server; the client keeps trying and the provider
// emits READY when it succeeds), and fatally when the server rejects the SDK key. A
// client that starts from its cache file while the server is down fails at once
// with a non-fatal error: the provider is then in the ERROR state and serves the
// cached flags until the server answers.
func (p *Provider) InitWithContext(ctx context.Context, _ of.EvaluationContext) error {
	p.mu.Lock()
	if p.client.Load() != nil {
		p.mu.Unlock()
		return nil
	}
	c, err := sdk.New(ctx, p.cfg)
	if err != nil {
		p.mu.Unlock()
		return &of.ProviderInitError{ErrorCode: of.ProviderFatalCode, Message: err.Error()}
	}
	p.stopWatch = c.Watch(p.onClientEvent)
	p.client.Store(c)
	p.mu.Unlock()

	err = c.WaitReady(ctx)

	p.mu.Lock()
	defer p.mu.Unlock()
	p.inited = true
	st := c.Status()
	switch {
	case err == nil && st == sdk.StatusReady:
		p.last = sdk.StatusReady
		return nil
	case st == sdk.StatusFatal || errors.Is(err, sdk.ErrKeyRejected):
		p.last = sdk.StatusFatal
		return &of.ProviderInitError{ErrorCode: of.ProviderFatalCode, Message: fmt.Sprint(err)}
	case err == nil:
		p.last = sdk.StatusError
		return fmt.Errorf("ramp: serving cached flags, the server cannot be reached: %w", c.LastError())
	}
	p.last = sdk.StatusError
	return err
}

// Shutdown closes the client, waiting at most 10 s for its events to be sent.
func (p *Provider) Shutdown() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = p.ShutdownWithContext(ctx)
}

// ShutdownWithContext closes the client, sending its queued events until ctx ends.
// The provider may be initialized again afterwards.
func (p *Provider) ShutdownWithContext(ctx context.Context) error {
	p.mu.Lock()
	c := p.client.Swap(nil)
	if p.stopWatch != nil {
		p.stopWatch()
		p.stopWatch = nil
	}
	p.inited = false
	p.mu.Unlock()
	if c == nil {
		return nil
	}
	return c.Close(ctx)
}

// onClientEvent turns the client's events into OpenFeature events. Until
// initialization returns, the OpenFeature SDK derives the state from its result, so
// nothing is emitted before.
func (p *Provider) onClientEvent(e sdk.Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.inited {
		return
	}
	switch e.Kind {
	case sdk.EventFlagsChanged:
		meta := map[string]any{}
		if c := p.client.Load(); c != nil {
			meta["revision"] = c.Revision()
		}
		p.emit(of.ProviderConfigChange, "flags changed", e.ChangedKeys, "", meta)
	case sdk.EventStatusChanged:
		if e.Status == p.last || e.Status == sdk.StatusNotReady {
			return
		}
		p.last = e.Status
		msg := e.Status.String()
		if e.Err != nil {
			msg = e.Err.Error()
		}
		switch e.Status {
		case sdk.StatusReady:
			p.emit(of.ProviderReady, "the server confirmed the flags", nil, "", nil)
		case sdk.StatusStale:
			p.emit(of.ProviderStale, msg, nil, "", nil)
		case sdk.StatusError:
			p.emit(of.ProviderError, msg, nil, of.GeneralCode, nil)
		case sdk.StatusFatal:
			p.emit(of.ProviderError, msg, nil, of.ProviderFatalCode, nil)
		}
	}
}

// emit queues an event without ever blocking the client; p.mu is held, so events
// keep the order of the client's.
func (p *Provider) emit(t of.EventType, msg string, keys []string, code of.ErrorCode, meta map[string]any) {
	ev := of.Event{ProviderName: Name, EventType: t, ProviderEventDetails: of.ProviderEventDetails{
		Message: msg, FlagChanges: keys, ErrorCode: code, EventMetadata: meta}}
	select {
	case p.events <- ev:
	default:
		if p.cfg.Logger != nil {
			p.cfg.Logger.Warn("ramp openfeature provider: event dropped, nobody reads the event channel", "event", t)
		}
	}
}

// BooleanEvaluation evaluates a bool flag.
func (p *Provider) BooleanEvaluation(_ context.Context, flag string, def bool, fc of.FlattenedContext) of.BoolResolutionDetail {
	c := p.client.Load()
	if c == nil {
		return of.BoolResolutionDetail{Value: def, ProviderResolutionDetail: notReady}
	}
	d := c.BoolDetail(flag, contextOf(fc), def)
	return of.BoolResolutionDetail{Value: d.Value, ProviderResolutionDetail: resolution(d.Variant, d.Reason, d.ErrorCode, d.ErrorMessage, d.Metadata)}
}

// StringEvaluation evaluates a string flag.
func (p *Provider) StringEvaluation(_ context.Context, flag string, def string, fc of.FlattenedContext) of.StringResolutionDetail {
	c := p.client.Load()
	if c == nil {
		return of.StringResolutionDetail{Value: def, ProviderResolutionDetail: notReady}
	}
	d := c.StringDetail(flag, contextOf(fc), def)
	return of.StringResolutionDetail{Value: d.Value, ProviderResolutionDetail: resolution(d.Variant, d.Reason, d.ErrorCode, d.ErrorMessage, d.Metadata)}
}

// FloatEvaluation evaluates a float flag. An int flag is a TYPE_MISMATCH.
func (p *Provider) FloatEvaluation(_ context.Context, flag string, def float64, fc of.FlattenedContext) of.FloatResolutionDetail {
	c := p.client.Load()
	if c == nil {
		return of.FloatResolutionDetail{Value: def, ProviderResolutionDetail: notReady}
	}
	d := c.FloatDetail(flag, contextOf(fc), def)
	return of.FloatResolutionDetail{Value: d.Value, ProviderResolutionDetail: resolution(d.Variant, d.Reason, d.ErrorCode, d.ErrorMessage, d.Metadata)}
}

// IntEvaluation evaluates an int flag.
func (p *Provider) IntEvaluation(_ context.Context, flag string, def int64, fc of.FlattenedContext) of.IntResolutionDetail {
	c := p.client.Load()
	if c == nil {
		return of.IntResolutionDetail{Value: def, ProviderResolutionDetail: notReady}
	}
	d := c.IntDetail(flag, contextOf(fc), def)
	return of.IntResolutionDetail{Value: d.Value, ProviderResolutionDetail: resolution(d.Variant, d.Reason, d.ErrorCode, d.ErrorMessage, d.Metadata)}
}

// ObjectEvaluation evaluates a json flag. Any other flag type is a TYPE_MISMATCH,
// even though a bool or a string is a valid JSON value: the flag's declared type
// decides, as for the other types.
func (p *Provider) ObjectEvaluation(_ context.Context, flag string, def any, fc of.FlattenedContext) of.InterfaceResolutionDetail {
	c := p.client.Load()
	if c == nil {
		return of.InterfaceResolutionDetail{Value: def, ProviderResolutionDetail: notReady}
	}
	d := c.JSONDetail(flag, contextOf(fc), def)
	return of.InterfaceResolutionDetail{Value: d.Value, ProviderResolutionDetail: resolution(d.Variant, d.Reason, d.ErrorCode, d.ErrorMessage, d.Metadata)}
}

// Track sends an OpenFeature tracking event as a ramp metric event: the event name is
// the metric, the details' value its value, the context's targeting key the unit, the
// context's analysis dimensions (sdk.Config.Dimensions) and the details' string
// attributes its dimensions; a "comment" attribute becomes the event's comment.
func (p *Provider) Track(ctx context.Context, name string, evalCtx of.EvaluationContext, details of.TrackingEventDetails) {
	c := p.client.Load()
	if c == nil {
		return
	}
	unit := evalCtx.TargetingKey()
	opts := []sdk.TrackOption{sdk.WithContext(flags.Context{Key: unit, Attributes: evalCtx.Attributes()})}
	dims := map[string]string{}
	for k, v := range details.Attributes() {
		s, ok := v.(string)
		switch {
		case !ok:
		case k == "comment":
			opts = append(opts, sdk.WithComment(s))
		default:
			dims[k] = s
		}
	}
	if len(dims) > 0 {
		opts = append(opts, sdk.WithDimensions(dims))
	}
	if err := c.Track(ctx, unit, name, details.Value(), opts...); err != nil && p.cfg.Logger != nil {
		p.cfg.Logger.Warn("ramp openfeature provider: track", "event", name, "err", err)
	}
}

var notReady = of.ProviderResolutionDetail{
	ResolutionError: of.NewProviderNotReadyResolutionError("the ramp provider is not initialized"),
	Reason:          of.ErrorReason,
}

// contextOf reads OpenFeature's flattened context as a ramp context without copying
// it: the targeting key is the unit key, every entry an attribute.
func contextOf(fc of.FlattenedContext) flags.Context {
	key, _ := fc[of.TargetingKey].(string)
	return flags.Context{Key: key, Attributes: fc}
}

// resolution maps a ramp evaluation onto OpenFeature's: the reason names are the
// same, the error codes too (ramp's PROVIDER_NOT_READY before the first snapshot), and
// the metadata is exactly the flag's own.
func resolution(variant string, reason flags.Reason, code sdk.ErrorCode, msg string, meta map[string]any) of.ProviderResolutionDetail {
	r := of.ProviderResolutionDetail{Variant: variant, Reason: of.Reason(reason.String()), FlagMetadata: meta}
	switch code {
	case sdk.CodeNone:
	case sdk.CodeFlagNotFound:
		r.ResolutionError = of.NewFlagNotFoundResolutionError(msg)
	case sdk.CodeTypeMismatch:
		r.ResolutionError = of.NewTypeMismatchResolutionError(msg)
	case sdk.CodeTargetingKeyMissing:
		r.ResolutionError = of.NewTargetingKeyMissingResolutionError(msg)
	case sdk.CodeParseError:
		r.ResolutionError = of.NewParseErrorResolutionError(msg)
	case sdk.CodeProviderNotReady:
		r.ResolutionError = of.NewProviderNotReadyResolutionError(msg)
	default:
		r.ResolutionError = of.NewGeneralResolutionError(msg)
	}
	return r
}

// The interfaces the provider implements.
var (
	_ of.FeatureProvider          = (*Provider)(nil)
	_ of.ContextAwareStateHandler = (*Provider)(nil)
	_ of.EventHandler             = (*Provider)(nil)
	_ of.Tracker                  = (*Provider)(nil)
)
