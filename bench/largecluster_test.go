package bench

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coredns/caddy"
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/plugin"
	"github.com/coredns/coredns/plugin/pkg/dnstest"
	"github.com/coredns/coredns/plugin/test"
	"github.com/miekg/dns"
)

// largeSizes are the services of BenchmarkLargeClusterHeap's runs: 100 per namespace, 10 ready
// endpoints each; the last is BenchmarkLargeCluster's size (100,000 services, 1,000,000 endpoints).
var largeSizes = []int{10_000, 30_000, 100_000}

// largeZones are the zones of the two configurations measured: with the reverse zones, as
// deploy/ and make bench serve them (every endpoint then has a PTR), and without, as the root
// package's BenchmarkLargeCluster.
var largeZones = map[string]string{"reverse": "cluster.local in-addr.arpa ip6.arpa", "forward": "cluster.local"}

// largeChildEnv, when set to "plugin,services,zones", makes TestLargeClusterChild measure that
// one run; BenchmarkLargeClusterHeap sets it for each child process.
const largeChildEnv = "CLUSTERDNS_LARGE_CHILD"

// BenchmarkLargeClusterHeap runs each plugin, as CoreDNS sets it up from a Corefile, against
// fakeAPI's synthetic cluster over loopback HTTP (client-go's reflectors and the kubernetes
// plugin's informers, the same lists and watches as against a real API server), each in a process
// of its own so that nothing of one run stays in the heap of the next, and reports the live heap
// each holds once it answers the last service, and how long that took. The kubernetes plugin runs
// its own controller (dnsControl, from InitKubeCache) unchanged: only the API server is fake.
// Select a size with
//
//	go test ./bench/ -run '^$' -bench 'LargeClusterHeap/services=30000' -benchtime 1x
func BenchmarkLargeClusterHeap(b *testing.B) {
	for _, services := range largeSizes {
		b.Run(fmt.Sprintf("services=%d", services), func(b *testing.B) {
			heap := map[string]uint64{}
			for _, zones := range []string{"reverse", "forward"} {
				for _, name := range []string{"clusterdns", "kubernetes"} {
					h, took, err := largeChild(name, services, zones)
					if err != nil {
						b.Fatal(err)
					}
					heap[name+"-"+zones] = h
					b.Logf("%s, %s zones: %d services, %d endpoints: answered in %s, heap %.1f MiB (%d bytes per endpoint)",
						name, zones, services, services*10, took.Round(time.Millisecond), float64(h)/(1<<20), h/uint64(services*10))
				}
			}
			for b.Loop() {
			}
			for _, zones := range []string{"reverse", "forward"} {
				ours, theirs := heap["clusterdns-"+zones], heap["kubernetes-"+zones]
				b.ReportMetric(float64(ours)/(1<<20), "clusterdns-"+zones+"-MiB")
				b.ReportMetric(float64(theirs)/(1<<20), "kubernetes-"+zones+"-MiB")
				b.ReportMetric(float64(ours)/float64(theirs), "ratio-"+zones)
			}
		})
	}
}

// largeChild runs TestLargeClusterChild in a new process of this test binary and reads its result.
func largeChild(name string, services int, zones string) (uint64, time.Duration, error) {
	cmd := exec.Command(os.Args[0], "-test.run", "^TestLargeClusterChild$", "-test.v", "-test.timeout", "30m")
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s,%d,%s", largeChildEnv, name, services, zones))
	out, err := cmd.CombinedOutput()
	if err != nil {
		return 0, 0, fmt.Errorf("%s at %d services: %w\n%s", name, services, err, out)
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		var heap uint64
		var took time.Duration
		if _, err := fmt.Sscanf(sc.Text(), "largecluster: heap %d took %d", &heap, &took); err == nil {
			return heap, took, nil
		}
	}
	return 0, 0, fmt.Errorf("%s at %d services: no result in\n%s", name, services, out)
}

// TestLargeClusterChild is one run of BenchmarkLargeClusterHeap, in its own process; skipped
// unless that benchmark started it.
func TestLargeClusterChild(t *testing.T) {
	spec := os.Getenv(largeChildEnv)
	if spec == "" {
		t.Skip("run by BenchmarkLargeClusterHeap")
	}
	f := strings.Split(spec, ",")
	services, err := strconv.Atoi(f[1])
	if err != nil || len(f) != 3 {
		t.Fatalf("%s=%q", largeChildEnv, spec)
	}
	api := newFakeAPI(services/100, 100, 10)
	defer api.Close()
	// The last service listed, ClusterIP: once it answers, everything is in.
	last := serviceName(99) + "." + namespaceName(services/100-1) + ".svc.cluster.local."
	heap, took, err := heapOnceReady(f[0], api.URL, largeZones[f[2]], last)
	if err != nil {
		t.Fatal(err)
	}
	if len(api.unknown) > 0 {
		t.Logf("requests not served: %v", api.unknown)
	}
	fmt.Printf("largecluster: heap %d took %d\n", heap, took)
}

// heapOnceReady starts one CoreDNS instance with plugin name serving zones from the API at url,
// waits until it is ready and answers last with one address, and returns the live heap it added
// (after a GC) and the time that took.
func heapOnceReady(name, url, zones, last string) (uint64, time.Duration, error) {
	if err := dnsserver.SetDirectives([]string{"bind", "benchgrab", "clusterdns", "kubernetes"}); err != nil {
		return 0, 0, fmt.Errorf("set directives: %w", err)
	}
	env.handlers = map[string]plugin.Handler{}
	port, err := freePort()
	if err != nil {
		return 0, 0, err
	}
	before := liveHeap()
	corefile := fmt.Sprintf(".:%d {\nbind 127.0.0.1\nbenchgrab\n%s %s {\n endpoint %s\n pods insecure\n ttl 30\n}\n}\n", port, name, zones, url)
	caddy.Quiet, dnsserver.Quiet = true, true
	start := time.Now()
	inst, err := caddy.Start(caddy.CaddyfileInput{Contents: []byte(corefile), ServerTypeName: "dns"})
	if err != nil {
		return 0, 0, fmt.Errorf("start CoreDNS with %s: %w", name, err)
	}
	defer func() {
		inst.ShutdownCallbacks()
		_ = inst.Stop()
	}()
	h := env.handlers[name]
	r, ok := h.(interface{ Ready() bool })
	if !ok {
		return 0, 0, fmt.Errorf("%s has no Ready", name)
	}
	deadline := time.Now().Add(20 * time.Minute)
	for !r.Ready() || !answers(h, last) {
		if time.Now().After(deadline) {
			return 0, 0, fmt.Errorf("%s does not answer %s 20 minutes after its start", name, last)
		}
		time.Sleep(20 * time.Millisecond)
	}
	took := time.Since(start)
	after := liveHeap()
	return after - min(before, after), took, nil
}

// liveHeap is the heap of live objects after a collection.
func liveHeap() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// answers asks h for qname A and reports whether it answered one record.
func answers(h plugin.Handler, qname string) bool {
	rec := dnstest.NewRecorder(&test.ResponseWriter{})
	_, err := h.ServeDNS(context.Background(), rec, new(dns.Msg).SetQuestion(qname, dns.TypeA))
	return err == nil && rec.Msg != nil && len(rec.Msg.Answer) == 1
}
