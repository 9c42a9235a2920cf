package flags

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// FieldError is one problem in a flag set: where it is and what to do about it.
type FieldError struct {
	// Path locates the field, e.g. flags["summarize"].rules[2].conditions[0].op.
	Path    string `json:"path"`
	Message string `json:"message"`
}

func (e FieldError) Error() string { return e.Path + ": " + e.Message }

// ValidationErrors lists every problem found; it is never empty when returned.
type ValidationErrors []FieldError

func (v ValidationErrors) Error() string {
	if len(v) == 1 {
		return v[0].Error()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d problems: ", len(v))
	for i, e := range v {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

// MaxKeyLength bounds flag, segment and variant keys.
const MaxKeyLength = 128

// CheckKey reports what is wrong with a flag, segment or variant key, or "" when it
// is valid: 1 to 128 characters of a-z, 0-9, '.', '_' and '-'.
func CheckKey(key string) string {
	if key == "" {
		return "must not be empty"
	}
	if len(key) > MaxKeyLength {
		return fmt.Sprintf("is %d characters long; the limit is %d", len(key), MaxKeyLength)
	}
	for i := 0; i < len(key); i++ {
		c := key[i]
		if keyByte(c) {
			continue
		}
		r, _ := utf8.DecodeRuneInString(key[i:])
		return fmt.Sprintf("%q has %q at position %d; keys use only a-z, 0-9, '.', '_' and '-' (try %q)", key, r, i, fixKey(key))
	}
	return ""
}

func keyByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-'
}

// fixKey suggests a valid key close to key: lower case, other characters as '-'.
func fixKey(key string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'A' && r <= 'Z':
			return r + 'a' - 'A'
		case r < utf8.RuneSelf && keyByte(byte(r)):
			return r
		}
		return '-'
	}, key)
}

// Validate checks a whole set and returns [ValidationErrors] naming every problem, or
// nil. It normalizes numeric values first (see [Normalize]).
func Validate(set *Set) error {
	if set == nil {
		return ValidationErrors{{Path: "", Message: "the flag set is missing"}}
	}
	Normalize(set)
	v := &validator{set: set}
	for _, key := range sortedKeys(set.Segments) {
		v.segment(key, set.Segments[key])
	}
	v.segmentCycles()
	for _, key := range sortedKeys(set.Flags) {
		v.flag(key, set.Flags[key])
	}
	if len(v.errs) == 0 {
		return nil
	}
	return v.errs
}

type validator struct {
	set  *Set
	errs ValidationErrors
}

func (v *validator) add(path, format string, args ...any) {
	v.errs = append(v.errs, FieldError{Path: path, Message: fmt.Sprintf(format, args...)})
}

func sortedKeys[T any](m map[string]T) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func (v *validator) flag(key string, f *Flag) {
	path := fmt.Sprintf("flags[%q]", key)
	if msg := CheckKey(key); msg != "" {
		v.add(path, "flag key %s", msg)
	}
	if f == nil {
		v.add(path, "the flag is null; give it a type and variants or remove it")
		return
	}
	if f.Key != "" && f.Key != key {
		v.add(path+".key", "%q differs from the key %q it is listed under; remove it or make them equal", f.Key, key)
	}
	typeOK := true
	switch f.Type {
	case TypeBool, TypeString, TypeInt, TypeFloat, TypeJSON:
	case "":
		typeOK = false
		v.add(path+".type", "missing; use one of %s", strings.Join(flagTypes, ", "))
	default:
		typeOK = false
		v.add(path+".type", "unknown type %q%s; use one of %s", f.Type, suggest(string(f.Type), flagTypes), strings.Join(flagTypes, ", "))
	}
	if len(f.Variants) == 0 {
		v.add(path+".variants", "a flag needs at least one variant")
	}
	for _, name := range sortedKeys(f.Variants) {
		vpath := fmt.Sprintf("%s.variants[%q]", path, name)
		if msg := CheckKey(name); msg != "" {
			v.add(vpath, "variant key %s", msg)
		}
		if typeOK {
			if msg := checkValueType(f.Type, f.Variants[name]); msg != "" {
				v.add(vpath, "%s", msg)
			}
		}
	}
	if f.OffVariant != "" {
		v.variantRef(path+".off_variant", f.OffVariant, f)
	}
	ruleIDs := map[string]int{}
	for i, r := range f.Rules {
		rpath := fmt.Sprintf("%s.rules[%d]", path, i)
		if r.ID != "" {
			if j, dup := ruleIDs[r.ID]; dup {
				v.add(rpath+".id", "%q is also the id of rules[%d]; rule ids must be unique within a flag", r.ID, j)
			}
			ruleIDs[r.ID] = i
		}
		v.conditions(rpath+".conditions", r.Conditions, true)
		v.allocation(rpath+".serve", r.Serve, f)
	}
	if f.Default != nil {
		v.allocation(path+".default", *f.Default, f)
	}
	if f.Version < 0 {
		v.add(path+".version", "%d is negative", f.Version)
	}
	for _, mk := range sortedKeys(f.Metadata) {
		switch x := f.Metadata[mk]; x.(type) {
		case string, bool, int64:
		case float64:
			if !finite(x) {
				v.add(fmt.Sprintf("%s.metadata[%q]", path, mk), "%v is not a finite number", x)
			}
		default:
			v.add(fmt.Sprintf("%s.metadata[%q]", path, mk), "metadata values must be strings, numbers or booleans, not %s", describe(f.Metadata[mk]))
		}
	}
	for i, tag := range f.Tags {
		if tag == "" {
			v.add(fmt.Sprintf("%s.tags[%d]", path, i), "must not be empty")
		}
	}
}

