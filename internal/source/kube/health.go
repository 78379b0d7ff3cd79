package kube

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"path"
	"strconv"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// EventKind says what changed in the connection to the API server.
type EventKind int

const (
	// RequestError is every failed request (GETs are retried).
	RequestError EventKind = iota
	// Down is the first failure after a success: once per outage.
	Down
	// Up is the first success after an outage.
	Up
	// Forbidden is an RBAC denial, once per resource.
	Forbidden
)

// Event is one report of the connection's health.
type Event struct {
	Kind     EventKind
	Resource string
	Err      error
	DownFor  time.Duration // with Up
}

// Health watches every request to the API server. It turns the stream of retries into few events
// (one Down per outage, one Up when it ends, one Forbidden per refused resource) so that logs say
// what happened without a line per retry, and reports each request for metrics.
type Health struct {
	Report func(Event)
	// Request is told of every request: its verb (GET, LIST, WATCH...), HTTP status code ("" for a
	// transport error) and duration until the response headers.
	Request func(verb, code string, d time.Duration)

	mu        sync.Mutex
	down      bool
	since     time.Time
	forbidden map[string]bool
}

func (h *Health) failed(resource string, err error) {
	h.Report(Event{Kind: RequestError, Resource: resource, Err: err})
	h.mu.Lock()
	var ev *Event
	switch {
	case apierrors.IsForbidden(err):
		if !h.forbidden[resource] {
			if h.forbidden == nil {
				h.forbidden = map[string]bool{}
			}
			h.forbidden[resource] = true
			ev = &Event{Kind: Forbidden, Resource: resource, Err: err}
		}
	case !h.down:
		h.down, h.since = true, time.Now()
		ev = &Event{Kind: Down, Resource: resource, Err: err}
	}
	h.mu.Unlock()
	if ev != nil {
		h.Report(*ev)
	}
}

func (h *Health) succeeded() {
	h.mu.Lock()
	if !h.down {
		h.mu.Unlock()
		return
	}
	h.down = false
	downFor := time.Since(h.since)
	h.mu.Unlock()
	h.Report(Event{Kind: Up, DownFor: downFor})
}

// Reconnection delays while the API server is unreachable. client-go's reflectors back off up to
// 30 s (plus jitter, reset only after 2 minutes of health) after failures they see; retrying here
// instead keeps them from seeing any, so watches resume within retryMax of the server's return.
const (
	retryMin = 250 * time.Millisecond
	retryMax = 2 * time.Second
)

// observe is the transport wrapper that feeds Health. A GET that fails in transport (connection
// refused, reset) is retried with capped, jittered backoff until it succeeds or its context ends:
// lists and watches are GETs, and safe to repeat.
type observe struct {
	next   http.RoundTripper
	health *Health
}

func (o *observe) RoundTrip(r *http.Request) (*http.Response, error) {
	delay := retryMin
	for {
		start := time.Now()
		resp, err := o.next.RoundTrip(r)
		if o.health.Request != nil {
			code := ""
			if err == nil {
				code = strconv.Itoa(resp.StatusCode)
			}
			o.health.Request(verb(r), code, time.Since(start))
		}
		switch {
		case r.Context().Err() != nil && err != nil:
			// Stopping, not a failure of the server: the caller's context ended the request, even when
			// the transport failed first and saw the context end only after.
			return nil, r.Context().Err()
		case r.Context().Err() != nil:
			return resp, nil
		case err == nil && resp.StatusCode == http.StatusForbidden:
			o.health.failed(resource(r), apierrors.NewForbidden(schema.GroupResource{Resource: resource(r)}, "",
				fmt.Errorf("%s %s: %s", r.Method, r.URL.Path, resp.Status)))
			return resp, nil
		case err == nil && resp.StatusCode < http.StatusInternalServerError:
			o.health.succeeded()
			return resp, nil
		case err == nil:
			o.health.failed(resource(r), fmt.Errorf("%s %s: %s", r.Method, r.URL.Path, resp.Status))
			return resp, nil // client-go handles server errors itself
		}
		o.health.failed(resource(r), err)
		if r.Method != http.MethodGet {
			return nil, err
		}
		if err := sleep(r.Context(), delay+rand.N(delay/2)); err != nil {
			return nil, err
		}
		delay = min(2*delay, retryMax)
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// verb names a request as the API server does in its own metrics.
func verb(r *http.Request) string {
	if w := r.URL.Query().Get("watch"); r.Method == http.MethodGet && (w == "true" || w == "1") {
		return "WATCH"
	}
	return r.Method
}

// resource is the last element of the request's path: "services" for a list or watch of them.
func resource(r *http.Request) string { return path.Base(r.URL.Path) }
