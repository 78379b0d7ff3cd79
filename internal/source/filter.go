package source

import (
	"slices"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
)

// Filter is the Corefile's choice of which objects are served: the options namespaces,
// namespace_labels and labels. Both sources apply it the same way: the API source puts it in its
// list and watch requests as far as the API allows (ListOptions) and checks every object it
// receives (Keep); the file source checks every object it decodes (Keep).
type Filter struct {
	// Namespaces are the only namespaces served; empty serves all.
	Namespaces []string
	// NamespaceLabels selects the namespaces served by their labels; nil serves all. A namespace's
	// names are then served only while its (matching) Namespace object is known, so a namespace
	// that stops matching takes its names away and one that starts to brings them back.
	NamespaceLabels labels.Selector
	// Labels selects the Services and EndpointSlices served by their labels; nil serves all.
	Labels labels.Selector
}

// Keep reports whether an object of kind is served. namespace is the object's namespace, or a
// Namespace's own name; objLabels are the object's labels.
func (f Filter) Keep(kind Kind, namespace string, objLabels map[string]string) bool {
	if !f.InNamespaces(namespace) {
		return false
	}
	switch kind {
	case Services, EndpointSlices, ImportedSlices:
		return f.Labels == nil || f.Labels.Matches(labels.Set(objLabels))
	case Namespaces:
		return f.NamespaceLabels == nil || f.NamespaceLabels.Matches(labels.Set(objLabels))
	}
	return true
}

// InNamespaces tells whether the namespaces option serves namespace.
func (f Filter) InNamespaces(namespace string) bool {
	return len(f.Namespaces) == 0 || slices.Contains(f.Namespaces, namespace)
}

// Kept is a converted with conv, or nil when f leaves a out: both sources filter and convert
// every object this way. A Namespace is filtered by its own name.
func Kept[A metav1.Object, T any](f Filter, kind Kind, a A, conv func(A) *T) *T {
	namespace := a.GetNamespace()
	if kind == Namespaces {
		namespace = a.GetName()
	}
	if !f.Keep(kind, namespace, a.GetLabels()) {
		return nil
	}
	return conv(a)
}

// ByNamespaceObject tells whether a namespace is served only while its Namespace object is known
// (namespace_labels): without it, a service also makes its namespace exist, since manifest files
// often leave Namespace objects out.
func (f Filter) ByNamespaceObject() bool { return f.NamespaceLabels != nil }

// ListOptions narrows a list or watch of kind as far as the API server can, so that it sends only
// what is served: label selectors, and a single namespace by name. Several namespaces are chosen
// by listing each one (Services, EndpointSlices, Pods) or checked by Keep (Namespaces).
func (f Filter) ListOptions(kind Kind, opts *metav1.ListOptions) {
	switch kind {
	case Services, EndpointSlices:
		if f.Labels != nil {
			opts.LabelSelector = f.Labels.String()
		}
	case ImportedSlices:
		opts.LabelSelector = importedSelector(f.Labels)
	case Namespaces:
		if f.NamespaceLabels != nil {
			opts.LabelSelector = f.NamespaceLabels.String()
		}
		if len(f.Namespaces) == 1 {
			opts.FieldSelector = fields.OneTermEqualSelector("metadata.name", f.Namespaces[0]).String()
		}
	}
}
