package clusterdns

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/clusterdns/clusterdns/internal/model"
	"github.com/clusterdns/clusterdns/internal/snapshot"
	"github.com/clusterdns/clusterdns/internal/source/kube"

	"github.com/coredns/coredns/plugin/test"
	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

const kubeSystemUID = "0f1e2d3c-uid-of-kube-system"

// startWithClient starts the plugin from a stanza body over client, which stands for the API server.
func startWithClient(t *testing.T, body string, client kubernetes.Interface) *ClusterDNS {
	t.Helper()
	cd, err := newPluginErr(t, body)
	if err != nil {
		t.Fatal(err)
	}
	cd.src.(*kubeSource).connect = func(kube.ClientConfig) (kubernetes.Interface, error) { return client, nil }
	if err := cd.start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cd.shutdown() })
	return cd
}

// liveCluster is the example cluster on a fake API server, kube-system with its UID.
func liveCluster(t *testing.T) *fake.Clientset {
	objects := exampleObjects(t)
	for _, o := range objects {
		if ns, ok := o.(*corev1.Namespace); ok && ns.Name == "kube-system" {
			ns.UID = kubeSystemUID
		}
	}
	return fake.NewClientset(objects...)
}

// downCluster is an API server that refuses every list and watch.
func downCluster() *fake.Clientset {
	client := fake.NewClientset()
	refuse := func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, errors.New("connection refused")
	}
	client.PrependReactor("list", "*", refuse)
	client.PrependWatchReactor("*", func(k8stesting.Action) (bool, watch.Interface, error) {
		return true, nil, errors.New("connection refused")
	})
	return client
}

func shortSnapshotDelay(t *testing.T) {
	old := snapshotDelay
	snapshotDelay = 20 * time.Millisecond
	t.Cleanup(func() { snapshotDelay = old })
}

// readSnapshot waits until the file holds a snapshot that has, by its check, what it should.
func readSnapshot(t *testing.T, path string, check func(*model.Snapshot) bool) (*model.Snapshot, snapshot.Meta) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		snap, meta, err := snapshot.Read(path)
		if err == nil && check(snap) {
			return snap, meta
		}
		select {
		case <-ctx.Done():
			t.Fatalf("snapshot %s: %v", path, err)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func hasService(name string) func(*model.Snapshot) bool {
	return func(snap *model.Snapshot) bool {
		for _, s := range snap.Services {
			if s.Name == name {
				return true
			}
		}
		return false
	}
}

func TestSnapshotIsWrittenOnceSyncedAndAfterChanges(t *testing.T) {
	shortSnapshotDelay(t)
	path := filepath.Join(t.TempDir(), "dns.snap")
	client := liveCluster(t)
	startWithClient(t, "snapshot "+path, client)

	snap, meta := readSnapshot(t, path, hasService("hostnames"))
	if meta.Cluster != kubeSystemUID {
		t.Errorf("snapshot of cluster %q, want the kube-system UID %q", meta.Cluster, kubeSystemUID)
	}
	if len(snap.Services) != 10 || len(snap.Slices) != 9 || len(snap.Namespaces) != 3 {
		t.Errorf("snapshot holds %d services, %d slices, %d namespaces; want the example's 10, 9, 3", len(snap.Services), len(snap.Slices), len(snap.Namespaces))
	}
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "late"}, Spec: corev1.ServiceSpec{ClusterIP: "10.96.77.7", ClusterIPs: []string{"10.96.77.7"}}}
	if _, err := client.CoreV1().Services("default").Create(context.Background(), svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	readSnapshot(t, path, hasService("late"))
}

func TestSnapshotServesWhileTheAPIServerIsDown(t *testing.T) {
	shortSnapshotDelay(t)
	path := filepath.Join(t.TempDir(), "dns.snap")
	startWithClient(t, "snapshot "+path, liveCluster(t))
	readSnapshot(t, path, hasService("hostnames"))

	cd := startWithClient(t, "snapshot "+path+"\nstartup_timeout 300ms", downCluster())
	// At once: the snapshot's names; a name it does not know is not denied before the timeout.
	expectServed(t, cd, "hostnames.default.svc.cluster.local.", 1)
	if rcode := rcodeOf(t, cd, "nothing.default.svc.cluster.local."); rcode != dns.RcodeServerFailure {
		t.Errorf("before the startup timeout, an unknown name is %s, want SERVFAIL", dns.RcodeToString[rcode])
	}
	if servedSince.Load() == 0 {
		t.Error("snapshot age not exported while its data is served")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for !cd.Ready() {
		select {
		case <-ctx.Done():
			t.Fatal("not ready after the startup timeout with a snapshot")
		case <-time.After(20 * time.Millisecond):
		}
	}
	expectServed(t, cd, "nothing.default.svc.cluster.local.", 0)
	expectServed(t, cd, "zookeeper-0.zookeeper-headless.middleware.svc.cluster.local.", 1)
}

func TestSnapshotRefused(t *testing.T) {
	for _, tt := range []struct {
		name  string
		write func(t *testing.T, path string)
		body  string
	}{
		{"missing", func(*testing.T, string) {}, ""},
		{"corrupt", func(t *testing.T, path string) {
			if err := os.WriteFile(path, []byte("clusterdns-snapshot\x01 torn"), 0o600); err != nil {
				t.Fatal(err)
			}
		}, ""},
		{"older than its maximum age", func(t *testing.T, path string) {
			snap := &model.Snapshot{Services: []*model.Service{{Namespace: "default", Name: "hostnames", ClusterIPs: []netip.Addr{netip.MustParseAddr("10.96.10.10")}}}}
			if err := snapshot.Write(path, snap, snapshot.Meta{Cluster: kubeSystemUID, Written: time.Now().Add(-2 * time.Hour)}); err != nil {
				t.Fatal(err)
			}
		}, " 1h"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "dns.snap")
			tt.write(t, path)
			cd := startWithClient(t, "snapshot "+path+tt.body+"\nstartup_timeout 100ms", downCluster())
			if cd.Ready() {
				t.Error("ready without data")
			}
			if rcode := rcodeOf(t, cd, "hostnames.default.svc.cluster.local."); rcode != dns.RcodeServerFailure {
				t.Errorf("without usable data, a name is %s, want SERVFAIL", dns.RcodeToString[rcode])
			}
		})
	}
}

// rcodeOf is the rcode ServeDNS returns for an A query of name, whether it wrote the answer or left
// that to the server (as it does for SERVFAIL).
func rcodeOf(t *testing.T, cd *ClusterDNS, name string) int {
	t.Helper()
	rcode, err := cd.ServeDNS(context.Background(), &test.ResponseWriter{}, new(dns.Msg).SetQuestion(name, dns.TypeA))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return rcode
}
