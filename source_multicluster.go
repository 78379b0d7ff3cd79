package clusterdns

import (
	"context"
	"slices"

	"github.com/clusterdns/clusterdns/internal/source/kube"

	"k8s.io/client-go/kubernetes"
	mcsclient "sigs.k8s.io/mcs-api/pkg/client/clientset/versioned/typed/apis/v1alpha1"
)

// importsSource watches the ServiceImports of the clusterset zones (multicluster) beside the
// cluster's own resources, and tells when they have synced.
type importsSource struct {
	// connect makes the MCS API client (kube.NewMCSClient; tests hand in a fake clientset).
	connect func(kube.ClientConfig) (mcsclient.MulticlusterV1alpha1Interface, error)
	synced  func()
}

// start runs the reflectors; the clusterset zones are synced once they have listed everything.
// Without the ServiceImport CRD they never list: the log says so once, the plugin is not ready
// (as the kubernetes plugin is not) and clusterset names not known get SERVFAIL, while the
// cluster zone answers as usual. Once the CRD is installed, the next list succeeds.
func (s *importsSource) start(ctx context.Context, client kubernetes.Interface, cc kube.ClientConfig, wc kube.WatchConfig, st *store) error {
	mc, err := s.connect(cc)
	if err != nil {
		return err
	}
	w := kube.WatchImports(ctx, client, mc, wc, st, func(err error) {
		log.Errorf("multicluster: ServiceImports cannot be listed (%v): install the Multi-Cluster Services API CRDs "+
			"(serviceimports.multicluster.x-k8s.io); until then the plugin is not ready and clusterset names get SERVFAIL", err)
	})
	go func() {
		if w.WaitForSync(ctx) {
			s.synced()
		}
	}()
	return nil
}

// zoneSynced tells whether the data of zone has been synced with: the clusterset zones wait for
// ServiceImports, the others for the cluster's resources alone (checked apart).
func (cd *ClusterDNS) zoneSynced(zone string) bool {
	return cd.importsSynced.Load() || !slices.Contains(cd.store.b.mcZones, zone)
}
