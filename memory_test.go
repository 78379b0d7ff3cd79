package clusterdns

import (
	"fmt"
	"net/netip"
	"runtime"
	"testing"

	"github.com/clusterdns/clusterdns/internal/model"
)

// BenchmarkHeapPerEndpoint reports the live heap the store and index hold per ready endpoint, for a
// cluster of services with 10 endpoints each (10% headless with StatefulSet hostnames, two named
// ports), as the informers feed it.
func BenchmarkHeapPerEndpoint(b *testing.B) {
	const services, perService = 1000, 10
	for range b.N {
		b.StopTimer()
		k := newPlugin(b, "", emptyCluster)
		before := liveHeap()
		b.StartTimer()
		fillHeapFixture(k)
		b.StopTimer()
		b.ReportMetric(float64(liveHeap()-before)/(services*perService), "heapB/endpoint")
		runtime.KeepAlive(k)
	}
}

func liveHeap() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// fillHeapFixture loads the fixture through the store, as the informers feed it.
func fillHeapFixture(k *ClusterDNS) {
	const services, perService = 1000, 10
	for i := range services {
		ns, name := fmt.Sprintf("ns-%d", i%50), fmt.Sprintf("svc-%d", i)
		k.store.UpsertService(&model.Service{
			Namespace: ns, Name: name, Headless: i%10 == 0, HasSelector: true,
			ClusterIPs: []netip.Addr{netip.AddrFrom4([4]byte{10, 96, byte(i >> 8), byte(i)})},
			Ports:      []model.Port{{Name: "http", Protocol: "tcp", Port: 80}, {Name: "metrics", Protocol: "tcp", Port: 9090}},
		})
		sl := &model.EndpointSlice{Namespace: ns, Name: name + "-1", Service: name,
			Ports: []model.Port{{Name: "http", Protocol: "tcp", Port: 8080}, {Name: "metrics", Protocol: "tcp", Port: 9090}}}
		for j := range perService {
			e := model.Endpoint{Addr: netip.AddrFrom4([4]byte{10, 244, byte(i >> 4), byte(i<<4 | j)})}
			if i%10 == 0 {
				e.Name = fmt.Sprintf("%s-%d", name, j) // StatefulSet hostnames
			}
			sl.Endpoints = append(sl.Endpoints, e)
		}
		k.store.UpsertEndpointSlice(sl)
	}
}
