package clusterdns

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/coredns/coredns/plugin/test"
	"github.com/miekg/dns"
)

// places are the two chain orders a build gives (plugin/place.sh): clusterdns right before
// kubernetes, or right before cache. autopath precedes both in CoreDNS's plugin.cfg, so it sees
// every query first in either place and asks clusterdns through its AutoPather.
var places = map[string][]string{
	"default place": {"metadata", "testmeta", "autopath", "cache", pluginName, "testupstream"},
	"early place":   {"metadata", "testmeta", "autopath", pluginName, "cache", "testupstream"},
}

// startClientChain starts a chain in the given place serving clientObjects (see clients_test.go),
// with autopath @clusterdns, kubeadm's cache line and the host search list example.org.
func startClientChain(t *testing.T, order []string, stanza string) *chain {
	t.Helper()
	hostResolvConf(t)
	file := filepath.Join(t.TempDir(), "objects.yaml")
	if err := os.WriteFile(file, []byte(clientObjects), 0o644); err != nil {
		t.Fatal(err)
	}
	return startChain(t, order, map[string]string{
		"autopath": "autopath @clusterdns",
		"cache":    "cache 30 {\ndisable success cluster.local\ndisable denial cluster.local\n}",
		pluginName: "clusterdns cluster.local in-addr.arpa ip6.arpa {\nmanifests " + file + "\n" + stanza + "\n}",
	})
}

// clientCase is a query sent from a client address and the whole answer it must get.
type clientCase struct {
	name string
	from string
	tc   test.Case
}

func runClientCases(t *testing.T, ch *chain, cases []clientCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if err := test.SortAndCheck(ch.ask(t, c.from, c.tc.Msg()), c.tc); err != nil {
				t.Error(err)
			}
		})
	}
}

func a(rr string) dns.RR     { return test.A(rr) }
func cname(rr string) dns.RR { return test.CNAME(rr) }

func TestAutopathCompletesThePodsSearchList(t *testing.T) {
	for place, order := range places {
		t.Run(place, func(t *testing.T) {
			ch := startClientChain(t, order, "")
			runClientCases(t, ch, []clientCase{
				{name: "a name of the first search domain is answered as asked", from: "127.0.0.2", tc: test.Case{
					Qname: "web.ns1.svc.cluster.local.", Qtype: dns.TypeA,
					Answer: []dns.RR{a("web.ns1.svc.cluster.local. 5 IN A 10.96.1.1")},
				}},
				{name: "the searched name is a CNAME to the one found, then its records", from: "127.0.0.2", tc: test.Case{
					Qname: "web.ns1.ns1.svc.cluster.local.", Qtype: dns.TypeA,
					Answer: []dns.RR{
						cname("web.ns1.ns1.svc.cluster.local. 5 IN CNAME web.ns1.svc.cluster.local."),
						a("web.ns1.svc.cluster.local. 5 IN A 10.96.1.1"),
					},
				}},
				{name: "another namespace's service through svc.<zone>", from: "127.0.0.2", tc: test.Case{
					Qname: "db.ns2.ns1.svc.cluster.local.", Qtype: dns.TypeA,
					Answer: []dns.RR{
						cname("db.ns2.ns1.svc.cluster.local. 5 IN CNAME db.ns2.svc.cluster.local."),
						a("db.ns2.svc.cluster.local. 5 IN A 10.96.2.1"),
					},
				}},
				{name: "the host's search domains after the cluster's", from: "127.0.0.2", tc: test.Case{
					Qname: "api.ns1.svc.cluster.local.", Qtype: dns.TypeA,
					Answer: []dns.RR{
						a("api.example.org. 30 IN A 192.0.2.9"), // sorted by name, as SortAndCheck sorts the answer
						cname("api.ns1.svc.cluster.local. 30 IN CNAME api.example.org."),
					},
				}},
				{name: "an external name as asked, last", from: "127.0.0.2", tc: test.Case{
					Qname: "www.example.net.ns1.svc.cluster.local.", Qtype: dns.TypeA,
					Answer: []dns.RR{
						a("www.example.net. 30 IN A 192.0.2.10"), // sorted by name, as SortAndCheck sorts the answer
						cname("www.example.net.ns1.svc.cluster.local. 30 IN CNAME www.example.net."),
					},
				}},
				{name: "NXDOMAIN for the name asked when nothing resolves", from: "127.0.0.2", tc: nx("nothing.ns1.svc.cluster.local.", dns.TypeA)},
				{name: "a pod in the other namespace searches its own", from: "127.0.0.3", tc: test.Case{
					Qname: "db.ns2.ns2.svc.cluster.local.", Qtype: dns.TypeA,
					Answer: []dns.RR{
						cname("db.ns2.ns2.svc.cluster.local. 5 IN CNAME db.ns2.svc.cluster.local."),
						a("db.ns2.svc.cluster.local. 5 IN A 10.96.2.1"),
					},
				}},
				{name: "and not the first pod's", from: "127.0.0.3", tc: nx("web.ns1.ns1.svc.cluster.local.", dns.TypeA)},
				{name: "an address two live pods hold gets no autopath", from: "127.0.0.4", tc: nx("web.ns1.ns1.svc.cluster.local.", dns.TypeA)},
				{name: "a host-network pod gets no autopath", from: "127.0.0.5", tc: nx("web.ns1.ns1.svc.cluster.local.", dns.TypeA)},
				{name: "an address no pod holds gets no autopath", from: "127.0.0.9", tc: nx("web.ns1.ns1.svc.cluster.local.", dns.TypeA)},
			})
		})
	}
}

