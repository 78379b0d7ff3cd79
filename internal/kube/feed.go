package kube

import (
	"sync/atomic"

	"k8s.io/client-go/tools/cache"
)

// feed is the store a Reflector writes into. It converts each API object to its slim form and
// hands it straight to the sink: an informer would keep a second cache of every object, with a key
// string and index entries each, beside the sink's own. It keeps nothing itself: on a re-list it
// asks the sink what it holds. A Reflector calls its store from one goroutine at a time.
type feed struct {
	podNames bool
	upsert   func(any)
	remove   func(namespace, name string)
	retain   func(listed []ObjectKey) // the sink's Retain for the objects this feed delivers
	synced   atomic.Bool
}

var (
	_ cache.ReflectorStore    = (*feed)(nil)
	_ cache.TransformingStore = (*feed)(nil)
)

// Transformer makes the Reflector convert objects as they arrive while it streams a list, so a
// re-list holds slim objects, not API ones.
func (f *feed) Transformer() cache.TransformFunc {
	return func(obj any) (any, error) { return slimmed(obj, f.podNames) }
}

func (f *feed) Add(obj any) error    { f.apply(obj); return nil }
func (f *feed) Update(obj any) error { f.apply(obj); return nil }

func (f *feed) Delete(obj any) error {
	if s, ok := f.slim(obj); ok {
		f.remove(s.namespace, s.name)
	}
	return nil
}

// Replace delivers a complete list: every object in it, then the sink deletes each object it
// holds that the list no longer has.
func (f *feed) Replace(list []any, _ string) error {
	listed := make([]ObjectKey, 0, len(list))
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
func (f *feed) Resync() error { return nil }

// apply upserts an object, or deletes one that converts to nothing (a pod that lost its IP). It
// returns the key of an upserted object.
func (f *feed) apply(obj any) (ObjectKey, bool) {
	s, ok := f.slim(obj)
	if !ok {
		return ObjectKey{}, false
	}
	if s.obj == nil {
		f.remove(s.namespace, s.name)
		return ObjectKey{}, false
	}
	f.upsert(s.obj)
	return ObjectKey{s.namespace, s.name}, true
}

// slim converts obj unless the Reflector already did; a delete whose final state is unknown
// carries only the key.
func (f *feed) slim(obj any) (*slim, bool) {
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		ns, name, err := cache.SplitMetaNamespaceKey(d.Key)
		return &slim{namespace: ns, name: name}, err == nil
	}
	o, err := slimmed(obj, f.podNames)
	if err != nil {
		return nil, false
	}
	s, ok := o.(*slim)
	return s, ok
}
