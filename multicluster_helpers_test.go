package clusterdns

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/clusterdns/clusterdns/internal/source/kube"

	"github.com/coredns/caddy"
	"github.com/coredns/coredns/plugin/test"
	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	kubefake "k8s.io/client-go/kubernetes/fake"
	"k8s.io/utils/ptr"
	mcs "sigs.k8s.io/mcs-api/pkg/apis/v1alpha1"
	mcsfake "sigs.k8s.io/mcs-api/pkg/client/clientset/versioned/fake"
	mcsclient "sigs.k8s.io/mcs-api/pkg/client/clientset/versioned/typed/apis/v1alpha1"
)

// multiclusterZones is the stanza's zone line in the multicluster tests: the kubernetes plugin's
// README example, with the reverse zones.
const multiclusterZones = "cluster.local clusterset.local in-addr.arpa ip6.arpa"

// startMulticluster starts the plugin with `multicluster clusterset.local` on fake API servers
// holding objs (Kubernetes objects) and imports (MCS objects), and waits for it to be ready.
func startMulticluster(t *testing.T, body string, kubeClient kubernetes.Interface, mcsClient *mcsfake.Clientset) *ClusterDNS {
	t.Helper()
	cd := newMulticlusterPlugin(t, body, kubeClient, mcsClient)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for !cd.Ready() {
		select {
		case <-ctx.Done():
			t.Fatal("not ready")
		case <-time.After(10 * time.Millisecond):
		}
	}
	return cd
}

// newMulticlusterPlugin starts the plugin without waiting for it to be ready.
func newMulticlusterPlugin(t *testing.T, body string, kubeClient kubernetes.Interface, mcsClient *mcsfake.Clientset) *ClusterDNS {
	t.Helper()
	c := caddy.NewTestController("dns", "clusterdns "+multiclusterZones+" {\nmulticluster clusterset.local\n"+body+"\n}")
	c.Next()
	cfg, err := parseStanza(c)
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.validate(); err != nil {
		t.Fatal(err)
	}
	cd, err := newClusterDNS(cfg, []netip.Addr{testNSAddr})
	if err != nil {
		t.Fatal(err)
	}
	src := cd.src.(*kubeSource)
	src.connect = func(kube.ClientConfig) (kubernetes.Interface, error) { return kubeClient, nil }
	src.imports.connect = func(kube.ClientConfig) (mcsclient.MulticlusterV1alpha1Interface, error) {
		return mcsClient.MulticlusterV1alpha1(), nil
	}
	if err := cd.start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cd.shutdown() })
	return cd
}

// mcSOA is the SOA of negative answers in the clusterset zone.
func mcSOA() dns.RR {
	return test.SOA("clusterset.local. 5 IN SOA ns.dns.clusterset.local. hostmaster.clusterset.local. 1 7200 1800 86400 5")
}

func mcNX(name string, qtype uint16) test.Case {
	return test.Case{Qname: name, Qtype: qtype, Rcode: dns.RcodeNameError, Ns: []dns.RR{mcSOA()}}
}

func mcNodata(name string, qtype uint16) test.Case {
	return test.Case{Qname: name, Qtype: qtype, Ns: []dns.RR{mcSOA()}}
}

func serviceImport(ns, name string, typ mcs.ServiceImportType, ips []string, ports ...mcs.ServicePort) *mcs.ServiceImport {
	return &mcs.ServiceImport{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec:       mcs.ServiceImportSpec{Type: typ, IPs: ips, Ports: ports},
	}
}

// mcEndpoint is one endpoint of an imported slice: its address, hostname ("" for none), readiness.
type mcEndpoint struct {
	addr, hostname string
	ready          bool
}

