package clusterdns

import (
	"testing"

	"github.com/clusterdns/clusterdns/internal/model"

	"github.com/coredns/coredns/plugin/test"
	"github.com/miekg/dns"
)

// The Multi-Cluster Services DNS specification (KEP-1645, "DNS specification"), cited "MCS 2.x",
// in the clusterset zone; ServiceImports and their EndpointSlices from fake API servers.

func TestClustersetIPAddresses(t *testing.T) { // MCS 2.3.1
	runCases(t, startClusterset(t, ""), []test.Case{
		{Qname: "web.data.svc.clusterset.local.", Qtype: dns.TypeA,
			Answer: []dns.RR{test.A("web.data.svc.clusterset.local. 5 IN A 10.42.0.1")}},
		{Qname: "web.data.svc.clusterset.local.", Qtype: dns.TypeAAAA,
			Answer: []dns.RR{test.AAAA("web.data.svc.clusterset.local. 5 IN AAAA fd00:42::1")}},
		mcNodata("web.data.svc.clusterset.local.", dns.TypeTXT),
		{Qname: "WEB.Data.svc.ClusterSet.local.", Qtype: dns.TypeA, // rule 15: the query's case
			Answer: []dns.RR{test.A("WEB.Data.svc.ClusterSet.local. 5 IN A 10.42.0.1")}},
		// The import is not a service of this cluster: cluster.local has only the local web.
		nx("web.data.svc.cluster.local.", dns.TypeA),
		{Qname: "web.default.svc.cluster.local.", Qtype: dns.TypeA,
			Answer: []dns.RR{test.A("web.default.svc.cluster.local. 5 IN A 10.96.0.80")}},
	})
}

func TestClustersetIPSRV(t *testing.T) { // MCS 2.3.2
	runCases(t, startClusterset(t, ""), []test.Case{
		{Qname: "_http._tcp.web.data.svc.clusterset.local.", Qtype: dns.TypeSRV,
			Answer: []dns.RR{test.SRV("_http._tcp.web.data.svc.clusterset.local. 5 IN SRV 0 100 80 web.data.svc.clusterset.local.")},
			Extra: []dns.RR{
				test.A("web.data.svc.clusterset.local. 5 IN A 10.42.0.1"),
				test.AAAA("web.data.svc.clusterset.local. 5 IN AAAA fd00:42::1"),
			}},
		{Qname: "_HTTP._TCP.web.data.svc.clusterset.local.", Qtype: dns.TypeSRV,
			Answer: []dns.RR{test.SRV("_HTTP._TCP.web.data.svc.clusterset.local. 5 IN SRV 0 100 80 web.data.svc.clusterset.local.")},
			Extra: []dns.RR{
				test.A("web.data.svc.clusterset.local. 5 IN A 10.42.0.1"),
				test.AAAA("web.data.svc.clusterset.local. 5 IN AAAA fd00:42::1"),
			}},
		// As the kubernetes plugin answers: the SRV of every port at the name itself.
		{Qname: "web.data.svc.clusterset.local.", Qtype: dns.TypeSRV,
			Answer: []dns.RR{
				test.SRV("web.data.svc.clusterset.local. 5 IN SRV 0 50 53 web.data.svc.clusterset.local."),
				test.SRV("web.data.svc.clusterset.local. 5 IN SRV 0 50 80 web.data.svc.clusterset.local."),
			},
			Extra: []dns.RR{
				test.A("web.data.svc.clusterset.local. 5 IN A 10.42.0.1"),
				test.AAAA("web.data.svc.clusterset.local. 5 IN AAAA fd00:42::1"),
			}},
		mcNodata("_tcp.web.data.svc.clusterset.local.", dns.TypeSRV), // RFC 8020: names below
		mcNX("_http._udp.web.data.svc.clusterset.local.", dns.TypeSRV),
		mcNX("_dns._udp.web.data.svc.clusterset.local.", dns.TypeSRV), // an unnamed port has no name
		mcNodata("_http._tcp.web.data.svc.clusterset.local.", dns.TypeA),
	})
}

