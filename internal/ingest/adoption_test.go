package ingest_test

import (
	"bytes"
	"compress/flate"
	"encoding/gob"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/ramp-release/ramp/events"
	"github.com/ramp-release/ramp/internal/ingest"
	"github.com/ramp-release/ramp/internal/report"
	"github.com/ramp-release/ramp/internal/rollout"
	"github.com/ramp-release/ramp/internal/server"
	"github.com/ramp-release/ramp/internal/store"
)

// adoptionPlan is ringPlan guarded by error_rate with a gate on task completion (the
// report's default usage metric).
func adoptionPlan() rollout.Plan {
	p := ringPlan("error_rate")
	p.Gates = []rollout.Gate{{Metric: "task_completion", Direction: rollout.Increase}}
	return p
}

func holdoutExposure(unit string, at time.Time) events.Event {
	e := exposure(unit, "control", at, nil)
	e.Arm, e.RuleID = "holdout", "rollout.holdout"
	return e
}

// adoptionPhase1 ends with an event at t0 + 50 h; adoptionPhase2 at t0 + 8 d + 4 h.
// Units first exposed in hour [t0, t0+1h): a, b, c (treatment), d (control); in
// [t0+3h, t0+4h): e (holdout, so control) and f (treatment); g (treatment) at t0+50h.
func adoptionPhase1() []events.Event {
	h, m := time.Hour, time.Minute
	return []events.Event{
		metric("c", "task_completed", 1, t0.Add(5*m)), // before its exposure: no use
		exposure("a", "treatment", t0.Add(10*m), nil), exposure("b", "treatment", t0.Add(10*m), nil),
		exposure("c", "treatment", t0.Add(10*m), nil), exposure("d", "control", t0.Add(15*m), nil),
		metric("a", "task_completed", 1, t0.Add(20*m)), metric("a", "error", 1, t0.Add(20*m)),
		metric("b", "task_completed", 0, t0.Add(30*m)), // any value is a use
		metric("d", "task_completed", 1, t0.Add(h)),
		exposure("d", "treatment", t0.Add(2*h), nil), // stays in control, counted once
		holdoutExposure("e", t0.Add(3*h)), exposure("f", "treatment", t0.Add(3*h+30*m), nil),
		metric("a", "task_completed", 1, t0.Add(25*h)), metric("a", "task_completed", 1, t0.Add(26*h)),
		metric("f", "task_completed", 1, t0.Add(27*h+30*m)), // day 1 of f
		metric("b", "task_completed", 1, t0.Add(48*h-m)),    // day 1 of b, last minute
		metric("never-exposed", "task_completed", 1, t0.Add(time.Hour)),
		exposure("g", "treatment", t0.Add(50*h), nil),
	}
}

func adoptionPhase2() []events.Event {
	h, d := time.Hour, 24*time.Hour
	return []events.Event{
		metric("e", "task_completed", 1, t0.Add(51*h)),    // exactly first + 48 h: used, not day 1
		metric("a", "task_completed", 1, t0.Add(7*d+h)),   // day 7 of a
		metric("a", "task_completed", 1, t0.Add(8*d+4*h)), // past day 7: sets nothing, moves AsOf
	}
}

var (
	wantPhase1 = report.Adoption{Metric: "task_completion", AsOf: t0.Add(50 * time.Hour),
		Treatment: report.AdoptionCounts{Exposed: 5, Used: 3, Day1Eligible: 3, Day1: 2},
		Control:   report.AdoptionCounts{Exposed: 2, Used: 1, Day1Eligible: 1}}
	wantPhase2 = report.Adoption{Metric: "task_completion", AsOf: t0.Add(8*24*time.Hour + 4*time.Hour),
		Treatment: report.AdoptionCounts{Exposed: 5, Used: 3, Day1Eligible: 5, Day1: 3, Day7Eligible: 4, Day7: 1},
		Control:   report.AdoptionCounts{Exposed: 2, Used: 2, Day1Eligible: 2, Day7Eligible: 2}}
)

func adoption(t *testing.T, agg *ingest.Aggregator, metric string) report.Adoption {
	t.Helper()
	a, ok, err := agg.Adoption(t.Context(), "ro_test", metric)
	if err != nil || !ok {
		t.Fatalf("Adoption(%q) = %v, %v", metric, ok, err)
	}
	a.AsOf = a.AsOf.UTC()
	return a
}

