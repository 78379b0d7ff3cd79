package kube

import "k8s.io/apimachinery/pkg/labels"

// Filter selects the Services and EndpointSlices a source keeps (the Corefile option "labels").
// Pods and Namespaces are never filtered.
type Filter struct {
	// Labels is the label selector objects must match; nil keeps everything.
	Labels labels.Selector
}

// Keep reports whether an object with these labels passes the filter.
func (f Filter) Keep(objLabels map[string]string) bool {
	if f.Labels == nil {
		return true
	}
	return f.Labels.Matches(labels.Set(objLabels))
}
