package clusterdns

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/coredns/coredns/plugin/pkg/dnstest"
	"github.com/coredns/coredns/plugin/test"
	"github.com/coredns/coredns/request"
	"github.com/miekg/dns"
)

// bigEndpoints fits in one TCP message (16 bytes a compressed A record, 65,535 at most) but in no
// UDP buffer.
const bigEndpoints = 3000

const bigName = "big.default.svc.cluster.local."

// bigHeadless is a headless service "big" with n ready IPv4 endpoints, and an ExternalName "alias"
// that points at it (a CNAME chain in front of the address set).
func bigHeadless(n int) string {
	var b strings.Builder
	b.WriteString("apiVersion: v1\nkind: Service\nmetadata: {name: alias, namespace: default}\nspec: {type: ExternalName, externalName: big.default.svc.cluster.local}\n---\n")
	b.WriteString("apiVersion: v1\nkind: Service\nmetadata: {name: big, namespace: default}\nspec: {clusterIP: None, ports: [{name: http, port: 80}]}\n---\n")
	b.WriteString("apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: big-1, namespace: default, labels: {kubernetes.io/service-name: big}}\naddressType: IPv4\nports: [{name: http, port: 80}]\nendpoints:\n")
	for i := range n {
		fmt.Fprintf(&b, "- addresses: [10.%d.%d.%d]\n", 100+i/65536, i/256%256, i%256)
	}
	return b.String()
}

// bufferQuery is an A query with an EDNS buffer of size bytes, or without EDNS when size is 0.
func bufferQuery(name string, size uint16) *dns.Msg {
	m := new(dns.Msg).SetQuestion(name, dns.TypeA)
	if size > 0 {
		m.SetEdns0(size, false)
	}
	return m
}

// serveScrubbed answers m through CoreDNS's ScrubWriter, as the server does, and returns the
// answer and its size on the wire.
func serveScrubbed(t testing.TB, cd *ClusterDNS, m *dns.Msg, tcp bool) (*dns.Msg, int) {
	t.Helper()
	rec := dnstest.NewRecorder(&test.ResponseWriter{TCP: tcp})
	if _, err := cd.ServeDNS(context.Background(), request.NewScrubWriter(m, rec), m); err != nil {
		t.Fatalf("ServeDNS: %v", err)
	}
	wire, err := rec.Msg.Pack()
	if err != nil {
		t.Fatalf("pack: %v", err)
	}
	return rec.Msg, len(wire)
}

func addressesOf(r *dns.Msg) []string {
	var out []string
	for _, rr := range r.Answer {
		if a, ok := rr.(*dns.A); ok {
			out = append(out, a.A.String())
		}
	}
	return out
}

func TestLargeAnswerIsTruncatedOverUDPAndWholeOverTCP(t *testing.T) {
	cd := newPlugin(t, "", bigHeadless(bigEndpoints))
	for _, tc := range []struct {
		name   string
		qname  string
		edns   uint16
		tcp    bool
		limit  int
		wantTC bool
	}{
		{"UDP without EDNS: TC within 512 bytes", bigName, 0, false, 512, true},
		{"UDP with EDNS 1232: TC within 1232 bytes", bigName, 1232, false, 1232, true},
		{"UDP with EDNS 4096: TC within 4096 bytes", bigName, 4096, false, 4096, true},
		{"TCP: every address, no TC", bigName, 0, true, dns.MaxMsgSize, false},
		{"CNAME chain over UDP: TC, the CNAME kept", "alias.default.svc.cluster.local.", 0, false, 512, true},
		{"CNAME chain over TCP: the CNAME and every address", "alias.default.svc.cluster.local.", 0, true, dns.MaxMsgSize, false},
		{"mixed case over UDP: TC, owner as asked", "BIG.default.svc.cluster.local.", 1232, false, 1232, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, size := serveScrubbed(t, cd, bufferQuery(tc.qname, tc.edns), tc.tcp)
			if r.Rcode != dns.RcodeSuccess || r.Truncated != tc.wantTC {
				t.Fatalf("rcode %s, TC %v: want NOERROR, TC %v", dns.RcodeToString[r.Rcode], r.Truncated, tc.wantTC)
			}
			if size > tc.limit {
				t.Errorf("%d bytes on the wire, more than %d", size, tc.limit)
			}
			got := addressesOf(r)
			if !tc.wantTC && len(got) != bigEndpoints {
				t.Errorf("%d addresses, want all %d", len(got), bigEndpoints)
			}
			// A truncated answer fills the buffer but for one record (16 bytes; the CNAME's target
			// compresses a little better than counted): no needless cut.
			if tc.wantTC && size <= tc.limit-2*16-8 {
				t.Errorf("%d bytes with TC: room was left in %d", size, tc.limit)
			}
			if tc.qname != bigName && !strings.EqualFold(tc.qname, bigName) {
				if c, ok := r.Answer[0].(*dns.CNAME); !ok || c.Target != bigName {
					t.Errorf("first record %v, want the CNAME to %s", r.Answer[0], bigName)
				}
			}
			for _, rr := range r.Answer {
				if rr.Header().Rrtype == dns.TypeA && rr.Header().Name != tc.qname && tc.qname == bigName {
					t.Errorf("owner %s, want %s", rr.Header().Name, tc.qname)
				}
			}
		})
	}
}

