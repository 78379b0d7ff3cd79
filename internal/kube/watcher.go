package kube

import (
	"context"
	"fmt"
	"time"

	"github.com/clusterdns/clusterdns/internal/model"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
)

// WatchConfig chooses what the informers list and watch. Filters go into the list and watch
// requests where the API allows, so that the API server sends only what will be served.
type WatchConfig struct {
	Namespaces      []string        // only these namespaces; empty means all
	NamespaceLabels labels.Selector // only namespaces with these labels; nil means all
	Filter          Filter          // services and EndpointSlices with these labels
	Endpoints       bool            // watch EndpointSlices
	Pods            bool            // watch Pods
	Health          *Health         // told of list and watch failures client-go reports
}

// Watcher runs the informers that feed a Sink.
type Watcher struct {
	synced []cache.InformerSynced
}

// Watch starts the informers; they stop when ctx is done. Nothing is stored but slim objects: the
// informers transform each API object before their caches keep it.
func Watch(ctx context.Context, client kubernetes.Interface, cfg WatchConfig, sink Sink) (*Watcher, error) {
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
	var factories []informers.SharedInformerFactory
	for _, ns := range namespaces {
		f := informers.NewSharedInformerFactoryWithOptions(client, 0, informers.WithNamespace(ns),
			informers.WithTweakListOptions(selected), informers.WithTransform(transform(cfg.Filter)))
		if err := w.add(f.Core().V1().Services().Informer(), "services", cfg.Health, serviceHandler(sink)); err != nil {
			return nil, err
		}
		if cfg.Endpoints {
			if err := w.add(f.Discovery().V1().EndpointSlices().Informer(), "endpointslices", cfg.Health, sliceHandler(sink)); err != nil {
				return nil, err
			}
		}
		factories = append(factories, f)
		if cfg.Pods {
			// Host-network pods share their node's address and get no pod name.
			hostNet := func(opts *metav1.ListOptions) {
				opts.FieldSelector = fields.OneTermNotEqualSelector("spec.hostNetwork", "true").String()
			}
			pf := informers.NewSharedInformerFactoryWithOptions(client, 0, informers.WithNamespace(ns),
				informers.WithTweakListOptions(hostNet), informers.WithTransform(transform(cfg.Filter)))
			if err := w.add(pf.Core().V1().Pods().Informer(), "pods", cfg.Health, podHandler(sink)); err != nil {
				return nil, err
			}
			factories = append(factories, pf)
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
	nf := informers.NewSharedInformerFactoryWithOptions(client, 0,
		informers.WithTweakListOptions(nsOnly), informers.WithTransform(transform(cfg.Filter)))
	if err := w.add(nf.Core().V1().Namespaces().Informer(), "namespaces", cfg.Health, namespaceHandler(sink)); err != nil {
		return nil, err
	}
	factories = append(factories, nf)
	for _, f := range factories {
		f.Start(ctx.Done())
		go func() { <-ctx.Done(); f.Shutdown() }()
	}
	return w, nil
}

func (w *Watcher) add(inf cache.SharedIndexInformer, resource string, h *Health, handler cache.ResourceEventHandler) error {
	if h != nil {
		if err := inf.SetWatchErrorHandlerWithContext(func(_ context.Context, _ *cache.Reflector, err error) {
			h.failed(resource, err)
		}); err != nil {
			return fmt.Errorf("%s informer: %w", resource, err)
		}
	}
	reg, err := inf.AddEventHandler(handler)
	if err != nil {
		return fmt.Errorf("%s informer: %w", resource, err)
	}
	// The handler's own sync, not the cache's: synced means the sink has seen the first list.
	w.synced = append(w.synced, reg.HasSynced)
	return nil
}

// HasSynced reports whether every informer has delivered its first complete list to the sink.
func (w *Watcher) HasSynced() bool {
	for _, s := range w.synced {
		if !s() {
			return false
		}
	}
	return true
}

// WaitForSync blocks until HasSynced or ctx is done, and reports which. It checks every 10 ms:
// client-go's WaitForCacheSync waits in steps of 100 ms, which would delay readiness.
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

// handler adapts informer notifications to upserts and deletes of slim objects. An object that
// converts to nothing (a pod that lost its IP) is a delete.
func handler(upsert func(any), remove func(namespace, name string)) cache.ResourceEventHandlerFuncs {
	apply := func(obj any) {
		s, ok := obj.(*slim)
		if !ok {
			return
		}
		if s.obj == nil {
			remove(s.namespace, s.name)
			return
		}
		upsert(s.obj)
	}
	return cache.ResourceEventHandlerFuncs{
		AddFunc:    apply,
		UpdateFunc: func(_, obj any) { apply(obj) },
		DeleteFunc: func(obj any) {
			if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				ns, name, err := cache.SplitMetaNamespaceKey(d.Key)
				if err == nil {
					remove(ns, name)
				}
				return
			}
			if s, ok := obj.(*slim); ok {
				remove(s.namespace, s.name)
			}
		},
	}
}

func serviceHandler(sink Sink) cache.ResourceEventHandler {
	return handler(func(o any) { sink.UpsertService(o.(*model.Service)) }, sink.DeleteService)
}

func sliceHandler(sink Sink) cache.ResourceEventHandler {
	return handler(func(o any) { sink.UpsertEndpointSlice(o.(*model.EndpointSlice)) }, sink.DeleteEndpointSlice)
}

func podHandler(sink Sink) cache.ResourceEventHandler {
	return handler(func(o any) { sink.UpsertPod(o.(*model.Pod)) }, sink.DeletePod)
}

func namespaceHandler(sink Sink) cache.ResourceEventHandler {
	return handler(func(o any) { sink.UpsertNamespace(o.(*model.Namespace)) },
		func(_, name string) { sink.DeleteNamespace(name) })
}
