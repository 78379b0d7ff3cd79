package e2e

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
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

// mcsNamespace holds the imports of the multicluster tests.
const mcsNamespace = "mcs-data"

// installMCSCRDs creates the ServiceImport and ServiceExport CRDs of the sigs.k8s.io/mcs-api
// module (the version the kubernetes plugin is built with) and waits until ServiceImports can be
// listed.
func installMCSCRDs(ctx context.Context, cfg *rest.Config) (mcsclient.MulticlusterV1alpha1Interface, error) {
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, err
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
		return nil, err
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

// mcsEndpoint is an endpoint of an imported slice.
type mcsEndpoint struct {
	addr, hostname string
	ready          bool
}

// mcsSlice is an EndpointSlice as an MCS controller writes it: labelled with the imported
// service and its source cluster, managed by the controller, without kubernetes.io/service-name.
func mcsSlice(name, service, cluster string, family discoveryv1.AddressType, ports []discoveryv1.EndpointPort, eps ...mcsEndpoint) *discoveryv1.EndpointSlice {
	sl := &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Namespace: mcsNamespace, Name: name, Labels: map[string]string{
			mcs.LabelServiceName:       service,
			mcs.LabelSourceCluster:     cluster,
			discoveryv1.LabelManagedBy: "mcs-controller.e2e.clusterdns.invalid",
		}},
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

func mcsPort(name string, proto corev1.Protocol, port int32) discoveryv1.EndpointPort {
	return discoveryv1.EndpointPort{Name: ptr.To(name), Protocol: ptr.To(proto), Port: ptr.To(port)}
}

// createImports writes the imports of the comparison: web (ClusterSetIP, dual-stack, named and
// unnamed ports, an endpoint in east), db (Headless, endpoints in east and west, IPv4 and IPv6,
// one hostname in both clusters, one endpoint without hostname, one not ready), cache (Headless,
// no ready endpoint) and pending (ClusterSetIP without an IP yet).
func createImports(ctx context.Context, t *testing.T, s *suite, mc mcsclient.MulticlusterV1alpha1Interface) {
	t.Helper()
	if err := createNamespace(ctx, s.cp, mcsNamespace); err != nil {
		t.Fatal(err)
	}
	tcp := func(name string, port int32) mcs.ServicePort {
		return mcs.ServicePort{Name: name, Protocol: corev1.ProtocolTCP, Port: port}
	}
	imports := []*mcs.ServiceImport{
		{ObjectMeta: metav1.ObjectMeta{Name: "web"}, Spec: mcs.ServiceImportSpec{Type: mcs.ClusterSetIP, IPs: []string{"10.42.0.1", "fd00:42::1"},
			Ports: []mcs.ServicePort{tcp("http", 80), {Name: "dns", Protocol: corev1.ProtocolUDP, Port: 53}, tcp("", 8443)}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "db"}, Spec: mcs.ServiceImportSpec{Type: mcs.Headless, Ports: []mcs.ServicePort{tcp("sql", 5432)}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "cache"}, Spec: mcs.ServiceImportSpec{Type: mcs.Headless, Ports: []mcs.ServicePort{tcp("redis", 6379)}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "pending"}, Spec: mcs.ServiceImportSpec{Type: mcs.ClusterSetIP, Ports: []mcs.ServicePort{tcp("http", 80)}}},
	}
	for _, imp := range imports {
		if _, err := mc.ServiceImports(mcsNamespace).Create(ctx, imp, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatal(err)
		}
	}
	sql := []discoveryv1.EndpointPort{mcsPort("sql", corev1.ProtocolTCP, 5432)}
	slices := []*discoveryv1.EndpointSlice{
		mcsSlice("db-east", "db", "east", discoveryv1.AddressTypeIPv4, sql,
			mcsEndpoint{"10.1.0.1", "db-0", true}, mcsEndpoint{"10.1.0.2", "", true}, mcsEndpoint{"10.1.0.3", "db-2", false}),
		mcsSlice("db-west", "db", "west", discoveryv1.AddressTypeIPv4, sql, mcsEndpoint{"10.2.0.1", "db-0", true}),
		mcsSlice("db-west-v6", "db", "west", discoveryv1.AddressTypeIPv6, sql, mcsEndpoint{"fd00:2::1", "db-1", true}),
		mcsSlice("web-east", "web", "east", discoveryv1.AddressTypeIPv4,
			[]discoveryv1.EndpointPort{mcsPort("http", corev1.ProtocolTCP, 8080)}, mcsEndpoint{"10.1.1.1", "w-0", true}),
		mcsSlice("cache-east", "cache", "east", discoveryv1.AddressTypeIPv4,
			[]discoveryv1.EndpointPort{mcsPort("redis", corev1.ProtocolTCP, 6379)}, mcsEndpoint{"10.1.2.1", "c-0", false}),
	}
	for _, sl := range slices {
		if _, err := s.cp.Client.DiscoveryV1().EndpointSlices(mcsNamespace).Create(ctx, sl, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatal(err)
		}
	}
}

// multiclusterOptions are the main instance's options with `multicluster clusterset.local`.
func (s *suite) multiclusterOptions() corefileOptions {
	o := s.corefileOptions()
	o.zones = []string{"clusterset.local"}
	o.stanza = []string{"multicluster clusterset.local"}
	return o
}

// crdMissingLog is the line clusterdns logs, once, while the ServiceImport CRD is missing.
const crdMissingLog = "install the Multi-Cluster Services API CRDs"

// Without the MCS CRDs the cluster zone answers in full, the clusterset zone gets SERVFAIL, the
// ready plugin names clusterdns as not ready, and one line in the log says why; once the CRDs
// are installed, the plugin becomes ready by itself. Runs before the CRDs are installed by the
// tests below, and is skipped if something installed them before.
func TestMulticlusterWithoutCRDsThenInstalled(t *testing.T) {
	s := needLive(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	mc, err := mcsclient.NewForConfig(s.cp.RESTConfig)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mc.ServiceImports(metav1.NamespaceAll).List(ctx, metav1.ListOptions{}); err == nil {
		t.Skip("the MCS CRDs are installed already")
	}
	c := s.startExtraCoreDNS(t, "multicluster-nocrd", s.multiclusterOptions())
	if err := c.waitServing(ctx, "kubernetes.default.svc.cluster.local.", dns.TypeA); err != nil {
		t.Fatal(err)
	}
	for _, network := range networks {
		if r := c.ask(t, network, "kubernetes.default.svc.cluster.local.", dns.TypeA); r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 {
			t.Errorf("cluster zone over %s: %s with %d answers, want the ClusterIP", network, rcodeName(r.Rcode), len(r.Answer))
		}
		if r := c.ask(t, network, "nothing.default.svc.cluster.local.", dns.TypeA); r.Rcode != dns.RcodeNameError {
			t.Errorf("cluster zone miss over %s: %s, want NXDOMAIN", network, rcodeName(r.Rcode))
		}
		if r := c.ask(t, network, "web."+mcsNamespace+".svc.clusterset.local.", dns.TypeA); r.Rcode != dns.RcodeServerFailure {
			t.Errorf("clusterset zone over %s: %s, want SERVFAIL (never a false NXDOMAIN)", network, rcodeName(r.Rcode))
		}
	}
	if code, body, err := c.readyStatus(ctx); err != nil || code == 200 || !strings.Contains(body, "clusterdns") {
		t.Errorf("/ready: %d %q (%v), want not ready, naming clusterdns", code, body, err)
	}
	for strings.Count(c.LogTail(1<<20), crdMissingLog) == 0 {
		select {
		case <-ctx.Done():
			t.Fatalf("no log line %q", crdMissingLog)
		case <-time.After(50 * time.Millisecond):
		}
	}

	if _, err := installMCSCRDs(ctx, s.cp.RESTConfig); err != nil {
		t.Fatal(err)
	}
	if err := c.waitReady(ctx); err != nil {
		t.Fatal(err)
	}
	if r := c.ask(t, "udp", "nothing."+mcsNamespace+".svc.clusterset.local.", dns.TypeA); r.Rcode != dns.RcodeNameError {
		t.Errorf("clusterset zone once the CRDs are in: %s, want NXDOMAIN", rcodeName(r.Rcode))
	}
	if n := strings.Count(c.LogTail(1<<20), crdMissingLog); n != 1 {
		t.Errorf("%d log lines about the missing CRDs, want 1", n)
	}
}

// The MCS DNS specification as both plugins serve it: the built binary and the kubernetes
// plugin in it, with `multicluster clusterset.local` in both stanzas, asked the same questions
// over UDP and TCP.
func TestMulticlusterMatchesKubernetesPlugin(t *testing.T) {
	s := needLive(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	mc, err := installMCSCRDs(ctx, s.cp.RESTConfig)
	if err != nil {
		t.Fatal(err)
	}
	createImports(ctx, t, s, mc)

	o := s.multiclusterOptions()
	ours := s.startExtraCoreDNS(t, "multicluster", o)
	ref := s.reference(t, "multicluster-kubernetes", o)
	for _, c := range []*coreDNS{ours, ref} {
		// The ready endpoint may answer before the listeners open: wait for both.
		if err := c.waitReady(ctx); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if err := c.waitServing(ctx, "clusterset.local.", dns.TypeSOA); err != nil {
			t.Fatal(err)
		}
	}

	z := "." + mcsNamespace + ".svc.clusterset.local."
	qs := []question{
		{"clusterset.local.", dns.TypeSOA}, {"clusterset.local.", dns.TypeA},
		{"dns-version.clusterset.local.", dns.TypeTXT},
		{"svc.clusterset.local.", dns.TypeA}, {mcsNamespace + ".svc.clusterset.local.", dns.TypeA},
		{"nowhere.svc.clusterset.local.", dns.TypeA}, {"missing" + z, dns.TypeA}, {"missing" + z, dns.TypeSRV},
		// ClusterSetIP (MCS 2.3).
		{"web" + z, dns.TypeA}, {"web" + z, dns.TypeAAAA}, {"web" + z, dns.TypeSRV}, {"web" + z, dns.TypeTXT},
		{"WEB.Mcs-Data.svc.ClusterSet.local.", dns.TypeA},
		{"_http._tcp.web" + z, dns.TypeSRV}, {"_HTTP._TCP.web" + z, dns.TypeSRV}, {"_dns._udp.web" + z, dns.TypeSRV},
		{"_http._udp.web" + z, dns.TypeSRV}, {"_https._tcp.web" + z, dns.TypeSRV}, {"_http._tcp.web" + z, dns.TypeA},
		{"_tcp.web" + z, dns.TypeSRV},
		{"w-0.east.web" + z, dns.TypeA}, {"w-0.west.web" + z, dns.TypeA},
		{"pending" + z, dns.TypeA}, {"pending" + z, dns.TypeAAAA}, {"pending" + z, dns.TypeSRV},
		{"_http._tcp.pending" + z, dns.TypeSRV},
		// Headless (MCS 2.4), endpoints from two clusters.
		{"db" + z, dns.TypeA}, {"db" + z, dns.TypeAAAA}, {"db" + z, dns.TypeSRV}, {"db" + z, dns.TypeTXT},
		{"DB.mcs-data.SVC.clusterset.local.", dns.TypeAAAA},
		{"db-0.east.db" + z, dns.TypeA}, {"db-0.east.db" + z, dns.TypeAAAA}, {"db-0.east.db" + z, dns.TypeSRV},
		{"db-0.west.db" + z, dns.TypeA}, {"Db-0.West.db" + z, dns.TypeA},
		{"db-1.west.db" + z, dns.TypeAAAA}, {"db-1.west.db" + z, dns.TypeA}, {"db-1.east.db" + z, dns.TypeAAAA},
		{"10-1-0-2.east.db" + z, dns.TypeA}, {"db-2.east.db" + z, dns.TypeA}, {"10-1-0-3.east.db" + z, dns.TypeA},
		{"db-0.db" + z, dns.TypeA}, {"north.db" + z, dns.TypeA},
		{"_sql._tcp.db" + z, dns.TypeSRV}, {"_SQL._Tcp.db" + z, dns.TypeSRV}, {"_sql._udp.db" + z, dns.TypeSRV},
		{"_redis._tcp.db" + z, dns.TypeSRV},
		{"cache" + z, dns.TypeA}, {"cache" + z, dns.TypeSRV}, {"c-0.east.cache" + z, dns.TypeA}, {"_redis._tcp.cache" + z, dns.TypeSRV},
		// Search-path misses (rule 13) and the cluster zone beside.
		{"db." + mcsNamespace + ".svc" + z, dns.TypeA},
		{"db." + mcsNamespace + ".svc.cluster.local.", dns.TypeA},
		{"kubernetes.default.svc.cluster.local.", dns.TypeA},
		{"kubernetes.default.svc.clusterset.local.", dns.TypeA},
	}
	deliberate := map[question]string{
		{"dns-version.clusterset.local.", dns.TypeTXT}: `MCS 2.2: "1.0.0" in the clusterset zone`,
		{"_tcp.web" + z, dns.TypeSRV}:                  "RFC 8020: an empty non-terminal is NODATA",
		{"east.db" + z, dns.TypeA}:                     "RFC 8020: an empty non-terminal is NODATA",
		{"_tcp.db" + z, dns.TypeSRV}:                   "RFC 8020: an empty non-terminal is NODATA",
		{"_http._tcp.web" + z, dns.TypeA}:              "MCS 2.3.2: _port._proto names are SRV only; the kubernetes plugin answers the clusterset IP",
	}
	qs = append(qs, question{"east.db" + z, dns.TypeA}, question{"_tcp.db" + z, dns.TypeSRV})
	if len(qs) < 50 {
		t.Fatalf("%d questions, want 50 or more", len(qs))
	}
	compareWithReference(t, ours, ref, qs, deliberate)
}
