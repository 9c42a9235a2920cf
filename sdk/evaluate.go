package sdk

import (
	"github.com/ramp-release/ramp/flags"
)

// ErrorCode is an OpenFeature error code; "" means no error.
type ErrorCode string

// The error codes an evaluation can return.
const (
	CodeNone                ErrorCode = ""
	CodeFlagNotFound        ErrorCode = "FLAG_NOT_FOUND"
	CodeTypeMismatch        ErrorCode = "TYPE_MISMATCH"
	CodeTargetingKeyMissing ErrorCode = "TARGETING_KEY_MISSING"
	CodeParseError          ErrorCode = "PARSE_ERROR"
	CodeGeneral             ErrorCode = "GENERAL"
	// CodeProviderNotReady: the client has no snapshot yet (it has not reached the
	// server and has no cache).
	CodeProviderNotReady ErrorCode = "PROVIDER_NOT_READY"
)

// Detail is the outcome of one typed evaluation. Value is the caller's default on any
// error, for a disabled flag without an off variant, and when no variant is served
// (Variant is then empty).
type Detail[T any] struct {
	Value   T
	Variant string
	// Reason is STATIC, TARGETING_MATCH, SPLIT, DEFAULT, DISABLED or ERROR.
	Reason       flags.Reason
	ErrorCode    ErrorCode
	ErrorMessage string
	// RuleIndex is the index of the rule that matched, or -1; RuleID its id.
	RuleIndex int
	RuleID    string
	// Version is the flag's version in the environment.
	Version int64
	// Metadata is the flag's own metadata (nil when it defines none). RuleMetadata is
	// the matching rule's (a rollout's id, stage and arm). Both are shared: callers
	// must not modify them.
	Metadata     map[string]any
	RuleMetadata map[string]string
}

const (
	msgNotReady     = "the client has no flags yet: it has not reached the server and has no cache (see Client.Status and WaitReady)"
	msgBadValueType = "the variant's value does not have the flag's type"
)

// Bool evaluates a bool flag for ctx, returning def on any error.
func (c *Client) Bool(flagKey string, ctx flags.Context, def bool) bool {
	return evaluate(c, flagKey, ctx, def, flags.TypeBool).Value
}

// BoolDetail evaluates a bool flag and says how the value was chosen.
func (c *Client) BoolDetail(flagKey string, ctx flags.Context, def bool) Detail[bool] {
	return evaluate(c, flagKey, ctx, def, flags.TypeBool)
}

// String evaluates a string flag for ctx, returning def on any error.
func (c *Client) String(flagKey string, ctx flags.Context, def string) string {
	return evaluate(c, flagKey, ctx, def, flags.TypeString).Value
}

// StringDetail evaluates a string flag and says how the value was chosen.
func (c *Client) StringDetail(flagKey string, ctx flags.Context, def string) Detail[string] {
	return evaluate(c, flagKey, ctx, def, flags.TypeString)
}

// Int evaluates an int flag for ctx, returning def on any error.
func (c *Client) Int(flagKey string, ctx flags.Context, def int64) int64 {
	return evaluate(c, flagKey, ctx, def, flags.TypeInt).Value
}

// IntDetail evaluates an int flag and says how the value was chosen.
func (c *Client) IntDetail(flagKey string, ctx flags.Context, def int64) Detail[int64] {
	return evaluate(c, flagKey, ctx, def, flags.TypeInt)
}

// Float evaluates a float flag for ctx, returning def on any error. An int flag is a
// TYPE_MISMATCH here, as in OpenFeature: the types never convert silently.
func (c *Client) Float(flagKey string, ctx flags.Context, def float64) float64 {
	return evaluate(c, flagKey, ctx, def, flags.TypeFloat).Value
}

// FloatDetail evaluates a float flag and says how the value was chosen.
func (c *Client) FloatDetail(flagKey string, ctx flags.Context, def float64) Detail[float64] {
	return evaluate(c, flagKey, ctx, def, flags.TypeFloat)
}

// JSON evaluates a json flag for ctx, returning def on any error. The value is what
// encoding/json decodes (map[string]any, []any, string, float64, bool or nil) and is
// shared with the snapshot: callers must not modify it.
func (c *Client) JSON(flagKey string, ctx flags.Context, def any) any {
	return evaluate(c, flagKey, ctx, def, flags.TypeJSON).Value
}

// JSONDetail evaluates a json flag and says how the value was chosen.
func (c *Client) JSONDetail(flagKey string, ctx flags.Context, def any) Detail[any] {
	return evaluate(c, flagKey, ctx, def, flags.TypeJSON)
}

// evaluate is every typed evaluation: read the current snapshot (one atomic load),
// evaluate with package flags, check the type, and record the exposure.
func evaluate[T any](c *Client, key string, ctx flags.Context, def T, want flags.Type) (d Detail[T]) {
	d.Value, d.RuleIndex = def, -1
	cur := c.cur.Load()
	if cur == nil {
		d.Reason, d.ErrorCode, d.ErrorMessage = flags.ReasonError, CodeProviderNotReady, msgNotReady
		return d
	}
	res := cur.snap.Evaluate(key, ctx)
	if res.ErrorCode == flags.ErrFlagNotFound {
		d.Reason, d.ErrorCode, d.ErrorMessage = flags.ReasonError, CodeFlagNotFound, "flag "+key+" not found"
		return d
	}
	d.Version, d.Metadata = res.Version, res.Metadata
	if res.Type != want {
		d.Reason, d.ErrorCode = flags.ReasonError, CodeTypeMismatch
		d.ErrorMessage = "flag " + key + " is of type " + string(res.Type) + ", not " + string(want)
		return d
	}
	d.Reason, d.RuleIndex, d.RuleID, d.RuleMetadata = res.Reason, res.RuleIndex, res.RuleID, res.RuleMetadata
	if res.ErrorCode != flags.ErrNone {
		d.ErrorCode, d.ErrorMessage = ErrorCode(res.ErrorCode.String()), res.ErrorMessage
		return d
	}
	if res.Variant == "" {
		return d // the caller's default, with reason DISABLED or DEFAULT
	}
	v, ok := res.Value.(T)
	if !ok && res.Value == nil && want == flags.TypeJSON {
		ok = true // a json variant may be null; v is then the nil interface
	}
	if !ok {
		d.Reason, d.ErrorCode, d.ErrorMessage = flags.ReasonError, CodeGeneral, msgBadValueType
		return d
	}
	d.Value, d.Variant = v, res.Variant
	if c.queue != nil && ctx.Key != "" && (c.exposeAll || res.RuleMetadata[metaRolloutID] != "") {
		c.expose(&res, &ctx)
	}
	return d
}
