package clusterdns

import (
	"context"
	"testing"
	"time"

	"github.com/clusterdns/clusterdns/internal/model"
	"github.com/coredns/coredns/plugin/test"
	"github.com/miekg/dns"
)

// BenchmarkLargeCluster feeds a cluster past what the test control plane can load (100,000
// services, 1,000,000 endpoints: 1,000 namespaces of 100 services, every tenth headless with
// StatefulSet hostnames, two named ports) through the store as the reflectors feed it, and reports
// the heap it holds, the time to take it all, the cost of a query and of an EndpointSlice change.
// Run it alone: go test -run '^$' -bench LargeCluster -benchtime 1x -benchmem .
func BenchmarkLargeCluster(b *testing.B) {
	const namespaces, perNamespace, endpoints = 1000, 100, 10
	cd := newPlugin(b, "", emptyCluster)
	before := liveHeap()
	snap := clusterSnapshot(namespaces, perNamespace, endpoints)
	start := time.Now()
	for _, svc := range snap.Services {
		cd.store.UpsertService(svc)
	}
	for _, sl := range snap.Slices {
		cd.store.UpsertEndpointSlice(sl)
	}
	took := time.Since(start)
	services := len(snap.Services)
	// A headless service's slice (every tenth service is headless), for the changes below.
	full := snap.Slices[50*perNamespace]
	snap = nil // what stays is what the store holds
	heap := liveHeap() - before
	b.Logf("%d services, %d endpoints: taken in %s, heap %d MiB (%d bytes per endpoint, the slim objects included)",
		services, services*endpoints, took.Round(time.Millisecond), heap>>20, heap/uint64(services*endpoints))

	// The fill above runs once; a benchmark with sub-benchmarks prints no metrics of its own, so
	// this one carries them.
	b.Run("fill", func(b *testing.B) {
		for b.Loop() {
		}
		b.ReportMetric(float64(took.Milliseconds()), "ms/fill")
		b.ReportMetric(float64(heap)/(1<<20), "heapMiB")
	})
	b.Run("ClusterIP_A", func(b *testing.B) {
		m := new(dns.Msg).SetQuestion("service-0051.team-500.svc.cluster.local.", dns.TypeA)
		w := &test.ResponseWriter{}
		ctx := context.Background()
		if rcode, n := addrs(b, cd, m.Question[0].Name, dns.TypeA); rcode != dns.RcodeSuccess || n != 1 {
			b.Fatalf("%s: %s with %d records", m.Question[0].Name, dns.RcodeToString[rcode], n)
		}
		b.ReportAllocs()
		for b.Loop() {
			if _, err := cd.ServeDNS(ctx, w, m); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("EndpointSliceChange", func(b *testing.B) {
		// The slice losing its last endpoint and getting it back.
		eps := make([]model.Endpoint, full.Endpoints.Len()-1)
		for i := range eps {
			eps[i] = full.Endpoints.At(i)
		}
		short := *full
		short.Endpoints = model.NewEndpoints(eps)
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if i%2 == 0 {
				cd.store.UpsertEndpointSlice(&short)
			} else {
				cd.store.UpsertEndpointSlice(full)
			}
		}
	})
}
