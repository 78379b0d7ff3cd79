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

const churnNS = "bench-churn"

// churnSizes are the ready endpoints of the headless services churned: the cost of a change must
// not grow with the size of its service.
var churnSizes = []int{300, 3000, 10000}

// churnChanges is how many EndpointSlice writes each size gets: endpoints going unready and back,
// one at a time, as in a rolling update.
const churnChanges = 300

// churnLoadSize is the size of the service churned while dnsperf runs, and churnLoadRate how
// many EndpointSlice writes a second it gets meanwhile.
const (
	churnLoadSize = 3000
	churnLoadRate = 100
)

// churnTimed is how many of the writes at churnLoadRate are timed for the DNS programming latency
// during churn.
const churnTimed = 200

// churn is the CPU each server spends per EndpointSlice change, by the size of the service, each
// server's QPS while a service of churnLoadSize endpoints changes, over its QPS without, and the
// programming latency of each of churnTimed changes to that service at churnLoadRate.
type churn struct {
	Sizes       []churnSize
	QPSKept     map[string]float64
	Programming *programming
}

type churnSize struct {
	Endpoints int
	Took      time.Duration            // from the first write until both servers answer the last
	PerChange map[string]time.Duration // CPU per change, by server
}

// measureChurn creates, for each size, a headless service of that many ready endpoints (slices of
// 100 with StatefulSet hostnames and a named port, as the EndpointSlice controller writes them),
// waits until both servers answer it, then writes churnChanges changes as fast as the API server
// takes them and measures the CPU each server used until it answers the last one.
func measureChurn(ctx context.Context, client kubernetes.Interface, servers []*server, queries string, d time.Duration, log io.Writer) (*churn, error) {
	if _, err := client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: churnNS}}, metav1.CreateOptions{}); err != nil {
		return nil, fmt.Errorf("create namespace %s: %w", churnNS, err)
	}
	out := &churn{QPSKept: map[string]float64{}}
	for si, size := range churnSizes {
		r, err := churnOne(ctx, client, servers, si, size, func(flip flipFunc) error {
			if size != churnLoadSize {
				return nil
			}
			if err := qpsUnderChurn(ctx, servers, queries, d, flip, out.QPSKept, log); err != nil {
				return err
			}
			p, err := programmingUnderChurn(ctx, servers, flip, log)
			out.Programming = p
			return err
		})
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(log, "churn: %d endpoints, %d changes in %s; CPU per change %v\n", size, churnChanges, r.Took.Round(time.Millisecond), r.PerChange)
		out.Sizes = append(out.Sizes, r)
	}
	return out, nil
}

// flipFunc makes the c-th change and returns the name it changes and the test of an answer that
// shows it.
type flipFunc func(ctx context.Context, c int) (string, func(*dns.Msg) bool, error)

// churnOne measures one size; loaded, given a function that makes the c-th change, measures
// anything else that needs the service before it is deleted.
func churnOne(ctx context.Context, client kubernetes.Interface, servers []*server, si, size int, loaded func(flip flipFunc) error) (churnSize, error) {
	name := fmt.Sprintf("churn-%d", size)
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: churnNS},
		Spec:       corev1.ServiceSpec{ClusterIP: corev1.ClusterIPNone, Ports: []corev1.ServicePort{{Name: "web", Port: 80}}},
	}
	if _, err := client.CoreV1().Services(churnNS).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		return churnSize{}, fmt.Errorf("create service %s: %w", name, err)
	}
	addr := func(i int) netip.Addr { return netip.AddrFrom4([4]byte{10, byte(200 + si), byte(i >> 8), byte(i)}) }
	hostname := func(i int) string { return fmt.Sprintf("%s-%d", name, i) }
	var slices []*discoveryv1.EndpointSlice
	for first := 0; first < size; first += 100 {
		sl := &discoveryv1.EndpointSlice{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s-%03d", name, first/100), Namespace: churnNS, Labels: map[string]string{
				discoveryv1.LabelServiceName: name, discoveryv1.LabelManagedBy: cluster.ManagedBy,
			}},
			AddressType: discoveryv1.AddressTypeIPv4,
			Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("web"), Port: ptr.To[int32](80)}},
		}
		for i := first; i < min(first+100, size); i++ {
			sl.Endpoints = append(sl.Endpoints, discoveryv1.Endpoint{
				Addresses: []string{addr(i).String()}, Hostname: ptr.To(hostname(i)),
				Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)},
			})
		}
		created, err := client.DiscoveryV1().EndpointSlices(churnNS).Create(ctx, sl, metav1.CreateOptions{})
		if err != nil {
			return churnSize{}, fmt.Errorf("create endpointslice %s: %w", sl.Name, err)
		}
		slices = append(slices, created)
	}
	fqdn := func(i int) string { return hostname(i) + "." + name + "." + churnNS + ".svc." + zone }
	if err := waitAll(ctx, servers, fqdn(size-1), hasA(addr(size-1))); err != nil {
		return churnSize{}, err
	}

	before := map[string]time.Duration{}
	for _, s := range servers {
		cpu, err := cpuTime(s.PID())
		if err != nil {
			return churnSize{}, err
		}
		before[s.name] = cpu
	}
	start := time.Now()
	// Change c flips endpoint c/len(slices) of slice c%len(slices): unready on the first pass over
	// the endpoints, ready again on the second.
	flip := func(ctx context.Context, c int) (string, func(*dns.Msg) bool, error) {
		j := c % len(slices)
		k := (c / len(slices)) % len(slices[j].Endpoints)
		ep := &slices[j].Endpoints[k]
		ep.Conditions.Ready = ptr.To(!*ep.Conditions.Ready)
		ready := *ep.Conditions.Ready
		updated, err := client.DiscoveryV1().EndpointSlices(churnNS).Update(ctx, slices[j], metav1.UpdateOptions{})
		if err != nil {
			return "", nil, fmt.Errorf("update endpointslice %s: %w", slices[j].Name, err)
		}
		slices[j] = updated
		i := j*100 + k
		return fqdn(i), func(m *dns.Msg) bool { return hasA(addr(i))(m) == ready }, nil
	}
	var last string
	var shows func(*dns.Msg) bool
	for c := range churnChanges {
		var err error
		if last, shows, err = flip(ctx, c); err != nil {
			return churnSize{}, err
		}
	}
	if err := waitAll(ctx, servers, last, shows); err != nil {
		return churnSize{}, err
	}
	r := churnSize{Endpoints: size, Took: time.Since(start), PerChange: map[string]time.Duration{}}
	for _, s := range servers {
		cpu, err := cpuTime(s.PID())
		if err != nil {
			return churnSize{}, err
		}
		r.PerChange[s.name] = (cpu - before[s.name]) / churnChanges
	}
	if err := loaded(func(ctx context.Context, c int) (string, func(*dns.Msg) bool, error) {
		return flip(ctx, churnChanges+c)
	}); err != nil {
		return churnSize{}, err
	}
	// Gone before the next size, which then measures its own service only.
	if err := client.CoreV1().Services(churnNS).Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
		return churnSize{}, fmt.Errorf("delete service %s: %w", name, err)
	}
	for _, sl := range slices {
		if err := client.DiscoveryV1().EndpointSlices(churnNS).Delete(ctx, sl.Name, metav1.DeleteOptions{}); err != nil {
			return churnSize{}, fmt.Errorf("delete endpointslice %s: %w", sl.Name, err)
		}
	}
	return r, nil
}