// TestAdoptionCounters checks the first-exposure arm, the usage bits and their day-1
// and day-7 windows (half-open), and eligibility by whole hours of first exposure.
func TestAdoptionCounters(t *testing.T) {
	ctx := t.Context()
	st := openStore(t)
	setup(t, st, adoptionPlan())
	appendBatch(t, st, adoptionPhase1())
	agg := ingest.New(st, ingest.Options{})
	if err := agg.Restore(ctx); err != nil {
		t.Fatal(err)
	}
	foldAll(t, agg)
	if got := adoption(t, agg, "task_completion"); got != wantPhase1 {
		t.Errorf("after phase 1:\n got %+v\nwant %+v", got, wantPhase1)
	}
	if er := adoption(t, agg, "error_rate"); er.Treatment.Used != 1 || er.Treatment.Exposed != 5 || er.Control.Used != 0 {
		t.Errorf("error_rate adoption %+v; want a's error as the only use", er)
	}
	if _, ok, _ := agg.Adoption(ctx, "ro_test", "latency"); ok {
		t.Error("latency is not followed, yet Adoption found it")
	}
	if _, ok, _ := agg.Adoption(ctx, "ro_other", "task_completion"); ok {
		t.Error("an unknown rollout has an adoption aggregate")
	}
	appendBatch(t, st, adoptionPhase2())
	foldAll(t, agg)
	if got := adoption(t, agg, "task_completion"); got != wantPhase2 {
		t.Errorf("after phase 2:\n got %+v\nwant %+v", got, wantPhase2)
	}
}

// TestAdoptionUsageMetricsOption follows a metric named by Options.UsageMetrics only.
func TestAdoptionUsageMetricsOption(t *testing.T) {
	st := openStore(t)
	setup(t, st, ringPlan("error_rate"))
	appendBatch(t, st, []events.Event{exposure("a", "treatment", t0, nil), metric("a", "thumbs_up", 0, t0.Add(time.Minute))})
	agg := ingest.New(st, ingest.Options{UsageMetrics: []string{"thumbs_up_rate"}})
	if err := agg.Restore(t.Context()); err != nil {
		t.Fatal(err)
	}
	foldAll(t, agg)
	if got := adoption(t, agg, "thumbs_up_rate"); got.Treatment.Used != 1 || got.Treatment.Exposed != 1 {
		t.Errorf("thumbs_up_rate adoption %+v", got)
	}
	if _, ok, _ := agg.Adoption(t.Context(), "ro_test", "task_completion"); ok {
		t.Error("task_completion followed without being asked for")
	}
}

// TestAdoptionCheckpointRoundTrip checkpoints after phase 1, restores into a new
// aggregator, folds phase 2 there and compares with the uninterrupted run; an old
// checkpoint without adoption still loads, and the aggregate starts at the next Refresh.
func TestAdoptionCheckpointRoundTrip(t *testing.T) {
	ctx := t.Context()
	st := openStore(t)
	setup(t, st, adoptionPlan())
	appendBatch(t, st, adoptionPhase1())
	first := ingest.New(st, ingest.Options{})
	if err := first.Restore(ctx); err != nil {
		t.Fatal(err)
	}
	foldAll(t, first)
	if err := first.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	second := ingest.New(st, ingest.Options{})
	if err := second.Restore(ctx); err != nil {
		t.Fatal(err)
	}
	if got := adoption(t, second, "task_completion"); got != wantPhase1 {
		t.Errorf("restored:\n got %+v\nwant %+v", got, wantPhase1)
	}
	appendBatch(t, st, adoptionPhase2())
	foldAll(t, second)
	if got := adoption(t, second, "task_completion"); got != wantPhase2 {
		t.Errorf("restored, then phase 2:\n got %+v\nwant %+v", got, wantPhase2)
	}

	// A checkpoint written before adoption existed: the same fields minus Adoption.
	type oldSnapshot struct {
		Version int
		Seq     int64
	}
	seq := second.Status().Seq
	var buf bytes.Buffer
	zw, _ := flate.NewWriter(&buf, flate.BestSpeed)
	if err := gob.NewEncoder(zw).Encode(oldSnapshot{Version: 1, Seq: seq}); err != nil {
		t.Fatal(err)
	}
	zw.Close()
	cp, err := st.IngestCheckpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.SaveIngestCheckpoint(ctx, cp.Seq, store.IngestCheckpoint{Seq: seq, State: buf.Bytes()}, nil); err != nil {
		t.Fatal(err)
	}
	old := ingest.New(st, ingest.Options{})
	if err := old.Restore(ctx); err != nil {
		t.Fatalf("an old checkpoint does not load: %v", err)
	}
	if _, ok, _ := old.Adoption(ctx, "ro_test", "task_completion"); ok {
		t.Error("adoption out of an old checkpoint")
	}
	if err := old.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	appendBatch(t, st, []events.Event{exposure("z", "treatment", t0.Add(9*24*time.Hour), nil)})
	foldAll(t, old)
	if got := adoption(t, old, "task_completion"); got.Treatment.Exposed != 1 {
		t.Errorf("after an old checkpoint and a refresh: %+v; want the new unit counted", got)
	}
}

