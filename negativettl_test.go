package clusterdns

import (
	"strconv"
	"strings"
	"testing"

	"github.com/coredns/coredns/plugin/test"
	"github.com/miekg/dns"
)

// Negative answers carry the SOA with the negative TTL as its TTL and its MINIMUM (RFC 2308
// sections 3 and 5); the SOA asked for itself keeps the TTL of answers, with the same MINIMUM.
func TestNegativeTTL(t *testing.T) {
	soaWith := func(ttl, minimum string) dns.RR {
		return test.SOA("cluster.local. " + ttl + " IN SOA ns.dns.cluster.local. hostmaster.cluster.local. 1 7200 1800 86400 " + minimum)
	}
	for _, tc := range []struct {
		option        string
		ttl, negative string
	}{
		{"", "5", "5"},
		{"ttl 30", "30", "5"}, // the smaller of SECONDS and 5
		{"ttl 3", "3", "3"},
		{"ttl 0", "0", "0"},
		{"ttl 30 10", "30", "10"},
		{"ttl 30 0", "30", "0"},
		{"ttl 3600 3600", "3600", "3600"},
	} {
		t.Run(tc.option, func(t *testing.T) {
			neg := soaWith(tc.negative, tc.negative)
			cd := newPlugin(t, tc.option, exampleCluster)
			// test.SortAndCheck compares no SOA MINIMUM.
			for _, q := range []*dns.Msg{
				new(dns.Msg).SetQuestion("nothere.cluster.local.", dns.TypeA),
				new(dns.Msg).SetQuestion("cluster.local.", dns.TypeSOA),
			} {
				resp := serve(t, cd, q)
				if got := append(resp.Answer, resp.Ns...)[0].(*dns.SOA).Minttl; strconv.Itoa(int(got)) != tc.negative {
					t.Errorf("%s: SOA MINIMUM = %d, want the negative TTL %s", q.Question[0].Name, got, tc.negative)
				}
			}
			runCases(t, cd, []test.Case{
				{Qname: "nothere.default.svc.cluster.local.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: []dns.RR{neg}},
				{Qname: "hostnames.default.svc.cluster.local.", Qtype: dns.TypeAAAA, Ns: []dns.RR{neg}},
				{Qname: "cluster.local.", Qtype: dns.TypeSOA, Answer: []dns.RR{soaWith(tc.ttl, tc.negative)}},
				{Qname: "99.99.99.10.in-addr.arpa.", Qtype: dns.TypePTR, Rcode: dns.RcodeNameError,
					Ns: []dns.RR{test.SOA("in-addr.arpa. " + tc.negative + " IN SOA ns.dns.cluster.local. hostmaster.cluster.local. 1 7200 1800 86400 " + tc.negative)}},
			})
		})
	}
}

func TestTTLRefusesBadLines(t *testing.T) {
	for _, line := range []string{"ttl", "ttl 30 5 1", "ttl -1", "ttl 3601", "ttl 30 x", "ttl 30 -1", "ttl 30 31", "ttl 0 1"} {
		if _, err := newPluginErr(t, line); err == nil || !strings.Contains(err.Error(), "ttl") {
			t.Errorf("%q: error %v, want one naming ttl", line, err)
		}
	}
}
