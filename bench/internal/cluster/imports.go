package cluster

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/mcs-api/config/crd"
	mcs "sigs.k8s.io/mcs-api/pkg/apis/v1alpha1"
	mcsclient "sigs.k8s.io/mcs-api/pkg/client/clientset/versioned/typed/apis/v1alpha1"
)

// SourceCluster is the cluster ID of the imported EndpointSlices.
const SourceCluster = "east"

// Imports are the services that Import made ServiceImports of, as the clusterset zone serves them.
type Imports struct {
	ClusterSetIP []Service // ClusterIPs are the clusterset IPs
	Headless     []Service // Endpoints are the imported ones, hostnames web-<j>
}

// Import installs the Multi-Cluster Services CRDs (of the sigs.k8s.io/mcs-api module the kubernetes
// plugin is built with) and imports every headless service of f and as many IPv4 ClusterIP ones:
// a ServiceImport of the same name and ports, and an EndpointSlice from SourceCluster as an MCS
// controller writes it, with zoned endpoints at addresses of their own (10.64.0.0/10).
func Import(ctx context.Context, cfg *rest.Config, f *Fixture, perService int) (*Imports, error) {
	mc, err := installCRDs(ctx, cfg)
	if err != nil {
		return nil, err
	}
	client, err := FastClient(cfg)
	if err != nil {
		return nil, err
	}
	im := &Imports{}
	n := 0 // imported endpoints so far: their addresses
	for _, s := range f.Services {
		if !s.Headless && (s.DualStack || len(im.ClusterSetIP) >= len(im.Headless)+1) {
			continue
		}
		spec := mcs.ServiceImportSpec{Type: mcs.Headless}
		for _, p := range ports {
			spec.Ports = append(spec.Ports, mcs.ServicePort{Name: p.name, Protocol: corev1.ProtocolTCP, Port: p.port})
		}
		imported := Service{Namespace: s.Namespace, Name: s.Name, Headless: s.Headless, Ports: s.Ports}
		if !s.Headless {
			spec.Type = mcs.ClusterSetIP
			ip := importedIPv4(1<<20 + len(im.ClusterSetIP)).String()
			spec.IPs, imported.ClusterIPs = []string{ip}, []string{ip}
		}
		obj := &mcs.ServiceImport{ObjectMeta: metav1.ObjectMeta{Name: s.Name, Namespace: s.Namespace}, Spec: spec}
		if _, err := mc.ServiceImports(s.Namespace).Create(ctx, obj, metav1.CreateOptions{}); err != nil {
			return nil, fmt.Errorf("create serviceimport %s/%s: %w", s.Namespace, s.Name, err)
		}
		sl := &discoveryv1.EndpointSlice{
			ObjectMeta: metav1.ObjectMeta{Name: s.Name + "-" + SourceCluster, Namespace: s.Namespace, Labels: map[string]string{
				mcs.LabelServiceName: s.Name, mcs.LabelSourceCluster: SourceCluster, discoveryv1.LabelManagedBy: ManagedBy,
			}},
			AddressType: discoveryv1.AddressTypeIPv4,
		}
		for _, p := range ports {
			sl.Ports = append(sl.Ports, discoveryv1.EndpointPort{Name: ptr.To(p.name), Port: ptr.To(p.target), Protocol: ptr.To(corev1.ProtocolTCP)})
		}
		for j := range perService {
			addr := importedIPv4(n).String()
			n++
			ep := discoveryv1.Endpoint{Addresses: []string{addr}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)},
				Zone: ptr.To(Zones[j%len(Zones)])}
			if s.Headless {
				ep.Hostname = ptr.To(fmt.Sprintf("web-%d", j))
			}
			sl.Endpoints = append(sl.Endpoints, ep)
			imported.Endpoints = append(imported.Endpoints, addr)
		}
		if _, err := client.DiscoveryV1().EndpointSlices(s.Namespace).Create(ctx, sl, metav1.CreateOptions{}); err != nil {
			return nil, fmt.Errorf("create endpointslice %s/%s: %w", s.Namespace, sl.Name, err)
		}
		if s.Headless {
			im.Headless = append(im.Headless, imported)
		} else {
			im.ClusterSetIP = append(im.ClusterSetIP, imported)
		}
	}
	return im, nil
}

// importedIPv4 is the n-th address of 10.64.0.0/10.
func importedIPv4(n int) netip.Addr {
	return netip.AddrFrom4([4]byte{10, 64 + byte(n>>16&0x3f), byte(n >> 8), byte(n)})
}

// installCRDs creates the ServiceImport and ServiceExport CRDs and waits until ServiceImports can
// be listed.
func installCRDs(ctx context.Context, cfg *rest.Config) (mcsclient.MulticlusterV1alpha1Interface, error) {
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("dynamic client: %w", err)
	}
	crds := dyn.Resource(schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"})
	for _, doc := range [][]byte{crd.ServiceImportCRD, crd.ServiceExportCRD} {
		var obj unstructured.Unstructured
		if err := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(doc), 4096).Decode(&obj.Object); err != nil {
			return nil, fmt.Errorf("decode MCS CRD: %w", err)
		}
		if _, err := crds.Create(ctx, &obj, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return nil, fmt.Errorf("create CRD %s: %w", obj.GetName(), err)
		}
	}
	mc, err := mcsclient.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("MCS client: %w", err)
	}
	for {
		if _, err = mc.ServiceImports(metav1.NamespaceAll).List(ctx, metav1.ListOptions{}); err == nil {
			return mc, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("ServiceImports never listable: %w", err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}
