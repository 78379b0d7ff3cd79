package clusterdns

import (
	"testing"

	"github.com/coredns/coredns/plugin/test"
	"github.com/miekg/dns"
)

// The numbers in the test names are the rules of spec-rules.md (Kubernetes DNS schema 1.1.0).

func TestSchemaVersion(t *testing.T) { // rule 1
	runCases(t, newPlugin(t, "", exampleCluster), []test.Case{
		{Qname: "dns-version.cluster.local.", Qtype: dns.TypeTXT,
			Answer: []dns.RR{test.TXT(`dns-version.cluster.local. 5 IN TXT "1.1.0"`)}},
		nodata("dns-version.cluster.local.", dns.TypeA),
	})
}

func TestClusterIPAddresses(t *testing.T) { // rule 2
	runCases(t, newPlugin(t, "", exampleCluster), []test.Case{
		{Qname: "hostnames.default.svc.cluster.local.", Qtype: dns.TypeA,
			Answer: []dns.RR{test.A("hostnames.default.svc.cluster.local. 5 IN A 10.96.10.10")}},
		nodata("hostnames.default.svc.cluster.local.", dns.TypeAAAA),
		nodata("hostnames.default.svc.cluster.local.", dns.TypeTXT),
		{Qname: "nginx-deployment.default.svc.cluster.local.", Qtype: dns.TypeA,
			Answer: []dns.RR{test.A("nginx-deployment.default.svc.cluster.local. 5 IN A 10.96.10.30")}},
		{Qname: "dual.default.svc.cluster.local.", Qtype: dns.TypeA,
			Answer: []dns.RR{test.A("dual.default.svc.cluster.local. 5 IN A 10.96.10.40")}},
		{Qname: "dual.default.svc.cluster.local.", Qtype: dns.TypeAAAA,
			Answer: []dns.RR{test.AAAA("dual.default.svc.cluster.local. 5 IN AAAA fd00:10:96::28")}},
	})
}

const noEndpoints = `
apiVersion: v1
kind: Service
metadata: {name: idle, namespace: default}
spec: {clusterIP: 10.96.20.1, ports: [{name: http, port: 80}]}
---
apiVersion: v1
kind: Service
metadata: {name: lonely, namespace: default}
spec: {clusterIP: None, ports: [{name: http, port: 80}]}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: lonely-1, namespace: default, labels: {kubernetes.io/service-name: lonely}}
addressType: IPv4
endpoints: [{addresses: [10.244.9.9], conditions: {ready: false}}]
`

func TestServicesWithoutReadyEndpoints(t *testing.T) { // rules 2 and 5
	runCases(t, newPlugin(t, "", noEndpoints), []test.Case{
		{Qname: "idle.default.svc.cluster.local.", Qtype: dns.TypeA,
			Answer: []dns.RR{test.A("idle.default.svc.cluster.local. 5 IN A 10.96.20.1")}},
		nx("lonely.default.svc.cluster.local.", dns.TypeA),
		nx("_http._tcp.lonely.default.svc.cluster.local.", dns.TypeSRV),
	})
}

