package flags

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// ParseError is a document that is not valid JSON for a flag set, or that has fields
// the format does not know. It says where, so the author can fix it.
type ParseError struct {
	// Offset is the byte offset of the problem, when known.
	Offset int64
	Line   int
	Column int
	// Path locates the problem in the document, e.g. flags["summarize"].rules[0],
	// in the notation of [FieldError]; empty for the document itself.
	Path string
	Msg  string
}

func (e *ParseError) Error() string {
	msg := e.Msg
	if e.Path != "" {
		msg = e.Path + ": " + msg
	}
	if e.Line > 0 {
		return fmt.Sprintf("line %d, column %d: %s", e.Line, e.Column, msg)
	}
	return msg
}

// DecodeSet parses and validates a flag set document. Unknown fields (including a
// known field spelt with other capitals) and keys repeated within one object are
// rejected, so a misspelt or duplicated setting is an error rather than silently
// ignored or overwritten. It returns a *ParseError for a malformed document and
// [ValidationErrors] for a well-formed but invalid set.
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

// MarshalJSON writes the flag in the format [DecodeSet] reads. It differs from the
// default encoding in one way: a float metadata value that is a whole number is
// written with a fraction (2.0, not 2), so that it decodes as a float again rather
// than as an integer — OpenFeature tells the two apart.
func (f Flag) MarshalJSON() ([]byte, error) {
	type plain Flag // no methods: encodes with the default rules
	out := struct {
		plain
		Metadata map[string]any `json:"metadata,omitempty"` // shadows plain.Metadata
	}{plain: plain(f)}
	if len(f.Metadata) > 0 {
		out.Metadata = make(map[string]any, len(f.Metadata))
		for k, v := range f.Metadata {
			if x, ok := v.(float64); ok && x == math.Trunc(x) && math.Abs(x) < 1e21 {
				v = json.Number(strconv.FormatFloat(x, 'f', 1, 64))
			}
			out.Metadata[k] = v
		}
	}
	return json.Marshal(out)
}

// decodeStrict decodes exactly one JSON value into v, a pointer, with numbers kept
// exact (Normalize later gives them their Go types), after checkDocument has found
// nothing wrong with its structure. It is also [DecodeJSON], used for request bodies
// of any type.
func decodeStrict(data []byte, v any) error {
	if rv := reflect.ValueOf(v); rv.Kind() == reflect.Pointer && !rv.IsNil() {
		if err := checkDocument(data, rv.Type().Elem()); err != nil {
			return err
		}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return decodeError(err)
	}
	return nil
}

// decodeError converts what encoding/json still rejects after checkDocument: a
// ",string" field holding no number, or a target that is not a non-nil pointer.
func decodeError(err error) *ParseError {
	return &ParseError{Msg: strings.TrimPrefix(err.Error(), "json: ")}
}

func position(data []byte, off int64) (line, col int) {
	off = max(0, min(off, int64(len(data))))
	line = 1 + bytes.Count(data[:off], []byte("\n"))
	col = int(off) - bytes.LastIndexByte(data[:off], '\n')
	return line, col
}

// checkDocument returns the first problem of data as a *ParseError with its position:
// invalid JSON (including data after the document and nesting deeper than
// encoding/json's limit), then, walking the document guided by the Go type t it
// decodes into, an unknown field, a key repeated in one object, a value of the wrong
// kind or a number outside its field's range — each with its path. encoding/json
// accepts repeated keys silently (the last one wins) and matches field names without
// regard to case; here a field with a json tag must be spelt as tagged. It reports the
// other problems without a usable position. null is accepted wherever encoding/json
// accepts it. A value of a type that decodes itself (json.Unmarshaler,
// encoding.TextUnmarshaler, []byte) has its keys checked and is then decoded on its
// own to place the type's error; a ",string" field is left to encoding/json.
func checkDocument(data []byte, t reflect.Type) error {
	if !json.Valid(data) {
		// Unmarshal checks the whole input before decoding anything and reports the
		// absolute offset of a syntax error (a Decoder's is relative to a value).
		return syntaxError(data, json.Unmarshal(data, new(json.RawMessage)))
	}
	c := &docChecker{data: data, fields: map[reflect.Type]map[string]field{}}
	return c.value(t)
}

