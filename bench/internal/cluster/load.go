package cluster

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"

	"golang.org/x/sync/errgroup"

	"github.com/clusterdns/clusterdns/test/controlplane"
)

// ManagedBy marks the EndpointSlices written by the benchmarks, so that no controller claims them.
const ManagedBy = "bench.clusterdns.io"

// maxPerSlice is the EndpointSlice controller's default number of endpoints per slice.
const maxPerSlice = 100

// Load creates the namespaces, Services and EndpointSlices of spec through the API server of cfg,
// with spec.Workers creates in flight. Services have no selector and their EndpointSlices are
// written directly (labelled kubernetes.io/service-name), which is what DNS reads of selector
// services too, and far faster than making pods ready. Progress goes to log.
func Load(ctx context.Context, cfg *rest.Config, spec Spec, log io.Writer) (*Fixture, error) {
	client, err := FastClient(cfg)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	namespaces := (spec.Services + servicesPerNamespace - 1) / servicesPerNamespace
	for n := range namespaces {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespaceOf(n * servicesPerNamespace)}}
		if _, err := client.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
			return nil, fmt.Errorf("create namespace %s: %w", ns.Name, err)
		}
	}
	f := &Fixture{Services: make([]Service, spec.Services)}
	var done atomic.Int64
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(spec.Workers, 1))
	for i := range spec.Services {
		g.Go(func() error {
			svc, err := createService(gctx, client, i, spec.PodsPerService)
			if err != nil {
				return err
			}
			f.Services[i] = svc
			if n := done.Add(1); n%int64(max(spec.Services/10, 1)) == 0 {
				fmt.Fprintf(log, "cluster: %d/%d services loaded (%s)\n", n, spec.Services, time.Since(start).Round(time.Second))
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return f, nil
}

// FastClient is a client without client-side throttling, speaking protobuf.
func FastClient(cfg *rest.Config) (kubernetes.Interface, error) {
	c := rest.CopyConfig(cfg)
	c.QPS, c.Burst = 5000, 10000
	c.ContentType = "application/vnd.kubernetes.protobuf"
	client, err := kubernetes.NewForConfig(c)
	if err != nil {
		return nil, fmt.Errorf("build client: %w", err)
	}
	return client, nil
}

// createService creates service i and its EndpointSlices.
func createService(ctx context.Context, client kubernetes.Interface, i, perService int) (Service, error) {
	s := Service{Namespace: namespaceOf(i), Name: serviceName(i), Headless: headless(i), DualStack: dualStack(i)}
	obj := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: s.Name, Namespace: s.Namespace, Labels: map[string]string{"app": s.Name}},
		Spec:       corev1.ServiceSpec{Type: corev1.ServiceTypeClusterIP},
	}
	for _, p := range ports {
		obj.Spec.Ports = append(obj.Spec.Ports, corev1.ServicePort{
			Name: p.name, Port: p.port, TargetPort: intstr.FromInt32(p.target), Protocol: corev1.ProtocolTCP,
		})
		s.Ports = append(s.Ports, p.name)
	}
	if s.Headless {
		obj.Spec.ClusterIP = corev1.ClusterIPNone
	}
	if s.DualStack {
		obj.Spec.IPFamilyPolicy = ptr.To(corev1.IPFamilyPolicyRequireDualStack)
		obj.Spec.IPFamilies = []corev1.IPFamily{corev1.IPv4Protocol, corev1.IPv6Protocol}
	}
	created, err := client.CoreV1().Services(s.Namespace).Create(ctx, obj, metav1.CreateOptions{})
	if err != nil {
		return s, fmt.Errorf("create service %s/%s: %w", s.Namespace, s.Name, err)
	}
	if !s.Headless {
		s.ClusterIPs = created.Spec.ClusterIPs
	}
	families := []discoveryv1.AddressType{discoveryv1.AddressTypeIPv4}
	if s.DualStack {
		families = append(families, discoveryv1.AddressTypeIPv6)
	}
	for _, family := range families {
		for first := 0; first < perService; first += maxPerSlice {
			slice := endpointSlice(s, family, i, first, min(first+maxPerSlice, perService), perService)
			if _, err := client.DiscoveryV1().EndpointSlices(s.Namespace).Create(ctx, slice, metav1.CreateOptions{}); err != nil {
				return s, fmt.Errorf("create endpointslice %s/%s: %w", s.Namespace, slice.Name, err)
			}
			for _, ep := range slice.Endpoints {
				s.Endpoints = append(s.Endpoints, ep.Addresses...)
			}
		}
	}
	return s, nil
}

// endpointSlice holds endpoints [first, last) of service i in one address family, all ready,
// on the control plane's node, with StatefulSet-style hostnames for headless services.
func endpointSlice(s Service, family discoveryv1.AddressType, i, first, last, perService int) *discoveryv1.EndpointSlice {
	slice := &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{
			Name:      fmt.Sprintf("%s-%s-%d", s.Name, strings.ToLower(string(family)), first/maxPerSlice),
			Namespace: s.Namespace,
			Labels:    map[string]string{discoveryv1.LabelServiceName: s.Name, discoveryv1.LabelManagedBy: ManagedBy},
		},
		AddressType: family,
	}
	for _, p := range ports {
		slice.Ports = append(slice.Ports, discoveryv1.EndpointPort{
			Name: ptr.To(p.name), Port: ptr.To(p.target), Protocol: ptr.To(corev1.ProtocolTCP),
		})
	}
	for j := first; j < last; j++ {
		addr := endpointIPv4(i, j, perService)
		if family == discoveryv1.AddressTypeIPv6 {
			addr = endpointIPv6(i, j, perService)
		}
		ep := discoveryv1.Endpoint{
			Addresses:  []string{addr.String()},
			Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true), Serving: ptr.To(true), Terminating: ptr.To(false)},
			NodeName:   ptr.To(controlplane.NodeName),
			TargetRef:  &corev1.ObjectReference{Kind: "Pod", Namespace: s.Namespace, Name: podName(s.Name, j)},
		}
		if s.Headless {
			ep.Hostname = ptr.To(fmt.Sprintf("web-%d", j))
		}
		ep.Zone = ptr.To(Zones[j%len(Zones)])
		slice.Endpoints = append(slice.Endpoints, ep)
	}
	return slice
}