func (v *validator) variantRef(path, name string, f *Flag) bool {
	if _, ok := f.Variants[name]; ok {
		return true
	}
	names := sortedKeys(f.Variants)
	v.add(path, "unknown variant %q%s; the flag's variants are %s", name, suggest(name, names), quoteList(names))
	return false
}

func (v *validator) allocation(path string, a Allocation, f *Flag) {
	switch {
	case a.Variant != "" && len(a.Split) > 0:
		v.add(path, "has both variant and split; serve one variant or a split, not both")
	case a.Variant != "":
		v.variantRef(path+".variant", a.Variant, f)
	case len(a.Split) == 0:
		v.add(path, "serves nothing; set variant or split")
	default:
		var sum uint64
		seen := map[string]int{}
		for i, w := range a.Split {
			wpath := fmt.Sprintf("%s.split[%d]", path, i)
			if j, dup := seen[w.Variant]; dup {
				v.add(wpath+".variant", "%q is also split[%d]; list each variant once", w.Variant, j)
			}
			seen[w.Variant] = i
			v.variantRef(wpath+".variant", w.Variant, f)
			sum += uint64(w.Weight)
		}
		if sum != TotalBuckets {
			v.add(path+".split", "weights sum to %d; they must sum to %d (weights are in buckets: 1%% = 1000)", sum, TotalBuckets)
		}
	}
}

func (v *validator) segment(key string, s *Segment) {
	path := fmt.Sprintf("segments[%q]", key)
	if msg := CheckKey(key); msg != "" {
		v.add(path, "segment key %s", msg)
	}
	if s == nil {
		v.add(path, "the segment is null; remove it or give it keys or rules")
		return
	}
	if s.Key != "" && s.Key != key {
		v.add(path+".key", "%q differs from the key %q it is listed under; remove it or make them equal", s.Key, key)
	}
	for i, k := range s.Included {
		if k == "" {
			v.add(fmt.Sprintf("%s.included[%d]", path, i), "must not be empty")
		}
	}
	for i, k := range s.Excluded {
		if k == "" {
			v.add(fmt.Sprintf("%s.excluded[%d]", path, i), "must not be empty")
		}
	}
	for i, r := range s.Rules {
		v.conditions(fmt.Sprintf("%s.rules[%d].conditions", path, i), r.Conditions, false)
	}
}

func (v *validator) conditions(path string, conds []Condition, inFlag bool) {
	for i, c := range conds {
		v.condition(fmt.Sprintf("%s[%d]", path, i), c, inFlag)
	}
}

