package source

import (
	"net/netip"
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/clusterdns/clusterdns/internal/model"
)

func addrs(ss ...string) []netip.Addr {
	var out []netip.Addr
	for _, s := range ss {
		out = append(out, netip.MustParseAddr(s))
	}
	return out
}

func TestConvertServiceClusterIPs(t *testing.T) {
	tests := []struct {
		name         string
		spec         corev1.ServiceSpec
		wantHeadless bool
		wantIPs      []netip.Addr
		wantExternal string
	}{
		{
			name:    "cluster IP",
			spec:    corev1.ServiceSpec{ClusterIP: "10.96.0.1", ClusterIPs: []string{"10.96.0.1"}},
			wantIPs: addrs("10.96.0.1"),
		},
		{
			name:         "headless has no IPs",
			spec:         corev1.ServiceSpec{ClusterIP: "None", ClusterIPs: []string{"None"}},
			wantHeadless: true,
		},
		{
			name:         "headless given only as clusterIPs",
			spec:         corev1.ServiceSpec{ClusterIPs: []string{"None"}},
			wantHeadless: true,
		},
		{
			name:    "dual-stack keeps spec order",
			spec:    corev1.ServiceSpec{ClusterIP: "fd00:10:96::28", ClusterIPs: []string{"fd00:10:96::28", "10.96.10.40"}},
			wantIPs: addrs("fd00:10:96::28", "10.96.10.40"),
		},
		{
			name:    "falls back to clusterIP",
			spec:    corev1.ServiceSpec{ClusterIP: "10.96.10.20"},
			wantIPs: addrs("10.96.10.20"),
		},
		{
			name:    "skips empty and unparseable entries",
			spec:    corev1.ServiceSpec{ClusterIP: "10.96.10.20", ClusterIPs: []string{"", "10.96.10.20", "not-an-ip"}},
			wantIPs: addrs("10.96.10.20"),
		},
		{
			name:    "IPv4-mapped IPv6 is unmapped",
			spec:    corev1.ServiceSpec{ClusterIPs: []string{"::ffff:10.96.0.7"}},
			wantIPs: addrs("10.96.0.7"),
		},
		{
			name:         "ExternalName trailing dot trimmed",
			spec:         corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "my.database.example.com."},
			wantExternal: "my.database.example.com",
		},
		{
			name:         "ExternalName without dot kept",
			spec:         corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "my.database.example.com"},
			wantExternal: "my.database.example.com",
		},
		{
			name:    "externalName ignored unless type ExternalName",
			spec:    corev1.ServiceSpec{Type: corev1.ServiceTypeClusterIP, ClusterIP: "10.96.1.1", ExternalName: "x.example.com"},
			wantIPs: addrs("10.96.1.1"),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ConvertService(&corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "svc"}, Spec: tt.spec})
			if got.Namespace != "ns" || got.Name != "svc" {
				t.Errorf("key = %s, want ns/svc", got.Key())
			}
			if got.Headless != tt.wantHeadless {
				t.Errorf("Headless = %v, want %v", got.Headless, tt.wantHeadless)
			}
			if !reflect.DeepEqual(got.ClusterIPs, tt.wantIPs) {
				t.Errorf("ClusterIPs = %v, want %v", got.ClusterIPs, tt.wantIPs)
			}
			if got.ExternalName != tt.wantExternal {
				t.Errorf("ExternalName = %q, want %q", got.ExternalName, tt.wantExternal)
			}
		})
	}
}

func TestConvertServicePortsAndSelector(t *testing.T) {
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: "kube-system", Name: "kube-dns"},
		Spec: corev1.ServiceSpec{
			ClusterIP: "10.96.0.10",
			Selector:  map[string]string{"k8s-app": "kube-dns"},
			Ports: []corev1.ServicePort{
				{Name: "dns", Protocol: corev1.ProtocolUDP, Port: 53},
				{Name: "dns-tcp", Protocol: corev1.ProtocolTCP, Port: 53},
				{Name: "metrics", Port: 9153}, // protocol unset
				{Name: "sctp", Protocol: corev1.ProtocolSCTP, Port: 9999},
				{Name: "bad", Port: 70000},
			},
		},
	}
	got := ConvertService(svc)
	want := []model.Port{
		{Name: "dns", Protocol: "udp", Port: 53},
		{Name: "dns-tcp", Protocol: "tcp", Port: 53},
		{Name: "metrics", Protocol: "tcp", Port: 9153},
		{Name: "sctp", Protocol: "sctp", Port: 9999},
	}
	if !reflect.DeepEqual(got.Ports, want) {
		t.Errorf("Ports = %+v, want %+v", got.Ports, want)
	}
	if !got.HasSelector {
		t.Error("HasSelector = false for a service with a selector")
	}
	svc.Spec.Selector = nil
	if ConvertService(svc).HasSelector {
		t.Error("HasSelector = true for a service without selector")
	}
}

