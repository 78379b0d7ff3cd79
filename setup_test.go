package clusterdns

import (
	"fmt"
	"strings"
	"testing"

	"github.com/coredns/caddy"
)

func parseCorefile(t *testing.T, corefile string) (*ClusterDNS, error) {
	t.Helper()
	c := caddy.NewTestController("dns", corefile)
	return parse(c)
}

func TestParseRejectsBadDirectives(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		line       int    // the line the error must name
		mention    string // the directive the error must name
	}{
		{"ttl without value", "ttl", 3, "ttl"},
		{"ttl two values", "ttl 1 2", 3, "ttl"},
		{"ttl negative", "ttl -1", 3, "ttl"},
		{"ttl too large", "ttl 3601", 3, "ttl"},
		{"ttl not a number", "ttl five", 3, "ttl"},
		{"namespaces empty", "namespaces", 3, "namespaces"},
		{"labels empty", "labels", 3, "labels"},
		{"labels malformed", "labels app in (", 3, "labels"},
		{"pods without mode", "pods", 3, "pods"},
		{"pods unknown mode", "pods maybe", 3, "pods"},
		{"pods two modes", "pods insecure verified", 3, "pods"},
		{"endpoint_pod_names with argument", "endpoint_pod_names yes", 3, "endpoint_pod_names"},
		{"noendpoints with argument", "noendpoints yes", 3, "noendpoints"},
		{"udp_fit with argument", "udp_fit 512", 3, "udp_fit"},
		{"ignore without argument", "ignore", 3, "ignore"},
		{"ignore unknown argument", "ignore everything", 3, "ignore"},
		{"manifests without path", "manifests", 3, "manifests"},
		{"unknown directive", "resyncperiod 5m", 3, "resyncperiod"},
		{"kubeconfig without file", "kubeconfig", 3, "kubeconfig"},
		{"kubeconfig three values", "kubeconfig a b c", 3, "kubeconfig"},
		{"endpoint without URL", "endpoint", 3, "endpoint"},
		{"tls two files", "tls a b", 3, "tls"},
		{"apiserver_qps zero", "apiserver_qps 0", 3, "apiserver_qps"},
		{"apiserver_qps word", "apiserver_qps many", 3, "apiserver_qps"},
		{"apiserver_burst negative", "apiserver_burst -1", 3, "apiserver_burst"},
		{"apiserver_max_inflight fraction", "apiserver_max_inflight 1.5", 3, "apiserver_max_inflight"},
		{"apiserver_compression with an argument", "apiserver_compression gzip", 3, "apiserver_compression"},
		{"namespace_labels empty", "namespace_labels", 3, "namespace_labels"},
		{"namespace_labels malformed", "namespace_labels team in (", 3, "namespace_labels"},
		{"startup_timeout not a duration", "startup_timeout 5", 3, "startup_timeout"},
		{"startup_timeout negative", "startup_timeout -1s", 3, "startup_timeout"},
		{"snapshot without file", "snapshot", 3, "snapshot"},
		{"snapshot maximum age not a duration", "snapshot /var/lib/dns.snap week", 3, "snapshot"},
		{"snapshot three values", "snapshot a 1h b", 3, "snapshot"},
		{"endpoint not http", "endpoint ftp://10.0.0.1:6443", 3, "endpoint"},
		{"endpoint without host", "endpoint https://", 3, "endpoint"},
		{"endpoint not a URL", "endpoint 10.0.0.1:6443", 3, "endpoint"},
		{"ttl above the maximum", "ttl 3601", 3, "ttl"},
		{"ttl negative", "ttl -1", 3, "ttl"},
		{"ttl two values", "ttl 5 10", 3, "ttl"},
		{"labels malformed", "labels app in (", 3, "labels"},
		{"namespaces empty", "namespaces", 3, "namespaces"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			corefile := "clusterdns cluster.local {\nmanifests examples/cluster.yaml\n" + tc.body + "\n}"
			_, err := parseCorefile(t, corefile)
			if err == nil {
				t.Fatalf("%q parsed without error", tc.body)
			}
			msg := err.Error()
			if !strings.Contains(msg, tc.mention) || !strings.Contains(msg, "Testfile:"+string(rune('0'+tc.line))) {
				t.Errorf("error %q should name %q and line %d", msg, tc.mention, tc.line)
			}
		})
	}
}

