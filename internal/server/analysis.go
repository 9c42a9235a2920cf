package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"

	"github.com/ramp-release/ramp/internal/analysis"
	"github.com/ramp-release/ramp/internal/ingest"
	"github.com/ramp-release/ramp/internal/store"
)

// AnalysisReader is what the analysis routes need from the event aggregator.
type AnalysisReader interface {
	// Snapshot copies the statistics of the rollout's current evidence period.
	Snapshot(ctx context.Context, r store.Rollout) (ingest.Snapshot, bool)
	Status() ingest.Status
}

// analysisRoutes are the metric definition and analysis operations.
func (s *Server) analysisRoutes() []route {
	viewer, editor := string(store.RoleViewer), string(store.RoleEditor)
	return []route{
		{"GET", "/api/v1/metrics", viewer, "List metric definitions: the stored ones and the built-ins they do not override.", s.listMetrics, "", "metrics"},
		{"POST", "/api/v1/metrics", editor, "Define a metric (a built-in's key overrides it).", s.createMetric, "MetricDefinition", "metrics"},
		{"GET", "/api/v1/metrics/{key}", viewer, "Get a metric definition.", s.getMetric, "", "metrics"},
		{"PUT", "/api/v1/metrics/{key}", editor, "Replace a stored metric definition (If-Match: its version).", s.putMetric, "MetricDefinition", "metrics"},
		{"DELETE", "/api/v1/metrics/{key}", editor, "Delete a stored metric definition (a built-in it overrode comes back).", s.deleteMetric, "", "metrics"},
		{"GET", "/api/v1/rollouts/{id}/analysis", viewer, "The current stage's analysis per metric and segment: estimate, anytime-valid interval, status, sample sizes and history (points=N).", s.rolloutAnalysis, "", "analysis"},
		{"GET", "/api/v1/rollouts/{id}/feedback", viewer, "Feedback comments, newest first (filters: stage, variant, before, limit).", s.rolloutFeedback, "", "analysis"},
		{"GET", "/api/v1/ingest", viewer, "The event aggregator's progress: the log position folded and checkpointed, and its lag.", s.ingestStatus, "", "analysis"},
	}
}

// --- metric definitions

func (s *Server) listMetrics(w http.ResponseWriter, r *http.Request) error {
	ms, err := ingest.ListAllMetrics(r.Context(), s.store)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, list[store.MetricDefinition]{Items: nonNil(ms)})
	return nil
}

func (s *Server) getMetric(w http.ResponseWriter, r *http.Request) error {
	m, err := ingest.LookupMetric(r.Context(), s.store, r.PathValue("key"))
	if err != nil {
		return err
	}
	if m.Version > 0 {
		setETag(w, m.Version)
	}
	writeJSON(w, http.StatusOK, m)
	return nil
}

func readMetric(r *http.Request, key string) (store.MetricDefinition, error) {
	var m store.MetricDefinition
	if err := readJSON(r, &m); err != nil {
		return m, err
	}
	if key != "" {
		if m.Key != "" && m.Key != key {
			return m, fieldProblem("key", fmt.Sprintf("%q differs from the URL's metric %q; a metric cannot be renamed", m.Key, key))
		}
		m.Key = key
	}
	m.BuiltIn, m.Version = false, 0
	if err := ingest.ValidateMetric(&m); err != nil {
		return m, err
	}
	return m, nil
}

func (s *Server) createMetric(w http.ResponseWriter, r *http.Request) error {
	m, err := readMetric(r, "")
	if err != nil {
		return err
	}
	saved, err := s.store.PutMetric(r.Context(), m, 0, change(r))
	if err != nil {
		return err
	}
	setETag(w, saved.Version)
	writeJSON(w, http.StatusCreated, saved)
	return nil
}

func (s *Server) putMetric(w http.ResponseWriter, r *http.Request) error {
	version, err := ifMatch(r)
	if err != nil {
		return err
	}
	m, err := readMetric(r, r.PathValue("key"))
	if err != nil {
		return err
	}
	saved, err := s.store.PutMetric(r.Context(), m, version, change(r))
	if err != nil {
		return err
	}
	setETag(w, saved.Version)
	writeJSON(w, http.StatusOK, saved)
	return nil
}

func (s *Server) deleteMetric(w http.ResponseWriter, r *http.Request) error {
	if err := s.store.DeleteMetric(r.Context(), r.PathValue("key"), change(r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// --- analysis

func (s *Server) rolloutAnalysis(w http.ResponseWriter, r *http.Request) error {
	ro, err := s.store.GetRollout(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	n := 0
	if v := r.URL.Query().Get("points"); v != "" {
		if n, err = strconv.Atoi(v); err != nil || n < 0 || n > store.MaxAnalysisPoints {
			return badRequest("points %q must be a whole number from 0 to %d", v, store.MaxAnalysisPoints)
		}
	}
	var snap ingest.Snapshot
	var rep *analysis.Report
	if s.cfg.Analysis != nil && ro.Active() {
		var ok bool
		if snap, ok = s.cfg.Analysis.Snapshot(r.Context(), ro); ok {
			rr, err := analysis.Analyze(snap.Input)
			if err != nil {
				return fmt.Errorf("analyse rollout %s: %w", ro.ID, err)
			}
			rep = &rr
		}
	}
	var points []store.AnalysisPoint
	if rep != nil {
		if points, err = s.store.AnalysisPoints(r.Context(), ro.ID, ro.State.Stage, n); err != nil {
			return err
		}
	}
	doc := ingest.NewDocument(ro, snap, rep, points)
	// Infinite bounds and undefined estimates are null (analysis' JSON methods).
	data, err := json.Marshal(doc)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	_, err = w.Write(data)
	return err
}

func (s *Server) rolloutFeedback(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if _, err := s.store.GetRollout(r.Context(), id); err != nil {
		return err
	}
	q := r.URL.Query()
	f := store.FeedbackFilter{RolloutID: id, Stage: -1, Variant: q.Get("variant")}
	num := func(name string, min, max int64) (int64, error) {
		v := q.Get(name)
		if v == "" {
			return 0, nil
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < min || n > max {
			return 0, badRequest("%s %q must be a whole number from %d to %d", name, v, min, max)
		}
		return n, nil
	}
	if q.Get("stage") != "" {
		n, err := num("stage", 0, 1000)
		if err != nil {
			return err
		}
		f.Stage = int(n)
	}
	var err error
	if f.BeforeSeq, err = num("before", 1, 1<<62); err != nil {
		return err
	}
	l, err := num("limit", 1, 1000)
	if err != nil {
		return err
	}
	f.Limit = int(l)
	items, err := s.store.ListFeedback(r.Context(), f)
	if err != nil {
		return err
	}
	out := list[store.Feedback]{Items: nonNil(items)}
	if limit := max(f.Limit, 100); len(items) == limit || (f.Limit == 0 && len(items) == 100) {
		out.Next = strconv.FormatInt(items[len(items)-1].Seq, 10)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) ingestStatus(w http.ResponseWriter, r *http.Request) error {
	if s.cfg.Analysis == nil {
		return problem(http.StatusNotFound, "no event aggregator runs in this server")
	}
	writeJSON(w, http.StatusOK, s.cfg.Analysis.Status())
	return nil
}
