package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// TestReloadLeaksNoWatch reloads the Corefile several times (the reload plugin restarts the
// plugin: OnShutdown of the old instance, OnStartup of the new) and checks that neither CoreDNS's
// goroutines nor the API server's open watches grow with each reload.
func TestReloadLeaksNoWatch(t *testing.T) {
	s := env
	if s.snapshot != "" {
		t.Skip("needs the live API source")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	o := s.corefileOptions()
	o.reload, o.ttl = 2*time.Second, 10
	c, err := s.startCoreDNS("reload", o)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.waitReady(ctx); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if t.Failed() {
			t.Log(s.diagnostics(c))
		}
	}()
	waitTTL(ctx, t, c, 10)
	goroutines, watches := counts(ctx, t, s, c)
	t.Logf("before reloads: %v goroutines, %v watches at the API server", goroutines, watches)

	const reloads = 3
	confPath := filepath.Join(s.dir, "reload", "Corefile")
	for i := 1; i <= reloads; i++ {
		o.ttl = 10 + i
		conf := strings.Replace(c.corefile, "ttl 10\n", "ttl "+strconv.Itoa(o.ttl)+"\n", 1)
		if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
			t.Fatal(err)
		}
		waitTTL(ctx, t, c, o.ttl)
	}
	g, w := waitNoLeak(ctx, t, s, c, goroutines, watches, reloads)
	t.Logf("after %d reloads: %v goroutines, %v watches", reloads, g, w)
}

// waitNoLeak polls, bounded by ctx, until CoreDNS's goroutines and the API server's watches are
// back near where they were before the reloads, and returns them. The old instances' goroutines
// end shortly after their shutdown. A leak would add about 40 goroutines and 4 watches per reload;
// the API server's count also holds kube-controller-manager's watches, which come and go by one
// or two on their own.
func waitNoLeak(ctx context.Context, t *testing.T, s *suite, c *coreDNS, goroutines, watches float64, reloads int) (float64, float64) {
	t.Helper()
	for {
		g, w := counts(ctx, t, s, c)
		if g <= goroutines+15 && w <= watches+2 {
			return g, w
		}
		select {
		case <-ctx.Done():
			t.Fatalf("after %d reloads: %v goroutines (was %v), %v watches (was %v)", reloads, g, goroutines, w, watches)
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// waitTTL polls until a known name answers with the given TTL: the reload is then in force.
func waitTTL(ctx context.Context, t *testing.T, c *coreDNS, ttl int) {
	t.Helper()
	for {
		r, err := c.exchange("udp", "hostnames.default.svc.cluster.local.", dns.TypeA)
		if err == nil && len(r.Answer) > 0 && int(r.Answer[0].Header().Ttl) == ttl {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("no answer with TTL %d (last %v, %v)", ttl, r, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// counts returns CoreDNS's goroutines and the API server's open watches on the resources the
// plugin watches (kube-controller-manager's are constant meanwhile).
func counts(ctx context.Context, t *testing.T, s *suite, c *coreDNS) (goroutines, watches float64) {
	t.Helper()
	g, ok := metricValue(ctx, c, "go_goroutines")
	if !ok {
		t.Fatal("no go_goroutines metric")
	}
	body, err := s.cp.Client.Discovery().RESTClient().Get().AbsPath("/metrics").DoRaw(ctx)
	if err != nil {
		t.Fatalf("API server metrics: %v", err)
	}
	for _, line := range strings.Split(string(body), "\n") {
		if !strings.HasPrefix(line, "apiserver_longrunning_requests{") || !strings.Contains(line, `verb="WATCH"`) {
			continue
		}
		for _, r := range []string{"services", "endpointslices", "namespaces", "pods"} {
			if strings.Contains(line, `resource="`+r+`"`) {
				if v, ok := metricSample(line, line[:strings.LastIndexByte(line, ' ')]); ok {
					watches += v
				}
			}
		}
	}
	return g, watches
}

// TestReloadHundredTimesUnderLoad reloads an instance's Corefile 100 times while its known names
// are asked in a loop: no answer may fail or be wrong, CoreDNS's goroutines and the API server's
// open watches must end where they started, and the live heap must come back to where it was
// before the first reload: a shut down instance empties its store (store.release), though CoreDNS
// keeps its old handler until the second GC.
// The reload plugin checks the file every 2 s at best, so the reloads are asked for with SIGUSR1,
// which restarts the server the same way (OnShutdown of the old instance, OnStartup of the new).
func TestReloadHundredTimesUnderLoad(t *testing.T) {
	s := needLive(t)
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	o := s.corefileOptions()
	o.ttl, o.pprof = 10, true
	c := s.startExtraCoreDNS(t, "reload-100", o)
	if err := c.waitReady(ctx); err != nil {
		t.Fatal(err)
	}
	waitTTL(ctx, t, c, 10)
	goroutines, watches := counts(ctx, t, s, c)
	heap := liveHeap(ctx, t, c)

	p := &prober{c: c, cases: knownCases(s.sc), since: time.Now(), retry: true}
	stopProbe := p.start(ctx)
	defer stopProbe()

	const reloads = 100
	confPath := filepath.Join(s.dir, "reload-100", "Corefile")
	ttl := 10
	for i := 1; i <= reloads; i++ {
		next := 10 + i%2
		conf := strings.Replace(c.corefile, "ttl 10\n", "ttl "+strconv.Itoa(next)+"\n", 1)
		if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := syscall.Kill(c.PID(), syscall.SIGUSR1); err != nil {
			t.Fatal(err)
		}
		waitTTL(ctx, t, c, next)
		ttl = next
	}
	stopProbe()
	total, bad, _, failures := p.counts()
	t.Logf("prober: %d questions over %d reloads (UDP and TCP), %d wrong or failed", total, reloads, bad)
	if bad > 0 {
		t.Errorf("%d of %d answers failed or were wrong during the reloads; first ones:\n%s", bad, total, strings.Join(failures, "\n"))
	}
	g, w := waitNoLeak(ctx, t, s, c, goroutines, watches, reloads)
	after := waitHeap(ctx, t, c, 1.25*heap)
	t.Logf("after %d reloads (ttl %d): %v goroutines (was %v), %v watches (was %v), live heap %.2f MiB (%.2f before the first)",
		reloads, ttl, g, goroutines, w, watches, after/(1<<20), heap/(1<<20))
}

// waitHeap polls, bounded by ctx, until the live heap is at most limit bytes, and returns it. The
// answer with the new TTL can come before CoreDNS has shut the old instance down (it starts the
// new one first), so the first reading may still hold the old data.
func waitHeap(ctx context.Context, t *testing.T, c *coreDNS, limit float64) float64 {
	t.Helper()
	for {
		h := liveHeap(ctx, t, c)
		if h <= limit {
			return h
		}
		select {
		case <-ctx.Done():
			t.Fatalf("live heap %.2f MiB, above %.2f MiB (1.25 times the heap before the first reload)", h/(1<<20), limit/(1<<20))
		case <-time.After(500 * time.Millisecond):
		}
	}
}
