package kube

import (
	"net/http"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// EventKind says what changed in the connection to the API server.
type EventKind int

const (
	// WatchError is every failed list or watch (client-go retries them with backoff).
	WatchError EventKind = iota
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

// Health turns the stream of retries of a connection into few events: one Down per outage, one Up
// when it ends, one Forbidden per refused resource, so that logs say what happened without a line
// per retry.
type Health struct {
	Report func(Event)

	mu        sync.Mutex
	down      bool
	since     time.Time
	forbidden map[string]bool
}

func (h *Health) failed(resource string, err error) {
	h.Report(Event{Kind: WatchError, Resource: resource, Err: err})
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

// observe reports every answer of the API server below 500 as a success.
type observe struct {
	next   http.RoundTripper
	health *Health
}

func (o *observe) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := o.next.RoundTrip(r)
	if err == nil && resp.StatusCode < http.StatusInternalServerError {
		o.health.succeeded()
	}
	return resp, err
}
