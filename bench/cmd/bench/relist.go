package main

import (
	"context"
	"fmt"
	"io"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/clusterdns/clusterdns/bench/internal/cluster"
	"github.com/clusterdns/clusterdns/test/controlplane"
	"github.com/miekg/dns"
)

// outage is how long the API server stays down: long enough for every watch to break.
const outage = 3 * time.Second

// relist is the memory of each server around an API server restart, which makes informers list
// everything again.
type relist struct {
	Steady map[string]uint64 // RSS just before the API server stops
	Peak   map[string]uint64 // highest RSS from then until the server is synced again
	Took   time.Duration     // from the stop until every server serves a change made after the restart
	// Relists counts the lists of services and endpointslices the restarted API server served,
	// to every client (the controller manager too): evidence of the re-list.
	Relists map[string]int
}

// measureRelist restarts the API server while sampling every server's RSS each 100 ms (and its
// kernel-kept peak, VmHWM, reset first), until each serves a service and endpoint created after
// the restart, plus a few seconds for the tail of the re-list.
func measureRelist(ctx context.Context, cp *controlplane.ControlPlane, client kubernetes.Interface, servers []*server, log io.Writer) (*relist, error) {
	r := &relist{Steady: map[string]uint64{}, Peak: map[string]uint64{}}
	for _, s := range servers {
		rss, _, err := procStatus(s.PID())
		if err != nil {
			return nil, err
		}
		if err := resetPeak(s.PID()); err != nil {
			return nil, err
		}
		r.Steady[s.name], r.Peak[s.name] = rss, rss
	}
	var mu sync.Mutex
	sample := func() {
		mu.Lock()
		defer mu.Unlock()
		for _, s := range servers {
			if rss, hwm, err := procStatus(s.PID()); err == nil {
				r.Peak[s.name] = max(r.Peak[s.name], rss, hwm)
			}
		}
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				sample()
			}
		}
	})
	took, err := restartAndWait(ctx, cp, client, servers, log)
	r.Took = took
	if err == nil {
		r.Relists, err = relists(ctx, client)
	}
	close(stop)
	wg.Wait()
	sample()
	if err != nil {
		return nil, err
	}
	return r, nil
}

// restartAndWait stops the API server for outage, starts it, makes a headless service with a
// ready endpoint and waits until every server answers it, then lets the re-list settle. It
// returns the time from the stop until the last server answered.
func restartAndWait(ctx context.Context, cp *controlplane.ControlPlane, client kubernetes.Interface, servers []*server, log io.Writer) (time.Duration, error) {
	// A write just before the stop puts the revision the restarted API server's watch cache starts
	// at past what every watcher has seen, so that no watch can resume: each must list again, as
	// after any outage with writes in it.
	trigger := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "relist-trigger", Namespace: metav1.NamespaceDefault}}
	if _, err := client.CoreV1().ConfigMaps(trigger.Namespace).Create(ctx, trigger, metav1.CreateOptions{}); err != nil {
		return 0, fmt.Errorf("create %s: %w", trigger.Name, err)
	}
	fmt.Fprintln(log, "relist: stopping kube-apiserver")
	stopped := time.Now()
	if err := cp.StopAPIServer(); err != nil {
		return 0, fmt.Errorf("stop kube-apiserver: %w", err)
	}
	time.Sleep(outage)
	if err := cp.StartAPIServer(ctx); err != nil {
		return 0, fmt.Errorf("start kube-apiserver: %w", err)
	}
	fmt.Fprintln(log, "relist: kube-apiserver back")
	const name = "relist-marker"
	ip := netip.MustParseAddr("10.251.0.1")
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: metav1.NamespaceDefault},
		Spec:       corev1.ServiceSpec{ClusterIP: corev1.ClusterIPNone, Ports: []corev1.ServicePort{{Name: "http", Port: 80}}},
	}
	if _, err := client.CoreV1().Services(svc.Namespace).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		return 0, fmt.Errorf("create %s: %w", name, err)
	}
	slice := &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: svc.Namespace, Labels: map[string]string{
			discoveryv1.LabelServiceName: name, discoveryv1.LabelManagedBy: cluster.ManagedBy,
		}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{ip.String()}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)}}},
	}
	if _, err := client.DiscoveryV1().EndpointSlices(svc.Namespace).Create(ctx, slice, metav1.CreateOptions{}); err != nil {
		return 0, fmt.Errorf("create endpointslice %s: %w", name, err)
	}
	wctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	for _, s := range servers {
		if _, err := waitAnswer(wctx, s.addr(), name+".default.svc."+zone, dns.TypeA, hasA(ip)); err != nil {
			return 0, fmt.Errorf("relist on %s: %w", s.name, err)
		}
		fmt.Fprintf(log, "relist: %s serves the marker\n", s.name)
	}
	took := time.Since(stopped)
	time.Sleep(5 * time.Second)
	return took, nil
}

// relistLine matches the API server's counters of lists, plain (LIST) or streamed (watch-list),
// of services and endpointslices.
var relistLine = regexp.MustCompile(`^(apiserver_request_total\{.*resource="(services|endpointslices)".*verb="LIST".*|apiserver_watch_list_duration_seconds_count\{.*resource="(services|endpointslices)".*)\} ([0-9]+)$`)

// relists counts the lists of services and of endpointslices the API server has served since it
// started, plain or streamed, by resource.
func relists(ctx context.Context, client kubernetes.Interface) (map[string]int, error) {
	body, err := client.CoreV1().RESTClient().Get().AbsPath("/metrics").DoRaw(ctx)
	if err != nil {
		return nil, fmt.Errorf("API server metrics: %w", err)
	}
	counts := map[string]int{}
	for line := range strings.Lines(string(body)) {
		if m := relistLine.FindStringSubmatch(strings.TrimSpace(line)); m != nil {
			n, _ := strconv.Atoi(m[4])
			counts[m[2]+m[3]] += n
		}
	}
	return counts, nil
}
