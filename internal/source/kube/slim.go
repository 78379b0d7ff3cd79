package kube

import (
	"github.com/clusterdns/clusterdns/internal/model"
	"github.com/clusterdns/clusterdns/internal/source"

	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// slim is an API object converted, with its key: what a reflector's streamed list holds instead of
// API objects (see feed). It satisfies meta.Accessor through GetObjectMeta so client-go can key
// it; obj is nil for an object that is not served (a pod without an IP, a slice without a
// service, an object the filter leaves out).
type slim[T any] struct {
	namespace, name string
	obj             *T
}

func (s *slim[T]) GetObjectMeta() metav1.Object {
	return &metav1.ObjectMeta{Namespace: s.namespace, Name: s.name}
}

// converter turns an API object of one kind into its slim form; false for an object of another
// type.
type converter[T any] func(obj any) (*slim[T], bool)

// converterOf converts API objects of type A with conv, once the filter keeps them.
func converterOf[A metav1.Object, T any](kind source.Kind, filter source.Filter, conv func(A) *T) converter[T] {
	return func(obj any) (*slim[T], bool) {
		a, ok := obj.(A)
		if !ok {
			return nil, false
		}
		return &slim[T]{namespace: source.Intern(a.GetNamespace()), name: a.GetName(), obj: source.Kept(filter, kind, a, conv)}, true
	}
}

func serviceConverter(f source.Filter) converter[model.Service] {
	return converterOf(source.Services, f, source.ConvertService)
}

func sliceConverter(f source.Filter, podNames bool) converter[model.EndpointSlice] {
	return converterOf(source.EndpointSlices, f, func(es *discoveryv1.EndpointSlice) *model.EndpointSlice {
		return source.ConvertEndpointSlice(es, podNames)
	})
}

func podConverter(f source.Filter, labels []string) converter[model.Pod] {
	return converterOf(source.Pods, f, source.ConvertPodLabels(labels))
}

func namespaceConverter(f source.Filter) converter[model.Namespace] {
	return converterOf(source.Namespaces, f, source.ConvertNamespace)
}
