package sdk

import (
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/ramp-release/ramp/events"
)

// appendBatch writes b as encoding/json would (same field names, same omitempty
// rules), without reflection: a busy application sends every exposure through here,
// and encoding/json costs several times more per event. TestAppendBatchMatchesJSON
// holds the two to the same output.
func appendBatch(buf []byte, b *events.Batch) []byte {
	buf = append(buf, `{"batch_id":`...)
	buf = appendString(buf, b.BatchID)
	if !b.SentAt.IsZero() {
		buf = append(buf, `,"sent_at":`...)
		buf = appendTime(buf, b.SentAt)
	}
	if b.SDK != "" {
		buf = append(buf, `,"sdk":`...)
		buf = appendString(buf, b.SDK)
	}
	buf = append(buf, `,"events":`...)
	if b.Events == nil {
		buf = append(buf, "null"...)
	} else {
		buf = append(buf, '[')
		for i := range b.Events {
			if i > 0 {
				buf = append(buf, ',')
			}
			buf = appendEvent(buf, &b.Events[i])
		}
		buf = append(buf, ']')
	}
	if b.Dropped != 0 {
		buf = append(buf, `,"dropped":`...)
		buf = strconv.AppendInt(buf, b.Dropped, 10)
	}
	return append(buf, '}')
}

func appendEvent(buf []byte, e *events.Event) []byte {
	buf = append(buf, `{"kind":`...)
	buf = appendString(buf, string(e.Kind))
	buf = append(buf, `,"time":`...)
	buf = appendTime(buf, e.Time)
	buf = append(buf, `,"unit":`...)
	buf = appendString(buf, e.Unit)
	buf = appendField(buf, "flag", e.Flag)
	buf = appendField(buf, "variant", e.Variant)
	if e.FlagVersion != 0 {
		buf = append(buf, `,"flag_version":`...)
		buf = strconv.AppendInt(buf, e.FlagVersion, 10)
	}
	buf = appendField(buf, "rule_id", e.RuleID)
	if e.RuleIndex != 0 {
		buf = append(buf, `,"rule_index":`...)
		buf = strconv.AppendInt(buf, int64(e.RuleIndex), 10)
	}
	buf = appendField(buf, "rollout", e.Rollout)
	buf = appendField(buf, "stage", e.Stage)
	buf = appendField(buf, "arm", e.Arm)
	buf = appendField(buf, "metric", e.Metric)
	if e.Value != nil {
		buf = append(buf, `,"value":`...)
		buf = appendFloat(buf, *e.Value)
	}
	buf = appendField(buf, "comment", e.Comment)
	if len(e.Dimensions) > 0 {
		buf = append(buf, `,"dimensions":{`...)
		first := true
		// Map order does not matter to the server; encoding/json sorts, which the
		// test's comparison accounts for.
		for k, v := range e.Dimensions {
			if !first {
				buf = append(buf, ',')
			}
			first = false
			buf = appendString(buf, k)
			buf = append(buf, ':')
			buf = appendString(buf, v)
		}
		buf = append(buf, '}')
	}
	return append(buf, '}')
}

// appendField writes ,"name":"value" unless value is empty (omitempty).
func appendField(buf []byte, name, value string) []byte {
	if value == "" {
		return buf
	}
	buf = append(buf, ',', '"')
	buf = append(buf, name...)
	buf = append(buf, '"', ':')
	return appendString(buf, value)
}

func appendTime(buf []byte, t time.Time) []byte {
	buf = append(buf, '"')
	buf = t.AppendFormat(buf, time.RFC3339Nano)
	return append(buf, '"')
}

// appendFloat writes a finite float as encoding/json does (Track refuses NaN and ±Inf).
func appendFloat(buf []byte, f float64) []byte {
	abs := f
	if abs < 0 {
		abs = -abs
	}
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	buf = strconv.AppendFloat(buf, f, format, -1, 64)
	if format == 'e' {
		// Clean up e-09 to e-9, as encoding/json does.
		n := len(buf)
		if n >= 4 && buf[n-4] == 'e' && buf[n-3] == '-' && buf[n-2] == '0' {
			buf[n-2] = buf[n-1]
			buf = buf[:n-1]
		}
	}
	return buf
}

const hexDigits = "0123456789abcdef"

// appendString writes s as a JSON string: quotes, backslashes and control characters
// escaped, invalid UTF-8 replaced by U+FFFD, and <, >, & and U+2028/U+2029 escaped as
// encoding/json does by default.
func appendString(buf []byte, s string) []byte {
	buf = append(buf, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			buf = append(buf, s[start:i]...)
			switch c {
			case '"', '\\':
				buf = append(buf, '\\', c)
			case '\n':
				buf = append(buf, '\\', 'n')
			case '\r':
				buf = append(buf, '\\', 'r')
			case '\t':
				buf = append(buf, '\\', 't')
			case '\b':
				buf = append(buf, '\\', 'b')
			case '\f':
				buf = append(buf, '\\', 'f')
			default:
				buf = append(buf, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			buf = append(buf, s[start:i]...)
			buf = append(buf, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			buf = append(buf, s[start:i]...)
			buf = append(buf, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	buf = append(buf, s[start:]...)
	return append(buf, '"')
}