// TestAutopathFollowsPods: the search list is the pod's that holds the address now, never one
// that held it before, and none while no pod is known to hold it.
func TestAutopathFollowsPods(t *testing.T) {
	for place, order := range places {
		t.Run(place, func(t *testing.T) {
			ch := startClientChain(t, order, "")
			searchedInNs2 := test.Case{
				Qname: "db.ns2.ns2.svc.cluster.local.", Qtype: dns.TypeA,
				Answer: []dns.RR{
					cname("db.ns2.ns2.svc.cluster.local. 5 IN CNAME db.ns2.svc.cluster.local."),
					a("db.ns2.svc.cluster.local. 5 IN A 10.96.2.1"),
				},
			}
			runClientCases(t, ch, []clientCase{
				{name: "before: the address is in ns1", from: "127.0.0.2", tc: nx("db.ns2.ns2.svc.cluster.local.", dns.TypeA)},
				{name: "a pod not yet seen gets no autopath", from: "127.0.0.6", tc: nx("db.ns2.ns2.svc.cluster.local.", dns.TypeA)},
			})
			ch.cd.store.DeletePod("ns1", "a")
			runClientCases(t, ch, []clientCase{
				{name: "deleted: no autopath", from: "127.0.0.2", tc: nx("web.ns1.ns1.svc.cluster.local.", dns.TypeA)},
			})
			ch.cd.store.UpsertPod(podAt("ns2", "c", "127.0.0.2"))
			ch.cd.store.UpsertPod(podAt("ns2", "d", "127.0.0.6"))
			runClientCases(t, ch, []clientCase{
				{name: "the address reused in another namespace searches that one", from: "127.0.0.2", tc: searchedInNs2},
				{name: "and no longer the old one", from: "127.0.0.2", tc: nx("web.ns1.ns1.svc.cluster.local.", dns.TypeA)},
				{name: "the new pod, once seen", from: "127.0.0.6", tc: searchedInNs2},
			})
			ch.cd.store.DeletePod("ns1", "old")
			runClientCases(t, ch, []clientCase{
				{name: "the second holder of a shared address, once the first is gone", from: "127.0.0.4", tc: searchedInNs2},
			})
		})
	}
}

// BenchmarkSearchPathExternalName is what a pod (ndots:5, search <ns>.svc.<zone> svc.<zone> <zone>
// and the host's example.org) pays to resolve an external name, A then AAAA, each query sent over
// UDP from its own address to a server started in this process, with and without autopath
// @clusterdns, in the default place: queries per resolution and the time of all of them. The
// upstream answers at once, so the time is the server's own.
func BenchmarkSearchPathExternalName(b *testing.B) {
	const name = "www.example.net."
	tries := []string{name + "ns1.svc.cluster.local.", name + "svc.cluster.local.", name + "cluster.local.", name + "example.org.", name}
	for _, bc := range []struct{ name, autopath string }{{"without_autopath", ""}, {"autopath", "autopath @clusterdns"}} {
		b.Run(bc.name, func(b *testing.B) {
			hostResolvConf(b)
			file := filepath.Join(b.TempDir(), "objects.yaml")
			if err := os.WriteFile(file, []byte(clientObjects), 0o644); err != nil {
				b.Fatal(err)
			}
			order := []string{pluginName, "testupstream"}
			if bc.autopath != "" {
				order = []string{"autopath", pluginName, "testupstream"}
			}
			ch := startChain(b, order, map[string]string{
				"autopath": bc.autopath,
				pluginName: "clusterdns cluster.local in-addr.arpa ip6.arpa {\nmanifests " + file + "\n}",
			})
			queries := 0
			for b.Loop() {
				for _, qtype := range []uint16{dns.TypeA, dns.TypeAAAA} {
					for _, try := range tries {
						queries++
						if ch.ask(b, "127.0.0.2", new(dns.Msg).SetQuestion(try, qtype)).Rcode != dns.RcodeNameError {
							break
						}
					}
				}
			}
			b.ReportMetric(float64(queries)/float64(b.N), "queries/op")
		})
	}
}
