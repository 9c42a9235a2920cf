package conformance

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/ramp-release/ramp/internal/server"
	"github.com/ramp-release/ramp/internal/store/sqlite"
)

// gherkinDir finds the upstream scenarios: OPENFEATURE_GHERKIN_DIR when set, else
// ../shared/openfeature/spec-6fd4d54a beside the repository's top level. Missing, the
// test skips locally and fails in CI (CI=true), where ../shared is always present.
func gherkinDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("OPENFEATURE_GHERKIN_DIR")
	if dir == "" {
		top, err := exec.Command("git", "rev-parse", "--show-toplevel").Output()
		if err == nil {
			dir = filepath.Join(strings.TrimSpace(string(top)), "..", "shared", "openfeature", "spec-6fd4d54a")
		} else {
			// Not a git checkout (e.g. an exported tree): conformance/ is one level
			// below the top level.
			dir = filepath.Join("..", "..", "shared", "openfeature", "spec-6fd4d54a")
		}
	}
	for _, f := range []string{"evaluation_v2.feature", "metadata.feature", "test-flags.json"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			msg := fmt.Sprintf("the OpenFeature Gherkin suites are missing (%v); put them in %s or set OPENFEATURE_GHERKIN_DIR", err, dir)
			if os.Getenv("CI") == "true" {
				t.Fatal(msg)
			}
			t.Skip(msg)
		}
	}
	return dir
}

// rampServer is a real ramp server on loopback, with one environment and a server
// SDK key for it.
type rampServer struct {
	URL        string // base URL, e.g. http://127.0.0.1:41234
	SDKKey     string // a server SDK key of environment "conformance"
	adminToken string
}

const environment = "conformance"

// startRamp starts ramp in-process on an embedded SQLite store in a temporary
// directory, as `ramp serve` does, and creates the environment and the SDK key the
// providers use. Everything goes through the admin API with the bootstrap token.
func startRamp(t *testing.T) *rampServer {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "ramp.db"))
	if err != nil {
		t.Fatalf("open the store: %v", err)
	}
	srv := server.New(st, nil, server.Config{})
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		srv.Close()
		hs.Close()
		if err := st.Close(); err != nil {
			t.Errorf("close the store: %v", err)
		}
	})
	token, err := srv.Bootstrap(ctx)
	if err != nil || token == "" {
		t.Fatalf("bootstrap the admin token: %q, %v", token, err)
	}
	rs := &rampServer{URL: hs.URL, adminToken: token}
	rs.admin(t, "POST", "/api/v1/environments", map[string]any{"key": environment}, http.StatusCreated, nil)
	var key struct {
		Secret string `json:"secret"`
	}
	rs.admin(t, "POST", "/api/v1/environments/"+environment+"/sdk-keys",
		map[string]any{"name": "conformance", "kind": "server"}, http.StatusCreated, &key)
	if key.Secret == "" {
		t.Fatal("POST sdk-keys returned no secret")
	}
	rs.SDKKey = key.Secret
	return rs
}

// admin calls the admin API and fails the test unless the status is want; out, when
// not nil, receives the JSON response.
func (rs *rampServer) admin(t *testing.T, method, path string, body any, want int, out any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatalf("%s %s: encode the body: %v", method, path, err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, rs.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+rs.adminToken)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Ramp-Reason", "OpenFeature conformance test data")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read the response: %v", method, path, err)
	}
	if resp.StatusCode != want {
		b, _ := json.Marshal(body)
		t.Fatalf("%s %s %s: status %d, want %d: %s", method, path, b, resp.StatusCode, want, data)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s: decode %s: %v", method, path, data, err)
		}
	}
}