func (v *validator) condition(path string, c Condition, inFlag bool) {
	op := c.Op
	if op == "" && c.Bucket != nil {
		op = OpBucket
	}
	kind, known := operandsOf(op)
	if !known {
		if op == "" {
			v.add(path+".op", "missing; use one of %s", strings.Join(operators, ", "))
		} else {
			v.add(path+".op", "unknown operator %q%s", op, suggest(string(op), operators))
		}
		return
	}
	needsAttribute := kind == operandValue || kind == operandValues || kind == operandNone
	if needsAttribute && c.Attribute == "" {
		v.add(path+".attribute", "missing; %s tests a context attribute, e.g. \"country\"", op)
	}
	if !needsAttribute && c.Attribute != "" {
		v.add(path+".attribute", "%s does not test an attribute; remove it", op)
	}
	if kind != operandValue && c.Value != nil {
		v.add(path+".value", "%s takes no value%s", op, operandHint(kind))
	}
	if kind != operandValues && c.Values != nil {
		v.add(path+".values", "%s takes no list of values%s", op, operandHint(kind))
	}
	if kind != operandSegment && c.Segment != "" {
		v.add(path+".segment", "%s takes no segment%s", op, operandHint(kind))
	}
	if kind != operandBucket && c.Bucket != nil {
		v.add(path+".bucket", "%s takes no bucket range%s", op, operandHint(kind))
	}
	switch kind {
	case operandValue:
		v.value(path+".value", op, c.Value)
	case operandValues:
		if len(c.Values) == 0 {
			v.add(path+".values", "%s needs a non-empty list, e.g. [\"DE\", \"FR\"]", op)
		}
		for i, x := range c.Values {
			switch x.(type) {
			case string, bool, nil:
			case float64:
				if !finite(x) {
					v.add(fmt.Sprintf("%s.values[%d]", path, i), "%v is not a finite number", x)
				}
			default:
				v.add(fmt.Sprintf("%s.values[%d]", path, i), "must be a string, number, boolean or null, not %s", describe(x))
			}
		}
	case operandSegment:
		if c.Segment == "" {
			v.add(path+".segment", "missing; name the segment to test")
		} else if _, ok := v.set.Segments[c.Segment]; !ok {
			names := sortedKeys(v.set.Segments)
			v.add(path+".segment", "unknown segment %q%s; define it under segments", c.Segment, suggest(c.Segment, names))
		}
	case operandBucket:
		b := c.Bucket
		switch {
		case b == nil:
			v.add(path+".bucket", "missing; give the range as {\"from\": 0, \"to\": 5000}")
		case b.From >= b.To:
			v.add(path+".bucket", "from %d must be below to %d (the range is [from, to))", b.From, b.To)
		case b.To > TotalBuckets:
			v.add(path+".bucket.to", "%d is above %d, the number of buckets", b.To, TotalBuckets)
		}
		if b != nil && !inFlag && b.Salt == "" {
			v.add(path+".bucket.salt", "a bucket condition in a segment needs an explicit salt (there is no flag to take it from)")
		}
	}
}

func operandHint(kind operands) string {
	switch kind {
	case operandValue:
		return "; put its operand in value"
	case operandValues:
		return "; put its operands in values"
	case operandSegment:
		return "; name the segment in segment"
	case operandBucket:
		return "; give the range in bucket"
	}
	return ""
}

func (v *validator) value(path string, op Operator, x any) {
	if x == nil {
		v.add(path, "missing; %s needs a value", op)
		return
	}
	if !finite(x) {
		v.add(path, "%v is not a finite number", x)
		return
	}
	switch op {
	case OpEquals, OpNotEquals, OpContains:
		switch x.(type) {
		case string, float64, bool:
		default:
			v.add(path, "must be a string, number or boolean, not %s", describe(x))
		}
	case OpStartsWith, OpEndsWith:
		if _, ok := x.(string); !ok {
			v.add(path, "%s needs a string, not %s", op, describe(x))
		}
	case OpMatches:
		s, ok := x.(string)
		if !ok {
			v.add(path, "matches needs a regular expression string, not %s", describe(x))
			return
		}
		if _, err := regexp.Compile(s); err != nil {
			v.add(path, "bad regular expression: %v", strings.TrimPrefix(err.Error(), "error parsing regexp: "))
		}
	case OpLT, OpLTE, OpGT, OpGTE:
		if _, ok := x.(float64); !ok {
			v.add(path, "%s needs a number, not %s", op, describe(x))
		}
	case OpSemverLT, OpSemverEQ, OpSemverGT:
		s, ok := x.(string)
		if !ok {
			v.add(path, "%s needs a version string such as \"1.4.0\", not %s", op, describe(x))
		} else if _, ok := parseSemver(s); !ok {
			v.add(path, "%q is not a semantic version; write it as MAJOR.MINOR.PATCH, e.g. \"1.4.0\" or \"2.0.0-rc.1\"", s)
		}
	case OpBefore, OpAfter:
		switch t := x.(type) {
		case string:
			if _, ok := parseRFC3339(t); !ok {
				v.add(path, "%q is not an RFC 3339 time; write it like \"2026-12-01T09:00:00Z\"", t)
			}
		case float64:
		default:
			v.add(path, "%s needs an RFC 3339 time string or Unix seconds, not %s", op, describe(x))
		}
	}
}