func TestClustersetHeadlessAddresses(t *testing.T) { // MCS 2.4.1
	runCases(t, startClusterset(t, ""), []test.Case{
		{Qname: "db.data.svc.clusterset.local.", Qtype: dns.TypeA, Answer: []dns.RR{
			test.A("db.data.svc.clusterset.local. 5 IN A 10.1.0.1"),
			test.A("db.data.svc.clusterset.local. 5 IN A 10.1.0.2"),
			test.A("db.data.svc.clusterset.local. 5 IN A 10.2.0.1"),
		}},
		{Qname: "db.data.svc.clusterset.local.", Qtype: dns.TypeAAAA, Answer: []dns.RR{
			test.AAAA("db.data.svc.clusterset.local. 5 IN AAAA fd00:2::1"),
		}},
		// No ready endpoint: the name does not exist, as in the cluster zone (spec 2.5.1).
		mcNX("empty.data.svc.clusterset.local.", dns.TypeA),
		mcNX("empty.data.svc.clusterset.local.", dns.TypeAAAA),
		// A slice for an import that is not there answers nothing.
		mcNX("orphan.data.svc.clusterset.local.", dns.TypeA),
		mcNX("o-0.east.orphan.data.svc.clusterset.local.", dns.TypeA),
	})
}

func TestClustersetEndpointNames(t *testing.T) { // MCS 2.4.1: <hostname>.<clusterid>.<svc>...
	runCases(t, startClusterset(t, ""), []test.Case{
		// One hostname in two clusters: each cluster's endpoint has a name of its own.
		{Qname: "db-0.east.db.data.svc.clusterset.local.", Qtype: dns.TypeA,
			Answer: []dns.RR{test.A("db-0.east.db.data.svc.clusterset.local. 5 IN A 10.1.0.1")}},
		{Qname: "db-0.west.db.data.svc.clusterset.local.", Qtype: dns.TypeA,
			Answer: []dns.RR{test.A("db-0.west.db.data.svc.clusterset.local. 5 IN A 10.2.0.1")}},
		{Qname: "db-1.west.db.data.svc.clusterset.local.", Qtype: dns.TypeAAAA,
			Answer: []dns.RR{test.AAAA("db-1.west.db.data.svc.clusterset.local. 5 IN AAAA fd00:2::1")}},
		mcNodata("db-1.west.db.data.svc.clusterset.local.", dns.TypeA),
		// Without a hostname, the dashed address (spec 2.5.1's system-chosen label).
		{Qname: "10-1-0-2.east.db.data.svc.clusterset.local.", Qtype: dns.TypeA,
			Answer: []dns.RR{test.A("10-1-0-2.east.db.data.svc.clusterset.local. 5 IN A 10.1.0.2")}},
		mcNX("db-2.east.db.data.svc.clusterset.local.", dns.TypeA), // not ready
		mcNX("db-1.east.db.data.svc.clusterset.local.", dns.TypeA), // db-1 runs in west
		mcNX("db-0.db.data.svc.clusterset.local.", dns.TypeA),      // the cluster ID is part of the name
		mcNodata("east.db.data.svc.clusterset.local.", dns.TypeA),  // RFC 8020: names below
		mcNX("north.db.data.svc.clusterset.local.", dns.TypeA),
		{Qname: "DB-0.East.db.data.svc.clusterset.local.", Qtype: dns.TypeA,
			Answer: []dns.RR{test.A("DB-0.East.db.data.svc.clusterset.local. 5 IN A 10.1.0.1")}},
		// A ClusterSetIP import's endpoints have names too, as the kubernetes plugin answers them.
		{Qname: "w-0.east.web.data.svc.clusterset.local.", Qtype: dns.TypeA,
			Answer: []dns.RR{test.A("w-0.east.web.data.svc.clusterset.local. 5 IN A 10.1.1.1")}},
	})
}

