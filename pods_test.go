package clusterdns

import (
	"testing"

	"github.com/coredns/coredns/plugin/test"
	"github.com/miekg/dns"
)

// Pod records, rule 11: "<dashed-ip>.<ns>.pod.<zone>" in the modes disabled, insecure, verified.

func TestPodsDisabled(t *testing.T) {
	runCases(t, newPlugin(t, "pods disabled", exampleCluster), []test.Case{
		nx("10-244-1-11.default.pod.cluster.local.", dns.TypeA),
		nx("1-2-3-4.default.pod.cluster.local.", dns.TypeA),
		// The namespace's pod name is an empty non-terminal whatever the mode (the kubernetes plugin
		// answers NXDOMAIN here).
		nodata("default.pod.cluster.local.", dns.TypeA),
	})
}

func TestPodsInsecure(t *testing.T) {
	runCases(t, newPlugin(t, "pods insecure", exampleCluster), []test.Case{
		{Qname: "1-2-3-4.default.pod.cluster.local.", Qtype: dns.TypeA,
			Answer: []dns.RR{test.A("1-2-3-4.default.pod.cluster.local. 5 IN A 1.2.3.4")}},
		{Qname: "1-2-3-4.DEFAULT.pod.cluster.local.", Qtype: dns.TypeA,
			Answer: []dns.RR{test.A("1-2-3-4.DEFAULT.pod.cluster.local. 5 IN A 1.2.3.4")}},
		{Qname: "2001-db8--1.middleware.pod.cluster.local.", Qtype: dns.TypeAAAA,
			Answer: []dns.RR{test.AAAA("2001-db8--1.middleware.pod.cluster.local. 5 IN AAAA 2001:db8::1")}},
		nodata("1-2-3-4.default.pod.cluster.local.", dns.TypeAAAA),
		nodata("1-2-3-4.default.pod.cluster.local.", dns.TypeTXT),
		nx("1-2-3-4.nothere.pod.cluster.local.", dns.TypeA),
		nx("x.1-2-3-4.default.pod.cluster.local.", dns.TypeA),
		nx("01-2-3-4.default.pod.cluster.local.", dns.TypeA),
		nx("1-2-3.default.pod.cluster.local.", dns.TypeA),
		nx("1-2-3-256.default.pod.cluster.local.", dns.TypeA),
		nx("foo.default.pod.cluster.local.", dns.TypeA),
		nx("--ffff-102-304.default.pod.cluster.local.", dns.TypeAAAA), // IPv4-mapped: 1-2-3-4 is its name
		nx("1-2-3-4.pod.cluster.local.", dns.TypeA),
	})
}

func TestPodsVerified(t *testing.T) {
	runCases(t, newPlugin(t, "pods verified", exampleCluster), []test.Case{
		{Qname: "10-244-1-11.default.pod.cluster.local.", Qtype: dns.TypeA,
			Answer: []dns.RR{test.A("10-244-1-11.default.pod.cluster.local. 5 IN A 10.244.1.11")}},
		{Qname: "fd00-10-244-3--7.default.pod.cluster.local.", Qtype: dns.TypeAAAA,
			Answer: []dns.RR{test.AAAA("fd00-10-244-3--7.default.pod.cluster.local. 5 IN AAAA fd00:10:244:3::7")}},
		{Qname: "10-244-4-10.middleware.pod.cluster.local.", Qtype: dns.TypeA,
			Answer: []dns.RR{test.A("10-244-4-10.middleware.pod.cluster.local. 5 IN A 10.244.4.10")}},
		nodata("10-244-1-11.default.pod.cluster.local.", dns.TypeAAAA),
		nx("10-244-1-11.middleware.pod.cluster.local.", dns.TypeA),
		nx("1-2-3-4.default.pod.cluster.local.", dns.TypeA),
	})
}
