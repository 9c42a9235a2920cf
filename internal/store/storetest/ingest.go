package storetest

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/ramp-release/ramp/internal/store"
)

// ingestCases check metric definitions, the aggregator checkpoint, feedback and the
// analysis history.
var ingestCases = []testCase{
	{
		name: "Metrics/CreateUpdateDeleteWithVersionsAndAudit",
		explanation: "PutMetric creates a definition once (ErrExists after), replaces it only at the version read (ErrConflict otherwise), " +
			"ListMetrics lists by key, DeleteMetric removes it (ErrNotFound after), and each mutation is audited.",
		f: func(t *testing.T, s store.Store) {
			ctx := t.Context()
			m := store.MetricDefinition{Key: "thumbs_up", Kind: "proportion", Direction: "higher_is_better", Event: "thumbs",
				Population: "active", Tolerance: &store.MetricTolerance{Absolute: 0.02}, Tau: 0.02}
			got, err := s.PutMetric(ctx, m, 0, change)
			if err != nil {
				t.Fatal(err)
			}
			if got.Version != 1 || got.CreatedAt.IsZero() {
				t.Errorf("created: version %d, created_at %v; want 1 and a time", got.Version, got.CreatedAt)
			}
			_, err = s.PutMetric(ctx, m, 0, change)
			wantErr(t, "creating it again", err, store.ErrExists)
			m.Description = "share of raters giving a thumbs-up"
			_, err = s.PutMetric(ctx, m, 7, change)
			wantErr(t, "an update at a stale version", err, store.ErrConflict)
			up, err := s.PutMetric(ctx, m, 1, change)
			if err != nil {
				t.Fatal(err)
			}
			read, err := s.GetMetric(ctx, "thumbs_up")
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(up, read, cmpOpts...); diff != "" {
				t.Errorf("GetMetric (-put +get):\n%s", diff)
			}
			if read.Version != 2 || read.Description != m.Description || read.Tolerance == nil || read.Tolerance.Absolute != 0.02 {
				t.Errorf("after update: %+v", read)
			}
			if _, err := s.PutMetric(ctx, store.MetricDefinition{Key: "errors", Kind: "proportion", Direction: "lower_is_better", Event: "error"}, 0, change); err != nil {
				t.Fatal(err)
			}
			ms, err := s.ListMetrics(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(ms) != 2 || ms[0].Key != "errors" || ms[1].Key != "thumbs_up" {
				t.Errorf("ListMetrics = %v; want errors, thumbs_up", ms)
			}
			_, err = s.PutMetric(ctx, store.MetricDefinition{Key: "Bad Key"}, 0, change)
			wantErr(t, "an invalid key", err, store.ErrInvalid)
			if err := s.DeleteMetric(ctx, "errors", change); err != nil {
				t.Fatal(err)
			}
			_, err = s.GetMetric(ctx, "errors")
			wantErr(t, "a deleted metric", err, store.ErrNotFound)
			wantErr(t, "deleting it again", s.DeleteMetric(ctx, "errors", change), store.ErrNotFound)
			var actions []string
			for _, e := range allAudit(t, s) {
				actions = append(actions, e.Action+" "+e.Target)
			}
			want := []string{"metric.create metric:thumbs_up", "metric.update metric:thumbs_up", "metric.create metric:errors", "metric.delete metric:errors"}
			if diff := cmp.Diff(want, actions); diff != "" {
				t.Errorf("audit (-want +got):\n%s", diff)
			}
		},
	},
	{
		name: "Ingest/CheckpointMovesOnOnlyFromTheSeqRead",
		explanation: "the aggregator checkpoint starts at 0 with no state, SaveIngestCheckpoint stores seq and state together when the stored seq is prevSeq, " +
			"and refuses with ErrConflict (changing nothing, appending no feedback) when another aggregator moved it on.",
		f: func(t *testing.T, s store.Store) {
			ctx := t.Context()
			cp, err := s.IngestCheckpoint(ctx)
			if err != nil || cp.Seq != 0 || len(cp.State) != 0 {
				t.Fatalf("initial checkpoint = %+v, %v; want seq 0 and no state", cp, err)
			}
			state := []byte("state\x00\xff after 10")
			if err := s.SaveIngestCheckpoint(ctx, 0, store.IngestCheckpoint{Seq: 10, State: state}, nil); err != nil {
				t.Fatal(err)
			}
			fb := []store.Feedback{{RolloutID: "r1", Stage: 2, StageName: "ring-5", Arm: "treatment", Variant: "on", Unit: "u1", Metric: "rating", Value: 2, Comment: "too slow", Time: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}}
			err = s.SaveIngestCheckpoint(ctx, 5, store.IngestCheckpoint{Seq: 20, State: []byte("other")}, fb)
			wantErr(t, "a save from a stale seq", err, store.ErrConflict)
			cp, err = s.IngestCheckpoint(ctx)
			if err != nil || cp.Seq != 10 || string(cp.State) != string(state) || cp.SavedAt.IsZero() {
				t.Errorf("after a refused save: %d %q %v, %v; want 10 %q", cp.Seq, cp.State, cp.SavedAt, err, state)
			}
			if got, _ := s.ListFeedback(ctx, store.FeedbackFilter{RolloutID: "r1", Stage: -1}); len(got) != 0 {
				t.Errorf("a refused save appended feedback: %v", got)
			}
			if err := s.SaveIngestCheckpoint(ctx, 10, store.IngestCheckpoint{Seq: 20, State: []byte("s20")}, fb); err != nil {
				t.Fatal(err)
			}
			cp, _ = s.IngestCheckpoint(ctx)
			if cp.Seq != 20 || string(cp.State) != "s20" {
				t.Errorf("checkpoint = %d %q; want 20 s20", cp.Seq, cp.State)
			}
			got, err := s.ListFeedback(ctx, store.FeedbackFilter{RolloutID: "r1", Stage: -1})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(fb, got, cmpopts.IgnoreFields(store.Feedback{}, "Seq")); diff != "" {
				t.Errorf("feedback (-want +got):\n%s", diff)
			}
		},
	},
	{
		name:        "Ingest/FeedbackIsBoundedPerArmAndFiltered",
		explanation: "feedback lists newest first, filtered by stage and variant with paging, and keeps at most MaxFeedbackPerArm comments per rollout, stage and arm, dropping the oldest.",
		f: func(t *testing.T, s store.Store) {
			ctx := t.Context()
			at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
			var batch []store.Feedback
			for i := range store.MaxFeedbackPerArm + 5 {
				batch = append(batch, store.Feedback{RolloutID: "r1", Stage: 1, StageName: "beta", Arm: "treatment", Variant: "on", Unit: "u", Metric: "rating",
					Value: 5, Comment: fmt.Sprintf("t%d", i), Time: at.Add(time.Duration(i) * time.Second)})
			}
			batch = append(batch,
				store.Feedback{RolloutID: "r1", Stage: 1, StageName: "beta", Arm: "control", Variant: "off", Unit: "v", Metric: "rating", Value: 1, Comment: "c0", Time: at},
				store.Feedback{RolloutID: "r1", Stage: 2, StageName: "ring", Arm: "control", Variant: "off", Unit: "v", Metric: "rating", Value: 1, Comment: "c1", Time: at},
				store.Feedback{RolloutID: "r2", Stage: 1, StageName: "beta", Arm: "control", Variant: "off", Unit: "v", Metric: "rating", Value: 1, Comment: "other rollout", Time: at})
			if err := s.SaveIngestCheckpoint(ctx, 0, store.IngestCheckpoint{Seq: 1}, batch); err != nil {
				t.Fatal(err)
			}
			tr, err := s.ListFeedback(ctx, store.FeedbackFilter{RolloutID: "r1", Stage: 1, Variant: "on", Limit: 1000})
			if err != nil {
				t.Fatal(err)
			}
			if len(tr) != store.MaxFeedbackPerArm || tr[0].Comment != fmt.Sprintf("t%d", store.MaxFeedbackPerArm+4) || tr[len(tr)-1].Comment != "t5" {
				t.Errorf("treatment feedback: %d comments from %q to %q; want %d from the newest to t5", len(tr), tr[0].Comment, tr[len(tr)-1].Comment, store.MaxFeedbackPerArm)
			}
			page, err := s.ListFeedback(ctx, store.FeedbackFilter{RolloutID: "r1", Stage: 1, Variant: "on", Limit: 2, BeforeSeq: tr[0].Seq})
			if err != nil || len(page) != 2 || page[0].Comment != tr[1].Comment {
				t.Errorf("paging before %d: %v, %v", tr[0].Seq, page, err)
			}
			ctl, err := s.ListFeedback(ctx, store.FeedbackFilter{RolloutID: "r1", Stage: -1, Variant: "off"})
			if err != nil {
				t.Fatal(err)
			}
			var comments []string
			for _, f := range ctl {
				comments = append(comments, f.Comment)
			}
			if diff := cmp.Diff([]string{"c1", "c0"}, comments); diff != "" {
				t.Errorf("control feedback of every stage (-want +got):\n%s", diff)
			}
		},
	},
	{
		name:        "Ingest/AnalysisPointsAreBoundedAndOrdered",
		explanation: "analysis points come back oldest first, filtered by stage, the latest limit of them, and at most MaxAnalysisPoints are kept per rollout.",
		f: func(t *testing.T, s store.Store) {
			ctx := t.Context()
			at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
			for i := range 5 {
				data, _ := json.Marshal(map[string]int{"i": i})
				stage := 0
				if i >= 3 {
					stage = 1
				}
				if err := s.AppendAnalysisPoint(ctx, store.AnalysisPoint{RolloutID: "r1", At: at.Add(time.Duration(i) * time.Second), Stage: stage, Data: data}); err != nil {
					t.Fatal(err)
				}
			}
			if err := s.AppendAnalysisPoint(ctx, store.AnalysisPoint{RolloutID: "r2", At: at, Data: []byte(`{"i":99}`)}); err != nil {
				t.Fatal(err)
			}
			ps, err := s.AnalysisPoints(ctx, "r1", -1, 4)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, p := range ps {
				got = append(got, fmt.Sprintf("%d %s %s", p.Stage, p.At.Format("15:04:05"), p.Data))
			}
			want := []string{`0 12:00:01 {"i":1}`, `0 12:00:02 {"i":2}`, `1 12:00:03 {"i":3}`, `1 12:00:04 {"i":4}`}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("AnalysisPoints(r1, all, 4) (-want +got):\n%s", diff)
			}
			ps, _ = s.AnalysisPoints(ctx, "r1", 1, 0)
			if len(ps) != 2 {
				t.Errorf("stage 1 has %d points; want 2", len(ps))
			}
			if testing.Short() {
				return
			}
			for i := range store.MaxAnalysisPoints {
				if err := s.AppendAnalysisPoint(ctx, store.AnalysisPoint{RolloutID: "r3", At: at.Add(time.Duration(i) * time.Second), Data: []byte(`{}`)}); err != nil {
					t.Fatal(err)
				}
			}
			if err := s.AppendAnalysisPoint(ctx, store.AnalysisPoint{RolloutID: "r3", At: at.Add(time.Hour), Data: []byte(`{"last":true}`)}); err != nil {
				t.Fatal(err)
			}
			ps, _ = s.AnalysisPoints(ctx, "r3", -1, store.MaxAnalysisPoints+10)
			if len(ps) != store.MaxAnalysisPoints || ps[0].At != at.Add(time.Second) || string(ps[len(ps)-1].Data) != `{"last":true}` {
				t.Errorf("after %d points: %d kept, first at %v; want %d from the second", store.MaxAnalysisPoints+1, len(ps), ps[0].At, store.MaxAnalysisPoints)
			}
		},
	},
}
