package conformance

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/cucumber/godog"
	"github.com/open-feature/go-sdk/openfeature"
	"github.com/open-feature/go-sdk/openfeature/isolated"
)

// suite is one run of the upstream scenarios through one OpenFeature provider. The
// same step definitions serve every provider: the upstream OFREP provider today,
// ramp's own provider (sdk/openfeature) when it lands, with its own tags and count.
type suite struct {
	// tags selects scenarios, in godog's syntax: "~@a && ~@b" (godog v0.16 silently
	// selects nothing for "not @a").
	tags string
	// scenarios is how many scenarios the tags must select; the test fails on any
	// other number, so a changed feature file or tag expression cannot quietly shrink
	// the suite.
	scenarios int
	// newProvider returns a fresh provider, ready to be set, for every scenario's
	// "Given a stable provider".
	newProvider func() (openfeature.FeatureProvider, error)
	// providerIn, when set, returns a provider that will be in the given state
	// ("not ready", "fatal", "error", "stale") for the @provider-status scenarios.
	providerIn func(state string) (openfeature.FeatureProvider, error)
	// reach, when set, is called after a providerIn provider is set and waits until
	// the client reports the state the scenario expects (initialisation and stream
	// loss are asynchronous).
	reach func(ctx context.Context, state string, client *openfeature.Client) error
	// skip names the scenarios this provider is known to fail for a reason outside
	// ramp, with the reason; they run as godog.ErrSkip and are counted apart. It
	// receives the scenario's name and its steps' text.
	skip func(name string, steps []string) string
	// wantSkipped is how many scenarios skip must select.
	wantSkipped int
	// metadataNumbersAreFloat64 accepts a whole float64 for Integer metadata. OFREP
	// carries metadata as JSON, which has one number type; a provider that decodes
	// it with encoding/json into map[string]any (like the upstream OFREP provider
	// v0.1.7) hands back float64(2) for 2. The value must still be whole.
	metadataNumbersAreFloat64 bool
}

// tally counts the scenarios a run executed, by outcome.
type tally struct {
	started, passed, skipped, failed int
	failures                         []string
}

// run executes the suite's scenarios from dir and checks the counts.
func (s suite) run(t *testing.T, dir string) {
	t.Helper()
	opts := godog.Options{
		Format:   "progress",
		Output:   os.Stdout,
		NoColors: true,
		Paths: []string{
			filepath.Join(dir, "evaluation_v2.feature"),
			filepath.Join(dir, "metadata.feature"),
		},
		Tags:     s.tags,
		Strict:   true, // an undefined or pending step fails the scenario
		TestingT: t,
	}

	// Count the selected scenarios before running them: a wrong tag expression
	// selects nothing and "passes".
	features, err := godog.TestSuite{Options: &opts}.RetrieveFeatures()
	if err != nil {
		t.Fatalf("parse the features: %v", err)
	}
	selected := 0
	for _, f := range features {
		selected += len(f.Pickles)
	}
	if selected != s.scenarios {
		t.Fatalf("the tags %q select %d scenarios, want %d", s.tags, selected, s.scenarios)
	}

	api := isolated.NewAPI()
	t.Cleanup(func() { _ = api.Shutdown(context.Background()) })
	var n tally
	initialized := 0
	status := godog.TestSuite{
		Name: "openfeature",
		ScenarioInitializer: func(sc *godog.ScenarioContext) {
			// Called once per scenario: st is that scenario's state.
			initialized++
			st := &scenarioState{suite: &s, api: api, domain: fmt.Sprintf("scenario-%d", initialized)}
			sc.Before(func(ctx context.Context, p *godog.Scenario) (context.Context, error) {
				n.started++
				steps := make([]string, len(p.Steps))
				for i, step := range p.Steps {
					steps[i] = step.Text
				}
				if s.skip != nil {
					st.skipReason = s.skip(p.Name, steps)
				}
				return ctx, nil
			})
			sc.After(func(ctx context.Context, p *godog.Scenario, err error) (context.Context, error) {
				switch {
				case err != nil && !errors.Is(err, godog.ErrSkip):
					n.failed++
					n.failures = append(n.failures, fmt.Sprintf("%s (%s): %v", p.Name, p.Uri, err))
				case st.skipReason != "":
					n.skipped++
				default:
					n.passed++
				}
				return ctx, nil
			})
			st.register(sc)
		},
		Options: &opts,
	}.Run()

	t.Logf("OpenFeature scenarios: %d run, %d passed, %d skipped, %d failed", n.started, n.passed, n.skipped, n.failed)
	for _, f := range n.failures {
		t.Errorf("failed: %s", f)
	}
	if status != 0 {
		t.Errorf("godog exited with status %d", status)
	}
	if n.started != s.scenarios || n.passed+n.skipped+n.failed != s.scenarios {
		t.Errorf("%d scenarios started and %d finished, want %d", n.started, n.passed+n.skipped+n.failed, s.scenarios)
	}
	if n.skipped != s.wantSkipped {
		t.Errorf("%d scenarios skipped, want %d", n.skipped, s.wantSkipped)
	}
}

