package clusterdns

import (
	"context"
	"testing"

	"github.com/coredns/coredns/plugin/test"
	"github.com/coredns/coredns/request"
	"github.com/miekg/dns"
)

// BenchmarkLargeAnswer measures a 10,000-address headless answer through ServeDNS and CoreDNS's
// ScrubWriter, as the server runs them (-benchmem for allocations): cut with TC over UDP, a
// rotated window with udp_fit, and over TCP (where 10,000 records exceed a message: cut with TC).
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
	} {
		b.Run(bc.name, func(b *testing.B) {
			m := bufferQuery(bigName, bc.edns)
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
