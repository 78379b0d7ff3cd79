package clusterdns

import (
	"runtime"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// TestShutdownFreesDataOfAHandlerStillReferenced: after a reload of the Corefile, CoreDNS's old
// server keeps the old handler until the second GC (see store.release); its data must not wait
// for that. The test holds the handler as the old server does, shuts it down, and expects one
// of its EndpointSlices to be collected; a query to the shell answers no name.
func TestShutdownFreesDataOfAHandlerStillReferenced(t *testing.T) {
	cd := newPlugin(t, "", exampleCluster)
	expect(t, cd, "hostnames.default.svc.cluster.local.", dns.TypeA, dns.RcodeSuccess, 1)
	freed := make(chan struct{})
	cd.store.mu.Lock()
	for _, sl := range cd.store.slices {
		runtime.AddCleanup(sl, func(ch chan struct{}) { close(ch) }, freed)
		break
	}
	n := len(cd.store.slices)
	cd.store.mu.Unlock()
	if n == 0 {
		t.Fatal("the example cluster has no EndpointSlice")
	}
	if err := cd.shutdown(); err != nil {
		t.Fatal(err)
	}
	if _, ok := cd.store.ix.Lookup("hostnames.default.svc.cluster.local."); ok {
		t.Error("the index still answers a name after shutdown")
	}
	collected := false
	for i := 0; i < 10 && !collected; i++ {
		runtime.GC() // the cleanup runs in its own goroutine after the GC that finds the slice unreachable
		select {
		case <-freed:
			collected = true
		case <-time.After(100 * time.Millisecond):
		}
	}
	if !collected {
		t.Error("an EndpointSlice of the shut down instance is still reachable from its handler")
	}
	runtime.KeepAlive(cd)
}

// The pods held for client identity and "pods verified" go with the rest at shutdown: a pod name
// no longer answers, and none is counted.
func TestShutdownFreesThePodsOfAHandlerStillReferenced(t *testing.T) {
	cd := newPlugin(t, "pods verified", exampleCluster)
	if cd.store.clients.count() == 0 {
		t.Fatal("the example cluster has no pod")
	}
	if err := cd.shutdown(); err != nil {
		t.Fatal(err)
	}
	if n := cd.store.clients.count(); n != 0 {
		t.Errorf("%d pods held after shutdown", n)
	}
	if pods := cd.store.clients.pods(); len(pods) != 0 {
		t.Errorf("pods after shutdown: %v", pods)
	}
}
