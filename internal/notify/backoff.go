package notify

import "time"

// Backoff spaces out the attempts of one delivery: the wait doubles after
// each failure, from Initial up to Max, and each wait is drawn at random from
// its upper half ("equal jitter") so that channels failing together do not
// retry in lockstep, while a wait is never shorter than half its step.
type Backoff struct {
	// Initial is the step after the first failure. Default 1s.
	Initial time.Duration `json:"initial"`
	// Max caps the step. Default 1m.
	Max time.Duration `json:"max"`
}

// DefaultBackoff is used when Options.Backoff is zero.
var DefaultBackoff = Backoff{Initial: time.Second, Max: time.Minute}

// Delay is the wait after the given number of failed attempts (1 for the
// first failure), for random drawn uniformly from [0, 1).
func (b Backoff) Delay(failures int, random float64) time.Duration {
	step := b.Initial
	for i := 1; i < failures && step < b.Max; i++ {
		step *= 2
	}
	step = min(step, b.Max)
	half := step / 2
	return half + time.Duration(random*float64(step-half))
}
