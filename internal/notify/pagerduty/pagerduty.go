package pagerduty

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"
	"unicode/utf8"

	"github.com/ramp-release/ramp/internal/notify/alert"
	"github.com/ramp-release/ramp/internal/notify/internal/httpjson"
)

// DefaultURL is the Events API v2 endpoint.
const DefaultURL = "https://events.pagerduty.com/v2/enqueue"

// Config configures a Notifier.
type Config struct {
	// RoutingKey is the integration key of a PagerDuty service.
	RoutingKey alert.Secret
	// URL is the enqueue endpoint. Default DefaultURL.
	URL string
	// Source is the payload's source: what is affected. Default
	// "ramp/<environment>".
	Source string
	// Client sends the request. Default: a client that does not follow
	// redirects.
	Client *http.Client
}

// Notifier sends events to one PagerDuty service.
type Notifier struct {
	routingKey alert.Secret
	url        alert.SecretURL
	source     string
	client     *http.Client
}

// New returns a Notifier for cfg.
func New(cfg Config) (*Notifier, error) {
	if cfg.RoutingKey.IsZero() {
		return nil, errors.New("pagerduty: the routing key is required")
	}
	if cfg.URL == "" {
		cfg.URL = DefaultURL
	}
	return &Notifier{
		routingKey: cfg.RoutingKey,
		url:        alert.NewSecretURL(cfg.URL),
		source:     cfg.Source,
		client:     cfg.Client,
	}, nil
}

// String names the integration, so printing a Notifier shows no key.
func (n *Notifier) String() string { return "pagerduty" }

// Event actions and severities of the Events API v2.
const (
	Trigger  = "trigger"
	Resolve  = "resolve"
	Critical = "critical"
	Warning  = "warning"
)

// Action returns the event action and severity PagerDuty gets for a kind,
// and false for a kind that does not page.
func Action(k alert.Kind) (action, severity string, ok bool) {
	switch k {
	case alert.RolledBack:
		return Trigger, Critical, true
	case alert.Paused:
		return Trigger, Warning, true
	case alert.RollbackResolved, alert.Resumed, alert.Completed:
		return Resolve, "", true
	}
	return "", "", false
}

// Request is the body of an Events API v2 request.
type Request struct {
	RoutingKey  string   `json:"routing_key"`
	EventAction string   `json:"event_action"`
	DedupKey    string   `json:"dedup_key"`
	Payload     *Payload `json:"payload,omitempty"`
	Client      string   `json:"client,omitempty"`
}

// Payload describes a triggered alert.
type Payload struct {
	Summary       string         `json:"summary"`
	Source        string         `json:"source"`
	Severity      string         `json:"severity"`
	Timestamp     string         `json:"timestamp,omitempty"`
	Component     string         `json:"component,omitempty"`
	Group         string         `json:"group,omitempty"`
	Class         string         `json:"class,omitempty"`
	CustomDetails map[string]any `json:"custom_details,omitempty"`
}

// Events API limits, in characters.
const (
	summaryMax = 1024
	dedupMax   = 255
)

// Notify sends e's trigger or resolve, or returns alert.ErrSkipped.
func (n *Notifier) Notify(ctx context.Context, e alert.Event) error {
	req, ok := n.request(e)
	if !ok {
		return fmt.Errorf("pagerduty: %s: %w", e.Kind, alert.ErrSkipped)
	}
	body, err := json.Marshal(req)
	if err != nil {
		return alert.Permanent(fmt.Errorf("pagerduty: encode event: %w", err))
	}
	if err := httpjson.Post(ctx, n.client, n.url, nil, body, n.routingKey); err != nil {
		return fmt.Errorf("pagerduty: %w", err)
	}
	return nil
}

func (n *Notifier) request(e alert.Event) (Request, bool) {
	action, severity, ok := Action(e.Kind)
	if !ok {
		return Request{}, false
	}
	req := Request{
		RoutingKey:  n.routingKey.Reveal(),
		EventAction: action,
		DedupKey:    DedupKey(e),
		Client:      "ramp",
	}
	if action != Trigger {
		// A resolve needs only the key; PagerDuty ignores a payload.
		return req, true
	}
	source := n.source
	if source == "" {
		source = "ramp/" + e.Environment
	}
	summary := e.Summary()
	if e.Reason != "" {
		summary += ": " + e.Reason
	}
	details := map[string]any{
		"kind":        string(e.Kind),
		"flag":        e.Flag,
		"environment": e.Environment,
		"rollout_id":  e.RolloutID,
	}
	for k, v := range map[string]string{"stage": e.Stage, "reason": e.Reason, "actor": e.Actor} {
		if v != "" {
			details[k] = v
		}
	}
	if len(e.Evidence) > 0 {
		details["evidence"] = e.Evidence
	}
	p := &Payload{
		Summary:       truncate(summary, summaryMax),
		Source:        source,
		Severity:      severity,
		Component:     e.Flag,
		Group:         e.Environment,
		Class:         string(e.Kind),
		CustomDetails: details,
	}
	if !e.Time.IsZero() {
		p.Timestamp = e.Time.UTC().Format(time.RFC3339)
	}
	req.Payload = p
	return req, true
}

// DedupKey is the key that ties the trigger and resolve of one rollout:
// its id, or, for an event without one, its environment and flag.
func DedupKey(e alert.Event) string {
	key := e.RolloutID
	if key == "" {
		key = "ramp/" + e.Environment + "/" + e.Flag
	}
	return truncate(key, dedupMax)
}

func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}