// seedFlags creates every flag of test-flags.json through the admin API and checks
// that the environment then lists exactly those flags.
func (rs *rampServer) seedFlags(t *testing.T, path string) {
	t.Helper()
	docs, err := loadTestFlags(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range docs {
		rs.admin(t, "POST", "/api/v1/flags", d, http.StatusCreated, nil)
	}
	var listed struct {
		Items []struct {
			Key string `json:"key"`
		} `json:"items"`
	}
	rs.admin(t, "GET", "/api/v1/environments/"+environment+"/flags?limit=1000", nil, http.StatusOK, &listed)
	if len(listed.Items) != len(docs) {
		t.Fatalf("the environment lists %d flags after seeding %d", len(listed.Items), len(docs))
	}
}

// --- test-flags.json → ramp flag documents

// upstreamFlag is one flag of test-flags.json (the flagd-like format of the
// OpenFeature test assets). Unknown fields are rejected so that a new kind of test
// data fails loudly here instead of being silently ignored.
type upstreamFlag struct {
	Variants         map[string]any `json:"variants"`
	DefaultVariant   *string        `json:"defaultVariant"`
	Disabled         bool           `json:"disabled"`
	FlagMetadata     map[string]any `json:"flagMetadata"`
	ContextEvaluator string         `json:"contextEvaluator"`
}

// flagDoc is ramp's flag document as POST /api/v1/flags takes it. It is written out
// here rather than borrowed from package flags so that this test sees the wire format
// the way any API client does.
type flagDoc struct {
	Key      string         `json:"key"`
	Type     string         `json:"type"`
	Variants map[string]any `json:"variants"`
	Enabled  bool           `json:"enabled"`
	Default  *allocation    `json:"default,omitempty"`
	Rules    []rule         `json:"rules,omitempty"`
	Metadata map[string]any `json:"metadata,omitempty"`
}

type allocation struct {
	Variant string `json:"variant"`
}

type rule struct {
	Description string      `json:"description,omitempty"`
	Conditions  []condition `json:"conditions"`
	Serve       allocation  `json:"serve"`
}

type condition struct {
	Attribute string `json:"attribute"`
	Op        string `json:"op"`
	Value     any    `json:"value"`
}

// loadTestFlags reads test-flags.json and turns every flag into a ramp flag document,
// sorted by key.
func loadTestFlags(path string) ([]flagDoc, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	// Numbers stay json.Number: their literal tells 0.0 (a float) from 0 (an integer),
	// and re-encoding one writes the same literal.
	dec.UseNumber()
	dec.DisallowUnknownFields()
	var in map[string]upstreamFlag
	if err := dec.Decode(&in); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	docs := make([]flagDoc, 0, len(in))
	for key, f := range in {
		d, err := translateFlag(key, f)
		if err != nil {
			return nil, fmt.Errorf("%s: flag %q: %w", path, key, err)
		}
		docs = append(docs, d)
	}
	sort.Slice(docs, func(i, j int) bool { return docs[i].Key < docs[j].Key })
	return docs, nil
}

func translateFlag(key string, f upstreamFlag) (flagDoc, error) {
	typ, err := inferType(key, f.Variants)
	if err != nil {
		return flagDoc{}, err
	}
	d := flagDoc{
		Key:      key,
		Type:     typ,
		Variants: f.Variants,
		Enabled:  !f.Disabled,
		// "flagMetadata": null stays absent: a flag carries only the metadata it defines.
		Metadata: f.FlagMetadata,
	}
	// "defaultVariant": null (null-default-flag) or no defaultVariant at all
	// (undefined-default-flag): no default allocation, so ramp tells the caller to use
	// its own default.
	if f.DefaultVariant != nil {
		d.Default = &allocation{Variant: *f.DefaultVariant}
	}
	if f.ContextEvaluator != "" {
		r, err := translateCEL(f.ContextEvaluator)
		if err != nil {
			return flagDoc{}, err
		}
		if _, ok := f.Variants[r.Serve.Variant]; !ok {
			return flagDoc{}, fmt.Errorf("contextEvaluator %q serves %q, which is not a variant", f.ContextEvaluator, r.Serve.Variant)
		}
		d.Rules = []rule{r}
	}
	return d, nil
}

// inferType gives a flag the ramp type its variant values have: bool, string, json
// (objects and arrays) or a number type. Numbers are int only when every literal is
// written as a whole number and the key does not say otherwise: float-zero-flag's
// variants 0.0 and 1.0 are whole, but the flag is a float flag (its literals have a
// point, and the scenarios evaluate it with the Float API).
func inferType(key string, variants map[string]any) (string, error) {
	if len(variants) == 0 {
		return "", fmt.Errorf("no variants")
	}
	kinds := map[string]bool{}
	float := strings.HasPrefix(key, "float-")
	for name, v := range variants {
		switch x := v.(type) {
		case bool:
			kinds["bool"] = true
		case string:
			kinds["string"] = true
		case map[string]any, []any:
			kinds["json"] = true
		case json.Number:
			kinds["number"] = true
			if strings.ContainsAny(x.String(), ".eE") {
				float = true
			} else if _, err := strconv.ParseInt(x.String(), 10, 64); err != nil {
				float = true
			}
		default:
			return "", fmt.Errorf("variant %q: cannot type %v (%T)", name, v, v)
		}
	}
	if len(kinds) != 1 {
		return "", fmt.Errorf("variants mix value types %v", kinds)
	}
	for k := range kinds {
		if k == "number" {
			if float {
				return "float", nil
			}
			return "int", nil
		}
		return k, nil
	}
	panic("unreachable")
}

// translateCEL turns the CEL targeting of test-flags.json into one ramp rule. The
// test data only uses the shape
//
//	TERM && TERM && ... ? 'variant' : ''
//
// where the empty variant name means "no targeting result: serve the default variant", and every TERM is
// one of
//
//	attr == literal    → {attribute, op: equals, value: literal}
//	attr > literal     → gt (likewise >=, <, <=: gte, lt, lte)
//	!attr              → {attribute, op: equals, value: false}
//	attr               → {attribute, op: equals, value: true}
//
// so the expression becomes one rule whose conditions must all hold, serving the
// variant (reason TARGETING_MATCH); otherwise the default serves (reason DEFAULT).
// The two languages agree on missing and null attributes: CEL fails to evaluate
// `email == '…'`, `age > 10` or `!customer` without the attribute (or with a value of
// another type) and the flag falls back to its default, and a ramp condition on a
// missing or null attribute never holds. `!customer` is `customer == false` exactly
// because CEL's `!` only accepts a bool. Anything else (||, !=, parentheses,
// functions) is rejected rather than guessed: extend this translator when the test
// data needs it.
func translateCEL(expr string) (rule, error) {
	m := celTernary.FindStringSubmatch(strings.TrimSpace(expr))
	if m == nil {
		return rule{}, fmt.Errorf("contextEvaluator %q: only `CONDITION ? 'variant' : ''` is translated", expr)
	}
	r := rule{Description: "CEL: " + expr, Serve: allocation{Variant: m[2]}}
	for _, term := range splitAnd(m[1]) {
		c, err := celTerm(term)
		if err != nil {
			return rule{}, fmt.Errorf("contextEvaluator %q: %w", expr, err)
		}
		r.Conditions = append(r.Conditions, c)
	}
	return r, nil
}

var (
	celTernary    = regexp.MustCompile(`^(.+?)\?\s*'([^']+)'\s*:\s*''$`)
	celIdent      = `[A-Za-z_][A-Za-z0-9_]*`
	celComparison = regexp.MustCompile(`^(` + celIdent + `)\s*(==|>=|<=|>|<)\s*(.+)$`)
	celNegation   = regexp.MustCompile(`^!\s*(` + celIdent + `)$`)
	celBare       = regexp.MustCompile(`^(` + celIdent + `)$`)
)

// splitAnd splits on && outside string literals.
func splitAnd(s string) []string {
	var terms []string
	var quote rune
	start := 0
	for i, r := range s {
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			}
		case r == '\'' || r == '"':
			quote = r
		case r == '&' && strings.HasPrefix(s[i:], "&&"):
			terms = append(terms, strings.TrimSpace(s[start:i]))
			start = i + 2
		}
	}
	return append(terms, strings.TrimSpace(s[start:]))
}

