package analysis

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"testing"
)

// A whole plan in A/A: six ring stages, each a fresh test, with four guardrails analysed overall and
// in three dimensions, every tick, through Analyze and its α budget. CLARIFICATIONS §26: the plan's
// family-wise false-rollback rate must stay at most α.

var planStages = []float64{0.01, 0.05, 0.10, 0.25, 0.50, 0.90}

var planMetrics = []Metric{
	{Name: "error rate", Kind: KindProportion, Direction: LowerIsBetter},
	{Name: "thumbs-up", Kind: KindProportion, Direction: HigherIsBetter},
	{Name: "latency", Kind: KindMean, Direction: LowerIsBetter, LogScale: true},
	{Name: "tickets per user", Kind: KindCount, Direction: LowerIsBetter},
}

// planDim is an analysis dimension of the simulated traffic.
type planDim struct {
	name   string
	values []string
	cum    []float64 // cumulative shares of the values
}

// newPlanDim gives the values Zipf-like shares (1/1, 1/2, 1/3, …), so segments differ in size as
// real traffic does.
func newPlanDim(name string, values ...string) planDim {
	d := planDim{name: name, values: values}
	var sum float64
	for j := range values {
		sum += 1 / float64(j+1)
		d.cum = append(d.cum, sum)
	}
	for j := range d.cum {
		d.cum[j] /= sum
	}
	return d
}

var planDims = []planDim{
	newPlanDim("country", "US", "DE", "BR", "IN", "FR", "GB", "JP", "MX", "CA", "ES"),
	newPlanDim("plan", "free", "pro", "enterprise"),
	newPlanDim("platform", "web", "ios", "android"),
}

// planOutcome is one healthy rollout through the whole plan.
type planOutcome struct {
	budgeted bool // Analyze with the α budget rolled back somewhere
	perTest  bool // every test at α = 0.01, no split, rolled back somewhere
}

// simulatePlan runs the plan in A/A for ticksPerStage ticks per stage.
func simulatePlan(seed uint64, ticksPerStage int) (planOutcome, error) {
	r := rand.New(rand.NewPCG(seed, 42))
	var out planOutcome
	stageMetric := make([]Metric, len(planMetrics))
	for i, m := range planMetrics {
		stageMetric[i] = m.WithDefaults()
	}
	for _, share := range planStages {
		in := StageInput{
			Alpha: 0.01, Stages: len(planStages), TreatmentShare: share,
			Dimensions: []string{"country", "plan", "platform"},
			Metrics:    make([]MetricData, len(planMetrics)),
		}
		for i, m := range planMetrics {
			in.Metrics[i] = MetricData{Metric: m, Segments: map[string]map[string]Arms{}}
			for _, d := range planDims {
				vals := map[string]Arms{}
				for _, v := range d.values {
					vals[v] = Arms{}
				}
				in.Metrics[i].Segments[d.name] = vals
			}
		}
		// Pointers into the maps' values are not addressable: keep the arms in slices and copy them
		// into the input before each analysis.
		type cell struct{ arms [4]Arms }
		total := cell{}
		seg := make([][]cell, len(planDims))
		for i, d := range planDims {
			seg[i] = make([]cell, len(d.values))
		}
		for range ticksPerStage {
			for range unitsPerTick {
				treated := r.Float64() < share
				vals := [4]float64{
					Occurred(float64(binomial(r, 1, 0.01))),
					Occurred(float64(binomial(r, 1, 0.8))),
					math.Log(300) + 0.6*r.NormFloat64(),
					float64(binomial(r, 20, 0.01)),
				}
				var idx [3]int
				for i, d := range planDims {
					u := r.Float64()
					for idx[i] < len(d.cum)-1 && u > d.cum[idx[i]] {
						idx[i]++
					}
				}
				for k, v := range vals {
					add := func(a *Arms) {
						if treated {
							a.Treatment.Moments.Add(v)
						} else {
							a.Control.Moments.Add(v)
						}
					}
					add(&total.arms[k])
					for i := range planDims {
						add(&seg[i][idx[i]].arms[k])
					}
				}
				if treated {
					in.TreatmentUnits++
				} else {
					in.ControlUnits++
				}
			}
			for k := range planMetrics {
				in.Metrics[k].Total = total.arms[k]
				for i, d := range planDims {
					for j, v := range d.values {
						in.Metrics[k].Segments[d.name][v] = seg[i][j].arms[k]
					}
				}
			}
			if !out.budgeted {
				rep, err := Analyze(in)
				if err != nil {
					return out, err
				}
				if rep.Summary.AnyCrossed {
					out.budgeted = true
				}
			}
			if !out.perTest {
				for k, m := range stageMetric {
					tests := []Arms{total.arms[k]}
					for i := range planDims {
						for j := range seg[i] {
							tests = append(tests, seg[i][j].arms[k])
						}
					}
					for _, a := range tests {
						if evaluate(m, a, share, 0.01, false).Status == Crossed {
							out.perTest = true
						}
					}
				}
			}
			if out.budgeted && out.perTest {
				return out, nil
			}
		}
	}
	return out, nil
}

