package e2e

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The autopath test's namespaces and its client pods. A pod's IP is a loopback address, so that a
// query sent from that address is the pod's own (127/8 is the host's on Linux); there are no
// kubelets, so nothing but the test writes the pod's status.
const (
	autopathNS      = "e2e-autopath"
	autopathOtherNS = "e2e-autopath-b"
	clientIP        = "127.0.0.2" // autopathNS/client, labels app=probe
	otherClientIP   = "127.0.0.3" // autopathOtherNS/client
	hostNetClientIP = "127.0.0.4" // autopathNS/agent, on the host network
	unknownIP       = "127.0.0.9" // no pod
)

// askFrom asks one question from the local address from, as a pod holding it would.
func (c *coreDNS) askFrom(t testing.TB, network, from, qname string, qtype uint16) *dns.Msg {
	t.Helper()
	r, err := c.exchangeFrom(network, from, qname, qtype)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func (c *coreDNS) exchangeFrom(network, from, qname string, qtype uint16) (*dns.Msg, error) {
	m := new(dns.Msg)
	m.SetQuestion(qname, qtype)
	var local net.Addr = &net.TCPAddr{IP: net.ParseIP(from)}
	if network == "udp" {
		m.SetEdns0(ednsSize, false)
		local = &net.UDPAddr{IP: net.ParseIP(from)}
	}
	cl := &dns.Client{Net: network, Timeout: queryTimeout, UDPSize: ednsSize, Dialer: &net.Dialer{LocalAddr: local}}
	r, _, err := cl.Exchange(m, c.addr)
	if err != nil {
		return nil, fmt.Errorf("%s %s over %s from %s to %s: %w", qname, dns.TypeToString[qtype], network, from, c.name, err)
	}
	return r, nil
}

// createAutopathClients creates a service in each namespace and the client pods.
func createAutopathClients(ctx context.Context, t *testing.T, s *suite) {
	t.Helper()
	port := []corev1.ServicePort{{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP}}
	for _, ns := range []string{autopathNS, autopathOtherNS} {
		if err := createNamespace(ctx, s.cp, ns); err != nil {
			t.Fatal(err)
		}
		if _, err := s.cp.Client.CoreV1().Services(ns).Create(ctx, service(ns, "web", corev1.ServiceSpec{Ports: port}), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range []struct {
		ns, name, ip string
		hostNetwork  bool
	}{
		{autopathNS, "client", clientIP, false},
		{autopathOtherNS, "client", otherClientIP, false},
		{autopathNS, "agent", hostNetClientIP, true},
	} {
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Namespace: p.ns, Name: p.name, Labels: map[string]string{"app": "probe"}},
			Spec:       corev1.PodSpec{HostNetwork: p.hostNetwork},
		}
		if _, err := s.cp.CreateReadyPod(ctx, pod, p.ip); err != nil {
			t.Fatal(err)
		}
	}
}

// autopathQuestions are the first queries a pod's resolver sends for a few names (the name with
// the first search domain appended, as ndots:5 makes it), in both namespaces' search lists, and
// a few names as asked.
func autopathQuestions() []question {
	var qs []question
	for _, ns := range []string{autopathNS, autopathOtherNS} {
		first := ns + ".svc." + zone
		for _, name := range []string{
			"web", "web." + autopathNS, "web." + autopathOtherNS, "web." + autopathNS + ".svc",
			"kubernetes.default", "kubernetes.default.svc", "kubernetes", "nosuch", "nosuch.default",
			"foo.example.com", "example.com", "nosuch.example.com",
		} {
			for _, qtype := range []uint16{dns.TypeA, dns.TypeAAAA} {
				qs = append(qs, question{name + "." + first, qtype})
			}
		}
		qs = append(qs, question{"_http._tcp.web." + first, dns.TypeSRV})
	}
	return append(qs,
		question{"web." + autopathNS + ".svc." + zone, dns.TypeA},
		question{"foo.example.com.", dns.TypeA},
		question{"svc." + zone, dns.TypeA},
	)
}

// TestAutopathMatchesTheKubernetesPlugin: queries sent from a client pod's own address get the
// same answers from autopath @clusterdns as from autopath @kubernetes with pods verified, query by
// query, from pods of two namespaces; and from a host-network pod, where the kubernetes plugin
// completes the search list of the pod it finds and clusterdns does not (coredns#7120). The log
// plugin prints the clusterdns/ metadata.
func TestAutopathMatchesTheKubernetesPlugin(t *testing.T) {
	s := needLive(t)
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	createAutopathClients(ctx, t, s)

	o := s.corefileOptions()
	o.pods = "insecure" // client identity comes with autopath, pods verified or not
	o.before = []string{"metadata", "autopath @clusterdns", `log . "META {remote} {name} ns={/clusterdns/namespace} svc={/clusterdns/service} kind={/clusterdns/kind} port={/clusterdns/port-name} proto={/clusterdns/protocol} client={/clusterdns/client-namespace}/{/clusterdns/client-pod-name} app={/clusterdns/client-label/app}"`}
	o.stanza = []string{"client_labels app"}
	ours := s.startExtraCoreDNS(t, "autopath", o)
	r := s.corefileOptions()
	r.pods = "verified"
	r.before = []string{"autopath @kubernetes"}
	ref := s.reference(t, "autopath-reference", r)

	// Both have seen the client pods once the first search domain's CNAME comes back.
	probe := "kubernetes.default." + autopathNS + ".svc." + zone
	for _, c := range []*coreDNS{ours, ref} {
		if err := c.waitReady(ctx); err != nil {
			t.Fatal(err)
		}
		for {
			m, err := c.exchangeFrom("udp", clientIP, probe, dns.TypeA)
			if err == nil && hasCNAME(m) {
				break
			}
			select {
			case <-ctx.Done():
				t.Fatalf("%s: no autopath answer for %s from %s (%v)", c.name, probe, clientIP, err)
			case <-time.After(100 * time.Millisecond):
			}
		}
	}

	qs := autopathQuestions()
	hostNetworkDiffs := 0
	for _, from := range []string{clientIP, otherClientIP, unknownIP, hostNetClientIP} {
		for _, q := range qs {
			for _, network := range networks {
				a, b := ours.askFrom(t, network, from, q.name, q.qtype), ref.askFrom(t, network, from, q.name, q.qtype)
				diff := sameAnswer(a, b)
				if from != hostNetClientIP {
					if len(diff) > 0 {
						t.Errorf("%s over %s from %s differs from the kubernetes plugin:\n\t%s", q, network, from, strings.Join(diff, "\n\t"))
					}
					continue
				}
				// A host-network pod's address is its node's: clusterdns answers it as asked, as it
				// answers an address no pod holds; the kubernetes plugin completes the search list
				// of the pod it finds (coredns#7120).
				hostNetworkDiffs += min(len(diff), 1)
				if asAsked := ours.askFrom(t, network, unknownIP, q.name, q.qtype); len(sameAnswer(a, asAsked)) > 0 {
					t.Errorf("%s over %s from a host-network pod: clusterdns answered otherwise than as asked: %v", q, network, a)
				}
			}
		}
	}
	if hostNetworkDiffs == 0 {
		t.Error("the kubernetes plugin no longer completes a host-network pod's search list: update the README")
	}
	// autopath did its work: the client's name in another namespace came back as a CNAME.
	if m := ours.askFrom(t, "udp", clientIP, "web."+autopathOtherNS+"."+autopathNS+".svc."+zone, dns.TypeA); !hasCNAME(m) {
		t.Errorf("no autopath CNAME: %v", m)
	}

	// The log plugin printed the query's and the client's metadata.
	want := fmt.Sprintf("META %s ", clientIP)
	wantKeys := fmt.Sprintf("web.%s.svc.%s ns=%s svc=web kind=svc port= proto= client=%s/client app=probe", autopathNS, zone, autopathNS, autopathNS)
	log := ours.LogTail(1 << 20)
	found := false
	for _, line := range strings.Split(log, "\n") {
		if strings.Contains(line, want) && strings.Contains(line, wantKeys) {
			found = true
			break
		}
	}
	if !found {
		t.Errorf("no log line with %q and %q", want, wantKeys)
	}
	unknown := fmt.Sprintf("META %s ", unknownIP)
	for _, line := range strings.Split(log, "\n") {
		if strings.Contains(line, unknown) && !strings.Contains(line, "client=-/- app=-") {
			t.Errorf("a query from an address no pod holds has client metadata: %s", line)
			break
		}
	}
}

func hasCNAME(m *dns.Msg) bool {
	for _, rr := range m.Answer {
		if rr.Header().Rrtype == dns.TypeCNAME {
			return true
		}
	}
	return false
}
