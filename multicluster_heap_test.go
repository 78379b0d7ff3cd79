package clusterdns

import (
	"fmt"
	"net/netip"
	"runtime"
	"testing"

	"github.com/clusterdns/clusterdns/internal/model"

	"github.com/coredns/caddy"
	"github.com/miekg/dns"
)

// The imports heap fixture: 1,000 ServiceImports, 10% headless, each exported by two clusters
// with 5 ready endpoints each (StatefulSet hostnames) and two named ports.
const heapImports, heapClusters, heapPerCluster = 1000, 2, 5

// BenchmarkHeapImports reports the live heap the store and index hold per ServiceImport and per
// imported endpoint for the imports heap fixture, fed as the reflectors feed it.
func BenchmarkHeapImports(b *testing.B) {
	for range b.N {
		b.StopTimer()
		cd := unstartedMulticluster(b)
		before := liveHeap()
		b.StartTimer()
		fillImportsFixture(cd)
		b.StopTimer()
		held := float64(liveHeap() - before)
		b.ReportMetric(held/heapImports, "heapB/import")
		b.ReportMetric(held/(heapImports*heapClusters*heapPerCluster), "heapB/endpoint")
		runtime.KeepAlive(cd)
	}
}

// TestImportsFixtureAnswers checks that the heap benchmark measures a store that answers.
func TestImportsFixtureAnswers(t *testing.T) {
	cd := unstartedMulticluster(t)
	cd.synced.Store(true)
	cd.importsSynced.Store(true)
	fillImportsFixture(cd)
	expect(t, cd, "imp-1.ns-1.svc.clusterset.local.", dns.TypeA, dns.RcodeSuccess, 1)
	expect(t, cd, "imp-10.ns-10.svc.clusterset.local.", dns.TypeA, dns.RcodeSuccess, heapClusters*heapPerCluster)
	expect(t, cd, "imp-10-7.c1.imp-10.ns-10.svc.clusterset.local.", dns.TypeA, dns.RcodeSuccess, 1)
	expect(t, cd, "_http._tcp.imp-10.ns-10.svc.clusterset.local.", dns.TypeSRV, dns.RcodeSuccess, heapClusters*heapPerCluster)
}

// unstartedMulticluster is the plugin with a clusterset zone, not started: tests feed its store.
func unstartedMulticluster(t testing.TB) *ClusterDNS {
	t.Helper()
	c := caddy.NewTestController("dns", "clusterdns cluster.local clusterset.local {\nmulticluster clusterset.local\n}")
	c.Next()
	cfg, err := parseStanza(c)
	if err != nil {
		t.Fatal(err)
	}
	cd, err := newClusterDNS(cfg, []netip.Addr{testNSAddr})
	if err != nil {
		t.Fatal(err)
	}
	return cd
}

// fillImportsFixture loads the imports heap fixture through the store.
func fillImportsFixture(cd *ClusterDNS) {
	ports := []model.Port{{Name: "http", Protocol: "tcp", Port: 80}, {Name: "metrics", Protocol: "tcp", Port: 9090}}
	for i := range heapImports {
		ns, name := fmt.Sprintf("ns-%d", i%50), fmt.Sprintf("imp-%d", i)
		imp := &model.ServiceImport{Namespace: ns, Name: name, Headless: i%10 == 0, Ports: ports}
		if !imp.Headless {
			imp.IPs = []netip.Addr{netip.AddrFrom4([4]byte{10, 42, byte(i >> 8), byte(i)})}
		}
		cd.store.UpsertServiceImport(imp)
		for c := range heapClusters {
			eps := make([]model.Endpoint, heapPerCluster)
			for j := range eps {
				eps[j] = model.Endpoint{
					Addr: netip.AddrFrom4([4]byte{10, byte(100 + c), byte(i >> 4), byte(i<<4 | j)}),
					Name: fmt.Sprintf("%s-%d", name, c*heapPerCluster+j),
				}
			}
			cd.store.UpsertImportedSlice(&model.ImportedSlice{
				EndpointSlice: model.EndpointSlice{Namespace: ns, Name: fmt.Sprintf("%s-c%d", name, c), Service: name,
					Ports: ports, Endpoints: model.NewEndpoints(eps)},
				Cluster: fmt.Sprintf("c%d", c),
			})
		}
	}
}
