package main

import (
	"context"
	"fmt"
	"io"
	"net/netip"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/clusterdns/clusterdns/bench/internal/cluster"
	"github.com/miekg/dns"
)

const changesNS = "bench-changes"

// changeTimeout bounds how long one change may take to show on a server.
const changeTimeout = 30 * time.Second

// The kinds of change timed, in the order each round makes them.
var changeKinds = []string{"new service", "endpoint ready", "ExternalName target"}

// programming is the DNS programming latency: from the API write to the changed answer.
type programming struct {
	Changes []timedChange
}

// timedChange is one change and how long each server took to answer it; a server missing from
// Latency did not within changeTimeout.
type timedChange struct {
	Kind    string
	Latency map[string]time.Duration
}

// latencies of a server for changes of kind, or of every kind when kind is "".
func (p *programming) latencies(server, kind string) []time.Duration {
	var out []time.Duration
	for _, c := range p.Changes {
		if d, ok := c.Latency[server]; ok && (kind == "" || c.Kind == kind) {
			out = append(out, d)
		}
	}
	return out
}

// missed counts the changes a server did not answer within changeTimeout.
func (p *programming) missed(server string) int {
	n := 0
	for _, c := range p.Changes {
		if _, ok := c.Latency[server]; !ok {
			n++
		}
	}
	return n
}

// differences is, change by change, a's latency minus b's, for changes both answered: both were
// polled at the same time, so this cancels what the API server and the watch add to both.
func (p *programming) differences(a, b string) []time.Duration {
	var out []time.Duration
	for _, c := range p.Changes {
		da, okA := c.Latency[a]
		db, okB := c.Latency[b]
		if okA && okB {
			out = append(out, da-db)
		}
	}
	return out
}

// change is one API write and the answer that shows it.
type change struct {
	kind  string
	name  string
	qtype uint16
	ok    func(*dns.Msg) bool
	write func(context.Context) error
}

// measureProgramming makes n changes of each kind, one at a time, and times each on every server.
func measureProgramming(ctx context.Context, client kubernetes.Interface, servers []*server, n int, log io.Writer) (*programming, error) {
	changes, err := prepareChanges(ctx, client, servers, n)
	if err != nil {
		return nil, err
	}
	p := &programming{}
	for _, c := range changes {
		timed := timedChange{Kind: c.kind, Latency: map[string]time.Duration{}}
		var wg sync.WaitGroup
		var mu sync.Mutex
		t0 := time.Now()
		cctx, cancel := context.WithTimeout(ctx, changeTimeout)
		for _, s := range servers {
			wg.Go(func() {
				at, err := waitAnswer(cctx, s.addr(), c.name, c.qtype, c.ok)
				if err != nil {
					fmt.Fprintf(log, "programming: %s: %v\n", s.name, err)
					return
				}
				mu.Lock()
				defer mu.Unlock()
				timed.Latency[s.name] = at.Sub(t0)
			})
		}
		err := c.write(cctx)
		wg.Wait()
		cancel()
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", c.kind, c.name, err)
		}
		p.Changes = append(p.Changes, timed)
		time.Sleep(20 * time.Millisecond)
	}
	return p, nil
}

// prepareChanges creates what the changes modify, waits until every server serves it, and returns
// the changes, kinds interleaved.
func prepareChanges(ctx context.Context, client kubernetes.Interface, servers []*server, n int) ([]change, error) {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: changesNS}}
	if _, err := client.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
		return nil, fmt.Errorf("create namespace %s: %w", changesNS, err)
	}
	var changes []change
	var lastExt change
	for k := range n {
		fresh := newServiceChange(client, k)
		ready, err := endpointReadyChange(ctx, client, k)
		if err != nil {
			return nil, err
		}
		ext, err := externalNameChange(ctx, client, k)
		if err != nil {
			return nil, err
		}
		changes = append(changes, fresh, ready, ext)
		lastExt = ext
	}
	// The last object created is served everywhere once its old target is.
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for _, s := range servers {
		if _, err := waitAnswer(wctx, s.addr(), lastExt.name, dns.TypeCNAME, hasCNAME(oldTarget(n-1))); err != nil {
			return nil, fmt.Errorf("prepare changes on %s: %w", s.name, err)
		}
	}
	return changes, nil
}

