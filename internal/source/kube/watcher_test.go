package kube

import (
	"context"
	"fmt"
	"maps"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/clusterdns/clusterdns/internal/model"
	"github.com/clusterdns/clusterdns/internal/source"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes/fake"
)

// recorder is a Sink that remembers what it holds.
type recorder struct {
	mu       sync.Mutex
	services map[string]*model.Service
	slices   map[string]*model.EndpointSlice
	pods     map[string]*model.Pod
	ns       map[string]bool
}

func newRecorder() *recorder {
	return &recorder{services: map[string]*model.Service{}, slices: map[string]*model.EndpointSlice{}, pods: map[string]*model.Pod{}, ns: map[string]bool{}}
}

func (r *recorder) UpsertService(s *model.Service) {
	r.mu.Lock()
	r.services[s.Key()] = s
	r.mu.Unlock()
}
func (r *recorder) DeleteService(ns, n string) {
	r.mu.Lock()
	delete(r.services, ns+"/"+n)
	r.mu.Unlock()
}
func (r *recorder) UpsertEndpointSlice(s *model.EndpointSlice) {
	r.mu.Lock()
	r.slices[s.Key()] = s
	r.mu.Unlock()
}
func (r *recorder) DeleteEndpointSlice(ns, n string) {
	r.mu.Lock()
	delete(r.slices, ns+"/"+n)
	r.mu.Unlock()
}
func (r *recorder) UpsertPod(p *model.Pod) { r.mu.Lock(); r.pods[p.Key()] = p; r.mu.Unlock() }
func (r *recorder) DeletePod(ns, n string) { r.mu.Lock(); delete(r.pods, ns+"/"+n); r.mu.Unlock() }
func (r *recorder) UpsertNamespace(n *model.Namespace) {
	r.mu.Lock()
	r.ns[n.Name] = true
	r.mu.Unlock()
}
func (r *recorder) DeleteNamespace(n string) { r.mu.Lock(); delete(r.ns, n); r.mu.Unlock() }
func (r *recorder) Replace(*model.Snapshot)  {}
func (r *recorder) Retain(kind source.Kind, namespace string, listed []source.ObjectKey) {
	r.mu.Lock()
	defer r.mu.Unlock()
	keep := map[source.ObjectKey]bool{}
	for _, k := range listed {
		keep[k] = true
	}
	stale := func(ns, name string) bool {
		return (namespace == "" || ns == namespace) && !keep[source.ObjectKey{Namespace: ns, Name: name}]
	}
	switch kind {
	case source.Services:
		maps.DeleteFunc(r.services, func(_ string, s *model.Service) bool { return stale(s.Namespace, s.Name) })
	case source.EndpointSlices:
		maps.DeleteFunc(r.slices, func(_ string, s *model.EndpointSlice) bool { return stale(s.Namespace, s.Name) })
	case source.Pods:
		maps.DeleteFunc(r.pods, func(_ string, p *model.Pod) bool { return stale(p.Namespace, p.Name) })
	case source.Namespaces:
		maps.DeleteFunc(r.ns, func(n string, _ bool) bool { return stale("", n) })
	}
}
func (r *recorder) namespaces() map[string]bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return maps.Clone(r.ns)
}

func (r *recorder) has(check func() bool) bool { r.mu.Lock(); defer r.mu.Unlock(); return check() }

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("timed out waiting for %s", what)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

func TestWatchFeedsTheSinkAndStopsCleanly(t *testing.T) {
	before := runtime.NumGoroutine()
	ready := true
	client := fake.NewClientset(
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "default"}},
		&corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "web"},
			Spec: corev1.ServiceSpec{ClusterIP: "10.96.0.5", ClusterIPs: []string{"10.96.0.5"}}},
		&discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "web-1",
			Labels: map[string]string{"kubernetes.io/service-name": "web"}}, AddressType: discoveryv1.AddressTypeIPv4,
			Endpoints: []discoveryv1.Endpoint{{Addresses: []string{"10.244.0.1"}, Conditions: discoveryv1.EndpointConditions{Ready: &ready}}}},
		&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "p"}, Status: corev1.PodStatus{PodIP: "10.244.0.1"}},
	)
	sink := newRecorder()
	ctx, cancel := context.WithCancel(context.Background())
	w := Watch(ctx, client, WatchConfig{Endpoints: true, Pods: true}, sink)
	syncCtx, syncCancel := context.WithTimeout(ctx, 10*time.Second)
	defer syncCancel()
	if !w.WaitForSync(syncCtx) {
		t.Fatal("no sync")
	}
	if !sink.has(func() bool {
		return sink.services["default/web"] != nil && sink.slices["default/web-1"] != nil && sink.pods["default/p"] != nil && sink.ns["default"]
	}) {
		t.Fatal("synced before the sink had every object")
	}

	if err := client.CoreV1().Services("default").Delete(ctx, "web", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the service delete", func() bool { return sink.has(func() bool { return sink.services["default/web"] == nil }) })

	// A pod that loses its IP is no longer named.
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "p"}}
	if _, err := client.CoreV1().Pods("default").Update(ctx, pod, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the pod without IP to go", func() bool { return sink.has(func() bool { return sink.pods["default/p"] == nil }) })

	cancel()
	eventually(t, "reflector goroutines to end", func() bool { return runtime.NumGoroutine() <= before+2 })
}

func TestWatchFiltersNamespacesAsTheyChange(t *testing.T) {
	team := func(name, value string) *corev1.Namespace {
		return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"team": value}}}
	}
	selector, err := labels.Parse("team=shop")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name   string
		filter source.Filter
		first  map[string]bool // namespaces delivered after the first sync
		change *corev1.Namespace
		then   map[string]bool
	}{
		{"namespace labels: a namespace that stops matching goes", source.Filter{NamespaceLabels: selector},
			map[string]bool{"a": true}, team("a", "ops"), map[string]bool{}},
		{"namespace labels: a namespace that starts to match comes", source.Filter{NamespaceLabels: selector},
			map[string]bool{"a": true}, team("b", "shop"), map[string]bool{"a": true, "b": true}},
		{"namespaces: a new one named comes, whatever its labels", source.Filter{Namespaces: []string{"b", "c"}},
			map[string]bool{"b": true}, team("c", "ops"), map[string]bool{"b": true, "c": true}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			client := fake.NewClientset(team("a", "shop"), team("b", "ops"))
			sink := newRecorder()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			w := Watch(ctx, client, WatchConfig{Filter: tt.filter}, sink)
			if !w.WaitForSync(ctx) {
				t.Fatal("no sync")
			}
			if got := sink.namespaces(); !maps.Equal(got, tt.first) {
				t.Fatalf("namespaces %v, want %v", got, tt.first)
			}
			namespaces := client.CoreV1().Namespaces()
			var err error
			if _, err = namespaces.Get(ctx, tt.change.Name, metav1.GetOptions{}); err == nil {
				_, err = namespaces.Update(ctx, tt.change, metav1.UpdateOptions{})
			} else {
				_, err = namespaces.Create(ctx, tt.change, metav1.CreateOptions{})
			}
			if err != nil {
				t.Fatal(err)
			}
			eventually(t, fmt.Sprintf("namespaces %v", tt.then), func() bool { return maps.Equal(sink.namespaces(), tt.then) })
		})
	}
}

func (r *recorder) UpsertServiceImport(*model.ServiceImport) {}
func (r *recorder) DeleteServiceImport(string, string)       {}
func (r *recorder) UpsertImportedSlice(*model.ImportedSlice) {}
func (r *recorder) DeleteImportedSlice(string, string)       {}
