package sqlstore

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	"github.com/ramp-release/ramp/flags"
	"github.com/ramp-release/ramp/internal/store"
)

// TimeLayout is how engines without a time type (SQLite) store times: UTC at microsecond
// precision, fixed width, so that text order is time order.
const TimeLayout = "2006-01-02T15:04:05.000000Z"

// timeScanner scans a time stored as a time or as TimeLayout text, into UTC.
type timeScanner struct{ t *time.Time }

func (s timeScanner) Scan(v any) error {
	t, err := scanTime(v)
	if err != nil {
		return err
	}
	*s.t = t
	return nil
}

// nullTimeScanner scans an optional time; NULL becomes nil.
type nullTimeScanner struct{ t **time.Time }

func (s nullTimeScanner) Scan(v any) error {
	if v == nil {
		*s.t = nil
		return nil
	}
	t, err := scanTime(v)
	if err != nil {
		return err
	}
	*s.t = &t
	return nil
}

func scanTime(v any) (time.Time, error) {
	var t time.Time
	switch x := v.(type) {
	case time.Time:
		t = x
	case string:
		return parseTime(x)
	case []byte:
		return parseTime(string(x))
	default:
		return t, fmt.Errorf("cannot scan %T into a time", v)
	}
	return t.UTC(), nil
}

func parseTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return t, fmt.Errorf("stored time %q: %w", s, err)
	}
	return t.UTC(), nil
}

// encodeJSON returns v as JSON text.
func encodeJSON(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("%w: %w", store.ErrInvalid, err)
	}
	return string(b), nil
}

// nullJSON returns v as JSON text, or nil (SQL NULL) when empty reports that v is empty.
func nullJSON(v any, empty bool) (any, error) {
	if empty {
		return nil, nil
	}
	return encodeJSON(v)
}

// decodeJSON decodes stored JSON, keeping numbers exact as json.Number; callers give
// them their Go types with flags.Normalize. NULL (nil) leaves v as it is.
func decodeJSON(data []byte, v any) error {
	if data == nil {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("decode stored JSON: %w", err)
	}
	return nil
}

// normalizeFlag gives the numbers in f the Go types the evaluation core uses (int64 for
// int variants, float64 elsewhere), in place: Eval shares f's maps and slices.
func normalizeFlag(f *store.Flag) {
	ev := f.Eval()
	flags.Normalize(&flags.Set{Flags: map[string]*flags.Flag{ev.Key: ev}})
}

// normalizeSegment is normalizeFlag for a segment.
func normalizeSegment(s *store.Segment) {
	ev := s.Eval()
	flags.Normalize(&flags.Set{Segments: map[string]*flags.Segment{ev.Key: ev}})
}

// stateBody is the part of a flag state kept as the template for environments created
// later (version and time are set when it is applied).
type stateBody struct {
	Enabled    bool              `json:"enabled"`
	OffVariant string            `json:"off_variant,omitempty"`
	Rules      []flags.Rule      `json:"rules,omitempty"`
	Default    *flags.Allocation `json:"default,omitempty"`
}
