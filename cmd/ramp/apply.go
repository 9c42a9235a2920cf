package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"reflect"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	yaml "go.yaml.in/yaml/v3"

	"github.com/ramp-release/ramp/flags"
	"github.com/ramp-release/ramp/internal/rollout"
	"github.com/ramp-release/ramp/internal/store"
)

// configDoc is the declarative configuration of `ramp export` and `ramp apply`: what
// teams keep in git. Definitions are shared; states and segments are per environment.
type configDoc struct {
	Environments []envDoc                          `json:"environments"`
	Segments     map[string]map[string]*segmentDoc `json:"segments,omitempty"`
	Flags        map[string]*flagDoc               `json:"flags"`
	// Plans are the saved release plans, by name.
	Plans map[string]*rollout.Plan `json:"plans,omitempty"`
	// Metrics are the stored metric definitions, by key (built-ins need none).
	Metrics map[string]*store.MetricDefinition `json:"metrics,omitempty"`
}

type envDoc struct {
	Key         string `json:"key"`
	Name        string `json:"name,omitempty"`
	Description string `json:"description,omitempty"`
}

type segmentDoc struct {
	Description string              `json:"description,omitempty"`
	Included    []string            `json:"included,omitempty"`
	Excluded    []string            `json:"excluded,omitempty"`
	Rules       []flags.SegmentRule `json:"rules,omitempty"`
}

type flagDoc struct {
	Type         flags.Type           `json:"type"`
	Description  string               `json:"description,omitempty"`
	Variants     map[string]any       `json:"variants"`
	Salt         string               `json:"salt,omitempty"`
	BucketBy     string               `json:"bucket_by,omitempty"`
	Metadata     map[string]any       `json:"metadata,omitempty"`
	ClientSide   bool                 `json:"client_side,omitempty"`
	Tags         []string             `json:"tags,omitempty"`
	Environments map[string]*stateDoc `json:"environments,omitempty"`
}

type stateDoc struct {
	Enabled    bool              `json:"enabled"`
	OffVariant string            `json:"off_variant,omitempty"`
	Rules      []flags.Rule      `json:"rules,omitempty"`
	Default    *flags.Allocation `json:"default,omitempty"`
}

// yamlToJSON converts a YAML (or JSON, a subset of YAML) document to JSON so that one
// strict decoder checks both.
func yamlToJSON(data []byte) ([]byte, error) {
	var v any
	if err := yaml.Unmarshal(data, &v); err != nil {
		return nil, fmt.Errorf("not valid YAML or JSON: %w", err)
	}
	v, err := jsonCompatible(v, "")
	if err != nil {
		return nil, err
	}
	return json.Marshal(v)
}

func jsonCompatible(v any, path string) (any, error) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			c, err := jsonCompatible(e, path+"."+k)
			if err != nil {
				return nil, err
			}
			x[k] = c
		}
		return x, nil
	case map[any]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			ks, ok := k.(string)
			if !ok {
				ks = fmt.Sprint(k)
			}
			c, err := jsonCompatible(e, path+"."+ks)
			if err != nil {
				return nil, err
			}
			m[ks] = c
		}
		return m, nil
	case []any:
		for i, e := range x {
			c, err := jsonCompatible(e, fmt.Sprintf("%s[%d]", path, i))
			if err != nil {
				return nil, err
			}
			x[i] = c
		}
		return x, nil
	}
	return v, nil
}

// canonical turns any value into its JSON shape (maps, slices, float64) for comparison.
func canonical(v any) any {
	b, _ := json.Marshal(v)
	var out any
	_ = json.Unmarshal(b, &out)
	return out
}

func same(a, b any) bool { return reflect.DeepEqual(canonical(a), canonical(b)) }