// scenarioState is what one scenario's steps share.
type scenarioState struct {
	suite      *suite
	api        *openfeature.EvaluationAPI
	domain     string
	client     *openfeature.Client
	skipReason string

	flagType string // Boolean, String, Integer, Float or Object
	flagKey  string
	fallback any
	attrs    map[string]any

	evaluated bool
	details   openfeature.InterfaceEvaluationDetails
	evalErr   error
}

// quoted matches a Gherkin string argument, in which the suites escape quotes as \"
// (a table cell keeps the backslash, so Object values arrive as {\"a\": 1}).
const quoted = `"((?:[^"\\]|\\.)*)"`

func unquote(s string) string { return strings.ReplaceAll(s, `\"`, `"`) }

func (st *scenarioState) register(sc *godog.ScenarioContext) {
	sc.Step(`^a stable provider$`, st.aStableProvider)
	sc.Step(`^a (not ready|fatal|error|stale) provider$`, st.aProviderIn)
	sc.Step(`^the provider status should be "([^"]*)"$`, st.theProviderStatusShouldBe)
	sc.Step(`^a (Boolean|String|Integer|Float|Object)-flag with key "([^"]*)" and a fallback value `+quoted+`$`, st.aFlag)
	sc.Step(`^a context containing a key "([^"]*)", with type "([^"]*)" and with value `+quoted+`$`, st.aContextValue)
	sc.Step(`^a context containing a key "([^"]*)" with null value$`, st.aContextNull)
	sc.Step(`^the flag was evaluated with details$`, st.evaluate)
	sc.Step(`^the resolved details value should be `+quoted+`$`, st.theValueShouldBe)
	sc.Step(`^the reason should be "([^"]*)"$`, st.theReasonShouldBe)
	sc.Step(`^the error-code should be "([^"]*)"$`, st.theErrorCodeShouldBe)
	sc.Step(`^the flag key should be "([^"]*)"$`, st.theFlagKeyShouldBe)
	sc.Step(`^the variant should be "([^"]*)"$`, st.theVariantShouldBe)
	sc.Step(`^the resolved metadata should contain$`, st.theMetadataShouldContain)
	sc.Step(`^the resolved metadata is empty$`, st.theMetadataIsEmpty)
}

// --- providers

func (st *scenarioState) aStableProvider(ctx context.Context) error {
	if st.skipReason != "" {
		godog.Logf(ctx, "skipped: %s", st.skipReason)
		return godog.ErrSkip
	}
	p, err := st.suite.newProvider()
	if err != nil {
		return fmt.Errorf("create the provider: %w", err)
	}
	return st.setProvider(ctx, p)
}

func (st *scenarioState) setProvider(ctx context.Context, p openfeature.FeatureProvider) error {
	// Each scenario binds its provider to a domain of its own in the suite's isolated
	// API, so no scenario sees another's provider or state.
	err := st.api.SetProviderAndWait(ctx, p, openfeature.WithDomain(st.domain))
	st.client = st.api.NewClient(openfeature.WithDomain(st.domain))
	return err
}

func (st *scenarioState) aProviderIn(ctx context.Context, state string) error {
	if st.suite.providerIn == nil {
		return fmt.Errorf("this suite cannot put its provider in state %q; exclude @provider-status", state)
	}
	p, err := st.suite.providerIn(state)
	if err != nil {
		return fmt.Errorf("create a %s provider: %w", state, err)
	}
	// Initialisation is expected to fail (error, fatal) or not to finish (not ready).
	_ = st.api.SetProvider(ctx, p, openfeature.WithDomain(st.domain))
	st.client = st.api.NewClient(openfeature.WithDomain(st.domain))
	if st.suite.reach != nil {
		return st.suite.reach(ctx, state, st.client)
	}
	return nil
}

func (st *scenarioState) theProviderStatusShouldBe(want string) error {
	if st.client == nil {
		return errors.New("no provider was set")
	}
	if got := string(st.client.State()); got != want {
		return fmt.Errorf("provider status %s, want %s", got, want)
	}
	return nil
}

// --- flags and contexts

