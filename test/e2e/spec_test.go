package e2e

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The rules of docs/spec-rules.md that a live cluster can show, asked over UDP and TCP
// of the main instance (pods verified). Expected addresses are what the API server allocated.

const zone = "cluster.local."

// svcName is <name>.<ns>.svc.cluster.local.
func svcName(name, ns string) string { return name + "." + ns + ".svc." + zone }

// podName is <dashed-ip>.<ns>.pod.cluster.local.
func podName(ip netip.Addr, ns string) string { return dashed(ip) + "." + ns + ".pod." + zone }

// dnsCase is one question and what its answer must be.
type dnsCase struct {
	name  string
	qname string
	qtype uint16
	want  expect
}

// runCases asks every case over UDP and over TCP.
func runCases(t *testing.T, c *coreDNS, cases []dnsCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, network := range networks {
				t.Run(network, func(t *testing.T) {
					r := c.ask(t, network, tc.qname, tc.qtype)
					if bad := tc.want.verify(r); len(bad) > 0 {
						t.Errorf("%s %s over %s:\n  %s\n%s", tc.qname, dns.TypeToString[tc.qtype], network, strings.Join(bad, "\n  "), r)
					}
				})
			}
		})
	}
}

// specTest is the common start of every table test against the main instance.
func specTest(t *testing.T) (*suite, *scenario) {
	s := need(t)
	s.dumpOnFailure(t)
	return s, s.sc
}

func TestSchemaVersionTXT(t *testing.T) {
	s, _ := specTest(t)
	name := "dns-version." + zone
	runCases(t, s.main, []dnsCase{
		{"TXT is 1.1.0", name, dns.TypeTXT, answers(name + ` TXT "1.1.0"`)},
		{"A is NODATA", name, dns.TypeA, nodata(zone)},
		{"AAAA is NODATA", name, dns.TypeAAAA, nodata(zone)},
		{"SRV is NODATA", name, dns.TypeSRV, nodata(zone)},
	})
}

func TestClusterIPAddressRecords(t *testing.T) {
	s, sc := specTest(t)
	hostnames := svcName("hostnames", "default")
	dual := svcName("dual", "default")
	kube := svcName("kubernetes", "default")
	a := func(name, key string) expect { return answers(aKey(name, sc.clusterIP(key, true))) }
	runCases(t, s.main, []dnsCase{
		{"A answers the ClusterIP", hostnames, dns.TypeA, a(hostnames, "default/hostnames")},
		{"AAAA of an IPv4-only service is NODATA", hostnames, dns.TypeAAAA, nodata(zone)},
		{"TXT of a service is NODATA", hostnames, dns.TypeTXT, nodata(zone)},
		{"unnamed port service A", svcName("my-service", "default"), dns.TypeA, a(svcName("my-service", "default"), "default/my-service")},
		{"NodePort service A", svcName("nginx-deployment", "default"), dns.TypeA, a(svcName("nginx-deployment", "default"), "default/nginx-deployment")},
		{"kubernetes.default A without endpoints", kube, dns.TypeA, a(kube, "default/kubernetes")},
		{"service with zero endpoints still answers its ClusterIP", svcName("empty-clusterip", "default"), dns.TypeA, a(svcName("empty-clusterip", "default"), "default/empty-clusterip")},
		{"kube-system service A", svcName("kube-dns", "kube-system"), dns.TypeA, a(svcName("kube-dns", "kube-system"), "kube-system/kube-dns")},
		{"dual-stack A answers the IPv4 ClusterIP", dual, dns.TypeA, answers(aKey(dual, sc.clusterIP("default/dual", true)))},
		{"dual-stack AAAA answers the IPv6 ClusterIP", dual, dns.TypeAAAA, answers(aKey(dual, sc.clusterIP("default/dual", false)))},
	})
}

func TestClusterIPSRV(t *testing.T) {
	s, sc := specTest(t)
	hostnames := svcName("hostnames", "default")
	dual := svcName("dual", "default")
	kubeDNS := svcName("kube-dns", "kube-system")
	signaling := svcName("signaling", "default")
	hostnamesA := aKey(hostnames, sc.clusterIP("default/hostnames", true))
	runCases(t, s.main, []dnsCase{
		{"named TCP port SRV with A glue", "_default._tcp." + hostnames, dns.TypeSRV,
			answers(srvKey("_default._tcp."+hostnames, 80, hostnames)).withExtra(hostnamesA)},
		{"dual-stack SRV with A and AAAA glue", "_http._tcp." + dual, dns.TypeSRV,
			answers(srvKey("_http._tcp."+dual, 80, dual)).withExtra(
				aKey(dual, sc.clusterIP("default/dual", true)), aKey(dual, sc.clusterIP("default/dual", false)))},
		{"UDP port SRV under _udp", "_dns._udp." + kubeDNS, dns.TypeSRV, answers(srvKey("_dns._udp."+kubeDNS, 53, kubeDNS))},
		{"TCP port SRV under _tcp", "_dns-tcp._tcp." + kubeDNS, dns.TypeSRV, answers(srvKey("_dns-tcp._tcp."+kubeDNS, 53, kubeDNS))},
		{"second TCP port SRV", "_metrics._tcp." + kubeDNS, dns.TypeSRV, answers(srvKey("_metrics._tcp."+kubeDNS, 9153, kubeDNS))},
		{"port under the wrong protocol is NXDOMAIN", "_dns._tcp." + kubeDNS, dns.TypeSRV, nxdomain(zone)},
		{"SCTP port SRV under _sctp", "_diameter._sctp." + signaling, dns.TypeSRV, answers(srvKey("_diameter._sctp."+signaling, 3868, signaling))},
		{"SCTP protocol label matches case-insensitively", "_Diameter._SCTP." + signaling, dns.TypeSRV, answers(srvKey("_Diameter._SCTP."+signaling, 3868, signaling))},
		{"_sctp of a named SCTP port is NODATA", "_sctp." + signaling, dns.TypeA, nodata(zone)},
		{"SCTP port under _tcp is NXDOMAIN", "_diameter._tcp." + signaling, dns.TypeSRV, nxdomain(zone)},
		{"port and protocol labels match case-insensitively", "_DEFAULT._TCP." + hostnames, dns.TypeSRV,
			answers(srvKey("_DEFAULT._TCP."+hostnames, 80, hostnames))},
		{"SRV name A is NODATA", "_default._tcp." + hostnames, dns.TypeA, nodata(zone)},
		{"unknown port name is NXDOMAIN", "_nope._tcp." + hostnames, dns.TypeSRV, nxdomain(zone)},
		{"unnamed port has no SRV name", "_http._tcp." + svcName("my-service", "default"), dns.TypeSRV, nxdomain(zone)},
		{"unnamed port makes no _tcp name", "_tcp." + svcName("my-service", "default"), dns.TypeA, nxdomain(zone)},
	})
}

