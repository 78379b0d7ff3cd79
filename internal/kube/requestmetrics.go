package kube

import (
	"context"
	"net/url"
	"time"

	"k8s.io/client-go/tools/metrics"
)

// RegisterRequestMetrics feeds client-go's request latency and result counts to the given
// functions. client-go accepts this once per process; later calls do nothing.
func RegisterRequestMetrics(latency func(verb string, d time.Duration), result func(code, method string)) {
	metrics.Register(metrics.RegisterOpts{
		RequestLatency: latencyFunc(latency),
		RequestResult:  resultFunc(result),
	})
}

type latencyFunc func(verb string, d time.Duration)

func (f latencyFunc) Observe(_ context.Context, verb string, _ url.URL, d time.Duration) { f(verb, d) }

type resultFunc func(code, method string)

func (f resultFunc) Increment(_ context.Context, code, method, _ string) { f(code, method) }
