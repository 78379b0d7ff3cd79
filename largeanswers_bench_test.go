package clusterdns

import (
	"context"
	"strings"
	"testing"

	"github.com/coredns/coredns/plugin/test"
	"github.com/coredns/coredns/request"
	"github.com/miekg/dns"
)

// BenchmarkLargeAnswer measures a 10,000-address headless answer through ServeDNS and CoreDNS's
// ScrubWriter, as the server runs them (-benchmem for allocations): cut with TC over UDP, a
// rotated window with udp_fit, over TCP (where 10,000 records exceed a message: cut with TC), and
// through the ExternalName alias (a CNAME in front of the set).
func BenchmarkLargeAnswer(b *testing.B) {
	objects := bigHeadless(10000)
	plain := newPlugin(b, "", objects)
	fitted := newPlugin(b, "udp_fit", objects)
	for _, bc := range []struct {
		name string
		cd   *ClusterDNS
		edns uint16
		tcp  bool
	}{
		{"UDP_512", plain, 0, false},
		{"UDP_1232", plain, 1232, false},
		{"UDP_512_udp_fit", fitted, 0, false},
		{"UDP_1232_udp_fit", fitted, 1232, false},
		{"TCP", plain, 0, true},
		{"CNAME_UDP_1232", plain, 1232, false},
	} {
		b.Run(bc.name, func(b *testing.B) {
			m := bufferQuery(bigName, bc.edns)
			if strings.HasPrefix(bc.name, "CNAME") {
				m = bufferQuery(bigAlias, bc.edns)
			}
			w := &test.ResponseWriter{TCP: bc.tcp}
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := bc.cd.ServeDNS(ctx, request.NewScrubWriter(m, w), m); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkLargeAnswerScrubOnly is the same 10,000 addresses left whole to the ScrubWriter, which
// is how the kubernetes plugin's answer is cut: the cost that fit.go avoids.
func BenchmarkLargeAnswerScrubOnly(b *testing.B) {
	cd := newPlugin(b, "", bigHeadless(10000))
	set := cd.lookup(bigName, dns.TypeA).rrs
	for _, bc := range []struct {
		name string
		edns uint16
		tcp  bool
	}{{"UDP_512", 0, false}, {"UDP_1232", 1232, false}, {"TCP", 0, true}} {
		b.Run(bc.name, func(b *testing.B) {
			r := bufferQuery(bigName, bc.edns)
			w := request.NewScrubWriter(r, &test.ResponseWriter{TCP: bc.tcp})
			b.ReportAllocs()
			for b.Loop() {
				m := new(dns.Msg).SetReply(r)
				m.Answer = set
				if err := w.WriteMsg(m); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkLargeSRVAnswer is BenchmarkLargeAnswer for the 10,000 SRV records and their glue under
// _http._tcp: measured and cut to the buffer with TC, a rotated window with its targets' glue with
// udp_fit, and over TCP a full message with TC; ServiceName asks the same records at the
// service's name, built on the first query and kept, CNAME through the ExternalName alias. ScrubOnly is the _http._tcp answer left whole
// to the ScrubWriter, as the kubernetes plugin's is (which also builds its records on every query).
func BenchmarkLargeSRVAnswer(b *testing.B) {
	objects := bigHeadless(10000)
	plain := newPlugin(b, "", objects)
	fitted := newPlugin(b, "udp_fit", objects)
	name := "_http._tcp." + bigName
	whole := plain.lookup(name, dns.TypeSRV)
	for _, bc := range []struct {
		name  string
		cd    *ClusterDNS
		edns  uint16
		tcp   bool
		scrub bool
	}{
		{"UDP_512", plain, 0, false, false},
		{"UDP_1232", plain, 1232, false, false},
		{"UDP_512_udp_fit", fitted, 0, false, false},
		{"UDP_1232_udp_fit", fitted, 1232, false, false},
		{"TCP", plain, 0, true, false},
		{"ServiceName_UDP_1232", plain, 1232, false, false},
		{"ServiceName_UDP_1232_udp_fit", fitted, 1232, false, false},
		{"CNAME_UDP_1232", plain, 1232, false, false},
		{"CNAME_UDP_1232_udp_fit", fitted, 1232, false, false},
		{"ScrubOnly_UDP_512", nil, 0, false, true},
		{"ScrubOnly_UDP_1232", nil, 1232, false, true},
		{"ScrubOnly_TCP", nil, 0, true, true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			m := srvQuery(name, bc.edns)
			if strings.HasPrefix(bc.name, "ServiceName") {
				m = srvQuery(bigName, bc.edns)
			}
			if strings.HasPrefix(bc.name, "CNAME") {
				m = srvQuery(bigAlias, bc.edns)
			}
			w := &test.ResponseWriter{TCP: bc.tcp}
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				sw := request.NewScrubWriter(m, w)
				if bc.scrub {
					r := new(dns.Msg).SetReply(m)
					r.Answer, r.Extra = whole.rrs, whole.extra
					if err := sw.WriteMsg(r); err != nil {
						b.Fatal(err)
					}
					continue
				}
				if _, err := bc.cd.ServeDNS(ctx, sw, m); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
