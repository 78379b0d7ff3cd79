package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
)

// churnEndpoints are the endpoints of the churned headless service, in two slices.
const churnEndpoints = 60

// TestFaultChurnUnderLoad flips the readiness of a headless service's endpoints, in two
// EndpointSlices, as fast as the API server takes the writes, for 10 s, while the service's name
// is asked in a loop over TCP: each slice's part of every answer must be a set of addresses that
// slice really had at some time (no half-applied change), no answer may be SERVFAIL, and the live
// heap must come back within 10% of where it was.
func TestFaultChurnUnderLoad(t *testing.T) {
	s := needLive(t)
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	o := s.corefileOptions()
	o.pprof = true
	c := s.startExtraCoreDNS(t, "churn", o)
	if err := c.waitReady(ctx); err != nil {
		t.Fatal(err)
	}
	const ns, name = "e2e-churn", "churn"
	if err := createNamespace(ctx, s.cp, ns); err != nil {
		t.Fatal(err)
	}
	client := fastClient(t, s.cp.RESTConfig)
	svc := service(ns, name, corev1.ServiceSpec{ClusterIP: corev1.ClusterIPNone, Ports: httpPort()})
	if _, err := client.CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	addr := func(i int) netip.Addr { return netip.AddrFrom4([4]byte{10, 246, 0, byte(i + 1)}) }
	ready := make([]bool, churnEndpoints)
	var slicesOf [2]*discoveryv1.EndpointSlice
	for half := range slicesOf {
		sl := &discoveryv1.EndpointSlice{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s-%d", name, half), Namespace: ns, Labels: map[string]string{
				discoveryv1.LabelServiceName: name, discoveryv1.LabelManagedBy: "e2e",
			}},
			AddressType: discoveryv1.AddressTypeIPv4,
			Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("http"), Port: ptr.To[int32](80)}},
		}
		for i := half; i < churnEndpoints; i += 2 {
			ready[i] = true
			sl.Endpoints = append(sl.Endpoints, discoveryv1.Endpoint{Addresses: []string{addr(i).String()},
				Hostname: ptr.To(fmt.Sprintf("%s-%d", name, i)), Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)}})
		}
		created, err := client.DiscoveryV1().EndpointSlices(ns).Create(ctx, sl, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		slicesOf[half] = created
	}
	// The states the API held: each slice's ready addresses after each of its writes. An answer is
	// right when each half of it is a state its slice had.
	var mu sync.Mutex
	states := [2]map[string]bool{{}, {}}
	record := func(half int) {
		var in []string
		for i := half; i < churnEndpoints; i += 2 {
			if ready[i] {
				in = append(in, addr(i).String())
			}
		}
		states[half][strings.Join(in, ",")] = true
	}
	record(0)
	record(1)
	qname := svcName(name, ns)
	if _, err := c.awaitAnswer(ctx, time.Now(), qname, dns.TypeA, expect{rcode: dns.RcodeSuccess, anyAnswer: true}, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	heapBefore := liveHeap(ctx, t, c)

	churnCtx, stopChurn := context.WithTimeout(ctx, 10*time.Second)
	defer stopChurn()
	var asked, wrong, servfail int
	var firstWrong []string
	probeDone := make(chan struct{})
	go func() {
		defer close(probeDone)
		for churnCtx.Err() == nil {
			r, err := c.exchange("tcp", qname, dns.TypeA)
			if err != nil {
				continue
			}
			var halves [2][]string
			for _, rr := range r.Answer {
				if a, ok := rr.(*dns.A); ok {
					ip := netip.AddrFrom4([4]byte(a.A.To4()))
					halves[int(ip.As4()[3]-1)%2] = append(halves[int(ip.As4()[3]-1)%2], ip.String())
				}
			}
			mu.Lock()
			asked++
			if r.Rcode == dns.RcodeServerFailure {
				servfail++
			}
			for h := range halves {
				slices.SortFunc(halves[h], func(a, b string) int { return netip.MustParseAddr(a).Compare(netip.MustParseAddr(b)) })
				if got := strings.Join(halves[h], ","); r.Rcode == dns.RcodeSuccess && !states[h][got] {
					wrong++
					if len(firstWrong) < 5 {
						firstWrong = append(firstWrong, fmt.Sprintf("slice %d: %s", h, got))
					}
				}
			}
			mu.Unlock()
		}
	}()
	rng := rand.New(rand.NewPCG(1, 2))
	writes := 0
	for churnCtx.Err() == nil {
		i := rng.IntN(churnEndpoints)
		half := i % 2
		sl := slicesOf[half]
		ep := &sl.Endpoints[i/2]
		mu.Lock()
		ready[i] = !ready[i]
		ep.Conditions.Ready = ptr.To(ready[i])
		record(half) // before the write: an answer may show it as soon as the API has it
		mu.Unlock()
		updated, err := client.DiscoveryV1().EndpointSlices(ns).Update(ctx, sl, metav1.UpdateOptions{})
		if err != nil {
			t.Fatalf("write %d: %v", writes, err)
		}
		slicesOf[half] = updated
		writes++
	}
	<-probeDone
	mu.Lock()
	defer mu.Unlock()
	t.Logf("%d EndpointSlice writes in 10 s (%d a second); %d answers, %d not a state the API held, %d SERVFAIL", writes, writes/10, asked, wrong, servfail)
	if wrong > 0 || servfail > 0 {
		t.Errorf("%d answers were not a state the API held (first: %v), %d SERVFAIL", wrong, firstWrong, servfail)
	}
	if asked == 0 {
		t.Error("no answer during the churn")
	}
	heapAfter := liveHeap(ctx, t, c)
	t.Logf("live heap %.2f MiB before the churn, %.2f MiB after", heapBefore/(1<<20), heapAfter/(1<<20))
	if heapAfter > 1.1*heapBefore {
		t.Errorf("live heap grew from %.2f to %.2f MiB over the churn", heapBefore/(1<<20), heapAfter/(1<<20))
	}
}

// fastClient is a client without client-go's default rate limit of 5 requests a second.
func fastClient(t *testing.T, rc *rest.Config) kubernetes.Interface {
	t.Helper()
	cfg := rest.CopyConfig(rc)
	cfg.QPS, cfg.Burst = 2000, 2000
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return client
}

// liveHeap forces a GC in c (pprof's heap profile with gc=1) and returns the heap's live bytes.
func liveHeap(ctx context.Context, t *testing.T, c *coreDNS) float64 {
	t.Helper()
	if _, _, err := httpGet(ctx, c.pprofURL+"/heap?gc=1"); err != nil {
		t.Fatal(err)
	}
	v, ok := metricValue(ctx, c, "go_memstats_heap_alloc_bytes")
	if !ok {
		t.Fatal("no go_memstats_heap_alloc_bytes")
	}
	return v
}
