package clusterdns

import (
	"fmt"
	"net/netip"
	"runtime"
	"testing"

	"github.com/clusterdns/clusterdns/internal/model"
)

// The heap fixture: services with 10 endpoints each, 10% headless with StatefulSet hostnames, two
// named ports.
const heapServices, heapPerService = 1000, 10

// BenchmarkHeapPerEndpoint reports the live heap the store and index hold per ready endpoint for
// the heap fixture, fed as the reflectors feed it.
func BenchmarkHeapPerEndpoint(b *testing.B) {
	for range b.N {
		b.StopTimer()
		cd := newPlugin(b, "", emptyCluster)
		before := liveHeap()
		b.StartTimer()
		fillHeapFixture(cd, heapServices, heapPerService)
		b.StopTimer()
		b.ReportMetric(float64(liveHeap()-before)/(heapServices*heapPerService), "heapB/endpoint")
		runtime.KeepAlive(cd)
	}
}

func liveHeap() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// fillHeapFixture loads the heap fixture, of services with perService endpoints each, through the
// store.
func fillHeapFixture(cd *ClusterDNS, services, perService int) {
	for i := range services {
		ns, name := fmt.Sprintf("ns-%d", i%50), fmt.Sprintf("svc-%d", i)
		cd.store.UpsertService(&model.Service{
			Namespace: ns, Name: name, Headless: i%10 == 0, HasSelector: true,
			ClusterIPs: []netip.Addr{netip.AddrFrom4([4]byte{10, 96, byte(i >> 8), byte(i)})},
			Ports:      []model.Port{{Name: "http", Protocol: "tcp", Port: 80}, {Name: "metrics", Protocol: "tcp", Port: 9090}},
		})
		eps := make([]model.Endpoint, perService)
		for j := range eps {
			eps[j].Addr = netip.AddrFrom4([4]byte{10, byte(244 + i>>12), byte(i >> 4), byte(i<<4 | j)})
			if i%10 == 0 {
				eps[j].Name = fmt.Sprintf("%s-%d", name, j) // StatefulSet hostnames
			}
		}
		cd.store.UpsertEndpointSlice(&model.EndpointSlice{
			Namespace: ns, Name: name + "-1", Service: name, Endpoints: model.NewEndpoints(eps),
			Ports: []model.Port{{Name: "http", Protocol: "tcp", Port: 8080}, {Name: "metrics", Protocol: "tcp", Port: 9090}},
		})
	}
}
