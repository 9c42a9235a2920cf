package server

import (
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

type metrics struct {
	registry    *prometheus.Registry
	requests    *prometheus.CounterVec
	duration    *prometheus.HistogramVec
	evaluations *prometheus.CounterVec
	events      *prometheus.CounterVec
	byReason    sync.Map // reason → prometheus.Counter
}

// countEvaluation counts an OFREP evaluation; the per-reason counters are looked up
// once, since this runs on every request.
func (m *metrics) countEvaluation(reason string) {
	c, ok := m.byReason.Load(reason)
	if !ok {
		c, _ = m.byReason.LoadOrStore(reason, m.evaluations.WithLabelValues(reason))
	}
	c.(prometheus.Counter).Inc()
}

func newMetrics(s *Server) *metrics {
	m := &metrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ramp_http_requests_total", Help: "HTTP requests by route class and status code.",
		}, []string{"class", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "ramp_http_request_duration_seconds", Help: "HTTP request latency by route class.",
			Buckets: []float64{.0001, .0005, .001, .005, .01, .05, .1, .5, 1},
		}, []string{"class"}),
		evaluations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ramp_ofrep_evaluations_total", Help: "Flags evaluated through OFREP by reason.",
		}, []string{"reason"}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ramp_sdk_event_batches_total", Help: "SDK event batches by outcome (accepted, duplicate, rejected).",
		}, []string{"outcome"}),
	}
	m.registry.MustRegister(m.requests, m.duration, m.evaluations, m.events,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "ramp_sse_clients", Help: "SDK stream connections open on this replica.",
		}, func() float64 { return float64(s.hub.subscribers()) }),
	)
	return m
}

// routeClass groups paths so that metric labels stay few whatever the URLs.
func routeClass(path string) string {
	for _, p := range []string{"/ofrep/", "/sdk/v1/stream", "/sdk/v1/events", "/sdk/", "/api/", "/metrics", "/healthz", "/readyz"} {
		if len(path) >= len(p) && path[:len(p)] == p {
			return p
		}
	}
	return "/"
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach Flush on the real writer (SSE).
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func (m *metrics) instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		class := routeClass(r.URL.Path)
		m.requests.WithLabelValues(class, strconv.Itoa(rec.status)).Inc()
		if class != "/sdk/v1/stream" {
			m.duration.WithLabelValues(class).Observe(time.Since(start).Seconds())
		}
	})
}
