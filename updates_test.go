package clusterdns

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/clusterdns/clusterdns/internal/model"

	"github.com/miekg/dns"
)

// emptyCluster is a manifest with nothing in it, for tests that feed the store directly as the
// reflectors do.
const emptyCluster = "apiVersion: v1\nkind: List\nitems: []\n"

func addrs(t testing.TB, cd *ClusterDNS, name string, qtype uint16) (int, int) {
	t.Helper()
	// The largest UDP buffer, so that the whole address set fits and none is cut (fit.go).
	resp := serve(t, cd, new(dns.Msg).SetQuestion(name, qtype).SetEdns0(dns.MaxMsgSize, false))
	return resp.Rcode, len(resp.Answer)
}

func expect(t *testing.T, cd *ClusterDNS, name string, qtype uint16, rcode, answers int) {
	t.Helper()
	gotRcode, got := addrs(t, cd, name, qtype)
	if gotRcode != rcode || got != answers {
		t.Errorf("%s %s: %s with %d answers, want %s with %d", name, dns.TypeToString[qtype],
			dns.RcodeToString[gotRcode], got, dns.RcodeToString[rcode], answers)
	}
}

func endpoints(prefix string, n int) model.Endpoints {
	out := make([]model.Endpoint, n)
	for i := range out {
		out[i] = model.Endpoint{Addr: netip.MustParseAddr(fmt.Sprintf(prefix, i))}
	}
	return model.NewEndpoints(out)
}

func TestSlicesOfOneServiceMerge(t *testing.T) {
	cd := newPlugin(t, "", emptyCluster)
	s := cd.store
	s.UpsertService(&model.Service{Namespace: "default", Name: "big", Headless: true, HasSelector: true})
	s.UpsertEndpointSlice(&model.EndpointSlice{Namespace: "default", Name: "big-a", Service: "big", Endpoints: endpoints("10.1.0.%d", 100)})
	s.UpsertEndpointSlice(&model.EndpointSlice{Namespace: "default", Name: "big-b", Service: "big", Endpoints: endpoints("10.1.1.%d", 30)})
	s.UpsertEndpointSlice(&model.EndpointSlice{Namespace: "default", Name: "big-v6", Service: "big", Endpoints: endpoints("fd00::%x", 20)})
	expect(t, cd, "big.default.svc.cluster.local.", dns.TypeA, dns.RcodeSuccess, 130)
	expect(t, cd, "big.default.svc.cluster.local.", dns.TypeAAAA, dns.RcodeSuccess, 20)

	// The same address in two slices (a rollout) is answered once.
	s.UpsertEndpointSlice(&model.EndpointSlice{Namespace: "default", Name: "big-c", Service: "big", Endpoints: endpoints("10.1.0.%d", 1)})
	expect(t, cd, "big.default.svc.cluster.local.", dns.TypeA, dns.RcodeSuccess, 130)

	s.DeleteEndpointSlice("default", "big-a")
	expect(t, cd, "big.default.svc.cluster.local.", dns.TypeA, dns.RcodeSuccess, 31)
	expect(t, cd, "10-1-0-5.big.default.svc.cluster.local.", dns.TypeA, dns.RcodeNameError, 0)
	expect(t, cd, "10-1-0-0.big.default.svc.cluster.local.", dns.TypeA, dns.RcodeSuccess, 1)
}

