package flags

import (
	"regexp"
	"sort"
	"sync/atomic"
)

// Snapshot is a compiled, immutable flag set. It is safe for concurrent use and its
// Evaluate method does not allocate.
type Snapshot struct {
	set      *Set
	flags    map[string]*compiledFlag
	segments map[string]*compiledSegment
	keys     []string
}

// Compile validates set and compiles it into a Snapshot. It returns [ValidationErrors]
// naming every problem found. The snapshot keeps set: do not modify it afterwards.
func Compile(set *Set) (*Snapshot, error) {
	if err := Validate(set); err != nil {
		return nil, err
	}
	s := &Snapshot{
		set:      set,
		flags:    make(map[string]*compiledFlag, len(set.Flags)),
		segments: make(map[string]*compiledSegment, len(set.Segments)),
	}
	// Segments first, allocated up front so that references resolve in any order;
	// Validate has already rejected cycles.
	for key := range set.Segments {
		s.segments[key] = &compiledSegment{}
	}
	for key, seg := range set.Segments {
		cs := s.segments[key]
		cs.included = stringSet(seg.Included)
		cs.excluded = stringSet(seg.Excluded)
		for _, r := range seg.Rules {
			cs.rules = append(cs.rules, s.compileConditions(r.Conditions, ""))
		}
	}
	for key, f := range set.Flags {
		s.flags[key] = s.compileFlag(key, f)
		s.keys = append(s.keys, key)
	}
	sort.Strings(s.keys)
	return s, nil
}

// Set returns the set the snapshot was compiled from. Callers must not modify it.
func (s *Snapshot) Set() *Set { return s.set }

// Keys returns the flag keys in lexical order. Callers must not modify the slice.
func (s *Snapshot) Keys() []string { return s.keys }

// Flag returns the source definition of a flag.
func (s *Snapshot) Flag(key string) (*Flag, bool) {
	f, ok := s.set.Flags[key]
	return f, ok
}

// Holder holds the current snapshot of a flag set and swaps it atomically, so readers
// never see a half-applied update and never wait for a writer.
type Holder struct{ p atomic.Pointer[Snapshot] }

// Load returns the current snapshot, or nil before the first Store.
func (h *Holder) Load() *Snapshot { return h.p.Load() }

// Store makes s the current snapshot.
func (h *Holder) Store(s *Snapshot) { h.p.Store(s) }

type compiledFlag struct {
	key        string
	typ        Type
	enabled    bool
	variants   []compiledVariant
	off        int // index of the off variant, or -1
	rules      []compiledRule
	def        compiledAllocation
	hasDefault bool
	seed       murmurState // after salt + "/"
	// bucketBy is the attribute hashed instead of the unit key when bucketByAttr is
	// set ("key" and "targetingKey" name the unit key itself).
	bucketBy     string
	bucketByAttr bool
	version      int64
	metadata     map[string]any
}

type compiledVariant struct {
	name  string
	value any
}

type compiledRule struct {
	id         string
	conditions []compiledCondition
	serve      compiledAllocation
	metadata   map[string]string
}

// compiledAllocation serves variant when split is empty; otherwise split holds each
// entry's exclusive upper bucket bound, ascending.
type compiledAllocation struct {
	variant int
	split   []splitEntry
}

type splitEntry struct {
	upper   uint32
	variant int
}

type compiledSegment struct {
	included map[string]struct{}
	excluded map[string]struct{}
	rules    [][]compiledCondition
}

// compiledCondition is a condition with its operand pre-parsed for its operator.
type compiledCondition struct {
	op        Operator
	attribute string
	isKey     bool // the attribute is the unit key

	value  any     // equals / not_equals operand as given
	str    string  // string operand
	isStr  bool    // the operand is a string
	num    float64 // numeric operand
	isNum  bool
	at     instant  // before / after operand
	strs   []string // in / not_in strings, scanned when few; more go in strSet
	strSet map[string]struct{}
	nums   []float64
	others []any // in / not_in bools and nulls
	re     *regexp.Regexp
	semver version
	seg    *compiledSegment

	bucketSeed murmurState // after salt + "/"
	bucketFrom uint32
	bucketTo   uint32
}

// smallSet is the size up to which a linear scan beats a map lookup.
const smallSet = 8