func TestClusterIPSRV(t *testing.T) { // rule 3
	glue := test.A("hostnames.default.svc.cluster.local. 5 IN A 10.96.10.10")
	runCases(t, newPlugin(t, "", exampleCluster), []test.Case{
		{Qname: "_default._tcp.hostnames.default.svc.cluster.local.", Qtype: dns.TypeSRV,
			Answer: []dns.RR{test.SRV("_default._tcp.hostnames.default.svc.cluster.local. 5 IN SRV 0 100 80 hostnames.default.svc.cluster.local.")},
			Extra:  []dns.RR{glue}},
		{Qname: "_DEFAULT._TCP.hostnames.default.svc.cluster.local.", Qtype: dns.TypeSRV,
			Answer: []dns.RR{test.SRV("_DEFAULT._TCP.hostnames.default.svc.cluster.local. 5 IN SRV 0 100 80 hostnames.default.svc.cluster.local.")},
			Extra:  []dns.RR{glue}},
		nx("_default._udp.hostnames.default.svc.cluster.local.", dns.TypeSRV),
		{Qname: "_dns._udp.kube-dns.kube-system.svc.cluster.local.", Qtype: dns.TypeSRV,
			Answer: []dns.RR{test.SRV("_dns._udp.kube-dns.kube-system.svc.cluster.local. 5 IN SRV 0 100 53 kube-dns.kube-system.svc.cluster.local.")},
			Extra:  []dns.RR{test.A("kube-dns.kube-system.svc.cluster.local. 5 IN A 10.96.0.10")}},
		// An unnamed port has no _port._proto name, but the service name answers SRV for every
		// port, as the kubernetes plugin does.
		nx("_tcp.my-service.default.svc.cluster.local.", dns.TypeSRV),
		{Qname: "my-service.default.svc.cluster.local.", Qtype: dns.TypeSRV,
			Answer: []dns.RR{test.SRV("my-service.default.svc.cluster.local. 5 IN SRV 0 100 80 my-service.default.svc.cluster.local.")},
			Extra:  []dns.RR{test.A("my-service.default.svc.cluster.local. 5 IN A 10.96.10.20")}},
	})
}

func TestReverse(t *testing.T) { // rules 4 and 8
	v6, _ := dns.ReverseAddr("fd00:10:96::28")
	runCases(t, newPlugin(t, "", exampleCluster), []test.Case{
		{Qname: "1.0.96.10.in-addr.arpa.", Qtype: dns.TypePTR,
			Answer: []dns.RR{test.PTR("1.0.96.10.in-addr.arpa. 5 IN PTR kubernetes.default.svc.cluster.local.")}},
		{Qname: v6, Qtype: dns.TypePTR,
			Answer: []dns.RR{test.PTR(v6 + " 5 IN PTR dual.default.svc.cluster.local.")}},
		{Qname: "10.4.244.10.in-addr.arpa.", Qtype: dns.TypePTR,
			Answer: []dns.RR{test.PTR("10.4.244.10.in-addr.arpa. 5 IN PTR zookeeper-0.zookeeper-headless.middleware.svc.cluster.local.")}},
		{Qname: "5.2.244.10.in-addr.arpa.", Qtype: dns.TypePTR,
			Answer: []dns.RR{test.PTR("5.2.244.10.in-addr.arpa. 5 IN PTR 10-244-2-5.nginx.default.svc.cluster.local.")}},
		{Qname: "99.99.99.10.in-addr.arpa.", Qtype: dns.TypePTR,
			Rcode: dns.RcodeNameError, Ns: []dns.RR{soa("in-addr.arpa.")}},
		// An empty non-terminal of the reverse tree.
		{Qname: "96.10.in-addr.arpa.", Qtype: dns.TypePTR, Ns: []dns.RR{soa("in-addr.arpa.")}},
	})
}

