package e2e

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
)

// largeEndpoints is the size of the headless service of the large-answers test: 10 EndpointSlices
// of 1,000 (the API's limit per slice), written by the test for a selector-less service.
const largeEndpoints = 10000

func largeIP(i int) netip.Addr {
	return netip.AddrFrom4([4]byte{10, 247, byte(i / 256), byte(i % 256)})
}

// exchangeSized sends qname A over UDP with an EDNS buffer of size bytes (none when 0), and reads
// the answer into a 64 KiB buffer, so that its real size on the wire is seen.
func exchangeSized(addr, qname string, size uint16) (*dns.Msg, int, error) {
	m := new(dns.Msg).SetQuestion(qname, dns.TypeA)
	if size > 0 {
		m.SetEdns0(size, false)
	}
	q, err := m.Pack()
	if err != nil {
		return nil, 0, err
	}
	conn, err := net.Dial("udp", addr)
	if err != nil {
		return nil, 0, err
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(queryTimeout)); err != nil {
		return nil, 0, err
	}
	if _, err := conn.Write(q); err != nil {
		return nil, 0, err
	}
	buf := make([]byte, dns.MaxMsgSize)
	n, err := conn.Read(buf)
	if err != nil {
		return nil, 0, fmt.Errorf("%s A over udp, buffer %d: %w", qname, size, err)
	}
	r := new(dns.Msg)
	if err := r.Unpack(buf[:n]); err != nil {
		return nil, n, fmt.Errorf("unpack a %d-byte answer: %w", n, err)
	}
	if r.Id != m.Id {
		return nil, n, fmt.Errorf("answer ID %d, query ID %d", r.Id, m.Id)
	}
	return r, n, nil
}

// createLarge creates the selector-less headless service and its slices, and an ExternalName
// service aliasing it (a CNAME in front of the address set).
func createLarge(ctx context.Context, t *testing.T, s *suite, ns, name string) {
	t.Helper()
	if err := createNamespace(ctx, s.cp, ns); err != nil {
		t.Fatal(err)
	}
	client := fastClient(t, s.cp.RESTConfig)
	t.Cleanup(func() { deleteLarge(t, s, client, ns, name) })
	for _, svc := range []*corev1.Service{
		service(ns, name, corev1.ServiceSpec{ClusterIP: corev1.ClusterIPNone, Ports: httpPort()}),
		service(ns, name+"-alias", externalNameSpec(svcName(name, ns))),
	} {
		if _, err := client.CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	for part := range largeEndpoints / 1000 {
		sl := &discoveryv1.EndpointSlice{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s-%d", name, part), Namespace: ns, Labels: map[string]string{
				discoveryv1.LabelServiceName: name, discoveryv1.LabelManagedBy: "e2e",
			}},
			AddressType: discoveryv1.AddressTypeIPv4,
			Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("http"), Port: ptr.To[int32](80)}},
		}
		for i := part * 1000; i < (part+1)*1000; i++ {
			sl.Endpoints = append(sl.Endpoints, discoveryv1.Endpoint{Addresses: []string{largeIP(i).String()},
				Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)}})
		}
		if _, err := client.DiscoveryV1().EndpointSlices(ns).Create(ctx, sl, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
}

