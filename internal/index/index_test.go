package index

import (
	"net"
	"sync"
	"testing"

	"github.com/miekg/dns"
)

func a(name, ip string) dns.RR {
	return &dns.A{Hdr: dns.RR_Header{Name: name, Rrtype: dns.TypeA, Class: dns.ClassINET}, A: net.ParseIP(ip).To4()}
}

func ptr(name, target string) dns.RR {
	return &dns.PTR{Hdr: dns.RR_Header{Name: name, Rrtype: dns.TypePTR, Class: dns.ClassINET}, Ptr: target}
}

func exists(ix owned, name string) bool { _, ok := ix.Lookup(name); return ok }

// owned is an index with its owners' last contributions, which callers hand back on each change.
type owned struct {
	*Index
	last map[string][]Set
}

func newOwned(zones ...string) owned { return owned{New(zones), map[string][]Set{}} }

func (o owned) set(owner string, sets []Set) {
	o.Swap(o.last[owner], sets)
	o.last[owner] = sets
}

func TestEmptyNonTerminalsFollowTheirDescendants(t *testing.T) {
	ix := newOwned("cluster.local.")
	ix.set("svc/a", []Set{{Name: "_http._tcp.web.ns.svc.cluster.local.", Type: dns.TypeSRV}})
	for _, name := range []string{"_tcp.web.ns.svc.cluster.local.", "web.ns.svc.cluster.local.", "ns.svc.cluster.local.", "svc.cluster.local.", "cluster.local."} {
		if !exists(ix, name) {
			t.Errorf("%s should exist as an empty non-terminal", name)
		}
	}
	if exists(ix, "local.") || exists(ix, "x.ns.svc.cluster.local.") {
		t.Error("names outside the zone or beside the records should not exist")
	}
	ix.set("svc/a", nil)
	for _, name := range []string{"_http._tcp.web.ns.svc.cluster.local.", "_tcp.web.ns.svc.cluster.local.", "svc.cluster.local.", "cluster.local."} {
		if exists(ix, name) {
			t.Errorf("%s should be gone with the only record below it", name)
		}
	}
}

func TestSiblingKeepsParentAlive(t *testing.T) {
	ix := newOwned("z.")
	ix.set("one", []Set{{Name: "a.p.z.", Type: dns.TypeA, RRs: []dns.RR{a("a.p.z.", "10.0.0.1")}}})
	ix.set("two", []Set{{Name: "b.p.z.", Type: dns.TypeA, RRs: []dns.RR{a("b.p.z.", "10.0.0.2")}}})
	ix.set("one", nil)
	if !exists(ix, "p.z.") || !exists(ix, "b.p.z.") || exists(ix, "a.p.z.") {
		t.Error("removing one child must keep the parent of the other")
	}
}

func TestSharedNamesMergeOwners(t *testing.T) {
	ix := newOwned("in-addr.arpa.")
	const rev = "7.1.244.10.in-addr.arpa."
	ix.set("svc/a", []Set{{Name: rev, Type: dns.TypePTR, RRs: []dns.RR{ptr(rev, "a.")}}})
	ix.set("svc/b", []Set{{Name: rev, Type: dns.TypePTR, RRs: []dns.RR{ptr(rev, "b.")}}})
	sets, _ := ix.Lookup(rev)
	if s, ok := Find(sets, dns.TypePTR); !ok || len(s.RRs) != 2 {
		t.Fatalf("merged PTR set = %v, want both owners' records", sets)
	}
	ix.set("svc/a", []Set{{Name: rev, Type: dns.TypePTR, RRs: []dns.RR{ptr(rev, "a2.")}}})
	ix.set("svc/b", nil)
	sets, _ = ix.Lookup(rev)
	s, _ := Find(sets, dns.TypePTR)
	if len(s.RRs) != 1 || s.RRs[0].(*dns.PTR).Ptr != "a2." {
		t.Fatalf("PTR set = %v, want only a2.", s.RRs)
	}
}

func TestMarkerMakesANameWithoutRecords(t *testing.T) {
	ix := newOwned("z.")
	ix.set("zone", []Set{{Name: "svc.z.", Type: Marker}})
	sets, ok := ix.Lookup("svc.z.")
	if _, found := Find(sets, Marker); !ok || found {
		t.Fatalf("marker: exists %v, records found %v; want an existing name without records", ok, found)
	}
}

