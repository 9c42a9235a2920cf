package slack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/ramp-release/ramp/internal/notify/alert"
	"github.com/ramp-release/ramp/internal/notify/internal/httpjson"
)

// Config configures a Notifier.
type Config struct {
	// URL is the incoming webhook, https://hooks.slack.com/services/….
	URL alert.SecretURL
	// Client sends the request. Default: a client that does not follow
	// redirects.
	Client *http.Client
}

// Notifier posts events to one Slack incoming webhook.
type Notifier struct {
	url    alert.SecretURL
	client *http.Client
}

// New returns a Notifier for cfg.
func New(cfg Config) (*Notifier, error) {
	if cfg.URL.IsZero() {
		return nil, errors.New("slack: the incoming webhook URL is required")
	}
	return &Notifier{url: cfg.URL, client: cfg.Client}, nil
}

// String names the integration, so printing a Notifier shows no URL.
func (n *Notifier) String() string { return "slack" }

// Notify posts e to the webhook.
func (n *Notifier) Notify(ctx context.Context, e alert.Event) error {
	body, err := json.Marshal(NewMessage(e))
	if err != nil {
		return alert.Permanent(fmt.Errorf("slack: encode message: %w", err))
	}
	if err := httpjson.Post(ctx, n.client, n.url, nil, body); err != nil {
		return fmt.Errorf("slack: %w", err)
	}
	return nil
}

// emojis gives the Slack emoji shown for each kind of event.
var emojis = map[alert.Kind]string{
	alert.ApprovalRequested: ":raised_hand:",
	alert.StageAdvanced:     ":arrow_up:",
	alert.Paused:            ":double_vertical_bar:",
	alert.Resumed:           ":arrow_forward:",
	alert.RolledBack:        ":rotating_light:",
	alert.Completed:         ":white_check_mark:",
	alert.RollbackResolved:  ":large_green_circle:",
}

// Message is the body of an incoming-webhook request.
type Message struct {
	// Text is the fallback shown in notifications.
	Text   string  `json:"text"`
	Blocks []Block `json:"blocks"`
}

// Block is a Block Kit layout block (header, section or context).
type Block struct {
	Type     string `json:"type"`
	Text     *Text  `json:"text,omitempty"`
	Fields   []Text `json:"fields,omitempty"`
	Elements []Text `json:"elements,omitempty"`
}

// Text is a Block Kit text object.
type Text struct {
	Type  string `json:"type"` // "plain_text" or "mrkdwn"
	Text  string `json:"text"`
	Emoji bool   `json:"emoji,omitempty"`
}

// Block Kit limits, in characters.
const (
	headerMax  = 150
	fieldMax   = 2000
	sectionMax = 3000
)

// NewMessage lays e out as a Slack message.
func NewMessage(e alert.Event) Message {
	emoji := emojis[e.Kind]
	if emoji == "" {
		emoji = ":bell:"
	}
	text := emoji + " " + escape(e.Summary())
	if e.Reason != "" {
		text += ": " + escape(e.Reason)
	}

	header := e.Kind.Title()
	if e.Flag != "" {
		header += ": " + e.Flag
	}
	blocks := []Block{{
		Type: "header",
		Text: &Text{Type: "plain_text", Text: truncate(emoji+" "+header, headerMax), Emoji: true},
	}}

	var fields []Text
	for _, f := range []struct{ name, value string }{
		{"Flag", code(e.Flag)},
		{"Environment", escape(e.Environment)},
		{"Stage", escape(e.Stage)},
		{"Rollout", code(e.RolloutID)},
	} {
		if f.value != "" {
			fields = append(fields, Text{Type: "mrkdwn", Text: truncate("*"+f.name+"*\n"+f.value, fieldMax)})
		}
	}
	if len(fields) > 0 {
		blocks = append(blocks, Block{Type: "section", Fields: fields})
	}
	if e.Reason != "" {
		blocks = append(blocks, section("*Reason*\n"+escape(e.Reason)))
	}
	if len(e.Evidence) > 0 {
		var b strings.Builder
		b.WriteString("*Evidence*")
		for _, k := range slices.Sorted(maps.Keys(e.Evidence)) {
			fmt.Fprintf(&b, "\n• %s: %s", code(k), escape(e.Evidence[k]))
		}
		blocks = append(blocks, section(b.String()))
	}

	var ctx []string
	if e.Actor != "" {
		ctx = append(ctx, "By "+escape(e.Actor))
	}
	if !e.Time.IsZero() {
		// Slack shows the date in the reader's time zone; the text after |
		// is the fallback.
		ctx = append(ctx, fmt.Sprintf("<!date^%d^{date_short_pretty} at {time}|%s>",
			e.Time.Unix(), e.Time.UTC().Format("2006-01-02 15:04 UTC")))
	}
	if len(ctx) > 0 {
		blocks = append(blocks, Block{Type: "context", Elements: []Text{{Type: "mrkdwn", Text: strings.Join(ctx, " · ")}}})
	}
	return Message{Text: text, Blocks: blocks}
}

func section(s string) Block {
	return Block{Type: "section", Text: &Text{Type: "mrkdwn", Text: truncate(s, sectionMax)}}
}

// escape makes s literal in Slack mrkdwn, which gives &, < and > meaning.
var escape = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace

func code(s string) string {
	if s == "" {
		return ""
	}
	return "`" + escape(strings.ReplaceAll(s, "`", "'")) + "`"
}

// truncate cuts s to at most n characters, marking the cut with "…".
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}
