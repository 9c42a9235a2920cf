package analysis

import "math"

// Moments are the sufficient statistics of one arm of one metric (in one segment): the number of
// units and the sums of their per-unit values. They add: the Moments of any split of the units
// (shards, replicas, time slices) merge into the Moments of the whole, so a test costs the same
// whatever the number of units.
//
// Y is the per-unit value (errors of the unit ≥ 1 → 1, the unit's mean ln latency, its tickets).
// Ratio metrics (errors per request) also keep the per-unit denominator X; other metrics leave the
// X sums at zero.
type Moments struct {
	// N is the number of units.
	N float64 `json:"n"`
	// Sum is Σy over units.
	Sum float64 `json:"sum"`
	// SumSq is Σy² over units.
	SumSq float64 `json:"sum_sq"`
	// SumX is Σx over units (ratio metrics: the per-unit denominator).
	SumX float64 `json:"sum_x,omitempty"`
	// SumXSq is Σx² over units.
	SumXSq float64 `json:"sum_x_sq,omitempty"`
	// SumXY is Σxy over units.
	SumXY float64 `json:"sum_xy,omitempty"`
}

// Add records one more unit whose value is y.
func (m *Moments) Add(y float64) {
	m.N++
	m.Sum += y
	m.SumSq += y * y
}

// AddRatio records one more unit of a ratio metric with numerator y and denominator x.
func (m *Moments) AddRatio(y, x float64) {
	m.Add(y)
	m.SumX += x
	m.SumXSq += x * x
	m.SumXY += x * y
}

// Update moves an already counted unit's value from y to y+delta. This is how an event updates the
// sums when the unit's running total lives elsewhere (Σy += Δ, Σy² += (y+Δ)² − y²), so the sums never
// need the unit's history.
func (m *Moments) Update(y, delta float64) {
	m.Sum += delta
	m.SumSq += delta * (2*y + delta)
}

// UpdateRatio moves an already counted unit of a ratio metric from (y, x) to (y+dy, x+dx).
func (m *Moments) UpdateRatio(y, x, dy, dx float64) {
	m.Update(y, dy)
	m.SumX += dx
	m.SumXSq += dx * (2*x + dx)
	// (x+dx)(y+dy) − xy
	m.SumXY += x*dy + y*dx + dx*dy
}

// UpdateOccurrence counts a proportion on units: a unit is 1 once it has at least one event (an
// error, a thumbs-up) and 0 before. events is the unit's event count before this update and delta
// the new events; the sums change only when the unit's first event arrives. Counting events instead
// of units would treat one unit's 500 errors as 500 independent observations.
func (m *Moments) UpdateOccurrence(events, delta float64) {
	before, after := Occurred(events), Occurred(events+delta)
	if after != before {
		m.Update(before, after-before)
	}
}

// Occurred is a unit's value for a proportion metric: 1 when it has at least one event, else 0.
func Occurred(events float64) float64 {
	if events >= 1 {
		return 1
	}
	return 0
}

// Merge adds o's units to m.
func (m *Moments) Merge(o Moments) {
	m.N += o.N
	m.Sum += o.Sum
	m.SumSq += o.SumSq
	m.SumX += o.SumX
	m.SumXSq += o.SumXSq
	m.SumXY += o.SumXY
}

// Mean is the mean per-unit value Σy/n (NaN without units).
func (m Moments) Mean() float64 {
	if m.N <= 0 {
		return math.NaN()
	}
	return m.Sum / m.N
}

// Variance is the sample variance of the per-unit values (n − 1 in the denominator; NaN for fewer
// than two units). Rounding can never make it negative.
func (m Moments) Variance() float64 {
	if m.N < 2 {
		return math.NaN()
	}
	return math.Max(0, (m.SumSq-m.Sum*m.Sum/m.N)/(m.N-1))
}

// Ratio is the ratio estimate R = Σy/Σx of a ratio metric (NaN when Σx is 0).
func (m Moments) Ratio() float64 {
	if m.SumX == 0 {
		return math.NaN()
	}
	return m.Sum / m.SumX
}

// RatioVariance is the delta-method variance of Ratio:
// Var(R) ≈ (s_y² − 2 R s_xy + R² s_x²) / (n x̄²), with sample (co)variances. NaN for fewer than two
// units or Σx = 0.
func (m Moments) RatioVariance() float64 {
	if m.N < 2 || m.SumX == 0 {
		return math.NaN()
	}
	xbar := m.SumX / m.N
	return m.linearizedVariance() / (m.N * xbar * xbar)
}

// linearizedVariance is the sample variance of the per-unit linearized values y − R x, the numerator
// of the delta method: s_y² − 2 R s_xy + R² s_x².
func (m Moments) linearizedVariance() float64 {
	if m.N < 2 || m.SumX == 0 {
		return math.NaN()
	}
	r := m.Sum / m.SumX
	sy := (m.SumSq - m.Sum*m.Sum/m.N) / (m.N - 1)
	sx := (m.SumXSq - m.SumX*m.SumX/m.N) / (m.N - 1)
	sxy := (m.SumXY - m.Sum*m.SumX/m.N) / (m.N - 1)
	return math.Max(0, sy-2*r*sxy+r*r*sx)
}
