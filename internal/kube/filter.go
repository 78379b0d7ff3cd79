package kube

import "k8s.io/apimachinery/pkg/labels"

// Filter selects what a source keeps: the Services and EndpointSlices whose labels match (the
// Corefile option "labels"; Pods and Namespaces are never filtered), and whether an endpoint
// without a hostname is named by its pod (endpoint_pod_names).
type Filter struct {
	// Labels is the label selector objects must match; nil keeps everything.
	Labels labels.Selector
	// PodNames keeps the pod name of endpoints without a hostname.
	PodNames bool
}

// Keep reports whether an object with these labels passes the filter.
func (f Filter) Keep(objLabels map[string]string) bool {
	if f.Labels == nil {
		return true
	}
	return f.Labels.Matches(labels.Set(objLabels))
}
