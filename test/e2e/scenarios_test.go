package e2e

import (
	"context"
	"fmt"
	"net/netip"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"

	"github.com/clusterdns/clusterdns/test/controlplane"
)

// The seed scenarios of examples/cluster.yaml, created through the API so that the API server
// allocates the ClusterIPs and the EndpointSlice controller writes the slices.

// bulkPods is the size of the headless service whose A answer cannot fit in 512 bytes.
const bulkPods = 150

// podDef is a pod to create: ready with these IPs unless notReady.
type podDef struct {
	name                string
	labels              map[string]string
	ips                 []string
	hostname, subdomain string
	ports               []corev1.ContainerPort
	notReady            bool
}

// serviceDef is a service to create and, when it has a selector, the EndpointSlice state the
// controller must reach before the suite starts.
type serviceDef struct {
	svc  *corev1.Service
	pods []podDef
	// wantReady and wantNotReady count endpoint addresses (every family) across the slices.
	wantReady, wantNotReady int
	// wantHostnames requires every ready endpoint to carry a hostname.
	wantHostnames bool
	// slices are written by hand for a service without selector (no controller owns them).
	slices []*discoveryv1.EndpointSlice
	// endpoints is a legacy v1 Endpoints object for a service without selector, which the
	// EndpointSlice mirroring controller turns into slices.
	endpoints *corev1.Endpoints
}

// waits reports whether the service has EndpointSlices to wait for.
func (d serviceDef) waits() bool {
	return d.svc.Spec.Selector != nil || len(d.slices) > 0 || d.endpoints != nil
}

// scenario is what the suite created: the API server's allocations, read back.
type scenario struct {
	clusterIPs map[string][]netip.Addr // "ns/name" -> spec.clusterIPs in order
	podIPs     map[string][]netip.Addr // "ns/name" -> pod IPs in order
}

// clusterIP returns the service's ClusterIP of the family of want4 (IPv4 when true).
func (s *scenario) clusterIP(key string, want4 bool) netip.Addr {
	for _, ip := range s.clusterIPs[key] {
		if ip.Is4() == want4 {
			return ip
		}
	}
	panic(fmt.Sprintf("scenario: service %s has no IPv%d ClusterIP (has %v)", key, map[bool]int{true: 4, false: 6}[want4], s.clusterIPs[key]))
}

// podIP returns the pod's IP of the family of want4.
func (s *scenario) podIP(key string, want4 bool) netip.Addr {
	for _, ip := range s.podIPs[key] {
		if ip.Is4() == want4 {
			return ip
		}
	}
	panic(fmt.Sprintf("scenario: pod %s has no IPv%d address (has %v)", key, map[bool]int{true: 4, false: 6}[want4], s.podIPs[key]))
}

func labels(app string) map[string]string { return map[string]string{"app": app} }

func httpPort() []corev1.ServicePort {
	return []corev1.ServicePort{{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromInt32(80)}}
}

func service(ns, name string, spec corev1.ServiceSpec) *corev1.Service {
	return &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: spec}
}

func headlessSpec(app string) corev1.ServiceSpec {
	return corev1.ServiceSpec{ClusterIP: corev1.ClusterIPNone, Selector: labels(app), Ports: httpPort()}
}

func externalNameSpec(target string) corev1.ServiceSpec {
	return corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: target}
}

// emptyNamespace has neither services nor pods.
const emptyNamespace = "e2e-empty"

// seedNamespaces are created before anything else (default and kube-system exist already).
var seedNamespaces = []string{"middleware", "bulk", emptyNamespace}

