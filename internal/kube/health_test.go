package kube

import (
	"errors"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func TestHealthReportsOncePerOutage(t *testing.T) {
	var got []EventKind
	h := &Health{Report: func(e Event) {
		if e.Kind != WatchError {
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