// TestAdoptionKeptEightDaysAfterTheEnd reads an ended rollout: exposures after its end
// are ignored, usage still counts, and the aggregate goes 8 days after the end.
func TestAdoptionKeptEightDaysAfterTheEnd(t *testing.T) {
	ctx := t.Context()
	st := openStore(t)
	end := t0.Add(24 * time.Hour)
	now := t0.Add(2 * 24 * time.Hour)
	r := setup(t, st, adoptionPlan())
	ended := r.State
	ended.Status, ended.Since = rollout.Completed, end
	if _, _, err := st.ApplyRolloutDecision(ctx, store.RolloutUpdate{ID: r.ID, ExpectVersion: r.Version, State: ended,
		Decision: store.RolloutDecision{At: end, Actor: "test", Kind: "complete", From: rollout.Running, To: rollout.Completed}, Change: change}); err != nil {
		t.Fatal(err)
	}
	appendBatch(t, st, []events.Event{exposure("a", "treatment", t0.Add(time.Hour), nil), exposure("late", "treatment", end.Add(time.Hour), nil),
		metric("a", "task_completed", 1, t0.Add(25*time.Hour))})
	agg := ingest.New(st, ingest.Options{Now: func() time.Time { return now }})
	if err := agg.Restore(ctx); err != nil {
		t.Fatal(err)
	}
	foldAll(t, agg)
	if got := adoption(t, agg, "task_completion"); got.Treatment.Exposed != 1 || got.Treatment.Used != 1 {
		t.Errorf("ended rollout: %+v; want a only, used", got)
	}
	now = end.Add(8*24*time.Hour - time.Second)
	if err := agg.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	adoption(t, agg, "task_completion")
	now = end.Add(8 * 24 * time.Hour)
	if err := agg.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := agg.Adoption(ctx, "ro_test", "task_completion"); ok {
		t.Error("adoption kept more than 8 days after the end")
	}
}

// TestReportShowsAdoption goes end to end: events folded by the aggregator fill the
// adoption section of GET /api/v1/rollouts/{id}/report (usage defaults to the first gate).
func TestReportShowsAdoption(t *testing.T) {
	ctx := t.Context()
	st := openStore(t)
	setup(t, st, adoptionPlan())
	appendBatch(t, st, adoptionPhase1())
	appendBatch(t, st, adoptionPhase2())
	agg := ingest.New(st, ingest.Options{})
	if err := agg.Restore(ctx); err != nil {
		t.Fatal(err)
	}
	foldAll(t, agg)
	srv := server.New(st, nil, server.Config{Heartbeat: time.Hour, Analysis: agg})
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(func() { srv.Close(); hs.Close() })
	token, err := srv.Bootstrap(ctx)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("GET", hs.URL+"/api/v1/rollouts/ro_test/report", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var rep struct{ Adoption report.AdoptionSection }
	if err := json.NewDecoder(resp.Body).Decode(&rep); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("report: %d, %v", resp.StatusCode, err)
	}
	a := rep.Adoption
	if !a.Available || a.Metric != "task_completion" || !a.AgainstControl || len(a.Rows) != 3 {
		t.Fatalf("adoption section %+v; want it filled for task_completion against control", a)
	}
	used, day7 := a.Rows[0], a.Rows[2]
	if used.Treatment.K != 3 || used.Treatment.N != 5 || used.Control.K != 2 || used.Control.N != 2 || used.Diff == nil {
		t.Errorf("used row %+v", used)
	}
	if day7.Treatment.K != 1 || day7.Treatment.N != 4 {
		t.Errorf("day 7 row %+v", day7)
	}
}