func oldTarget(k int) string { return fmt.Sprintf("old-%d.example.org", k) }
func newTarget(k int) string { return fmt.Sprintf("new-%d.example.org", k) }

func fqdn(name string) string { return fmt.Sprintf("%s.%s.svc.%s", name, changesNS, zone) }

// newServiceChange creates a ClusterIP service; its A record shows it.
func newServiceChange(client kubernetes.Interface, k int) change {
	name := fmt.Sprintf("new-%d", k)
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: changesNS},
		Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: 80}}},
	}
	return change{kind: changeKinds[0], name: fqdn(name), qtype: dns.TypeA, ok: hasA(netip.Addr{}),
		write: func(ctx context.Context) error {
			_, err := client.CoreV1().Services(changesNS).Create(ctx, svc, metav1.CreateOptions{})
			return err
		}}
}

// endpointReadyChange creates a headless service with one endpoint not ready; the change makes it
// ready, and the service's A record then holds it.
func endpointReadyChange(ctx context.Context, client kubernetes.Interface, k int) (change, error) {
	name := fmt.Sprintf("ready-%d", k)
	ip := netip.AddrFrom4([4]byte{10, 250, byte(k >> 8), byte(k)})
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: changesNS},
		Spec:       corev1.ServiceSpec{ClusterIP: corev1.ClusterIPNone, Ports: []corev1.ServicePort{{Name: "http", Port: 80}}},
	}
	if _, err := client.CoreV1().Services(changesNS).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		return change{}, fmt.Errorf("create service %s: %w", name, err)
	}
	slice := &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: changesNS, Labels: map[string]string{
			discoveryv1.LabelServiceName: name, discoveryv1.LabelManagedBy: cluster.ManagedBy,
		}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints: []discoveryv1.Endpoint{{
			Addresses:  []string{ip.String()},
			Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(false)},
		}},
		Ports: []discoveryv1.EndpointPort{{Name: ptr.To("http"), Port: ptr.To[int32](80)}},
	}
	created, err := client.DiscoveryV1().EndpointSlices(changesNS).Create(ctx, slice, metav1.CreateOptions{})
	if err != nil {
		return change{}, fmt.Errorf("create endpointslice %s: %w", name, err)
	}
	return change{kind: changeKinds[1], name: fqdn(name), qtype: dns.TypeA, ok: hasA(ip),
		write: func(ctx context.Context) error {
			created.Endpoints[0].Conditions.Ready = ptr.To(true)
			_, err := client.DiscoveryV1().EndpointSlices(changesNS).Update(ctx, created, metav1.UpdateOptions{})
			return err
		}}, nil
}

// externalNameChange creates an ExternalName service; the change points it elsewhere, and its
// CNAME record then names the new target.
func externalNameChange(ctx context.Context, client kubernetes.Interface, k int) (change, error) {
	name := fmt.Sprintf("ext-%d", k)
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: changesNS},
		Spec:       corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: oldTarget(k)},
	}
	created, err := client.CoreV1().Services(changesNS).Create(ctx, svc, metav1.CreateOptions{})
	if err != nil {
		return change{}, fmt.Errorf("create service %s: %w", name, err)
	}
	return change{kind: changeKinds[2], name: fqdn(name), qtype: dns.TypeCNAME, ok: hasCNAME(newTarget(k)),
		write: func(ctx context.Context) error {
			created.Spec.ExternalName = newTarget(k)
			_, err := client.CoreV1().Services(changesNS).Update(ctx, created, metav1.UpdateOptions{})
			return err
		}}, nil
}