// waitAll waits until every server's answer for name is accepted by ok.
func waitAll(ctx context.Context, servers []*server, name string, ok func(*dns.Msg) bool) error {
	ctx, cancel := context.WithTimeout(ctx, changeTimeout)
	defer cancel()
	for _, s := range servers {
		if _, err := waitAnswer(ctx, s.addr(), name, dns.TypeA, ok); err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
	}
	return nil
}

// qpsUnderChurn runs dnsperf at full speed against each server twice, without changes and while
// flip changes the churned service churnLoadRate times a second, and keeps the second QPS over
// the first by server.
func qpsUnderChurn(ctx context.Context, servers []*server, queries string, d time.Duration, flip flipFunc, kept map[string]float64, log io.Writer) error {
	changes := 0
	for _, s := range servers {
		quiet, err := runDNSPerf(ctx, s.port, queries, d, 0)
		if err != nil {
			return fmt.Errorf("%s without churn: %w", s.name, err)
		}
		// Stopped between writes, never during one: a write cut short may still land, and the
		// next would then be refused for an old resourceVersion.
		stop, writes := make(chan struct{}), make(chan error, 1)
		go func() {
			tick := time.NewTicker(time.Second / churnLoadRate)
			defer tick.Stop()
			for {
				select {
				case <-stop:
					writes <- nil
					return
				case <-tick.C:
				}
				if _, _, err := flip(ctx, changes); err != nil {
					writes <- err
					return
				}
				changes++
			}
		}()
		busy, err := runDNSPerf(ctx, s.port, queries, d, 0)
		close(stop)
		if werr := <-writes; werr != nil {
			return werr
		}
		if err != nil {
			return fmt.Errorf("%s under churn: %w", s.name, err)
		}
		kept[s.name] = busy.QPS / quiet.QPS
		fmt.Fprintf(log, "churn: %s %.0f qps without changes, %.0f with %d writes a second (%.2fx)\n", s.name, quiet.QPS, busy.QPS, churnLoadRate, kept[s.name])
	}
	return nil
}

// programmingUnderChurn makes churnTimed changes at churnLoadRate a second, without waiting for
// any to show, and times each on every server as measureProgramming does: from just before the
// write to the first answer that shows it, every server polled every pollEvery. Each flips another
// endpoint (churnTimed is below the service's size), so that no two timed changes wait on one
// name; offset only moves them away from the endpoints qpsUnderChurn flipped last.
func programmingUnderChurn(ctx context.Context, servers []*server, flip flipFunc, log io.Writer) (*programming, error) {
	const offset = 1 << 20
	p := &programming{Changes: make([]timedChange, churnTimed)}
	var mu sync.Mutex
	var wg sync.WaitGroup
	tick := time.NewTicker(time.Second / churnLoadRate)
	defer tick.Stop()
	cctx, cancel := context.WithTimeout(ctx, changeTimeout+churnTimed*time.Second/churnLoadRate)
	defer cancel()
	var err error
	for c := range churnTimed {
		<-tick.C
		t0 := time.Now()
		name, shows, ferr := flip(cctx, offset+c)
		if ferr != nil {
			err = ferr
			break
		}
		p.Changes[c] = timedChange{Kind: "EndpointSlice under churn", Latency: map[string]time.Duration{}}
		for _, s := range servers {
			wg.Go(func() {
				at, err := waitAnswer(cctx, s.addr(), name, dns.TypeA, shows)
				if err != nil {
					return // counted as missed
				}
				mu.Lock()
				defer mu.Unlock()
				p.Changes[c].Latency[s.name] = at.Sub(t0)
			})
		}
	}
	wg.Wait()
	if err != nil {
		return nil, err
	}
	for _, s := range servers {
		fmt.Fprintf(log, "churn: programming latency p50 / p99 of %s at %d writes a second: %s, %d missed\n", s.name, churnLoadRate, pq(p.latencies(s.name, "")), p.missed(s.name))
	}
	return p, nil
}
