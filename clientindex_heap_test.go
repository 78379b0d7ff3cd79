package clusterdns

import (
	"fmt"
	"net/netip"
	"runtime"
	"testing"

	"github.com/clusterdns/clusterdns/internal/model"
)

// The client index's heap figure: 100,000 pods against the data of 10,000 services with 11
// endpoints each (110,000), which it must not exceed 15% of.
const (
	clientHeapPods                       = 100_000
	clientHeapServices, clientHeapPerSvc = 10_000, 11
)

// clientHeapPod is pod i of the fixture: ReplicaSet-style names (a deployment's name, its
// template hash, five random characters) in 1,000 namespaces, ten pods a deployment, one IPv4
// address each, and labels app (one value a deployment) and tier.
func clientHeapPod(i int) *model.Pod {
	dep := i / 10
	return &model.Pod{
		Namespace: fmt.Sprintf("ns-%d", dep%1000),
		Name:      fmt.Sprintf("deployment-%d-7d9f8b6c5d-%05x", dep, i*7919%0xfffff),
		IPs:       []netip.Addr{netip.AddrFrom4([4]byte{10, byte(64 + i>>16), byte(i >> 8), byte(i)})},
		Labels:    map[string]string{"app": fmt.Sprintf("deployment-%d", dep), "tier": "web"},
	}
}

// BenchmarkHeapClientIndex reports the live heap the client index holds for 100,000 pods fed
// through the store as the Pod watch feeds it, per pod and as a share of the data heap of 10,000
// services measured in the same run: with autopath alone (no labels kept), with client_labels
// app tier, and with pods verified, whose pod names answer from the same index.
func BenchmarkHeapClientIndex(b *testing.B) {
	var data uint64
	{
		cd := newPlugin(b, "", emptyCluster)
		before := liveHeap()
		fillHeapFixture(cd, clientHeapServices, clientHeapPerSvc)
		data = liveHeap() - before
		runtime.KeepAlive(cd)
	}
	b.Logf("data heap of %d services, %d endpoints: %.1f MiB", clientHeapServices, clientHeapServices*clientHeapPerSvc, float64(data)/(1<<20))
	for _, bc := range []struct{ name, body string }{
		{"autopath", ""},
		{"client_labels", "client_labels app tier"},
		{"pods_verified", "pods verified"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for range b.N {
				cd := newPlugin(b, bc.body, emptyCluster)
				cd.identifyClients()
				before := liveHeap()
				for i := range clientHeapPods {
					p := clientHeapPod(i)
					if bc.name != "client_labels" {
						p.Labels = nil // what the source keeps without client_labels
					}
					cd.store.UpsertPod(p)
				}
				held := liveHeap() - before
				b.ReportMetric(float64(held)/clientHeapPods, "heapB/pod")
				b.ReportMetric(float64(held)/(1<<20), "heapMiB")
				b.ReportMetric(100*float64(held)/float64(data), "%data")
				runtime.KeepAlive(cd)
			}
		})
	}
}
