package sdk

import (
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Defaults for the zero values of [Config].
const (
	DefaultExposureCacheSize = 100_000
	DefaultExposureWindow    = time.Hour
	DefaultFlushInterval     = 5 * time.Second
	DefaultQueueSize         = 10_000
	DefaultMaxBatch          = 1_000
	DefaultPollInterval      = 30 * time.Second
	DefaultReconnectMin      = 500 * time.Millisecond
	DefaultReconnectMax      = 30 * time.Second
	DefaultStreamIdleTimeout = time.Minute
	DefaultErrorGrace        = time.Minute
	DefaultMaxSendAttempts   = 6
	DefaultRequestTimeout    = 10 * time.Second
)

// DefaultDimensions are the context attributes copied into events as analysis
// dimensions when Config.Dimensions is nil.
var DefaultDimensions = []string{"country", "plan", "platform"}

// Config configures a [Client]. Only URL and SDKKey are required (or OfflineFile alone);
// every zero value has a default suitable for production.
type Config struct {
	// URL is the ramp server's base URL, e.g. "https://ramp.internal:8070".
	URL string
	// SDKKey is a server SDK key of the environment to follow (ramp_srv_…).
	SDKKey string
	// Environment, when set, is the environment the key must belong to: a snapshot of
	// another environment is rejected. When empty, the first snapshot's environment is
	// expected from then on.
	Environment string
	// HTTPClient sends every request (default: a client with no overall timeout, as
	// the stream is long-lived; requests are bounded by their contexts).
	HTTPClient *http.Client
	// RequestTimeout bounds each fetch and each event request, and the time to
	// establish the stream (default 10 s).
	RequestTimeout time.Duration

	// CachePath, when set, is a file where each good snapshot is persisted atomically,
	// and from which New starts when it exists, so the application serves its last
	// known flags even when it starts while the server is down.
	CachePath string
	// OfflineFile, when set, makes the client run fully offline from a flag document
	// (the /sdk/v1/flags document, or a bare {"flags": …, "segments": …} set): no
	// network, no events. For tests and air-gapped deployments.
	OfflineFile string

	// PollInterval bounds the time between two fetches of the snapshot while the
	// stream is unavailable (default 30 s).
	PollInterval time.Duration
	// ReconnectMin and ReconnectMax bound the jittered exponential backoff between
	// stream attempts (defaults 500 ms and 30 s).
	ReconnectMin, ReconnectMax time.Duration
	// StreamIdleTimeout drops a stream that delivered nothing, not even a heartbeat,
	// for this long (default 1 min; the server sends a heartbeat every 15 s).
	StreamIdleTimeout time.Duration
	// DisableStreaming makes the client poll every PollInterval instead of streaming.
	DisableStreaming bool
	// ErrorGrace is how long the client may be unable to reach the server (or to
	// apply what it sends) before its status turns from stale (or not ready) to error
	// (default 1 min).
	ErrorGrace time.Duration

	// ExposureCacheSize bounds the exposure dedup cache in entries (default 100 000,
	// 800 KB: 8 bytes an entry). Each entry is one unit × flag × variant × version.
	ExposureCacheSize int
	// ExposureWindow is how long an exposure is remembered: the same unit, flag,
	// variant and version is reported at most once per window (default 1 h, at most
	// 6.5 days, to within 17 ms).
	ExposureWindow time.Duration
	// ExposeAllFlags records exposures for every evaluation that serves a variant, not
	// only for rules a rollout rendered.
	ExposeAllFlags bool
	// DisableEvents turns exposures and Track off: nothing is queued or sent.
	DisableEvents bool
	// Dimensions names the context attributes copied into events as analysis
	// dimensions (default country, plan, platform; an empty non-nil slice for none).
	Dimensions []string
	// FlushInterval is the longest an event waits in the queue (default 5 s); a full
	// batch is sent at once.
	FlushInterval time.Duration
	// QueueSize bounds the events waiting to be sent (default 10 000). When it is full
	// new events are dropped and counted, never waited for.
	QueueSize int
	// MaxBatch bounds the events in one request (default 1 000).
	MaxBatch int
	// MaxSendAttempts bounds the attempts to send one batch on 5xx, 429 and network
	// errors (default 6); the same batch id is reused so the server counts it once.
	MaxSendAttempts int

	// Logger receives the client's warnings and errors (default slog.Default()).
	Logger *slog.Logger
	// OnChange is called after a new snapshot is swapped in, with the keys of the
	// flags that changed (added, removed or edited, directly or through a segment).
	OnChange func(changedKeys []string)
	// OnStatus is called when the status changes; err is the cause for stale, error
	// and fatal.
	OnStatus func(status Status, err error)
	// OnError is called for every problem the client reports: a rejected snapshot,
	// a failed request, a batch given up.
	OnError func(err error)
}

func (c *Config) setDefaults() error {
	if c.OfflineFile == "" {
		if c.URL == "" {
			return errors.New("sdk: Config.URL is empty; give the ramp server's base URL, or OfflineFile to run offline")
		}
		u, err := url.Parse(c.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return errors.New("sdk: Config.URL " + c.URL + " is not an http(s) URL such as https://ramp.internal:8070")
		}
		c.URL = strings.TrimRight(c.URL, "/")
		if c.SDKKey == "" {
			return errors.New("sdk: Config.SDKKey is empty; create a server SDK key with POST /api/v1/environments/{env}/sdk-keys")
		}
	}
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{}
	}
	if c.RequestTimeout <= 0 {
		c.RequestTimeout = DefaultRequestTimeout
	}
	if c.PollInterval <= 0 {
		c.PollInterval = DefaultPollInterval
	}
	if c.ReconnectMin <= 0 {
		c.ReconnectMin = DefaultReconnectMin
	}
	if c.ReconnectMax <= 0 {
		c.ReconnectMax = DefaultReconnectMax
	}
	if c.ReconnectMax < c.ReconnectMin {
		c.ReconnectMax = c.ReconnectMin
	}
	if c.StreamIdleTimeout <= 0 {
		c.StreamIdleTimeout = DefaultStreamIdleTimeout
	}
	if c.ErrorGrace <= 0 {
		c.ErrorGrace = DefaultErrorGrace
	}
	if c.ExposureCacheSize <= 0 {
		c.ExposureCacheSize = DefaultExposureCacheSize
	}
	if c.ExposureWindow <= 0 {
		c.ExposureWindow = DefaultExposureWindow
	}
	if c.Dimensions == nil {
		c.Dimensions = DefaultDimensions
	}
	if len(c.Dimensions) > maxDimensions {
		return errors.New("sdk: Config.Dimensions names more than 16 attributes, the limit of an event")
	}
	if c.FlushInterval <= 0 {
		c.FlushInterval = DefaultFlushInterval
	}
	if c.QueueSize <= 0 {
		c.QueueSize = DefaultQueueSize
	}
	if c.MaxBatch <= 0 {
		c.MaxBatch = DefaultMaxBatch
	}
	if c.MaxBatch > maxEventsPerBatch {
		c.MaxBatch = maxEventsPerBatch
	}
	if c.MaxSendAttempts <= 0 {
		c.MaxSendAttempts = DefaultMaxSendAttempts
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return nil
}