func syntaxError(data []byte, err error) *ParseError {
	var syn *json.SyntaxError
	if !errors.As(err, &syn) {
		return &ParseError{Msg: "invalid JSON: " + err.Error()}
	}
	// The error occurred after reading Offset bytes: point at the last one read.
	off := max(0, syn.Offset-1)
	msg := "invalid JSON: " + syn.Error()
	switch {
	case len(bytes.TrimSpace(data)) == 0:
		off = 0
		msg = "the document is empty; a flag set is an object such as {\"flags\": {}}"
	case syn.Offset >= int64(len(data)) && strings.Contains(syn.Error(), "unexpected end"):
		off = int64(len(data))
		msg = "invalid JSON: the document ends before its last value is complete"
	case strings.Contains(syn.Error(), "after top-level value"):
		msg = "unexpected data after the JSON document"
	}
	line, col := position(data, off)
	return &ParseError{Offset: off, Line: line, Column: col, Msg: msg}
}

// docChecker walks a document known to be valid JSON, byte by byte.
type docChecker struct {
	data   []byte
	off    int      // the next byte to read
	path   []string // elements such as ".rules", "[2]", `["summarize"]`
	fields map[reflect.Type]map[string]field
}

// field is a struct field as encoding/json sees it.
type field struct {
	typ    reflect.Type
	tagged bool // named by a json tag, so it must be spelt exactly so
}

// skip moves past whitespace and separators: the document is valid JSON, so commas
// and colons are where they must be.
func (c *docChecker) skip() {
	for c.off < len(c.data) {
		switch c.data[c.off] {
		case ' ', '\t', '\n', '\r', ',', ':':
			c.off++
			continue
		}
		return
	}
}

// scalar returns the raw bytes of the string, number or literal at c.off and moves
// past it.
func (c *docChecker) scalar() []byte {
	start := c.off
	if c.data[c.off] == '"' {
		for c.off++; c.data[c.off] != '"'; c.off++ {
			if c.data[c.off] == '\\' {
				c.off++
			}
		}
		c.off++
		return c.data[start:c.off]
	}
	for c.off < len(c.data) && !bytes.ContainsRune([]byte(" \t\r\n,:]}"), rune(c.data[c.off])) {
		c.off++
	}
	return c.data[start:c.off]
}

// unquote decodes a raw JSON string as encoding/json does.
func unquote(raw []byte) string {
	if bytes.IndexByte(raw, '\\') < 0 && utf8.Valid(raw) {
		return string(raw[1 : len(raw)-1])
	}
	var s string
	_ = json.Unmarshal(raw, &s) // valid: checkDocument checked the document
	return s
}

// describeRaw names a JSON value for a message from its first bytes.
func describeRaw(raw []byte) string {
	switch raw[0] {
	case '{':
		return "an object"
	case '[':
		return "a list"
	case '"':
		return describe(unquote(raw))
	case 't', 'f':
		return "the boolean " + string(raw)
	}
	return "the number " + string(raw)
}

func (c *docChecker) fail(off int, format string, args ...any) *ParseError {
	line, col := position(c.data, int64(off))
	return &ParseError{Offset: int64(off), Line: line, Column: col, Path: strings.TrimPrefix(strings.Join(c.path, ""), "."), Msg: fmt.Sprintf(format, args...)}
}

// anyType stands for a value checkDocument does not type: only its keys are checked.
func anyType() reflect.Type { return reflect.TypeFor[any]() }

// decodesItself reports whether encoding/json hands values of t to t's own code.
func decodesItself(t reflect.Type) bool {
	for _, u := range []reflect.Type{reflect.TypeFor[json.Unmarshaler](), reflect.TypeFor[encoding.TextUnmarshaler]()} {
		if t.Implements(u) || reflect.PointerTo(t).Implements(u) {
			return true
		}
	}
	return t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Uint8 // base64
}

