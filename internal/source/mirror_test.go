package source

import (
	"fmt"
	"net/netip"
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/clusterdns/clusterdns/internal/model"
)

func TestMirrorEndpoints(t *testing.T) {
	podRef := func(name string) *corev1.ObjectReference {
		return &corev1.ObjectReference{Kind: "Pod", Namespace: "default", Name: name}
	}
	tests := []struct {
		name   string
		labels map[string]string
		subs   []corev1.EndpointSubset
		want   []*model.EndpointSlice
	}{
		{
			name: "ready addresses with hostname; not-ready ones dropped",
			subs: []corev1.EndpointSubset{{
				Addresses: []corev1.EndpointAddress{
					{IP: "10.0.0.1", Hostname: "db-0", TargetRef: podRef("db-0")},
					{IP: "10.0.0.1"}, // duplicate: dropped
				},
				NotReadyAddresses: []corev1.EndpointAddress{{IP: "10.0.0.2", TargetRef: &corev1.ObjectReference{Kind: "Node", Name: "n"}}},
				Ports:             []corev1.EndpointPort{{Name: "pg", Port: 5432, Protocol: corev1.ProtocolTCP}, {Port: 53, Protocol: corev1.ProtocolUDP}},
			}},
			want: []*model.EndpointSlice{{
				Namespace: "default", Name: "db-1", Service: "db",
				Ports: []model.Port{{Name: "pg", Protocol: "tcp", Port: 5432}, {Protocol: "udp", Port: 53}},
				Endpoints: model.NewEndpoints([]model.Endpoint{
					{Addr: netip.MustParseAddr("10.0.0.1"), Name: "db-0"},
				}),
			}},
		},
		{
			name: "one slice per subset and address family",
			subs: []corev1.EndpointSubset{
				{
					Addresses: []corev1.EndpointAddress{{IP: "fd00::1"}, {IP: "10.0.0.1"}, {IP: "bogus"}},
					Ports:     []corev1.EndpointPort{{Name: "a", Port: 80}},
				},
				{
					Addresses: []corev1.EndpointAddress{{IP: "10.0.0.9"}},
					Ports:     []corev1.EndpointPort{{Name: "b", Port: 81}},
				},
			},
			want: []*model.EndpointSlice{
				{Namespace: "default", Name: "db-1", Service: "db", Ports: []model.Port{{Name: "a", Protocol: "tcp", Port: 80}},
					Endpoints: model.NewEndpoints([]model.Endpoint{{Addr: netip.MustParseAddr("10.0.0.1")}})},
				{Namespace: "default", Name: "db-2", Service: "db", Ports: []model.Port{{Name: "a", Protocol: "tcp", Port: 80}},
					Endpoints: model.NewEndpoints([]model.Endpoint{{Addr: netip.MustParseAddr("fd00::1")}})},
				{Namespace: "default", Name: "db-3", Service: "db", Ports: []model.Port{{Name: "b", Protocol: "tcp", Port: 81}},
					Endpoints: model.NewEndpoints([]model.Endpoint{{Addr: netip.MustParseAddr("10.0.0.9")}})},
			},
		},
		{
			name:   "skip-mirror label",
			labels: map[string]string{"endpointslice.kubernetes.io/skip-mirror": "true"},
			subs:   []corev1.EndpointSubset{{Addresses: []corev1.EndpointAddress{{IP: "10.0.0.1"}}}},
		},
		{
			name: "no subsets",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := MirrorEndpoints(&corev1.Endpoints{
				ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "db", Labels: tt.labels},
				Subsets:    tt.subs,
			}, false)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("MirrorEndpoints =\n%s\nwant\n%s", dumpSlices(got), dumpSlices(tt.want))
			}
		})
	}
}

func dumpSlices(ss []*model.EndpointSlice) string {
	s := ""
	for _, e := range ss {
		s += "  " + e.Key() + " svc=" + e.Service + " " + sprint(e.Ports) + " " + sprint(e.Endpoints) + "\n"
	}
	return s
}

func sprint(v any) string { return fmt.Sprintf("%+v", v) }

func TestMirrorEndpointsKeepsPodNamesWhenAsked(t *testing.T) {
	ep := &corev1.Endpoints{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "db"},
		Subsets: []corev1.EndpointSubset{{Addresses: []corev1.EndpointAddress{
			{IP: "10.0.0.1", TargetRef: &corev1.ObjectReference{Kind: "Pod", Name: "db-abc"}},
			{IP: "10.0.0.2", Hostname: "db-1", TargetRef: &corev1.ObjectReference{Kind: "Pod", Name: "db-def"}},
		}}},
	}
	got := MirrorEndpoints(ep, true)[0].Endpoints
	if got.At(0).Name != "db-abc" || got.At(1).Name != "db-1" {
		t.Errorf("names %q %q, want the pod name, and the hostname over the pod name", got.At(0).Name, got.At(1).Name)
	}
	if got := MirrorEndpoints(ep, false)[0].Endpoints; got.At(0).Name != "" {
		t.Errorf("name %q without endpoint_pod_names, want none", got.At(0).Name)
	}
}
