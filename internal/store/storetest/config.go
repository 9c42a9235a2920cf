package storetest

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ramp-release/ramp/flags"
	"github.com/ramp-release/ramp/internal/store"
)

// configCases cover environments, flags, segments, snapshots and revisions.
var configCases = []testCase{
	{
		name:        "Ping",
		explanation: "a freshly opened store answers Ping.",
		f: func(t *testing.T, s store.Store) {
			if err := s.Ping(t.Context()); err != nil {
				t.Fatal(err)
			}
		},
	},
	{
		name:        "Environments/CreateGetList",
		explanation: "environments are created once, read back as written, and listed by key.",
		f: func(t *testing.T, s store.Store) {
			ctx := t.Context()
			created, err := s.CreateEnvironment(ctx, store.Environment{Key: "prod", Name: "Production", Description: "live"}, change)
			if err != nil {
				t.Fatal(err)
			}
			if created.CreatedAt.IsZero() {
				t.Error("CreateEnvironment did not set CreatedAt")
			}
			env(t, s, "dev")
			got, err := s.GetEnvironment(ctx, "prod")
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(created, got); diff != "" {
				t.Errorf("GetEnvironment differs from what CreateEnvironment returned (-created +got):\n%s", diff)
			}
			list, err := s.ListEnvironments(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var ks []string
			for _, e := range list {
				ks = append(ks, e.Key)
			}
			if diff := cmp.Diff([]string{"dev", "prod"}, ks); diff != "" {
				t.Errorf("ListEnvironments keys (-want +got):\n%s", diff)
			}
			_, err = s.CreateEnvironment(ctx, store.Environment{Key: "prod"}, change)
			if msg := wantErr(t, "second create of prod", err, store.ErrExists); msg != "" && !strings.Contains(msg, `"prod"`) {
				t.Errorf("error %q does not name the environment", msg)
			}
			_, err = s.GetEnvironment(ctx, "staging")
			wantErr(t, "get unknown environment", err, store.ErrNotFound)
			_, err = s.CreateEnvironment(ctx, store.Environment{Key: "Prod EU"}, change)
			wantErr(t, "create environment with an invalid key", err, store.ErrInvalid)
		},
	},
	{
		name:        "Flags/CreateGivesEveryEnvironmentAState",
		explanation: "CreateFlag stores the definition at version 1 and gives every existing environment the initial state at version 1.",
		f: func(t *testing.T, s store.Store) {
			env(t, s, "dev", "prod")
			init := store.FlagState{Enabled: true, OffVariant: "off", Default: &flags.Allocation{Variant: "on"}}
			createFlag(t, s, boolDef("summarize"), init)
			for _, e := range []string{"dev", "prod"} {
				f := getFlag(t, s, e, "summarize")
				if f.Environment != e || f.Definition.Version != 1 || f.State.Version != 1 {
					t.Errorf("in %s: environment %q, definition version %d, state version %d; want %q, 1, 1",
						e, f.Environment, f.Definition.Version, f.State.Version, e)
				}
				want := init
				want.Version, want.UpdatedAt = 1, f.State.UpdatedAt
				if diff := cmp.Diff(want, f.State, cmpOpts...); diff != "" {
					t.Errorf("state in %s (-want +got):\n%s", e, diff)
				}
				if diff := cmp.Diff(boolDef("summarize").Variants, f.Definition.Variants); diff != "" {
					t.Errorf("variants in %s (-want +got):\n%s", e, diff)
				}
			}
		},
	},
	{
		name: "Flags/LaterEnvironmentGetsInitialState",
		explanation: "an environment created after a flag gets the flag's initial state (version 1), or a disabled state " +
			"serving nothing when the initial state could not compile there (it tests a segment the new environment lacks).",
		f: func(t *testing.T, s store.Store) {
			ctx := t.Context()
			init := store.FlagState{Enabled: true, Default: &flags.Allocation{Variant: "on"}}
			createFlag(t, s, boolDef("plain"), init)
			env(t, s, "prod")
			putSegment(t, s, store.Segment{Environment: "prod", Key: "beta", Included: []string{"u1"}}, 0)
			segInit := store.FlagState{Enabled: true, Rules: []flags.Rule{{
				Conditions: []flags.Condition{{Op: flags.OpInSegment, Segment: "beta"}},
				Serve:      flags.Allocation{Variant: "on"},
			}}}
			createFlag(t, s, boolDef("segmented"), segInit)
			env(t, s, "dev")

			plain := getFlag(t, s, "dev", "plain")
			want := init
			want.Version, want.UpdatedAt = 1, plain.State.UpdatedAt
			if diff := cmp.Diff(want, plain.State, cmpOpts...); diff != "" {
				t.Errorf("plain flag in the later environment (-want +got):\n%s", diff)
			}
			seg := getFlag(t, s, "dev", "segmented")
			want = store.FlagState{Version: 1, UpdatedAt: seg.State.UpdatedAt}
			if diff := cmp.Diff(want, seg.State, cmpOpts...); diff != "" {
				t.Errorf("segment-testing flag in the later environment (-want +got):\n%s", diff)
			}
			set, _, err := s.Snapshot(ctx, "dev")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := flags.Compile(set); err != nil {
				t.Errorf("the later environment's snapshot does not compile: %v", err)
			}
		},
	},
	{
		name:        "Flags/CreateRefusesDuplicatesAndInvalidFlags",
		explanation: "CreateFlag fails with ErrExists for a taken key and with ErrInvalid wrapping flags.ValidationErrors for a flag that does not compile, writing nothing.",
		f: func(t *testing.T, s store.Store) {
			ctx := t.Context()
			env(t, s, "prod")
			createFlag(t, s, boolDef("summarize"), offState())
			err := s.CreateFlag(ctx, boolDef("summarize"), offState(), change)
			if msg := wantErr(t, "duplicate flag", err, store.ErrExists); msg != "" && !strings.Contains(msg, `"summarize"`) {
				t.Errorf("error %q does not name the flag", msg)
			}
			bad := boolDef("typo")
			bad.Type = "boolean"
			wantValidation(t, "unknown type", s.CreateFlag(ctx, bad, offState(), change), `flags["typo"].type`)
			init := store.FlagState{Default: &flags.Allocation{Variant: "maybe"}}
			wantValidation(t, "initial state serving an unknown variant", s.CreateFlag(ctx, boolDef("ghost"), init, change), "default.variant")
			init = store.FlagState{Rules: []flags.Rule{{Conditions: []flags.Condition{{Op: flags.OpInSegment, Segment: "nope"}}, Serve: flags.Allocation{Variant: "on"}}}}
			wantValidation(t, "initial state testing a missing segment", s.CreateFlag(ctx, boolDef("ghost"), init, change), `environments["prod"]`)
			for _, key := range []string{"typo", "ghost"} {
				_, err := s.GetFlag(ctx, "prod", key)
				wantErr(t, "flag "+key+" after a refused create", err, store.ErrNotFound)
			}
		},
	},
	{
		name: "Flags/ValuesRoundTripExactly",
		explanation: "every part of a flag comes back as written: int variants as int64 (beyond 2^53 too), json variants as " +
			"decoded JSON, float variants as float64, metadata, tags, rules with every kind of condition, splits.",
		f: func(t *testing.T, s store.Store) {
			env(t, s, "prod")
			putSegment(t, s, store.Segment{Environment: "prod", Key: "beta", Included: []string{"u1"}}, 0)
			defs := []store.FlagDefinition{
				{Key: "limit", Type: flags.TypeInt, Variants: map[string]any{"small": int64(-5), "huge": int64(1<<53 + 1), "max": int64(1<<63 - 1)}},
				{Key: "ratio", Type: flags.TypeFloat, Variants: map[string]any{"tenth": 0.1, "three": float64(3), "tiny": 5e-324}},
				{Key: "model", Type: flags.TypeString, Variants: map[string]any{"a": "gpt-x", "b": "ünïcode \"quoted\" <html>"}},
				{Key: "ai-config", Type: flags.TypeJSON, Description: "model settings", Salt: "s1", BucketBy: "account_id", ClientSide: true,
					Tags:     []string{"ai", "llm"},
					Metadata: map[string]any{"owner": "ml-team", "priority": int64(2), "experimental": true, "share": 0.25},
					Variants: map[string]any{
						"a": map[string]any{"model": "m1", "temperature": 0.2, "max_tokens": float64(512), "stop": []any{"\n", "END"}, "extra": nil},
						"b": []any{float64(1), "two", false},
					}},
			}
			state := store.FlagState{Enabled: true, OffVariant: "a",
				Rules: []flags.Rule{{
					ID: "r1", Description: "testers",
					Conditions: []flags.Condition{
						{Attribute: "country", Op: flags.OpIn, Values: []any{"DE", "FR", float64(7)}},
						{Attribute: "age", Op: flags.OpGTE, Value: float64(18)},
						{Attribute: "app_version", Op: flags.OpSemverGT, Value: "1.4.0"},
						{Attribute: "email", Op: flags.OpMatches, Value: `@example\.com$`},
						{Attribute: "signup", Op: flags.OpBefore, Value: "2026-12-01T09:00:00Z"},
						{Attribute: "beta", Op: flags.OpExists},
						{Bucket: &flags.BucketRange{Salt: "holdout", From: 0, To: 5000}},
						{Op: flags.OpInSegment, Segment: "beta"},
					},
					Serve:    flags.Allocation{Split: []flags.WeightedVariant{{Variant: "b", Weight: 30000}, {Variant: "a", Weight: 70000}}},
					Metadata: map[string]string{"rollout": "r-1", "stage": "beta"},
				}},
				Default: &flags.Allocation{Variant: "a"},
			}
			for _, d := range defs {
				variants := make([]string, 0, len(d.Variants))
				for v := range d.Variants {
					variants = append(variants, v)
				}
				slices.Sort(variants)
				st := state
				st.OffVariant = variants[0]
				st.Default = &flags.Allocation{Variant: variants[0]}
				st.Rules = slices.Clone(state.Rules)
				st.Rules[0].Serve = flags.Allocation{Variant: variants[len(variants)-1]}
				if d.Key == "ai-config" {
					st.Rules = state.Rules
				}
				createFlag(t, s, d, store.FlagState{})
				f, err := s.UpdateFlagState(t.Context(), "prod", d.Key, st, 1, change)
				if err != nil {
					t.Fatal(err)
				}
				got := getFlag(t, s, "prod", d.Key)
				if diff := cmp.Diff(f, got, cmpOpts...); diff != "" {
					t.Errorf("%s: GetFlag differs from what UpdateFlagState returned (-returned +read):\n%s", d.Key, diff)
				}
				wantDef := d
				wantDef.Version, wantDef.CreatedAt, wantDef.UpdatedAt = 1, got.Definition.CreatedAt, got.Definition.UpdatedAt
				if diff := cmp.Diff(wantDef, got.Definition, cmpOpts...); diff != "" {
					t.Errorf("%s: definition (-want +got):\n%s", d.Key, diff)
				}
				st.Version, st.UpdatedAt = 2, got.State.UpdatedAt
				if diff := cmp.Diff(st, got.State, cmpOpts...); diff != "" {
					t.Errorf("%s: state (-want +got):\n%s", d.Key, diff)
				}
			}
			set, _, err := s.Snapshot(t.Context(), "prod")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := flags.Compile(set); err != nil {
				t.Errorf("the snapshot does not compile: %v", err)
			}
		},
	},
	{
		name:        "Flags/UpdateStateChecksTheVersion",
		explanation: "UpdateFlagState with the current version writes the state at the next version; with a stale version it fails with ErrConflict and changes nothing.",
		f: func(t *testing.T, s store.Store) {
			ctx := t.Context()
			env(t, s, "prod")
			createFlag(t, s, boolDef("summarize"), offState())
			f := updateState(t, s, "prod", "summarize", func(st *store.FlagState) { st.Enabled = true })
			if f.State.Version != 2 || !f.State.Enabled {
				t.Errorf("after one update: version %d, enabled %v; want 2, true", f.State.Version, f.State.Enabled)
			}
			stale := f.State
			stale.Enabled = false
			_, err := s.UpdateFlagState(ctx, "prod", "summarize", stale, 1, change)
			if msg := wantErr(t, "update with version 1 when the state is at 2", err, store.ErrConflict); msg != "" {
				for _, part := range []string{`"summarize"`, `"prod"`} {
					if !strings.Contains(msg, part) {
						t.Errorf("conflict error %q does not mention %s", msg, part)
					}
				}
			}
			if got := getFlag(t, s, "prod", "summarize"); got.State.Version != 2 || !got.State.Enabled {
				t.Errorf("after the refused update: version %d, enabled %v; want 2, true", got.State.Version, got.State.Enabled)
			}
			_, err = s.UpdateFlagState(ctx, "prod", "nope", stale, 2, change)
			wantErr(t, "update of an unknown flag", err, store.ErrNotFound)
			_, err = s.UpdateFlagState(ctx, "staging", "summarize", stale, 2, change)
			wantErr(t, "update in an unknown environment", err, store.ErrNotFound)
			bad := f.State
			bad.Rules = []flags.Rule{{Conditions: []flags.Condition{{Op: flags.OpInSegment, Segment: "missing"}}, Serve: flags.Allocation{Variant: "on"}}}
			_, err = s.UpdateFlagState(ctx, "prod", "summarize", bad, 2, change)
			wantValidation(t, "a state testing a missing segment", err, "segment")
		},
	},
	{
		name:        "Flags/ConcurrentUpdatesNeverLoseOne",
		explanation: "concurrent read-modify-write cycles that retry on ErrConflict all land: no update is lost and the version counts every one.",
		f: func(t *testing.T, s store.Store) {
			ctx := t.Context()
			env(t, s, "prod")
			createFlag(t, s, boolDef("counter"), offState())
			const workers, each = 4, 8
			parallel(workers, func(w int) {
				for i := range each {
					for {
						f, err := s.GetFlag(ctx, "prod", "counter")
						if err != nil {
							t.Error(err)
							return
						}
						st := f.State
						st.Rules = append(slices.Clone(st.Rules), flags.Rule{ID: fmt.Sprintf("w%d-%d", w, i), Serve: flags.Allocation{Variant: "on"}})
						_, err = s.UpdateFlagState(ctx, "prod", "counter", st, f.State.Version, change)
						if errors.Is(err, store.ErrConflict) {
							continue
						}
						if err != nil {
							t.Error(err)
							return
						}
						break
					}
				}
			})
			f := getFlag(t, s, "prod", "counter")
			if len(f.State.Rules) != workers*each || f.State.Version != 1+workers*each {
				t.Errorf("after %d updates: %d rules at version %d; want %d rules at version %d",
					workers*each, len(f.State.Rules), f.State.Version, workers*each, 1+workers*each)
			}
		},
	},
	{
		name:        "Flags/UpdateDefinition",
		explanation: "UpdateFlagDefinition checks the definition's version (ErrConflict when stale), keeps CreatedAt, increments the version and is seen in every environment.",
		f: func(t *testing.T, s store.Store) {
			ctx := t.Context()
			env(t, s, "dev", "prod")
			createFlag(t, s, boolDef("summarize"), offState())
			orig := getFlag(t, s, "prod", "summarize").Definition
			def := boolDef("summarize")
			def.Description = "summaries with the new model"
			def.Tags = []string{"ai"}
			got, err := s.UpdateFlagDefinition(ctx, def, 1, change)
			if err != nil {
				t.Fatal(err)
			}
			if got.Version != 2 || !got.CreatedAt.Equal(orig.CreatedAt) || got.UpdatedAt.Before(orig.UpdatedAt) {
				t.Errorf("updated definition: version %d, created %v, updated %v; want 2, %v, not before %v",
					got.Version, got.CreatedAt, got.UpdatedAt, orig.CreatedAt, orig.UpdatedAt)
			}
			for _, e := range []string{"dev", "prod"} {
				if diff := cmp.Diff(got, getFlag(t, s, e, "summarize").Definition, cmpOpts...); diff != "" {
					t.Errorf("definition seen in %s (-returned +read):\n%s", e, diff)
				}
			}
			_, err = s.UpdateFlagDefinition(ctx, def, 1, change)
			wantErr(t, "update with a stale definition version", err, store.ErrConflict)
			_, err = s.UpdateFlagDefinition(ctx, boolDef("nope"), 1, change)
			wantErr(t, "update of an unknown flag", err, store.ErrNotFound)
			str := def
			str.Type, str.Variants = flags.TypeString, map[string]any{"on": "yes", "off": "no"}
			_, err = s.UpdateFlagDefinition(ctx, str, 2, change)
			wantValidation(t, "a change of type", err, ".type")
		},
	},
	{
		name: "Flags/UpdateDefinitionRefusesBreakingAState",
		explanation: "UpdateFlagDefinition fails with ErrInvalid wrapping flags.ValidationErrors (paths prefixed with the environment) " +
			"when an environment's state would stop compiling, e.g. a rule serves a removed variant; nothing changes.",
		f: func(t *testing.T, s store.Store) {
			ctx := t.Context()
			env(t, s, "dev", "prod")
			def := store.FlagDefinition{Key: "model", Type: flags.TypeString, Variants: map[string]any{"old": "m1", "new": "m2"}}
			createFlag(t, s, def, store.FlagState{Default: &flags.Allocation{Variant: "old"}})
			updateState(t, s, "prod", "model", func(st *store.FlagState) {
				st.Rules = []flags.Rule{{ID: "canary", Conditions: []flags.Condition{{Attribute: "tier", Op: flags.OpEquals, Value: "beta"}}, Serve: flags.Allocation{Variant: "new"}}}
			})
			def.Variants = map[string]any{"old": "m1"}
			_, err := s.UpdateFlagDefinition(ctx, def, 1, change)
			ve := wantValidation(t, "removing a variant prod serves", err, `environments["prod"]`)
			for _, e := range ve {
				if strings.Contains(e.Path, `environments["dev"]`) {
					t.Errorf("dev's state still compiles, but an error names it: %v", e)
				}
			}
			if got := getFlag(t, s, "prod", "model").Definition; got.Version != 1 || len(got.Variants) != 2 {
				t.Errorf("after the refused update: version %d with %d variants; want 1 with 2", got.Version, len(got.Variants))
			}
		},
	},
	{
		name:        "Flags/Delete",
		explanation: "DeleteFlag removes the flag from every environment; deleting an unknown flag fails with ErrNotFound.",
		f: func(t *testing.T, s store.Store) {
			ctx := t.Context()
			env(t, s, "dev", "prod")
			createFlag(t, s, boolDef("old"), offState())
			createFlag(t, s, boolDef("kept"), offState())
			if err := s.DeleteFlag(ctx, "old", change); err != nil {
				t.Fatal(err)
			}
			for _, e := range []string{"dev", "prod"} {
				_, err := s.GetFlag(ctx, e, "old")
				wantErr(t, "get a deleted flag in "+e, err, store.ErrNotFound)
				list, err := s.ListFlags(ctx, e, store.Page{})
				if err != nil {
					t.Fatal(err)
				}
				if len(list) != 1 || list[0].Definition.Key != "kept" {
					t.Errorf("flags in %s after the delete: %v; want only kept", e, list)
				}
			}
			wantErr(t, "delete an unknown flag", s.DeleteFlag(ctx, "old", change), store.ErrNotFound)
			// The key is free again.
			createFlag(t, s, boolDef("old"), offState())
			if f := getFlag(t, s, "prod", "old"); f.State.Version != 1 || f.Definition.Version != 1 {
				t.Errorf("recreated flag: definition version %d, state version %d; want 1, 1", f.Definition.Version, f.State.Version)
			}
		},
	},
	{
		name:        "Flags/ListPagesByKey",
		explanation: "ListFlags returns flags ordered by key, after Page.After, at most Page.Limit (100 by default); an unknown environment is ErrNotFound.",
		f: func(t *testing.T, s store.Store) {
			ctx := t.Context()
			env(t, s, "prod")
			all := keys(103, "flag-%03d")
			for _, k := range slices.Backward(all) {
				createFlag(t, s, boolDef(k), offState())
			}
			list := func(p store.Page) []string {
				t.Helper()
				fs, err := s.ListFlags(ctx, "prod", p)
				if err != nil {
					t.Fatal(err)
				}
				var out []string
				for _, f := range fs {
					out = append(out, f.Definition.Key)
				}
				return out
			}
			if diff := cmp.Diff(all[:100], list(store.Page{})); diff != "" {
				t.Errorf("default page (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(all[:3], list(store.Page{Limit: 3})); diff != "" {
				t.Errorf("first page of 3 (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(all[3:6], list(store.Page{After: all[2], Limit: 3})); diff != "" {
				t.Errorf("second page of 3 (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(all[100:], list(store.Page{After: all[99], Limit: 5000})); diff != "" {
				t.Errorf("last page (-want +got):\n%s", diff)
			}
			_, err := s.ListFlags(ctx, "staging", store.Page{})
			wantErr(t, "list in an unknown environment", err, store.ErrNotFound)
		},
	},
	{
		name:        "Segments/PutChecksVersions",
		explanation: "PutSegment creates with expectVersion 0 (ErrExists if taken), replaces only at the current version (ErrConflict otherwise, ErrNotFound if missing), and refuses invalid segments.",
		f: func(t *testing.T, s store.Store) {
			ctx := t.Context()
			env(t, s, "prod")
			seg := store.Segment{Environment: "prod", Key: "beta", Description: "beta testers",
				Included: []string{"u1", "u2"}, Excluded: []string{"u3"},
				Rules: []flags.SegmentRule{{Conditions: []flags.Condition{{Attribute: "plan", Op: flags.OpEquals, Value: "pro"}, {Attribute: "seats", Op: flags.OpGT, Value: float64(10)}}}}}
			created := putSegment(t, s, seg, 0)
			if created.Version != 1 || created.UpdatedAt.IsZero() {
				t.Errorf("created segment: version %d, updated %v; want 1 and a time", created.Version, created.UpdatedAt)
			}
			got, err := s.GetSegment(ctx, "prod", "beta")
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(created, got, cmpOpts...); diff != "" {
				t.Errorf("GetSegment (-put +got):\n%s", diff)
			}
			want := seg
			want.Version, want.UpdatedAt = 1, got.UpdatedAt
			if diff := cmp.Diff(want, got, cmpOpts...); diff != "" {
				t.Errorf("segment round trip (-want +got):\n%s", diff)
			}
			_, err = s.PutSegment(ctx, seg, 0, change)
			wantErr(t, "create a taken segment", err, store.ErrExists)
			seg.Included = []string{"u9"}
			updated := putSegment(t, s, seg, 1)
			if updated.Version != 2 {
				t.Errorf("updated segment version %d; want 2", updated.Version)
			}
			_, err = s.PutSegment(ctx, seg, 1, change)
			wantErr(t, "update with a stale version", err, store.ErrConflict)
			_, err = s.PutSegment(ctx, store.Segment{Environment: "prod", Key: "ghost"}, 3, change)
			wantErr(t, "update a missing segment", err, store.ErrNotFound)
			_, err = s.PutSegment(ctx, store.Segment{Environment: "staging", Key: "beta"}, 0, change)
			wantErr(t, "create in an unknown environment", err, store.ErrNotFound)
			_, err = s.GetSegment(ctx, "prod", "ghost")
			wantErr(t, "get a missing segment", err, store.ErrNotFound)
			bad := store.Segment{Environment: "prod", Key: "bad", Rules: []flags.SegmentRule{{Conditions: []flags.Condition{{Attribute: "x", Op: "equalz", Value: "1"}}}}}
			_, err = s.PutSegment(ctx, bad, 0, change)
			wantValidation(t, "a segment with an unknown operator", err, `segments["bad"]`)
			loop := store.Segment{Environment: "prod", Key: "beta", Rules: []flags.SegmentRule{{Conditions: []flags.Condition{{Op: flags.OpInSegment, Segment: "beta"}}}}}
			_, err = s.PutSegment(ctx, loop, 2, change)
			wantValidation(t, "a segment that includes itself", err, `segments["beta"]`)
		},
	},
	{
		name:        "Segments/ListPagesByKey",
		explanation: "ListSegments returns one environment's segments ordered by key, paged like ListFlags.",
		f: func(t *testing.T, s store.Store) {
			ctx := t.Context()
			env(t, s, "dev", "prod")
			all := keys(5, "seg-%d")
			for _, k := range slices.Backward(all) {
				putSegment(t, s, store.Segment{Environment: "prod", Key: k, Included: []string{"u"}}, 0)
			}
			putSegment(t, s, store.Segment{Environment: "dev", Key: "other", Included: []string{"u"}}, 0)
			page, err := s.ListSegments(ctx, "prod", store.Page{After: all[0], Limit: 2})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, sg := range page {
				got = append(got, sg.Key)
			}
			if diff := cmp.Diff(all[1:3], got); diff != "" {
				t.Errorf("page (-want +got):\n%s", diff)
			}
			_, err = s.ListSegments(ctx, "staging", store.Page{})
			wantErr(t, "list in an unknown environment", err, store.ErrNotFound)
		},
	},
	{
		name:        "Segments/DeleteRefusesWhileReferenced",
		explanation: "DeleteSegment fails with ErrInvalid naming the flags (and segments) whose conditions test the segment, and succeeds once none does.",
		f: func(t *testing.T, s store.Store) {
			ctx := t.Context()
			env(t, s, "dev", "prod")
			putSegment(t, s, store.Segment{Environment: "prod", Key: "beta", Included: []string{"u1"}}, 0)
			putSegment(t, s, store.Segment{Environment: "prod", Key: "wider", Rules: []flags.SegmentRule{{Conditions: []flags.Condition{{Op: flags.OpInSegment, Segment: "beta"}}}}}, 0)
			createFlag(t, s, boolDef("summarize"), offState())
			updateState(t, s, "prod", "summarize", func(st *store.FlagState) {
				st.Rules = []flags.Rule{{Conditions: []flags.Condition{{Op: flags.OpInSegment, Segment: "beta"}}, Serve: flags.Allocation{Variant: "on"}}}
			})
			err := s.DeleteSegment(ctx, "prod", "beta", change)
			wantValidation(t, "delete a segment a flag tests", err, `flags["summarize"].rules[0].conditions[0]`)
			if err != nil && (!strings.Contains(err.Error(), `"summarize"`) || !strings.Contains(err.Error(), `"wider"`)) {
				t.Errorf("error %q does not name the flag summarize and the segment wider", err)
			}
			updateState(t, s, "prod", "summarize", func(st *store.FlagState) { st.Rules = nil })
			if err := s.DeleteSegment(ctx, "prod", "wider", change); err != nil {
				t.Fatal(err)
			}
			if err := s.DeleteSegment(ctx, "prod", "beta", change); err != nil {
				t.Fatalf("delete once nothing tests it: %v", err)
			}
			_, err = s.GetSegment(ctx, "prod", "beta")
			wantErr(t, "get a deleted segment", err, store.ErrNotFound)
			wantErr(t, "delete a missing segment", s.DeleteSegment(ctx, "prod", "beta", change), store.ErrNotFound)
		},
	},
	{
		name:        "Snapshot/IsTheEnvironmentsFlagSet",
		explanation: "Snapshot returns the environment's flags (Flag.Eval, versioned by state) and segments (Segment.Eval) as a flag set that compiles, with the current revision.",
		f: func(t *testing.T, s store.Store) {
			ctx := t.Context()
			env(t, s, "dev", "prod")
			seg := putSegment(t, s, store.Segment{Environment: "prod", Key: "beta", Included: []string{"u1"}}, 0)
			createFlag(t, s, boolDef("a"), offState())
			createFlag(t, s, boolDef("b"), offState())
			fa := updateState(t, s, "prod", "a", func(st *store.FlagState) {
				st.Enabled = true
				st.Rules = []flags.Rule{{Conditions: []flags.Condition{{Op: flags.OpInSegment, Segment: "beta"}}, Serve: flags.Allocation{Variant: "on"}}}
			})
			fb := getFlag(t, s, "prod", "b")
			set, rev, err := s.Snapshot(ctx, "prod")
			if err != nil {
				t.Fatal(err)
			}
			want := &flags.Set{
				Flags:    map[string]*flags.Flag{"a": fa.Eval(), "b": fb.Eval()},
				Segments: map[string]*flags.Segment{"beta": seg.Eval()},
			}
			if diff := cmp.Diff(want, set, cmpOpts...); diff != "" {
				t.Errorf("snapshot (-want +got):\n%s", diff)
			}
			if set.Flags["a"].Version != 2 {
				t.Errorf("flag a has version %d in the snapshot; want its state's version 2", set.Flags["a"].Version)
			}
			if r := revision(t, s, "prod"); rev != r {
				t.Errorf("Snapshot's revision %d, Revision %d; want them equal", rev, r)
			}
			snap, err := flags.Compile(set)
			if err != nil {
				t.Fatalf("the snapshot does not compile: %v", err)
			}
			if got := snap.Keys(); !slices.Equal(got, []string{"a", "b"}) {
				t.Errorf("compiled keys %v; want [a b]", got)
			}
			dev, _, err := s.Snapshot(ctx, "dev")
			if err != nil {
				t.Fatal(err)
			}
			if len(dev.Segments) != 0 || dev.Flags["a"].Version != 1 {
				t.Errorf("dev's snapshot shows prod's changes: %d segments, flag a at version %d", len(dev.Segments), dev.Flags["a"].Version)
			}
			_, _, err = s.Snapshot(ctx, "staging")
			wantErr(t, "snapshot of an unknown environment", err, store.ErrNotFound)
			_, err = s.Revision(ctx, "staging")
			wantErr(t, "revision of an unknown environment", err, store.ErrNotFound)
		},
	},
	{
		name: "Snapshot/RevisionFollowsEveryVisibleChange",
		explanation: "an environment's revision increases with each change it can see: its flag states and segments, and " +
			"flag creation, definition changes and deletion (seen by all environments); another environment's state or segment leaves it alone.",
		f: func(t *testing.T, s store.Store) {
			ctx := t.Context()
			env(t, s, "dev", "prod")
			last := map[string]int64{"dev": revision(t, s, "dev"), "prod": revision(t, s, "prod")}
			check := func(step string, changed ...string) {
				t.Helper()
				for e, before := range last {
					now := revision(t, s, e)
					_, snapRev, err := s.Snapshot(ctx, e)
					if err != nil {
						t.Fatal(err)
					}
					if snapRev != now {
						t.Errorf("after %s: Snapshot(%s) revision %d, Revision %d", step, e, snapRev, now)
					}
					switch {
					case slices.Contains(changed, e) && now <= before:
						t.Errorf("after %s: %s's revision stayed at %d; want it to increase", step, e, now)
					case !slices.Contains(changed, e) && now != before:
						t.Errorf("after %s: %s's revision moved from %d to %d; want it unchanged", step, e, before, now)
					}
					last[e] = now
				}
			}
			createFlag(t, s, boolDef("summarize"), offState())
			check("CreateFlag", "dev", "prod")
			updateState(t, s, "dev", "summarize", func(st *store.FlagState) { st.Enabled = true })
			check("UpdateFlagState in dev", "dev")
			putSegment(t, s, store.Segment{Environment: "prod", Key: "beta", Included: []string{"u1"}}, 0)
			check("PutSegment in prod", "prod")
			def := boolDef("summarize")
			def.Description = "changed"
			if _, err := s.UpdateFlagDefinition(ctx, def, 1, change); err != nil {
				t.Fatal(err)
			}
			check("UpdateFlagDefinition", "dev", "prod")
			if err := s.DeleteSegment(ctx, "prod", "beta", change); err != nil {
				t.Fatal(err)
			}
			check("DeleteSegment in prod", "prod")
			if err := s.DeleteFlag(ctx, "summarize", change); err != nil {
				t.Fatal(err)
			}
			check("DeleteFlag", "dev", "prod")
			_, err := s.UpdateFlagState(ctx, "dev", "summarize", store.FlagState{}, 1, change)
			wantErr(t, "update of the deleted flag", err, store.ErrNotFound)
			check("a refused update")
		},
	},
	{
		name:        "Times/UTCAtMicroseconds",
		explanation: "times come back in UTC, truncated to microseconds, and equal to what the mutation returned.",
		f: func(t *testing.T, s store.Store) {
			ctx := t.Context()
			created, err := s.CreateEnvironment(ctx, store.Environment{Key: "prod"}, change)
			if err != nil {
				t.Fatal(err)
			}
			got, err := s.GetEnvironment(ctx, "prod")
			if err != nil {
				t.Fatal(err)
			}
			createFlag(t, s, boolDef("summarize"), offState())
			f := updateState(t, s, "prod", "summarize", func(st *store.FlagState) { st.Enabled = true })
			read := getFlag(t, s, "prod", "summarize")
			for name, pair := range map[string][2]time.Time{
				"environment created": {created.CreatedAt, got.CreatedAt},
				"state updated":       {f.State.UpdatedAt, read.State.UpdatedAt},
			} {
				returned, stored := pair[0], pair[1]
				if stored.Location() != time.UTC || stored.Nanosecond()%1000 != 0 || stored != returned {
					t.Errorf("%s: returned %v, read back %v (%s); want the same UTC time at microsecond precision",
						name, returned, stored, stored.Location())
				}
			}
		},
	},
}
