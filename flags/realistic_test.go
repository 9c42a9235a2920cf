package flags

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

var update = flag.Bool("update", false, "rewrite testdata/realistic-200.json from the generator")

// realisticSet generates a deterministic flag set of n flags shaped like a product's
// (CLARIFICATIONS §12), for benchmark (b) and for other packages to load from
// testdata/realistic-200.json. The mix, by flag index modulo 10:
//
//   - 0–2, 30 %: single-variant flags — no rules, one variant served (STATIC); one in
//     seven is disabled with an off variant.
//   - 3–6, 40 %: one to three rules of one or two conditions each, drawn from in
//     (2 to 12 countries, so both the list and the map path), equals, semver_lt /
//     semver_gt and in_segment, each serving one variant, then a default variant.
//   - 7–8, 20 %: splits — a default weighted split over two or three variants, half
//     of them after a rule, a third bucketed by account_id, some rendered as a
//     rollout (holdout and ring bucket conditions with rule metadata).
//   - 9, 10 %: json flags carrying AI configurations (model, prompt version,
//     temperature, max tokens): beta segment → candidate, a 10 % ring, baseline.
//
// Five segments (beta testers, employees, enterprise, internal QA nested on
// employees, mobile on a recent app) are shared by the rules.
func realisticSet(n int, seed uint64) *Set {
	rng := rand.New(rand.NewPCG(seed, 0x5ca1ab1e))
	set := &Set{Flags: map[string]*Flag{}, Segments: realisticSegments()}
	segments := []string{"beta-testers", "employees", "enterprise", "internal-qa", "mobile-latest"}
	areas := []string{"search", "checkout", "summarize", "chat", "billing", "onboarding", "inbox", "reports", "editor", "assistant"}
	features := []string{"new-ui", "fast-path", "v2", "ranking", "cache", "prefetch", "dark-mode", "limits", "banner", "model"}
	for i := range n {
		key := fmt.Sprintf("%s.%s-%03d", areas[i%len(areas)], features[rng.IntN(len(features))], i)
		var f *Flag
		switch i % 10 {
		case 0, 1, 2:
			f = singleVariantFlag(rng, i)
		case 3, 4, 5, 6:
			f = targetedFlag(rng, segments)
		case 7, 8:
			f = splitRolloutFlag(rng, i)
		default:
			f = aiConfigFlag(rng, i)
		}
		f.Version = int64(1 + rng.IntN(40))
		if rng.IntN(4) == 0 {
			f.Metadata = map[string]any{"owner": areas[i%len(areas)] + "-team", "ticket": int64(1000 + i)}
		}
		if rng.IntN(3) == 0 {
			f.Tags = []string{areas[i%len(areas)]}
		}
		f.ClientSide = rng.IntN(5) == 0
		set.Flags[key] = f
	}
	return set
}

var realisticCountries = []string{"DE", "US", "FR", "GB", "ES", "IT", "PL", "NL", "SE", "AT", "CH", "BE", "IE", "PT", "DK", "FI"}

func realisticSegments() map[string]*Segment {
	beta := &Segment{Description: "Users who opted into betas", Excluded: []string{"user-00000005"},
		Rules: []SegmentRule{{Conditions: []Condition{{Attribute: "email", Op: OpEndsWith, Value: "@beta.example.com"}}}}}
	for i := range 40 {
		beta.Included = append(beta.Included, fmt.Sprintf("user-%08x", i*97))
	}
	return map[string]*Segment{
		"beta-testers": beta,
		"employees": {Description: "Staff", Rules: []SegmentRule{
			{Conditions: []Condition{{Attribute: "email", Op: OpEndsWith, Value: "@acme.com"}}},
			{Conditions: []Condition{{Attribute: "role", Op: OpIn, Values: []any{"staff", "contractor"}}}},
		}},
		"enterprise": {Rules: []SegmentRule{{Conditions: []Condition{{Attribute: "plan", Op: OpIn, Values: []any{"enterprise", "business"}}}}}},
		"internal-qa": {Included: []string{"qa-bot-1", "qa-bot-2"}, Rules: []SegmentRule{{Conditions: []Condition{
			{Op: OpInSegment, Segment: "employees"}, {Attribute: "role", Op: OpEquals, Value: "qa"},
		}}}},
		"mobile-latest": {Rules: []SegmentRule{{Conditions: []Condition{
			{Attribute: "platform", Op: OpIn, Values: []any{"ios", "android"}},
			{Attribute: "app_version", Op: OpSemverGT, Value: "5.0.0"},
		}}}},
	}
}