func TestReversePTR(t *testing.T) {
	s, sc := specTest(t)
	kubeIP := sc.clusterIP("default/kubernetes", true)
	hostnamesIP := sc.clusterIP("default/hostnames", true)
	dual4, dual6 := sc.clusterIP("default/dual", true), sc.clusterIP("default/dual", false)
	zk0 := sc.podIP("middleware/zookeeper-0", true)
	ss4, ss6 := sc.podIP("default/dual-ss-0", true), sc.podIP("default/dual-ss-0", false)
	ssName := "dual-ss-0." + svcName("dual-headless", "default")
	ptr := func(ip netip.Addr, target string) expect { return answers(ptrKey(reverse(ip), target)) }
	if got := len(strings.Split(strings.TrimSuffix(reverse(dual6), ".ip6.arpa."), ".")); got != 32 {
		t.Fatalf("test bug: %s has %d nibbles", reverse(dual6), got)
	}
	runCases(t, s.main, []dnsCase{
		{"ClusterIP PTR kubernetes", reverse(kubeIP), dns.TypePTR, ptr(kubeIP, svcName("kubernetes", "default"))},
		{"ClusterIP PTR", reverse(hostnamesIP), dns.TypePTR, ptr(hostnamesIP, svcName("hostnames", "default"))},
		{"dual-stack ClusterIP PTR IPv4", reverse(dual4), dns.TypePTR, ptr(dual4, svcName("dual", "default"))},
		{"dual-stack ClusterIP PTR IPv6 32 nibbles", reverse(dual6), dns.TypePTR, ptr(dual6, svcName("dual", "default"))},
		{"headless endpoint with hostname PTR", reverse(zk0), dns.TypePTR, ptr(zk0, "zookeeper-0."+svcName("zookeeper-headless", "middleware"))},
		{"headless dual-stack endpoint PTR IPv4", reverse(ss4), dns.TypePTR, ptr(ss4, ssName)},
		{"headless dual-stack endpoint PTR IPv6", reverse(ss6), dns.TypePTR, ptr(ss6, ssName)},
		{"A at a PTR name is NODATA with the in-addr.arpa SOA", reverse(kubeIP), dns.TypeA, nodata("in-addr.arpa.")},
		{"AAAA at an ip6.arpa PTR name is NODATA with the ip6.arpa SOA", reverse(dual6), dns.TypeAAAA, nodata("ip6.arpa.")},
	})
}

func TestHeadlessRecords(t *testing.T) {
	s, sc := specTest(t)
	nginx := svcName("nginx", "default")
	web := svcName("web", "default")
	published := svcName("web-published", "default")
	zk := svcName("zookeeper-headless", "middleware")
	dh := svcName("dual-headless", "default")
	manual := svcName("manual", "default")
	legacy := svcName("legacy", "default")
	shared := svcName("shared", "default")
	ip := func(key string) netip.Addr { return sc.podIP(key, true) }
	var zkAll []string
	for i := range 3 {
		zkAll = append(zkAll, aKey(zk, ip(fmt.Sprintf("middleware/zookeeper-%d", i))))
	}
	runCases(t, s.main, []dnsCase{
		{"A answers every ready endpoint", nginx, dns.TypeA, answers(aKey(nginx, ip("default/nginx-0")), aKey(nginx, ip("default/nginx-1")))},
		{"AAAA of an IPv4-only headless service is NODATA", nginx, dns.TypeAAAA, nodata(zone)},
		{"three StatefulSet endpoints", zk, dns.TypeA, answers(zkAll...)},
		{"not-ready endpoint left out", web, dns.TypeA, answers(aKey(web, ip("default/web-0")))},
		{"publishNotReadyAddresses publishes the not-ready pod", published, dns.TypeA,
			answers(aKey(published, ip("default/web-0")), aKey(published, ip("default/web-1")))},
		{"only not-ready endpoints is NXDOMAIN", svcName("notready", "default"), dns.TypeA, nxdomain(zone)},
		{"only not-ready endpoints AAAA is NXDOMAIN", svcName("notready", "default"), dns.TypeAAAA, nxdomain(zone)},
		{"no endpoints at all is NXDOMAIN", svcName("empty-headless", "default"), dns.TypeA, nxdomain(zone)},
		{"dual-stack headless A", dh, dns.TypeA, answers(aKey(dh, sc.podIP("default/dual-ss-0", true)))},
		{"dual-stack headless AAAA", dh, dns.TypeAAAA, answers(aKey(dh, sc.podIP("default/dual-ss-0", false)))},
		{"hand-made slice: ready unset is ready, ready false is not", manual, dns.TypeA, answers(aKey(manual, netip.MustParseAddr("10.244.5.1")))},
		{"legacy Endpoints mirrored into a slice", legacy, dns.TypeA, answers(aKey(legacy, netip.MustParseAddr("10.244.5.3")))},
		{"two pods sharing a hostname", shared, dns.TypeA, answers(aKey(shared, ip("default/shared-a")), aKey(shared, ip("default/shared-b")))},
	})
}