// importedSlice is an EndpointSlice as an MCS controller writes it for service in cluster.
func importedSlice(ns, name, service, cluster string, family discoveryv1.AddressType, ports []discoveryv1.EndpointPort, eps ...mcEndpoint) *discoveryv1.EndpointSlice {
	labels := map[string]string{mcs.LabelServiceName: service}
	if cluster != "" {
		labels[mcs.LabelSourceCluster] = cluster
	}
	sl := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels},
		AddressType: family,
		Ports:       ports,
	}
	for _, e := range eps {
		ep := discoveryv1.Endpoint{Addresses: []string{e.addr}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(e.ready)}}
		if e.hostname != "" {
			ep.Hostname = ptr.To(e.hostname)
		}
		sl.Endpoints = append(sl.Endpoints, ep)
	}
	return sl
}

func slicePort(name string, proto corev1.Protocol, port int32) discoveryv1.EndpointPort {
	return discoveryv1.EndpointPort{Name: ptr.To(name), Protocol: ptr.To(proto), Port: ptr.To(port)}
}

func namespace(name string) *corev1.Namespace {
	return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
}

// clustersetObjects are two imports of namespace data: web (ClusterSetIP, dual-stack, a named and
// an unnamed port, one endpoint exported from cluster east) and db (Headless, endpoints from
// clusters east and west, IPv4 and IPv6, a not-ready one and one without hostname), and an
// empty headless import; a local service web in default; a slice labelled for an import that
// does not exist.
func clustersetObjects() ([]runtime.Object, []runtime.Object) {
	sql := []discoveryv1.EndpointPort{slicePort("sql", corev1.ProtocolTCP, 5432)}
	kubeObjs := []runtime.Object{
		namespace("default"), namespace("data"),
		&corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "web"},
			Spec:       corev1.ServiceSpec{ClusterIP: "10.96.0.80", ClusterIPs: []string{"10.96.0.80"}, Ports: []corev1.ServicePort{{Name: "http", Protocol: corev1.ProtocolTCP, Port: 80}}},
		},
		importedSlice("data", "web-east", "web", "east", discoveryv1.AddressTypeIPv4,
			[]discoveryv1.EndpointPort{slicePort("http", corev1.ProtocolTCP, 8080)}, mcEndpoint{"10.1.1.1", "w-0", true}),
		importedSlice("data", "db-east", "db", "east", discoveryv1.AddressTypeIPv4, sql,
			mcEndpoint{"10.1.0.1", "db-0", true}, mcEndpoint{"10.1.0.2", "", true}, mcEndpoint{"10.1.0.3", "db-2", false}),
		importedSlice("data", "db-west", "db", "west", discoveryv1.AddressTypeIPv4, sql, mcEndpoint{"10.2.0.1", "db-0", true}),
		importedSlice("data", "db-west-v6", "db", "west", discoveryv1.AddressTypeIPv6, sql, mcEndpoint{"fd00:2::1", "db-1", true}),
		importedSlice("data", "orphan-east", "orphan", "east", discoveryv1.AddressTypeIPv4, sql, mcEndpoint{"10.1.9.9", "o-0", true}),
	}
	mcsObjs := []runtime.Object{
		serviceImport("data", "web", mcs.ClusterSetIP, []string{"10.42.0.1", "fd00:42::1"},
			mcs.ServicePort{Name: "http", Protocol: corev1.ProtocolTCP, Port: 80},
			mcs.ServicePort{Protocol: corev1.ProtocolUDP, Port: 53}),
		serviceImport("data", "db", mcs.Headless, nil, mcs.ServicePort{Name: "sql", Protocol: corev1.ProtocolTCP, Port: 5432}),
		serviceImport("data", "empty", mcs.Headless, nil, mcs.ServicePort{Name: "sql", Protocol: corev1.ProtocolTCP, Port: 5432}),
	}
	return kubeObjs, mcsObjs
}

func startClusterset(t *testing.T, body string) *ClusterDNS {
	kubeObjs, mcsObjs := clustersetObjects()
	return startMulticluster(t, body, kubefake.NewClientset(kubeObjs...), mcsfake.NewSimpleClientset(mcsObjs...))
}