func seedServices() []serviceDef {
	dualStack := corev1.IPFamilyPolicyRequireDualStack
	zkPorts := []corev1.ContainerPort{
		{Name: "client", ContainerPort: 2181, Protocol: corev1.ProtocolTCP},
		{Name: "server", ContainerPort: 2888, Protocol: corev1.ProtocolTCP},
		{Name: "leader-election", ContainerPort: 3888, Protocol: corev1.ProtocolTCP},
	}
	var zkPods []podDef
	for i := range 3 {
		name := fmt.Sprintf("zookeeper-%d", i)
		zkPods = append(zkPods, podDef{
			name: name, labels: labels("zookeeper"), ips: []string{fmt.Sprintf("10.244.4.%d", 10+i)},
			hostname: name, subdomain: "zookeeper-headless", ports: zkPorts,
		})
	}
	var bulk []podDef
	for i := range bulkPods {
		bulk = append(bulk, podDef{name: fmt.Sprintf("bulk-%03d", i), labels: labels("bulk"), ips: []string{bulkIP(i)}})
	}
	return []serviceDef{
		{
			svc: service("default", "hostnames", corev1.ServiceSpec{
				Selector: labels("hostnames"),
				Ports:    []corev1.ServicePort{{Name: "default", Port: 80, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromInt32(9376)}},
			}),
			pods: []podDef{
				{name: "hostnames-6b9c8d7f5-2xkqp", labels: labels("hostnames"), ips: []string{"10.244.1.11"}},
				{name: "hostnames-6b9c8d7f5-8fz4m", labels: labels("hostnames"), ips: []string{"10.244.1.12"}},
				{name: "hostnames-6b9c8d7f5-wq7lr", labels: labels("hostnames"), ips: []string{"10.244.1.13"}},
			},
			wantReady: 3,
		},
		{
			svc: service("default", "my-service", corev1.ServiceSpec{
				Selector: labels("my-app"),
				Ports:    []corev1.ServicePort{{Port: 80, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromInt32(80)}},
			}),
			pods:      []podDef{{name: "my-app-5c7d9f8b4-k4m2p", labels: labels("my-app"), ips: []string{"10.244.1.21"}}},
			wantReady: 1,
		},
		{
			svc: service("default", "nginx", headlessSpec("nginx")),
			pods: []podDef{
				{name: "nginx-0", labels: labels("nginx"), ips: []string{"10.244.2.5"}},
				{name: "nginx-1", labels: labels("nginx"), ips: []string{"10.244.2.6"}},
			},
			wantReady: 2,
		},
		{svc: service("default", "my-database", externalNameSpec("my.database.example.com"))},
		// In-zone ExternalName target: chased inside the plugin.
		{svc: service("default", "alias", externalNameSpec("hostnames.default.svc.cluster.local"))},
		// Target the upstream does not know: NXDOMAIN, the CNAME stays.
		{svc: service("default", "nowhere", externalNameSpec("nowhere.example.com"))},
		{
			svc: service("default", "nginx-deployment", corev1.ServiceSpec{
				Type: corev1.ServiceTypeNodePort, Selector: labels("nginx-deployment"), Ports: httpPort(),
			}),
			pods: []podDef{
				{name: "nginx-deployment-7c79c4bf97-5hxbn", labels: labels("nginx-deployment"), ips: []string{"10.244.1.31"}},
				{name: "nginx-deployment-7c79c4bf97-tz2jq", labels: labels("nginx-deployment"), ips: []string{"10.244.2.31"}},
			},
			wantReady: 2,
		},
		{
			svc: service("default", "dual", corev1.ServiceSpec{
				Selector: labels("dual"), Ports: httpPort(),
				IPFamilyPolicy: &dualStack, IPFamilies: []corev1.IPFamily{corev1.IPv4Protocol, corev1.IPv6Protocol},
			}),
			pods:      []podDef{{name: "dual-6d5b7c9f8-n2r6t", labels: labels("dual"), ips: []string{"10.244.3.7", "fd00:10:244:3::7"}}},
			wantReady: 2,
		},
		{
			svc: service("default", "dual-headless", corev1.ServiceSpec{
				ClusterIP: corev1.ClusterIPNone, Selector: labels("dual-headless"), Ports: httpPort(),
				IPFamilyPolicy: &dualStack, IPFamilies: []corev1.IPFamily{corev1.IPv4Protocol, corev1.IPv6Protocol},
			}),
			pods: []podDef{{
				name: "dual-ss-0", labels: labels("dual-headless"), ips: []string{"10.244.3.8", "fd00:10:244:3::8"},
				hostname: "dual-ss-0", subdomain: "dual-headless",
			}},
			wantReady: 2, wantHostnames: true,
		},
		{
			svc: service("default", "web", headlessSpec("web")),
			pods: []podDef{
				{name: "web-0", labels: labels("web"), ips: []string{"10.244.2.8"}},
				{name: "web-1", labels: labels("web"), ips: []string{"10.244.2.9"}, notReady: true},
			},
			wantReady: 1, wantNotReady: 1,
		},
		{
			// Same pods as web: the controller publishes the not-ready one as ready.
			svc: service("default", "web-published", func() corev1.ServiceSpec {
				s := headlessSpec("web")
				s.PublishNotReadyAddresses = true
				return s
			}()),
			wantReady: 2,
		},
		{
			svc: service("default", "notready", headlessSpec("notready")),
			pods: []podDef{
				{name: "notready-0", labels: labels("notready"), ips: []string{"10.244.2.10"}, notReady: true},
			},
			wantNotReady: 1,
		},
		{svc: service("default", "empty-headless", headlessSpec("nothing"))},
		{svc: service("default", "empty-clusterip", corev1.ServiceSpec{Selector: labels("nothing"), Ports: httpPort()})},
		{
			svc: service("kube-system", "kube-dns", corev1.ServiceSpec{
				Selector: map[string]string{"k8s-app": "kube-dns"},
				Ports: []corev1.ServicePort{
					{Name: "dns", Port: 53, Protocol: corev1.ProtocolUDP, TargetPort: intstr.FromInt32(53)},
					{Name: "dns-tcp", Port: 53, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromInt32(53)},
					{Name: "metrics", Port: 9153, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromInt32(9153)},
				},
			}),
		},
		{
			svc: service("middleware", "zookeeper-headless", corev1.ServiceSpec{
				ClusterIP: corev1.ClusterIPNone, Selector: labels("zookeeper"),
				Ports: []corev1.ServicePort{
					{Name: "client", Port: 2181, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromString("client")},
					{Name: "server", Port: 2888, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromString("server")},
					{Name: "leader-election", Port: 3888, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromString("leader-election")},
				},
			}),
			pods:      zkPods,
			wantReady: 3, wantHostnames: true,
		},
		{
			// Two pods with the same hostname and subdomain: one name, one record per address.
			svc: service("default", "shared", headlessSpec("shared")),
			pods: []podDef{
				{name: "shared-a", labels: labels("shared"), ips: []string{"10.244.6.1"}, hostname: "db", subdomain: "shared"},
				{name: "shared-b", labels: labels("shared"), ips: []string{"10.244.6.2"}, hostname: "db", subdomain: "shared"},
			},
			wantReady: 2, wantHostnames: true,
		},
		{
			svc: service("default", "signaling", corev1.ServiceSpec{
				Selector: labels("signaling"),
				Ports: []corev1.ServicePort{
					{Name: "diameter", Port: 3868, Protocol: corev1.ProtocolSCTP, TargetPort: intstr.FromInt32(3868)},
					{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromInt32(80)},
				},
			}),
		},
		// ExternalName to an ExternalName: the chain is followed to the end.
		{svc: service("default", "chain", externalNameSpec("my-database.default.svc.cluster.local"))},
		{
			// Selector-less headless service with a hand-made slice: ready unset counts as ready.
			svc: service("default", "manual", corev1.ServiceSpec{ClusterIP: corev1.ClusterIPNone, Ports: httpPort()}),
			slices: []*discoveryv1.EndpointSlice{{
				ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "manual-1", Labels: map[string]string{
					discoveryv1.LabelServiceName: "manual", discoveryv1.LabelManagedBy: "e2e.clusterdns.test",
				}},
				AddressType: discoveryv1.AddressTypeIPv4,
				Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("http"), Port: ptr.To[int32](8080), Protocol: ptr.To(corev1.ProtocolTCP)}},
				Endpoints: []discoveryv1.Endpoint{
					{Addresses: []string{"10.244.5.1"}, Hostname: ptr.To("manual-host")},
					{Addresses: []string{"10.244.5.2"}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(false)}},
				},
			}},
			wantReady: 1, wantNotReady: 1, wantHostnames: true,
		},
		{
			// Selector-less headless service with legacy Endpoints, mirrored into a slice.
			svc: service("default", "legacy", corev1.ServiceSpec{ClusterIP: corev1.ClusterIPNone, Ports: httpPort()}),
			endpoints: &corev1.Endpoints{
				ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "legacy"},
				Subsets: []corev1.EndpointSubset{{
					Addresses:         []corev1.EndpointAddress{{IP: "10.244.5.3", Hostname: "legacy-host"}},
					NotReadyAddresses: []corev1.EndpointAddress{{IP: "10.244.5.4"}},
					Ports:             []corev1.EndpointPort{{Name: "http", Port: 8080, Protocol: corev1.ProtocolTCP}},
				}},
			},
			wantReady: 1, wantNotReady: 1, wantHostnames: true,
		},
		{svc: service("bulk", "bulk", headlessSpec("bulk")), pods: bulk, wantReady: bulkPods},
	}
}

