package main

import (
	"context"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/clusterdns/clusterdns/bench/internal/cluster"
)

const apiCostNS = "bench-apicost"

// apiCostRate is how many EndpointSlice writes a second the churn window makes, for apiCostWindow.
const (
	apiCostRate   = 50
	apiCostWindow = 4 * time.Second
)

// watchedResources are what either plugin lists and watches (pods only when verified): the API
// server's counters are summed over these, so that the controller manager's other watches and
// the API server's own traffic stay out.
var watchedResources = []string{"services", "endpointslices", "namespaces", "pods"}

// apiCost is what one more replica of each plugin costs the API server, from its own metrics: the
// initial list, and the watch events sent while EndpointSlices change. Measured with no other DNS
// server running; Background is what the same churn sends the controller manager's watches, taken
// off each replica's figure.
type apiCost struct {
	Background replicaCost // the churn window without a replica
	Replica    map[string]replicaCost
}

// replicaCost is one replica's share of the API server's counters.
type replicaCost struct {
	Lists, Watches   float64 // LIST requests served, watches open once ready
	Objects, Bytes   float64 // sent until ready: streamed list events plus LIST items, and their bytes
	Events, EventsKB float64 // watch events and KiB a second under churn
}

// measureAPICost starts one more replica of each plugin alone (nothing else watching but the
// control plane's own controllers), reads the API server's counters before its start and once it
// is ready, then runs apiCostWindow of EndpointSlice writes at apiCostRate and reads them again.
func measureAPICost(ctx context.Context, client kubernetes.Interface, bin, dir, kubeconfig string, log io.Writer) (*apiCost, error) {
	flip, err := apiCostChurn(ctx, client)
	if err != nil {
		return nil, err
	}
	writes := 0
	window := func() (apiMetrics, apiMetrics, error) {
		before, err := scrapeAPI(ctx, client)
		if err != nil {
			return nil, nil, err
		}
		tick := time.NewTicker(time.Second / apiCostRate)
		defer tick.Stop()
		for range int(apiCostWindow.Seconds() * apiCostRate) {
			<-tick.C
			if err := flip(ctx, writes); err != nil {
				return nil, nil, err
			}
			writes++
		}
		time.Sleep(time.Second) // the last events reach the watchers
		after, err := scrapeAPI(ctx, client)
		return before, after, err
	}
	// Per second of writes: the second after them only lets the last events arrive.
	perSecond := apiCostWindow.Seconds()
	churned := func(before, after apiMetrics) replicaCost {
		return replicaCost{
			Events:   after.since(before, "apiserver_watch_events_total", watchedResources) / perSecond,
			EventsKB: after.since(before, "apiserver_watch_events_sizes_sum", watchedResources) / 1024 / perSecond,
		}
	}
	before, after, err := window()
	if err != nil {
		return nil, err
	}
	out := &apiCost{Background: churned(before, after), Replica: map[string]replicaCost{}}
	fmt.Fprintf(log, "apicost: background under churn %.1f events/s, %.1f KiB/s\n", out.Background.Events, out.Background.EventsKB)
	for _, name := range []string{ours, kubernetesPlugin} {
		before, err := scrapeAPI(ctx, client)
		if err != nil {
			return nil, err
		}
		s, err := startWith(bin, dir, "replica-"+name, func(dnsPort int, ports [4]int) string {
			return corefile(name, kubeconfig, podsInsecure, dnsPort, ports[0], ports[1], ports[2])
		})
		if err != nil {
			return nil, err
		}
		c, err := replicaStart(ctx, client, s, before)
		if err == nil {
			var b, a apiMetrics
			if b, a, err = window(); err == nil {
				ch := churned(b, a)
				c.Events, c.EventsKB = ch.Events-out.Background.Events, ch.EventsKB-out.Background.EventsKB
			}
		}
		s.stop()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		fmt.Fprintf(log, "apicost: %s: %.0f lists, %.0f watches, %.0f objects, %.1f MiB until ready; under churn %.1f events/s, %.1f KiB/s\n",
			name, c.Lists, c.Watches, c.Objects, c.Bytes/(1<<20), c.Events, c.EventsKB)
		out.Replica[name] = c
	}
	return out, nil
}