func TestPublishedSetsAreNotWrittenByMerges(t *testing.T) {
	ix := newOwned("z.")
	ix.set("one", []Set{{Name: "n.z.", Type: dns.TypeA, RRs: []dns.RR{a("n.z.", "10.0.0.1")}}})
	before, _ := ix.Lookup("n.z.")
	ix.set("two", []Set{{Name: "n.z.", Type: dns.TypeA, RRs: []dns.RR{a("n.z.", "10.0.0.2")}}})
	if len(before) != 1 || len(before[0].RRs) != 1 || before[0].RRs[0].(*dns.A).A.String() != "10.0.0.1" {
		t.Fatal("a reader's earlier view changed under it")
	}
}

// Run with -race: readers never see a torn update.
func TestConcurrentReadersAndWriters(t *testing.T) {
	ix := newOwned("z.")
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if sets, ok := ix.Lookup("n.p.z."); ok {
					if s, found := Find(sets, dns.TypeA); found && len(s.RRs) == 0 {
						t.Error("published an empty A set")
						return
					}
				}
			}
		}()
	}
	for i := range 2000 {
		if i%2 == 0 {
			ix.set("o", []Set{{Name: "n.p.z.", Type: dns.TypeA, RRs: []dns.RR{a("n.p.z.", "10.0.0.1")}}})
		} else {
			ix.set("o", nil)
		}
	}
	close(stop)
	wg.Wait()
}

func TestChildrenAnswerNamesBelowAMarker(t *testing.T) {
	ix := newOwned("z.")
	ix.set("ns", []Set{{Name: "p.z.", Type: Marker, Lazy: func(name, label string) ([]Set, bool) {
		if label != "x" {
			return nil, false
		}
		return []Set{{Name: name, Type: dns.TypeA, RRs: []dns.RR{a(name, "10.0.0.9")}}}, true
	}}})
	if sets, ok := ix.Synthesize("x.p.z."); !ok || len(sets) != 1 || sets[0].Name != "x.p.z." {
		t.Errorf("x.p.z.: %v %v, want the synthesized A", sets, ok)
	}
	for _, name := range []string{"y.p.z.", "w.x.p.z.", "p.z.", "z."} {
		if _, ok := ix.Synthesize(name); ok {
			t.Errorf("%s should not be synthesized", name)
		}
	}
}

func TestLazySetIsBuiltWhenAsked(t *testing.T) {
	ix := newOwned("z.")
	built := 0
	ix.set("svc", []Set{
		{Name: "s.z.", Type: dns.TypeA, RRs: []dns.RR{a("s.z.", "10.0.0.1")}},
		{Name: "s.z.", Type: dns.TypeSRV, Lazy: func(name, label string) ([]Set, bool) {
			built++
			return []Set{{Name: name, Type: dns.TypeSRV, RRs: []dns.RR{&dns.SRV{Hdr: dns.RR_Header{Name: name, Rrtype: dns.TypeSRV}, Target: "s.z."}}}}, true
		}},
	})
	sets, _ := ix.Lookup("s.z.")
	if s, ok := Resolve(sets, "s.z.", dns.TypeA); !ok || len(s.Answer()) != 1 || built != 0 {
		t.Errorf("A: found %v, built %d times; want the stored record and nothing built", ok, built)
	}
	if s, ok := Resolve(sets, "s.z.", dns.TypeSRV); !ok || len(s.Answer()) != 1 || built != 1 {
		t.Errorf("SRV: found %v, built %d times; want the built record", ok, built)
	}
	if _, ok := Resolve(sets, "s.z.", dns.TypeAAAA); ok || built != 1 {
		t.Errorf("AAAA: found %v, built %d times; want nothing, and nothing built", ok, built)
	}
}

