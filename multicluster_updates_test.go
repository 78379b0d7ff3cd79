package clusterdns

import (
	"context"
	"testing"

	"github.com/coredns/coredns/plugin/test"
	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	kubefake "k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	mcs "sigs.k8s.io/mcs-api/pkg/apis/v1alpha1"
	mcsfake "sigs.k8s.io/mcs-api/pkg/client/clientset/versioned/fake"
)

// Changes to imports and to the slices of their clusters (rule 20), in the clusterset zone.
func TestClustersetChanges(t *testing.T) {
	kubeObjs, mcsObjs := clustersetObjects()
	kc, mc := kubefake.NewClientset(kubeObjs...), mcsfake.NewSimpleClientset(mcsObjs...)
	cd := startMulticluster(t, "", kc, mc)
	ctx := context.Background()
	slices := kc.DiscoveryV1().EndpointSlices("data")
	imports := mc.MulticlusterV1alpha1().ServiceImports("data")

	// A third cluster exports db.
	sql := []discoveryv1.EndpointPort{slicePort("sql", corev1.ProtocolTCP, 5432)}
	if _, err := slices.Create(ctx, importedSlice("data", "db-south", "db", "south", discoveryv1.AddressTypeIPv4, sql,
		mcEndpoint{"10.3.0.1", "db-0", true}), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, cd, "db.data.svc.clusterset.local.", 4)
	expect(t, cd, "db-0.south.db.data.svc.clusterset.local.", dns.TypeA, dns.RcodeSuccess, 1)

	// West withdraws: its endpoints' names go, the others stay.
	for _, name := range []string{"db-west", "db-west-v6"} {
		if err := slices.Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, cd, "db.data.svc.clusterset.local.", 3)
	waitForType(t, cd, "db.data.svc.clusterset.local.", dns.TypeAAAA, 0) // the two deletions come apart
	expect(t, cd, "db-0.west.db.data.svc.clusterset.local.", dns.TypeA, dns.RcodeNameError, 0)
	expect(t, cd, "db.data.svc.clusterset.local.", dns.TypeAAAA, dns.RcodeSuccess, 0)
	expect(t, cd, "db-0.east.db.data.svc.clusterset.local.", dns.TypeA, dns.RcodeSuccess, 1)

	// An endpoint goes unready in east.
	if _, err := slices.Update(ctx, importedSlice("data", "db-east", "db", "east", discoveryv1.AddressTypeIPv4, sql,
		mcEndpoint{"10.1.0.1", "db-0", false}, mcEndpoint{"10.1.0.2", "", true}), metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, cd, "db.data.svc.clusterset.local.", 2)
	expect(t, cd, "db-0.east.db.data.svc.clusterset.local.", dns.TypeA, dns.RcodeNameError, 0)

	// The import turns ClusterSetIP: its clusterset IP answers, not the endpoints.
	if _, err := imports.Update(ctx, serviceImport("data", "db", mcs.ClusterSetIP, []string{"10.42.0.5"},
		mcs.ServicePort{Name: "sql", Protocol: corev1.ProtocolTCP, Port: 5432}), metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, cd, "db.data.svc.clusterset.local.", 1)

	// The import goes; its slices stay, and answer nothing.
	if err := imports.Delete(ctx, "db", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, cd, "db.data.svc.clusterset.local.", 0)
	expect(t, cd, "db.data.svc.clusterset.local.", dns.TypeA, dns.RcodeNameError, 0)
	expect(t, cd, "db-0.south.db.data.svc.clusterset.local.", dns.TypeA, dns.RcodeNameError, 0)
	// ...until it comes back.
	if _, err := imports.Create(ctx, serviceImport("data", "db", mcs.Headless, nil), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, cd, "db.data.svc.clusterset.local.", 2)
}

// Without the ServiceImport CRD the clusterset zone never syncs: the plugin is not ready and
// clusterset names get SERVFAIL (rule 18), while the cluster zone answers in full.
func TestClustersetWithoutCRD(t *testing.T) {
	kubeObjs, _ := clustersetObjects()
	mc := mcsfake.NewSimpleClientset()
	mc.PrependReactor("list", "serviceimports", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewNotFound(schema.GroupResource{Group: mcs.GroupName, Resource: "serviceimports"}, "")
	})
	cd := newMulticlusterPlugin(t, "", kubefake.NewClientset(kubeObjs...), mc)
	waitFor(t, cd, "web.default.svc.cluster.local.", 1)
	if cd.Ready() {
		t.Error("ready without ServiceImports")
	}
	// SERVFAIL is left to CoreDNS to write, as by every plugin.
	rcode, err := cd.ServeDNS(context.Background(), &test.ResponseWriter{}, new(dns.Msg).SetQuestion("web.data.svc.clusterset.local.", dns.TypeA))
	if err != nil || rcode != dns.RcodeServerFailure {
		t.Errorf("web.data.svc.clusterset.local. A: rcode %s (%v), want SERVFAIL", dns.RcodeToString[rcode], err)
	}
	runCases(t, cd, []test.Case{
		nx("nothing.default.svc.cluster.local.", dns.TypeA),
		{Qname: "clusterset.local.", Qtype: dns.TypeSOA, Answer: []dns.RR{mcSOA()}}, // known names answer
	})
}

// A clusterset zone with no imports at all: its own names, and NXDOMAIN below.
func TestClustersetEmpty(t *testing.T) {
	cd := startMulticluster(t, "", kubefake.NewClientset(namespace("default")), mcsfake.NewSimpleClientset())
	runCases(t, cd, []test.Case{
		{Qname: "clusterset.local.", Qtype: dns.TypeSOA, Answer: []dns.RR{mcSOA()}},
		mcNodata("svc.clusterset.local.", dns.TypeA),
		mcNodata("default.svc.clusterset.local.", dns.TypeSRV),
		mcNX("kubernetes.default.svc.clusterset.local.", dns.TypeA),
		mcNX("kubernetes.default.svc.clusterset.local.", dns.TypeAAAA),
	})
}

// noendpoints leaves ClusterSetIP names, and takes the endpoints' away, as in the cluster zone.
func TestClustersetNoEndpoints(t *testing.T) {
	runCases(t, startClusterset(t, "noendpoints"), []test.Case{
		{Qname: "web.data.svc.clusterset.local.", Qtype: dns.TypeA,
			Answer: []dns.RR{test.A("web.data.svc.clusterset.local. 5 IN A 10.42.0.1")}},
		mcNX("db.data.svc.clusterset.local.", dns.TypeA),
		mcNX("w-0.east.web.data.svc.clusterset.local.", dns.TypeA),
	})
}