func TestEndpointNames(t *testing.T) {
	s, sc := specTest(t)
	zk := svcName("zookeeper-headless", "middleware")
	nginx := svcName("nginx", "default")
	ss := "dual-ss-0." + svcName("dual-headless", "default")
	var cases []dnsCase
	for i := range 3 {
		name := fmt.Sprintf("zookeeper-%d.%s", i, zk)
		cases = append(cases, dnsCase{fmt.Sprintf("hostname zookeeper-%d A", i), name, dns.TypeA,
			answers(aKey(name, sc.podIP(fmt.Sprintf("middleware/zookeeper-%d", i), true)))})
	}
	n0 := sc.podIP("default/nginx-0", true)
	dashedName := dashed(n0) + "." + nginx
	cases = append(cases,
		dnsCase{"hostname AAAA of an IPv4 endpoint is NODATA", "zookeeper-0." + zk, dns.TypeAAAA, nodata(zone)},
		dnsCase{"unknown hostname is NXDOMAIN", "zookeeper-9." + zk, dns.TypeA, nxdomain(zone)},
		dnsCase{"dual-stack hostname A", ss, dns.TypeA, answers(aKey(ss, sc.podIP("default/dual-ss-0", true)))},
		dnsCase{"dual-stack hostname AAAA", ss, dns.TypeAAAA, answers(aKey(ss, sc.podIP("default/dual-ss-0", false)))},
		dnsCase{"endpoint without hostname is named by its dashed IP", dashedName, dns.TypeA, answers(aKey(dashedName, n0))},
		dnsCase{"not-ready endpoint has no name", dashed(sc.podIP("default/web-1", true)) + "." + svcName("web", "default"), dns.TypeA, nxdomain(zone)},
		dnsCase{"hostname from a hand-made slice", "manual-host." + svcName("manual", "default"), dns.TypeA,
			answers(aKey("manual-host."+svcName("manual", "default"), netip.MustParseAddr("10.244.5.1")))},
		dnsCase{"hostname from mirrored legacy Endpoints", "legacy-host." + svcName("legacy", "default"), dns.TypeA,
			answers(aKey("legacy-host."+svcName("legacy", "default"), netip.MustParseAddr("10.244.5.3")))},
		dnsCase{"shared hostname answers one record per IP", "db." + svcName("shared", "default"), dns.TypeA,
			answers(aKey("db."+svcName("shared", "default"), sc.podIP("default/shared-a", true)), aKey("db."+svcName("shared", "default"), sc.podIP("default/shared-b", true)))},
	)
	runCases(t, s.main, cases)
}

func TestHeadlessSRV(t *testing.T) {
	s, sc := specTest(t)
	zk := svcName("zookeeper-headless", "middleware")
	var cases []dnsCase
	total := 0
	for _, p := range []struct {
		name string
		port int
	}{{"client", 2181}, {"server", 2888}, {"leader-election", 3888}} {
		owner := "_" + p.name + "._tcp." + zk
		var want, glue []string
		for i := range 3 {
			target := fmt.Sprintf("zookeeper-%d.%s", i, zk)
			want = append(want, srvKey(owner, p.port, target))
			glue = append(glue, aKey(target, sc.podIP(fmt.Sprintf("middleware/zookeeper-%d", i), true)))
		}
		total += len(want)
		cases = append(cases, dnsCase{"N endpoints SRV for port " + p.name, owner, dns.TypeSRV, answers(want...).withExtra(glue...)})
	}
	if total != 9 {
		t.Fatalf("test bug: %d SRV records over the ports, want 3 x 3", total)
	}
	nginx := svcName("nginx", "default")
	var want, glue []string
	for _, pod := range []string{"nginx-0", "nginx-1"} {
		ip := sc.podIP("default/"+pod, true)
		target := dashed(ip) + "." + nginx
		want = append(want, srvKey("_http._tcp."+nginx, 80, target))
		glue = append(glue, aKey(target, ip))
	}
	cases = append(cases, dnsCase{"SRV targets dashed endpoint names", "_http._tcp." + nginx, dns.TypeSRV, answers(want...).withExtra(glue...)})

	dh := svcName("dual-headless", "default")
	ss := "dual-ss-0." + dh
	dual := expect{rcode: dns.RcodeSuccess, anyAnswer: true, more: func(r *dns.Msg) []string {
		var bad []string
		if len(r.Answer) == 0 {
			bad = append(bad, "no SRV")
		}
		for _, rr := range r.Answer {
			if srv, ok := rr.(*dns.SRV); !ok || srv.Target != ss || srv.Port != 80 {
				bad = append(bad, fmt.Sprintf("unexpected answer %s, want SRV port 80 target %s", rr, ss))
			}
		}
		return bad
	}}.withExtra(aKey(ss, sc.podIP("default/dual-ss-0", true)), aKey(ss, sc.podIP("default/dual-ss-0", false)))
	manual := svcName("manual", "default")
	cases = append(cases,
		dnsCase{"dual-stack endpoint SRV with A and AAAA glue", "_http._tcp." + dh, dns.TypeSRV, dual},
		dnsCase{"SRV port is the endpoint's, target its hostname", "_http._tcp." + manual, dns.TypeSRV,
			answers(srvKey("_http._tcp."+manual, 8080, "manual-host."+manual)).withExtra(aKey("manual-host."+manual, netip.MustParseAddr("10.244.5.1")))},
		dnsCase{"headless _tcp is an empty non-terminal", "_tcp." + zk, dns.TypeSRV, nodata(zone)},
	)
	runCases(t, s.main, cases)
}

func TestExternalName(t *testing.T) {
	s, sc := specTest(t)
	db := svcName("my-database", "default")
	alias := svcName("alias", "default")
	nowhere := svcName("nowhere", "default")
	chain := svcName("chain", "default")
	hostnames := svcName("hostnames", "default")
	cname := cnameKey(db, "my.database.example.com.")
	runCases(t, s.main, []dnsCase{
		{"CNAME to the external name", db, dns.TypeCNAME, answers(cname)},
		{"A is the CNAME then the target's A through forward", db, dns.TypeA,
			answers(cname, "my.database.example.com. A "+databaseIP)},
		{"AAAA keeps the CNAME when the target has no AAAA", db, dns.TypeAAAA, answers(cname)},
		{"A with an unresolvable target keeps the CNAME, NXDOMAIN", nowhere, dns.TypeA,
			expect{rcode: dns.RcodeNameError, answer: []string{cnameKey(nowhere, "nowhere.example.com.")}}},
		{"in-zone target is chased inside the plugin", alias, dns.TypeA,
			answers(cnameKey(alias, hostnames), aKey(hostnames, sc.clusterIP("default/hostnames", true)))},
		{"in-zone target without the asked type keeps the CNAME", alias, dns.TypeAAAA, answers(cnameKey(alias, hostnames))},
		{"ExternalName to ExternalName is followed to the end", chain, dns.TypeA,
			answers(cnameKey(chain, db), cname, "my.database.example.com. A "+databaseIP)},
		{"CNAME query answers only the first link", chain, dns.TypeCNAME, answers(cnameKey(chain, db))},
		{"no names below an ExternalName service", "www." + db, dns.TypeA, nxdomain(zone)},
		{"no SRV below an ExternalName service", "_http._tcp." + db, dns.TypeSRV, nxdomain(zone)},
	})
}