func bulkIP(i int) string { return fmt.Sprintf("10.245.%d.%d", i/250, i%250+1) }

// createScenarios creates the seed namespaces, services and pods, reads back the allocations and
// waits until the EndpointSlice controller has caught up with every service.
func createScenarios(ctx context.Context, cp *controlplane.ControlPlane) (*scenario, error) {
	sc := &scenario{clusterIPs: map[string][]netip.Addr{}, podIPs: map[string][]netip.Addr{}}
	for _, ns := range seedNamespaces {
		if err := createNamespace(ctx, cp, ns); err != nil {
			return nil, err
		}
	}
	// The API server creates default/kubernetes itself, shortly after it starts.
	kube, err := waitService(ctx, cp, "default", "kubernetes")
	if err != nil {
		return nil, err
	}
	if err := sc.record(kube); err != nil {
		return nil, err
	}

	defs := seedServices()
	for _, d := range defs {
		created, err := cp.Client.CoreV1().Services(d.svc.Namespace).Create(ctx, d.svc, metav1.CreateOptions{})
		if err != nil {
			return nil, fmt.Errorf("create service %s/%s: %w", d.svc.Namespace, d.svc.Name, err)
		}
		if err := sc.record(created); err != nil {
			return nil, err
		}
		for _, sl := range d.slices {
			if _, err := cp.Client.DiscoveryV1().EndpointSlices(sl.Namespace).Create(ctx, sl, metav1.CreateOptions{}); err != nil {
				return nil, fmt.Errorf("create EndpointSlice %s/%s: %w", sl.Namespace, sl.Name, err)
			}
		}
		if ep := d.endpoints; ep != nil {
			if _, err := cp.Client.CoreV1().Endpoints(ep.Namespace).Create(ctx, ep, metav1.CreateOptions{}); err != nil {
				return nil, fmt.Errorf("create Endpoints %s/%s: %w", ep.Namespace, ep.Name, err)
			}
		}
	}
	var all []podJob
	for _, d := range defs {
		for _, p := range d.pods {
			all = append(all, podJob{ns: d.svc.Namespace, def: p})
		}
	}
	t0 := time.Now()
	if err := createPods(ctx, cp, all, 8); err != nil {
		return nil, err
	}
	fmt.Printf("e2e: %d pods created in %s\n", len(all), time.Since(t0).Round(time.Millisecond))
	for _, j := range all {
		for _, s := range j.def.ips {
			sc.podIPs[j.ns+"/"+j.def.name] = append(sc.podIPs[j.ns+"/"+j.def.name], netip.MustParseAddr(s))
		}
	}
	for _, d := range defs {
		if !d.waits() {
			continue
		}
		if err := waitSlices(ctx, cp, d.svc.Namespace, d.svc.Name, d.wantReady, d.wantNotReady, d.wantHostnames); err != nil {
			return nil, err
		}
	}
	return sc, nil
}

