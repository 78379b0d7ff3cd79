package clusterdns

import (
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/coredns/caddy"
	"github.com/coredns/coredns/plugin/pkg/dnstest"
	"github.com/coredns/coredns/plugin/test"
	"github.com/miekg/dns"
)

// Tests cite the rules of docs/spec-rules.md as "rule N".

// exampleCluster is the demo cluster of `make run`; the spec tests run against it so that the demo
// can never drift from what the plugin answers.
const exampleCluster = "examples/cluster.yaml"

// testNSAddr is the address answered for ns.dns.<zone> in tests (the host's own in production).
var testNSAddr = netip.MustParseAddr("10.96.0.10")

// newPlugin starts the plugin from a Corefile stanza body for zones cluster.local, in-addr.arpa
// and ip6.arpa, serving the given manifest files (inline YAML is written to a temporary file).
func newPlugin(t testing.TB, body string, manifests ...string) *ClusterDNS {
	t.Helper()
	cd, err := newPluginErr(t, body, manifests...)
	if err != nil {
		t.Fatal(err)
	}
	if err := cd.start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cd.shutdown() })
	return cd
}

func newPluginErr(t testing.TB, body string, manifests ...string) (*ClusterDNS, error) {
	t.Helper()
	var paths []string
	for i, m := range manifests {
		if !strings.Contains(m, "\n") {
			paths = append(paths, m)
			continue
		}
		p := filepath.Join(t.TempDir(), "objects"+string(rune('a'+i))+".yaml")
		if err := os.WriteFile(p, []byte(m), 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	stanza := "clusterdns cluster.local in-addr.arpa ip6.arpa {\n"
	if len(paths) > 0 {
		stanza += "manifests " + strings.Join(paths, " ") + "\n"
	}
	stanza += body + "\n}"
	c := caddy.NewTestController("dns", stanza)
	c.Next()
	cfg, err := parseStanza(c)
	if err != nil {
		return nil, err
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return newClusterDNS(cfg, []netip.Addr{testNSAddr})
}

// runCases sends every case through ServeDNS and checks the whole response.
func runCases(t *testing.T, cd *ClusterDNS, cases []test.Case) {
	t.Helper()
	for _, tc := range cases {
		t.Run(dns.TypeToString[tc.Qtype]+" "+tc.Qname, func(t *testing.T) {
			resp := serve(t, cd, tc.Msg())
			if err := test.SortAndCheck(resp, tc); err != nil {
				t.Error(err)
			}
		})
	}
}

// serve sends one query through ServeDNS and returns what it wrote.
func serve(t testing.TB, cd *ClusterDNS, m *dns.Msg) *dns.Msg {
	t.Helper()
	rec := dnstest.NewRecorder(&test.ResponseWriter{})
	if _, err := cd.ServeDNS(context.Background(), rec, m); err != nil {
		t.Fatalf("ServeDNS: %v", err)
	}
	if rec.Msg == nil {
		t.Fatalf("ServeDNS wrote no answer to %s", m.Question[0].String())
	}
	return rec.Msg
}

// soa is the SOA expected in negative answers of a zone.
func soa(zone string) dns.RR {
	return test.SOA(zone + " 5 IN SOA ns.dns.cluster.local. hostmaster.cluster.local. 1 7200 1800 86400 5")
}

// nx is an NXDOMAIN case in cluster.local; nodata a NODATA one (NOERROR, no answer, the SOA).
func nx(name string, qtype uint16) test.Case {
	return test.Case{Qname: name, Qtype: qtype, Rcode: dns.RcodeNameError, Ns: []dns.RR{soa("cluster.local.")}}
}

func nodata(name string, qtype uint16) test.Case {
	return test.Case{Qname: name, Qtype: qtype, Ns: []dns.RR{soa("cluster.local.")}}
}