// fetchConfig reads the server's whole configuration.
func fetchConfig(cmd *cobra.Command, c *apiClient) (*configDoc, map[string]map[string]int64, map[string]int64, map[string]map[string]int64, error) {
	ctx := cmd.Context()
	doc := &configDoc{Segments: map[string]map[string]*segmentDoc{}, Flags: map[string]*flagDoc{}}
	stateVersions := map[string]map[string]int64{} // flag → env → version
	defVersions := map[string]int64{}
	segVersions := map[string]map[string]int64{}
	var envs struct{ Items []envDoc }
	if _, err := c.do(ctx, "GET", "/api/v1/environments", nil, &envs, nil); err != nil {
		return nil, nil, nil, nil, err
	}
	doc.Environments = envs.Items
	for _, env := range envs.Items {
		type flagView struct {
			flags.Flag
			DefinitionVersion int64 `json:"definition_version"`
		}
		fs, err := listAll[flagView](cmd, c, "/api/v1/environments/"+url.PathEscape(env.Key)+"/flags")
		if err != nil {
			return nil, nil, nil, nil, err
		}
		for _, f := range fs {
			fd := doc.Flags[f.Key]
			if fd == nil {
				fd = &flagDoc{Type: f.Type, Description: f.Description, Variants: f.Variants, Salt: f.Salt, BucketBy: f.BucketBy,
					Metadata: f.Metadata, ClientSide: f.ClientSide, Tags: f.Tags, Environments: map[string]*stateDoc{}}
				doc.Flags[f.Key] = fd
				stateVersions[f.Key] = map[string]int64{}
				defVersions[f.Key] = f.DefinitionVersion
			}
			// A rollout's managed block is the rollout's, not configuration: it is
			// neither exported nor applied (the server keeps it on every update).
			rules := slices.DeleteFunc(slices.Clone(f.Rules), rollout.IsManaged)
			fd.Environments[env.Key] = &stateDoc{Enabled: f.Enabled, OffVariant: f.OffVariant, Rules: rules, Default: f.Default}
			stateVersions[f.Key][env.Key] = f.Version
		}
		type segView struct {
			flags.Segment
			Version int64 `json:"version"`
		}
		segs, err := listAll[segView](cmd, c, "/api/v1/environments/"+url.PathEscape(env.Key)+"/segments")
		if err != nil {
			return nil, nil, nil, nil, err
		}
		for _, s := range segs {
			if doc.Segments[env.Key] == nil {
				doc.Segments[env.Key] = map[string]*segmentDoc{}
				segVersions[env.Key] = map[string]int64{}
			}
			doc.Segments[env.Key][s.Key] = &segmentDoc{Description: s.Description, Included: s.Included, Excluded: s.Excluded, Rules: s.Rules}
			segVersions[env.Key][s.Key] = s.Version
		}
	}
	return doc, stateVersions, defVersions, segVersions, nil
}

func exportCommand(client clientFunc, opts *clientOptions) *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "export",
		Short: "Write the whole configuration (environments, segments, flags, plans) as YAML",
		Long:  "Write the server's configuration as declarative YAML, to keep in git and feed back to 'ramp apply'.",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := client()
			if err != nil {
				return err
			}
			doc, _, _, _, err := fetchConfig(cmd, c)
			if err != nil {
				return err
			}
			if doc.Plans, _, err = fetchPlans(cmd, c); err != nil {
				return err
			}
			data, err := encodeYAML(doc)
			if err != nil {
				return err
			}
			if out == "" || out == "-" {
				_, err = cmd.OutOrStdout().Write(data)
				return err
			}
			return os.WriteFile(out, data, 0o644)
		},
	}
	cmd.Flags().StringVarP(&out, "file", "f", "", "write to this file instead of stdout")
	return cmd
}

// encodeYAML writes doc as YAML with the JSON field names.
func encodeYAML(doc *configDoc) ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteString("# ramp configuration: apply with `ramp apply -f FILE`\n")
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(canonical(doc)); err != nil {
		return nil, err
	}
	return buf.Bytes(), enc.Close()
}

// step is one change apply makes.
type step struct {
	describe string
	run      func(ctx context.Context) error
}

