package clusterdns

import (
	"context"
	"fmt"
	"strings"
	"testing"

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
