package analysis

import (
	"encoding/json"
	"math"
)

// JSON cannot carry NaN or ±Inf, which results use for "undefined" (a relative difference against a
// zero control mean) and "unbounded" (an interval side with no evidence yet). They are written as
// null and read back as NaN, or as −Inf / +Inf for an interval's lower / upper side.

func finite(x float64) *float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return nil
	}
	return &x
}

func orValue(p *float64, def float64) float64 {
	if p == nil {
		return def
	}
	return *p
}

// MarshalJSON writes infinite sides as null.
func (i Interval) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Lower *float64 `json:"lower"`
		Upper *float64 `json:"upper"`
	}{finite(i.Lower), finite(i.Upper)})
}

// UnmarshalJSON reads null sides as unbounded.
func (i *Interval) UnmarshalJSON(b []byte) error {
	var v struct {
		Lower *float64 `json:"lower"`
		Upper *float64 `json:"upper"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*i = Interval{orValue(v.Lower, math.Inf(-1)), orValue(v.Upper, math.Inf(1))}
	return nil
}

// MarshalJSON writes an undefined mean as null.
func (a ArmSummary) MarshalJSON() ([]byte, error) {
	type plain ArmSummary
	return json.Marshal(struct {
		plain
		Mean *float64 `json:"mean"`
	}{plain(a), finite(a.Mean)})
}

// UnmarshalJSON reads a null mean as NaN.
func (a *ArmSummary) UnmarshalJSON(b []byte) error {
	type plain ArmSummary
	v := struct {
		*plain
		Mean *float64 `json:"mean"`
	}{plain: (*plain)(a)}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	a.Mean = orValue(v.Mean, math.NaN())
	return nil
}

// MarshalJSON writes undefined estimates as null.
func (r Result) MarshalJSON() ([]byte, error) {
	type plain Result
	return json.Marshal(struct {
		plain
		Diff      *float64 `json:"diff"`
		Relative  *float64 `json:"relative"`
		Excess    *float64 `json:"excess"`
		LogE      *float64 `json:"log_e"`
		LogEClear *float64 `json:"log_e_clear"`
	}{plain(r), finite(r.Diff), finite(r.Relative), finite(r.Excess), finite(r.LogE), finite(r.LogEClear)})
}

// UnmarshalJSON reads null estimates as NaN.
func (r *Result) UnmarshalJSON(b []byte) error {
	type plain Result
	v := struct {
		*plain
		Diff      *float64 `json:"diff"`
		Relative  *float64 `json:"relative"`
		Excess    *float64 `json:"excess"`
		LogE      *float64 `json:"log_e"`
		LogEClear *float64 `json:"log_e_clear"`
	}{plain: (*plain)(r)}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	nan := math.NaN()
	r.Diff, r.Relative, r.Excess = orValue(v.Diff, nan), orValue(v.Relative, nan), orValue(v.Excess, nan)
	r.LogE, r.LogEClear = orValue(v.LogE, nan), orValue(v.LogEClear, nan)
	return nil
}
