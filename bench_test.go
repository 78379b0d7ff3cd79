package clusterdns

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/clusterdns/clusterdns/internal/model"
	"github.com/clusterdns/clusterdns/internal/snapshot"

	"github.com/coredns/coredns/plugin/test"
	"github.com/miekg/dns"
)

// headless10 is a headless service with 10 ready endpoints.
func headless10() string {
	var b strings.Builder
	b.WriteString("apiVersion: v1\nkind: Service\nmetadata: {name: ten, namespace: default}\nspec: {clusterIP: None, ports: [{name: http, port: 80}]}\n---\n")
	b.WriteString("apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: ten-1, namespace: default, labels: {kubernetes.io/service-name: ten}}\naddressType: IPv4\nports: [{name: http, port: 80}]\nendpoints:\n")
	for i := range 10 {
		fmt.Fprintf(&b, "- addresses: [10.244.8.%d]\n", i+1)
	}
	return b.String()
}

// BenchmarkServeDNS measures the whole ServeDNS per query kind, with -benchmem for allocations.
func BenchmarkServeDNS(b *testing.B) {
	cd := newPlugin(b, "fallthrough in-addr.arpa ip6.arpa", exampleCluster, headless10()) // as deployed
	benchQueries(b, cd, []benchQuery{
		{"ClusterIP_A", "hostnames.default.svc.cluster.local.", dns.TypeA},
		{"Headless_A_10", "ten.default.svc.cluster.local.", dns.TypeA},
		{"SRV", "_client._tcp.zookeeper-headless.middleware.svc.cluster.local.", dns.TypeSRV},
		{"PTR", "1.0.96.10.in-addr.arpa.", dns.TypePTR},
		{"NXDOMAIN", "kubernetes.default.default.svc.cluster.local.", dns.TypeA},
		{"NODATA_AAAA", "hostnames.default.svc.cluster.local.", dns.TypeAAAA},
		{"MixedCase_A", "HostNames.default.svc.cluster.local.", dns.TypeA},
	})
}

// benchQuery is one query of a ServeDNS benchmark.
type benchQuery struct {
	name  string
	qname string
	qtype uint16
}

// benchQueries runs each query through cd's ServeDNS as a sub-benchmark.
func benchQueries(b *testing.B, cd *ClusterDNS, queries []benchQuery) {
	for _, bc := range queries {
		b.Run(bc.name, func(b *testing.B) {
			m := new(dns.Msg).SetQuestion(bc.qname, bc.qtype)
			w := &test.ResponseWriter{}
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := cd.ServeDNS(ctx, w, m); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkEndpointSliceChange is the cost of one EndpointSlice change (an endpoint of a slice
// going unready and back, as in a rolling update) in a headless service with named ports and
// StatefulSet hostnames, slices of 100 endpoints as the EndpointSlice controller cuts them. The
// cost must not grow with the size of the service.
func BenchmarkEndpointSliceChange(b *testing.B) {
	for _, size := range []int{300, 3000, 10000} {
		b.Run(fmt.Sprint(size, "_endpoints"), func(b *testing.B) {
			cd := newPlugin(b, "", emptyCluster)
			s := cd.store
			svc := &model.Service{Namespace: "default", Name: "big", Headless: true, HasSelector: true}
			ports := []model.Port{{Name: "http", Protocol: "tcp", Port: 80}}
			slice := func(i, n int) *model.EndpointSlice {
				eps := make([]model.Endpoint, n)
				for j := range eps {
					k := i*100 + j
					eps[j] = model.Endpoint{Addr: netip.AddrFrom4([4]byte{10, 1, byte(k >> 8), byte(k)}), Name: fmt.Sprintf("big-%d", k)}
				}
				return &model.EndpointSlice{Namespace: "default", Name: fmt.Sprintf("big-%03d", i), Service: "big", Ports: ports, Endpoints: model.NewEndpoints(eps)}
			}
			var full, short []*model.EndpointSlice
			for i := range size / 100 {
				full, short = append(full, slice(i, 100)), append(short, slice(i, 99))
			}
			// Built whole from a list, as at the start.
			s.Replace(&model.Snapshot{Services: []*model.Service{svc}, Slices: full})
			b.ReportAllocs()
			// Each slice in turn, as a rolling update goes: a cost that grows with the service
			// (counting every slice again) shows.
			for i := 0; b.Loop(); i++ {
				k := i / 2 % len(full)
				if i%2 == 0 {
					s.UpsertEndpointSlice(short[k])
				} else {
					s.UpsertEndpointSlice(full[k])
				}
			}
		})
	}
}

// BenchmarkWarmStartFromSnapshot is a start while the API server is down, at 10,000 services and
// 110,000 endpoints (every tenth service headless, with StatefulSet hostnames): from reading the
// snapshot file to the first answer. The target is under a second.
func BenchmarkWarmStartFromSnapshot(b *testing.B) {
	path := filepath.Join(b.TempDir(), "dns.snap")
	if err := snapshot.Write(path, clusterSnapshot(100, 100, 11), snapshot.Meta{Cluster: "bench", Written: time.Now()}); err != nil {
		b.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		cd, err := newPluginErr(b, "snapshot "+path)
		if err != nil {
			b.Fatal(err)
		}
		if !cd.src.(*kubeSource).lastGood.load(cd.store) {
			b.Fatal("snapshot not loaded")
		}
		if rcode, n := addrs(b, cd, "service-0001.team-000.svc.cluster.local.", dns.TypeA); rcode != dns.RcodeSuccess || n != 1 {
			b.Fatalf("first answer: %s with %d records", dns.RcodeToString[rcode], n)
		}
	}
	b.ReportMetric(float64(fi.Size()), "bytes/file")
}

// clusterSnapshot is a cluster of namespaces x perNamespace services, each with one slice of
// endpoints and two named ports; every tenth service is headless, its endpoints named.
func clusterSnapshot(namespaces, perNamespace, endpoints int) *model.Snapshot {
	ports := []model.Port{{Name: "http", Protocol: "tcp", Port: 8080}, {Name: "metrics", Protocol: "tcp", Port: 9090}}
	snap := &model.Snapshot{}
	n := 0
	for i := range namespaces {
		ns := fmt.Sprintf("team-%03d", i)
		snap.Namespaces = append(snap.Namespaces, &model.Namespace{Name: ns})
		for j := range perNamespace {
			name := fmt.Sprintf("service-%04d", j)
			svc := &model.Service{Namespace: ns, Name: name, HasSelector: true, Ports: ports}
			if headless := n%10 == 0; headless {
				svc.Headless = true
			} else {
				svc.ClusterIPs = []netip.Addr{netip.AddrFrom4([4]byte{10, 96, byte(n >> 8), byte(n)})}
			}
			eps := make([]model.Endpoint, endpoints)
			for k := range eps {
				e := n*endpoints + k
				eps[k] = model.Endpoint{Addr: netip.AddrFrom4([4]byte{10, byte(e >> 16), byte(e >> 8), byte(e)})}
				if svc.Headless {
					eps[k].Name = fmt.Sprintf("%s-%d", name, k)
				}
			}
			snap.Services = append(snap.Services, svc)
			snap.Slices = append(snap.Slices, &model.EndpointSlice{Namespace: ns, Name: name + "-1", Service: name, Ports: ports, Endpoints: model.NewEndpoints(eps)})
			n++
		}
	}
	return snap
}