// deleteLarge takes the large service away again and waits until the suite's CoreDNS no longer
// answers it, so that the tests after this one (transfers, reloads) see the shared scenario alone.
func deleteLarge(t *testing.T, s *suite, client kubernetes.Interface, ns, name string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, svc := range []string{name, name + "-alias"} {
		if err := client.CoreV1().Services(ns).Delete(ctx, svc, metav1.DeleteOptions{}); err != nil {
			t.Errorf("delete service %s/%s: %v", ns, svc, err)
		}
	}
	if err := client.DiscoveryV1().EndpointSlices(ns).DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{}); err != nil {
		t.Errorf("delete the slices of %s/%s: %v", ns, name, err)
	}
	for {
		r, err := s.main.exchange("udp", svcName(name, ns), dns.TypeA)
		if err == nil && r.Rcode == dns.RcodeNameError {
			return
		}
		select {
		case <-ctx.Done():
			t.Errorf("%s still answered a minute after its deletion", svcName(name, ns))
			return
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// TestLargeAnswers asks a 10,000-endpoint headless service over UDP (no EDNS, EDNS 1232, EDNS
// 4096) and TCP, of clusterdns by default, of clusterdns with udp_fit and of the kubernetes plugin
// in the same binary (rule 16; README "Large answers").
func TestLargeAnswers(t *testing.T) {
	s := needLive(t)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Minute)
	defer cancel()
	const ns, name = "e2e-large", "large"
	o := s.corefileOptions()
	plain := s.startExtraCoreDNS(t, "large", o)
	ref := s.reference(t, "large-ref", o)
	fo := o
	fo.stanza = []string{"udp_fit"}
	fitted := s.startExtraCoreDNS(t, "large-fit", fo)
	for _, c := range []*coreDNS{plain, ref, fitted} {
		if err := c.waitReady(ctx); err != nil {
			t.Fatal(err)
		}
	}
	createLarge(ctx, t, s, ns, name)
	qname, alias := svcName(name, ns), svcName(name+"-alias", ns)
	member := map[string]bool{}
	for i := range largeEndpoints {
		member[largeIP(i).String()] = true
	}
	// addresses returns the answer's A records, failing on any that is not an endpoint.
	addresses := func(t *testing.T, r *dns.Msg) []string {
		var out []string
		for _, rr := range r.Answer {
			if a, ok := rr.(*dns.A); ok {
				if !member[a.A.String()] {
					t.Errorf("%s is not an endpoint", rr)
				}
				out = append(out, a.A.String())
			}
		}
		return out
	}

	// The udp_fit instance has every endpoint once its windows, over repeated queries, cover all
	// 10,000: that is the rotation test, and the wait for the data.
	t.Run("udp_fit: repeated UDP queries reach every endpoint, whole records, no TC", func(t *testing.T) {
		for _, size := range []uint16{0, 1232, 4096} {
			seen := map[string]bool{}
			queries := 0
			for len(seen) < largeEndpoints && ctx.Err() == nil {
				r, n, err := exchangeSized(fitted.addr, qname, size)
				queries++
				if err != nil {
					t.Fatal(err)
				}
				if r.Rcode == dns.RcodeNameError && len(seen) > 0 {
					t.Fatalf("NXDOMAIN for %s after it answered", qname)
				}
				if r.Rcode != dns.RcodeSuccess {
					time.Sleep(50 * time.Millisecond) // the service is not there yet
					continue
				}
				limit := max(int(size), dns.MinMsgSize)
				if r.Truncated || n > limit {
					t.Fatalf("buffer %d: TC %v, %d bytes (at most %d): want whole records without TC", size, r.Truncated, n, limit)
				}
				for _, a := range addresses(t, r) {
					seen[a] = true
				}
			}
			if len(seen) < largeEndpoints {
				t.Fatalf("buffer %d: %d of %d endpoints after %d queries", size, len(seen), largeEndpoints, queries)
			}
			t.Logf("buffer %d: every endpoint served within %d queries", size, queries)
		}
	})
	t.Run("udp_fit: the ExternalName's CNAME is kept, addresses thinned", func(t *testing.T) {
		r, n, err := exchangeSized(fitted.addr, alias, 0)
		if err != nil {
			t.Fatal(err)
		}
		if r.Rcode != dns.RcodeSuccess || r.Truncated || n > dns.MinMsgSize {
			t.Fatalf("rcode %s, TC %v, %d bytes: want NOERROR, no TC, at most 512", rcodeName(r.Rcode), r.Truncated, n)
		}
		if c, ok := r.Answer[0].(*dns.CNAME); !ok || c.Target != qname || len(addresses(t, r)) == 0 {
			t.Fatalf("want the CNAME to %s then addresses:\n%s", qname, r)
		}
	})

	// By default, and for the kubernetes plugin: TC over UDP within the buffer, as much as a
	// message holds over TCP (10,000 records are 160 KB; a message at most 64 KiB), never NXDOMAIN.
	for _, c := range []*coreDNS{plain, ref, fitted} {
		t.Run(c.name+": TC when the answer does not fit, NOERROR", func(t *testing.T) {
			for _, size := range []uint16{0, 1232, 4096} {
				r, n, err := exchangeSized(c.addr, qname, size)
				if err != nil {
					t.Fatal(err)
				}
				limit := max(int(size), dns.MinMsgSize)
				if c == fitted {
					continue // above
				}
				if r.Rcode != dns.RcodeSuccess || !r.Truncated || n > limit {
					t.Errorf("buffer %d: rcode %s, TC %v, %d bytes: want NOERROR, TC, at most %d", size, rcodeName(r.Rcode), r.Truncated, n, limit)
				}
				t.Logf("UDP buffer %d: %d addresses, %d bytes, TC %v", size, len(addresses(t, r)), n, r.Truncated)
			}
			r := c.ask(t, "tcp", qname, dns.TypeA)
			got := addresses(t, r)
			if r.Rcode != dns.RcodeSuccess || len(got) < 4000 {
				t.Errorf("TCP: rcode %s, %d addresses: want NOERROR and a full message", rcodeName(r.Rcode), len(got))
			}
			t.Logf("TCP: %d addresses, TC %v", len(got), r.Truncated)
			r, _, err := exchangeSized(c.addr, alias, 0)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("ExternalName over UDP without EDNS: rcode %s, TC %v, %d records, first %v", rcodeName(r.Rcode), r.Truncated, len(r.Answer), firstRR(r))
			if r.Rcode != dns.RcodeSuccess {
				t.Errorf("ExternalName over UDP: rcode %s, want NOERROR", rcodeName(r.Rcode))
			}
		})
	}
	t.Run("clusterdns and the kubernetes plugin: same rcode, TC and record count", func(t *testing.T) {
		for _, size := range []uint16{0, 1232, 4096} {
			a, _, errA := exchangeSized(plain.addr, qname, size)
			b, _, errB := exchangeSized(ref.addr, qname, size)
			if errA != nil || errB != nil {
				t.Fatal(errA, errB)
			}
			if a.Rcode != b.Rcode || a.Truncated != b.Truncated || len(a.Answer) != len(b.Answer) {
				t.Errorf("buffer %d: clusterdns %s TC %v %d records, kubernetes plugin %s TC %v %d records", size,
					rcodeName(a.Rcode), a.Truncated, len(a.Answer), rcodeName(b.Rcode), b.Truncated, len(b.Answer))
			}
		}
		a, b := plain.ask(t, "tcp", qname, dns.TypeA), ref.ask(t, "tcp", qname, dns.TypeA)
		if a.Rcode != b.Rcode || a.Truncated != b.Truncated || len(a.Answer) != len(b.Answer) {
			t.Errorf("TCP: clusterdns %s TC %v %d records, kubernetes plugin %s TC %v %d records",
				rcodeName(a.Rcode), a.Truncated, len(a.Answer), rcodeName(b.Rcode), b.Truncated, len(b.Answer))
		}
	})
}

func firstRR(r *dns.Msg) dns.RR {
	if len(r.Answer) == 0 {
		return nil
	}
	return r.Answer[0]
}
