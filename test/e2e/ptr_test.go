package e2e

import (
	"context"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ptrNamespace holds pods that three services select: headless peers (their subdomain, so the
// EndpointSlice controller gives them their hostname there), and ClusterIP services front and
// alpha (no hostname there).
const ptrNamespace = "e2e-ptr"

// ptrScenario creates the pods and services once for the PTR and negative-TTL tests, and returns
// the pods' addresses: peer-0 and peer-1 with a hostname, solo without.
func ptrScenario(t *testing.T, s *suite) (peer0, peer1, solo netip.Addr, front, alpha netip.Addr) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	if err := createNamespace(ctx, s.cp, ptrNamespace); err != nil {
		t.Fatal(err)
	}
	pods := []podDef{
		{name: "peer-0", labels: labels("peers"), ips: []string{"10.244.7.1"}, hostname: "peer-0", subdomain: "peers"},
		{name: "peer-1", labels: labels("peers"), ips: []string{"10.244.7.2"}, hostname: "peer-1", subdomain: "peers"},
		{name: "solo", labels: labels("peers"), ips: []string{"10.244.7.3"}},
	}
	for _, p := range pods {
		if _, err := s.cp.Client.CoreV1().Pods(ptrNamespace).Get(ctx, p.name, metav1.GetOptions{}); err == nil {
			continue // made by an earlier test of this run
		}
		if err := createPod(ctx, s.cp, ptrNamespace, p); err != nil {
			t.Fatal(err)
		}
	}
	ips := map[string]netip.Addr{}
	for _, svc := range []*corev1.Service{
		service(ptrNamespace, "peers", headlessSpec("peers")),
		service(ptrNamespace, "front", corev1.ServiceSpec{Selector: labels("peers"), Ports: httpPort()}),
		service(ptrNamespace, "alpha", corev1.ServiceSpec{Selector: labels("peers"), Ports: httpPort()}),
	} {
		got, err := s.cp.Client.CoreV1().Services(ptrNamespace).Get(ctx, svc.Name, metav1.GetOptions{})
		if err != nil {
			if got, err = s.cp.Client.CoreV1().Services(ptrNamespace).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		if got.Spec.ClusterIP != corev1.ClusterIPNone {
			ips[svc.Name] = netip.MustParseAddr(got.Spec.ClusterIP)
		}
		if err := waitSlices(ctx, s.cp, ptrNamespace, svc.Name, 3, 0, false); err != nil {
			t.Fatal(err)
		}
	}
	return netip.MustParseAddr("10.244.7.1"), netip.MustParseAddr("10.244.7.2"), netip.MustParseAddr("10.244.7.3"), ips["front"], ips["alpha"]
}

// startReady starts an instance of clusterdns and waits until it is ready and, unless qname is
// "", answers want to a PTR query for qname.
func startReady(t *testing.T, s *suite, name string, o corefileOptions, qname string, want expect) *coreDNS {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	c := s.startExtraCoreDNS(t, name, o)
	if err := c.waitReady(ctx); err != nil {
		t.Fatal(err)
	}
	if qname != "" {
		if _, err := c.awaitAnswer(ctx, time.Now(), qname, dns.TypePTR, want, propagationDeadline); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

// TestPTRComparedWithReference: with ptr all, clusterdns answers the kubernetes plugin's PTR set
// for every address, endpoints of ClusterIP services included; by default it answers one name by
// the README's precedence, and the addresses that several services select are the deliberate
// differences.
func TestPTRComparedWithReference(t *testing.T) {
	s := needLive(t)
	s.dumpOnFailure(t)
	peer0, peer1, solo, front, alpha := ptrScenario(t, s)
	peers, frontName, alphaName := svcName("peers", ptrNamespace), svcName("front", ptrNamespace), svcName("alpha", ptrNamespace)
	ptr := func(ip netip.Addr, target string) expect { return answers(ptrKey(reverse(ip), target)) }

	one := startReady(t, s, "ptr-one", s.corefileOptions(), reverse(solo), ptr(solo, dashed(solo)+"."+alphaName))
	all := s.corefileOptions()
	all.stanza = []string{"ptr all"}
	every := answers(ptrKey(reverse(solo), dashed(solo)+"."+alphaName), ptrKey(reverse(solo), dashed(solo)+"."+frontName),
		ptrKey(reverse(solo), dashed(solo)+"."+peers))
	allInstance := startReady(t, s, "ptr-all", all, reverse(solo), every)
	ref := s.reference(t, "ptr-reference", s.corefileOptions())
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	if err := ref.waitReady(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := ref.awaitAnswer(ctx, time.Now(), reverse(solo), dns.TypePTR, every, propagationDeadline); err != nil {
		t.Fatal(err)
	}

	runCases(t, one, []dnsCase{
		{"1. hostname in the headless service of the pod's subdomain", reverse(peer0), dns.TypePTR, ptr(peer0, "peer-0."+peers)},
		{"1. the other peer", reverse(peer1), dns.TypePTR, ptr(peer1, "peer-1."+peers)},
		{"3. a ClusterIP's own name", reverse(front), dns.TypePTR, ptr(front, frontName)},
		{"4. the endpoint name in the lexically first service", reverse(solo), dns.TypePTR, ptr(solo, dashed(solo)+"."+alphaName)},
		{"the PTR target answers forward", dashed(solo) + "." + alphaName, dns.TypeA, answers(aKey(dashed(solo)+"."+alphaName, solo))},
	})

	var qs []question
	for _, ip := range []netip.Addr{peer0, peer1, solo, front, alpha} {
		qs = append(qs, question{reverse(ip), dns.TypePTR})
	}
	compareWithReference(t, allInstance, ref, qs, nil)
	why := "ptr one: one name per address by precedence, the kubernetes plugin one per selecting service"
	compareWithReference(t, one, ref, qs, map[question]string{
		{reverse(peer0), dns.TypePTR}: why,
		{reverse(peer1), dns.TypePTR}: why,
		{reverse(solo), dns.TypePTR}:  why,
	})
}

// TestNegativeTTLFromTheBinary: with ttl 30 alone, NXDOMAIN and NODATA carry the SOA with TTL and
// MINIMUM 5; with ttl 30 10, 10; the SOA asked for itself has the TTL of answers.
func TestNegativeTTLFromTheBinary(t *testing.T) {
	s := needLive(t)
	s.dumpOnFailure(t)
	_, _, _, front, _ := ptrScenario(t, s)
	frontName := svcName("front", ptrNamespace)
	for i, tc := range []struct {
		name     string
		stanza   []string
		positive uint32
		negative uint32
	}{
		{"ttl 30", []string{"ttl 30"}, 30, 5},
		{"ttl 30 10", []string{"ttl 30 10"}, 30, 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := s.corefileOptions()
			o.stanza = tc.stanza
			c := startReady(t, s, fmt.Sprint("negttl-", i), o, "", expect{})
			ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
			defer cancel()
			if _, err := c.awaitAnswer(ctx, time.Now(), frontName, dns.TypeAAAA, nodata(zone), propagationDeadline); err != nil {
				t.Fatal(err)
			}
			for _, network := range networks {
				for _, q := range []struct {
					what  string
					name  string
					qtype uint16
					rcode int
				}{
					{"NXDOMAIN", "nothere." + ptrNamespace + ".svc." + zone, dns.TypeA, dns.RcodeNameError},
					{"NODATA", frontName, dns.TypeAAAA, dns.RcodeSuccess},
					{"NODATA in a reverse zone", reverse(front), dns.TypeA, dns.RcodeSuccess},
				} {
					r := c.ask(t, network, q.name, q.qtype)
					if r.Rcode != q.rcode || len(r.Ns) != 1 {
						t.Fatalf("%s %s over %s: rcode %s, authority %v", q.what, q.name, network, rcodeName(r.Rcode), r.Ns)
					}
					soa := r.Ns[0].(*dns.SOA)
					if soa.Hdr.Ttl != tc.negative || soa.Minttl != tc.negative {
						t.Errorf("%s over %s: SOA TTL %d MINIMUM %d, want both %d", q.what, network, soa.Hdr.Ttl, soa.Minttl, tc.negative)
					}
				}
				r := c.ask(t, network, zone, dns.TypeSOA)
				if len(r.Answer) != 1 {
					t.Fatalf("%s SOA over %s: answer %v", zone, network, r.Answer)
				}
				if soa := r.Answer[0].(*dns.SOA); soa.Hdr.Ttl != tc.positive || soa.Minttl != tc.negative {
					t.Errorf("%s SOA over %s: TTL %d MINIMUM %d, want %d and %d", zone, network, soa.Hdr.Ttl, soa.Minttl, tc.positive, tc.negative)
				}
			}
		})
	}
}
