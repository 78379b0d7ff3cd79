package kube

import (
	"context"
	"time"

	"github.com/clusterdns/clusterdns/internal/model"
	"github.com/clusterdns/clusterdns/internal/source"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
)

// WatchConfig chooses what the reflectors list and watch.
type WatchConfig struct {
	Filter    source.Filter // what is served
	PodNames  bool          // name endpoints without a hostname by their pod (endpoint_pod_names)
	Endpoints bool          // watch EndpointSlices
	Pods      bool          // watch Pods
	// PodLabels are the pod labels kept for the client index (client_labels).
	PodLabels []string
}

// Watcher runs the reflectors that feed a Sink.
type Watcher struct {
	feeds []syncer
}

// Watch starts a reflector per resource (and per namespace with the namespaces option); they stop
// when ctx is done. Nothing is stored but the sink's slim objects: each reflector writes into a
// feed that converts every API object as it arrives (see feed).
func Watch(ctx context.Context, client kubernetes.Interface, cfg WatchConfig, sink source.Sink) *Watcher {
	w := &Watcher{}
	f := cfg.Filter
	namespaces := f.Namespaces
	if len(namespaces) == 0 {
		namespaces = []string{metav1.NamespaceAll}
	}
	for _, ns := range namespaces {
		run(ctx, w, "services", &corev1.Service{}, listWatch(client, client.CoreV1().Services(ns), f, source.Services), &feed[model.Service]{
			convert: serviceConverter(f), upsert: sink.UpsertService, remove: sink.DeleteService,
			retain: func(l []source.ObjectKey) { sink.Retain(source.Services, ns, l) },
		})
		if cfg.Endpoints {
			run(ctx, w, "endpointslices", &discoveryv1.EndpointSlice{}, listWatch(client, client.DiscoveryV1().EndpointSlices(ns), f, source.EndpointSlices), &feed[model.EndpointSlice]{
				convert: sliceConverter(f, cfg.PodNames), upsert: sink.UpsertEndpointSlice, remove: sink.DeleteEndpointSlice,
				retain: func(l []source.ObjectKey) { sink.Retain(source.EndpointSlices, ns, l) },
			})
		}
		if cfg.Pods {
			run(ctx, w, "pods", &corev1.Pod{}, listWatch(client, client.CoreV1().Pods(ns), f, source.Pods), &feed[model.Pod]{
				convert: podConverter(f, cfg.PodLabels), upsert: sink.UpsertPod, remove: sink.DeletePod,
				retain: func(l []source.ObjectKey) { sink.Retain(source.Pods, ns, l) },
			})
		}
	}
	run(ctx, w, "namespaces", &corev1.Namespace{}, listWatch(client, client.CoreV1().Namespaces(), f, source.Namespaces), &feed[model.Namespace]{
		convert: namespaceConverter(f), upsert: sink.UpsertNamespace, remove: func(_, name string) { sink.DeleteNamespace(name) },
		retain: func(l []source.ObjectKey) { sink.Retain(source.Namespaces, "", l) },
	})
	return w
}

// run starts one reflector of expected objects into f.
func run[T any](ctx context.Context, w *Watcher, resource string, expected runtime.Object, lw cache.ListerWatcher, f *feed[T]) {
	w.feeds = append(w.feeds, f)
	r := cache.NewReflectorWithOptions(lw, expected, f, cache.ReflectorOptions{Name: "clusterdns " + resource, Backoff: relistBackoff()})
	go r.RunWithContext(ctx)
}

// relistBackoff spaces a reflector's attempts to list and watch again after a failure the
// transport does not retry itself (an API server that answers 5xx while it starts). client-go's
// default doubles up to 30 s and forgets only after 2 minutes of health, so an API server that
// restarts a few times in a row would leave the answers stale for longer each time.
func relistBackoff() *wait.Backoff {
	return &wait.Backoff{Duration: retryMin, Cap: time.Second, Steps: 4, Factor: 2, Jitter: 0.25}
}

// lister is the list and watch half of a typed client (client.CoreV1().Services(ns), ...).
type lister[L runtime.Object] interface {
	List(context.Context, metav1.ListOptions) (L, error)
	Watch(context.Context, metav1.ListOptions) (watch.Interface, error)
}

// listWatch lists and watches kind through c, narrowed by the filter, streaming lists where the
// client can (as client-go's generated informers do).
func listWatch[L runtime.Object](client kubernetes.Interface, c lister[L], f source.Filter, kind source.Kind) cache.ListerWatcher {
	narrow := func(opts *metav1.ListOptions) {
		f.ListOptions(kind, opts)
		if kind == source.Pods {
			// Host-network pods share their node's address and get no pod name.
			opts.FieldSelector = fields.OneTermNotEqualSelector("spec.hostNetwork", "true").String()
		}
	}
	return cache.ToListWatcherWithWatchListSemantics(&cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, opts metav1.ListOptions) (runtime.Object, error) {
			narrow(&opts)
			return c.List(ctx, opts)
		},
		WatchFuncWithContext: func(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
			narrow(&opts)
			return c.Watch(ctx, opts)
		},
	}, client)
}

// HasSynced reports whether every reflector has delivered its first complete list to the sink.
func (w *Watcher) HasSynced() bool {
	for _, f := range w.feeds {
		if !f.hasSynced() {
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