func TestPodRecordsVerified(t *testing.T) {
	s, sc := specTest(t)
	h0 := sc.podIP("default/hostnames-6b9c8d7f5-2xkqp", true)
	d4, d6 := sc.podIP("default/dual-6d5b7c9f8-n2r6t", true), sc.podIP("default/dual-6d5b7c9f8-n2r6t", false)
	zk0 := sc.podIP("middleware/zookeeper-0", true)
	notReady := sc.podIP("default/web-1", true)
	runCases(t, s.main, []dnsCase{
		{"pod A", podName(h0, "default"), dns.TypeA, answers(aKey(podName(h0, "default"), h0))},
		{"pod AAAA of an IPv4 name is NODATA", podName(h0, "default"), dns.TypeAAAA, nodata(zone)},
		{"dual-stack pod IPv4 name", podName(d4, "default"), dns.TypeA, answers(aKey(podName(d4, "default"), d4))},
		{"dual-stack pod IPv6 dashed name", podName(d6, "default"), dns.TypeAAAA, answers(aKey(podName(d6, "default"), d6))},
		{"pod in another namespace", podName(zk0, "middleware"), dns.TypeA, answers(aKey(podName(zk0, "middleware"), zk0))},
		{"not-ready pod still has its pod name", podName(notReady, "default"), dns.TypeA, answers(aKey(podName(notReady, "default"), notReady))},
		{"verified: IP of a pod in another namespace is NXDOMAIN", podName(zk0, "default"), dns.TypeA, nxdomain(zone)},
		{"verified: IP of no pod is NXDOMAIN", "1-2-3-4.default.pod." + zone, dns.TypeA, nxdomain(zone)},
		{"label below a pod name is NXDOMAIN", "x." + podName(h0, "default"), dns.TypeA, nxdomain(zone)},
		{"leading zeros are NXDOMAIN", "010-244-001-011.default.pod." + zone, dns.TypeA, nxdomain(zone)},
		{"non-IP label is NXDOMAIN", "not-an-ip.default.pod." + zone, dns.TypeA, nxdomain(zone)},
		{"missing namespace is NXDOMAIN", dashed(h0) + ".nonexistent.pod." + zone, dns.TypeA, nxdomain(zone)},
	})
}

func TestNegativeAnswers(t *testing.T) {
	s, _ := specTest(t)
	hostnames := svcName("hostnames", "default")
	runCases(t, s.main, []dnsCase{
		{"svc empty non-terminal is NODATA", "svc." + zone, dns.TypeA, nodata(zone)},
		{"pod empty non-terminal is NODATA", "pod." + zone, dns.TypeA, nodata(zone)},
		{"namespace under svc is NODATA", "default.svc." + zone, dns.TypeA, nodata(zone)},
		{"namespace under pod is NODATA", "default.pod." + zone, dns.TypeA, nodata(zone)},
		{"another namespace under svc is NODATA", "middleware.svc." + zone, dns.TypeA, nodata(zone)},
		{"namespace without a service is NODATA", emptyNamespace + ".svc." + zone, dns.TypeA, nodata(zone)},
		{"_tcp of a named TCP port is NODATA", "_tcp." + hostnames, dns.TypeA, nodata(zone)},
		{"_tcp of a named TCP port SRV is NODATA", "_tcp." + hostnames, dns.TypeSRV, nodata(zone)},
		{"dns empty non-terminal is NODATA", "dns." + zone, dns.TypeA, nodata(zone)},
		{"ns.dns exists", "ns.dns." + zone, dns.TypeTXT, nodata(zone)},
		{"_udp without a UDP port is NXDOMAIN", "_udp." + hostnames, dns.TypeA, nxdomain(zone)},
		{"unknown service is NXDOMAIN", svcName("nothere", "default"), dns.TypeA, nxdomain(zone)},
		{"unknown service AAAA is NXDOMAIN", svcName("nothere", "default"), dns.TypeAAAA, nxdomain(zone)},
		{"unknown namespace is NXDOMAIN", "nonexistent.svc." + zone, dns.TypeA, nxdomain(zone)},
		{"service in an unknown namespace is NXDOMAIN", svcName("hostnames", "nonexistent"), dns.TypeA, nxdomain(zone)},
		{"namespace without a pod under pod is NODATA", emptyNamespace + ".pod." + zone, dns.TypeA, nodata(zone)},
		{"unknown namespace under pod is NXDOMAIN", "nonexistent.pod." + zone, dns.TypeA, nxdomain(zone)},
		{"unknown name at the zone top is NXDOMAIN", "nothere." + zone, dns.TypeA, nxdomain(zone)},
		{"label below a ClusterIP service is NXDOMAIN", "nothere." + hostnames, dns.TypeA, nxdomain(zone)},
		{"negative TTL is the SOA MINIMUM", svcName("nothere", "default"), dns.TypeA, func() expect {
			e := nxdomain(zone)
			e.more = func(r *dns.Msg) []string {
				for _, rr := range r.Ns {
					if soa, ok := rr.(*dns.SOA); ok && soa.Hdr.Ttl < soa.Minttl {
						return []string{fmt.Sprintf("SOA TTL %d below MINIMUM %d: negative answers cached for less than MINIMUM", soa.Hdr.Ttl, soa.Minttl)}
					}
				}
				return nil
			}
			return e
		}()},
	})
}