func applyCommand(client clientFunc, opts *clientOptions) *cobra.Command {
	var file string
	var dryRun, prune bool
	cmd := &cobra.Command{
		Use:   "apply -f FILE",
		Short: "Make the server match a configuration file (shows the diff; idempotent)",
		Long: `Compare a configuration file (as written by 'ramp export') with the server, print the
differences and apply them. Applying the same file twice changes nothing the second
time. Flags, segments and plans on the server but not in the file are kept unless --prune.
Rollouts are not configuration: start them with 'ramp rollout'.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if file == "" {
				return fmt.Errorf("give the configuration with -f FILE")
			}
			js, err := readDocument(cmd, file)
			if err != nil {
				return err
			}
			var want configDoc
			if err := flags.DecodeJSON(js, &want); err != nil {
				return fmt.Errorf("%s: %w", file, err)
			}
			c, err := client()
			if err != nil {
				return err
			}
			have, stateVersions, defVersions, segVersions, err := fetchConfig(cmd, c)
			if err != nil {
				return err
			}
			havePlans, planVersions, err := fetchPlans(cmd, c)
			if err != nil {
				return err
			}
			steps := plan(c, &want, have, stateVersions, defVersions, segVersions, prune)
			// Metrics come first: plans name them.
			msteps, err := metricSteps(cmd.Context(), c, want.Metrics, prune && want.Metrics != nil)
			if err != nil {
				return err
			}
			steps = append(msteps, steps...)
			steps = append(steps, planSteps(c, want.Plans, havePlans, planVersions, prune)...)
			w := cmd.OutOrStdout()
			if len(steps) == 0 {
				fmt.Fprintln(w, "no changes: the server already matches", file)
				return nil
			}
			for _, s := range steps {
				fmt.Fprintln(w, s.describe)
			}
			if dryRun {
				fmt.Fprintf(w, "%d changes (dry run: nothing applied)\n", len(steps))
				return nil
			}
			for i, s := range steps {
				if err := s.run(cmd.Context()); err != nil {
					return fmt.Errorf("step %d (%s): %w; %d of %d changes were applied — run apply again after fixing it", i+1, strings.TrimSpace(s.describe), err, i, len(steps))
				}
			}
			fmt.Fprintf(w, "applied %d changes\n", len(steps))
			return nil
		},
	}
	cmd.Flags().StringVarP(&file, "file", "f", "", "the configuration (YAML or JSON); - for stdin")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "show the changes without applying them")
	cmd.Flags().BoolVar(&prune, "prune", false, "delete flags, segments and plans that the file does not list")
	return cmd
}

func describeFields(a, b any) string {
	ca, _ := canonical(a).(map[string]any)
	cb, _ := canonical(b).(map[string]any)
	var changed []string
	for _, k := range sortedKeys(cb) {
		if !reflect.DeepEqual(ca[k], cb[k]) {
			changed = append(changed, k)
		}
	}
	for _, k := range sortedKeys(ca) {
		if _, ok := cb[k]; !ok {
			changed = append(changed, k)
		}
	}
	return strings.Join(changed, ", ")
}

// plan lists the steps that turn have into want, in dependency order: environments,
// segments, flag definitions, then states.
func plan(c *apiClient, want, have *configDoc, stateVersions map[string]map[string]int64, defVersions map[string]int64, segVersions map[string]map[string]int64, prune bool) []step {
	var steps []step
	haveEnvs := map[string]bool{}
	for _, e := range have.Environments {
		haveEnvs[e.Key] = true
	}
	for _, e := range want.Environments {
		if !haveEnvs[e.Key] {
			e := e
			steps = append(steps, step{"+ environment " + e.Key, func(ctx context.Context) error {
				_, err := c.do(ctx, "POST", "/api/v1/environments", e, nil, nil)
				return err
			}})
		}
	}
	for _, env := range sortedKeys(want.Segments) {
		for _, key := range sortedKeys(want.Segments[env]) {
			seg := want.Segments[env][key]
			body := map[string]any{"key": key, "description": seg.Description, "included": seg.Included, "excluded": seg.Excluded, "rules": seg.Rules}
			cur := have.Segments[env][key]
			path := "/api/v1/environments/" + url.PathEscape(env) + "/segments"
			switch {
			case cur == nil:
				steps = append(steps, step{fmt.Sprintf("+ segment %s in %s", key, env), func(ctx context.Context) error {
					_, err := c.do(ctx, "POST", path, body, nil, nil)
					return err
				}})
			case !same(cur, seg):
				v := segVersions[env][key]
				steps = append(steps, step{fmt.Sprintf("~ segment %s in %s (%s)", key, env, describeFields(cur, seg)), func(ctx context.Context) error {
					_, err := c.do(ctx, "PUT", path+"/"+url.PathEscape(key), body, nil, map[string]string{"If-Match": fmt.Sprintf(`"%d"`, v)})
					return err
				}})
			}
		}
	}
	for _, key := range sortedKeys(want.Flags) {
		f := want.Flags[key]
		def := map[string]any{"type": f.Type, "description": f.Description, "variants": f.Variants, "salt": f.Salt,
			"bucket_by": f.BucketBy, "metadata": f.Metadata, "client_side": f.ClientSide, "tags": f.Tags}
		cur := have.Flags[key]
		var curStates map[string]*stateDoc
		if cur == nil {
			// Create it disabled everywhere, serving its first listed state's default;
			// the per-environment states follow as updates below.
			create := map[string]any{"key": key, "enabled": false}
			for k, v := range def {
				create[k] = v
			}
			steps = append(steps, step{"+ flag " + key, func(ctx context.Context) error {
				_, err := c.do(ctx, "POST", "/api/v1/flags", create, nil, nil)
				return err
			}})
			curStates = map[string]*stateDoc{}
		} else {
			curDef := *cur
			curDef.Environments = nil
			wantDef := *f
			wantDef.Environments = nil
			if !same(curDef, wantDef) {
				v := defVersions[key]
				steps = append(steps, step{fmt.Sprintf("~ flag %s definition (%s)", key, describeFields(curDef, wantDef)), func(ctx context.Context) error {
					_, err := c.do(ctx, "PUT", "/api/v1/flags/"+url.PathEscape(key), def, nil, map[string]string{"If-Match": fmt.Sprintf(`"%d"`, v)})
					return err
				}})
			}
			curStates = cur.Environments
		}
		for _, env := range sortedKeys(f.Environments) {
			st := f.Environments[env]
			if cs := curStates[env]; cs != nil && same(cs, st) {
				continue
			}
			env, st := env, st
			fkey := key
			desc := fmt.Sprintf("~ flag %s in %s", key, env)
			if cs := curStates[env]; cs != nil {
				desc += " (" + describeFields(cs, st) + ")"
			}
			steps = append(steps, step{desc, func(ctx context.Context) error {
				path := "/api/v1/environments/" + url.PathEscape(env) + "/flags/" + url.PathEscape(fkey)
				// Read the version at apply time: the flag may have been created by a step above.
				var curFlag struct {
					Version int64 `json:"version"`
				}
				if _, err := c.do(ctx, "GET", path, nil, &curFlag, nil); err != nil {
					return err
				}
				_, err := c.do(ctx, "PUT", path, st, nil, map[string]string{"If-Match": fmt.Sprintf(`"%d"`, curFlag.Version)})
				return err
			}})
		}
	}
	if prune {
		for _, key := range sortedKeys(have.Flags) {
			if _, ok := want.Flags[key]; !ok {
				key := key
				steps = append(steps, step{"- flag " + key, func(ctx context.Context) error {
					_, err := c.do(ctx, "DELETE", "/api/v1/flags/"+url.PathEscape(key), nil, nil, nil)
					return err
				}})
			}
		}
		for _, env := range sortedKeys(have.Segments) {
			for _, key := range sortedKeys(have.Segments[env]) {
				if _, ok := want.Segments[env][key]; !ok {
					env, key := env, key
					steps = append(steps, step{fmt.Sprintf("- segment %s in %s", key, env), func(ctx context.Context) error {
						_, err := c.do(ctx, "DELETE", "/api/v1/environments/"+url.PathEscape(env)+"/segments/"+url.PathEscape(key), nil, nil, nil)
						return err
					}})
				}
			}
		}
	}
	return steps
}

// fetchPlans reads the saved plans, without their names (the key is the name), and
// their versions.
func fetchPlans(cmd *cobra.Command, c *apiClient) (map[string]*rollout.Plan, map[string]int64, error) {
	type planView struct {
		Name    string       `json:"name"`
		Plan    rollout.Plan `json:"plan"`
		Version int64        `json:"version"`
	}
	items, err := listAll[planView](cmd, c, "/api/v1/plans")
	if err != nil {
		return nil, nil, err
	}
	plans, versions := map[string]*rollout.Plan{}, map[string]int64{}
	for _, it := range items {
		p := it.Plan
		p.Name = ""
		plans[it.Name], versions[it.Name] = &p, it.Version
	}
	return plans, versions, nil
}

// planSteps lists the steps that make the saved plans match want. Plans come after
// flags and segments, which they name. A plan that names a built-in template and no
// stages is compared in the form the server stores: the template expanded.
func planSteps(c *apiClient, want, have map[string]*rollout.Plan, versions map[string]int64, prune bool) []step {
	var steps []step
	for _, name := range sortedKeys(want) {
		p := *want[name]
		if base, ok := rollout.Template(p.Template); ok && len(p.Stages) == 0 {
			p = rollout.Override(base, p)
		}
		p.Name = ""
		body := p
		body.Name = name
		cur := have[name]
		switch {
		case cur == nil:
			steps = append(steps, step{"+ plan " + name, func(ctx context.Context) error {
				_, err := c.do(ctx, "POST", "/api/v1/plans", body, nil, nil)
				return err
			}})
		case !same(cur, &p):
			v := versions[name]
			steps = append(steps, step{fmt.Sprintf("~ plan %s (%s)", name, describeFields(cur, &p)), func(ctx context.Context) error {
				_, err := c.do(ctx, "PUT", "/api/v1/plans/"+url.PathEscape(name), body, nil, map[string]string{"If-Match": fmt.Sprintf(`"%d"`, v)})
				return err
			}})
		}
	}
	if prune {
		for _, name := range sortedKeys(have) {
			if _, ok := want[name]; !ok {
				steps = append(steps, step{"- plan " + name, func(ctx context.Context) error {
					_, err := c.do(ctx, "DELETE", "/api/v1/plans/"+url.PathEscape(name), nil, nil, nil)
					return err
				}})
			}
		}
	}
	return steps
}