// record reads a created service's ClusterIPs.
func (s *scenario) record(svc *corev1.Service) error {
	key := svc.Namespace + "/" + svc.Name
	for _, c := range svc.Spec.ClusterIPs {
		if c == corev1.ClusterIPNone || c == "" {
			continue
		}
		ip, err := netip.ParseAddr(c)
		if err != nil {
			return fmt.Errorf("service %s: ClusterIP %q: %w", key, c, err)
		}
		s.clusterIPs[key] = append(s.clusterIPs[key], ip)
	}
	return nil
}

func createNamespace(ctx context.Context, cp *controlplane.ControlPlane, name string) error {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if _, err := cp.Client.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create namespace %s: %w", name, err)
	}
	return nil
}

type podJob struct {
	ns  string
	def podDef
}

// newPod is the pod object of d (status is written by CreateReadyPod).
func newPod(ns string, d podDef) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: d.name, Labels: d.labels},
		Spec: corev1.PodSpec{
			Hostname:  d.hostname,
			Subdomain: d.subdomain,
			Containers: []corev1.Container{{
				Name: "app", Image: "clusterdns.invalid/app", Ports: d.ports,
			}},
			TerminationGracePeriodSeconds: ptr.To[int64](0),
		},
	}
}

// createPod creates one pod, ready with its IPs, then flips it not ready if asked.
func createPod(ctx context.Context, cp *controlplane.ControlPlane, ns string, d podDef) error {
	if _, err := cp.CreateReadyPod(ctx, newPod(ns, d), d.ips...); err != nil {
		return err
	}
	if d.notReady {
		return cp.SetPodReady(ctx, ns, d.name, false)
	}
	return nil
}