func celTerm(term string) (condition, error) {
	if m := celNegation.FindStringSubmatch(term); m != nil {
		return condition{Attribute: m[1], Op: "equals", Value: false}, nil
	}
	if m := celBare.FindStringSubmatch(term); m != nil && m[1] != "true" && m[1] != "false" {
		return condition{Attribute: m[1], Op: "equals", Value: true}, nil
	}
	m := celComparison.FindStringSubmatch(term)
	if m == nil {
		return condition{}, fmt.Errorf("term %q is not translated", term)
	}
	v, err := celLiteral(strings.TrimSpace(m[3]))
	if err != nil {
		return condition{}, fmt.Errorf("term %q: %w", term, err)
	}
	op := map[string]string{"==": "equals", ">": "gt", ">=": "gte", "<": "lt", "<=": "lte"}[m[2]]
	if op != "equals" {
		if _, ok := v.(json.Number); !ok {
			return condition{}, fmt.Errorf("term %q: %s needs a number", term, m[2])
		}
	}
	return condition{Attribute: m[1], Op: op, Value: v}, nil
}

func celLiteral(s string) (any, error) {
	switch {
	case len(s) >= 2 && (s[0] == '\'' || s[0] == '"') && s[len(s)-1] == s[0] && !strings.ContainsAny(s[1:len(s)-1], `\'"`):
		return s[1 : len(s)-1], nil
	case s == "true":
		return true, nil
	case s == "false":
		return false, nil
	}
	if _, err := strconv.ParseFloat(s, 64); err == nil {
		return json.Number(s), nil
	}
	return nil, fmt.Errorf("literal %s is not translated", s)
}

// decodeNumbers decodes JSON keeping numbers as json.Number.
func decodeNumbers(s string, v any) error {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	return dec.Decode(v)
}