// typedVariants returns two or three variants of a random type.
func typedVariants(rng *rand.Rand) (Type, map[string]any, []string) {
	switch rng.IntN(4) {
	case 0:
		return TypeString, map[string]any{"control": "classic", "treatment": "compact", "alt": "dense"}, []string{"control", "treatment", "alt"}
	case 1:
		return TypeInt, map[string]any{"low": int64(10), "high": int64(50)}, []string{"low", "high"}
	case 2:
		return TypeFloat, map[string]any{"off": 0.0, "some": 0.25}, []string{"off", "some"}
	}
	return TypeBool, map[string]any{"on": true, "off": false}, []string{"off", "on"}
}

func singleVariantFlag(rng *rand.Rand, i int) *Flag {
	typ, variants, names := typedVariants(rng)
	f := &Flag{Type: typ, Enabled: true, Variants: variants, Default: &Allocation{Variant: names[rng.IntN(len(names))]}}
	if i%7 == 0 {
		f.Enabled, f.OffVariant = false, names[0]
	}
	return f
}

func targetedFlag(rng *rand.Rand, segments []string) *Flag {
	typ, variants, names := typedVariants(rng)
	f := &Flag{Type: typ, Enabled: true, Variants: variants, Default: &Allocation{Variant: names[0]}}
	for r := range 1 + rng.IntN(3) {
		rule := Rule{ID: fmt.Sprintf("rule-%d", r), Serve: Allocation{Variant: names[1+rng.IntN(len(names)-1)]}}
		for range 1 + rng.IntN(2) {
			var c Condition
			switch rng.IntN(4) {
			case 0:
				k := 2 + rng.IntN(11)
				values := make([]any, k)
				for j, idx := range rng.Perm(len(realisticCountries))[:k] {
					values[j] = realisticCountries[idx]
				}
				c = Condition{Attribute: "country", Op: OpIn, Values: values}
			case 1:
				c = Condition{Attribute: "plan", Op: OpEquals, Value: []string{"free", "pro", "enterprise"}[rng.IntN(3)]}
			case 2:
				op := []Operator{OpSemverLT, OpSemverGT}[rng.IntN(2)]
				c = Condition{Attribute: "app_version", Op: op, Value: fmt.Sprintf("%d.%d.0", 3+rng.IntN(4), rng.IntN(10))}
			default:
				c = Condition{Op: OpInSegment, Segment: segments[rng.IntN(len(segments))]}
			}
			rule.Conditions = append(rule.Conditions, c)
		}
		f.Rules = append(f.Rules, rule)
	}
	return f
}

