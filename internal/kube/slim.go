package kube

import (
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// slim is what the informers' caches hold instead of API objects: the converted object and the
// key. It satisfies meta.Accessor through GetObjectMeta so the caches can key and index it; obj is
// nil for an object that serves no name (a pod without an IP, a slice without a service).
type slim struct {
	namespace, name string
	obj             any
}

func (s *slim) GetObjectMeta() metav1.Object {
	return &metav1.ObjectMeta{Namespace: s.namespace, Name: s.name}
}

// transform returns the function that converts an API object into its slim form before any cache
// stores it. It must accept what it already transformed: client-go may hand an object back to it.
func transform(f Filter) func(obj any) (any, error) {
	return func(obj any) (any, error) { return slimmed(obj, f.PodNames) }
}

func slimmed(obj any, podNames bool) (any, error) {
	switch o := obj.(type) {
	case *corev1.Service:
		return &slim{o.Namespace, o.Name, nilIfEmpty(ConvertService(o))}, nil
	case *discoveryv1.EndpointSlice:
		return &slim{o.Namespace, o.Name, nilIfEmpty(ConvertEndpointSlice(o, podNames))}, nil
	case *corev1.Pod:
		return &slim{o.Namespace, o.Name, nilIfEmpty(ConvertPod(o))}, nil
	case *corev1.Namespace:
		return &slim{"", o.Name, nilIfEmpty(ConvertNamespace(o))}, nil
	}
	return obj, nil
}

// nilIfEmpty turns a typed nil pointer into an untyped nil, so that slim.obj == nil means nothing.
func nilIfEmpty[T any](p *T) any {
	if p == nil {
		return nil
	}
	return p
}