// createPods creates pods with a few workers.
func createPods(ctx context.Context, cp *controlplane.ControlPlane, jobs []podJob, workers int) error {
	ch := make(chan podJob)
	errs := make(chan error, len(jobs))
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range ch {
				if err := createPod(ctx, cp, j.ns, j.def); err != nil {
					errs <- err
				}
			}
		}()
	}
	for _, j := range jobs {
		ch <- j
	}
	close(ch)
	wg.Wait()
	close(errs)
	return <-errs // nil when the channel is empty
}

// waitService waits until the service exists (the API server's own default/kubernetes).
func waitService(ctx context.Context, cp *controlplane.ControlPlane, ns, name string) (*corev1.Service, error) {
	var last error
	for {
		svc, err := cp.Client.CoreV1().Services(ns).Get(ctx, name, metav1.GetOptions{})
		if err == nil {
			return svc, nil
		}
		last = err
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("service %s/%s never appeared: %w (last: %v)", ns, name, ctx.Err(), last)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// sliceState counts the addresses of a service's EndpointSlices by readiness.
type sliceState struct {
	ready, notReady int
	readyNoHostname int
	readyAddrs      []string
	slices          int
}

func (s sliceState) String() string {
	return fmt.Sprintf("%d slices, %d ready (%d without hostname), %d not ready", s.slices, s.ready, s.readyNoHostname, s.notReady)
}

func getSliceState(ctx context.Context, cp *controlplane.ControlPlane, ns, svc string) (sliceState, error) {
	list, err := cp.Client.DiscoveryV1().EndpointSlices(ns).List(ctx, metav1.ListOptions{
		LabelSelector: discoveryv1.LabelServiceName + "=" + svc,
	})
	if err != nil {
		return sliceState{}, err
	}
	var st sliceState
	st.slices = len(list.Items)
	for _, sl := range list.Items {
		for _, ep := range sl.Endpoints {
			// Ready when true or unset (spec rule 10).
			ready := ep.Conditions.Ready == nil || *ep.Conditions.Ready
			for _, a := range ep.Addresses {
				if ready {
					st.ready++
					st.readyAddrs = append(st.readyAddrs, a)
					if ep.Hostname == nil || *ep.Hostname == "" {
						st.readyNoHostname++
					}
				} else {
					st.notReady++
				}
			}
		}
	}
	return st, nil
}

// waitSlices waits until the service's EndpointSlices hold exactly these counts.
func waitSlices(ctx context.Context, cp *controlplane.ControlPlane, ns, svc string, ready, notReady int, hostnames bool) error {
	var last sliceState
	var lastErr error
	for {
		st, err := getSliceState(ctx, cp, ns, svc)
		if err == nil && st.slices > 0 && st.ready == ready && st.notReady == notReady && (!hostnames || st.readyNoHostname == 0) {
			return nil
		}
		last, lastErr = st, err
		select {
		case <-ctx.Done():
			return fmt.Errorf("EndpointSlices of %s/%s: want %d ready, %d not ready (hostnames %v): %w (last: %v, err %v)",
				ns, svc, ready, notReady, hostnames, ctx.Err(), last, lastErr)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// retryOnConflict retries f on update conflicts.
func retryOnConflict(f func() error) error {
	return retry.RetryOnConflict(retry.DefaultRetry, f)
}