func TestObjectChangesFollow(t *testing.T) { // rule 20
	cd := newPlugin(t, "pods verified", emptyCluster)
	s := cd.store
	ip := netip.MustParseAddr

	s.UpsertNamespace(&model.Namespace{Name: "team"})
	expect(t, cd, "team.svc.cluster.local.", dns.TypeA, dns.RcodeSuccess, 0)

	// ExternalName -> ClusterIP, as the conformance test flips it.
	s.UpsertService(&model.Service{Namespace: "team", Name: "db", ExternalName: "foo.example.com"})
	expect(t, cd, "db.team.svc.cluster.local.", dns.TypeCNAME, dns.RcodeSuccess, 1)
	s.UpsertService(&model.Service{Namespace: "team", Name: "db", ExternalName: "bar.example.com"})
	resp := serve(t, cd, new(dns.Msg).SetQuestion("db.team.svc.cluster.local.", dns.TypeCNAME))
	if got := resp.Answer[0].(*dns.CNAME).Target; got != "bar.example.com." {
		t.Errorf("CNAME target %s after the change", got)
	}
	s.UpsertService(&model.Service{Namespace: "team", Name: "db", ClusterIPs: []netip.Addr{ip("10.96.7.7")}})
	expect(t, cd, "db.team.svc.cluster.local.", dns.TypeA, dns.RcodeSuccess, 1)
	expect(t, cd, "db.team.svc.cluster.local.", dns.TypeCNAME, dns.RcodeSuccess, 0)

	// An endpoint becoming ready, then a slice moving to another service.
	s.UpsertService(&model.Service{Namespace: "team", Name: "h", Headless: true})
	sl := &model.EndpointSlice{Namespace: "team", Name: "h-1", Service: "h"} // its endpoint is not ready
	s.UpsertEndpointSlice(sl)
	expect(t, cd, "h.team.svc.cluster.local.", dns.TypeA, dns.RcodeNameError, 0)
	ready := *sl
	ready.Endpoints = model.NewEndpoints([]model.Endpoint{{Addr: ip("10.2.0.1")}})
	s.UpsertEndpointSlice(&ready)
	expect(t, cd, "h.team.svc.cluster.local.", dns.TypeA, dns.RcodeSuccess, 1)
	expect(t, cd, "1.0.2.10.in-addr.arpa.", dns.TypePTR, dns.RcodeSuccess, 1)
	s.UpsertService(&model.Service{Namespace: "team", Name: "h2", Headless: true})
	moved := ready
	moved.Service = "h2"
	s.UpsertEndpointSlice(&moved)
	expect(t, cd, "h.team.svc.cluster.local.", dns.TypeA, dns.RcodeNameError, 0)
	expect(t, cd, "h2.team.svc.cluster.local.", dns.TypeA, dns.RcodeSuccess, 1)

	// Pods come and go (pods verified).
	s.UpsertPod(&model.Pod{Namespace: "team", Name: "p", IPs: []netip.Addr{ip("10.2.0.9")}})
	expect(t, cd, "10-2-0-9.team.pod.cluster.local.", dns.TypeA, dns.RcodeSuccess, 1)
	s.UpsertPod(&model.Pod{Namespace: "team", Name: "q", IPs: []netip.Addr{ip("10.2.0.9")}}) // reuses the address
	s.DeletePod("team", "p")
	expect(t, cd, "10-2-0-9.team.pod.cluster.local.", dns.TypeA, dns.RcodeSuccess, 1)
	s.UpsertPod(&model.Pod{Namespace: "team", Name: "q", IPs: []netip.Addr{ip("10.2.0.10")}}) // moves
	expect(t, cd, "10-2-0-9.team.pod.cluster.local.", dns.TypeA, dns.RcodeNameError, 0)
	expect(t, cd, "10-2-0-10.team.pod.cluster.local.", dns.TypeA, dns.RcodeSuccess, 1)
	s.DeletePod("team", "q")
	expect(t, cd, "10-2-0-10.team.pod.cluster.local.", dns.TypeA, dns.RcodeNameError, 0)

	// Deletions: the service, then the namespace once nothing is left in it.
	s.DeleteService("team", "db")
	expect(t, cd, "db.team.svc.cluster.local.", dns.TypeA, dns.RcodeNameError, 0)
	s.DeleteService("team", "h")
	s.DeleteService("team", "h2")
	expect(t, cd, "1.0.2.10.in-addr.arpa.", dns.TypePTR, dns.RcodeNameError, 0)
	expect(t, cd, "team.svc.cluster.local.", dns.TypeA, dns.RcodeSuccess, 0)
	s.DeleteNamespace("team")
	expect(t, cd, "team.svc.cluster.local.", dns.TypeA, dns.RcodeNameError, 0)
	expect(t, cd, "team.pod.cluster.local.", dns.TypeA, dns.RcodeNameError, 0)
}

func TestNamespaceLabelsFollowTheNamespace(t *testing.T) {
	cd := newPlugin(t, "namespace_labels team=a", emptyCluster)
	s := cd.store
	// The source delivers only matching namespaces; a service's namespace is served while it is.
	s.UpsertService(&model.Service{Namespace: "apps", Name: "web", ClusterIPs: []netip.Addr{netip.MustParseAddr("10.96.8.8")}})
	expect(t, cd, "web.apps.svc.cluster.local.", dns.TypeA, dns.RcodeNameError, 0)
	s.UpsertNamespace(&model.Namespace{Name: "apps", Labels: map[string]string{"team": "a"}})
	expect(t, cd, "web.apps.svc.cluster.local.", dns.TypeA, dns.RcodeSuccess, 1)
	s.DeleteNamespace("apps")
	expect(t, cd, "web.apps.svc.cluster.local.", dns.TypeA, dns.RcodeNameError, 0)
	expect(t, cd, "apps.svc.cluster.local.", dns.TypeA, dns.RcodeNameError, 0)
}

func TestReverseZoneFromCIDR(t *testing.T) {
	cd, err := parseCorefile(t, "clusterdns cluster.local 10.96.0.0/16 {\nmanifests "+exampleCluster+"\n}")
	if err != nil {
		t.Fatal(err)
	}
	if err := cd.start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cd.shutdown() })
	expect(t, cd, "1.0.96.10.in-addr.arpa.", dns.TypePTR, dns.RcodeSuccess, 1)
	// Pod addresses are outside the served reverse zone: another plugin answers them.
	if !handedOn(t, cd, "5.2.244.10.in-addr.arpa.", dns.TypePTR) {
		t.Error("a PTR outside the served reverse zone should go to the next plugin")
	}
}

func TestProgrammingLatencyByServiceKind(t *testing.T) {
	cd := newPlugin(t, "", emptyCluster)
	var got []string
	cd.store.programmed = func(kind string, _ time.Time) { got = append(got, kind) }
	s := cd.store
	t0 := time.Now()
	s.UpsertService(&model.Service{Namespace: "a", Name: "vip", HasSelector: true, ClusterIPs: []netip.Addr{netip.MustParseAddr("10.96.9.9")}})
	s.UpsertService(&model.Service{Namespace: "a", Name: "sts", Headless: true, HasSelector: true})
	s.UpsertService(&model.Service{Namespace: "a", Name: "manual", Headless: true})
	for _, svc := range []string{"vip", "sts", "manual"} {
		s.UpsertEndpointSlice(&model.EndpointSlice{Namespace: "a", Name: svc + "-1", Service: svc, LastChange: t0})
	}
	// The same change seen again (a resync) is not a new measurement; a later one is.
	s.UpsertEndpointSlice(&model.EndpointSlice{Namespace: "a", Name: "vip-1", Service: "vip", LastChange: t0})
	s.UpsertEndpointSlice(&model.EndpointSlice{Namespace: "a", Name: "vip-1", Service: "vip", LastChange: t0.Add(time.Second)})
	want := []string{"cluster_ip", "headless_with_selector", "headless_without_selector", "cluster_ip"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("programming latency observed for %v, want %v", got, want)
	}
}
