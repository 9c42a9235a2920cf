package controller

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/ramp-release/ramp/internal/notify"
	"github.com/ramp-release/ramp/internal/notify/email"
	"github.com/ramp-release/ramp/internal/store"
)

// ChannelStore is what Notifications needs from the store.
type ChannelStore interface {
	ListNotificationChannels(ctx context.Context, env string) ([]store.NotificationChannel, error)
	RecordNotificationDelivery(ctx context.Context, d store.NotificationDelivery) (store.NotificationDelivery, error)
}

// NotificationOptions tune Notifications; every field is optional.
type NotificationOptions struct {
	// Dispatcher is the template of every dispatcher built: queue sizes, attempts,
	// backoff, clock. Its Channels, Routes and OnResult are set by Notifications.
	Dispatcher notify.Options
	Log        *slog.Logger
}

// Notifications routes rollout events to the channels stored for their environment
// (each channel with its route: the kinds it receives) and records every delivery
// in the store. It implements Notifier. Channels are read when it is created and
// on Reload, which the server calls after a channel changes.
type Notifications struct {
	st   ChannelStore
	opts NotificationOptions
	log  *slog.Logger

	mu       sync.RWMutex
	d        *notify.Dispatcher
	closed   bool
	retiring sync.WaitGroup // dispatchers replaced by Reload, draining
}