func splitRolloutFlag(rng *rand.Rand, i int) *Flag {
	typ, variants, names := typedVariants(rng)
	f := &Flag{Type: typ, Enabled: true, Variants: variants}
	weights := []uint32{10_000, 25_000, 50_000}
	if len(names) == 3 {
		w := uint32(33_333)
		f.Default = &Allocation{Split: []WeightedVariant{{Variant: names[1], Weight: w}, {Variant: names[2], Weight: w}, {Variant: names[0], Weight: TotalBuckets - 2*w}}}
	} else {
		w := weights[rng.IntN(len(weights))]
		f.Default = &Allocation{Split: []WeightedVariant{{Variant: names[1], Weight: w}, {Variant: names[0], Weight: TotalBuckets - w}}}
	}
	if i%3 == 0 {
		f.BucketBy = "account_id"
	}
	switch rng.IntN(3) {
	case 0: // employees first
		f.Rules = []Rule{{ID: "staff", Conditions: []Condition{{Op: OpInSegment, Segment: "employees"}}, Serve: Allocation{Variant: names[1]}}}
	case 1: // a rollout's managed block: holdout, then a ring
		meta := func(arm string) map[string]string {
			return map[string]string{"rollout": fmt.Sprintf("ro-%03d", i), "stage": "ring-5", "arm": arm}
		}
		f.Rules = []Rule{
			{ID: "holdout", Conditions: []Condition{{Bucket: &BucketRange{From: 95_000, To: TotalBuckets}}}, Serve: Allocation{Variant: names[0]}, Metadata: meta("holdout")},
			{ID: "ring", Conditions: []Condition{{Bucket: &BucketRange{From: 0, To: 4_750}}}, Serve: Allocation{Variant: names[1]}, Metadata: meta("treatment")},
		}
	}
	return f
}

func aiConfigFlag(rng *rand.Rand, i int) *Flag {
	models := []string{"gpt-small", "gpt-large", "claude-fast", "llama-70b"}
	cfg := func(model string, prompt int) map[string]any {
		return map[string]any{"model": model, "prompt_version": fmt.Sprintf("v%d", prompt),
			"temperature": float64(rng.IntN(8)) / 10, "max_tokens": float64(int(256) << rng.IntN(4)),
			"stop": []any{"\n\n"}, "safety": map[string]any{"filter": "strict", "pii_redaction": true}}
	}
	p := 1 + rng.IntN(5)
	return &Flag{
		Type: TypeJSON, Enabled: true, Description: "AI configuration",
		Variants: map[string]any{
			"baseline":  cfg(models[rng.IntN(len(models))], p),
			"candidate": cfg(models[rng.IntN(len(models))], p+1),
		},
		OffVariant: "baseline",
		Rules: []Rule{
			{ID: "beta", Conditions: []Condition{{Op: OpInSegment, Segment: "beta-testers"}}, Serve: Allocation{Variant: "candidate"}},
			{ID: "ring-10", Conditions: []Condition{{Bucket: &BucketRange{From: 0, To: 10_000}}}, Serve: Allocation{Variant: "candidate"},
				Metadata: map[string]string{"rollout": fmt.Sprintf("ai-%03d", i), "stage": "ring-10", "arm": "treatment"}},
		},
		Default: &Allocation{Variant: "baseline"},
	}
}

// realisticContexts are n users with every attribute the realistic set tests.
func realisticContexts(n int) []Context {
	rng := rand.New(rand.NewPCG(7, 11))
	plans := []string{"free", "pro", "enterprise", "business"}
	roles := []string{"user", "user", "user", "staff", "qa"}
	platforms := []string{"web", "ios", "android"}
	domains := []string{"example.com", "acme.com", "beta.example.com", "mail.test"}
	ctxs := make([]Context, n)
	for i := range ctxs {
		key := fmt.Sprintf("user-%08x", i*97)
		ctxs[i] = Context{Key: key, Attributes: map[string]any{
			"country":     realisticCountries[rng.IntN(len(realisticCountries))],
			"plan":        plans[rng.IntN(len(plans))],
			"role":        roles[rng.IntN(len(roles))],
			"platform":    platforms[rng.IntN(len(platforms))],
			"app_version": fmt.Sprintf("%d.%d.%d", 3+rng.IntN(5), rng.IntN(10), rng.IntN(20)),
			"email":       fmt.Sprintf("%s@%s", key, domains[rng.IntN(len(domains))]),
			"account_id":  fmt.Sprintf("acct-%05d", rng.IntN(5000)),
		}}
	}
	return ctxs
}

const realisticPath = "testdata/realistic-200.json"

