package clusterdns

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/clusterdns/clusterdns/internal/model"

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
	for _, bc := range []struct {
		name  string
		qname string
		qtype uint16
	}{
		{"ClusterIP_A", "hostnames.default.svc.cluster.local.", dns.TypeA},
		{"Headless_A_10", "ten.default.svc.cluster.local.", dns.TypeA},
		{"SRV", "_client._tcp.zookeeper-headless.middleware.svc.cluster.local.", dns.TypeSRV},
		{"PTR", "1.0.96.10.in-addr.arpa.", dns.TypePTR},
		{"NXDOMAIN", "kubernetes.default.default.svc.cluster.local.", dns.TypeA},
		{"NODATA_AAAA", "hostnames.default.svc.cluster.local.", dns.TypeAAAA},
		{"MixedCase_A", "HostNames.default.svc.cluster.local.", dns.TypeA},
	} {
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

// BenchmarkEndpointSliceChange is the cost of one EndpointSlice change (an endpoint of one slice
// going unready and back, as in a rolling update) in a headless service with named ports and
// StatefulSet hostnames, slices of 100 endpoints as the EndpointSlice controller cuts them. The
// cost must not grow with the size of the service.
func BenchmarkEndpointSliceChange(b *testing.B) {
	for _, size := range []int{300, 3000, 10000} {
		b.Run(fmt.Sprint(size, "_endpoints"), func(b *testing.B) {
			cd := newPlugin(b, "", emptyCluster)
			s := cd.store
			s.UpsertService(&model.Service{Namespace: "default", Name: "big", Headless: true, HasSelector: true})
			ports := []model.Port{{Name: "http", Protocol: "tcp", Port: 80}}
			slice := func(i, n int) *model.EndpointSlice {
				eps := make([]model.Endpoint, n)
				for j := range eps {
					k := i*100 + j
					eps[j] = model.Endpoint{Addr: netip.AddrFrom4([4]byte{10, 1, byte(k >> 8), byte(k)}), Name: fmt.Sprintf("big-%d", k)}
				}
				return &model.EndpointSlice{Namespace: "default", Name: fmt.Sprintf("big-%03d", i), Service: "big", Ports: ports, Endpoints: model.NewEndpoints(eps)}
			}
			for i := range size / 100 {
				s.UpsertEndpointSlice(slice(i, 100))
			}
			full, short := slice(0, 100), slice(0, 99)
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				if i%2 == 0 {
					s.UpsertEndpointSlice(short)
				} else {
					s.UpsertEndpointSlice(full)
				}
			}
		})
	}
}