func TestEndpointReadiness(t *testing.T) {
	tests := []struct {
		name        string
		ready       *bool
		terminating *bool
		want        bool
	}{
		{"ready true", ptr.To(true), nil, true},
		{"ready false", ptr.To(false), nil, false},
		{"unset counts as ready", nil, nil, true},
		{"unset and not terminating", nil, ptr.To(false), true},
		{"unset and terminating is not ready", nil, ptr.To(true), false},
		{"terminating but published (ready true)", ptr.To(true), ptr.To(true), true},
		{"terminating and not ready", ptr.To(false), ptr.To(true), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			es := &discoveryv1.EndpointSlice{
				ObjectMeta:  metav1.ObjectMeta{Namespace: "default", Name: "web-abc", Labels: map[string]string{"kubernetes.io/service-name": "web"}},
				AddressType: discoveryv1.AddressTypeIPv4,
				Endpoints: []discoveryv1.Endpoint{{
					Addresses:  []string{"10.244.2.8"},
					Conditions: discoveryv1.EndpointConditions{Ready: tt.ready, Terminating: tt.terminating},
				}},
			}
			got := ConvertEndpointSlice(es, false)
			if kept := got.Endpoints.Len() == 1; kept != tt.want {
				t.Errorf("endpoint kept = %v, want %v (only ready endpoints are kept)", kept, tt.want)
			}
		})
	}
}

func TestConvertEndpointSliceServesNoName(t *testing.T) {
	tests := []struct {
		name   string
		labels map[string]string
		family discoveryv1.AddressType
	}{
		{"FQDN slice skipped", map[string]string{"kubernetes.io/service-name": "web"}, discoveryv1.AddressTypeFQDN},
		{"missing service-name label", map[string]string{"app": "web"}, discoveryv1.AddressTypeIPv4},
		{"empty service-name label", map[string]string{"kubernetes.io/service-name": ""}, discoveryv1.AddressTypeIPv4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			es := &discoveryv1.EndpointSlice{
				ObjectMeta:  metav1.ObjectMeta{Namespace: "default", Name: "web-abc", Labels: tt.labels},
				AddressType: tt.family,
				Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{"web.example.com"}}},
			}
			if got := ConvertEndpointSlice(es, false); got != nil {
				t.Errorf("ConvertEndpointSlice = %+v, want nil", got)
			}
		})
	}
}