func TestUDPFitRotatesWholeAddressesWithoutTC(t *testing.T) {
	cd := newPlugin(t, "udp_fit", bigHeadless(bigEndpoints))
	for _, tc := range []struct {
		name  string
		qname string
		edns  uint16
		limit int
	}{
		{"UDP without EDNS", bigName, 0, 512},
		{"UDP with EDNS 1232", bigName, 1232, 1232},
		{"UDP with EDNS 4096", bigName, 4096, 4096},
		{"CNAME chain kept, addresses thinned", "alias.default.svc.cluster.local.", 1232, 1232},
	} {
		t.Run(tc.name, func(t *testing.T) {
			seen := map[string]bool{}
			for q := 0; q < 2*bigEndpoints && len(seen) < bigEndpoints; q++ {
				r, size := serveScrubbed(t, cd, bufferQuery(tc.qname, tc.edns), false)
				if r.Rcode != dns.RcodeSuccess || r.Truncated {
					t.Fatalf("rcode %s, TC %v: want NOERROR without TC", dns.RcodeToString[r.Rcode], r.Truncated)
				}
				if size > tc.limit {
					t.Fatalf("%d bytes on the wire, more than %d", size, tc.limit)
				}
				if tc.qname != bigName {
					if c, ok := r.Answer[0].(*dns.CNAME); !ok || c.Target != bigName {
						t.Fatalf("first record %v, want the CNAME to %s", r.Answer[0], bigName)
					}
				}
				got := addressesOf(r)
				if len(got) == 0 {
					t.Fatal("no address in the answer")
				}
				for _, a := range got {
					seen[a] = true
				}
			}
			if len(seen) != bigEndpoints {
				t.Errorf("%d endpoints served over repeated queries, want all %d", len(seen), bigEndpoints)
			}
		})
	}
	t.Run("TCP still gets every address", func(t *testing.T) {
		r, _ := serveScrubbed(t, cd, bufferQuery(bigName, 0), true)
		if r.Truncated || len(addressesOf(r)) != bigEndpoints {
			t.Errorf("TC %v, %d addresses: want every one of %d", r.Truncated, len(addressesOf(r)), bigEndpoints)
		}
	})
	t.Run("an answer that fits is whole", func(t *testing.T) {
		runCases(t, cd, []test.Case{{Qname: "alias.default.svc.cluster.local.", Qtype: dns.TypeCNAME,
			Answer: []dns.RR{test.CNAME("alias.default.svc.cluster.local. 5 IN CNAME " + bigName)}}})
	})
}

func TestRotateCoversEverySetOnce(t *testing.T) {
	set := make([]dns.RR, 10)
	for i := range set {
		set[i] = &dns.A{Hdr: dns.RR_Header{Name: "x.", Rrtype: dns.TypeA}}
	}
	for _, tc := range []struct{ k, windows int }{{1, 10}, {3, 4}, {5, 2}, {9, 2}, {10, 1}} {
		covered := map[dns.RR]bool{}
		for turn := range uint64(tc.windows) {
			w := rotate(set, tc.k, turn)
			if len(w) != tc.k || cap(w) != tc.k {
				t.Fatalf("k=%d turn %d: len %d cap %d", tc.k, turn, len(w), cap(w))
			}
			for _, rr := range w {
				covered[rr] = true
			}
		}
		if len(covered) != len(set) {
			t.Errorf("k=%d: %d of %d records in %d windows", tc.k, len(covered), len(set), tc.windows)
		}
	}
}

// TestTenThousandAddressesOverTCP: 10,000 compressed A records (160,000 bytes) exceed the largest
// DNS message (65,535 bytes, RFC 1035 4.2.2), so even TCP carries what fits, with TC; the kubernetes
// plugin's answer is cut the same way by CoreDNS's ScrubWriter.
func TestTenThousandAddressesOverTCP(t *testing.T) {
	for _, body := range []string{"", "udp_fit"} {
		t.Run("options "+body, func(t *testing.T) {
			cd := newPlugin(t, body, bigHeadless(10000))
			r, size := serveScrubbed(t, cd, bufferQuery(bigName, 0), true)
			if r.Rcode != dns.RcodeSuccess || !r.Truncated {
				t.Fatalf("rcode %s, TC %v: want NOERROR with TC", dns.RcodeToString[r.Rcode], r.Truncated)
			}
			if size > dns.MaxMsgSize || size < dns.MaxMsgSize-32 {
				t.Errorf("%d bytes: want the message filled to at most %d", size, dns.MaxMsgSize)
			}
			if n := len(addressesOf(r)); n < 4000 {
				t.Errorf("%d addresses over TCP, want about 4,090", n)
			}
		})
	}
}
