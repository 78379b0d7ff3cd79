package clusterdns

import (
	"time"

	"github.com/coredns/coredns/plugin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// Metrics, exported through the prometheus plugin as coredns_clusterdns_*.
var (
	// programmingDuration is the Kubernetes DNS programming latency SLI: from the change in the
	// cluster (the EndpointSlice's last-change-trigger-time) to the answer being served.
	programmingDuration = promauto.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: plugin.Namespace,
		Subsystem: pluginName,
		Name:      "dns_programming_duration_seconds",
		Help:      "Time from a change in the cluster to its DNS answer, by service kind.",
		Buckets:   prometheus.ExponentialBuckets(0.001, 2, 20),
	}, []string{"service_kind"})

	objects = promauto.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: plugin.Namespace,
		Subsystem: pluginName,
		Name:      "objects",
		Help:      "Objects held for DNS, by kind.",
	}, []string{"kind"})

	synced = promauto.NewGauge(prometheus.GaugeOpts{
		Namespace: plugin.Namespace,
		Subsystem: pluginName,
		Name:      "synced",
		Help:      "1 once the first complete data set is loaded, else 0.",
	})

	// apiReachable tells whether the answers are current: 0 while the API server is unreachable
	// and the last data is served (the kubernetes plugin gives no such signal).
	apiReachable = promauto.NewGauge(prometheus.GaugeOpts{
		Namespace: plugin.Namespace,
		Subsystem: pluginName,
		Name:      "api_reachable",
		Help:      "0 while the Kubernetes API server is unreachable and the last data is served, else 1.",
	})

	// snapshotAge tells how old the answers are while they come from the snapshot file.
	_ = promauto.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: plugin.Namespace,
		Subsystem: pluginName,
		Name:      "snapshot_age_seconds",
		Help:      "Age of the snapshot served until the first sync with the API server, else 0.",
	}, func() float64 {
		if t := servedSince.Load(); t != 0 {
			return time.Since(time.Unix(0, t)).Seconds()
		}
		return 0
	})

	requestErrors = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: plugin.Namespace,
		Subsystem: pluginName,
		Name:      "api_request_errors_total",
		Help:      "Failed requests to the Kubernetes API server (lists and watches are retried), by resource.",
	}, []string{"resource"})

	apiRequestDuration = promauto.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: plugin.Namespace,
		Subsystem: pluginName,
		Name:      "api_request_duration_seconds",
		Help:      "Time to the response headers of requests to the Kubernetes API server, by verb.",
		Buckets:   prometheus.ExponentialBuckets(0.001, 2, 16),
	}, []string{"verb"})

	apiRequests = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: plugin.Namespace,
		Subsystem: pluginName,
		Name:      "api_requests_total",
		Help:      "Requests to the Kubernetes API server, by HTTP status code and verb.",
	}, []string{"code", "verb"})
)

func observeProgramming(kind string, since time.Time) {
	if !since.IsZero() {
		programmingDuration.WithLabelValues(kind).Observe(time.Since(since).Seconds())
	}
}

func countObjects(services, slices, pods, namespaces int) {
	objects.WithLabelValues("services").Set(float64(services))
	objects.WithLabelValues("endpointslices").Set(float64(slices))
	objects.WithLabelValues("pods").Set(float64(pods))
	objects.WithLabelValues("namespaces").Set(float64(namespaces))
}
