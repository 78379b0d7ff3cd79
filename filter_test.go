package clusterdns

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/kubernetes/scheme"
)

// filterSource serves the example cluster through one source, and can relabel a namespace in it.
type filterSource struct {
	name  string
	start func(t *testing.T, body string) (*ClusterDNS, func(ns string, labels map[string]string))
}

// filterSources are the two sources; the filter options must act the same through both.
var filterSources = []filterSource{
	{"manifests", startManifests},
	{"API", startAPI},
}

// startManifests serves a copy of the example cluster from a file; relabel appends the namespace,
// relabelled, to the file (of two documents of one object, the later wins).
func startManifests(t *testing.T, body string) (*ClusterDNS, func(string, map[string]string)) {
	old := manifestsPoll
	manifestsPoll = 20 * time.Millisecond
	t.Cleanup(func() { manifestsPoll = old })
	example, err := os.ReadFile(exampleCluster)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "cluster.yaml")
	write := func(extra string) {
		tmp := path + ".tmp"
		if err := os.WriteFile(tmp, append(example, extra...), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, path); err != nil {
			t.Fatal(err)
		}
	}
	write("")
	cd := newPlugin(t, body, path)
	return cd, func(ns string, labels map[string]string) {
		doc, err := json.Marshal(map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": ns, "labels": labels}})
		if err != nil {
			t.Fatal(err)
		}
		write("---\n" + string(doc) + "\n")
	}
}

// startAPI serves the example cluster from a fake API server; relabel updates the namespace there.
func startAPI(t *testing.T, body string) (*ClusterDNS, func(string, map[string]string)) {
	objects := exampleObjects(t)
	client := fake.NewClientset(objects...)
	cd := startWithClient(t, body, client)
	if !cd.Ready() {
		t.Fatal("not synced with the fake API server")
	}
	return cd, func(ns string, labels map[string]string) {
		o := relabel(objects, ns, labels)
		if _, err := client.CoreV1().Namespaces().Update(context.Background(), o, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
}

// exampleObjects decodes the example cluster into API objects.
func exampleObjects(t *testing.T) []runtime.Object {
	f, err := os.Open(exampleCluster)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []runtime.Object
	dec := utilyaml.NewYAMLOrJSONDecoder(f, 4096)
	for {
		var raw runtime.RawExtension
		if err := dec.Decode(&raw); err != nil {
			break
		}
		if len(raw.Raw) == 0 {
			continue
		}
		o, _, err := scheme.Codecs.UniversalDeserializer().Decode(raw.Raw, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, o)
	}
	return out
}

func relabel(objects []runtime.Object, ns string, labels map[string]string) *corev1.Namespace {
	for _, o := range objects {
		if n, ok := o.(*corev1.Namespace); ok && n.Name == ns {
			n.Labels = labels
			return n
		}
	}
	return nil
}

func TestFilterOptionsActTheSameThroughBothSources(t *testing.T) {
	const (
		hostnames = "hostnames.default.svc.cluster.local."
		nginx     = "nginx.default.svc.cluster.local."
		zk        = "zookeeper-0.zookeeper-headless.middleware.svc.cluster.local."
		kubeDNS   = "kube-dns.kube-system.svc.cluster.local."
	)
	for _, src := range filterSources {
		t.Run(src.name, func(t *testing.T) {
			for _, tt := range []struct {
				name   string
				body   string
				served map[string]int // name -> answers; 0 is NXDOMAIN
			}{
				{"namespaces serves only those named", "namespaces middleware kube-system",
					map[string]int{hostnames: 0, zk: 1, kubeDNS: 1}},
				{"namespace_labels serves only matching namespaces", "namespace_labels kubernetes.io/metadata.name in (middleware)",
					map[string]int{hostnames: 0, zk: 1, kubeDNS: 0}},
				{"namespace_labels matching none serves none", "namespace_labels team in (shop)",
					map[string]int{hostnames: 0, zk: 0, kubeDNS: 0}},
				{"labels serves only matching services", "labels app in (hostnames, web)",
					map[string]int{hostnames: 1, nginx: 0, zk: 0}},
			} {
				t.Run(tt.name, func(t *testing.T) {
					cd, _ := src.start(t, tt.body)
					for name, want := range tt.served {
						expectServed(t, cd, name, want)
					}
				})
			}
		})
	}
}

func TestNamespaceThatStartsOrStopsMatchingBringsOrTakesItsNames(t *testing.T) {
	const hostnames = "hostnames.default.svc.cluster.local."
	for _, src := range filterSources {
		t.Run(src.name, func(t *testing.T) {
			cd, relabel := src.start(t, "namespace_labels team in (shop)")
			expectServed(t, cd, hostnames, 0)
			relabel("default", map[string]string{"team": "shop"})
			waitFor(t, cd, hostnames, 1)
			relabel("default", map[string]string{"team": "ops"})
			waitFor(t, cd, hostnames, 0)
			expectServed(t, cd, "default.svc.cluster.local.", 0)
		})
	}
}

// expectServed checks that name has want A records, or is NXDOMAIN for want 0.
func expectServed(t *testing.T, cd *ClusterDNS, name string, want int) {
	t.Helper()
	rcode := dns.RcodeSuccess
	if want == 0 {
		rcode = dns.RcodeNameError
	}
	expect(t, cd, name, dns.TypeA, rcode, want)
}