func (st *scenarioState) aFlag(typ, key, fallback string) error {
	v, err := parseTyped(typ, unquote(fallback))
	if err != nil {
		return fmt.Errorf("fallback value: %w", err)
	}
	st.flagType, st.flagKey, st.fallback = typ, key, v
	return nil
}

// parseTyped reads a Gherkin value as the given OpenFeature type.
func parseTyped(typ, s string) (any, error) {
	switch typ {
	case "Boolean":
		return strconv.ParseBool(s)
	case "String":
		return s, nil
	case "Integer":
		return strconv.ParseInt(s, 10, 64)
	case "Float":
		return strconv.ParseFloat(s, 64)
	case "Object":
		var v any
		if err := json.Unmarshal([]byte(s), &v); err != nil {
			return nil, fmt.Errorf("object %q: %w", s, err)
		}
		return v, nil
	}
	return nil, fmt.Errorf("unknown type %q", typ)
}

func (st *scenarioState) aContextValue(key, typ, value string) error {
	v, err := parseTyped(typ, unquote(value))
	if err != nil {
		return fmt.Errorf("context value %q: %w", key, err)
	}
	st.setAttr(key, v)
	return nil
}

func (st *scenarioState) aContextNull(key string) error {
	st.setAttr(key, nil)
	return nil
}

func (st *scenarioState) setAttr(key string, v any) {
	if st.attrs == nil {
		st.attrs = map[string]any{}
	}
	st.attrs[key] = v
}

// --- evaluation

func (st *scenarioState) evaluate(ctx context.Context) error {
	if st.client == nil {
		return errors.New("no provider was set")
	}
	if st.flagType == "" {
		return errors.New("no flag was given")
	}
	evalCtx := openfeature.NewTargetlessEvaluationContext(st.attrs)
	if tk, ok := st.attrs[openfeature.TargetingKey].(string); ok {
		attrs := make(map[string]any, len(st.attrs))
		for k, v := range st.attrs {
			if k != openfeature.TargetingKey {
				attrs[k] = v
			}
		}
		evalCtx = openfeature.NewEvaluationContext(tk, attrs)
	}
	var d openfeature.InterfaceEvaluationDetails
	var err error
	switch st.flagType {
	case "Boolean":
		var r openfeature.BooleanEvaluationDetails
		r, err = st.client.BooleanValueDetails(ctx, st.flagKey, st.fallback.(bool), evalCtx)
		d = openfeature.InterfaceEvaluationDetails{Value: r.Value, EvaluationDetails: r.EvaluationDetails}
	case "String":
		var r openfeature.StringEvaluationDetails
		r, err = st.client.StringValueDetails(ctx, st.flagKey, st.fallback.(string), evalCtx)
		d = openfeature.InterfaceEvaluationDetails{Value: r.Value, EvaluationDetails: r.EvaluationDetails}
	case "Integer":
		var r openfeature.IntEvaluationDetails
		r, err = st.client.IntValueDetails(ctx, st.flagKey, st.fallback.(int64), evalCtx)
		d = openfeature.InterfaceEvaluationDetails{Value: r.Value, EvaluationDetails: r.EvaluationDetails}
	case "Float":
		var r openfeature.FloatEvaluationDetails
		r, err = st.client.FloatValueDetails(ctx, st.flagKey, st.fallback.(float64), evalCtx)
		d = openfeature.InterfaceEvaluationDetails{Value: r.Value, EvaluationDetails: r.EvaluationDetails}
	case "Object":
		d, err = st.client.ObjectValueDetails(ctx, st.flagKey, st.fallback, evalCtx)
	}
	st.details, st.evalErr, st.evaluated = d, err, true
	// An error is part of the outcome (the details carry its code); the Then steps
	// decide whether it was expected. Log it so that a failure explains itself.
	if err != nil {
		godog.Logf(ctx, "evaluation of %s %q returned: %v", st.flagType, st.flagKey, err)
	}
	return nil
}

func (st *scenarioState) result() (openfeature.InterfaceEvaluationDetails, error) {
	if !st.evaluated {
		return st.details, errors.New("the flag was not evaluated")
	}
	return st.details, nil
}

// describe summarises the details for failure messages.
func describe(d openfeature.InterfaceEvaluationDetails) string {
	return fmt.Sprintf("{value %#v, variant %q, reason %s, error code %q (%s), metadata %v}",
		d.Value, d.Variant, d.Reason, d.ErrorCode, d.ErrorMessage, d.FlagMetadata)
}

