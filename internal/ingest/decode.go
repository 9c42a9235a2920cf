package ingest

import (
	"encoding/json"
	"errors"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/ramp-release/ramp/events"
)

// DecodeBatch decodes a batch payload. It tries FastDecodeBatch and falls back to
// encoding/json for anything it does not handle (escapes, unusual times).
func DecodeBatch(data []byte, b *events.Batch) error {
	if err := FastDecodeBatch(data, b); err == nil {
		return nil
	}
	*b = events.Batch{}
	return json.Unmarshal(data, b)
}

// errFallback says the fast decoder does not handle the document; a complete
// decoder must decide.
var errFallback = errors.New("not handled by the fast batch decoder")

// FastDecodeBatch decodes a batch in one pass without reflection, about an order of
// magnitude faster than encoding/json: this is the hot path of ingestion. It accepts a
// strict subset of what encoding/json accepts — exact field names, each at most once
// per object, no unknown fields, strings without escapes or invalid UTF-8, RFC 3339
// times — and returns an error for anything else, so callers fall back to a complete
// decoder for the document (and its error messages). A document it accepts decodes to
// what encoding/json gives.
func FastDecodeBatch(data []byte, b *events.Batch) error {
	*b = events.Batch{}
	d := decoder{data: data}
	if err := d.batch(b); err != nil {
		return err
	}
	d.space()
	if d.pos != len(d.data) {
		return errFallback
	}
	return nil
}

type decoder struct {
	data []byte
	pos  int
}

func (d *decoder) space() {
	for d.pos < len(d.data) {
		switch d.data[d.pos] {
		case ' ', '\t', '\n', '\r':
			d.pos++
		default:
			return
		}
	}
}

func (d *decoder) consume(c byte) bool {
	d.space()
	if d.pos < len(d.data) && d.data[d.pos] == c {
		d.pos++
		return true
	}
	return false
}

func (d *decoder) null() bool {
	d.space()
	if len(d.data)-d.pos >= 4 && string(d.data[d.pos:d.pos+4]) == "null" {
		d.pos += 4
		return true
	}
	return false
}

// rawString returns the bytes of a string without escapes.
func (d *decoder) rawString() ([]byte, error) {
	if !d.consume('"') {
		return nil, errFallback
	}
	start := d.pos
	ascii := true
	for d.pos < len(d.data) {
		c := d.data[d.pos]
		switch {
		case c == '"':
			s := d.data[start:d.pos]
			d.pos++
			if !ascii && !utf8.Valid(s) {
				return nil, errFallback
			}
			return s, nil
		case c == '\\' || c < 0x20:
			return nil, errFallback
		case c >= 0x80:
			ascii = false
		}
		d.pos++
	}
	return nil, errFallback
}

func (d *decoder) str(dst *string) error {
	if d.null() {
		return nil
	}
	s, err := d.rawString()
	if err != nil {
		return err
	}
	*dst = string(s)
	return nil
}

// number returns the bytes of a JSON number.
func (d *decoder) number() ([]byte, error) {
	d.space()
	start := d.pos
	for d.pos < len(d.data) {
		c := d.data[d.pos]
		if (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E' {
			d.pos++
			continue
		}
		break
	}
	if d.pos == start {
		return nil, errFallback
	}
	return d.data[start:d.pos], nil
}

func (d *decoder) int64(dst *int64) error {
	if d.null() {
		return nil
	}
	n, err := d.number()
	if err != nil {
		return err
	}
	v, err := strconv.ParseInt(string(n), 10, 64)
	if err != nil || (len(n) > 1 && n[0] == '0') || (len(n) > 2 && n[0] == '-' && n[1] == '0') {
		return errFallback
	}
	*dst = v
	return nil
}

func (d *decoder) float(dst **float64) error {
	if d.null() {
		*dst = nil
		return nil
	}
	n, err := d.number()
	if err != nil {
		return err
	}
	if !validNumber(n) {
		return errFallback
	}
	v, err := strconv.ParseFloat(string(n), 64)
	if err != nil {
		return errFallback
	}
	*dst = &v
	return nil
}

// validNumber checks JSON's number grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func validNumber(n []byte) bool {
	i := 0
	if i < len(n) && n[i] == '-' {
		i++
	}
	digits := func() int {
		s := i
		for i < len(n) && n[i] >= '0' && n[i] <= '9' {
			i++
		}
		return i - s
	}
	if i < len(n) && n[i] == '0' {
		i++
	} else if digits() == 0 {
		return false
	}
	if i < len(n) && n[i] == '.' {
		i++
		if digits() == 0 {
			return false
		}
	}
	if i < len(n) && (n[i] == 'e' || n[i] == 'E') {
		i++
		if i < len(n) && (n[i] == '+' || n[i] == '-') {
			i++
		}
		if digits() == 0 {
			return false
		}
	}
	return i == len(n)
}

func (d *decoder) time(dst *time.Time) error {
	if d.null() {
		return nil
	}
	s, err := d.rawString()
	if err != nil {
		return err
	}
	if t, ok := parseUTC(s); ok {
		*dst = t
		return nil
	}
	var t time.Time
	if err := t.UnmarshalJSON(append(append([]byte{'"'}, s...), '"')); err != nil {
		return errFallback
	}
	*dst = t
	return nil
}

