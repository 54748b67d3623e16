package httpapi

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Route labels for requests that match no registered route. Using fixed
// labels (never the raw path) keeps the metrics' cardinality bounded.
const (
	routeUnmatched = "unmatched"
	routeConsole   = "console"
)

// httpMetrics holds the HTTP layer's collectors.
type httpMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	// streamsCut counts event streams cut off for reading too slowly.
	streamsCut prometheus.Counter
}

func newHTTPMetrics(reg prometheus.Registerer, runtime bool) (*httpMetrics, error) {
	m := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tongdao_http_requests_total",
			Help: "HTTP requests answered, by route template, method and status code.",
		}, []string{"route", "method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "tongdao_http_request_duration_seconds",
			Help:    "Time to answer HTTP requests, by route template (event streams count their whole life).",
			Buckets: prometheus.DefBuckets,
		}, []string{"route"}),
		streamsCut: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tongdao_event_streams_cut_total",
			Help: "Event streams cut off because the client fell too far behind (it resumes with Last-Event-ID).",
		}),
	}
	var err error
	if m.requests, err = register(reg, m.requests); err != nil {
		return nil, err
	}
	if m.duration, err = register(reg, m.duration); err != nil {
		return nil, err
	}
	if m.streamsCut, err = register(reg, m.streamsCut); err != nil {
		return nil, err
	}
	if runtime {
		for _, c := range []prometheus.Collector{
			collectors.NewGoCollector(),
			collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		} {
			if _, err := register(reg, c); err != nil {
				return nil, err
			}
		}
	}
	return m, nil
}

// register registers c, or returns the identical collector registered before
// (a second Server on the same registry shares the metrics).
func register[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing, nil
			}
		}
		var zero C
		return zero, fmt.Errorf("httpapi: registering metrics: %w", err)
	}
	return c, nil
}

// statusText holds the decimal form of every status code so that labelling a
// request allocates nothing.
var statusText = func() (t [600]string) {
	for i := range t {
		t[i] = strconv.Itoa(i)
	}
	return t
}()

func statusLabel(code int) string {
	if code >= 0 && code < len(statusText) {
		return statusText[code]
	}
	return strconv.Itoa(code)
}