func TestSearchPathMisses(t *testing.T) {
	s, sc := specTest(t)
	kube := svcName("kubernetes", "default")
	runCases(t, s.main, []dnsCase{
		{"kubernetes.default in the default search domain is NXDOMAIN", "kubernetes.default.default.svc." + zone, dns.TypeA, nxdomain(zone)},
		{"kubernetes.default AAAA in the default search domain is NXDOMAIN", "kubernetes.default.default.svc." + zone, dns.TypeAAAA, nxdomain(zone)},
		{"FQDN plus the namespace search domain is NXDOMAIN", kube + "default.svc." + zone, dns.TypeA, nxdomain(zone)},
		{"FQDN plus svc search domain is NXDOMAIN", kube + "svc." + zone, dns.TypeA, nxdomain(zone)},
		{"FQDN plus zone search domain is NXDOMAIN", kube + zone, dns.TypeA, nxdomain(zone)},
		{"external name plus the namespace search domain is NXDOMAIN", "example.com.default.svc." + zone, dns.TypeA, nxdomain(zone)},
		{"headless plus the namespace search domain is NXDOMAIN", "web.default.default.svc." + zone, dns.TypeA, nxdomain(zone)},
	})

	// Whole stub-resolver walks: every miss on the way must be NXDOMAIN for the walk to go on.
	walks := []struct {
		name, ns string
		qtype    uint16
		final    string
		want     expect
	}{
		{"kubernetes.default", "default", dns.TypeA, kube, answers(aKey(kube, sc.clusterIP("default/kubernetes", true)))},
		{"kubernetes.default.svc", "default", dns.TypeA, kube, answers(aKey(kube, sc.clusterIP("default/kubernetes", true)))},
		{"kubernetes.default.svc.cluster.local", "default", dns.TypeA, kube, answers(aKey(kube, sc.clusterIP("default/kubernetes", true)))},
		{"hostnames", "default", dns.TypeA, svcName("hostnames", "default"), answers(aKey(svcName("hostnames", "default"), sc.clusterIP("default/hostnames", true)))},
		{"hostnames", "default", dns.TypeAAAA, svcName("hostnames", "default"), nodata(zone)},
		{"zookeeper-0.zookeeper-headless", "middleware", dns.TypeA, "zookeeper-0." + svcName("zookeeper-headless", "middleware"),
			answers(aKey("zookeeper-0."+svcName("zookeeper-headless", "middleware"), sc.podIP("middleware/zookeeper-0", true)))},
		{"example.com", "default", dns.TypeA, "example.com.", func() expect {
			e := answers("example.com. A " + exampleComIP)
			e.notAuthoritative = true
			return e
		}()},
	}
	for _, w := range walks {
		t.Run(fmt.Sprintf("search %s %s from %s", w.name, dns.TypeToString[w.qtype], w.ns), func(t *testing.T) {
			for _, network := range networks {
				res, err := s.main.resolveSearch(network, w.name, w.ns, w.qtype)
				if err != nil {
					t.Fatal(err)
				}
				if last := res.tried[len(res.tried)-1]; last != w.final {
					t.Errorf("over %s the search stopped at %s (tried %v), want %s:\n%s", network, last, res.tried, w.final, res.r)
					continue
				}
				if bad := w.want.verify(res.r); len(bad) > 0 {
					t.Errorf("over %s, %s:\n  %s\n%s", network, w.final, strings.Join(bad, "\n  "), res.r)
				}
			}
		})
	}
}

func TestCaseKept(t *testing.T) {
	s, sc := specTest(t)
	h := "HoStNaMeS.DeFaUlT.SvC.ClUsTeR.LoCaL."
	zk := "ZooKeeper-0.ZooKeeper-Headless.Middleware.svc.cluster.local."
	srv := "_CLIENT._TCP.ZOOKEEPER-HEADLESS.middleware.svc.cluster.local."
	db := "My-Database.Default.svc.cluster.local."
	kubeIP := sc.clusterIP("default/kubernetes", true)
	ptr := strings.ToUpper(reverse(kubeIP))
	var srvWant []string
	for i := range 3 {
		srvWant = append(srvWant, srvKey(srv, 2181, fmt.Sprintf("zookeeper-%d.%s", i, svcName("zookeeper-headless", "middleware"))))
	}
	runCases(t, s.main, []dnsCase{
		{"service A owner in the query's case", h, dns.TypeA, answers(aKey(h, sc.clusterIP("default/hostnames", true)))},
		{"endpoint hostname owner in the query's case", zk, dns.TypeA, answers(aKey(zk, sc.podIP("middleware/zookeeper-0", true)))},
		{"SRV owner in the query's case", srv, dns.TypeSRV, answers(srvWant...)},
		{"CNAME owner in the query's case", db, dns.TypeCNAME, answers(cnameKey(db, "my.database.example.com."))},
		{"PTR owner in the query's case", ptr, dns.TypePTR, answers(ptrKey(ptr, svcName("kubernetes", "default")))},
		{"TXT owner in the query's case", "DNS-VERSION.CLUSTER.LOCAL.", dns.TypeTXT, answers(`DNS-VERSION.CLUSTER.LOCAL. TXT "1.1.0"`)},
		{"NXDOMAIN in any case", "NoThErE.Default.svc.cluster.local.", dns.TypeA, nxdomain(zone)},
		{"NODATA in any case", h, dns.TypeAAAA, nodata(zone)},
	})
}