func stringSet(keys []string) map[string]struct{} {
	m := make(map[string]struct{}, len(keys))
	for _, k := range keys {
		m[k] = struct{}{}
	}
	return m
}

func (s *Snapshot) compileFlag(key string, f *Flag) *compiledFlag {
	cf := &compiledFlag{
		key:          key,
		typ:          f.Type,
		enabled:      f.Enabled,
		off:          -1,
		bucketBy:     f.BucketBy,
		bucketByAttr: f.BucketBy != "" && !isKeyAttribute(f.BucketBy),
		version:      f.Version,
		metadata:     f.Metadata,
	}
	salt := f.Salt
	if salt == "" {
		salt = key
	}
	cf.seed = seedState(salt)
	names := make([]string, 0, len(f.Variants))
	for name := range f.Variants {
		names = append(names, name)
	}
	sort.Strings(names)
	index := make(map[string]int, len(names))
	for i, name := range names {
		index[name] = i
		cf.variants = append(cf.variants, compiledVariant{name: name, value: f.Variants[name]})
	}
	if f.OffVariant != "" {
		cf.off = index[f.OffVariant]
	}
	for _, r := range f.Rules {
		cf.rules = append(cf.rules, compiledRule{
			id:         r.ID,
			conditions: s.compileConditions(r.Conditions, salt),
			serve:      compileAllocation(r.Serve, index),
			metadata:   r.Metadata,
		})
	}
	if f.Default != nil {
		cf.hasDefault = true
		cf.def = compileAllocation(*f.Default, index)
	}
	return cf
}

func compileAllocation(a Allocation, index map[string]int) compiledAllocation {
	if len(a.Split) == 0 {
		return compiledAllocation{variant: index[a.Variant]}
	}
	ca := compiledAllocation{variant: -1}
	var upper uint32
	for _, w := range a.Split {
		if w.Weight == 0 {
			continue
		}
		upper += w.Weight
		ca.split = append(ca.split, splitEntry{upper: upper, variant: index[w.Variant]})
	}
	return ca
}

// compileConditions compiles validated conditions; salt is the flag's salt for bucket
// conditions ("" inside segments, where Validate forbids them).
func (s *Snapshot) compileConditions(conds []Condition, salt string) []compiledCondition {
	out := make([]compiledCondition, 0, len(conds))
	for _, c := range conds {
		op := c.Op
		if op == "" && c.Bucket != nil {
			op = OpBucket
		}
		cc := compiledCondition{op: op, attribute: c.Attribute, isKey: isKeyAttribute(c.Attribute), value: c.Value}
		switch op {
		case OpEquals, OpNotEquals, OpContains, OpStartsWith, OpEndsWith:
			cc.str, cc.isStr = c.Value.(string)
			cc.num, cc.isNum = toFloat(c.Value)
		case OpLT, OpLTE, OpGT, OpGTE:
			cc.num, cc.isNum = toFloat(c.Value)
		case OpMatches:
			cc.re = regexp.MustCompile(c.Value.(string)) // Validate compiled it already
		case OpSemverLT, OpSemverEQ, OpSemverGT:
			cc.semver, _ = parseSemver(c.Value.(string))
		case OpBefore, OpAfter:
			cc.at, _ = parseInstant(c.Value) // Validate parsed it already
		case OpIn, OpNotIn:
			for _, v := range c.Values {
				if str, ok := v.(string); ok {
					cc.strs = append(cc.strs, str)
				} else if f, ok := toFloat(v); ok {
					cc.nums = append(cc.nums, f)
				} else {
					cc.others = append(cc.others, v)
				}
			}
			if len(cc.strs) > smallSet {
				cc.strSet = stringSet(cc.strs)
				cc.strs = nil
			}
		case OpInSegment, OpNotInSegment:
			cc.seg = s.segments[c.Segment]
		case OpBucket:
			bs := c.Bucket.Salt
			if bs == "" {
				bs = salt
			}
			cc.bucketSeed = seedState(bs)
			cc.bucketFrom, cc.bucketTo = c.Bucket.From, c.Bucket.To
		}
		out = append(out, cc)
	}
	return out
}

func isKeyAttribute(name string) bool { return name == "key" || name == "targetingKey" }
