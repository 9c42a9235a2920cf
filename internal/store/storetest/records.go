package storetest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ramp-release/ramp/flags"
	"github.com/ramp-release/ramp/internal/audit"
	"github.com/ramp-release/ramp/internal/store"
)

// The secrets' hashes used in the cases; no audit entry may contain them.
const (
	tokenHash  = "4f1b2c0e9a7d6b5c4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d"
	sdkKeyHash = "9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c8b7a6f5e4d3c2b1a0f9e8d"
)

// maxLimit is the most items a list returns (store.Page, store.AuditFilter).
const maxLimit = 1000

// recordCases cover the audit log, credentials and the event queue.
var recordCases = []testCase{
	{
		name: "Audit/OneEntryPerMutation",
		explanation: "every mutation appends exactly one audit entry, in the same transaction, with the action, environment, target, " +
			"actor and reason, and the object's JSON before and after (never a secret's hash); refused mutations append nothing.",
		f: func(t *testing.T, s store.Store) {
			ctx := t.Context()
			var tokenID, keyID string
			def := boolDef("summarize")
			def.Description = "changed"
			steps := []struct {
				name                   string
				do                     func() error
				action, env            string
				target                 func() string
				before, after          bool
				afterField, afterValue string // a top-level field of After and its JSON value
			}{
				{"CreateEnvironment", func() error {
					_, err := s.CreateEnvironment(ctx, store.Environment{Key: "prod", Name: "Production"}, change)
					return err
				}, "environment.create", "prod", fixed("environment:prod"), false, true, "name", `"Production"`},
				{"CreateFlag", func() error { return s.CreateFlag(ctx, boolDef("summarize"), offState(), change) },
					"flag.create", "", fixed("flag:summarize"), false, true, "", ""},
				{"UpdateFlagDefinition", func() error {
					_, err := s.UpdateFlagDefinition(ctx, def, 1, change)
					return err
				}, "flag.definition.update", "", fixed("flag:summarize"), true, true, "version", "2"},
				{"UpdateFlagState", func() error {
					st := offState()
					st.Enabled = true
					_, err := s.UpdateFlagState(ctx, "prod", "summarize", st, 1, change)
					return err
				}, "flag.state.update", "prod", fixed("flag:summarize"), true, true, "enabled", "true"},
				{"PutSegment create", func() error {
					_, err := s.PutSegment(ctx, store.Segment{Environment: "prod", Key: "beta", Included: []string{"u1"}}, 0, change)
					return err
				}, "segment.put", "prod", fixed("segment:prod/beta"), false, true, "version", "1"},
				{"PutSegment update", func() error {
					_, err := s.PutSegment(ctx, store.Segment{Environment: "prod", Key: "beta", Included: []string{"u2"}}, 1, change)
					return err
				}, "segment.put", "prod", fixed("segment:prod/beta"), true, true, "version", "2"},
				{"DeleteSegment", func() error { return s.DeleteSegment(ctx, "prod", "beta", change) },
					"segment.delete", "prod", fixed("segment:prod/beta"), true, false, "", ""},
				{"DeleteFlag", func() error { return s.DeleteFlag(ctx, "summarize", change) },
					"flag.delete", "", fixed("flag:summarize"), true, false, "", ""},
				{"CreateAPIToken", func() error {
					tk, err := s.CreateAPIToken(ctx, store.APIToken{Name: "ci", Role: store.RoleEditor, Hash: tokenHash, Prefix: "rmp_ab"}, change)
					tokenID = tk.ID
					return err
				}, "api_token.create", "", func() string { return "api_token:" + tokenID }, false, true, "role", `"editor"`},
				{"RevokeAPIToken", func() error { return s.RevokeAPIToken(ctx, tokenID, change) },
					"api_token.revoke", "", func() string { return "api_token:" + tokenID }, true, true, "", ""},
				{"CreateSDKKey", func() error {
					k, err := s.CreateSDKKey(ctx, store.SDKKey{Environment: "prod", Kind: store.SDKKeyServer, Name: "backend", Hash: sdkKeyHash, Prefix: "sdk_ab"}, change)
					keyID = k.ID
					return err
				}, "sdk_key.create", "prod", func() string { return "sdk_key:" + keyID }, false, true, "kind", `"server"`},
				{"RevokeSDKKey", func() error { return s.RevokeSDKKey(ctx, keyID, change) },
					"sdk_key.revoke", "prod", func() string { return "sdk_key:" + keyID }, true, true, "", ""},
			}
			n := 0
			for _, st := range steps {
				if err := st.do(); err != nil {
					t.Fatalf("%s: %v", st.name, err)
				}
				es := allAudit(t, s)
				if len(es) != n+1 {
					t.Fatalf("%s: the log grew from %d to %d entries; want one more", st.name, n, len(es))
				}
				n++
				e := es[len(es)-1]
				got := fmt.Sprintf("%s env=%q target=%q actor=%q reason=%q before=%v after=%v",
					e.Action, e.Environment, e.Target, e.Actor, e.Reason, len(e.Before) > 0, len(e.After) > 0)
				want := fmt.Sprintf("%s env=%q target=%q actor=%q reason=%q before=%v after=%v",
					st.action, st.env, st.target(), change.Actor, change.Reason, st.before, st.after)
				if got != want {
					t.Errorf("%s: entry\n  %s\nwant\n  %s", st.name, got, want)
				}
				for _, raw := range []json.RawMessage{e.Before, e.After} {
					if len(raw) > 0 && !json.Valid(raw) {
						t.Errorf("%s: audit JSON is not valid: %s", st.name, raw)
					}
					if bytes.Contains(raw, []byte(tokenHash)) || bytes.Contains(raw, []byte(sdkKeyHash)) {
						t.Errorf("%s: audit JSON holds a secret's hash: %s", st.name, raw)
					}
				}
				if st.afterField != "" {
					after := decodeObject(t, e.After)
					v, _ := json.Marshal(after[st.afterField])
					if string(v) != st.afterValue {
						t.Errorf("%s: after.%s = %s; want %s (after: %s)", st.name, st.afterField, v, st.afterValue, e.After)
					}
				}
			}
			// Refused mutations leave the log alone.
			_, err := s.CreateEnvironment(ctx, store.Environment{Key: "prod"}, change)
			wantErr(t, "duplicate environment", err, store.ErrExists)
			wantErr(t, "delete a missing flag", s.DeleteFlag(ctx, "summarize", change), store.ErrNotFound)
			if es := allAudit(t, s); len(es) != n {
				t.Errorf("refused mutations changed the log from %d to %d entries", n, len(es))
			}
			if err := audit.Verify(allAudit(t, s)); err != nil {
				t.Error(err)
			}
		},
	},
	{
		name:        "Audit/ConcurrentWritersKeepOneChain",
		explanation: "mutations from many goroutines at once are sealed onto one chain: audit.Verify passes and every mutation has its entry.",
		f: func(t *testing.T, s store.Store) {
			ctx := t.Context()
			env(t, s, "prod")
			const workers, each = 8, 20
			for w := range workers {
				createFlag(t, s, boolDef(fmt.Sprintf("f%d", w)), offState())
			}
			base := len(allAudit(t, s))
			parallel(workers, func(w int) {
				key := fmt.Sprintf("f%d", w)
				version, segVersion := int64(1), int64(0)
				for i := range each {
					var err error
					switch i % 3 {
					case 0:
						st := offState()
						st.Enabled = i%2 == 0
						_, err = s.UpdateFlagState(ctx, "prod", key, st, version, change)
						version++
					case 1:
						_, err = s.PutSegment(ctx, store.Segment{Environment: "prod", Key: "seg-" + key, Included: []string{fmt.Sprint(i)}}, segVersion, change)
						segVersion++
					default:
						_, err = s.AppendAudit(ctx, store.AuditEntry{Actor: "controller", Action: "rollout.tick", Target: "flag:" + key, Reason: fmt.Sprint(i)})
					}
					if err != nil {
						t.Errorf("worker %d, mutation %d: %v", w, i, err)
						return
					}
				}
			})
			es := allAudit(t, s)
			if len(es) != base+workers*each {
				t.Errorf("%d entries; want %d", len(es), base+workers*each)
			}
			if err := audit.Verify(es); err != nil {
				t.Errorf("the chain broke under concurrent writers: %v", err)
			}
		},
	},
	{
		name:        "Audit/AppendSealsTheEntry",
		explanation: "AppendAudit sets the sequence number, time (when zero) and hashes, and refuses entries without an actor or action or with invalid JSON.",
		f: func(t *testing.T, s store.Store) {
			ctx := t.Context()
			e, err := s.AppendAudit(ctx, store.AuditEntry{Actor: "alice", Action: "config.export", Target: "environment:prod",
				After: json.RawMessage(`{"format": "yaml",  "flags": 3}`), Reason: "backup"})
			if err != nil {
				t.Fatal(err)
			}
			if e.Seq != 1 || e.PrevHash != audit.Genesis || e.Hash != audit.Hash(e) || e.Time.IsZero() {
				t.Errorf("appended entry %+v; want seq 1 after genesis, a time, and its own hash", e)
			}
			es := allAudit(t, s)
			if len(es) != 1 {
				t.Fatalf("%d entries; want 1", len(es))
			}
			if diff := cmp.Diff(e, es[0]); diff != "" {
				t.Errorf("stored entry (-returned +stored):\n%s", diff)
			}
			if string(es[0].After) != `{"format": "yaml",  "flags": 3}` {
				t.Errorf("After came back as %s; want the exact bytes", es[0].After)
			}
			_, err = s.AppendAudit(ctx, store.AuditEntry{Actor: "alice", Action: "x", Target: "y", Before: json.RawMessage(`{oops`)})
			wantErr(t, "invalid JSON", err, store.ErrInvalid)
			_, err = s.AppendAudit(ctx, store.AuditEntry{Actor: "alice", Target: "y"})
			wantErr(t, "no action", err, store.ErrInvalid)
		},
	},
	{
		name:        "Audit/ListFiltersAndPagesNewestFirst",
		explanation: "ListAudit filters by environment, target, actor and action, returns entries newest first, pages with BeforeSeq and Limit, and returns 100 by default.",
		f: func(t *testing.T, s store.Store) {
			ctx := t.Context()
			env(t, s, "dev", "prod")
			createFlag(t, s, boolDef("a"), offState())
			createFlag(t, s, boolDef("b"), offState())
			bob := store.Change{Actor: "bob", Reason: "tuning"}
			for i, step := range []struct{ env, key string }{{"prod", "a"}, {"dev", "a"}, {"prod", "b"}, {"prod", "a"}} {
				c := change
				if i%2 == 1 {
					c = bob
				}
				f := getFlag(t, s, step.env, step.key)
				st := f.State
				st.Enabled = !st.Enabled
				if _, err := s.UpdateFlagState(ctx, step.env, step.key, st, f.State.Version, c); err != nil {
					t.Fatal(err)
				}
			}
			list := func(f store.AuditFilter) []int64 {
				t.Helper()
				es, err := s.ListAudit(ctx, f)
				if err != nil {
					t.Fatal(err)
				}
				var seqs []int64
				for _, e := range es {
					seqs = append(seqs, e.Seq)
				}
				return seqs
			}
			// Entries: 1 env dev, 2 env prod, 3 flag a, 4 flag b, 5 prod/a, 6 dev/a (bob), 7 prod/b, 8 prod/a (bob).
			for _, c := range []struct {
				name   string
				filter store.AuditFilter
				want   []int64
			}{
				{"everything", store.AuditFilter{}, []int64{8, 7, 6, 5, 4, 3, 2, 1}},
				{"environment prod", store.AuditFilter{Environment: "prod"}, []int64{8, 7, 5, 2}},
				{"target flag:a", store.AuditFilter{Target: "flag:a"}, []int64{8, 6, 5, 3}},
				{"actor bob", store.AuditFilter{Actor: "bob"}, []int64{8, 6}},
				{"action and environment", store.AuditFilter{Action: "flag.state.update", Environment: "prod"}, []int64{8, 7, 5}},
				{"first page", store.AuditFilter{Limit: 3}, []int64{8, 7, 6}},
				{"next page", store.AuditFilter{Limit: 3, BeforeSeq: 6}, []int64{5, 4, 3}},
				{"nothing matches", store.AuditFilter{Actor: "mallory"}, nil},
			} {
				if diff := cmp.Diff(c.want, list(c.filter)); diff != "" {
					t.Errorf("%s: seqs (-want +got):\n%s", c.name, diff)
				}
			}
			for i := range 100 {
				if _, err := s.AppendAudit(ctx, store.AuditEntry{Actor: "controller", Action: "rollout.tick", Target: "rollout:r1", Reason: fmt.Sprint(i)}); err != nil {
					t.Fatal(err)
				}
			}
			if got := list(store.AuditFilter{}); len(got) != 100 || got[0] != 108 {
				t.Errorf("default page: %d entries from seq %v; want 100 from 108", len(got), got[:min(1, len(got))])
			}
		},
	},
	{
		name: "APITokens/LookupRevokeCount",
		explanation: "API tokens are found by hash, revoked ones too (with RevokedAt set, for the caller to reject); CountAPITokens counts " +
			"tokens not revoked; a taken hash is ErrExists, an unknown role ErrInvalid.",
		f: func(t *testing.T, s store.Store) {
			ctx := t.Context()
			if n, err := s.CountAPITokens(ctx); err != nil || n != 0 {
				t.Fatalf("CountAPITokens on an empty store = %d, %v; want 0", n, err)
			}
			admin, err := s.CreateAPIToken(ctx, store.APIToken{Name: "bootstrap", Role: store.RoleAdmin, Hash: tokenHash, Prefix: "rmp_4f1b"}, change)
			if err != nil {
				t.Fatal(err)
			}
			if admin.ID == "" || admin.CreatedAt.IsZero() || admin.CreatedBy != change.Actor || admin.RevokedAt != nil {
				t.Errorf("created token %+v; want an ID, a creation time, created by %q, not revoked", admin, change.Actor)
			}
			ci, err := s.CreateAPIToken(ctx, store.APIToken{Name: "ci", Role: store.RoleViewer, Hash: "h2", Prefix: "rmp_h2", CreatedBy: "bob"}, change)
			if err != nil {
				t.Fatal(err)
			}
			got, err := s.APITokenByHash(ctx, tokenHash)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(admin, got); diff != "" {
				t.Errorf("APITokenByHash (-created +found):\n%s", diff)
			}
			if err := s.RevokeAPIToken(ctx, ci.ID, change); err != nil {
				t.Fatal(err)
			}
			revoked, err := s.APITokenByHash(ctx, "h2")
			if err != nil {
				t.Fatal(err)
			}
			if revoked.RevokedAt == nil || revoked.CreatedBy != "bob" {
				t.Errorf("revoked token %+v; want RevokedAt set and created by bob", revoked)
			}
			if n, err := s.CountAPITokens(ctx); err != nil || n != 1 {
				t.Errorf("CountAPITokens = %d, %v; want 1", n, err)
			}
			all, err := s.ListAPITokens(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(all) != 2 {
				t.Errorf("ListAPITokens returned %d tokens; want 2, the revoked one included", len(all))
			}
			entries := len(allAudit(t, s))
			if err := s.RevokeAPIToken(ctx, ci.ID, change); err != nil {
				t.Errorf("revoking a revoked token: %v; want nil", err)
			}
			if n := len(allAudit(t, s)); n != entries {
				t.Errorf("revoking a revoked token wrote %d audit entries; want none", n-entries)
			}
			_, err = s.APITokenByHash(ctx, "nope")
			wantErr(t, "unknown hash", err, store.ErrNotFound)
			_, err = s.CreateAPIToken(ctx, store.APIToken{Name: "dup", Role: store.RoleViewer, Hash: tokenHash}, change)
			wantErr(t, "a taken hash", err, store.ErrExists)
			_, err = s.CreateAPIToken(ctx, store.APIToken{Name: "x", Role: "root", Hash: "h3"}, change)
			wantErr(t, "an unknown role", err, store.ErrInvalid)
			wantErr(t, "revoke an unknown token", s.RevokeAPIToken(ctx, "tok_nope", change), store.ErrNotFound)
		},
	},
	{
		name:        "SDKKeys/LookupRevokeList",
		explanation: "SDK keys belong to an existing environment, are found by hash (revoked ones too, with RevokedAt set) and listed per environment.",
		f: func(t *testing.T, s store.Store) {
			ctx := t.Context()
			env(t, s, "dev", "prod")
			k, err := s.CreateSDKKey(ctx, store.SDKKey{Environment: "prod", Kind: store.SDKKeyServer, Name: "backend", Hash: sdkKeyHash, Prefix: "sdk_9e8d"}, change)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.CreateSDKKey(ctx, store.SDKKey{Environment: "dev", Kind: store.SDKKeyClient, Name: "web", Hash: "h2"}, change); err != nil {
				t.Fatal(err)
			}
			got, err := s.SDKKeyByHash(ctx, sdkKeyHash)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(k, got); diff != "" {
				t.Errorf("SDKKeyByHash (-created +found):\n%s", diff)
			}
			if err := s.RevokeSDKKey(ctx, k.ID, change); err != nil {
				t.Fatal(err)
			}
			if got, err := s.SDKKeyByHash(ctx, sdkKeyHash); err != nil || got.RevokedAt == nil {
				t.Errorf("revoked key: %+v, %v; want it found with RevokedAt set", got, err)
			}
			prod, err := s.ListSDKKeys(ctx, "prod")
			if err != nil {
				t.Fatal(err)
			}
			if len(prod) != 1 || prod[0].ID != k.ID {
				t.Errorf("ListSDKKeys(prod) = %+v; want only %s", prod, k.ID)
			}
			_, err = s.CreateSDKKey(ctx, store.SDKKey{Environment: "staging", Kind: store.SDKKeyServer, Hash: "h3"}, change)
			wantErr(t, "a key for an unknown environment", err, store.ErrNotFound)
			_, err = s.CreateSDKKey(ctx, store.SDKKey{Environment: "prod", Kind: "admin", Hash: "h4"}, change)
			wantErr(t, "an unknown kind", err, store.ErrInvalid)
			_, err = s.CreateSDKKey(ctx, store.SDKKey{Environment: "prod", Kind: store.SDKKeyServer, Hash: sdkKeyHash}, change)
			wantErr(t, "a taken hash", err, store.ErrExists)
			_, err = s.SDKKeyByHash(ctx, "nope")
			wantErr(t, "unknown hash", err, store.ErrNotFound)
			wantErr(t, "revoke an unknown key", s.RevokeSDKKey(ctx, "sdk_nope", change), store.ErrNotFound)
		},
	},
	{
		name:        "Events/AppendIsIdempotentPerBatch",
		explanation: "AppendEventBatch stores a batch id once per environment (a repeat returns the first copy's seq and duplicate=true) and EventBatches returns batches after a seq, in order, payloads intact.",
		f: func(t *testing.T, s store.Store) {
			ctx := t.Context()
			env(t, s, "dev", "prod")
			payload := []byte(`{"events":[{"kind":"exposure","flag":"summarize"}]}` + "\x00\xff")
			seq1, dup, err := s.AppendEventBatch(ctx, "prod", "b1", payload)
			if err != nil || dup {
				t.Fatalf("first append: seq %d, duplicate %v, %v", seq1, dup, err)
			}
			again, dup, err := s.AppendEventBatch(ctx, "prod", "b1", []byte("other"))
			if err != nil || !dup || again != seq1 {
				t.Errorf("repeat: seq %d, duplicate %v, %v; want seq %d, duplicate", again, dup, err, seq1)
			}
			seq2, dup, err := s.AppendEventBatch(ctx, "dev", "b1", []byte("dev"))
			if err != nil || dup || seq2 <= seq1 {
				t.Errorf("same id in another environment: seq %d, duplicate %v, %v; want a new seq after %d", seq2, dup, err, seq1)
			}
			seq3, _, err := s.AppendEventBatch(ctx, "prod", "b2", []byte("b2"))
			if err != nil {
				t.Fatal(err)
			}
			bs, err := s.EventBatches(ctx, 0, 10)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, b := range bs {
				got = append(got, fmt.Sprintf("%d %s/%s %q", b.Seq, b.Environment, b.BatchID, b.Payload))
				if b.ReceivedAt.IsZero() {
					t.Errorf("batch %d has no receive time", b.Seq)
				}
			}
			want := []string{
				fmt.Sprintf("%d prod/b1 %q", seq1, payload),
				fmt.Sprintf("%d dev/b1 %q", seq2, "dev"),
				fmt.Sprintf("%d prod/b2 %q", seq3, "b2"),
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("EventBatches(0, 10) (-want +got):\n%s", diff)
			}
			bs, err = s.EventBatches(ctx, seq1, 1)
			if err != nil || len(bs) != 1 || bs[0].Seq != seq2 {
				t.Errorf("EventBatches(%d, 1) = %v, %v; want batch %d", seq1, bs, err, seq2)
			}
			_, _, err = s.AppendEventBatch(ctx, "staging", "b1", payload)
			wantErr(t, "a batch for an unknown environment", err, store.ErrNotFound)
			_, _, err = s.AppendEventBatch(ctx, "prod", "", payload)
			wantErr(t, "a batch without an id", err, store.ErrInvalid)
		},
	},
	{
		name:        "Events/ConcurrentAppendsGetDistinctOrderedSeqs",
		explanation: "concurrent appends each get their own seq, a batch sent twice at once is stored once, and a reader sees every batch exactly once in seq order.",
		f: func(t *testing.T, s store.Store) {
			ctx := t.Context()
			env(t, s, "prod")
			const workers, each = 6, 10
			seqs := make([][]int64, workers)
			parallel(workers, func(w int) {
				for i := range each {
					// Workers pair up and send the same batch ids: each id must be stored once.
					id := fmt.Sprintf("batch-%d-%d", w/2, i)
					seq, _, err := s.AppendEventBatch(ctx, "prod", id, []byte(id))
					if err != nil {
						t.Error(err)
						return
					}
					seqs[w] = append(seqs[w], seq)
				}
			})
			var read []store.EventBatch
			for after := int64(0); ; {
				bs, err := s.EventBatches(ctx, after, 7)
				if err != nil {
					t.Fatal(err)
				}
				if len(bs) == 0 {
					break
				}
				read = append(read, bs...)
				after = bs[len(bs)-1].Seq
			}
			if len(read) != workers/2*each {
				t.Errorf("read %d batches; want %d", len(read), workers/2*each)
			}
			ids := map[string]int64{}
			for i, b := range read {
				if i > 0 && b.Seq <= read[i-1].Seq {
					t.Errorf("batch %d follows %d", b.Seq, read[i-1].Seq)
				}
				ids[b.BatchID] = b.Seq
			}
			for w := 0; w < workers; w += 2 {
				if !slices.Equal(seqs[w], seqs[w+1]) {
					t.Errorf("workers %d and %d sent the same batches but got seqs %v and %v", w, w+1, seqs[w], seqs[w+1])
				}
				for i, seq := range seqs[w] {
					if id := fmt.Sprintf("batch-%d-%d", w/2, i); ids[id] != seq {
						t.Errorf("%s was acknowledged as %d but stored as %d", id, seq, ids[id])
					}
				}
			}
		},
	},
	{
		name:        "Paging/LimitIsCapped",
		explanation: "a list asked for more than 1000 items returns 1000.",
		f: func(t *testing.T, s store.Store) {
			ctx := t.Context()
			for i := range maxLimit + 1 {
				if _, err := s.AppendAudit(ctx, store.AuditEntry{Actor: "controller", Action: "rollout.tick", Target: "rollout:r1", Reason: fmt.Sprint(i)}); err != nil {
					t.Fatal(err)
				}
			}
			es, err := s.ListAudit(ctx, store.AuditFilter{Limit: 5000})
			if err != nil {
				t.Fatal(err)
			}
			if len(es) != maxLimit {
				t.Errorf("ListAudit with Limit 5000 returned %d entries; want %d", len(es), maxLimit)
			}
		},
	},
	{
		name:        "Errors/SayWhatAndWhere",
		explanation: "errors name the operation and the keys involved, so a caller can log them as they are.",
		f: func(t *testing.T, s store.Store) {
			ctx := t.Context()
			env(t, s, "prod")
			_, err := s.GetFlag(ctx, "prod", "summarize")
			for _, part := range []string{"summarize", "prod", "not found"} {
				if err == nil || !strings.Contains(err.Error(), part) {
					t.Errorf("GetFlag error %v does not mention %q", err, part)
				}
			}
			_, err = s.GetFlag(ctx, "staging", "summarize")
			if err == nil || !strings.Contains(err.Error(), `environment "staging" not found`) {
				t.Errorf("GetFlag in an unknown environment: %v; want it to say the environment is missing", err)
			}
			var ve flags.ValidationErrors
			err = s.CreateFlag(ctx, store.FlagDefinition{Key: "x", Type: flags.TypeInt, Variants: map[string]any{"a": 1.5}}, store.FlagState{}, change)
			if !errors.As(err, &ve) || !strings.Contains(err.Error(), `flags["x"].variants["a"]`) {
				t.Errorf("CreateFlag with a fractional int: %v; want the variant's path", err)
			}
		},
	},
}

// fixed returns a function that returns s.
func fixed(s string) func() string { return func() string { return s } }
