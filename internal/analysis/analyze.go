package analysis

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
)

// Defaults of a stage's analysis.
const (
	// DefaultAlpha is the plan's family-wise false-rollback rate.
	DefaultAlpha = 0.01
	// DefaultTopValues is the number of values of each dimension tested on their own; the rest are
	// folded into OtherValue.
	DefaultTopValues = 50
	// DefaultTotalShare is the share of each metric's α given to its overall test when the plan has
	// analysis dimensions; the segment tests share the rest equally.
	DefaultTotalShare = 0.5
	// OtherValue is the segment value that holds every value beyond the top ones.
	OtherValue = "other"
)

// BudgetSpec is what decides the α budget: the plan's α and the number of tests that share it.
type BudgetSpec struct {
	// Alpha is the plan's family-wise false-rollback rate (DefaultAlpha when 0).
	Alpha float64 `json:"alpha"`
	// Stages is the number of stages that run tests; each is a fresh test (1 when 0).
	Stages int `json:"stages"`
	// Metrics is the number of tested metrics per stage (distribution metrics are not tests).
	Metrics int `json:"metrics"`
	// Dimensions is the number of analysis dimensions (country, plan, platform).
	Dimensions int `json:"dimensions"`
	// TopValues is the number of values per dimension tested on their own (DefaultTopValues when 0);
	// each dimension also has its "other".
	TopValues int `json:"top_values"`
	// TotalShare is the share of a metric's α for its overall test when there are dimensions
	// (DefaultTotalShare when 0; 1/(1+SegmentTests) is the equal split).
	TotalShare float64 `json:"total_share"`
}

// Budget is the Bonferroni split of the plan's α: across stages, then across metrics, then within a
// metric between its overall test and its segment tests. The number of segment tests is fixed by the
// plan (dimensions × (top values + other)), not by the values seen so far, so a test's α never
// changes during a stage. A false rollback anywhere in the plan then has probability at most Alpha.
type Budget struct {
	BudgetSpec
	// Stage is α per stage: Alpha / Stages.
	Stage float64 `json:"stage"`
	// Metric is α per metric per stage: Stage / Metrics.
	Metric float64 `json:"metric"`
	// Total is α of each metric's overall test.
	Total float64 `json:"total"`
	// SegmentTests is the number of segment tests per metric: Dimensions × (TopValues + 1).
	SegmentTests int `json:"segment_tests"`
	// Segment is α of each segment test.
	Segment float64 `json:"segment"`
	// SRM is α of the sample-ratio-mismatch check, a family of its own (it pauses, never rolls
	// back): Alpha / Stages.
	SRM float64 `json:"srm"`
}

// NewBudget splits spec's α. It fails on a spec that cannot be split.
func NewBudget(spec BudgetSpec) (Budget, error) {
	if spec.Alpha == 0 {
		spec.Alpha = DefaultAlpha
	}
	if spec.Stages == 0 {
		spec.Stages = 1
	}
	if spec.TopValues == 0 {
		spec.TopValues = DefaultTopValues
	}
	if spec.TotalShare == 0 {
		spec.TotalShare = DefaultTotalShare
	}
	switch {
	case !(spec.Alpha > 0 && spec.Alpha < 0.5):
		return Budget{}, fmt.Errorf("alpha budget: alpha %v is not in (0, 0.5)", spec.Alpha)
	case spec.Stages < 0 || spec.Metrics < 0 || spec.Dimensions < 0 || spec.TopValues < 0:
		return Budget{}, fmt.Errorf("alpha budget: negative counts in %+v", spec)
	case !(spec.TotalShare > 0 && spec.TotalShare <= 1):
		return Budget{}, fmt.Errorf("alpha budget: total_share %v is not in (0, 1]", spec.TotalShare)
	}
	b := Budget{BudgetSpec: spec}
	b.Stage = spec.Alpha / float64(spec.Stages)
	b.SRM = b.Stage
	b.Metric = b.Stage / float64(max(spec.Metrics, 1))
	b.SegmentTests = spec.Dimensions * (spec.TopValues + 1)
	b.Total = b.Metric
	if b.SegmentTests > 0 {
		if spec.TotalShare == 1 {
			return Budget{}, errors.New("alpha budget: total_share 1 leaves nothing for the segment tests")
		}
		b.Total = b.Metric * spec.TotalShare
		b.Segment = b.Metric * (1 - spec.TotalShare) / float64(b.SegmentTests)
	}
	return b, nil
}

