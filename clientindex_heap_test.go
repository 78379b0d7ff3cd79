package clusterdns

import (
	"fmt"
	"net/netip"
	"runtime"
	"testing"

	"github.com/clusterdns/clusterdns/internal/model"
)

// clientHeapPods is the pod count of the client index's heap figure: the 100,000.
const clientHeapPods = 100_000

// clientHeapPod is pod i of the fixture: ReplicaSet-style names (a deployment's name, its
// template hash, five random characters) in 1,000 namespaces, one IPv4 address each, labels app
// and tier shared by the pods of a deployment.
func clientHeapPod(i int) *model.Pod {
	dep := i / 10
	return &model.Pod{
		Namespace: fmt.Sprintf("ns-%d", dep%1000),
		Name:      fmt.Sprintf("deployment-%d-7d9f8b6c5d-%05x", dep, i*7919%0xfffff),
		IPs:       []netip.Addr{netip.AddrFrom4([4]byte{10, byte(64 + i>>16), byte(i >> 8), byte(i)})},
		Labels:    map[string]string{"app": fmt.Sprintf("deployment-%d", dep), "tier": "web"},
	}
}

// BenchmarkHeapClientIndex reports the live heap of the client index for 100,000 pods fed through
// the store as the Pod watch feeds it: with client identity alone (autopath or client_labels
// without pods verified), and with pods verified, where the same pods also answer pod names.
func BenchmarkHeapClientIndex(b *testing.B) {
	for _, bc := range []struct{ name, body string }{
		{"clients", "client_labels app tier"},
		{"pods_verified_without_clients", "pods verified"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for range b.N {
				b.StopTimer()
				cd := newPlugin(b, bc.body, emptyCluster)
				if bc.name == "pods_verified_without_clients" {
					cd.store.clients = nil
				}
				before := liveHeap()
				for i := range clientHeapPods {
					p := clientHeapPod(i)
					if bc.body == "pods verified" {
						p.Labels = nil
					}
					cd.store.UpsertPod(p)
				}
				after := liveHeap()
				b.ReportMetric(float64(after-before)/clientHeapPods, "heapB/pod")
				b.ReportMetric(float64(after-before)/(1<<20), "heapMiB")
				runtime.KeepAlive(cd)
			}
		})
	}
}
