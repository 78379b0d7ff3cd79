package kube

import (
	"context"
	"fmt"
	"sync"

	"github.com/clusterdns/clusterdns/internal/model"
	"github.com/clusterdns/clusterdns/internal/source"

	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	mcs "sigs.k8s.io/mcs-api/pkg/apis/v1alpha1"
	mcsclient "sigs.k8s.io/mcs-api/pkg/client/clientset/versioned/typed/apis/v1alpha1"
)

// NewMCSClient returns a client of the Multi-Cluster Services API (multicluster.x-k8s.io), with
// the same limits and health reports as NewClient's, in JSON: custom resources have no protobuf.
func NewMCSClient(c ClientConfig) (mcsclient.MulticlusterV1alpha1Interface, error) {
	cfg, err := tunedConfig(c)
	if err != nil {
		return nil, err
	}
	cs, err := mcsclient.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("multicluster client: %w", err)
	}
	return cs, nil
}

// WatchImports starts the reflectors of multicluster: ServiceImports through the MCS client, and
// the EndpointSlices labelled multicluster.kubernetes.io/service-name through client. Its own
// Watcher tells when they have synced, apart from the cluster's resources: without the
// ServiceImport CRD they never do, and the cluster zone must not wait for them. missing is called
// once, the first time the API server says the ServiceImport resource does not exist.
func WatchImports(ctx context.Context, client kubernetes.Interface, mc mcsclient.MulticlusterV1alpha1Interface, cfg WatchConfig, sink source.Sink, missing func(error)) *Watcher {
	w := &Watcher{}
	f := cfg.Filter
	namespaces := f.Namespaces
	if len(namespaces) == 0 {
		namespaces = []string{metav1.NamespaceAll}
	}
	var once sync.Once
	notFound := func(err error) {
		if apierrors.IsNotFound(err) {
			once.Do(func() { missing(err) })
		}
	}
	for _, ns := range namespaces {
		run(ctx, w, "serviceimports", &mcs.ServiceImport{}, importsListWatch(mc.ServiceImports(ns), notFound), &feed[model.ServiceImport]{
			convert: converterOf(source.ServiceImports, f, source.ConvertServiceImport),
			upsert:  sink.UpsertServiceImport, remove: sink.DeleteServiceImport,
			retain: func(l []source.ObjectKey) { sink.Retain(source.ServiceImports, ns, l) },
		})
		if cfg.Endpoints {
			run(ctx, w, "endpointslices", &discoveryv1.EndpointSlice{}, listWatch(client, client.DiscoveryV1().EndpointSlices(ns), f, source.ImportedSlices), &feed[model.ImportedSlice]{
				convert: converterOf(source.ImportedSlices, f, func(es *discoveryv1.EndpointSlice) *model.ImportedSlice {
					return source.ConvertImportedSlice(es, cfg.PodNames)
				}),
				upsert: sink.UpsertImportedSlice, remove: sink.DeleteImportedSlice,
				retain: func(l []source.ObjectKey) { sink.Retain(source.ImportedSlices, ns, l) },
			})
		}
	}
	return w
}

// importsListWatch lists and watches ServiceImports with plain lists: the MCS API's generated
// client predates streaming lists. failed learns of every error.
func importsListWatch(c mcsclient.ServiceImportInterface, failed func(error)) cache.ListerWatcher {
	return cache.ToListWatcherWithWatchListSemantics(&cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, opts metav1.ListOptions) (runtime.Object, error) {
			l, err := c.List(ctx, opts)
			if err != nil {
				failed(err)
				return nil, err
			}
			return l, nil
		},
		WatchFuncWithContext: func(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
			return c.Watch(ctx, opts)
		},
	}, plainLists{})
}

// plainLists tells client-go's reflector not to try streaming lists.
type plainLists struct{}

func (plainLists) IsWatchListSemanticsUnSupported() bool { return true }