func TestApex(t *testing.T) {
	s, _ := specTest(t)
	nsGlue := func(r *dns.Msg) []string {
		var bad []string
		for _, rr := range r.Extra {
			switch rr.Header().Rrtype {
			case dns.TypeA, dns.TypeAAAA:
				if !strings.EqualFold(rr.Header().Name, pluginSOAMname) {
					bad = append(bad, fmt.Sprintf("glue %s is not for %s", rr, pluginSOAMname))
				}
			}
		}
		return bad
	}
	soaMin := func(r *dns.Msg) []string {
		for _, rr := range r.Answer {
			if soa, ok := rr.(*dns.SOA); ok && soa.Minttl == 0 {
				return []string{"SOA MINIMUM is 0: negative answers would not be cached"}
			}
		}
		return nil
	}
	withMore := func(e expect, f func(*dns.Msg) []string) expect { e.more = f; return e }
	runCases(t, s.main, []dnsCase{
		{"zone SOA", zone, dns.TypeSOA, withMore(answers(zone+" SOA "+pluginSOAMname), soaMin)},
		{"zone NS with glue", zone, dns.TypeNS, withMore(answers(zone+" NS "+pluginSOAMname), nsGlue)},
		{"zone A is NODATA", zone, dns.TypeA, nodata(zone)},
		{"zone AAAA is NODATA", zone, dns.TypeAAAA, nodata(zone)},
		{"zone TXT is NODATA", zone, dns.TypeTXT, nodata(zone)},
		{"in-addr.arpa SOA", "in-addr.arpa.", dns.TypeSOA, answers("in-addr.arpa. SOA " + pluginSOAMname)},
		{"ip6.arpa SOA", "ip6.arpa.", dns.TypeSOA, answers("ip6.arpa. SOA " + pluginSOAMname)},
		{"in-addr.arpa NS", "in-addr.arpa.", dns.TypeNS, answers("in-addr.arpa. NS " + pluginSOAMname)},
	})
}

func TestFallthrough(t *testing.T) {
	s, sc := specTest(t)
	forwarded := func(e expect) expect { e.notAuthoritative = true; return e }
	notForwarded := func(e expect, name string) expect {
		e.more = func(*dns.Msg) []string {
			if n := s.up.asked(name); n > 0 {
				return []string{fmt.Sprintf("%s reached the upstream %d times: the plugin handed it on", name, n)}
			}
			return nil
		}
		return e
	}
	rev4 := reverse(netip.MustParseAddr(externalPTRAddr))
	rev6 := reverse(netip.MustParseAddr(externalPTR6Addr))
	unknownRev := reverse(netip.MustParseAddr("198.51.100.7"))
	kubeRev := reverse(sc.clusterIP("default/kubernetes", true))
	upstreamNX := forwarded(expect{rcode: dns.RcodeNameError, soaZone: ".", soaMname: upstreamSOAMname})
	runCases(t, s.main, []dnsCase{
		{"unknown IPv4 PTR falls through to forward", rev4, dns.TypePTR, forwarded(answers(ptrKey(rev4, externalPTRTarget)))},
		{"unknown IPv6 PTR falls through to forward", rev6, dns.TypePTR, forwarded(answers(ptrKey(rev6, externalPTR6Tgt)))},
		{"PTR unknown everywhere is the upstream's NXDOMAIN", unknownRev, dns.TypePTR, upstreamNX},
		{"NODATA in a reverse zone is not handed on", kubeRev, dns.TypeTXT, notForwarded(nodata("in-addr.arpa."), kubeRev)},
		{"NXDOMAIN in cluster.local is not handed on", svcName("nothere-fall", "default"), dns.TypeA,
			notForwarded(nxdomain(zone), svcName("nothere-fall", "default"))},
		{"names outside the zones go to forward", "example.com.", dns.TypeA, forwarded(answers("example.com. A " + exampleComIP))},
	})
}

func TestTruncation(t *testing.T) {
	s, _ := specTest(t)
	name := svcName("bulk", "bulk")
	var want []string
	for i := range bulkPods {
		want = append(want, aKey(name, netip.MustParseAddr(bulkIP(i))))
	}
	slices.Sort(want)

	t.Run("UDP without EDNS gets TC and at most 512 bytes", func(t *testing.T) {
		r, size, err := s.main.exchangeRawUDP(name, dns.TypeA)
		if err != nil {
			t.Fatal(err)
		}
		if r.Rcode != dns.RcodeSuccess {
			t.Fatalf("rcode %s, want NOERROR\n%s", rcodeName(r.Rcode), r)
		}
		if !r.Truncated {
			t.Fatalf("TC not set on a %d-address answer over UDP without EDNS (%d bytes, %d records)", bulkPods, size, len(r.Answer))
		}
		if size > dns.MinMsgSize {
			t.Errorf("UDP answer is %d bytes on the wire, more than %d without EDNS", size, dns.MinMsgSize)
		}
		for _, k := range rrKeys(r.Answer) {
			if _, found := slices.BinarySearch(want, k); !found {
				t.Errorf("record in the truncated answer is not an endpoint: %s", k)
			}
		}
	})
	t.Run("UDP with a 1232-byte EDNS buffer gets TC", func(t *testing.T) {
		r, err := s.main.exchange("udp", name, dns.TypeA)
		if err != nil {
			t.Fatal(err)
		}
		if !r.Truncated || r.Rcode != dns.RcodeSuccess {
			t.Fatalf("rcode %s, TC %v: want NOERROR with TC\n%s", rcodeName(r.Rcode), r.Truncated, r)
		}
	})
	t.Run("UDP with a 4096-byte EDNS buffer gets everything", func(t *testing.T) {
		m := new(dns.Msg)
		m.SetQuestion(name, dns.TypeA)
		m.SetEdns0(4096, false)
		cl := &dns.Client{Net: "udp", Timeout: queryTimeout, UDPSize: 4096}
		r, _, err := cl.Exchange(m, s.main.addr)
		if err != nil {
			t.Fatal(err)
		}
		if bad := answers(want...).verify(r); len(bad) > 0 {
			t.Fatalf("%s", strings.Join(bad, "\n"))
		}
	})
	t.Run("TCP gets every endpoint", func(t *testing.T) {
		r := s.main.ask(t, "tcp", name, dns.TypeA)
		if bad := answers(want...).verify(r); len(bad) > 0 {
			t.Fatalf("%s", strings.Join(bad, "\n"))
		}
	})
}

