package flags

import (
	"encoding/json"
	"strings"
)

// Evaluate decides which variant of flag key the context gets. It does not allocate,
// whichever path it takes.
//
// A nil Snapshot (a [Holder] before its first Store) has no flags: every key is
// FLAG_NOT_FOUND.
func (s *Snapshot) Evaluate(key string, ctx Context) (r Result) {
	var f *compiledFlag
	if s != nil {
		f = s.flags[key]
	}
	if f == nil {
		r = Result{FlagKey: key, RuleIndex: -1}
		setError(&r, ErrFlagNotFound)
		return r
	}
	s.evaluate(f, &ctx, &r)
	return r
}

func (s *Snapshot) evaluate(f *compiledFlag, ctx *Context, r *Result) {
	r.FlagKey, r.RuleIndex, r.Version, r.Metadata, r.Type = f.key, -1, f.version, f.metadata, f.typ
	if !f.enabled {
		r.Reason = ReasonDisabled
		if f.off >= 0 {
			r.Variant, r.Value = f.variants[f.off].name, f.variants[f.off].value
		}
		return
	}
	for i := range f.rules {
		rule := &f.rules[i]
		ok, code := s.allHold(rule.conditions, ctx, f)
		if code != ErrNone {
			setError(r, code)
			return
		}
		if !ok {
			continue
		}
		r.RuleIndex, r.RuleID, r.RuleMetadata = i, rule.id, rule.metadata
		r.Reason = ReasonTargetingMatch
		s.serve(r, f, &rule.serve, ctx)
		return
	}
	switch {
	case !f.hasDefault:
		r.Reason = ReasonDefault
		return
	case len(f.rules) == 0:
		r.Reason = ReasonStatic
	default:
		r.Reason = ReasonDefault
	}
	s.serve(r, f, &f.def, ctx)
}

func (s *Snapshot) serve(r *Result, f *compiledFlag, a *compiledAllocation, ctx *Context) {
	if len(a.split) == 0 {
		v := &f.variants[a.variant]
		r.Variant, r.Value = v.name, v.value
		return
	}
	b, ok := f.bucket(f.seed, ctx)
	if !ok {
		setError(r, ErrTargetingKeyMissing)
		return
	}
	for _, e := range a.split {
		if b < e.upper {
			v := &f.variants[e.variant]
			r.Variant, r.Value, r.Reason = v.name, v.value, ReasonSplit
			return
		}
	}
	setError(r, ErrGeneral) // unreachable: Validate makes weights sum to TotalBuckets
}

// bucket returns the unit's bucket for a seed (the hash state after salt + "/"): the
// hash continues with the flag's bucket_by attribute or, by default, the unit key.
// Splits and bucket conditions (in the flag's rules and in the segments it tests) use
// the same input, so a ring and a split of one flag agree on who is who. ok is false
// when the input is missing, empty or cannot be bucketed on.
func (f *compiledFlag) bucket(seed murmurState, ctx *Context) (b uint32, ok bool) {
	if !f.bucketByAttr {
		if ctx.Key == "" {
			return 0, false
		}
		return bucketOf(seed, ctx.Key), true
	}
	v, ok := ctx.Attributes[f.bucketBy]
	if !ok {
		return 0, false
	}
	var in bucketInput
	if !in.setValue(v) {
		return 0, false
	}
	return in.bucket(seed), true
}

var errorMessages = [...]string{
	ErrFlagNotFound:        "flag not found",
	ErrTargetingKeyMissing: "the flag assigns variants by bucket but the context has no unit key (targetingKey) or bucket_by attribute",
	ErrGeneral:             "internal evaluation error",
}

func setError(r *Result, code ErrorCode) {
	r.Reason, r.ErrorCode, r.ErrorMessage = ReasonError, code, errorMessages[code]
	r.Variant, r.Value = "", nil
}

// allHold reports whether every condition holds. A bucket condition on a context
// without a unit key returns ErrTargetingKeyMissing.
func (s *Snapshot) allHold(conds []compiledCondition, ctx *Context, f *compiledFlag) (bool, ErrorCode) {
	for i := range conds {
		ok, code := s.holds(&conds[i], ctx, f)
		if code != ErrNone || !ok {
			return false, code
		}
	}
	return true, ErrNone
}

func (s *Snapshot) holds(c *compiledCondition, ctx *Context, f *compiledFlag) (bool, ErrorCode) {
	switch c.op {
	case OpInSegment:
		return s.inSegment(c.seg, ctx, f)
	case OpNotInSegment:
		in, code := s.inSegment(c.seg, ctx, f)
		return !in, code
	case OpBucket:
		b, ok := f.bucket(c.bucketSeed, ctx)
		if !ok {
			return false, ErrTargetingKeyMissing
		}
		return b >= c.bucketFrom && b < c.bucketTo, ErrNone
	}
	var v any
	if c.isKey {
		if ctx.Key == "" {
			return false, ErrNone
		}
		v = ctx.Key
	} else {
		var ok bool
		if v, ok = ctx.Attributes[c.attribute]; !ok {
			return false, ErrNone
		}
	}
	if c.op == OpExists {
		return v != nil, ErrNone
	}
	if v == nil {
		return false, ErrNone
	}
	return c.test(v), ErrNone
}