// segmentCycles reports segments that reach themselves through in_segment references.
func (v *validator) segmentCycles() {
	const (
		unvisited = iota
		visiting
		done
	)
	state := map[string]int{}
	reported := map[string]bool{}
	var visit func(key string, stack []string)
	visit = func(key string, stack []string) {
		state[key] = visiting
		stack = append(stack, key)
		seg := v.set.Segments[key]
		if seg != nil {
			for i, r := range seg.Rules {
				for j, c := range r.Conditions {
					if c.Op != OpInSegment && c.Op != OpNotInSegment {
						continue
					}
					if _, ok := v.set.Segments[c.Segment]; !ok {
						continue
					}
					switch state[c.Segment] {
					case visiting:
						if !reported[key] {
							reported[key] = true
							start := 0
							for k, s := range stack {
								if s == c.Segment {
									start = k
								}
							}
							cycle := append(append([]string{}, stack[start:]...), c.Segment)
							v.add(fmt.Sprintf("segments[%q].rules[%d].conditions[%d].segment", key, i, j),
								"segment references form a cycle: %s; remove one of these references", strings.Join(cycle, " → "))
						}
					case unvisited:
						visit(c.Segment, stack)
					}
				}
			}
		}
		state[key] = done
	}
	for _, key := range sortedKeys(v.set.Segments) {
		if state[key] == unvisited {
			visit(key, nil)
		}
	}
}

// checkValueType reports why value is not of type t, or "".
func checkValueType(t Type, value any) string {
	switch t {
	case TypeBool:
		if _, ok := value.(bool); !ok {
			return fmt.Sprintf("a bool flag's variants must be true or false, not %s", describe(value))
		}
	case TypeString:
		if _, ok := value.(string); !ok {
			return fmt.Sprintf("a string flag's variants must be strings, not %s", describe(value))
		}
	case TypeInt:
		if _, ok := value.(int64); !ok {
			if f, isNum := value.(float64); isNum {
				return fmt.Sprintf("an int flag's variants must be whole numbers within ±2^63, not %v; use type float for fractions", f)
			}
			return fmt.Sprintf("an int flag's variants must be whole numbers, not %s", describe(value))
		}
	case TypeFloat:
		f, ok := value.(float64)
		if !ok {
			return fmt.Sprintf("a float flag's variants must be numbers, not %s", describe(value))
		}
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return "a float flag's variants must be finite numbers"
		}
	case TypeJSON:
		if msg := checkJSON(value, 0); msg != "" {
			return msg
		}
	}
	return ""
}

func checkJSON(value any, depth int) string {
	if depth > 64 {
		return "a json variant may nest at most 64 levels"
	}
	switch x := value.(type) {
	case nil, string, bool:
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return "a json variant must not hold NaN or infinity"
		}
	case []any:
		for _, e := range x {
			if msg := checkJSON(e, depth+1); msg != "" {
				return msg
			}
		}
	case map[string]any:
		for _, e := range x {
			if msg := checkJSON(e, depth+1); msg != "" {
				return msg
			}
		}
	default:
		return fmt.Sprintf("a json variant must be a JSON value, not %s", describe(value))
	}
	return ""
}

// finite reports whether x is not a float64 NaN or infinity (which JSON cannot write).
func finite(x any) bool {
	f, ok := x.(float64)
	return !ok || !math.IsNaN(f) && !math.IsInf(f, 0)
}

func describe(x any) string {
	switch v := x.(type) {
	case nil:
		return "null"
	case json.Number: // left by Normalize only when out of range
		return "the number " + v.String() + ", which is out of range"
	case string:
		return "the string " + strconv.Quote(v)
	case bool:
		return fmt.Sprintf("the boolean %v", v)
	case float64, int64:
		return fmt.Sprintf("the number %v", v)
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("a %T", x)
}

func quoteList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = strconv.Quote(n)
	}
	return strings.Join(q, ", ")
}

// suggest returns ` (did you mean "x"?)` for the closest candidate within a small
// edit distance, or "".
func suggest(got string, candidates []string) string {
	best, bestDist := "", 3
	for _, c := range candidates {
		if d := editDistance(got, c); d < bestDist {
			best, bestDist = c, d
		}
	}
	if best == "" || best == got || bestDist >= len(got) {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