func (st *scenarioState) theValueShouldBe(want string) error {
	d, err := st.result()
	if err != nil {
		return err
	}
	w, err := parseTyped(st.flagType, unquote(want))
	if err != nil {
		return fmt.Errorf("expected value: %w", err)
	}
	if st.flagType == "Object" {
		// Compare as JSON: a provider may return any Go representation of the object.
		b, err := json.Marshal(d.Value)
		if err != nil {
			return fmt.Errorf("value %#v is not JSON: %w", d.Value, err)
		}
		var got any
		if err := json.Unmarshal(b, &got); err != nil {
			return err
		}
		if !reflect.DeepEqual(got, w) {
			return fmt.Errorf("value %s, want %s; details %s", b, unquote(want), describe(d))
		}
		return nil
	}
	if d.Value != w {
		return fmt.Errorf("value %#v, want %#v; details %s", d.Value, w, describe(d))
	}
	return nil
}

func (st *scenarioState) theReasonShouldBe(want string) error {
	d, err := st.result()
	if err != nil {
		return err
	}
	if string(d.Reason) != want {
		return fmt.Errorf("reason %q, want %q; details %s", d.Reason, want, describe(d))
	}
	return nil
}

func (st *scenarioState) theErrorCodeShouldBe(want string) error {
	d, err := st.result()
	if err != nil {
		return err
	}
	if string(d.ErrorCode) != want {
		return fmt.Errorf("error code %q, want %q; details %s", d.ErrorCode, want, describe(d))
	}
	return nil
}

func (st *scenarioState) theFlagKeyShouldBe(want string) error {
	d, err := st.result()
	if err != nil {
		return err
	}
	if d.FlagKey != want {
		return fmt.Errorf("flag key %q, want %q", d.FlagKey, want)
	}
	return nil
}

func (st *scenarioState) theVariantShouldBe(want string) error {
	d, err := st.result()
	if err != nil {
		return err
	}
	if d.Variant != want {
		return fmt.Errorf("variant %q, want %q; details %s", d.Variant, want, describe(d))
	}
	return nil
}

func (st *scenarioState) theMetadataIsEmpty() error {
	d, err := st.result()
	if err != nil {
		return err
	}
	if len(d.FlagMetadata) != 0 {
		return fmt.Errorf("metadata %v, want none", d.FlagMetadata)
	}
	return nil
}

// theMetadataShouldContain checks a table of key, metadata_type and value rows, with
// the typed getters of openfeature.FlagMetadata.
func (st *scenarioState) theMetadataShouldContain(table *godog.Table) error {
	d, err := st.result()
	if err != nil {
		return err
	}
	if len(table.Rows) < 2 {
		return errors.New("the metadata table has no rows")
	}
	col := map[string]int{}
	for i, c := range table.Rows[0].Cells {
		col[c.Value] = i
	}
	for _, name := range []string{"key", "metadata_type", "value"} {
		if _, ok := col[name]; !ok {
			return fmt.Errorf("the metadata table has no %q column", name)
		}
	}
	var problems []string
	for _, row := range table.Rows[1:] {
		key := row.Cells[col["key"]].Value
		typ := row.Cells[col["metadata_type"]].Value
		want := row.Cells[col["value"]].Value
		if err := st.checkMetadata(d.FlagMetadata, key, typ, want); err != nil {
			problems = append(problems, err.Error())
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("metadata %v:\n%s", d.FlagMetadata, strings.Join(problems, "\n"))
	}
	return nil
}

func (st *scenarioState) checkMetadata(md openfeature.FlagMetadata, key, typ, want string) error {
	w, err := parseTyped(typ, want)
	if err != nil {
		return fmt.Errorf("%s: expected value: %w", key, err)
	}
	var got any
	switch typ {
	case "Boolean":
		got, err = md.GetBool(key)
	case "String":
		got, err = md.GetString(key)
	case "Float":
		got, err = md.GetFloat(key)
	case "Integer":
		got, err = md.GetInt(key)
		if f, ok := md[key].(float64); err != nil && ok && st.suite.metadataNumbersAreFloat64 {
			if f != math.Trunc(f) || math.Abs(f) > 1<<53 {
				return fmt.Errorf("%s: %v is not an integer", key, f)
			}
			got, err = int64(f), nil
		}
	default:
		return fmt.Errorf("%s: unknown metadata type %q", key, typ)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", key, err)
	}
	if got != w {
		return fmt.Errorf("%s: %#v, want %#v", key, got, w)
	}
	return nil
}

// scenarioIs reports whether a scenario is the named one with a step matching re.
func scenarioIs(name string, steps []string, wantName string, re *regexp.Regexp) bool {
	if name != wantName {
		return false
	}
	for _, s := range steps {
		if re.MatchString(s) {
			return true
		}
	}
	return false
}