// value checks the value at c.off, which decodes into t, and moves past it.
func (c *docChecker) value(t reflect.Type) error {
	c.skip()
	start := c.off
	first := c.data[start]
	if first == 'n' { // null
		c.off += len("null")
		return nil
	}
	for t.Kind() == reflect.Pointer && !decodesItself(t) {
		t = t.Elem()
	}
	if decodesItself(t) {
		return c.selfDecoding(t)
	}
	want := ""
	switch t.Kind() {
	case reflect.Struct:
		if first == '{' {
			return c.object(c.structFields(t), nil)
		}
		want = "an object"
	case reflect.Map:
		if first == '{' {
			return c.object(nil, t.Elem())
		}
		want = "an object"
	case reflect.Slice, reflect.Array:
		if first == '[' {
			return c.array(t.Elem())
		}
		want = "a list"
	case reflect.Interface:
		return c.anyValue()
	case reflect.String:
		want = "a string"
		if first == '"' {
			c.scalar()
			return nil
		}
	case reflect.Bool:
		want = "true or false"
		if first == 't' || first == 'f' {
			c.scalar()
			return nil
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		want = "a whole number"
		if _, err := strconv.ParseInt(string(c.number()), 10, t.Bits()); err == nil {
			return nil
		}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		want = fmt.Sprintf("a whole number from 0 to %d", uint64(1)<<t.Bits()-1)
		if _, err := strconv.ParseUint(string(c.number()), 10, t.Bits()); err == nil {
			return nil
		}
	case reflect.Float32, reflect.Float64:
		want = "a number"
		if _, err := strconv.ParseFloat(string(c.number()), t.Bits()); err == nil {
			return nil
		}
	default: // complex numbers, channels, functions: encoding/json reports them
		return c.anyValue()
	}
	c.off = start
	raw := c.data[start : start+1] // an object or a list is named by its bracket
	if first != '{' && first != '[' {
		raw = c.scalar()
	}
	return c.fail(start, "expected %s, not %s", want, describeRaw(raw))
}

// number reads a number, or returns nil (and leaves the offset) at anything else.
func (c *docChecker) number() []byte {
	if first := c.data[c.off]; first == '-' || first >= '0' && first <= '9' {
		return c.scalar()
	}
	return nil
}

// anyValue checks the keys of the value at c.off, whatever it holds, and moves past it.
func (c *docChecker) anyValue() error {
	switch c.data[c.off] {
	case '{':
		return c.object(nil, anyType())
	case '[':
		return c.array(anyType())
	}
	c.scalar()
	return nil
}

// selfDecoding checks the value at c.off of a type with its own decoding (a
// time.Time, a json.RawMessage): its keys, then the type's verdict on it, with its
// position.
func (c *docChecker) selfDecoding(t reflect.Type) error {
	start := c.off
	if err := c.anyValue(); err != nil {
		return err
	}
	if err := json.Unmarshal(c.data[start:c.off], reflect.New(t).Interface()); err != nil {
		return c.fail(start, "%s", strings.TrimPrefix(err.Error(), "json: "))
	}
	return nil
}

// object checks the object at c.off, a struct's (fields non-nil) or a map's whose
// values decode into elem, and moves past it.
func (c *docChecker) object(fields map[string]field, elem reflect.Type) error {
	c.off++ // {
	seen := map[string]bool{}
	for c.skip(); c.data[c.off] != '}'; c.skip() {
		start := c.off
		key := unquote(c.scalar())
		if seen[key] {
			return c.fail(start, "%q appears twice in this object; keep one", key)
		}
		seen[key] = true
		t := elem
		if fields != nil {
			f, ok := lookupField(fields, key)
			if !ok {
				return c.fail(start, "unknown field %q%s", key, fieldHint(key, fields))
			}
			t = f.typ
			c.path = append(c.path, "."+key)
		} else {
			c.path = append(c.path, "["+strconv.Quote(key)+"]")
		}
		if err := c.value(t); err != nil {
			return err
		}
		c.path = c.path[:len(c.path)-1]
	}
	c.off++ // }
	return nil
}

// lookupField finds key exactly, or, like encoding/json, without regard to case
// when the field has no json tag (its name is the Go field name).
func lookupField(fields map[string]field, key string) (field, bool) {
	if f, ok := fields[key]; ok {
		return f, true
	}
	for name, f := range fields {
		if !f.tagged && strings.EqualFold(name, key) {
			return f, true
		}
	}
	return field{}, false
}

// array checks the list at c.off, whose elements decode into elem, and moves past it.
func (c *docChecker) array(elem reflect.Type) error {
	c.off++ // [
	for i := 0; ; i++ {
		if c.skip(); c.data[c.off] == ']' {
			c.off++
			return nil
		}
		c.path = append(c.path, "["+strconv.Itoa(i)+"]")
		if err := c.value(elem); err != nil {
			return err
		}
		c.path = c.path[:len(c.path)-1]
	}
}

// structFieldCache remembers structFields per type across decodes, as encoding/json
// caches its own field lists: a type's fields never change, and recomputing them by
// reflection was a tenth of the SDK's CPU when many clients decoded snapshots.
var structFieldCache sync.Map // reflect.Type → map[string]field

// structFields maps a struct's JSON field names to their fields as encoding/json
// does: tags name fields, "-" hides them, unexported fields are ignored, and the
// fields of embedded structs are promoted unless a shallower field has the name.
func (c *docChecker) structFields(t reflect.Type) map[string]field {
	if m, ok := structFieldCache.Load(t); ok {
		return m.(map[string]field)
	}
	if m, ok := c.fields[t]; ok {
		return m // being computed further up: a recursive embedding
	}
	m := map[string]field{}
	c.fields[t] = m
	defer structFieldCache.Store(t, m)
	var embedded []reflect.Type
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		ft := f.Type
		if f.Anonymous && name == "" {
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				embedded = append(embedded, ft)
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		tagged := name != ""
		if !tagged {
			name = f.Name
		}
		if slices.Contains(strings.Split(opts, ","), "string") {
			ft = anyType() // a number or bool written in a string
		}
		m[name] = field{typ: ft, tagged: tagged}
	}
	for _, et := range embedded {
		for name, f := range c.structFields(et) {
			if _, shadowed := m[name]; !shadowed {
				m[name] = f
			}
		}
	}
	return m
}

// fieldHint suggests the field meant, or lists the fields there are.
func fieldHint(key string, fields map[string]field) string {
	names := sortedKeys(fields)
	for _, name := range names {
		if strings.EqualFold(key, name) {
			return fmt.Sprintf(" (did you mean %q? field names are lower case)", name)
		}
	}
	if s := suggest(key, names); s != "" {
		return s
	}
	return "; the fields here are " + quoteList(names)
}

// Normalize gives numbers their Go types in place: json.Number and other numeric types
// become int64 for int flags' variants, float64 elsewhere. In metadata an integer
// (a JSON number written without fraction or exponent, or a Go integer) becomes int64
// and any other number float64, as OpenFeature distinguishes integer from float
// metadata. Values it cannot convert are left for Validate to report.
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
			f.Metadata[k] = normalizeMetadata(v)
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

func normalizeMetadata(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
	case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
		return toInt(v)
	}
	return normalizeJSON(v)
}

func normalizeConditions(conds []Condition) {
	for i := range conds {
		conds[i].Value = normalizeJSON(conds[i].Value)
		for j := range conds[i].Values {
			conds[i].Values[j] = normalizeJSON(conds[i].Values[j])
		}
	}
}

// toInt converts whole numbers of any numeric type to int64 exactly and leaves
// anything else as it is (a float64 with a fraction stays a float64 so Validate can
// name it; an integer beyond int64 becomes a float64 that Validate rejects).
func toInt(v any) any {
	switch x := v.(type) {
	case int64:
		return x
	case int:
		return int64(x)
	case uint:
		return toInt(uint64(x))
	case uint64:
		if x > math.MaxInt64 {
			return float64(x)
		}
		return int64(x)
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		if f, err := x.Float64(); err == nil {
			return toInt(f)
		}
		return x
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
