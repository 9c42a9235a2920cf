// Package quantile keeps mergeable quantile sketches of per-request values (latency) for the
// analysis of quantile guardrails. A Sketch is a DDSketch (Masson, Rim and Lee, "DDSketch: a fast and
// fully-mergeable quantile sketch with relative-error guarantees", VLDB 2019, through
// github.com/DataDog/sketches-go): every quantile it returns is within a relative accuracy of the
// true one, and sketches of any split of the data merge into the sketch of the whole, like the other
// sufficient statistics of package analysis.
//
// A quantile guardrail ("p95 latency at most 15 % above control") is tested in exceedance form:
// control's quantile q, read from its sketch and frozen for the stage, gives the thresholds of
// analysis.ExceedanceThresholds, and each unit's share of requests beyond them is a ratio metric.
package quantile

import (
	"errors"
	"fmt"

	"github.com/DataDog/sketches-go/ddsketch"
	"github.com/DataDog/sketches-go/ddsketch/store"
)

// DefaultAccuracy is the relative accuracy of sketches made by the zero Sketch: 1 %.
const DefaultAccuracy = 0.01

// ErrEmpty is returned for the quantile of a sketch without values.
var ErrEmpty = errors.New("quantile of an empty sketch")

// Sketch is a mergeable quantile sketch with a relative-accuracy guarantee. The zero value is an
// empty sketch with DefaultAccuracy. A Sketch is not safe for concurrent use.
type Sketch struct {
	s *ddsketch.DDSketch
}

// New returns an empty sketch whose quantiles are within relativeAccuracy (in (0, 1)) of the truth.
func New(relativeAccuracy float64) (*Sketch, error) {
	s, err := ddsketch.NewDefaultDDSketch(relativeAccuracy)
	if err != nil {
		return nil, fmt.Errorf("quantile sketch: relative accuracy %v: %w", relativeAccuracy, err)
	}
	return &Sketch{s: s}, nil
}

func (k *Sketch) init() {
	if k.s == nil {
		k.s, _ = ddsketch.NewDefaultDDSketch(DefaultAccuracy)
	}
}

// Add records one value.
func (k *Sketch) Add(v float64) error { return k.AddWithCount(v, 1) }

// AddWithCount records a value n times.
func (k *Sketch) AddWithCount(v, n float64) error {
	k.init()
	return k.s.AddWithCount(v, n)
}

// Merge adds o's values to k. Both must have the same accuracy.
func (k *Sketch) Merge(o *Sketch) error {
	k.init()
	if o == nil || o.s == nil {
		return nil
	}
	if err := k.s.MergeWith(o.s); err != nil {
		return fmt.Errorf("merge quantile sketches (accuracy %v and %v): %w", k.Accuracy(), o.Accuracy(), err)
	}
	return nil
}

// Quantile returns the q-quantile (q in [0, 1]) within the sketch's relative accuracy.
func (k *Sketch) Quantile(q float64) (float64, error) {
	if k.Count() == 0 {
		return 0, ErrEmpty
	}
	return k.s.GetValueAtQuantile(q)
}

// Count is the number of values recorded.
func (k *Sketch) Count() float64 {
	if k.s == nil {
		return 0
	}
	return k.s.GetCount()
}

// Accuracy is the sketch's relative accuracy.
func (k *Sketch) Accuracy() float64 {
	if k.s == nil {
		return DefaultAccuracy
	}
	return k.s.RelativeAccuracy()
}

// MarshalBinary encodes the sketch, with its accuracy, in DDSketch's compact format, for the store.
func (k *Sketch) MarshalBinary() ([]byte, error) {
	k.init()
	var b []byte
	k.s.Encode(&b, false)
	return b, nil
}

// UnmarshalBinary replaces k with an encoded sketch.
func (k *Sketch) UnmarshalBinary(b []byte) error {
	s, err := ddsketch.DecodeDDSketch(b, store.DefaultProvider, nil)
	if err != nil {
		return fmt.Errorf("decode quantile sketch: %w", err)
	}
	if s.IndexMapping == nil {
		return errors.New("decode quantile sketch: no index mapping in the encoding")
	}
	k.s = s
	return nil
}
