package kube

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func TestHealthReportsOncePerOutage(t *testing.T) {
	var got []EventKind
	h := &Health{Report: func(e Event) {
		if e.Kind != RequestError {
			got = append(got, e.Kind)
		}
	}}
	refused := errors.New("connection refused")
	forbidden := apierrors.NewForbidden(schema.GroupResource{Resource: "pods"}, "", errors.New("RBAC"))

	h.succeeded() // healthy: nothing to say
	h.failed("services", refused)
	h.failed("services", refused)
	h.failed("endpointslices", refused)
	h.succeeded()
	h.succeeded()
	h.failed("pods", forbidden)
	h.failed("pods", forbidden)
	h.failed("services", refused)
	h.succeeded()

	want := []EventKind{Down, Up, Forbidden, Down, Up}
	if len(got) != len(want) {
		t.Fatalf("events %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("events %v, want %v", got, want)
		}
	}
}

// scripted fails its first n round trips with err, then answers 200.
type scripted struct {
	n, calls int
	err      error
}

func (s *scripted) RoundTrip(*http.Request) (*http.Response, error) {
	s.calls++
	if s.calls <= s.n {
		return nil, s.err
	}
	return &http.Response{StatusCode: http.StatusOK, Body: http.NoBody}, nil
}

func TestListsAndWatchesRetryUntilTheServerIsBack(t *testing.T) {
	var events []EventKind
	var verbs []string
	h := &Health{
		Report:  func(e Event) { events = append(events, e.Kind) },
		Request: func(verb, code string, _ time.Duration) { verbs = append(verbs, verb+" "+code) },
	}
	next := &scripted{n: 3, err: errors.New("dial tcp 127.0.0.1:6443: connect: connection refused")}
	rt := &observe{next: next, health: h}
	req := httptest.NewRequest(http.MethodGet, "https://127.0.0.1:6443/api/v1/services?watch=true", nil)
	resp, err := rt.RoundTrip(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("RoundTrip = %v, %v; want the answer once the server is back", resp, err)
	}
	if next.calls != 4 {
		t.Errorf("%d attempts, want 4", next.calls)
	}
	want := []EventKind{RequestError, Down, RequestError, RequestError, Up}
	if fmt.Sprint(events) != fmt.Sprint(want) {
		t.Errorf("events %v, want %v", events, want)
	}
	if verbs[0] != "WATCH " || verbs[3] != "WATCH 200" {
		t.Errorf("requests seen %v", verbs)
	}
}

func TestRetryStopsWithTheRequestContext(t *testing.T) {
	h := &Health{Report: func(Event) {}}
	rt := &observe{next: &scripted{n: 1 << 30, err: errors.New("connection refused")}, health: h}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	req := httptest.NewRequest(http.MethodGet, "https://127.0.0.1:6443/api/v1/services", nil).WithContext(ctx)
	if _, err := rt.RoundTrip(req); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want the context's", err)
	}
}

func TestWritesAreNotRetried(t *testing.T) {
	next := &scripted{n: 1, err: errors.New("connection refused")}
	rt := &observe{next: next, health: &Health{Report: func(Event) {}}}
	if _, err := rt.RoundTrip(httptest.NewRequest(http.MethodPost, "https://127.0.0.1:6443/api/v1/namespaces", nil)); err == nil || next.calls != 1 {
		t.Errorf("POST: err %v after %d attempts, want the error after one", err, next.calls)
	}
}
