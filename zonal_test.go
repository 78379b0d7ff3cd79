package clusterdns

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/clusterdns/clusterdns/internal/model"

	"github.com/coredns/coredns/plugin/test"
	"github.com/miekg/dns"
)

// zonalCluster has a dual-stack headless service whose endpoints sit in several zones, one of
// them dotted and one written in upper case, beside services that have no zonal names.
const zonalCluster = `
apiVersion: v1
kind: Namespace
metadata: {name: prod}
---
apiVersion: v1
kind: Service
metadata: {name: db, namespace: prod}
spec: {clusterIP: None, ports: [{name: sql, port: 5432}]}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: db-v4, namespace: prod, labels: {kubernetes.io/service-name: db}}
addressType: IPv4
ports: [{name: sql, port: 5432, protocol: TCP}]
endpoints:
- {addresses: [10.0.0.1], hostname: db-0, zone: us-east-1a}
- {addresses: [10.0.0.2], zone: US-East-1B}
- {addresses: [10.0.0.3], zone: us-east-1.a}
- {addresses: [10.0.0.4]}
- {addresses: [10.0.0.5], zone: us-east-1a, conditions: {ready: false}}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: db-v6, namespace: prod, labels: {kubernetes.io/service-name: db}}
addressType: IPv6
ports: [{name: sql, port: 5432, protocol: TCP}]
endpoints:
- {addresses: ["fd00::1"], zone: us-east-1a}
- {addresses: ["fd00::2"], zone: eu}
---
apiVersion: v1
kind: Service
metadata: {name: api, namespace: prod}
spec: {clusterIP: 10.96.0.50, ports: [{name: http, port: 80}]}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: api-1, namespace: prod, labels: {kubernetes.io/service-name: api}}
addressType: IPv4
ports: [{name: http, port: 80, protocol: TCP}]
endpoints: [{addresses: [10.0.1.1], zone: us-east-1a}]
---
apiVersion: v1
kind: Service
metadata: {name: ext, namespace: prod}
spec: {type: ExternalName, externalName: db.example.net}
---
apiVersion: v1
kind: Service
metadata: {name: drained, namespace: prod}
spec: {clusterIP: None, ports: [{name: sql, port: 5432}]}
`

const dbZone = "._zone.db.prod.svc.cluster.local."

func TestZonalNamesAnswerTheEndpointsOfTheirZone(t *testing.T) {
	cd := newPlugin(t, "zonal", zonalCluster)
	runCases(t, cd, []test.Case{
		{Qname: "us-east-1a.pin" + dbZone, Qtype: dns.TypeA,
			Answer: []dns.RR{test.A("us-east-1a.pin" + dbZone + " 5 IN A 10.0.0.1")}},
		{Qname: "us-east-1a.pin" + dbZone, Qtype: dns.TypeAAAA,
			Answer: []dns.RR{test.AAAA("us-east-1a.pin" + dbZone + " 5 IN AAAA fd00::1")}},
		{Qname: "us-east-1a.prefer" + dbZone, Qtype: dns.TypeA,
			Answer: []dns.RR{test.A("us-east-1a.prefer" + dbZone + " 5 IN A 10.0.0.1")}},
		// The zone the slice wrote in upper case matches whatever case the client asks in.
		{Qname: "us-east-1b.pin" + dbZone, Qtype: dns.TypeA,
			Answer: []dns.RR{test.A("us-east-1b.pin" + dbZone + " 5 IN A 10.0.0.2")}},
		{Qname: "US-EAST-1B.Pin._ZONE.db.prod.svc.cluster.local.", Qtype: dns.TypeA,
			Answer: []dns.RR{test.A("US-EAST-1B.Pin._ZONE.db.prod.svc.cluster.local. 5 IN A 10.0.0.2")}},
		// A dotted zone is every label left of the directive.
		{Qname: "us-east-1.a.pin" + dbZone, Qtype: dns.TypeA,
			Answer: []dns.RR{test.A("us-east-1.a.pin" + dbZone + " 5 IN A 10.0.0.3")}},
		{Qname: "us-east-1.a.prefer" + dbZone, Qtype: dns.TypeA,
			Answer: []dns.RR{test.A("us-east-1.a.prefer" + dbZone + " 5 IN A 10.0.0.3")}},
		nodata("a.pin"+dbZone, dns.TypeA), // the last label of a dotted zone is not a zone
		{Qname: "eu.pin" + dbZone, Qtype: dns.TypeAAAA,
			Answer: []dns.RR{test.AAAA("eu.pin" + dbZone + " 5 IN AAAA fd00::2")}},
		// prefer falls back only when no endpoint of either family is in the zone.
		nodata("eu.prefer"+dbZone, dns.TypeA),
		nodata("us-east-1.a.pin"+dbZone, dns.TypeAAAA),
		nodata("us-east-1a.pin"+dbZone, dns.TypeTXT),
	})
}

