package analysis

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
)

// Histogram counts values in fixed bins. Edges e₀ < e₁ < … < e_k define k bins [e_i, e_{i+1});
// values below e₁ fall in the first bin and values at or above e_{k−1} in the last, so nothing is
// lost when a score leaves the expected range. Histograms with the same edges merge by adding
// counts, which is what drift needs: the same bins for both arms, summed over any split of the data.
type Histogram struct {
	// Edges are the bin boundaries, strictly increasing, at least two.
	Edges []float64 `json:"edges"`
	// Counts has one count per bin (len(Edges) − 1).
	Counts []float64 `json:"counts"`
}

// ErrEdgesDiffer is returned when two histograms with different bins are merged or compared.
var ErrEdgesDiffer = errors.New("histograms have different bin edges")

// NewHistogram returns an empty histogram with the given edges.
func NewHistogram(edges []float64) (Histogram, error) {
	if len(edges) < 2 {
		return Histogram{}, fmt.Errorf("histogram edges: need at least 2, got %d", len(edges))
	}
	for i := 1; i < len(edges); i++ {
		if !(edges[i] > edges[i-1]) {
			return Histogram{}, fmt.Errorf("histogram edges[%d]: %v is not above edges[%d] = %v", i, edges[i], i-1, edges[i-1])
		}
	}
	return Histogram{Edges: slices.Clone(edges), Counts: make([]float64, len(edges)-1)}, nil
}

// Bin returns the index of the bin that holds v (NaN has no bin: -1).
func (h Histogram) Bin(v float64) int {
	if math.IsNaN(v) || len(h.Counts) == 0 {
		return -1
	}
	// First edge strictly above v, among the inner edges e₁ … e_{k−1}.
	inner := h.Edges[1 : len(h.Edges)-1]
	return sort.Search(len(inner), func(i int) bool { return inner[i] > v })
}

// Add counts one value; it reports false for NaN, which has no bin.
func (h Histogram) Add(v float64) bool {
	return h.AddCount(v, 1)
}

// AddCount counts a value n times; it reports false for NaN.
func (h Histogram) AddCount(v, n float64) bool {
	i := h.Bin(v)
	if i < 0 {
		return false
	}
	h.Counts[i] += n
	return true
}

// Total is the number of values counted.
func (h Histogram) Total() float64 {
	var t float64
	for _, c := range h.Counts {
		t += c
	}
	return t
}

// Merge adds o's counts to h. Both must have the same edges.
func (h *Histogram) Merge(o Histogram) error {
	if len(h.Edges) == 0 && len(h.Counts) == 0 {
		h.Edges = slices.Clone(o.Edges)
		h.Counts = slices.Clone(o.Counts)
		return nil
	}
	if !slices.Equal(h.Edges, o.Edges) || len(h.Counts) != len(o.Counts) {
		return ErrEdgesDiffer
	}
	for i, c := range o.Counts {
		h.Counts[i] += c
	}
	return nil
}

// validate checks that the histogram is well formed.
func (h Histogram) validate() error {
	if len(h.Edges) < 2 || len(h.Counts) != len(h.Edges)-1 {
		return fmt.Errorf("histogram: %d edges and %d counts (need k+1 edges for k counts, k ≥ 1)", len(h.Edges), len(h.Counts))
	}
	for _, c := range h.Counts {
		if c < 0 || math.IsNaN(c) || math.IsInf(c, 0) {
			return fmt.Errorf("histogram: count %v is not a finite non-negative number", c)
		}
	}
	return nil
}
