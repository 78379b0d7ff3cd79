package index

import (
	"testing"

	"github.com/miekg/dns"
)

// A zone's content sum depends on the records it holds, not on who gave them or in what order,
// and comes back to the same value when a change is taken back.
func TestContentFollowsTheRecords(t *testing.T) {
	web := []Set{{Name: "web.ns.svc.cluster.local.", Type: dns.TypeA, RRs: []dns.RR{a("web.ns.svc.cluster.local.", "10.0.0.1")}}}
	db := []Set{{Name: "db.ns.svc.cluster.local.", Type: dns.TypeA, RRs: []dns.RR{a("db.ns.svc.cluster.local.", "10.0.0.2")}}}
	rev := []Set{{Name: "1.0.0.10.in-addr.arpa.", Type: dns.TypePTR, RRs: []dns.RR{ptr("1.0.0.10.in-addr.arpa.", "web.ns.svc.cluster.local.")}}}

	x, y := newOwned("cluster.local.", "in-addr.arpa."), newOwned("cluster.local.", "in-addr.arpa.")
	empty := x.Content("cluster.local.")
	x.set("web", web)
	x.set("db", db)
	y.set("db", db)
	y.set("web", web)
	if x.Content("cluster.local.") != y.Content("cluster.local.") {
		t.Error("the same records given in another order: another sum")
	}
	if x.Content("cluster.local.") == empty {
		t.Error("records given: the sum did not move")
	}
	before := x.Content("in-addr.arpa.")
	x.set("rev", rev)
	if x.Content("in-addr.arpa.") == before {
		t.Error("a PTR given: in-addr.arpa.'s sum did not move")
	}
	withWeb := y.Content("cluster.local.")
	y.set("web", []Set{{Name: "web.ns.svc.cluster.local.", Type: dns.TypeA, RRs: []dns.RR{a("web.ns.svc.cluster.local.", "10.0.0.9")}}})
	if y.Content("cluster.local.") == withWeb {
		t.Error("an address changed: the sum did not move")
	}
	y.set("web", web)
	if y.Content("cluster.local.") != withWeb {
		t.Error("the change taken back: the sum did not come back")
	}
	soa := []Set{{Name: "cluster.local.", Type: dns.TypeSOA, RRs: []dns.RR{&dns.SOA{Hdr: dns.RR_Header{Name: "cluster.local.", Rrtype: dns.TypeSOA, Class: dns.ClassINET}, Serial: 7}}}}
	y.set("apex", soa)
	if y.Content("cluster.local.") != withWeb {
		t.Error("the SOA, which carries the serial derived from the sum, counted")
	}
}

// Zone lists the names of one zone that have records, sorted, with joined names joined.
func TestZoneListsItsNames(t *testing.T) {
	ix := newOwned("cluster.local.", "in-addr.arpa.")
	ix.set("web", []Set{{Name: "web.ns.svc.cluster.local.", Type: dns.TypeA, RRs: []dns.RR{a("web.ns.svc.cluster.local.", "10.0.0.1")}}})
	ix.set("ptr1", []Set{{Name: "1.0.0.10.in-addr.arpa.", Type: dns.TypePTR, RRs: []dns.RR{ptr("1.0.0.10.in-addr.arpa.", "a.")}}})
	ix.set("ptr2", []Set{{Name: "1.0.0.10.in-addr.arpa.", Type: dns.TypePTR, RRs: []dns.RR{ptr("1.0.0.10.in-addr.arpa.", "b.")}}})
	names := ix.Zone("in-addr.arpa.")
	if len(names) != 1 || names[0].Name != "1.0.0.10.in-addr.arpa." || len(names[0].Sets) != 1 || len(names[0].Sets[0].RRs) != 2 {
		t.Fatalf("Zone(in-addr.arpa.) = %+v, want the one PTR name with both records", names)
	}
	fwd := ix.Zone("cluster.local.")
	if len(fwd) != 1 || fwd[0].Name != "web.ns.svc.cluster.local." {
		t.Errorf("Zone(cluster.local.) = %+v, want web only (empty non-terminals have no records)", fwd)
	}
}