// TestServiceNameStartingWithDigit creates 1kubernetes (spec rule 21) if the API server accepts
// the name (Service names that are DNS-1123 labels need RelaxedServiceNameValidation).
func TestServiceNameStartingWithDigit(t *testing.T) {
	s := needLive(t)
	s.dumpOnFailure(t)
	ctx, cancel := context.WithTimeout(t.Context(), 2*propagationDeadline)
	defer cancel()
	const ns = "e2e-digit"
	if err := createNamespace(ctx, s.cp, ns); err != nil {
		t.Fatal(err)
	}
	svc := service(ns, "1kubernetes", corev1.ServiceSpec{Ports: httpPort()})
	start := time.Now()
	created, err := s.cp.Client.CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{})
	if apierrors.IsInvalid(err) {
		t.Skipf("kube-apiserver rejects a service name starting with a digit: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	name := svcName("1kubernetes", ns)
	ip := netip.MustParseAddr(created.Spec.ClusterIP)
	d, err := s.main.awaitAnswer(ctx, start, name, dns.TypeA, answers(aKey(name, ip)), propagationDeadline)
	if err != nil {
		t.Fatal(err)
	}
	propagationTimes.add(t, "conformance: service 1kubernetes created", d)
	runCases(t, s.main, []dnsCase{
		{"digit-first service A", name, dns.TypeA, answers(aKey(name, ip))},
		{"digit-first service PTR", reverse(ip), dns.TypePTR, answers(ptrKey(reverse(ip), name))},
		{"digit-first service SRV", "_http._tcp." + name, dns.TypeSRV, answers(srvKey("_http._tcp."+name, 80, name))},
	})
}

// TestPodsInsecureAndEndpointPodNames runs a second instance with "pods insecure" and
// endpoint_pod_names.
func TestPodsInsecureAndEndpointPodNames(t *testing.T) {
	s, sc := specTest(t)
	o := s.corefileOptions()
	o.pods = "insecure"
	o.endpointPodNames = true
	c := s.startExtraCoreDNS(t, "insecure", o)
	ctx, cancel := context.WithTimeout(t.Context(), readyTimeout)
	defer cancel()
	if err := c.waitReady(ctx); err != nil {
		t.Fatal(err)
	}
	zk0 := sc.podIP("middleware/zookeeper-0", true)
	nginx := svcName("nginx", "default")
	n0, n1 := sc.podIP("default/nginx-0", true), sc.podIP("default/nginx-1", true)
	anyIP := "1-2-3-4.default.pod." + zone
	v6 := "fd00--1.default.pod." + zone
	runCases(t, c, []dnsCase{
		{"insecure: any well-formed IP in an existing namespace", anyIP, dns.TypeA, answers(anyIP + " A 1.2.3.4")},
		{"insecure: IPv6 dashed name", v6, dns.TypeAAAA, answers(v6 + " AAAA fd00::1")},
		{"insecure: IPv4 name AAAA is NODATA", anyIP, dns.TypeAAAA, nodata(zone)},
		{"insecure: IP of a pod in another namespace", podName(zk0, "default"), dns.TypeA, answers(aKey(podName(zk0, "default"), zk0))},
		{"insecure: unknown namespace is NXDOMAIN", "1-2-3-4.nonexistent.pod." + zone, dns.TypeA, nxdomain(zone)},
		{"insecure: label below a pod name is NXDOMAIN", "x." + anyIP, dns.TypeA, nxdomain(zone)},
		{"insecure: leading zeros are NXDOMAIN", "01-2-3-4.default.pod." + zone, dns.TypeA, nxdomain(zone)},
		{"insecure: non-IP label is NXDOMAIN", "not-an-ip.default.pod." + zone, dns.TypeA, nxdomain(zone)},
		{"endpoint_pod_names: endpoint named by its pod", "nginx-0." + nginx, dns.TypeA, answers(aKey("nginx-0."+nginx, n0))},
		{"endpoint_pod_names: dashed name gone", dashed(n0) + "." + nginx, dns.TypeA, nxdomain(zone)},
		{"endpoint_pod_names: SRV targets pod names", "_http._tcp." + nginx, dns.TypeSRV,
			answers(srvKey("_http._tcp."+nginx, 80, "nginx-0."+nginx), srvKey("_http._tcp."+nginx, 80, "nginx-1."+nginx)).
				withExtra(aKey("nginx-0."+nginx, n0), aKey("nginx-1."+nginx, n1))},
		{"endpoint_pod_names: hostname still wins", "zookeeper-0." + svcName("zookeeper-headless", "middleware"), dns.TypeA,
			answers(aKey("zookeeper-0."+svcName("zookeeper-headless", "middleware"), zk0))},
	})
}

// TestConformance replays the probes of the Kubernetes DNS conformance tests
// (test/e2e/network/dns.go): each object is created through the API, and its names are polled
// until they answer, as the conformance pods do with dig in a loop.
func TestConformance(t *testing.T) {
	s := needLive(t)
	s.dumpOnFailure(t)
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	const ns = "dns-conformance"
	if err := createNamespace(ctx, s.cp, ns); err != nil {
		t.Fatal(err)
	}
	client := s.cp.Client.CoreV1()

	// await polls one name after an API write that began at start, and records the time.
	await := func(t *testing.T, kind string, start time.Time, qname string, qtype uint16, e expect) {
		t.Helper()
		d, err := s.main.awaitAnswer(ctx, start, qname, qtype, e, propagationDeadline)
		if err != nil {
			t.Fatal(err)
		}
		propagationTimes.add(t, "conformance: "+kind, d)
	}
	// search resolves a short name as a pod in ns would, over UDP and TCP.
	search := func(t *testing.T, name string, qtype uint16, final string, e expect) {
		t.Helper()
		for _, network := range networks {
			res, err := s.main.resolveSearch(network, name, ns, qtype)
			if err != nil {
				t.Fatal(err)
			}
			if last := res.tried[len(res.tried)-1]; last != final {
				t.Errorf("%s over %s: search stopped at %s (tried %v), want %s\n%s", name, network, last, res.tried, final, res.r)
				continue
			}
			if bad := e.verify(res.r); len(bad) > 0 {
				t.Errorf("%s over %s (%s):\n  %s\n%s", name, network, final, strings.Join(bad, "\n  "), res.r)
			}
		}
	}

	t.Run("should provide DNS for the cluster", func(t *testing.T) {
		kube := svcName("kubernetes", "default")
		want := answers(aKey(kube, s.sc.clusterIP("default/kubernetes", true)))
		for _, name := range []string{"kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"} {
			search(t, name, dns.TypeA, kube, want)
		}
	})

	// One backend pod for the services test, one hostname/subdomain pod for the pods tests.
	web := podDef{name: "webserver", labels: map[string]string{"dns-test": "true"}, ips: []string{"10.244.9.1"}}
	querier := podDef{
		name: "dns-querier-2", labels: map[string]string{"dns-test-2": "true"}, ips: []string{"10.244.9.2"},
		hostname: "dns-querier-2", subdomain: "dns-test-service-2",
	}

	t.Run("should provide DNS for services", func(t *testing.T) {
		headless := service(ns, "dns-test-service", corev1.ServiceSpec{
			ClusterIP: corev1.ClusterIPNone, Selector: web.labels, Ports: httpPort(),
		})
		regular := service(ns, "test-service-2", corev1.ServiceSpec{Selector: web.labels, Ports: httpPort()})
		start := time.Now()
		if _, err := client.Services(ns).Create(ctx, headless, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		created, err := client.Services(ns).Create(ctx, regular, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		ip := netip.MustParseAddr(created.Spec.ClusterIP)
		reg := svcName("test-service-2", ns)
		await(t, "ClusterIP service created", start, reg, dns.TypeA, answers(aKey(reg, ip)))

		podStart := time.Now()
		if err := createPod(ctx, s.cp, ns, web); err != nil {
			t.Fatal(err)
		}
		webIP := netip.MustParseAddr(web.ips[0])
		hl := svcName("dns-test-service", ns)
		await(t, "headless service gets a ready pod", podStart, hl, dns.TypeA, answers(aKey(hl, webIP)))

		for _, name := range []string{"dns-test-service", "dns-test-service." + ns, "dns-test-service." + ns + ".svc"} {
			search(t, name, dns.TypeA, hl, answers(aKey(hl, webIP)))
		}
		target := dashed(webIP) + "." + hl
		runCases(t, s.main, []dnsCase{
			{"headless SRV", "_http._tcp." + hl, dns.TypeSRV, answers(srvKey("_http._tcp."+hl, 80, target)).withExtra(aKey(target, webIP))},
			{"ClusterIP SRV", "_http._tcp." + reg, dns.TypeSRV, answers(srvKey("_http._tcp."+reg, 80, reg)).withExtra(aKey(reg, ip))},
			{"ClusterIP PTR", reverse(ip), dns.TypePTR, answers(ptrKey(reverse(ip), reg))},
			{"pod A record", podName(webIP, ns), dns.TypeA, answers(aKey(podName(webIP, ns), webIP))},
		})
	})

	t.Run("should provide DNS for pods for Hostname and Subdomain", func(t *testing.T) {
		svc := service(ns, "dns-test-service-2", corev1.ServiceSpec{
			ClusterIP: corev1.ClusterIPNone, Selector: querier.labels, Ports: httpPort(),
		})
		start := time.Now()
		if _, err := client.Services(ns).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := createPod(ctx, s.cp, ns, querier); err != nil {
			t.Fatal(err)
		}
		ip := netip.MustParseAddr(querier.ips[0])
		sub := svcName("dns-test-service-2", ns)
		host := "dns-querier-2." + sub
		await(t, "hostname/subdomain pod ready", start, host, dns.TypeA, answers(aKey(host, ip)))
		search(t, "dns-querier-2.dns-test-service-2", dns.TypeA, host, answers(aKey(host, ip)))
		search(t, "dns-querier-2.dns-test-service-2."+ns+".svc", dns.TypeA, host, answers(aKey(host, ip)))
		runCases(t, s.main, []dnsCase{
			{"subdomain A", sub, dns.TypeA, answers(aKey(sub, ip))},
			{"hostname PTR", reverse(ip), dns.TypePTR, answers(ptrKey(reverse(ip), host))},
			{"pod A record", podName(ip, ns), dns.TypeA, answers(aKey(podName(ip, ns), ip))},
		})
	})

	t.Run("should provide DNS for ExternalName services", func(t *testing.T) {
		name := svcName("dns-test-service-3", ns)
		svc := service(ns, "dns-test-service-3", externalNameSpec("foo.example.com"))
		start := time.Now()
		if _, err := client.Services(ns).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		await(t, "ExternalName created", start, name, dns.TypeCNAME, answers(cnameKey(name, "foo.example.com.")))
		runCases(t, s.main, []dnsCase{{"A through the CNAME to foo", name, dns.TypeA,
			answers(cnameKey(name, "foo.example.com."), "foo.example.com. A "+fooIP)}})

		start = time.Now()
		updateService(ctx, t, s, ns, "dns-test-service-3", func(svc *corev1.Service) { svc.Spec.ExternalName = "bar.example.com" })
		await(t, "ExternalName target changed", start, name, dns.TypeCNAME, answers(cnameKey(name, "bar.example.com.")))
		runCases(t, s.main, []dnsCase{{"A through the CNAME to bar", name, dns.TypeA,
			answers(cnameKey(name, "bar.example.com."), "bar.example.com. A "+barIP)}})

		start = time.Now()
		updated := updateService(ctx, t, s, ns, "dns-test-service-3", func(svc *corev1.Service) {
			svc.Spec.Type = corev1.ServiceTypeClusterIP
			svc.Spec.ExternalName = ""
			svc.Spec.Ports = httpPort()
		})
		ip := netip.MustParseAddr(updated.Spec.ClusterIP)
		await(t, "ExternalName switched to ClusterIP", start, name, dns.TypeA, answers(aKey(name, ip)))
		runCases(t, s.main, []dnsCase{
			{"no CNAME left", name, dns.TypeCNAME, nodata(zone)},
			{"PTR of the new ClusterIP", reverse(ip), dns.TypePTR, answers(ptrKey(reverse(ip), name))},
		})
	})
}

// updateService changes a service with retries on conflict and returns what the API stored.
func updateService(ctx context.Context, t *testing.T, s *suite, ns, name string, change func(*corev1.Service)) *corev1.Service {
	t.Helper()
	var out *corev1.Service
	err := retryOnConflict(func() error {
		svc, err := s.cp.Client.CoreV1().Services(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		change(svc)
		out, err = s.cp.Client.CoreV1().Services(ns).Update(ctx, svc, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		t.Fatalf("update service %s/%s: %v", ns, name, err)
	}
	return out
}
