package server

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ramp-release/ramp/internal/ingest"
	"github.com/ramp-release/ramp/internal/report"
	"github.com/ramp-release/ramp/internal/store"
)

// AdoptionReader gives a rollout's adoption aggregate for a usage metric (see
// report.AdoptionCounts for what it counts). The report route uses it when the
// configured AnalysisReader implements it too; ok is false when the aggregator
// does not follow that metric for the rollout.
type AdoptionReader interface {
	Adoption(ctx context.Context, rolloutID, metric string) (a report.Adoption, ok bool, err error)
}

// reportRoutes are the rollout reports.
func (s *Server) reportRoutes() []route {
	viewer := string(store.RoleViewer)
	return []route{
		{"GET", "/api/v1/rollouts/{id}/report", viewer, "A rollout's report from its stored data: velocity, issue detection, adoption and business impact, with the series to plot (format=markdown; usage=METRIC for adoption; as_of=RFC 3339 time).", s.rolloutReport, "", "reports"},
		{"GET", "/api/v1/reports/portfolio", viewer, "Across rollouts: median velocity, detection speed and rollback rate, overall and per environment, template and month (filters: environment, template, limit; format=markdown; as_of).", s.portfolioReport, "", "reports"},
	}
}

// reportQuery reads the options every report route shares.
func reportQuery(r *http.Request) (asOf time.Time, markdown bool, err error) {
	q := r.URL.Query()
	asOf = time.Now().UTC()
	if v := q.Get("as_of"); v != "" {
		if asOf, err = time.Parse(time.RFC3339, v); err != nil {
			return asOf, false, badRequest("as_of %q must be an RFC 3339 time such as 2026-03-02T09:00:00Z", v)
		}
	}
	switch f := q.Get("format"); f {
	case "", "json":
		markdown = strings.Contains(r.Header.Get("Accept"), "text/markdown")
	case "markdown", "md":
		markdown = true
	default:
		return asOf, false, badRequest("format %q must be json or markdown", f)
	}
	return asOf, markdown, nil
}

func writeMarkdown(w http.ResponseWriter, text string) error {
	w.Header().Set("Content-Type", "text/markdown; charset=utf-8")
	_, err := w.Write([]byte(text))
	return err
}

// metricDefinitions returns every metric definition by key (stored ones over the
// built-ins).
func (s *Server) metricDefinitions(ctx context.Context) (map[string]store.MetricDefinition, error) {
	ms, err := ingest.ListAllMetrics(ctx, s.store)
	if err != nil {
		return nil, err
	}
	out := make(map[string]store.MetricDefinition, len(ms))
	for _, m := range ms {
		out[m.Key] = m
	}
	return out, nil
}

func (s *Server) rolloutReport(w http.ResponseWriter, r *http.Request) error {
	asOf, markdown, err := reportQuery(r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	in, err := report.Gather(ctx, s.store, r.PathValue("id"))
	if err != nil {
		return err
	}
	if in.Metrics, err = s.metricDefinitions(ctx); err != nil {
		return err
	}
	usage := r.URL.Query().Get("usage")
	if usage == "" && len(in.Rollout.Plan.Gates) > 0 {
		usage = in.Rollout.Plan.Gates[0].Metric // the first success metric, unless told otherwise
	}
	if ar, ok := s.cfg.Analysis.(AdoptionReader); ok && usage != "" {
		a, found, err := ar.Adoption(ctx, in.Rollout.ID, usage)
		if err != nil {
			return err
		}
		if found {
			in.Adoption = &a
		}
	}
	rep := report.New(in, report.Options{Now: asOf})
	if markdown {
		return writeMarkdown(w, rep.Markdown())
	}
	writeJSON(w, http.StatusOK, rep)
	return nil
}

// maxPortfolio bounds the rollouts a portfolio reads.
const maxPortfolio = 1000

func (s *Server) portfolioReport(w http.ResponseWriter, r *http.Request) error {
	asOf, markdown, err := reportQuery(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	limit := 200
	if v := q.Get("limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil || limit < 1 || limit > maxPortfolio {
			return badRequest("limit %q must be a whole number from 1 to %d", v, maxPortfolio)
		}
	}
	ctx := r.Context()
	rs, err := s.store.ListRollouts(ctx, store.RolloutFilter{Environment: q.Get("environment"), Limit: limit})
	if err != nil {
		return err
	}
	defs, err := s.metricDefinitions(ctx)
	if err != nil {
		return err
	}
	template := q.Get("template")
	var reports []report.Report
	for _, ro := range rs {
		in, err := report.Gather(ctx, s.store, ro.ID)
		if err != nil {
			return err
		}
		in.Metrics = defs
		rep := report.New(in, report.Options{Now: asOf})
		if template != "" && rep.Group != template {
			continue
		}
		reports = append(reports, rep)
	}
	pf := report.NewPortfolio(reports, asOf)
	if markdown {
		return writeMarkdown(w, pf.Markdown())
	}
	writeJSON(w, http.StatusOK, pf)
	return nil
}
