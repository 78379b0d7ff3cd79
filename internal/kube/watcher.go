package kube

import (
	"context"
	"time"

	"github.com/clusterdns/clusterdns/internal/model"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
)

// WatchConfig chooses what the reflectors list and watch. Filters go into the list and watch
// requests where the API allows, so that the API server sends only what will be served.
type WatchConfig struct {
	Namespaces      []string        // only these namespaces; empty means all
	NamespaceLabels labels.Selector // only namespaces with these labels; nil means all
	Filter          Filter          // services and EndpointSlices with these labels
	Endpoints       bool            // watch EndpointSlices
	Pods            bool            // watch Pods
}

// Watcher runs the reflectors that feed a Sink.
type Watcher struct {
	feeds []*feed
}

// Watch starts a reflector per resource (and per namespace with the namespaces option); they stop
// when ctx is done. Nothing is stored but the sink's slim objects: each reflector writes into a
// feed that converts every API object as it arrives (see feed).
func Watch(ctx context.Context, client kubernetes.Interface, cfg WatchConfig, sink Sink) *Watcher {
	w := &Watcher{}
	namespaces := cfg.Namespaces
	if len(namespaces) == 0 {
		namespaces = []string{metav1.NamespaceAll}
	}
	selected := func(opts *metav1.ListOptions) {
		if cfg.Filter.Labels != nil {
			opts.LabelSelector = cfg.Filter.Labels.String()
		}
	}
	// Host-network pods share their node's address and get no pod name.
	hostNet := func(opts *metav1.ListOptions) {
		opts.FieldSelector = fields.OneTermNotEqualSelector("spec.hostNetwork", "true").String()
	}
	for _, ns := range namespaces {
		w.run(ctx, "services", &corev1.Service{}, listWatch(client, client.CoreV1().Services(ns), selected), cfg, &feed{
			upsert: func(o any) { sink.UpsertService(o.(*model.Service)) }, remove: sink.DeleteService,
			retain: func(l []ObjectKey) { sink.Retain(Services, ns, l) },
		})
		if cfg.Endpoints {
			w.run(ctx, "endpointslices", &discoveryv1.EndpointSlice{}, listWatch(client, client.DiscoveryV1().EndpointSlices(ns), selected), cfg, &feed{
				upsert: func(o any) { sink.UpsertEndpointSlice(o.(*model.EndpointSlice)) }, remove: sink.DeleteEndpointSlice,
				retain: func(l []ObjectKey) { sink.Retain(EndpointSlices, ns, l) },
			})
		}
		if cfg.Pods {
			w.run(ctx, "pods", &corev1.Pod{}, listWatch(client, client.CoreV1().Pods(ns), hostNet), cfg, &feed{
				upsert: func(o any) { sink.UpsertPod(o.(*model.Pod)) }, remove: sink.DeletePod,
				retain: func(l []ObjectKey) { sink.Retain(Pods, ns, l) },
			})
		}
	}
	nsOnly := func(opts *metav1.ListOptions) {
		if cfg.NamespaceLabels != nil {
			opts.LabelSelector = cfg.NamespaceLabels.String()
		}
		if len(cfg.Namespaces) == 1 {
			opts.FieldSelector = fields.OneTermEqualSelector("metadata.name", cfg.Namespaces[0]).String()
		}
	}
	w.run(ctx, "namespaces", &corev1.Namespace{}, listWatch(client, client.CoreV1().Namespaces(), nsOnly), cfg, &feed{
		upsert: func(o any) { sink.UpsertNamespace(o.(*model.Namespace)) }, remove: func(_, name string) { sink.DeleteNamespace(name) },
		retain: func(l []ObjectKey) { sink.Retain(Namespaces, "", l) },
	})
	return w
}

// run starts one reflector of expected objects into f.
func (w *Watcher) run(ctx context.Context, resource string, expected runtime.Object, lw cache.ListerWatcher, cfg WatchConfig, f *feed) {
	f.podNames = cfg.Filter.PodNames
	w.feeds = append(w.feeds, f)
	r := cache.NewReflectorWithOptions(lw, expected, f, cache.ReflectorOptions{Name: "clusterdns " + resource})
	go r.RunWithContext(ctx)
}

// lister is the list and watch half of a typed client (client.CoreV1().Services(ns), ...).
type lister[L runtime.Object] interface {
	List(context.Context, metav1.ListOptions) (L, error)
	Watch(context.Context, metav1.ListOptions) (watch.Interface, error)
}

// listWatch lists and watches through c with tweak applied, streaming lists where the client can
// (as client-go's generated informers do).
func listWatch[L runtime.Object](client kubernetes.Interface, c lister[L], tweak func(*metav1.ListOptions)) cache.ListerWatcher {
	return cache.ToListWatcherWithWatchListSemantics(&cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, opts metav1.ListOptions) (runtime.Object, error) {
			tweak(&opts)
			return c.List(ctx, opts)
		},
		WatchFuncWithContext: func(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
			tweak(&opts)
			return c.Watch(ctx, opts)
		},
	}, client)
}

// HasSynced reports whether every reflector has delivered its first complete list to the sink.
func (w *Watcher) HasSynced() bool {
	for _, f := range w.feeds {
		if !f.synced.Load() {
			return false
		}
	}
	return true
}

// WaitForSync blocks until HasSynced or ctx is done, and reports which. It checks every 10 ms, not
// in client-go's steps of 100 ms, which would delay readiness.
func (w *Watcher) WaitForSync(ctx context.Context) bool {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !w.HasSynced() {
		select {
		case <-ctx.Done():
			return false
		case <-tick.C:
		}
	}
	return true
}