func TestZonalSRVAndGlueAreFiltered(t *testing.T) {
	cd := newPlugin(t, "zonal", zonalCluster)
	runCases(t, cd, []test.Case{
		{Qname: "us-east-1a.pin" + dbZone, Qtype: dns.TypeSRV,
			Answer: []dns.RR{
				test.SRV("us-east-1a.pin" + dbZone + " 5 IN SRV 0 50 5432 db-0.db.prod.svc.cluster.local."),
				test.SRV("us-east-1a.pin" + dbZone + " 5 IN SRV 0 50 5432 fd00--1.db.prod.svc.cluster.local."),
			},
			Extra: []dns.RR{
				test.A("db-0.db.prod.svc.cluster.local. 5 IN A 10.0.0.1"),
				test.AAAA("fd00--1.db.prod.svc.cluster.local. 5 IN AAAA fd00::1"),
			}},
		{Qname: "us-east-1.a.prefer" + dbZone, Qtype: dns.TypeSRV,
			Answer: []dns.RR{test.SRV("us-east-1.a.prefer" + dbZone + " 5 IN SRV 0 100 5432 10-0-0-3.db.prod.svc.cluster.local.")},
			Extra:  []dns.RR{test.A("10-0-0-3.db.prod.svc.cluster.local. 5 IN A 10.0.0.3")}},
		nodata("nowhere.pin"+dbZone, dns.TypeSRV),
		// The zone is everything left of the directive, port and protocol labels included.
		nodata("_sql._tcp.us-east-1a.pin"+dbZone, dns.TypeSRV),
	})
}

func TestZonalPreferFallsBackToEveryEndpoint(t *testing.T) {
	cd := newPlugin(t, "zonal", zonalCluster)
	name := "nowhere.prefer" + dbZone
	runCases(t, cd, []test.Case{
		nodata("nowhere.pin"+dbZone, dns.TypeA),
		{Qname: name, Qtype: dns.TypeA, Answer: []dns.RR{
			test.A(name + " 5 IN A 10.0.0.1"), test.A(name + " 5 IN A 10.0.0.2"),
			test.A(name + " 5 IN A 10.0.0.3"), test.A(name + " 5 IN A 10.0.0.4"),
		}},
		{Qname: name, Qtype: dns.TypeAAAA, Answer: []dns.RR{
			test.AAAA(name + " 5 IN AAAA fd00::1"), test.AAAA(name + " 5 IN AAAA fd00::2"),
		}},
	})
}

func TestZonalEmptyNonTerminalsAreNoData(t *testing.T) { // RFC 8020: names exist below them
	cd := newPlugin(t, "zonal", zonalCluster)
	runCases(t, cd, []test.Case{
		nodata("_zone.db.prod.svc.cluster.local.", dns.TypeA),
		nodata("pin._zone.db.prod.svc.cluster.local.", dns.TypeA),
		nodata("prefer._zone.db.prod.svc.cluster.local.", dns.TypeSRV),
		nx("other._zone.db.prod.svc.cluster.local.", dns.TypeA),
	})
}

func TestZonalNamesOfOtherServicesAreNXDOMAIN(t *testing.T) {
	cd := newPlugin(t, "zonal", zonalCluster)
	runCases(t, cd, []test.Case{
		nx("us-east-1a.pin._zone.api.prod.svc.cluster.local.", dns.TypeA), // ClusterIP
		nx("_zone.api.prod.svc.cluster.local.", dns.TypeA),
		nx("us-east-1a.pin._zone.ext.prod.svc.cluster.local.", dns.TypeA), // ExternalName
		nx("us-east-1a.prefer._zone.drained.prod.svc.cluster.local.", dns.TypeA),
		nx("pin._zone.drained.prod.svc.cluster.local.", dns.TypeA),
		nx("us-east-1a.pin._zone.nosuch.prod.svc.cluster.local.", dns.TypeA),
		nx("us-east-1a.pin._zone.db.nosuch.svc.cluster.local.", dns.TypeA),
		nx("us-east-1a.nearest"+dbZone, dns.TypeA), // unknown directive
		nx("us-east-1a.pin.zone.db.prod.svc.cluster.local.", dns.TypeA),
		nx("us-east-1a.pin._zone.db.prod.pod.cluster.local.", dns.TypeA),
	})
}

