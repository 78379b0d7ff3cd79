package kube

import (
	"maps"
	"testing"

	"github.com/clusterdns/clusterdns/internal/model"
	"github.com/clusterdns/clusterdns/internal/source"

	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"
)

// slice is an EndpointSlice of service svc; without svc it serves no name.
func slice(ns, name, svc string) *discoveryv1.EndpointSlice {
	es := &discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, AddressType: discoveryv1.AddressTypeIPv4}
	if svc != "" {
		es.Labels = map[string]string{discoveryv1.LabelServiceName: svc}
	}
	return es
}

// heldFeed is a feed of EndpointSlices whose sink is held: the keys of the objects it holds.
func heldFeed() (*feed[model.EndpointSlice], map[string]bool) {
	held := map[string]bool{}
	f := &feed[model.EndpointSlice]{
		convert: sliceConverter(source.Filter{}, false),
		upsert:  func(sl *model.EndpointSlice) { held[sl.Key()] = true },
		remove:  func(ns, name string) { delete(held, ns+"/"+name) },
		retain: func(listed []source.ObjectKey) {
			keep := map[string]bool{}
			for _, k := range listed {
				keep[k.Namespace+"/"+k.Name] = true
			}
			maps.DeleteFunc(held, func(k string, _ bool) bool { return !keep[k] })
		},
	}
	return f, held
}

func TestFeedRelistDeletesWhatTheListNoLongerHas(t *testing.T) {
	f, held := heldFeed()
	if err := f.Replace([]any{slice("a", "kept", "web"), slice("a", "gone", "web")}, "1"); err != nil {
		t.Fatal(err)
	}
	if !f.synced.Load() {
		t.Error("not synced after the first list")
	}
	// A list streamed through the reflector's transformer arrives already converted.
	converted, _ := f.Transformer()(slice("b", "new", "db"))
	if err := f.Replace([]any{slice("a", "kept", "web"), converted}, "2"); err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]bool{"a/kept": true, "a/gone": false, "b/new": true} {
		if held[key] != want {
			t.Errorf("%s held = %v, want %v", key, held[key], want)
		}
	}
}

func TestFeedDeletes(t *testing.T) {
	for _, tt := range []struct {
		name  string
		apply func(f *feed[model.EndpointSlice]) error
	}{
		{"a deleted object", func(f *feed[model.EndpointSlice]) error { return f.Delete(slice("a", "web-1", "web")) }},
		{"a delete whose final state is unknown", func(f *feed[model.EndpointSlice]) error {
			return f.Delete(cache.DeletedFinalStateUnknown{Key: "a/web-1"})
		}},
		{"an update to an object that serves no name", func(f *feed[model.EndpointSlice]) error { return f.Update(slice("a", "web-1", "")) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f, held := heldFeed()
			if err := f.Replace([]any{slice("a", "web-1", "web")}, "1"); err != nil {
				t.Fatal(err)
			}
			if err := tt.apply(f); err != nil {
				t.Fatal(err)
			}
			if held["a/web-1"] {
				t.Errorf("slice still held: %v", held)
			}
		})
	}
}
