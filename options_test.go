package clusterdns

import (
	"context"
	"testing"

	"github.com/coredns/coredns/plugin/pkg/dnstest"
	"github.com/coredns/coredns/plugin/test"
	"github.com/miekg/dns"
)

func TestTTL(t *testing.T) {
	runCases(t, newPlugin(t, "ttl 30", exampleCluster), []test.Case{
		{Qname: "hostnames.default.svc.cluster.local.", Qtype: dns.TypeA,
			Answer: []dns.RR{test.A("hostnames.default.svc.cluster.local. 30 IN A 10.96.10.10")}},
	})
}

func TestNamespacesOption(t *testing.T) {
	runCases(t, newPlugin(t, "namespaces middleware kube-system", exampleCluster), []test.Case{
		nx("hostnames.default.svc.cluster.local.", dns.TypeA),
		nx("default.svc.cluster.local.", dns.TypeA),
		{Qname: "1.0.96.10.in-addr.arpa.", Qtype: dns.TypePTR, Rcode: dns.RcodeNameError, Ns: []dns.RR{soa("in-addr.arpa.")}},
		nodata("middleware.svc.cluster.local.", dns.TypeA),
		{Qname: "zookeeper-0.zookeeper-headless.middleware.svc.cluster.local.", Qtype: dns.TypeA,
			Answer: []dns.RR{test.A("zookeeper-0.zookeeper-headless.middleware.svc.cluster.local. 5 IN A 10.244.4.10")}},
	})
}

func TestLabelsOption(t *testing.T) {
	runCases(t, newPlugin(t, "labels app in (hostnames, web)", exampleCluster), []test.Case{
		{Qname: "hostnames.default.svc.cluster.local.", Qtype: dns.TypeA,
			Answer: []dns.RR{test.A("hostnames.default.svc.cluster.local. 5 IN A 10.96.10.10")}},
		nx("nginx.default.svc.cluster.local.", dns.TypeA),
		nx("kubernetes.default.svc.cluster.local.", dns.TypeA),
	})
}

func TestEndpointPodNames(t *testing.T) {
	runCases(t, newPlugin(t, "endpoint_pod_names", exampleCluster), []test.Case{
		{Qname: "nginx-0.nginx.default.svc.cluster.local.", Qtype: dns.TypeA,
			Answer: []dns.RR{test.A("nginx-0.nginx.default.svc.cluster.local. 5 IN A 10.244.2.5")}},
		{Qname: "5.2.244.10.in-addr.arpa.", Qtype: dns.TypePTR,
			Answer: []dns.RR{test.PTR("5.2.244.10.in-addr.arpa. 5 IN PTR nginx-0.nginx.default.svc.cluster.local.")}},
		// An endpoint hostname wins over the pod name.
		{Qname: "zookeeper-1.zookeeper-headless.middleware.svc.cluster.local.", Qtype: dns.TypeA,
			Answer: []dns.RR{test.A("zookeeper-1.zookeeper-headless.middleware.svc.cluster.local. 5 IN A 10.244.4.11")}},
		nx("10-244-2-5.nginx.default.svc.cluster.local.", dns.TypeA),
	})
}

func TestNoEndpoints(t *testing.T) {
	runCases(t, newPlugin(t, "noendpoints", exampleCluster), []test.Case{
		{Qname: "hostnames.default.svc.cluster.local.", Qtype: dns.TypeA,
			Answer: []dns.RR{test.A("hostnames.default.svc.cluster.local. 5 IN A 10.96.10.10")}},
		nx("nginx.default.svc.cluster.local.", dns.TypeA),
		nx("zookeeper-0.zookeeper-headless.middleware.svc.cluster.local.", dns.TypeA),
		nx("10-244-1-11.hostnames.default.svc.cluster.local.", dns.TypeA),
	})
}

func TestIgnoreEmptyService(t *testing.T) {
	runCases(t, newPlugin(t, "ignore empty_service", exampleCluster, noEndpoints), []test.Case{
		nx("idle.default.svc.cluster.local.", dns.TypeA),
		{Qname: "hostnames.default.svc.cluster.local.", Qtype: dns.TypeA,
			Answer: []dns.RR{test.A("hostnames.default.svc.cluster.local. 5 IN A 10.96.10.10")}},
	})
}

// handedOn reports whether a query went to the next plugin rather than being answered.
func handedOn(t *testing.T, cd *ClusterDNS, name string, qtype uint16) bool {
	t.Helper()
	called := false
	cd.Next = test.HandlerFunc(func(context.Context, dns.ResponseWriter, *dns.Msg) (int, error) {
		called = true
		return dns.RcodeSuccess, nil
	})
	rec := dnstest.NewRecorder(&test.ResponseWriter{})
	if _, err := cd.ServeDNS(context.Background(), rec, new(dns.Msg).SetQuestion(name, qtype)); err != nil {
		t.Fatal(err)
	}
	if called == (rec.Msg != nil) {
		t.Fatalf("%s: handed on %v but also wrote %v", name, called, rec.Msg)
	}
	return called
}

func TestFallthrough(t *testing.T) { // rule 19
	for _, tc := range []struct {
		body, name string
		qtype      uint16
		want       bool
	}{
		{"fallthrough in-addr.arpa ip6.arpa", "99.99.99.10.in-addr.arpa.", dns.TypePTR, true},
		{"fallthrough in-addr.arpa ip6.arpa", "1.0.96.10.in-addr.arpa.", dns.TypePTR, false},
		{"fallthrough in-addr.arpa ip6.arpa", "96.10.in-addr.arpa.", dns.TypePTR, false}, // NODATA is never handed on
		{"fallthrough in-addr.arpa ip6.arpa", "nothere.default.svc.cluster.local.", dns.TypeA, false},
		{"fallthrough", "nothere.default.svc.cluster.local.", dns.TypeA, true},
		{"", "99.99.99.10.in-addr.arpa.", dns.TypePTR, false},
		{"", "example.org.", dns.TypeA, true}, // outside every zone
	} {
		t.Run(tc.body+" "+tc.name, func(t *testing.T) {
			if got := handedOn(t, newPlugin(t, tc.body, exampleCluster), tc.name, tc.qtype); got != tc.want {
				t.Errorf("handed on = %v, want %v", got, tc.want)
			}
		})
	}
}