func TestMergedSetsKeepAnswersBeforeGlue(t *testing.T) {
	ix := newOwned("z.")
	srv := func(target string) dns.RR {
		return &dns.SRV{Hdr: dns.RR_Header{Name: "s.z.", Rrtype: dns.TypeSRV}, Target: target}
	}
	ix.set("one", []Set{{Name: "s.z.", Type: dns.TypeSRV, RRs: []dns.RR{srv("a.z."), a("a.z.", "10.0.0.1")}, Glue: 1}})
	ix.set("two", []Set{{Name: "s.z.", Type: dns.TypeSRV, RRs: []dns.RR{srv("b.z."), a("b.z.", "10.0.0.2")}, Glue: 1}})
	sets, _ := ix.Lookup("s.z.")
	s, _ := Find(sets, dns.TypeSRV)
	if ans, extra := s.Answer(), s.Extra(); len(ans) != 2 || len(extra) != 2 || ans[1].Header().Rrtype != dns.TypeSRV || extra[0].Header().Rrtype != dns.TypeA {
		t.Fatalf("merged answer %v, extra %v; want both SRVs, then both glue records", ans, extra)
	}
	if got := append(s.Answer(), a("x.z.", "10.0.0.9")); s.Extra()[0] == got[2] {
		t.Error("appending to an answer wrote over the glue")
	}
}

func TestOneOwnersSetsArePublishedAsGiven(t *testing.T) {
	ix := newOwned("z.")
	given := []Set{
		{Name: "a.z.", Type: dns.TypeA, RRs: []dns.RR{a("a.z.", "10.0.0.1")}},
		{Name: "a.z.", Type: dns.TypeSRV, RRs: []dns.RR{&dns.SRV{Hdr: dns.RR_Header{Name: "a.z.", Rrtype: dns.TypeSRV}, Target: "a.z."}}},
		{Name: "b.z.", Type: dns.TypeA, RRs: []dns.RR{a("b.z.", "10.0.0.2")}},
	}
	ix.set("one", given)
	if sets, _ := ix.Lookup("a.z."); len(sets) != 2 || &sets[0] != &given[0] {
		t.Errorf("a.z. = %v, want the owner's two sets, not a copy", sets)
	}
}

func TestSetsOfANameGivenApartAllAnswer(t *testing.T) {
	ix := newOwned("z.")
	ix.set("one", []Set{
		{Name: "a.z.", Type: dns.TypeA, RRs: []dns.RR{a("a.z.", "10.0.0.1")}},
		{Name: "b.z.", Type: dns.TypeA, RRs: []dns.RR{a("b.z.", "10.0.0.2")}},
		{Name: "a.z.", Type: dns.TypeTXT, RRs: []dns.RR{&dns.TXT{Hdr: dns.RR_Header{Name: "a.z.", Rrtype: dns.TypeTXT}, Txt: []string{"x"}}}},
	})
	sets, _ := ix.Lookup("a.z.")
	if _, ok := Find(sets, dns.TypeA); !ok {
		t.Error("a.z. lost its A set")
	}
	if _, ok := Find(sets, dns.TypeTXT); !ok {
		t.Error("a.z. lost its TXT set")
	}
	ix.set("one", nil)
	if exists(ix, "a.z.") {
		t.Error("a.z. outlived its owner")
	}
}

// A node publishes up to maxInline sets of one owner itself; more go through a joining, and every
// one of them must still be answered.
func TestNameWithMoreSetsThanANodeHolds(t *testing.T) {
	for _, n := range []int{maxInline, maxInline + 1} {
		ix := newOwned("z.")
		sets := make([]Set, n)
		for i := range sets {
			sets[i] = Set{Name: "many.z.", Type: dns.TypeTXT, RRs: []dns.RR{&dns.TXT{Hdr: dns.RR_Header{Name: "many.z.", Rrtype: dns.TypeTXT}}}}
		}
		sets[n-1] = Set{Name: "many.z.", Type: dns.TypeA, RRs: []dns.RR{a("many.z.", "10.0.0.1")}}
		ix.set("one", sets)
		got, ok := ix.Lookup("many.z.")
		_, txt := Find(got, dns.TypeTXT)
		_, addr := Find(got, dns.TypeA)
		if !ok || !txt || !addr {
			t.Errorf("%d sets at one name: TXT %v, A %v (exists %v)", n, txt, addr, ok)
		}
		ix.set("one", nil)
		if exists(ix, "many.z.") {
			t.Errorf("%d sets at one name: the name stays after its owner took them back", n)
		}
	}
}