func TestParseRejectsBadStanzas(t *testing.T) {
	for _, tc := range []struct {
		name, corefile, want string
		line                 int // of the directive given last of those in conflict
	}{
		{"manifests beside the API server", "clusterdns cluster.local {\nmanifests x.yaml\nkubeconfig k.yaml\n}", "remove kubeconfig", 3},
		{"snapshot beside manifests", "clusterdns cluster.local {\nmanifests x.yaml\nsnapshot /var/lib/dns.snap\n}", "remove snapshot", 3},
		{"both namespace filters", "clusterdns cluster.local {\nnamespaces a\nnamespace_labels team=a\n}", "exclude each other", 3},
		{"tls without endpoint", "clusterdns cluster.local {\nttl 5\ntls c k ca\n}", "tls goes with endpoint", 3},
		{"kubeconfig and endpoint", "clusterdns cluster.local {\nkubeconfig k.yaml\nendpoint https://127.0.0.1:6443\n}", "exclude each other", 3},
		{"only reverse zones", "\nclusterdns in-addr.arpa {\nmanifests x.yaml\n}", "no forward zone", 2},
		{"twice in a block", "clusterdns cluster.local {\nmanifests x.yaml\n}\nclusterdns cluster.local {\nmanifests x.yaml\n}", "only be used once", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseCorefile(t, tc.corefile)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want one containing %q", err, tc.want)
			}
			if tc.line > 0 && !strings.Contains(err.Error(), fmt.Sprintf("Testfile:%d ", tc.line)) {
				t.Errorf("error %q should name line %d", err, tc.line)
			}
		})
	}
}

// A file that cannot be read stops the start with an error naming the directive's line.
func TestStartErrorsNameTheLine(t *testing.T) {
	for _, tc := range []struct{ name, corefile, want string }{
		{"missing manifests", "clusterdns cluster.local {\nttl 5\nmanifests /nonexistent/cluster.yaml\n}", "Testfile:3: manifests: "},
		{"missing kubeconfig", "clusterdns cluster.local {\nttl 5\nkubeconfig /nonexistent/kubeconfig\n}", "Testfile:3: "},
	} {
		path := strings.Fields(strings.Split(tc.corefile, "\n")[2])[1]
		t.Run(tc.name, func(t *testing.T) {
			cd, err := parseCorefile(t, tc.corefile)
			if err != nil {
				t.Fatal(err)
			}
			err = cd.start()
			t.Cleanup(func() { _ = cd.shutdown() })
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), path) {
				t.Errorf("start error = %v, want one containing %q and %s", err, tc.want, path)
			}
		})
	}
}

func TestParseOptions(t *testing.T) {
	cd, err := parseCorefile(t, `clusterdns Cluster.Local 10.0.0.0/24 example.org {
		manifests a.yaml b.yaml
		manifests c.yaml
		ttl 0
		namespaces default middleware
		pods verified
		endpoint_pod_names
		noendpoints
		ignore empty_service
		udp_fit
		fallthrough in-addr.arpa
	}`)
	if err != nil {
		t.Fatal(err)
	}
	b := cd.store.b
	if got := strings.Join(b.zones, " "); got != "cluster.local. example.org." {
		t.Errorf("forward zones = %q", got)
	}
	if got := strings.Join(b.reverse, " "); got != "0.0.10.in-addr.arpa." {
		t.Errorf("reverse zones = %q (a CIDR is served as its reverse zone)", got)
	}
	if !cd.udpFit {
		t.Error("udp_fit not set")
	}
	if b.ttl != 0 || cd.pods != podsVerified {
		t.Errorf("ttl %d, pods %v", b.ttl, cd.pods)
	}
	o := cd.store.opts
	if !o.noEndpoints || !o.ignoreEmpty || !o.podsVerify || o.namespacesByObject {
		t.Errorf("store options %+v", o)
	}
	if !cd.fall.Through("1.in-addr.arpa.") || cd.fall.Through("x.cluster.local.") {
		t.Error("fallthrough should cover in-addr.arpa only")
	}
	if got := cd.src.(*manifestSource).files; got == nil {
		t.Error("no manifest source")
	}
}