// parseUTC parses the common form "2006-01-02T15:04:05[.fraction]Z" without
// time.Parse.
func parseUTC(s []byte) (time.Time, bool) {
	if len(s) < 20 || s[len(s)-1] != 'Z' || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' {
		return time.Time{}, false
	}
	num := func(b []byte) (int, bool) {
		n := 0
		for _, c := range b {
			if c < '0' || c > '9' {
				return 0, false
			}
			n = n*10 + int(c-'0')
		}
		return n, true
	}
	year, ok1 := num(s[0:4])
	month, ok2 := num(s[5:7])
	day, ok3 := num(s[8:10])
	hour, ok4 := num(s[11:13])
	minute, ok5 := num(s[14:16])
	sec, ok6 := num(s[17:19])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || sec > 59 {
		return time.Time{}, false
	}
	nsec := 0
	rest := s[19 : len(s)-1]
	if len(rest) > 0 {
		if rest[0] != '.' || len(rest) < 2 || len(rest) > 10 {
			return time.Time{}, false
		}
		f, ok := num(rest[1:])
		if !ok {
			return time.Time{}, false
		}
		for range 10 - len(rest) {
			f *= 10
		}
		nsec = f
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, nsec, time.UTC)
	if t.Day() != day { // e.g. February 30th
		return time.Time{}, false
	}
	return t, true
}

// object decodes an object, calling field for each key (at most once each: a
// repeated key falls back, as the strict decoder refuses it).
func (d *decoder) object(field func(key []byte) error) error {
	if !d.consume('{') {
		return errFallback
	}
	if d.consume('}') {
		return nil
	}
	for {
		key, err := d.rawString()
		if err != nil {
			return err
		}
		if !d.consume(':') {
			return errFallback
		}
		if err := field(key); err != nil {
			return err
		}
		if d.consume(',') {
			continue
		}
		if d.consume('}') {
			return nil
		}
		return errFallback
	}
}

func (d *decoder) batch(b *events.Batch) error {
	var seen uint32
	return d.object(func(key []byte) error {
		bit, err := once(&seen, batchFields, key)
		if err != nil {
			return err
		}
		switch bit {
		case 0:
			return d.str(&b.BatchID)
		case 1:
			return d.time(&b.SentAt)
		case 2:
			return d.str(&b.SDK)
		case 3:
			return d.events(b)
		case 4:
			return d.int64(&b.Dropped)
		}
		return errFallback
	})
}

var batchFields = []string{"batch_id", "sent_at", "sdk", "events", "dropped"}

var eventFields = []string{"kind", "time", "unit", "flag", "variant", "flag_version", "rule_id", "rule_index",
	"rollout", "stage", "arm", "metric", "value", "comment", "dimensions"}

// once returns the index of key among fields, failing for an unknown or repeated key.
func once(seen *uint32, fields []string, key []byte) (int, error) {
	for i, f := range fields {
		if string(key) == f {
			if *seen&(1<<i) != 0 {
				return 0, errFallback
			}
			*seen |= 1 << i
			return i, nil
		}
	}
	return 0, errFallback
}

func (d *decoder) events(b *events.Batch) error {
	if d.null() {
		return nil
	}
	if !d.consume('[') {
		return errFallback
	}
	// A batch of 1 000 events is about 150 kB: size the slice once.
	b.Events = make([]events.Event, 0, max(1, len(d.data)/160))
	if d.consume(']') {
		return nil
	}
	for {
		b.Events = append(b.Events, events.Event{})
		if err := d.event(&b.Events[len(b.Events)-1]); err != nil {
			return err
		}
		if d.consume(',') {
			continue
		}
		if d.consume(']') {
			return nil
		}
		return errFallback
	}
}

func (d *decoder) event(e *events.Event) error {
	var seen uint32
	return d.object(func(key []byte) error {
		bit, err := once(&seen, eventFields, key)
		if err != nil {
			return err
		}
		switch bit {
		case 0:
			var k string
			if err := d.str(&k); err != nil {
				return err
			}
			e.Kind = events.Kind(k)
			return nil
		case 1:
			return d.time(&e.Time)
		case 2:
			return d.str(&e.Unit)
		case 3:
			return d.str(&e.Flag)
		case 4:
			return d.str(&e.Variant)
		case 5:
			return d.int64(&e.FlagVersion)
		case 6:
			return d.str(&e.RuleID)
		case 7:
			var n int64
			if err := d.int64(&n); err != nil {
				return err
			}
			e.RuleIndex = int(n)
			return nil
		case 8:
			return d.str(&e.Rollout)
		case 9:
			return d.str(&e.Stage)
		case 10:
			return d.str(&e.Arm)
		case 11:
			return d.str(&e.Metric)
		case 12:
			return d.float(&e.Value)
		case 13:
			return d.str(&e.Comment)
		case 14:
			return d.dimensions(e)
		}
		return errFallback
	})
}

func (d *decoder) dimensions(e *events.Event) error {
	if d.null() {
		return nil
	}
	e.Dimensions = make(map[string]string, 4)
	return d.object(func(key []byte) error {
		k := string(key)
		if _, dup := e.Dimensions[k]; dup {
			return errFallback
		}
		var v string
		if d.null() {
			e.Dimensions[k] = ""
			return nil
		}
		if err := d.str(&v); err != nil {
			return err
		}
		e.Dimensions[k] = v
		return nil
	})
}
