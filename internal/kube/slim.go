package kube

import (
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// slim is an API object converted, with its key: what a reflector's streamed list holds instead of
// API objects (see feed). It satisfies meta.Accessor through GetObjectMeta so client-go can key
// it; obj is nil for an object that serves no name (a pod without an IP, a slice without a
// service).
type slim struct {
	namespace, name string
	obj             any
}

func (s *slim) GetObjectMeta() metav1.Object {
	return &metav1.ObjectMeta{Namespace: s.namespace, Name: s.name}
}

// slimmed converts an API object into its slim form. It accepts what it already converted:
// client-go may hand an object back to it.
func slimmed(obj any, podNames bool) (any, error) {
	switch o := obj.(type) {
	case *corev1.Service:
		return &slim{intern(o.Namespace), o.Name, nilIfEmpty(ConvertService(o))}, nil
	case *discoveryv1.EndpointSlice:
		return &slim{intern(o.Namespace), o.Name, nilIfEmpty(ConvertEndpointSlice(o, podNames))}, nil
	case *corev1.Pod:
		return &slim{intern(o.Namespace), o.Name, nilIfEmpty(ConvertPod(o))}, nil
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
