package flags

// Context is who is asking: a unit key (user, account, device) and attributes.
//
// Attribute values may be strings, numbers (any Go integer or float type), bools,
// lists ([]any or []string) or nil. The context is only read; build it once per request
// and evaluate as many flags as needed.
type Context struct {
	Key        string
	Attributes map[string]any
}

// Reason says why an evaluation returned what it did. The names are OpenFeature's.
type Reason uint8

// The reasons; see the package documentation for when each applies.
const (
	ReasonError Reason = iota
	ReasonStatic
	ReasonTargetingMatch
	ReasonSplit
	ReasonDefault
	ReasonDisabled
)

var reasonNames = [...]string{"ERROR", "STATIC", "TARGETING_MATCH", "SPLIT", "DEFAULT", "DISABLED"}

func (r Reason) String() string {
	if int(r) < len(reasonNames) {
		return reasonNames[r]
	}
	return "UNKNOWN"
}

// MarshalText writes the OpenFeature name.
func (r Reason) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// ErrorCode is an OpenFeature error code; the zero value means no error.
type ErrorCode uint8

// The error codes an evaluation can return.
const (
	ErrNone ErrorCode = iota
	ErrFlagNotFound
	ErrTypeMismatch
	ErrTargetingKeyMissing
	ErrParseError
	ErrGeneral
)

var errorCodeNames = [...]string{"", "FLAG_NOT_FOUND", "TYPE_MISMATCH", "TARGETING_KEY_MISSING", "PARSE_ERROR", "GENERAL"}

func (c ErrorCode) String() string {
	if int(c) < len(errorCodeNames) {
		return errorCodeNames[c]
	}
	return "GENERAL"
}

// MarshalText writes the OpenFeature name.
func (c ErrorCode) MarshalText() ([]byte, error) { return []byte(c.String()), nil }

// Result is the outcome of one evaluation.
type Result struct {
	FlagKey string
	// Value is the served variant's value, or nil when the caller's default applies
	// (an error, a disabled flag without an off variant, or no default allocation).
	Value   any
	Variant string
	Reason  Reason
	// RuleIndex is the index of the matching rule, or -1.
	RuleIndex int
	RuleID    string
	// RuleMetadata is the matching rule's metadata (the rollout's id, stage and arm for
	// rules a rollout rendered). Callers must not modify it.
	RuleMetadata map[string]string
	// Metadata is the flag's metadata. Callers must not modify it.
	Metadata     map[string]any
	Version      int64
	Type         Type
	ErrorCode    ErrorCode
	ErrorMessage string
}

// UsesCallerDefault reports whether the caller's default value should be returned:
// there was an error, or no variant was served.
func (r *Result) UsesCallerDefault() bool { return r.ErrorCode != ErrNone || r.Variant == "" }