func TestZonalNamesNeedTheOption(t *testing.T) {
	cd := newPlugin(t, "", zonalCluster)
	runCases(t, cd, []test.Case{
		nx("us-east-1a.pin"+dbZone, dns.TypeA),
		nx("us-east-1.a.prefer"+dbZone, dns.TypeA),
		nx("_zone.db.prod.svc.cluster.local.", dns.TypeA),
		nx("pin._zone.db.prod.svc.cluster.local.", dns.TypeA),
	})
}

func TestZonalNamesFollowTheirEndpoints(t *testing.T) { // rule 20
	cd := newPlugin(t, "zonal", emptyCluster)
	s := cd.store
	ip := netip.MustParseAddr
	name := "zone-b.pin._zone.h.default.svc.cluster.local."
	s.UpsertService(&model.Service{Namespace: "default", Name: "h", Headless: true})
	expect(t, cd, name, dns.TypeA, dns.RcodeNameError, 0) // no ready endpoint: no service
	sl := &model.EndpointSlice{Namespace: "default", Name: "h-1", Service: "h",
		Endpoints: model.NewEndpoints([]model.Endpoint{{Addr: ip("10.3.0.1"), Zone: "zone-a"}})}
	s.UpsertEndpointSlice(sl)
	expect(t, cd, name, dns.TypeA, dns.RcodeSuccess, 0)
	moved := *sl
	moved.Endpoints = model.NewEndpoints([]model.Endpoint{{Addr: ip("10.3.0.1"), Zone: "zone-b"}, {Addr: ip("10.3.0.2"), Zone: "zone-b"}})
	s.UpsertEndpointSlice(&moved)
	expect(t, cd, name, dns.TypeA, dns.RcodeSuccess, 2)
	s.UpsertEndpointSlice(&model.EndpointSlice{Namespace: "default", Name: "h-2", Service: "h",
		Endpoints: model.NewEndpoints([]model.Endpoint{{Addr: ip("10.3.0.3"), Zone: "zone-b"}})})
	expect(t, cd, name, dns.TypeA, dns.RcodeSuccess, 3)
	s.DeleteEndpointSlice("default", "h-1")
	expect(t, cd, name, dns.TypeA, dns.RcodeSuccess, 1)
	s.DeleteService("default", "h")
	expect(t, cd, name, dns.TypeA, dns.RcodeNameError, 0)
	expect(t, cd, "_zone.h.default.svc.cluster.local.", dns.TypeA, dns.RcodeNameError, 0)
}

func TestZonalWithNoEndpointsIsRefused(t *testing.T) {
	for _, body := range []string{"zonal\nnoendpoints", "noendpoints\nzonal", "zonal yes"} {
		if _, err := newPluginErr(t, body, zonalCluster); err == nil || !strings.Contains(err.Error(), "zonal") {
			t.Errorf("%q: error %v, want one naming zonal", body, err)
		}
	}
}

func TestZonalAnswersKeptPerZoneKeepTheirOwnerNames(t *testing.T) {
	cd := newPlugin(t, "zonal", zonalCluster)
	// More zones than the prefer answers kept, each asked twice: every answer names its question.
	for i := range 2 * maxFallbacks {
		for range 2 {
			name := fmt.Sprintf("zone-%d.prefer%s", i, dbZone)
			resp := serve(t, cd, new(dns.Msg).SetQuestion(name, dns.TypeAAAA))
			if len(resp.Answer) != 2 || resp.Answer[0].Header().Name != name || resp.Answer[1].Header().Name != name {
				t.Fatalf("%s AAAA: %v, want fd00::1 and fd00::2 at that name", name, resp.Answer)
			}
		}
	}
	expect(t, cd, "us-east-1a.pin"+dbZone, dns.TypeA, dns.RcodeSuccess, 1)
	expect(t, cd, "us-east-1a.pin"+dbZone, dns.TypeA, dns.RcodeSuccess, 1)
}