func TestHeadless(t *testing.T) { // rules 5, 6 and 7
	zk := func(n, ip string) dns.RR {
		return test.A("zookeeper-" + n + ".zookeeper-headless.middleware.svc.cluster.local. 5 IN A 10.244.4." + ip)
	}
	zkSRV := func(owner, n, port string, weight string) dns.RR {
		return test.SRV(owner + " 5 IN SRV 0 " + weight + " " + port + " zookeeper-" + n + ".zookeeper-headless.middleware.svc.cluster.local.")
	}
	const base = "zookeeper-headless.middleware.svc.cluster.local."
	var all []dns.RR
	for _, p := range []string{"2181", "2888", "3888"} { // in SortAndCheck's order
		for _, n := range []string{"0", "1", "2"} {
			all = append(all, zkSRV(base, n, p, "11"))
		}
	}
	runCases(t, newPlugin(t, "", exampleCluster), []test.Case{
		{Qname: "nginx.default.svc.cluster.local.", Qtype: dns.TypeA, Answer: []dns.RR{
			test.A("nginx.default.svc.cluster.local. 5 IN A 10.244.2.5"),
			test.A("nginx.default.svc.cluster.local. 5 IN A 10.244.2.6"),
		}},
		nodata("nginx.default.svc.cluster.local.", dns.TypeAAAA),
		// A not-ready endpoint is not answered, under either name.
		{Qname: "web.default.svc.cluster.local.", Qtype: dns.TypeA,
			Answer: []dns.RR{test.A("web.default.svc.cluster.local. 5 IN A 10.244.2.8")}},
		nx("10-244-2-9.web.default.svc.cluster.local.", dns.TypeA),
		{Qname: "zookeeper-0." + base, Qtype: dns.TypeA, Answer: []dns.RR{zk("0", "10")}},
		{Qname: "10-244-2-5.nginx.default.svc.cluster.local.", Qtype: dns.TypeA,
			Answer: []dns.RR{test.A("10-244-2-5.nginx.default.svc.cluster.local. 5 IN A 10.244.2.5")}},
		{Qname: "fd00-10-244-3--7.dual.default.svc.cluster.local.", Qtype: dns.TypeAAAA,
			Answer: []dns.RR{test.AAAA("fd00-10-244-3--7.dual.default.svc.cluster.local. 5 IN AAAA fd00:10:244:3::7")}},
		{Qname: "_client._tcp." + base, Qtype: dns.TypeSRV,
			Answer: []dns.RR{
				zkSRV("_client._tcp."+base, "0", "2181", "33"),
				zkSRV("_client._tcp."+base, "1", "2181", "33"),
				zkSRV("_client._tcp."+base, "2", "2181", "33"),
			},
			Extra: []dns.RR{zk("0", "10"), zk("1", "11"), zk("2", "12")}},
		// With EDNS (Do sets a 4096-byte buffer): 9 SRV records of 79 bytes exceed the 512 bytes of
		// UDP without it, which get TC (rule 16, largesrv_test.go).
		{Qname: base, Qtype: dns.TypeSRV, Do: true, Answer: all, Extra: []dns.RR{zk("0", "10"), zk("1", "11"), zk("2", "12")}},
		{Qname: "zookeeper-3." + base, Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: []dns.RR{soa("cluster.local.")}},
	})
}

const inZoneExternalName = `
apiVersion: v1
kind: Service
metadata: {name: alias, namespace: default}
spec: {type: ExternalName, externalName: hostnames.default.svc.cluster.local}
---
apiVersion: v1
kind: Service
metadata: {name: dangling, namespace: default}
spec: {type: ExternalName, externalName: gone.default.svc.cluster.local.}
---
apiVersion: v1
kind: Service
metadata: {name: 1kubernetes, namespace: default}
spec: {clusterIP: 10.96.30.1, ports: [{port: 443}]}
`

func TestExternalName(t *testing.T) { // rule 9 and 21
	cname := test.CNAME("my-database.default.svc.cluster.local. 5 IN CNAME my.database.example.com.")
	runCases(t, newPlugin(t, "", exampleCluster, inZoneExternalName), []test.Case{
		{Qname: "my-database.default.svc.cluster.local.", Qtype: dns.TypeCNAME, Answer: []dns.RR{cname}},
		// No full server runs in a unit test, so the external target cannot be resolved: the
		// CNAME stays (the kubernetes plugin drops it and answers a bare NODATA).
		{Qname: "my-database.default.svc.cluster.local.", Qtype: dns.TypeA, Answer: []dns.RR{cname}},
		nx("x.my-database.default.svc.cluster.local.", dns.TypeA),
		{Qname: "alias.default.svc.cluster.local.", Qtype: dns.TypeA, Answer: []dns.RR{
			test.CNAME("alias.default.svc.cluster.local. 5 IN CNAME hostnames.default.svc.cluster.local."),
			test.A("hostnames.default.svc.cluster.local. 5 IN A 10.96.10.10"),
		}},
		{Qname: "dangling.default.svc.cluster.local.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Answer: []dns.RR{
			test.CNAME("dangling.default.svc.cluster.local. 5 IN CNAME gone.default.svc.cluster.local."),
		}, Ns: []dns.RR{soa("cluster.local.")}},
		// NODATA at the in-zone target: the CNAME, then the SOA.
		{Qname: "alias.default.svc.cluster.local.", Qtype: dns.TypeAAAA, Answer: []dns.RR{
			test.CNAME("alias.default.svc.cluster.local. 5 IN CNAME hostnames.default.svc.cluster.local."),
		}, Ns: []dns.RR{soa("cluster.local.")}},
		{Qname: "1kubernetes.default.svc.cluster.local.", Qtype: dns.TypeA,
			Answer: []dns.RR{test.A("1kubernetes.default.svc.cluster.local. 5 IN A 10.96.30.1")}},
	})
}

