package sim

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// DefaultTick is a simulated controller tick: five virtual minutes (CLARIFICATIONS §29).
const DefaultTick = 5 * time.Minute

// DefaultUnitsPerTick is the traffic of the bars: 1 000 new units a tick.
const DefaultUnitsPerTick = 1000

// Share is one value of a unit attribute and the share of units that have it.
type Share struct {
	Value string  `json:"value"`
	Share float64 `json:"share"`
	// Region is a country's region (the "region" attribute rings may be limited to).
	Region string `json:"region,omitempty"`
}

// Traffic is the model of the units that reach the flag: how many arrive each tick,
// their attributes, and what happens to each of them under control. Every unit is
// new, is evaluated once, makes one AI request in the tick it arrives and reports
// its outcomes in that tick (so a unit's value per metric is the value of that one
// request); the bars of STATISTICS.md assume the same.
type Traffic struct {
	// UnitsPerTick new units arrive every Tick.
	UnitsPerTick int           `json:"units_per_tick"`
	Tick         time.Duration `json:"-"`
	// Countries, Plans and Platforms are the analysis dimensions' values and their
	// shares of units (each list sums to 1).
	Countries []Share `json:"countries"`
	Plans     []Share `json:"plans"`
	Platforms []Share `json:"platforms"`
	// Internal and Beta are the shares of units in the "internal" (employees,
	// dogfooders) and "beta" (opted in) segments.
	Internal float64 `json:"internal"`
	Beta     float64 `json:"beta"`

	// ErrorRate is the share of units with at least one error.
	ErrorRate float64 `json:"error_rate"`
	// RatingShare of units give a thumbs up or down; ThumbsUp of them give it up.
	RatingShare float64 `json:"rating_share"`
	ThumbsUp    float64 `json:"thumbs_up"`
	// Latency is log-normal: median LatencyMedianMs, sd of ln latency LatencyLogSD.
	LatencyMedianMs float64 `json:"latency_median_ms"`
	LatencyLogSD    float64 `json:"latency_log_sd"`
	// TicketsPerUser is the mean (Poisson) number of support tickets a unit opens.
	TicketsPerUser float64 `json:"tickets_per_user"`
	// TokensMedian and TokensLogSD describe the log-normal tokens of a request (cost).
	TokensMedian float64 `json:"tokens_median"`
	TokensLogSD  float64 `json:"tokens_log_sd"`
	// Conversion is the share of units that convert.
	Conversion float64 `json:"conversion"`
}

// DefaultTraffic is the traffic of the bars and of `ramp simulate` by default:
// 1 000 new units every 5 minutes, attribute shares of a global consumer AI product,
// and the baselines of STATISTICS.md (error 1 %, thumbs-up 80 %, latency log-normal
// with median 300 ms and log-sd 0.6).
func DefaultTraffic() Traffic {
	return Traffic{
		UnitsPerTick: DefaultUnitsPerTick,
		Tick:         DefaultTick,
		Countries: []Share{
			{"US", 0.30, "na"}, {"IN", 0.12, "apac"}, {"BR", 0.10, "latam"}, {"DE", 0.08, "eu"},
			{"GB", 0.07, "eu"}, {"FR", 0.06, "eu"}, {"JP", 0.05, "apac"}, {"MX", 0.04, "latam"},
			{"CA", 0.04, "na"}, {"ES", 0.03, "eu"}, {"IT", 0.03, "eu"}, {"PL", 0.02, "eu"},
			{"NL", 0.02, "eu"}, {"AU", 0.02, "apac"}, {"KR", 0.02, "apac"},
		},
		Plans:           []Share{{"free", 0.70, ""}, {"pro", 0.25, ""}, {"enterprise", 0.05, ""}},
		Platforms:       []Share{{"web", 0.55, ""}, {"ios", 0.25, ""}, {"android", 0.20, ""}},
		Internal:        0.01,
		Beta:            0.05,
		ErrorRate:       0.01,
		RatingShare:     1,
		ThumbsUp:        0.80,
		LatencyMedianMs: 300,
		LatencyLogSD:    0.6,
		TicketsPerUser:  0.05,
		TokensMedian:    800,
		TokensLogSD:     0.5,
		Conversion:      0.05,
	}
}

// The analysis dimensions the traffic carries, in the order of Unit.Dims.
const (
	DimCountry  = "country"
	DimPlan     = "plan"
	DimPlatform = "platform"
)

// Dimensions are the analysis dimensions of simulated units (ingest's defaults).
var Dimensions = []string{DimCountry, DimPlan, DimPlatform}

