package clusterdns

import (
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/clusterdns/clusterdns/internal/model"

	"github.com/coredns/coredns/plugin/transfer"
	"github.com/miekg/dns"
)

// axfr collects what Transfer hands the transfer plugin for zone.
func axfr(t *testing.T, cd *ClusterDNS, zone string, serial uint32) []dns.RR {
	t.Helper()
	ch, err := cd.Transfer(zone, serial)
	if err != nil {
		t.Fatalf("Transfer(%s): %v", zone, err)
	}
	var out []dns.RR
	for rrs := range ch {
		out = append(out, rrs...)
	}
	return out
}

func serialOf(t *testing.T, rrs []dns.RR) uint32 {
	t.Helper()
	if len(rrs) == 0 {
		t.Fatal("no records")
	}
	soa, ok := rrs[0].(*dns.SOA)
	if !ok {
		t.Fatalf("first record %s is not the SOA", rrs[0])
	}
	return soa.Serial
}

// texts are the records as zone file lines.
func texts(rrs []dns.RR) map[string]bool {
	out := map[string]bool{}
	for _, rr := range rrs {
		out[rr.String()] = true
	}
	return out
}

func TestAXFRForwardZone(t *testing.T) {
	cd := newPlugin(t, "", exampleCluster)
	rrs := axfr(t, cd, "cluster.local.", 0)
	if last, ok := rrs[len(rrs)-1].(*dns.SOA); !ok || last.Serial != serialOf(t, rrs) {
		t.Fatalf("the zone does not end with its SOA (RFC 5936 2.2): %s", rrs[len(rrs)-1])
	}
	got := texts(rrs)
	for _, want := range []string{
		"cluster.local.\t5\tIN\tNS\tns.dns.cluster.local.",
		"ns.dns.cluster.local.\t5\tIN\tA\t10.96.0.10", // the NS name's address (RFC 1034 4.2.1)
		"kubernetes.default.svc.cluster.local.\t5\tIN\tA\t10.96.0.1",
		"_https._tcp.kubernetes.default.svc.cluster.local.\t5\tIN\tSRV\t0 100 443 kubernetes.default.svc.cluster.local.",
	} {
		if !got[want] {
			t.Errorf("missing %q", want)
		}
	}
	for _, rr := range rrs {
		name := rr.Header().Name
		if !dns.IsSubDomain("cluster.local.", name) {
			t.Errorf("out of zone: %s", rr)
		}
		if strings.Contains(name, ".pod.cluster.local.") {
			t.Errorf("pod name transferred: %s", rr)
		}
		if _, ok := rr.(*dns.SOA); !ok && got[rr.String()] && countOf(rrs, rr) > 1 {
			t.Errorf("transferred twice: %s", rr)
		}
	}
}

func countOf(rrs []dns.RR, rr dns.RR) int {
	n := 0
	for _, r := range rrs {
		if r.String() == rr.String() {
			n++
		}
	}
	return n
}

// A reverse zone carries its SOA, its NS and the PTRs the index holds, never forward names
// renamed into it (the kubernetes plugin's bug).
func TestAXFRReverseZone(t *testing.T) {
	cd := newPlugin(t, "", exampleCluster)
	rrs := axfr(t, cd, "in-addr.arpa.", 0)
	ptrs := 0
	for _, rr := range rrs {
		switch rr.(type) {
		case *dns.SOA, *dns.NS:
		case *dns.PTR:
			ptrs++
		default:
			t.Errorf("not a SOA, NS or PTR: %s", rr)
		}
		if !dns.IsSubDomain("in-addr.arpa.", rr.Header().Name) {
			t.Errorf("out of zone: %s", rr)
		}
	}
	if !texts(rrs)["1.0.96.10.in-addr.arpa.\t5\tIN\tPTR\tkubernetes.default.svc.cluster.local."] {
		t.Error("missing the PTR of kubernetes.default's ClusterIP")
	}
	if ptrs == 0 {
		t.Error("no PTR")
	}
}

// An IXFR from a secondary that holds the current serial gets the SOA alone (RFC 1995 2); any
// other gets the whole zone, which the transfer plugin sends as an AXFR.
func TestIXFR(t *testing.T) {
	cd := newPlugin(t, "", exampleCluster)
	whole := axfr(t, cd, "cluster.local.", 0)
	serial := serialOf(t, whole)
	tests := []struct {
		name   string
		serial uint32
		want   int
	}{
		{name: "up to date", serial: serial, want: 1},
		{name: "newer than the zone", serial: serial + 10, want: 1},
		{name: "older", serial: serial - 10, want: len(whole)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := len(axfr(t, cd, "cluster.local.", tc.serial)); got != tc.want {
				t.Errorf("%d records, want %d", got, tc.want)
			}
		})
	}
}

