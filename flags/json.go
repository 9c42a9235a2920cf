package flags

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
)

// ParseError is a document that is not valid JSON for a flag set, or that has fields
// the format does not know. It says where, so the author can fix it.
type ParseError struct {
	// Offset is the byte offset of the problem, when known.
	Offset int64
	Line   int
	Column int
	Msg    string
}

func (e *ParseError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("line %d, column %d: %s", e.Line, e.Column, e.Msg)
	}
	return e.Msg
}

// DecodeSet parses and validates a flag set document. Unknown fields are rejected, so
// a misspelt field is an error rather than a silently ignored setting. It returns a
// *ParseError for malformed JSON and [ValidationErrors] for a well-formed but invalid set.
func DecodeSet(data []byte) (*Set, error) {
	var set Set
	if err := decodeStrict(data, &set); err != nil {
		return nil, err
	}
	if set.Flags == nil {
		set.Flags = map[string]*Flag{}
	}
	if err := Validate(&set); err != nil {
		return nil, err
	}
	return &set, nil
}

// DecodeFlag parses and validates one flag; segments are the set's segments its
// conditions may reference (nil for none).
func DecodeFlag(key string, data []byte, segments map[string]*Segment) (*Flag, error) {
	var f Flag
	if err := decodeStrict(data, &f); err != nil {
		return nil, err
	}
	if err := Validate(&Set{Flags: map[string]*Flag{key: &f}, Segments: segments}); err != nil {
		return nil, err
	}
	return &f, nil
}

// decodeStrict decodes exactly one JSON value with unknown fields rejected and numbers
// kept exact (Normalize later gives them their Go types).
func decodeStrict(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return parseError(data, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		off := dec.InputOffset()
		line, col := position(data, off)
		return &ParseError{Offset: off, Line: line, Column: col, Msg: "unexpected data after the JSON document"}
	}
	return nil
}

func parseError(data []byte, err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	pe := &ParseError{Msg: err.Error()}
	switch {
	case errors.As(err, &syn):
		pe.Offset = syn.Offset
		pe.Msg = "invalid JSON: " + syn.Error()
	case errors.As(err, &typ):
		pe.Offset = typ.Offset
		field := typ.Field
		if field == "" {
			field = "the document"
		}
		pe.Msg = fmt.Sprintf("%s: expected %s, got a JSON %s", field, typ.Type, typ.Value)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		pe.Msg = "the JSON document is empty or cut short"
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.TrimPrefix(err.Error(), "json: unknown field ")
		pe.Msg = fmt.Sprintf("unknown field %s; check its spelling against docs/flag-format.md", name)
		pe.Offset = int64(bytes.Index(data, []byte(name)))
	}
	if pe.Offset > 0 {
		pe.Line, pe.Column = position(data, pe.Offset)
	}
	return pe
}

func position(data []byte, off int64) (line, col int) {
	if off > int64(len(data)) {
		off = int64(len(data))
	}
	line = 1 + bytes.Count(data[:off], []byte("\n"))
	col = int(off) - bytes.LastIndexByte(data[:off], '\n')
	return line, col
}

// Normalize gives numbers their Go types in place: json.Number and other numeric types
// become int64 for int flags' variants, float64 elsewhere (integral metadata numbers
// become int64, as OpenFeature distinguishes integer from float metadata). Values it
// cannot convert are left for Validate to report.
func Normalize(set *Set) {
	if set == nil {
		return
	}
	for _, f := range set.Flags {
		if f == nil {
			continue
		}
		for name, v := range f.Variants {
			if f.Type == TypeInt {
				f.Variants[name] = toInt(v)
			} else {
				f.Variants[name] = normalizeJSON(v)
			}
		}
		for k, v := range f.Metadata {
			if n, ok := v.(json.Number); ok {
				if i, err := n.Int64(); err == nil {
					f.Metadata[k] = i
					continue
				}
			}
			switch v.(type) {
			case int, int32, int64, uint32:
				f.Metadata[k] = toInt(v)
			default:
				f.Metadata[k] = normalizeJSON(v)
			}
		}
		for i := range f.Rules {
			normalizeConditions(f.Rules[i].Conditions)
		}
	}
	for _, s := range set.Segments {
		if s == nil {
			continue
		}
		for i := range s.Rules {
			normalizeConditions(s.Rules[i].Conditions)
		}
	}
}

func normalizeConditions(conds []Condition) {
	for i := range conds {
		conds[i].Value = normalizeJSON(conds[i].Value)
		for j := range conds[i].Values {
			conds[i].Values[j] = normalizeJSON(conds[i].Values[j])
		}
	}
}

// toInt converts whole numbers to int64 and leaves anything else as it is (a float64
// with a fraction stays a float64 so Validate can name it).
func toInt(v any) any {
	switch x := v.(type) {
	case int64:
		return x
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		if f, err := x.Float64(); err == nil {
			return toInt(f)
		}
		return x.String()
	case float64:
		if x == math.Trunc(x) && x >= -(1<<63) && x < 1<<63 {
			return int64(x)
		}
		return x
	}
	if f, ok := toFloat(v); ok {
		return toInt(f)
	}
	return v
}

// normalizeJSON turns every number in a JSON-like value into float64.
func normalizeJSON(v any) any {
	switch x := v.(type) {
	case nil, string, bool, float64:
		return v
	case []any:
		for i := range x {
			x[i] = normalizeJSON(x[i])
		}
		return x
	case []string:
		out := make([]any, len(x))
		for i, s := range x {
			out[i] = s
		}
		return out
	case map[string]any:
		for k := range x {
			x[k] = normalizeJSON(x[k])
		}
		return x
	}
	if f, ok := toFloat(v); ok {
		return f
	}
	return v
}