// Validate checks the model and says what to fix.
func (t *Traffic) Validate() error {
	if t.UnitsPerTick <= 0 {
		return fmt.Errorf("traffic: units_per_tick %d must be positive", t.UnitsPerTick)
	}
	if t.Tick <= 0 {
		return fmt.Errorf("traffic: tick %s must be positive", t.Tick)
	}
	for _, d := range []struct {
		name string
		s    []Share
	}{{"countries", t.Countries}, {"plans", t.Plans}, {"platforms", t.Platforms}} {
		if len(d.s) == 0 || len(d.s) > 250 {
			return fmt.Errorf("traffic: %s needs between 1 and 250 values", d.name)
		}
		sum := 0.0
		for _, s := range d.s {
			if !(s.Share >= 0) || s.Value == "" {
				return fmt.Errorf("traffic: %s: value %q with share %v; give a name and a share ≥ 0", d.name, s.Value, s.Share)
			}
			sum += s.Share
		}
		if math.Abs(sum-1) > 1e-6 {
			return fmt.Errorf("traffic: %s shares sum to %v, not 1", d.name, sum)
		}
	}
	for _, p := range []struct {
		name string
		v    float64
	}{
		{"internal", t.Internal}, {"beta", t.Beta}, {"error_rate", t.ErrorRate}, {"rating_share", t.RatingShare},
		{"thumbs_up", t.ThumbsUp}, {"conversion", t.Conversion},
	} {
		if !(p.v >= 0 && p.v <= 1) {
			return fmt.Errorf("traffic: %s %v is not a share in [0, 1]", p.name, p.v)
		}
	}
	for _, p := range []struct {
		name string
		v    float64
	}{{"latency_median_ms", t.LatencyMedianMs}, {"tokens_median", t.TokensMedian}} {
		if !(p.v > 0) || math.IsInf(p.v, 0) {
			return fmt.Errorf("traffic: %s %v must be positive", p.name, p.v)
		}
	}
	for _, p := range []struct {
		name string
		v    float64
	}{{"latency_log_sd", t.LatencyLogSD}, {"tokens_log_sd", t.TokensLogSD}, {"tickets_per_user", t.TicketsPerUser}} {
		if !(p.v >= 0) || math.IsInf(p.v, 0) {
			return fmt.Errorf("traffic: %s %v must be a finite number ≥ 0", p.name, p.v)
		}
	}
	return nil
}

// Unit is one simulated unit: its identity and attributes.
type Unit struct {
	// ID makes the unit key (see Unit.Key).
	ID uint64
	// Dims are the indexes of the unit's country, plan and platform in the
	// traffic's lists.
	Dims     [3]uint8
	Internal bool
	Beta     bool
}

// Outcome is what one unit's request produced: the values its metric events carry.
type Outcome struct {
	Error   float64 // 1: the unit saw at least one error
	Rated   bool    // the unit gave a thumbs up or down
	Up      float64 // 1: thumbs up
	Latency float64 // ms
	Tickets float64
	Tokens  float64
	Convert float64
}

// cumulative shares for drawing attribute values.
type picker struct{ cum []float64 }

func newPicker(s []Share) picker {
	p := picker{cum: make([]float64, len(s))}
	sum := 0.0
	for i, v := range s {
		sum += v.Share
		p.cum[i] = sum
	}
	return p
}

func (p picker) pick(r *rand.Rand) uint8 {
	u := r.Float64() * p.cum[len(p.cum)-1]
	for i, c := range p.cum {
		if u < c {
			return uint8(i)
		}
	}
	return uint8(len(p.cum) - 1)
}

// population draws units from a traffic model.
type population struct {
	t    *Traffic
	pick [3]picker
}

func newPopulation(t *Traffic) *population {
	p := &population{t: t}
	for d, s := range [][]Share{t.Countries, t.Plans, t.Platforms} {
		p.pick[d] = newPicker(s)
	}
	return p
}

// unit draws a new unit. Keys are random, so runs with different seeds bucket
// independently, as different user bases would.
func (p *population) unit(r *rand.Rand) Unit {
	u := Unit{ID: r.Uint64()}
	for d := range u.Dims {
		u.Dims[d] = p.pick[d].pick(r)
	}
	u.Internal = r.Float64() < p.t.Internal
	u.Beta = r.Float64() < p.t.Beta
	return u
}

// condition is what control would give a unit, shifted by an effect for treatment.
type condition struct {
	errorRate, thumbsUp, latencyShift, ticketFactor float64
}

// outcome draws one unit's request outcomes under the condition: the error always
// (the threshold check reads it), the other signals when a test needs them.
func (p *population) outcome(r *rand.Rand, c condition, need *[6]bool) Outcome {
	t := p.t
	var o Outcome
	if r.Float64() < c.errorRate {
		o.Error = 1
	}
	if need[sigThumbs] && r.Float64() < t.RatingShare {
		o.Rated = true
		if r.Float64() < c.thumbsUp {
			o.Up = 1
		}
	}
	if need[sigLatency] {
		o.Latency = t.LatencyMedianMs * math.Exp(t.LatencyLogSD*r.NormFloat64()+c.latencyShift)
	}
	if need[sigTickets] {
		o.Tickets = poisson(r, t.TicketsPerUser*c.ticketFactor)
	}
	if need[sigTokens] {
		o.Tokens = math.Round(t.TokensMedian * math.Exp(t.TokensLogSD*r.NormFloat64()))
	}
	if need[sigConversion] && r.Float64() < t.Conversion {
		o.Convert = 1
	}
	return o
}

// baseline is control's condition.
func (p *population) baseline() condition {
	return condition{errorRate: p.t.ErrorRate, thumbsUp: p.t.ThumbsUp, ticketFactor: 1}
}

// poisson draws a Poisson variate by inversion; the means here are small.
func poisson(r *rand.Rand, mean float64) float64 {
	if mean <= 0 {
		return 0
	}
	if mean > 30 {
		return math.Max(0, math.Round(mean+math.Sqrt(mean)*r.NormFloat64()))
	}
	u := r.Float64()
	p := math.Exp(-mean)
	cdf := p
	k := 0.0
	for u > cdf {
		k++
		p *= mean / k
		cdf += p
		if p == 0 {
			break
		}
	}
	return k
}