// StageInput is everything Analyze needs about one stage of one rollout: sufficient statistics only,
// so its cost does not depend on the number of units.
type StageInput struct {
	// Alpha is the plan's family-wise false-rollback rate (DefaultAlpha when 0).
	Alpha float64 `json:"alpha"`
	// Stages is the number of the plan's stages that run tests (1 when 0).
	Stages int `json:"stages"`
	// Dimensions are the plan's analysis dimensions. They fix the α budget, so declare them all even
	// before their values have data.
	Dimensions []string `json:"dimensions"`
	// TopValues is how many values per dimension are tested on their own (DefaultTopValues when 0).
	TopValues int `json:"top_values"`
	// TotalShare is the share of a metric's α for its overall test (DefaultTotalShare when 0).
	TotalShare float64 `json:"total_share"`
	// TreatmentShare is the planned share of the stage's units in treatment (π).
	TreatmentShare float64 `json:"treatment_share"`
	// TreatmentUnits and ControlUnits are the stage's distinct units per arm, for the SRM check.
	TreatmentUnits float64 `json:"treatment_units"`
	ControlUnits   float64 `json:"control_units"`
	// MultiExposedUnits are units seen in both arms; they are left out of every other statistic.
	MultiExposedUnits float64 `json:"multi_exposed_units"`
	// SRMPrior is the SRM check's Dirichlet prior size (DefaultSRMPrior when 0).
	SRMPrior float64 `json:"srm_prior"`
	// Metrics are the guardrails, gates and distribution metrics with their data.
	Metrics []MetricData `json:"metrics"`
}

// MetricData is one metric's definition and statistics, overall and per segment value.
type MetricData struct {
	// Metric is the definition; Total the statistics of the whole stage.
	Metric Metric `json:"metric"`
	Total  Arms   `json:"total"`
	// Segments maps dimension → value → statistics. Values beyond the top ones (by units) are
	// folded into OtherValue.
	Segments map[string]map[string]Arms `json:"segments,omitempty"`
}

// Report is the analysis of one stage.
type Report struct {
	// Budget is how the plan's α was split; every result's Alpha comes from it.
	Budget Budget `json:"budget"`
	// SRM is the stage's sample-ratio-mismatch check.
	SRM SRMResult `json:"srm"`
	// MultipleExposure reports units seen in both arms.
	MultipleExposure MultipleExposureResult `json:"multiple_exposure"`
	// Metrics has one report per input metric, in the input's order.
	Metrics []MetricReport `json:"metrics"`
	// Summary is what the controller decides on.
	Summary Summary `json:"summary"`
}

// MetricReport is one metric's results.
type MetricReport struct {
	// Metric is the metric's name and Kind its kind.
	Metric string `json:"metric"`
	Kind   Kind   `json:"kind"`
	// Total is the overall test (zero for distribution metrics).
	Total Result `json:"total,omitzero"`
	// Segments are the segment tests, by dimension in the plan's order, then by units (descending),
	// with each dimension's "other" last.
	Segments []Result `json:"segments,omitempty"`
	// Drift is the drift of a distribution metric, overall.
	Drift *DriftResult `json:"drift,omitempty"`
}

// Finding names one test.
type Finding struct {
	// Metric is the metric's name; Segment the segment value, zero for the overall test.
	Metric  string  `json:"metric"`
	Segment Segment `json:"segment,omitzero"`
}

// Summary is what the controller needs to decide.
type Summary struct {
	// Crossed lists the tests that crossed (overall and segments): any entry means a guardrail is
	// crossed.
	Crossed []Finding `json:"crossed,omitempty"`
	// AnyCrossed reports whether Crossed is non-empty.
	AnyCrossed bool `json:"any_crossed"`
	// AllClear reports that every tested metric's overall test is Clear (non-inferiority shown), so
	// the gates may pass; false when there are no tested metrics.
	AllClear bool `json:"all_clear"`
	// SampleRatioMismatch and MultipleExposure pause the rollout: the assignment is at fault.
	SampleRatioMismatch bool `json:"sample_ratio_mismatch"`
	MultipleExposure    bool `json:"multiple_exposure"`
	// Drift is the most severe drift level among distribution metrics (empty without any). It is a
	// descriptive alarm, not an α-controlled test.
	Drift DriftLevel `json:"drift,omitempty"`
}