func TestClustersetHeadlessSRV(t *testing.T) { // MCS 2.4.2: per-cluster targets
	runCases(t, startClusterset(t, ""), []test.Case{
		{Qname: "_sql._tcp.db.data.svc.clusterset.local.", Qtype: dns.TypeSRV,
			Answer: []dns.RR{
				test.SRV("_sql._tcp.db.data.svc.clusterset.local. 5 IN SRV 0 25 5432 10-1-0-2.east.db.data.svc.clusterset.local."),
				test.SRV("_sql._tcp.db.data.svc.clusterset.local. 5 IN SRV 0 25 5432 db-0.east.db.data.svc.clusterset.local."),
				test.SRV("_sql._tcp.db.data.svc.clusterset.local. 5 IN SRV 0 25 5432 db-0.west.db.data.svc.clusterset.local."),
				test.SRV("_sql._tcp.db.data.svc.clusterset.local. 5 IN SRV 0 25 5432 db-1.west.db.data.svc.clusterset.local."),
			},
			Extra: []dns.RR{
				test.A("10-1-0-2.east.db.data.svc.clusterset.local. 5 IN A 10.1.0.2"),
				test.A("db-0.east.db.data.svc.clusterset.local. 5 IN A 10.1.0.1"),
				test.A("db-0.west.db.data.svc.clusterset.local. 5 IN A 10.2.0.1"),
				test.AAAA("db-1.west.db.data.svc.clusterset.local. 5 IN AAAA fd00:2::1"),
			}},
		{Qname: "db-0.west.db.data.svc.clusterset.local.", Qtype: dns.TypeSRV,
			Answer: []dns.RR{test.SRV("db-0.west.db.data.svc.clusterset.local. 5 IN SRV 0 100 5432 db-0.west.db.data.svc.clusterset.local.")},
			Extra:  []dns.RR{test.A("db-0.west.db.data.svc.clusterset.local. 5 IN A 10.2.0.1")}},
		mcNodata("_tcp.db.data.svc.clusterset.local.", dns.TypeSRV),
		mcNX("_sql._udp.db.data.svc.clusterset.local.", dns.TypeSRV),
	})
}

func TestClustersetZoneNames(t *testing.T) { // MCS 2.1, 2.2; rules 12, 14, 17
	runCases(t, startClusterset(t, ""), []test.Case{
		{Qname: "dns-version.clusterset.local.", Qtype: dns.TypeTXT,
			Answer: []dns.RR{test.TXT(`dns-version.clusterset.local. 5 IN TXT "1.0.0"`)}},
		{Qname: "dns-version.cluster.local.", Qtype: dns.TypeTXT,
			Answer: []dns.RR{test.TXT(`dns-version.cluster.local. 5 IN TXT "1.1.0"`)}},
		{Qname: "clusterset.local.", Qtype: dns.TypeSOA, Answer: []dns.RR{mcSOA()}},
		mcNodata("clusterset.local.", dns.TypeA),
		mcNodata("svc.clusterset.local.", dns.TypeA),
		mcNodata("data.svc.clusterset.local.", dns.TypeA),
		mcNodata("default.svc.clusterset.local.", dns.TypeA), // an existing namespace, no imports
		mcNX("nowhere.svc.clusterset.local.", dns.TypeA),
		mcNX("missing.data.svc.clusterset.local.", dns.TypeA),
		mcNX("db.data.svc.data.svc.clusterset.local.", dns.TypeA), // rule 13: a search-path miss
		mcNX("10-1-0-1.data.pod.clusterset.local.", dns.TypeA),    // no pod names in the clusterset
		// No PTR for clusterset IPs or imported endpoints: neither the MCS spec nor the kubernetes
		// plugin has them.
		nxIn("1.0.42.10.in-addr.arpa.", dns.TypePTR, "in-addr.arpa."),
		nxIn("1.0.1.10.in-addr.arpa.", dns.TypePTR, "in-addr.arpa."),
	})
}

// nxIn is an NXDOMAIN case in a reverse zone, whose SOA names the first forward zone.
func nxIn(name string, qtype uint16, zone string) test.Case {
	return test.Case{Qname: name, Qtype: qtype, Rcode: dns.RcodeNameError,
		Ns: []dns.RR{test.SOA(zone + " 5 IN SOA ns.dns.cluster.local. hostmaster.cluster.local. 1 7200 1800 86400 5")}}
}

// A ClusterSetIP import whose IP is not allocated yet: its names exist, without records.
func TestClustersetImportWithoutIP(t *testing.T) { // MCS 2.3
	cd := startClusterset(t, "")
	cd.store.UpsertServiceImport(&model.ServiceImport{Namespace: "data", Name: "pending", Ports: []model.Port{{Name: "http", Protocol: "tcp", Port: 80}}})
	runCases(t, cd, []test.Case{
		mcNodata("pending.data.svc.clusterset.local.", dns.TypeA),
		mcNodata("pending.data.svc.clusterset.local.", dns.TypeSRV),
		mcNodata("_http._tcp.pending.data.svc.clusterset.local.", dns.TypeSRV),
	})
}