// NewNotifications reads the stored channels and starts delivering to them.
func NewNotifications(ctx context.Context, st ChannelStore, opts NotificationOptions) (*Notifications, error) {
	n := &Notifications{st: st, opts: opts, log: opts.Log}
	if n.log == nil {
		n.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if err := n.Reload(ctx); err != nil {
		return nil, err
	}
	return n, nil
}

// channelKey names a channel in the dispatcher: channels are per environment.
func channelKey(env, name string) string { return env + "/" + name }

// Reload rebuilds the routing from the stored channels. Deliveries already queued
// finish on the channels they were queued for. A channel whose stored settings no
// longer build is skipped and logged.
func (n *Notifications) Reload(ctx context.Context) error {
	chans, err := n.st.ListNotificationChannels(ctx, "")
	if err != nil {
		return fmt.Errorf("load notification channels: %w", err)
	}
	opts := n.opts.Dispatcher
	opts.Channels = map[string]notify.Notifier{}
	opts.Routes = nil
	if opts.Logger == nil {
		opts.Logger = n.log
	}
	opts.OnResult = n.record
	for _, ch := range chans {
		cfg, kinds, err := OpenChannel(ch)
		if err == nil {
			var nf notify.Notifier
			if nf, err = notify.New(cfg); err == nil {
				key := channelKey(ch.Environment, ch.Name)
				opts.Channels[key] = nf
				opts.Routes = append(opts.Routes, notify.Route{Environment: ch.Environment, Kinds: kinds, Channel: key})
				continue
			}
		}
		n.log.Error("notification channel skipped: its settings do not build", "environment", ch.Environment, "channel", ch.Name, "err", err)
	}
	d, err := notify.NewDispatcher(opts)
	if err != nil {
		return err
	}
	n.mu.Lock()
	old := n.d
	if n.closed {
		n.mu.Unlock()
		return d.Close(ctx)
	}
	n.d = d
	n.mu.Unlock()
	if old != nil {
		n.retiring.Add(1)
		go func() {
			defer n.retiring.Done()
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			_ = old.Close(ctx)
		}()
	}
	return nil
}

// Dispatch queues e for the channels routed to it; it never blocks.
func (n *Notifications) Dispatch(e notify.Event) error {
	n.mu.RLock()
	defer n.mu.RUnlock()
	if n.d == nil || n.closed {
		return notify.ErrClosed
	}
	return n.d.Dispatch(e)
}

// Close stops accepting events and waits for queued deliveries to end, or for ctx.
func (n *Notifications) Close(ctx context.Context) error {
	n.mu.Lock()
	n.closed = true
	d := n.d
	n.mu.Unlock()
	var err error
	if d != nil {
		err = d.Close(ctx)
	}
	done := make(chan struct{})
	go func() { n.retiring.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		err = errors.Join(err, ctx.Err())
	}
	return err
}

// record keeps a delivery's outcome in the store.
func (n *Notifications) record(r notify.DeliveryRecord) {
	_, name, _ := strings.Cut(r.Channel, "/")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := n.st.RecordNotificationDelivery(ctx, store.NotificationDelivery{
		Channel: name, Environment: r.Environment, EventID: r.EventID, Kind: string(r.Kind), Flag: r.Flag, RolloutID: r.RolloutID,
		DedupKey: r.DedupKey, Status: string(r.Status), Attempts: r.Attempts, LastError: r.LastError, QueuedAt: r.QueuedAt, DoneAt: r.DoneAt,
	})
	if err != nil {
		n.log.Error("record notification delivery", "channel", r.Channel, "event", r.EventID, "err", err)
	}
}

// channelSettings is a channel's configuration as stored: notify.ChannelConfig with
// its secrets in clear. It exists only between SealChannel and OpenChannel.
type channelSettings struct {
	URL           string         `json:"url,omitempty"`
	RoutingKey    string         `json:"routing_key,omitempty"`
	Source        string         `json:"source,omitempty"`
	SigningSecret string         `json:"signing_secret,omitempty"`
	SMTPHost      string         `json:"smtp_host,omitempty"`
	SMTPPort      int            `json:"smtp_port,omitempty"`
	Username      string         `json:"username,omitempty"`
	Password      string         `json:"password,omitempty"`
	From          string         `json:"from,omitempty"`
	To            []string       `json:"to,omitempty"`
	StartTLS      email.StartTLS `json:"starttls,omitempty"`
}

// SealChannel validates an administrator's channel and returns it in its stored
// form, with its secrets revealed so that they can be used later. The result must
// only ever go to the store.
func SealChannel(env string, cfg notify.ChannelConfig, kinds []notify.Kind) (store.NotificationChannel, error) {
	if err := cfg.Validate(); err != nil {
		return store.NotificationChannel{}, err
	}
	var bad []string
	for i, k := range kinds {
		if !k.Valid() {
			bad = append(bad, fmt.Sprintf("channels[%q].kinds[%d]: %q is not an event kind; use one of %s", cfg.Name, i, k, strings.Join(kindNames(), ", ")))
		}
	}
	if len(bad) > 0 {
		return store.NotificationChannel{}, errors.New(strings.Join(bad, "\n"))
	}
	raw, err := json.Marshal(channelSettings{
		URL: cfg.URL.Reveal(), RoutingKey: cfg.RoutingKey.Reveal(), Source: cfg.Source, SigningSecret: cfg.SigningSecret.Reveal(),
		SMTPHost: cfg.SMTPHost, SMTPPort: cfg.SMTPPort, Username: cfg.Username, Password: cfg.Password.Reveal(),
		From: cfg.From, To: cfg.To, StartTLS: cfg.StartTLS,
	})
	if err != nil {
		return store.NotificationChannel{}, err
	}
	ch := store.NotificationChannel{Environment: env, Name: cfg.Name, Type: string(cfg.Type), Config: raw}
	for _, k := range kinds {
		ch.Kinds = append(ch.Kinds, string(k))
	}
	return ch, nil
}

// OpenChannel is the inverse of SealChannel.
func OpenChannel(ch store.NotificationChannel) (notify.ChannelConfig, []notify.Kind, error) {
	var s channelSettings
	if err := json.Unmarshal(ch.Config, &s); err != nil {
		return notify.ChannelConfig{}, nil, fmt.Errorf("channel %q in %q: stored settings: %w", ch.Name, ch.Environment, err)
	}
	cfg := notify.ChannelConfig{
		Name: ch.Name, Type: notify.ChannelType(ch.Type), Source: s.Source, SMTPHost: s.SMTPHost, SMTPPort: s.SMTPPort,
		Username: s.Username, From: s.From, To: s.To, StartTLS: s.StartTLS,
	}
	if s.URL != "" {
		cfg.URL = notify.NewSecretURL(s.URL)
	}
	if s.RoutingKey != "" {
		cfg.RoutingKey = notify.NewSecret(s.RoutingKey)
	}
	if s.SigningSecret != "" {
		cfg.SigningSecret = notify.NewSecret(s.SigningSecret)
	}
	if s.Password != "" {
		cfg.Password = notify.NewSecret(s.Password)
	}
	kinds := make([]notify.Kind, len(ch.Kinds))
	for i, k := range ch.Kinds {
		kinds[i] = notify.Kind(k)
	}
	return cfg, kinds, nil
}

// KeepSecrets returns next with every secret it gives as the REDACTED placeholder
// (as a channel read back from the API shows them) replaced by prev's, so that an
// administrator can edit a channel without sending its secrets again.
func KeepSecrets(next, prev notify.ChannelConfig) notify.ChannelConfig {
	if next.URL.IsPlaceholder() {
		next.URL = prev.URL
	}
	if next.RoutingKey.IsPlaceholder() {
		next.RoutingKey = prev.RoutingKey
	}
	if next.SigningSecret.IsPlaceholder() {
		next.SigningSecret = prev.SigningSecret
	}
	if next.Password.IsPlaceholder() {
		next.Password = prev.Password
	}
	return next
}

func kindNames() []string {
	var out []string
	for _, k := range notify.Kinds() {
		out = append(out, string(k))
	}
	return out
}