func runPlans(t *testing.T, runs, ticksPerStage int, seed0 uint64) (budgeted, perTest int) {
	outs := make([]planOutcome, runs)
	errs := make([]error, runs)
	var wg sync.WaitGroup
	for w := range 2 {
		wg.Go(func() {
			for i := w; i < runs; i += 2 {
				outs[i], errs[i] = simulatePlan(seed0+uint64(i), ticksPerStage)
			}
		})
	}
	wg.Wait()
	for i, o := range outs {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if o.budgeted {
			budgeted++
		}
		if o.perTest {
			perTest++
		}
	}
	return budgeted, perTest
}

// TestPlanAAKeepsTheFamilyWiseRate runs 10 healthy rollouts through a short version of the plan:
// with the α budget none may roll back, while testing everything at α = 0.01 rolls back some.
func TestPlanAAKeepsTheFamilyWiseRate(t *testing.T) {
	const runs = 10
	budgeted, perTest := runPlans(t, runs, 15, 500)
	t.Logf("plan A/A: %d/%d false rollbacks with the α budget, %d/%d with α = 0.01 per test", budgeted, runs, perTest, runs)
	if budgeted > 0 {
		t.Errorf("%d of %d healthy rollouts rolled back with the plan's α budget", budgeted, runs)
	}
	if perTest <= budgeted {
		t.Errorf("α = 0.01 per test rolled back %d, no more than the budget's %d: the simulation shows no multiplicity", perTest, budgeted)
	}
}

// TestHeavyPlanAA is the full version: 1 000 healthy rollouts, 100 ticks per stage.
func TestHeavyPlanAA(t *testing.T) {
	if !heavy() {
		t.Skip("set RAMP_HEAVY=1 or build with -tags heavy to run the 1 000-rollout plan simulation")
	}
	const runs = 1000
	budgeted, perTest := runPlans(t, runs, 100, 7_000_000)
	lo, hi := clopperPearson(budgeted, runs)
	plo, phi := clopperPearson(perTest, runs)
	line := fmt.Sprintf("plan A/A (6 ring stages %v × 4 guardrails × (overall + 3 dimensions of 10, 3, 3 values), 100 ticks of %d units per stage, α = 0.01 for the plan): "+
		"%d/%d false rollbacks with the α budget (95 %% CP %.2f–%.2f %%); %d/%d with α = 0.01 per test and no split (%.1f–%.1f %%)",
		planStages, unitsPerTick, budgeted, runs, 100*lo, 100*hi, perTest, runs, 100*plo, 100*phi)
	t.Log(line)
	fmt.Println(line)
	if lo > 0.01 {
		t.Errorf("the plan's family-wise false-rollback rate is above α: %d/%d", budgeted, runs)
	}
}