// Analyze tests every metric of a stage overall and per segment value, checks the split (SRM and
// multiple exposure) and grades drift, spending the plan's α as Budget says.
func Analyze(in StageInput) (Report, error) {
	metrics := make([]Metric, len(in.Metrics))
	tested := 0
	seen := make(map[string]bool, len(in.Metrics))
	for i, md := range in.Metrics {
		m := md.Metric.WithDefaults()
		if err := m.validate(); err != nil {
			return Report{}, fmt.Errorf("metrics[%d] (%q): %w", i, m.Name, err)
		}
		if seen[m.Name] {
			return Report{}, fmt.Errorf("metrics[%d]: name %q is used twice", i, m.Name)
		}
		seen[m.Name] = true
		for dim := range md.Segments {
			if !slices.Contains(in.Dimensions, dim) {
				return Report{}, fmt.Errorf("metrics[%d] (%q): segment dimension %q is not among the plan's dimensions %q", i, m.Name, dim, in.Dimensions)
			}
		}
		metrics[i] = m
		if m.Kind != KindDistribution {
			tested++
		}
	}
	budget, err := NewBudget(BudgetSpec{
		Alpha: in.Alpha, Stages: in.Stages, Metrics: tested, Dimensions: len(in.Dimensions),
		TopValues: in.TopValues, TotalShare: in.TotalShare,
	})
	if err != nil {
		return Report{}, err
	}
	srm, err := CheckSRM(in.TreatmentUnits, in.ControlUnits, in.TreatmentShare, budget.SRM, in.SRMPrior)
	if err != nil {
		return Report{}, err
	}
	rep := Report{
		Budget:           budget,
		SRM:              srm,
		MultipleExposure: CheckMultipleExposure(in.MultiExposedUnits, in.TreatmentUnits, in.ControlUnits),
		Metrics:          make([]MetricReport, len(in.Metrics)),
	}
	rep.Summary.SampleRatioMismatch = srm.Mismatch
	rep.Summary.MultipleExposure = rep.MultipleExposure.Exceeded
	rep.Summary.AllClear = tested > 0

	var scratch []valueArms
	for i, md := range in.Metrics {
		m := metrics[i]
		mr := MetricReport{Metric: m.Name, Kind: m.Kind}
		if m.Kind == KindDistribution {
			d, err := Drift(md.Total.Treatment.Histogram, md.Total.Control.Histogram, m.Drift)
			if err != nil {
				return Report{}, fmt.Errorf("metric %q: %w", m.Name, err)
			}
			mr.Drift = &d
			rep.Summary.Drift = worseDrift(rep.Summary.Drift, d.Level)
			rep.Metrics[i] = mr
			continue
		}
		mr.Total = evaluate(m, md.Total, in.TreatmentShare, budget.Total, true)
		if mr.Total.Status == Crossed {
			rep.Summary.Crossed = append(rep.Summary.Crossed, Finding{Metric: m.Name})
		}
		if mr.Total.Status != Clear {
			rep.Summary.AllClear = false
		}
		if len(md.Segments) > 0 {
			mr.Segments = make([]Result, 0, len(md.Segments)*(budget.TopValues+1))
		}
		for _, dim := range in.Dimensions {
			values := md.Segments[dim]
			if len(values) == 0 {
				continue
			}
			scratch = foldSegments(scratch[:0], values, budget.TopValues)
			for _, va := range scratch {
				res := evaluate(m, va.Arms, in.TreatmentShare, budget.Segment, true)
				res.Segment = Segment{Dimension: dim, Value: va.Value}
				if res.Status == Crossed {
					rep.Summary.Crossed = append(rep.Summary.Crossed, Finding{Metric: m.Name, Segment: res.Segment})
				}
				mr.Segments = append(mr.Segments, res)
			}
		}
		rep.Metrics[i] = mr
	}
	rep.Summary.AnyCrossed = len(rep.Summary.Crossed) > 0
	return rep, nil
}

// valueArms is one segment value's statistics.
type valueArms struct {
	Value string
	Arms  Arms
	units float64
}

// foldSegments appends to dst the values of one dimension to test: the top values by units (both
// arms, ties by name) in that order, then OtherValue holding the sum of every other value's
// statistics (including a value already named "other"), if any.
func foldSegments(dst []valueArms, values map[string]Arms, top int) []valueArms {
	start := len(dst)
	var other Arms
	hasOther := false
	for v, a := range values {
		if v == OtherValue {
			mergeArms(&other, a)
			hasOther = true
			continue
		}
		dst = append(dst, valueArms{Value: v, Arms: a, units: a.Treatment.Moments.N + a.Control.Moments.N})
	}
	vals := dst[start:]
	slices.SortFunc(vals, func(a, b valueArms) int {
		if c := cmp.Compare(b.units, a.units); c != 0 {
			return c
		}
		return cmp.Compare(a.Value, b.Value)
	})
	if len(vals) > top {
		for _, va := range vals[top:] {
			mergeArms(&other, va.Arms)
		}
		hasOther = true
		dst = dst[:start+top]
	}
	if hasOther {
		dst = append(dst, valueArms{Value: OtherValue, Arms: other, units: other.Treatment.Moments.N + other.Control.Moments.N})
	}
	return dst
}

// mergeArms adds b's moments to a (histograms are not folded: drift is analysed overall).
func mergeArms(a *Arms, b Arms) {
	a.Treatment.Moments.Merge(b.Treatment.Moments)
	a.Control.Moments.Merge(b.Control.Moments)
}

var driftRank = map[DriftLevel]int{"": 0, DriftNotEnoughData: 1, DriftNone: 2, DriftWarn: 3, DriftAct: 4}

func worseDrift(a, b DriftLevel) DriftLevel {
	if driftRank[b] > driftRank[a] {
		return b
	}
	return a
}
