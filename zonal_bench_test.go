package clusterdns

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/clusterdns/clusterdns/internal/model"

	"github.com/miekg/dns"
)

// zonal30 is a headless service with 30 ready endpoints, 10 in each of three zones, one dotted.
func zonal30() string {
	var b strings.Builder
	b.WriteString("apiVersion: v1\nkind: Service\nmetadata: {name: zz, namespace: default}\nspec: {clusterIP: None, ports: [{name: http, port: 80}]}\n---\n")
	b.WriteString("apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: zz-1, namespace: default, labels: {kubernetes.io/service-name: zz}}\naddressType: IPv4\nports: [{name: http, port: 80}]\nendpoints:\n")
	zones := []string{"us-east-1a", "us-east-1b", "us-east-1.c"}
	for i := range 30 {
		fmt.Fprintf(&b, "- {addresses: [10.244.9.%d], zone: %s}\n", i+1, zones[i%3])
	}
	return b.String()
}

// BenchmarkZonalServeDNS measures zonal queries through ServeDNS, answers built on demand, beside
// the headless service's own name (precomputed).
func BenchmarkZonalServeDNS(b *testing.B) {
	cd := newPlugin(b, "zonal", zonal30())
	const svc = "._zone.zz.default.svc.cluster.local."
	benchQueries(b, cd, []benchQuery{
		{"Headless_A_30", "zz.default.svc.cluster.local.", dns.TypeA},
		{"Pin_A_10", "us-east-1a.pin" + svc, dns.TypeA},
		{"Pin_dotted_A_10", "us-east-1.c.pin" + svc, dns.TypeA},
		{"Pin_SRV_10", "us-east-1a.pin" + svc, dns.TypeSRV},
		{"Pin_NODATA", "nowhere.pin" + svc, dns.TypeA},
		{"Prefer_fallback_A_30", "nowhere.prefer" + svc, dns.TypeA},
	})
}

// BenchmarkZonalBuild is the cost zonal adds to an EndpointSlice change of a headless service
// (one endpoint going unready and back): the two directive names per service and zone.
func BenchmarkZonalBuild(b *testing.B) {
	for _, body := range []string{"", "zonal"} {
		b.Run("option_"+map[string]string{"": "off", "zonal": "on"}[body], func(b *testing.B) {
			cd := newPlugin(b, body, emptyCluster)
			s := cd.store
			s.UpsertService(&model.Service{Namespace: "default", Name: "big", Headless: true, HasSelector: true})
			ports := []model.Port{{Name: "http", Protocol: "tcp", Port: 80}}
			eps := make([]model.Endpoint, 100)
			for j := range eps {
				eps[j] = model.Endpoint{Addr: netip.AddrFrom4([4]byte{10, 1, 0, byte(j)}), Zone: []string{"a", "b", "c"}[j%3]}
			}
			full := &model.EndpointSlice{Namespace: "default", Name: "big-1", Service: "big", Ports: ports, Endpoints: model.NewEndpoints(eps)}
			less := *full
			less.Endpoints = model.NewEndpoints(eps[1:])
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				if i%2 == 0 {
					s.UpsertEndpointSlice(&less)
				} else {
					s.UpsertEndpointSlice(full)
				}
			}
		})
	}
}
