package kube

import (
	"sync/atomic"

	"github.com/clusterdns/clusterdns/internal/source"

	"k8s.io/client-go/tools/cache"
)

// feed is the store a Reflector writes into, for one kind of object T. It converts each API
// object to its slim form and hands it straight to the sink: an informer would keep a second cache
// of every object, with a key string and index entries each, beside the sink's own. It keeps
// nothing itself: on a re-list it hands the sink what it listed. A Reflector calls its store from
// one goroutine at a time.
type feed[T any] struct {
	convert converter[T]
	upsert  func(*T)
	remove  func(namespace, name string)
	retain  func(listed []source.ObjectKey) // the sink's Retain for the objects this feed delivers
	synced  atomic.Bool
}

// syncer tells whether a feed has delivered its first complete list, whatever its kind.
type syncer interface{ hasSynced() bool }

func (f *feed[T]) hasSynced() bool { return f.synced.Load() }

// Transformer makes the Reflector convert objects as they arrive while it streams a list, so a
// re-list holds slim objects, not API ones.
func (f *feed[T]) Transformer() cache.TransformFunc {
	return func(obj any) (any, error) {
		if s, ok := f.convert(obj); ok {
			return s, nil
		}
		return obj, nil
	}
}

func (f *feed[T]) Add(obj any) error    { f.apply(obj); return nil }
func (f *feed[T]) Update(obj any) error { f.apply(obj); return nil }

func (f *feed[T]) Delete(obj any) error {
	if s, ok := f.slim(obj); ok {
		f.remove(s.namespace, s.name)
	}
	return nil
}

// Replace delivers a complete list: every object in it, then the sink deletes each object it
// holds that the list no longer has.
func (f *feed[T]) Replace(list []any, _ string) error {
	listed := make([]source.ObjectKey, 0, len(list))
	for _, obj := range list {
		if k, ok := f.apply(obj); ok {
			listed = append(listed, k)
		}
	}
	f.retain(listed)
	f.synced.Store(true)
	return nil
}

// Resync has nothing to do: the reflectors run without a resync period.
func (f *feed[T]) Resync() error { return nil }

// apply upserts an object, or deletes one that converts to nothing (a pod that lost its IP, an
// object the filter no longer keeps). It returns the key of an upserted object.
func (f *feed[T]) apply(obj any) (source.ObjectKey, bool) {
	s, ok := f.slim(obj)
	if !ok {
		return source.ObjectKey{}, false
	}
	if s.obj == nil {
		f.remove(s.namespace, s.name)
		return source.ObjectKey{}, false
	}
	f.upsert(s.obj)
	return source.ObjectKey{Namespace: s.namespace, Name: s.name}, true
}

// slim converts obj unless the Reflector already did; a delete whose final state is unknown
// carries only the key.
func (f *feed[T]) slim(obj any) (*slim[T], bool) {
	switch o := obj.(type) {
	case *slim[T]:
		return o, true
	case cache.DeletedFinalStateUnknown:
		ns, name, err := cache.SplitMetaNamespaceKey(o.Key)
		return &slim[T]{namespace: ns, name: name}, err == nil
	}
	return f.convert(obj)
}