func (s *Snapshot) inSegment(seg *compiledSegment, ctx *Context, f *compiledFlag) (bool, ErrorCode) {
	if ctx.Key != "" {
		if _, ok := seg.included[ctx.Key]; ok {
			return true, ErrNone
		}
		if _, ok := seg.excluded[ctx.Key]; ok {
			return false, ErrNone
		}
	}
	for _, rule := range seg.rules {
		ok, code := s.allHold(rule, ctx, f)
		if code != ErrNone {
			return false, code
		}
		if ok {
			return true, ErrNone
		}
	}
	return false, ErrNone
}

// test applies the operator to a present, non-null attribute value.
func (c *compiledCondition) test(v any) bool {
	switch c.op {
	case OpEquals:
		return c.equals(v)
	case OpNotEquals:
		return !c.equals(v)
	case OpIn:
		return c.inList(v)
	case OpNotIn:
		return !c.inList(v)
	case OpContains:
		switch x := v.(type) {
		case string:
			// Only a string operand is a substring; "contains 5" on a string never holds.
			return c.isStr && strings.Contains(x, c.str)
		case []any:
			for _, e := range x {
				if c.equals(e) {
					return true
				}
			}
		case []string:
			for _, e := range x {
				if c.isStr && e == c.str {
					return true
				}
			}
		}
		return false
	case OpStartsWith:
		x, ok := v.(string)
		return ok && strings.HasPrefix(x, c.str)
	case OpEndsWith:
		x, ok := v.(string)
		return ok && strings.HasSuffix(x, c.str)
	case OpMatches:
		x, ok := v.(string)
		return ok && c.re.MatchString(x)
	case OpLT, OpLTE, OpGT, OpGTE:
		x, ok := toFloat(v)
		if !ok {
			return false
		}
		switch c.op {
		case OpLT:
			return x < c.num
		case OpLTE:
			return x <= c.num
		case OpGT:
			return x > c.num
		}
		return x >= c.num
	case OpSemverLT, OpSemverEQ, OpSemverGT:
		x, ok := v.(string)
		if !ok {
			return false
		}
		sv, ok := parseSemver(x)
		if !ok {
			return false
		}
		cmp := compareSemver(sv, c.semver)
		return c.op == OpSemverLT && cmp < 0 || c.op == OpSemverEQ && cmp == 0 || c.op == OpSemverGT && cmp > 0
	case OpBefore, OpAfter:
		t, ok := parseInstant(v)
		if !ok {
			return false
		}
		if c.op == OpBefore {
			return t.compare(c.at) < 0
		}
		return t.compare(c.at) > 0
	}
	return false
}

// equals compares an attribute value (or a list element) with the operand: strings
// as strings, numbers as numbers whatever their Go type, bools as bools. An operand
// that is a list or an object compares with deep JSON equality.
func (c *compiledCondition) equals(v any) bool {
	switch x := v.(type) {
	case string:
		return c.isStr && x == c.str
	case bool:
		b, ok := c.value.(bool)
		return ok && b == x
	}
	if f, ok := toFloat(v); ok {
		return c.isNum && f == c.num
	}
	return jsonEqual(v, c.value)
}

func (c *compiledCondition) inList(v any) bool {
	switch x := v.(type) {
	case string:
		return c.hasString(x)
	case []any:
		for _, e := range x {
			if e != nil && c.inList(e) {
				return true
			}
		}
		return false
	case []string:
		for _, e := range x {
			if c.hasString(e) {
				return true
			}
		}
		return false
	}
	if f, ok := toFloat(v); ok {
		for _, n := range c.nums {
			if n == f {
				return true
			}
		}
		return false
	}
	for _, o := range c.others {
		if o == v {
			return true
		}
	}
	return false
}

func (c *compiledCondition) hasString(s string) bool {
	if c.strSet != nil {
		_, ok := c.strSet[s]
		return ok
	}
	for _, e := range c.strs {
		if e == s {
			return true
		}
	}
	return false
}

// toFloat converts any Go numeric type (and json.Number) to float64.
func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	case float32:
		return float64(x), true
	case int32:
		return float64(x), true
	case int16:
		return float64(x), true
	case int8:
		return float64(x), true
	case uint:
		return float64(x), true
	case uint64:
		return float64(x), true
	case uint32:
		return float64(x), true
	case uint16:
		return float64(x), true
	case uint8:
		return float64(x), true
	case json.Number:
		f, err := x.Float64()
		return f, err == nil
	}
	return 0, false
}

// jsonEqual compares two JSON-like values structurally (numbers by value).
func jsonEqual(a, b any) bool {
	switch x := a.(type) {
	case nil:
		return b == nil
	case string, bool:
		return a == b
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !jsonEqual(x[i], y[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, xv := range x {
			yv, ok := y[k]
			if !ok || !jsonEqual(xv, yv) {
				return false
			}
		}
		return true
	}
	fa, ok := toFloat(a)
	if !ok {
		return false
	}
	fb, ok := toFloat(b)
	return ok && fa == fb
}
