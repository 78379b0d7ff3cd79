package clusterdns

import (
	"context"
	"strings"
	"testing"

	"github.com/coredns/coredns/plugin/pkg/dnstest"
	"github.com/coredns/coredns/plugin/test"
	"github.com/miekg/dns"
)

// FuzzServeDNS throws arbitrary names and types at the name parser and ServeDNS: no panic, a
// well-formed rcode, and an answer's owner is always the name asked.
func FuzzServeDNS(f *testing.F) {
	for _, seed := range []string{
		"hostnames.default.svc.cluster.local.", "_client._tcp.zookeeper-headless.middleware.svc.cluster.local.",
		"1-2-3-4.default.pod.cluster.local.", "2001-db8--1.default.pod.cluster.local.", "x.1-2-3-4.default.pod.cluster.local.",
		"1.0.96.10.in-addr.arpa.", "cluster.local.", "..", "-.pod.cluster.local.", "a..b.cluster.local.",
		"my-database.default.svc.cluster.local.", "\\046.default.svc.cluster.local.",
		"a.b.pin._zone.zookeeper-headless.middleware.svc.cluster.local.", "._zone.x.pin._zone.nginx.default.svc.cluster.local.",
	} {
		f.Add(seed, dns.TypeA)
	}
	cd := newPlugin(f, "pods insecure\nfallthrough in-addr.arpa\nzonal", exampleCluster)
	cd.Next = test.NextHandler(dns.RcodeRefused, nil)
	f.Fuzz(func(t *testing.T, name string, qtype uint16) {
		rec := dnstest.NewRecorder(&test.ResponseWriter{})
		m := new(dns.Msg)
		m.Question = []dns.Question{{Name: name, Qtype: qtype, Qclass: dns.ClassINET}}
		rcode, err := cd.ServeDNS(context.Background(), rec, m)
		if err != nil {
			t.Fatalf("%q: %v", name, err)
		}
		switch rcode {
		case dns.RcodeSuccess, dns.RcodeNameError, dns.RcodeRefused:
		default:
			t.Fatalf("%q: rcode %s", name, dns.RcodeToString[rcode])
		}
		if rec.Msg == nil {
			return
		}
		for _, rr := range rec.Msg.Answer[:min(1, len(rec.Msg.Answer))] {
			if rr.Header().Name != name && !strings.EqualFold(rr.Header().Name, name) {
				t.Fatalf("%q: answer owner %q", name, rr.Header().Name)
			}
		}
	})
}