func TestTransferRefused(t *testing.T) {
	cd := newPlugin(t, "", exampleCluster)
	if _, err := cd.Transfer("example.org.", 0); err != transfer.ErrNotAuthoritative {
		t.Errorf("a zone not served: %v, want ErrNotAuthoritative (the next Transferer is asked)", err)
	}
	unsynced, err := newPluginErr(t, "", exampleCluster)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := unsynced.Transfer("cluster.local.", 0); err == nil {
		t.Error("a zone transferred before the data synced")
	}
}

// twoReplicas starts two replicas over the example cluster, checks that they transfer zone alike,
// and returns one of them and the zone's serial.
func twoReplicas(t *testing.T, zone string) (*ClusterDNS, uint32) {
	t.Helper()
	a := newPlugin(t, "", exampleCluster)
	b := newPlugin(t, "", exampleCluster)
	za, zb := axfr(t, a, zone, 0), axfr(t, b, zone, 0)
	if serialOf(t, za) != serialOf(t, zb) || len(za) != len(zb) {
		t.Fatalf("replicas differ: serial %d, %d records; serial %d, %d records",
			serialOf(t, za), len(za), serialOf(t, zb), len(zb))
	}
	return a, serialOf(t, za)
}

// Two replicas over the same data report the same serial and the same zone; a change moves the
// serial up, and taking the change back moves it up again (never back down).
func TestSerialFromContent(t *testing.T) {
	a, first := twoReplicas(t, "cluster.local.")
	reverse := serialOf(t, axfr(t, a, "ip6.arpa.", 0))

	svc := &model.Service{Namespace: "default", Name: "added", ClusterIPs: []netip.Addr{netip.MustParseAddr("10.96.7.7")}}
	a.store.UpsertService(svc)
	second := serialOf(t, axfr(t, a, "cluster.local.", 0))
	if !serialLess(first, second) {
		t.Errorf("a new service: serial %d after %d, want greater", second, first)
	}
	if got := serialOf(t, axfr(t, a, "ip6.arpa.", 0)); got != reverse {
		t.Errorf("ip6.arpa's serial moved from %d to %d without a change in it", reverse, got)
	}
	if m := serve(t, a, soaQuery("cluster.local.")); m.Answer[0].(*dns.SOA).Serial != second {
		t.Errorf("the apex SOA answers serial %d, the transfer %d", m.Answer[0].(*dns.SOA).Serial, second)
	}
	a.store.DeleteService("default", "added")
	third := serialOf(t, axfr(t, a, "cluster.local.", 0))
	if !serialLess(second, third) {
		t.Errorf("the service deleted: serial %d after %d, want greater", third, second)
	}
}

// PTRs are built when asked, not indexed: a reverse zone's serial and transfer must follow them.
func TestReverseSerialFollowsPTRs(t *testing.T) {
	a, first := twoReplicas(t, "in-addr.arpa.")
	svc := &model.Service{Namespace: "default", Name: "added", ClusterIPs: []netip.Addr{netip.MustParseAddr("10.96.7.7")}}
	a.store.UpsertService(svc)
	zone := axfr(t, a, "in-addr.arpa.", 0)
	second := serialOf(t, zone)
	if !serialLess(first, second) {
		t.Errorf("a new ClusterIP: serial %d after %d, want greater", second, first)
	}
	if want := "7.7.96.10.in-addr.arpa.\t5\tIN\tPTR\tadded.default.svc.cluster.local."; !slices.ContainsFunc(zone, func(rr dns.RR) bool { return rr.String() == want }) {
		t.Errorf("the transfer lacks %q", want)
	}
	a.store.UpsertService(svc) // the same again: no PTR changes
	if got := serialOf(t, axfr(t, a, "in-addr.arpa.", 0)); got != second {
		t.Errorf("serial moved from %d to %d without a change", second, got)
	}
	a.store.DeleteService("default", "added")
	if got := serialOf(t, axfr(t, a, "in-addr.arpa.", 0)); got == second {
		t.Errorf("the ClusterIP gone: serial still %d", got)
	}
}

func soaQuery(zone string) *dns.Msg {
	m := new(dns.Msg)
	m.SetQuestion(zone, dns.TypeSOA)
	return m
}

func TestNextSerial(t *testing.T) {
	tests := []struct {
		name    string
		last    uint32
		content uint64
		grow    bool
		want    uint32
	}{
		{name: "before the history starts: the fold", last: 500, content: 7, want: 7},
		{name: "the fold is greater", last: 5, content: 7, grow: true, want: 7},
		{name: "the fold is lower: last plus 1 plus its low bits", last: 500, content: 7, grow: true, want: 508},
		{name: "the fold is equal", last: 7, content: 7, grow: true, want: 15},
		{name: "across the wrap", last: 0xfffffff0, content: 3, grow: true, want: 3},
		{name: "half the circle away is not greater", last: 0, content: 1 << 31, grow: true, want: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := nextSerial(tc.last, tc.content, tc.grow)
			if got != tc.want {
				t.Errorf("nextSerial = %d, want %d", got, tc.want)
			}
			if tc.grow && !serialLess(tc.last, got) {
				t.Errorf("%d is not greater than %d (RFC 1982)", got, tc.last)
			}
		})
	}
}