// replicaStart waits until s is ready and reads what its start cost the API server since before.
func replicaStart(ctx context.Context, client kubernetes.Interface, s *server, before apiMetrics) (replicaCost, error) {
	if _, err := s.waitReady(ctx, 10*time.Minute); err != nil {
		return replicaCost{}, err
	}
	time.Sleep(time.Second) // the tail of the lists and the counters' last updates
	after, err := scrapeAPI(ctx, client)
	if err != nil {
		return replicaCost{}, err
	}
	w := watchedResources
	return replicaCost{
		Lists:   after.since(before, "apiserver_request_total", w, `verb="LIST"`),
		Watches: after.since(before, "apiserver_longrunning_requests", w, `verb="WATCH"`),
		Objects: after.since(before, "apiserver_watch_events_total", w) +
			after.since(before, "apiserver_storage_list_returned_objects_total", w),
		Bytes: after.since(before, "apiserver_watch_events_sizes_sum", w) +
			after.since(before, "apiserver_response_sizes_sum", w, `verb="LIST"`),
	}, nil
}

// apiCostChurn creates a headless service with one EndpointSlice of 100 ready endpoints and
// returns a function whose c-th call flips the readiness of endpoint c%100.
func apiCostChurn(ctx context.Context, client kubernetes.Interface) (func(context.Context, int) error, error) {
	if _, err := client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: apiCostNS}}, metav1.CreateOptions{}); err != nil {
		return nil, fmt.Errorf("create namespace %s: %w", apiCostNS, err)
	}
	const name = "apicost"
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: apiCostNS},
		Spec:       corev1.ServiceSpec{ClusterIP: corev1.ClusterIPNone, Ports: []corev1.ServicePort{{Name: "web", Port: 80}}},
	}
	if _, err := client.CoreV1().Services(apiCostNS).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		return nil, fmt.Errorf("create service %s: %w", name, err)
	}
	sl := &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: apiCostNS, Labels: map[string]string{
			discoveryv1.LabelServiceName: name, discoveryv1.LabelManagedBy: cluster.ManagedBy,
		}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("web"), Port: ptr.To[int32](80)}},
	}
	for i := range 100 {
		sl.Endpoints = append(sl.Endpoints, discoveryv1.Endpoint{
			Addresses:  []string{netip.AddrFrom4([4]byte{10, 199, 0, byte(i)}).String()},
			Hostname:   ptr.To(fmt.Sprintf("%s-%d", name, i)),
			Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)},
		})
	}
	created, err := client.DiscoveryV1().EndpointSlices(apiCostNS).Create(ctx, sl, metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("create endpointslice %s: %w", name, err)
	}
	return func(ctx context.Context, c int) error {
		ep := &created.Endpoints[c%len(created.Endpoints)]
		ep.Conditions.Ready = ptr.To(!*ep.Conditions.Ready)
		updated, err := client.DiscoveryV1().EndpointSlices(apiCostNS).Update(ctx, created, metav1.UpdateOptions{})
		if err != nil {
			return fmt.Errorf("update endpointslice %s: %w", name, err)
		}
		created = updated
		return nil
	}, nil
}

// writeAPICost writes the table of one more replica's cost to the API server.
func writeAPICost(b *strings.Builder, r *scaleResult) {
	c := r.APICost
	fmt.Fprintf(b, "One more replica, started alone (no other DNS server running), from the API server's metrics (sums over %s): its initial lists until ready, and the watch events it is sent while one EndpointSlice of 100 endpoints gets %d writes a second for %s (less the %.1f events/s, %.1f KiB/s the controller manager's watches get meanwhile):\n\n",
		strings.Join(watchedResources, ", "), apiCostRate, apiCostWindow, c.Background.Events, c.Background.EventsKB)
	b.WriteString("| one more replica | clusterdns | kubernetes | clusterdns / kubernetes |\n| --- | --: | --: | --: |\n")
	o, k := c.Replica[ours], c.Replica[kubernetesPlugin]
	f := func(label, format string, of func(replicaCost) float64) {
		ratio := ""
		if of(k) != 0 {
			ratio = fmt.Sprintf("%.2fx", of(o)/of(k))
		}
		fmt.Fprintf(b, "| %s | "+format+" | "+format+" | %s |\n", label, of(o), of(k), ratio)
	}
	f("LIST requests", "%.0f", func(x replicaCost) float64 { return x.Lists })
	f("watches open", "%.0f", func(x replicaCost) float64 { return x.Watches })
	f("objects sent until ready (streamed list events + LIST items)", "%.0f", func(x replicaCost) float64 { return x.Objects })
	f("bytes sent until ready, MiB", "%.2f", func(x replicaCost) float64 { return x.Bytes / (1 << 20) })
	f("watch events per second under churn", "%.1f", func(x replicaCost) float64 { return x.Events })
	f("watch events per EndpointSlice write", "%.2f", func(x replicaCost) float64 { return x.Events / apiCostRate })
	f("watch bytes per second under churn, KiB", "%.1f", func(x replicaCost) float64 { return x.EventsKB })
	b.WriteString("\n")
}