// TestRealisticSetMatchesTestdata keeps testdata/realistic-200.json equal to the
// generator's output (go test ./flags/ -run TestRealisticSet -update rewrites it), so
// other packages can load the same snapshot.
func TestRealisticSetMatchesTestdata(t *testing.T) {
	set := realisticSet(200, 1)
	if err := Validate(set); err != nil {
		t.Fatalf("the generator made an invalid set: %v", err)
	}
	want, err := json.MarshalIndent(set, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	want = append(want, '\n')
	if *update {
		if err := os.MkdirAll(filepath.Dir(realisticPath), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(realisticPath, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(realisticPath)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the generator's output; run go test ./flags/ -run TestRealisticSet -update", realisticPath)
	}
	decoded, err := DecodeSet(got)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(set, decoded, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("decoding %s (-generated +decoded):\n%s", realisticPath, diff)
	}
}

// TestRealisticSetHasTheDocumentedMix checks the generator against CLARIFICATIONS §12.
func TestRealisticSetHasTheDocumentedMix(t *testing.T) {
	set := realisticSet(200, 1)
	var single, targeted, split, jsonFlags int
	ops := map[Operator]bool{}
	for _, f := range set.Flags {
		for _, r := range f.Rules {
			for _, c := range r.Conditions {
				ops[c.Op] = true
			}
		}
		switch {
		case f.Type == TypeJSON:
			jsonFlags++
		case f.Default != nil && len(f.Default.Split) > 0:
			split++
		case len(f.Rules) > 0:
			targeted++
			if len(f.Rules) > 3 {
				t.Errorf("a targeted flag has %d rules, want 1 to 3", len(f.Rules))
			}
		default:
			single++
		}
	}
	if diff := cmp.Diff([4]int{60, 80, 40, 20}, [4]int{single, targeted, split, jsonFlags}); diff != "" {
		t.Errorf("single-variant, targeted, split, json counts (-want +got):\n%s", diff)
	}
	for _, op := range []Operator{OpIn, OpEquals, OpSemverLT, OpSemverGT, OpInSegment} {
		if !ops[op] {
			t.Errorf("no rule uses %s", op)
		}
	}
}

// TestRealisticSetServesEveryFlag evaluates every flag for many users: no errors,
// and every reason of a healthy set shows up.
func TestRealisticSetServesEveryFlag(t *testing.T) {
	snap := mustCompile(t, realisticSet(200, 1))
	reasons := map[Reason]int{}
	for _, ctx := range realisticContexts(500) {
		for _, key := range snap.Keys() {
			r := snap.Evaluate(key, ctx)
			if r.ErrorCode != ErrNone {
				t.Fatalf("%s for %s: %v %s", key, ctx.Key, r.ErrorCode, r.ErrorMessage)
			}
			reasons[r.Reason]++
		}
	}
	for _, want := range []Reason{ReasonStatic, ReasonTargetingMatch, ReasonSplit, ReasonDefault, ReasonDisabled} {
		if reasons[want] == 0 {
			t.Errorf("no evaluation had reason %v; got %v", want, reasons)
		}
	}
}

// BenchmarkEvaluateAllFlags is benchmark (b): all 200 flags of the realistic set for
// one context per op, contexts rotating over 1 000 users.
func BenchmarkEvaluateAllFlags(b *testing.B) {
	snap := mustCompile(b, realisticSet(200, 1))
	keys := snap.Keys()
	ctxs := realisticContexts(1000)
	b.ReportAllocs()
	i, served := 0, 0
	for b.Loop() {
		ctx := ctxs[i]
		for _, key := range keys {
			if r := snap.Evaluate(key, ctx); r.Variant != "" {
				served++
			}
		}
		if i++; i == len(ctxs) {
			i = 0
		}
	}
	if served == 0 {
		b.Fatal("no flag served a variant")
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(keys)), "ns/flag")
}

// BenchmarkDecodeAndCompileRealisticSet is what applying a change costs a server or an
// SDK: decoding, validating and compiling testdata/realistic-200.json.
func BenchmarkDecodeAndCompileRealisticSet(b *testing.B) {
	data, err := os.ReadFile(realisticPath)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		set, err := DecodeSet(data)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := Compile(set); err != nil {
			b.Fatal(err)
		}
	}
}