func TestConvertEndpointSliceFields(t *testing.T) {
	es := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Namespace: "middleware", Name: "zk-q5jzd", Labels: map[string]string{"kubernetes.io/service-name": "zookeeper-headless"}},
		AddressType: discoveryv1.AddressTypeIPv6,
		Ports: []discoveryv1.EndpointPort{
			{Name: ptr.To("client"), Protocol: ptr.To(corev1.ProtocolTCP), Port: ptr.To(int32(2181))},
			{Name: nil, Protocol: nil, Port: ptr.To(int32(80))},         // unnamed, protocol unset
			{Name: ptr.To("all"), Protocol: ptr.To(corev1.ProtocolUDP)}, // no port: skipped
			{Name: ptr.To("dns"), Protocol: ptr.To(corev1.ProtocolUDP), Port: ptr.To(int32(53))},
		},
		Endpoints: []discoveryv1.Endpoint{
			{
				Addresses: []string{"fd00:10:244:4::10"},
				Hostname:  ptr.To("zookeeper-0"),
				TargetRef: &corev1.ObjectReference{Kind: "Pod", Name: "zookeeper-0", Namespace: "middleware"},
				Zone:      ptr.To("US-East-1.A"), // lower-cased: DNS names compare without case
			},
			{
				Addresses: []string{"fd00:10:244:4::11"},
				TargetRef: &corev1.ObjectReference{Kind: "Node", Name: "worker-4"}, // not a pod
			},
			{Addresses: []string{"garbage"}}, // no usable address: dropped
			{
				Addresses: []string{"fd00:10:244:4::12"},
				TargetRef: &corev1.ObjectReference{Kind: "Pod", Name: "zookeeper-2"},
			},
		},
	}
	got := ConvertEndpointSlice(es, false)
	want := &model.EndpointSlice{
		Namespace: "middleware",
		Name:      "zk-q5jzd",
		Service:   "zookeeper-headless",
		Ports: []model.Port{
			{Name: "client", Protocol: "tcp", Port: 2181},
			{Name: "", Protocol: "tcp", Port: 80},
			{Name: "dns", Protocol: "udp", Port: 53},
		},
	}
	ready := []model.Endpoint{
		{Addr: netip.MustParseAddr("fd00:10:244:4::10"), Name: "zookeeper-0", Zone: "us-east-1.a"},
		{Addr: netip.MustParseAddr("fd00:10:244:4::11")},
		{Addr: netip.MustParseAddr("fd00:10:244:4::12")},
	}
	want.Endpoints = model.NewEndpoints(ready)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ConvertEndpointSlice =\n%+v\nwant\n%+v", got, want)
	}
	// With endpoint_pod_names, an endpoint without hostname is named by its pod; a hostname wins.
	ready[2].Name = "zookeeper-2"
	want.Endpoints = model.NewEndpoints(ready)
	if got := ConvertEndpointSlice(es, true); !reflect.DeepEqual(got, want) {
		t.Errorf("ConvertEndpointSlice keeping pod names =\n%+v\nwant\n%+v", got, want)
	}
}

func TestConvertPod(t *testing.T) {
	tests := []struct {
		name   string
		spec   corev1.PodSpec
		status corev1.PodStatus
		want   []netip.Addr // nil: pod skipped
	}{
		{
			name:   "dual-stack podIPs",
			status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "10.244.3.7", PodIPs: []corev1.PodIP{{IP: "10.244.3.7"}, {IP: "fd00:10:244:3::7"}}},
			want:   addrs("10.244.3.7", "fd00:10:244:3::7"),
		},
		{
			name:   "falls back to podIP",
			status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "10.244.1.21"},
			want:   addrs("10.244.1.21"),
		},
		{
			name:   "pending pod without IP skipped",
			status: corev1.PodStatus{Phase: corev1.PodPending},
		},
		{
			name:   "host-network pod skipped",
			spec:   corev1.PodSpec{HostNetwork: true},
			status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "192.168.49.2"},
		},
		{
			name:   "succeeded pod skipped",
			status: corev1.PodStatus{Phase: corev1.PodSucceeded, PodIP: "10.244.1.50"},
		},
		{
			name:   "failed pod skipped",
			status: corev1.PodStatus{Phase: corev1.PodFailed, PodIP: "10.244.1.51"},
		},
		{
			name:   "unparseable IP skipped",
			status: corev1.PodStatus{Phase: corev1.PodRunning, PodIPs: []corev1.PodIP{{IP: "nope"}, {IP: "10.244.1.52"}}},
			want:   addrs("10.244.1.52"),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ConvertPod(&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "p"}, Spec: tt.spec, Status: tt.status})
			if tt.want == nil {
				if got != nil {
					t.Fatalf("ConvertPod = %+v, want nil", got)
				}
				return
			}
			if got == nil {
				t.Fatal("ConvertPod = nil")
			}
			if got.Key() != "default/p" || !reflect.DeepEqual(got.IPs, tt.want) {
				t.Errorf("ConvertPod = %s %v, want default/p %v", got.Key(), got.IPs, tt.want)
			}
		})
	}
}

func TestConvertNamespaceCopiesLabels(t *testing.T) {
	labels := map[string]string{"team": "dns"}
	got := ConvertNamespace(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "middleware", Labels: labels}})
	labels["team"] = "changed"
	if got.Name != "middleware" || got.Labels["team"] != "dns" {
		t.Errorf("ConvertNamespace = %+v, want middleware with its own copy of team=dns", got)
	}
}
