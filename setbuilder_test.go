package clusterdns

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/clusterdns/clusterdns/internal/model"

	"github.com/miekg/dns"
)

// Records handed out stay as they were when a slab runs out of what was reserved.
func TestRecordsOutliveAFullSlab(t *testing.T) {
	b := &builder{ttl: 5}
	var s slab
	s.reserve(1, 0, 0)
	want := map[string]string{"a.": "10.0.0.1", "b.": "10.0.0.2", "c.": "fd00::3"}
	var got []dns.RR
	for _, name := range []string{"a.", "b.", "c."} { // b and c were not reserved
		got = append(got, b.addr(&s, name, netip.MustParseAddr(want[name])))
	}
	for _, rr := range got {
		var ip string
		switch r := rr.(type) {
		case *dns.A:
			ip = r.A.String()
		case *dns.AAAA:
			ip = r.AAAA.String()
		}
		if name := rr.Header().Name; ip != want[name] {
			t.Errorf("%s has %s, want %s", name, ip, want[name])
		}
	}
}

// The store builds every service with one scratch: a build must hold nothing of the one before.
func TestABuildKeepsNothingOfThePrevious(t *testing.T) {
	b := &builder{zones: []string{"cluster.local."}, reverse: []string{"in-addr.arpa."}, ttl: 5}
	var scratch setBuilder
	web := &model.Service{Namespace: "ns", Name: "web", Headless: true, Ports: []model.Port{{Name: "http", Protocol: "tcp", Port: 80}}}
	slices := []*model.EndpointSlice{{Namespace: "ns", Name: "web-1", Service: "web", Endpoints: endpoints("10.244.0.%d", 3),
		Ports: []model.Port{{Name: "http", Protocol: "tcp", Port: 8080}}}}
	scratch.claims.reset(nil)
	first := b.headlessSlice(&scratch, web, slices[0])
	db := &model.Service{Namespace: "ns", Name: "db", ClusterIPs: []netip.Addr{netip.MustParseAddr("10.96.0.9")}}
	second := b.service(&scratch, db, nil, false)

	for _, s := range second {
		if s.Name != "db.ns.svc.cluster.local." && s.Name != "9.0.96.10.in-addr.arpa." {
			t.Errorf("the second build has %s", s.Name)
		}
	}
	// Nor may the second build take back the arrays the first one gave the index.
	addrs := 0
	for _, s := range first {
		for _, rr := range s.Answer() {
			if rr.Header().Name != s.Name {
				t.Errorf("%s holds a record of %s", s.Name, rr.Header().Name)
			}
		}
		if s.Name == "web.ns.svc.cluster.local." && s.Type == dns.TypeA {
			addrs = len(s.Answer())
		}
	}
	if addrs != 3 {
		t.Errorf("web has %d A records after the next build, want its 3 endpoints", addrs)
	}
}

// A headless service in two zones: each zone's SRV records are owned by and point to names of that
// zone (the build's per-zone scratch must not carry the first zone's names into the second).
func TestHeadlessNamesStayInTheirZone(t *testing.T) {
	b := &builder{zones: []string{"cluster.local.", "example.org."}, ttl: 5}
	web := &model.Service{Namespace: "ns", Name: "web", Headless: true}
	slices := []*model.EndpointSlice{{Namespace: "ns", Name: "web-1", Service: "web", Endpoints: endpoints("10.244.0.%d", 2),
		Ports: []model.Port{{Name: "http", Protocol: "tcp", Port: 8080}}}}
	srvs := 0
	var scratch setBuilder
	scratch.claims.reset(nil)
	for _, s := range b.headlessSlice(&scratch, web, slices[0]) {
		if s.Type != dns.TypeSRV {
			continue
		}
		for _, rr := range s.Answer() {
			srv := rr.(*dns.SRV)
			zone := "cluster.local."
			if strings.HasSuffix(s.Name, "example.org.") {
				zone = "example.org."
			}
			if !strings.HasSuffix(srv.Hdr.Name, zone) || !strings.HasSuffix(srv.Target, ".web.ns.svc."+zone) {
				t.Errorf("SRV at %s: owner %s, target %s; want both in %s", s.Name, srv.Hdr.Name, srv.Target, zone)
			}
			srvs++
		}
	}
	if srvs != 4 {
		t.Errorf("%d SRV records, want 2 endpoints x 1 port in each of 2 zones", srvs)
	}
}