func TestNegativeAnswersPerName(t *testing.T) { // rules 12, 13 and 14
	runCases(t, newPlugin(t, "", exampleCluster), []test.Case{
		nodata("svc.cluster.local.", dns.TypeA),
		nodata("pod.cluster.local.", dns.TypeA),
		nodata("default.svc.cluster.local.", dns.TypeA),
		nodata("default.pod.cluster.local.", dns.TypeA),
		nodata("middleware.svc.cluster.local.", dns.TypeSRV),
		nodata("_tcp.zookeeper-headless.middleware.svc.cluster.local.", dns.TypeSRV),
		nodata("dns.cluster.local.", dns.TypeA),
		nodata("ns.dns.cluster.local.", dns.TypeTXT),
		nx("nothere.default.svc.cluster.local.", dns.TypeA),
		nx("kubernetes.default.default.svc.cluster.local.", dns.TypeA),
		nx("kubernetes.default.svc.cluster.local.cluster.local.", dns.TypeA),
		nx("hostnames.nothere.svc.cluster.local.", dns.TypeA),
		nx("nothere.svc.cluster.local.", dns.TypeA),
		nx("nothere.pod.cluster.local.", dns.TypeA),
		nx("*.default.svc.cluster.local.", dns.TypeA),
		nx("other.cluster.local.", dns.TypeA),
	})
}

func TestQueryCaseKept(t *testing.T) { // rule 15
	runCases(t, newPlugin(t, "", exampleCluster), []test.Case{
		{Qname: "HoStNaMeS.DeFaUlT.svc.CLUSTER.local.", Qtype: dns.TypeA,
			Answer: []dns.RR{test.A("HoStNaMeS.DeFaUlT.svc.CLUSTER.local. 5 IN A 10.96.10.10")}},
		{Qname: "NGINX.default.svc.cluster.local.", Qtype: dns.TypeA, Answer: []dns.RR{
			test.A("NGINX.default.svc.cluster.local. 5 IN A 10.244.2.5"),
			test.A("NGINX.default.svc.cluster.local. 5 IN A 10.244.2.6"),
		}},
		nx("NoThErE.default.svc.cluster.local.", dns.TypeA),
	})
}

func TestApex(t *testing.T) { // rule 17
	runCases(t, newPlugin(t, "", exampleCluster), []test.Case{
		{Qname: "cluster.local.", Qtype: dns.TypeSOA, Answer: []dns.RR{soa("cluster.local.")}},
		{Qname: "Cluster.Local.", Qtype: dns.TypeSOA, Answer: []dns.RR{
			test.SOA("Cluster.Local. 5 IN SOA ns.dns.cluster.local. hostmaster.cluster.local. 1 7200 1800 86400 5")}},
		{Qname: "cluster.local.", Qtype: dns.TypeNS,
			Answer: []dns.RR{test.NS("cluster.local. 5 IN NS ns.dns.cluster.local.")},
			Extra:  []dns.RR{test.A("ns.dns.cluster.local. 5 IN A 10.96.0.10")}},
		{Qname: "ns.dns.cluster.local.", Qtype: dns.TypeA, Answer: []dns.RR{test.A("ns.dns.cluster.local. 5 IN A 10.96.0.10")}},
		nodata("cluster.local.", dns.TypeA),
		{Qname: "in-addr.arpa.", Qtype: dns.TypeSOA, Answer: []dns.RR{
			test.SOA("in-addr.arpa. 5 IN SOA ns.dns.cluster.local. hostmaster.cluster.local. 1 7200 1800 86400 5")}},
		{Qname: "ip6.arpa.", Qtype: dns.TypeNS, Answer: []dns.RR{test.NS("ip6.arpa. 5 IN NS ns.dns.cluster.local.")}},
	})
}
