package clusterdns

import (
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/clusterdns/clusterdns/internal/model"

	"github.com/coredns/coredns/plugin/test"
	"github.com/miekg/dns"
)

func TestUnsyncedCacheNeverAnswersNXDOMAIN(t *testing.T) { // rule 18
	cd, err := newPluginErr(t, "", exampleCluster)
	if err != nil {
		t.Fatal(err)
	}
	// Not started: part of the data is in, the first complete set is not.
	cd.store.UpsertService(&model.Service{Namespace: "default", Name: "early", ClusterIPs: []netip.Addr{netip.MustParseAddr("10.96.5.5")}})
	if cd.Ready() {
		t.Fatal("ready before the first complete data set")
	}
	for _, tc := range []struct {
		name  string
		qtype uint16
		rcode int
	}{
		{"early.default.svc.cluster.local.", dns.TypeA, dns.RcodeSuccess},
		{"early.default.svc.cluster.local.", dns.TypeAAAA, dns.RcodeSuccess}, // known name: NODATA
		{"hostnames.default.svc.cluster.local.", dns.TypeA, dns.RcodeServerFailure},
		{"99.99.99.10.in-addr.arpa.", dns.TypePTR, dns.RcodeServerFailure},
	} {
		rcode, err := cd.ServeDNS(context.Background(), &test.ResponseWriter{}, new(dns.Msg).SetQuestion(tc.name, tc.qtype))
		if err != nil || rcode != tc.rcode {
			t.Errorf("%s %s: rcode %s (%v), want %s", tc.name, dns.TypeToString[tc.qtype],
				dns.RcodeToString[rcode], err, dns.RcodeToString[tc.rcode])
		}
	}
}

// waitFor polls ServeDNS until the answer to name has want records, within a deadline.
func waitFor(t *testing.T, cd *ClusterDNS, name string, want int) {
	t.Helper()
	waitForType(t, cd, name, dns.TypeA, want)
}

// waitForType is waitFor for records of type qtype.
func waitForType(t *testing.T, cd *ClusterDNS, name string, qtype uint16, want int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		resp := serve(t, cd, new(dns.Msg).SetQuestion(name, qtype))
		if len(resp.Answer) == want {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s: %d answers, want %d", name, len(resp.Answer), want)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func TestManifestReloadKeepsLastGoodData(t *testing.T) { // rule 20, offline
	old := manifestsPoll
	manifestsPoll = 20 * time.Millisecond
	t.Cleanup(func() { manifestsPoll = old })

	dir := t.TempDir()
	write := func(name, body string) {
		tmp := filepath.Join(dir, "."+name)
		if err := os.WriteFile(tmp, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	svc := func(name, ip string) string {
		return "apiVersion: v1\nkind: Service\nmetadata: {name: " + name + ", namespace: default}\nspec: {clusterIP: " + ip + "}\n"
	}
	write("a.yaml", svc("alpha", "10.96.1.1"))
	write("b.yaml", svc("beta", "10.96.1.2"))
	cd := newPlugin(t, "", dir)
	waitFor(t, cd, "alpha.default.svc.cluster.local.", 1)

	write("a.yaml", svc("alpha", "10.96.1.1")+"---\n"+svc("gamma", "10.96.1.3"))
	waitFor(t, cd, "gamma.default.svc.cluster.local.", 1)

	// A broken file keeps its last good objects; the other file's change still applies.
	write("a.yaml", "kind: Service\napiVersion: v1\nmetadata: {name: [\n")
	write("b.yaml", svc("delta", "10.96.1.4"))
	waitFor(t, cd, "delta.default.svc.cluster.local.", 1)
	waitFor(t, cd, "beta.default.svc.cluster.local.", 0)
	waitFor(t, cd, "gamma.default.svc.cluster.local.", 1)
	waitFor(t, cd, "alpha.default.svc.cluster.local.", 1)
}