func TestParseDefaults(t *testing.T) {
	cd, err := parseCorefile(t, "clusterdns cluster.local {\nmanifests x.yaml\n}")
	if err != nil {
		t.Fatal(err)
	}
	if cd.store.b.ttl != defaultTTL || cd.pods != podsDisabled || cd.fall.Through("x.cluster.local.") {
		t.Errorf("defaults: ttl %d, pods %v", cd.store.b.ttl, cd.pods)
	}
}

func TestStartFailsOnBrokenManifest(t *testing.T) {
	broken := "apiVersion: v1\nkind: Service\nmetadata: {name: x\n"
	cd, err := newPluginErr(t, "", broken)
	if err != nil {
		t.Fatal(err)
	}
	err = cd.start()
	if err == nil || !strings.Contains(err.Error(), "document 1") {
		t.Fatalf("start error = %v, want one naming the broken document", err)
	}
	if cd.Ready() {
		t.Error("ready without data")
	}
}

func TestLocalAddrsAreUnicast(t *testing.T) {
	for _, ip := range localAddrs() {
		if !ip.IsGlobalUnicast() || ip != ip.Unmap() {
			t.Errorf("ns.dns address %v is not a unicast address", ip)
		}
	}
}

func TestParseLiveAPIOptions(t *testing.T) {
	cd, err := parseCorefile(t, `clusterdns cluster.local {
		kubeconfig /etc/kube.conf admin@prod
		apiserver_qps 50.5
		apiserver_burst 100
		apiserver_max_inflight 8
		apiserver_compression
		namespace_labels team in (a, b)
		labels tier=front
		startup_timeout 2s
		pods verified
		noendpoints
	}`)
	if err != nil {
		t.Fatal(err)
	}
	src, ok := cd.src.(*kubeSource)
	if !ok {
		t.Fatalf("source %T, want the API server", cd.src)
	}
	c := src.client
	if c.Kubeconfig != "/etc/kube.conf" || c.Context != "admin@prod" || c.QPS != 50.5 || c.Burst != 100 || c.MaxInflight != 8 || !c.Compression {
		t.Errorf("client config %+v", c)
	}
	if !strings.HasPrefix(c.UserAgent, "clusterdns ") {
		t.Errorf("user agent %q should name clusterdns", c.UserAgent)
	}
	w := src.watch
	if w.Filter.NamespaceLabels.String() != "team in (a,b)" || w.Filter.Labels.String() != "tier=front" || !w.Pods || w.Endpoints {
		t.Errorf("watch config %+v", w)
	}
	if src.startupTimeout.Seconds() != 2 || !cd.store.opts.namespacesByObject {
		t.Errorf("startup timeout %v, namespaces by object %v", src.startupTimeout, cd.store.opts.namespacesByObject)
	}
}

func TestParseDefaultsToInCluster(t *testing.T) {
	cd, err := parseCorefile(t, "clusterdns cluster.local")
	if err != nil {
		t.Fatal(err)
	}
	src := cd.src.(*kubeSource)
	if src.client.Kubeconfig != "" || src.client.Endpoint != "" || src.client.Compression || src.startupTimeout != defaultStartupTimeout || !src.watch.Endpoints || src.watch.Pods {
		t.Errorf("defaults: %+v", src)
	}
	if err := cd.start(); err == nil || !strings.Contains(err.Error(), "in-cluster") {
		t.Errorf("outside a cluster, start error = %v; want one about in-cluster credentials", err)
	}
}
