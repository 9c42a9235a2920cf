package flags

// TotalBuckets is the number of buckets a unit can fall in. Weights in a split and
// the bounds of a bucket condition are counted in these buckets, so 1 % is 1 000.
const TotalBuckets = 100_000

// Type is the type of a flag's variant values.
type Type string

// The flag types. A json flag's variants carry any JSON value, typically an object
// such as an AI configuration (model, prompt version, temperature).
const (
	TypeBool   Type = "bool"
	TypeString Type = "string"
	TypeInt    Type = "int"
	TypeFloat  Type = "float"
	TypeJSON   Type = "json"
)

var flagTypes = []string{string(TypeBool), string(TypeString), string(TypeInt), string(TypeFloat), string(TypeJSON)}

// Set is a whole flag configuration for one environment: the document the admin API
// stores, the SDK downloads and [Compile] turns into a [Snapshot].
type Set struct {
	Flags    map[string]*Flag    `json:"flags"`
	Segments map[string]*Segment `json:"segments,omitempty"`
}

// Flag is one feature flag.
//
// Variant values are Go values of the flag's type: bool, string, int64, float64, or for
// json flags whatever encoding/json decodes (map[string]any, []any, string, float64,
// bool or nil). [DecodeSet] and [Normalize] convert other numeric types.
type Flag struct {
	// Key is the flag's name. In a Set it may be left empty: the map key is used.
	Key         string         `json:"key,omitempty"`
	Type        Type           `json:"type"`
	Description string         `json:"description,omitempty"`
	Variants    map[string]any `json:"variants"`
	// OffVariant is served when the flag is disabled. Without one a disabled flag
	// tells the caller to use its own default value.
	OffVariant string `json:"off_variant,omitempty"`
	Enabled    bool   `json:"enabled"`
	Rules      []Rule `json:"rules,omitempty"`
	// Default serves the contexts no rule matched. Nil means "the caller's default".
	Default *Allocation `json:"default,omitempty"`
	// Salt seeds bucketing; empty means the flag key.
	Salt string `json:"salt,omitempty"`
	// BucketBy names the attribute whose value is hashed instead of the unit key,
	// e.g. "account_id" so that a whole account gets the same variant.
	BucketBy string `json:"bucket_by,omitempty"`
	// Version increases with every change of the flag in an environment.
	Version int64 `json:"version,omitempty"`
	// Metadata is returned with every evaluation (OpenFeature flag metadata).
	Metadata map[string]any `json:"metadata,omitempty"`
	// ClientSide marks flags that client SDK keys may evaluate.
	ClientSide bool     `json:"client_side,omitempty"`
	Tags       []string `json:"tags,omitempty"`
}

// Rule serves an allocation to the contexts for which all its conditions hold.
// A rule without conditions matches every context.
type Rule struct {
	ID          string      `json:"id,omitempty"`
	Description string      `json:"description,omitempty"`
	Conditions  []Condition `json:"conditions,omitempty"`
	Serve       Allocation  `json:"serve"`
	// Metadata travels with the evaluation result. The rollout engine records the
	// rollout id, stage and arm here so that exposures can be attributed.
	Metadata map[string]string `json:"metadata,omitempty"`
}

// Allocation serves either one variant or a weighted split over variants.
// Exactly one of Variant and Split is set.
type Allocation struct {
	Variant string `json:"variant,omitempty"`
	// Split weights are counted in buckets and sum to TotalBuckets. Entries own
	// consecutive bucket ranges in the order listed.
	Split []WeightedVariant `json:"split,omitempty"`
}

// WeightedVariant is one entry of a split.
type WeightedVariant struct {
	Variant string `json:"variant"`
	Weight  uint32 `json:"weight"`
}

// Condition is one test on the evaluation context.
type Condition struct {
	// Attribute names the context attribute tested; "key" (or "targetingKey") is the
	// unit key itself.
	Attribute string   `json:"attribute,omitempty"`
	Op        Operator `json:"op,omitempty"`
	// Value is the operand of single-value operators.
	Value any `json:"value,omitempty"`
	// Values is the operand list of in and not_in.
	Values []any `json:"values,omitempty"`
	// Segment names the segment of in_segment and not_in_segment.
	Segment string `json:"segment,omitempty"`
	// Bucket is the range of the bucket operator; Op may then be left empty.
	Bucket *BucketRange `json:"bucket,omitempty"`
}

// BucketRange holds when the unit's bucket b satisfies From <= b < To. It lets the
// rollout engine express holdouts and rings as ordinary rules.
type BucketRange struct {
	// Salt defaults to the flag's salt.
	Salt string `json:"salt,omitempty"`
	From uint32 `json:"from"`
	To   uint32 `json:"to"`
}

// Segment is a reusable audience: listed unit keys in or out, then rules.
// A context is in the segment when its key is included, or when it is not excluded
// and any rule matches.
type Segment struct {
	Key         string        `json:"key,omitempty"`
	Description string        `json:"description,omitempty"`
	Included    []string      `json:"included,omitempty"`
	Excluded    []string      `json:"excluded,omitempty"`
	Rules       []SegmentRule `json:"rules,omitempty"`
}

// SegmentRule matches when all its conditions hold.
type SegmentRule struct {
	Conditions []Condition `json:"conditions"`
}

// Operator is the test a condition applies.
type Operator string

// The operators.
const (
	OpEquals       Operator = "equals"
	OpNotEquals    Operator = "not_equals"
	OpIn           Operator = "in"
	OpNotIn        Operator = "not_in"
	OpContains     Operator = "contains"
	OpStartsWith   Operator = "starts_with"
	OpEndsWith     Operator = "ends_with"
	OpMatches      Operator = "matches"
	OpLT           Operator = "lt"
	OpLTE          Operator = "lte"
	OpGT           Operator = "gt"
	OpGTE          Operator = "gte"
	OpSemverLT     Operator = "semver_lt"
	OpSemverEQ     Operator = "semver_eq"
	OpSemverGT     Operator = "semver_gt"
	OpBefore       Operator = "before"
	OpAfter        Operator = "after"
	OpExists       Operator = "exists"
	OpInSegment    Operator = "in_segment"
	OpNotInSegment Operator = "not_in_segment"
	OpBucket       Operator = "bucket"
)

var operators = []string{
	string(OpEquals), string(OpNotEquals), string(OpIn), string(OpNotIn), string(OpContains),
	string(OpStartsWith), string(OpEndsWith), string(OpMatches), string(OpLT), string(OpLTE),
	string(OpGT), string(OpGTE), string(OpSemverLT), string(OpSemverEQ), string(OpSemverGT),
	string(OpBefore), string(OpAfter), string(OpExists), string(OpInSegment), string(OpNotInSegment),
	string(OpBucket),
}

// operands says what an operator takes.
type operands int

const (
	operandNone    operands = iota // exists
	operandValue                   // one value
	operandValues                  // a list
	operandSegment                 // a segment key
	operandBucket                  // a bucket range
)

func operandsOf(op Operator) (operands, bool) {
	switch op {
	case OpEquals, OpNotEquals, OpContains, OpStartsWith, OpEndsWith, OpMatches,
		OpLT, OpLTE, OpGT, OpGTE, OpSemverLT, OpSemverEQ, OpSemverGT, OpBefore, OpAfter:
		return operandValue, true
	case OpIn, OpNotIn:
		return operandValues, true
	case OpExists:
		return operandNone, true
	case OpInSegment, OpNotInSegment:
		return operandSegment, true
	case OpBucket:
		return operandBucket, true
	}
	return 0, false
}
