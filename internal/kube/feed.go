package kube

import (
	"sync"
	"sync/atomic"

	"k8s.io/client-go/tools/cache"
)

// feed is the store a Reflector writes into. It converts each API object to its slim form and
// hands it straight to the sink: an informer would keep a second cache of every object, with a key
// string and index entries each, beside the sink's own. It remembers only which objects it
// delivered, so that a re-list can tell the sink what is gone.
type feed struct {
	podNames bool
	upsert   func(any)
	remove   func(namespace, name string)

	mu     sync.Mutex
	keys   map[objectKey]struct{}
	synced atomic.Bool
}

// objectKey shares the slim object's strings: no key string is built per object.
type objectKey struct{ namespace, name string }

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
		f.mu.Lock()
		delete(f.keys, objectKey{s.namespace, s.name})
		f.mu.Unlock()
		f.remove(s.namespace, s.name)
	}
	return nil
}

// Replace delivers a complete list: every object in it, and a delete for each object delivered
// before that the list no longer has.
func (f *feed) Replace(list []any, _ string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	old := f.keys
	f.keys = make(map[objectKey]struct{}, len(list))
	for _, obj := range list {
		f.applyLocked(obj)
	}
	for k := range old {
		if _, kept := f.keys[k]; !kept {
			f.remove(k.namespace, k.name)
		}
	}
	f.synced.Store(true)
	return nil
}

// Resync has nothing to do: the reflectors run without a resync period.
func (f *feed) Resync() error { return nil }

func (f *feed) apply(obj any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.applyLocked(obj)
}

// applyLocked upserts an object, or deletes one that converts to nothing (a pod that lost its IP).
func (f *feed) applyLocked(obj any) {
	s, ok := f.slim(obj)
	if !ok {
		return
	}
	k := objectKey{s.namespace, s.name}
	if s.obj == nil {
		delete(f.keys, k)
		f.remove(s.namespace, s.name)
		return
	}
	f.keys[k] = struct{}{}
	f.upsert(s.obj)
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
