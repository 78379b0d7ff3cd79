package source

import (
	"net/netip"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/utils/ptr"
	mcs "sigs.k8s.io/mcs-api/pkg/apis/v1alpha1"
)

func TestConvertServiceImport(t *testing.T) {
	si := &mcs.ServiceImport{
		ObjectMeta: metav1.ObjectMeta{Namespace: "data", Name: "web"},
		Spec: mcs.ServiceImportSpec{Type: mcs.ClusterSetIP, IPs: []string{"10.42.0.1", "bogus", "fd00::1"},
			Ports: []mcs.ServicePort{{Name: "http", Protocol: corev1.ProtocolTCP, Port: 80}, {Name: "bad", Port: 0}}},
	}
	got := ConvertServiceImport(si)
	if got.Headless || len(got.IPs) != 2 || got.IPs[1] != netip.MustParseAddr("fd00::1") || len(got.Ports) != 1 || got.Ports[0].Protocol != "tcp" {
		t.Errorf("ClusterSetIP import: %+v", got)
	}
	si.Spec.Type = mcs.Headless
	if got := ConvertServiceImport(si); !got.Headless || got.IPs != nil {
		t.Errorf("headless import keeps no IPs (the MCS API ignores them): %+v", got)
	}
	if ConvertServiceImport(nil) != nil {
		t.Error("nil import converted")
	}
}

func TestConvertImportedSlice(t *testing.T) {
	sl := &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Namespace: "data", Name: "db-east", Labels: map[string]string{
			mcs.LabelServiceName: "db", mcs.LabelSourceCluster: "east"}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints: []discoveryv1.Endpoint{
			{Addresses: []string{"10.1.0.1"}, Hostname: ptr.To("db-0")},
			{Addresses: []string{"10.1.0.2"}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(false)}},
		},
	}
	got := ConvertImportedSlice(sl, false)
	if got == nil || got.Service != "db" || got.Cluster != "east" || got.Endpoints.Len() != 1 || got.Endpoints.At(0).Name != "db-0" {
		t.Fatalf("imported slice: %+v", got)
	}
	if sl.Labels[serviceNameLabel] != "" {
		t.Error("the API object was changed")
	}
	delete(sl.Labels, mcs.LabelServiceName)
	if ConvertImportedSlice(sl, false) != nil {
		t.Error("a slice without the multicluster service-name label belongs to no import")
	}
}

func TestImportedSlicesListOnlyTheirLabel(t *testing.T) {
	var opts metav1.ListOptions
	Filter{}.ListOptions(ImportedSlices, &opts)
	if opts.LabelSelector != mcs.LabelServiceName {
		t.Errorf("selector %q", opts.LabelSelector)
	}
	Filter{Labels: labels.SelectorFromSet(labels.Set{"team": "a"})}.ListOptions(ImportedSlices, &opts)
	if opts.LabelSelector != mcs.LabelServiceName+",team=a" {
		t.Errorf("selector %q", opts.LabelSelector)
	}
}
