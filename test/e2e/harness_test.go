// Package e2e tests the custom CoreDNS binary with the clusterdns plugin against a real control
// plane (etcd, kube-apiserver, kube-controller-manager on 127.0.0.1): the seed scenarios are
// created through the API, CoreDNS watches them through a kubeconfig, and every question is asked
// over UDP and TCP.
//
// One TestMain builds the binaries, starts one control plane, the scenarios, a local upstream DNS
// server and the main CoreDNS; the tests share them. Skipped under -short.
//
//	go test ./test/e2e/ -count=1 -v -timeout 40m
//
// Environment:
//
//	COREDNS_BINARY=path          use this CoreDNS instead of building it with plugin/build.sh
//	COREDNS_OUT=path             where plugin/build.sh writes the binary (default build/coredns)
//	CLUSTERDNS_E2E_KEEP=1        keep the work directory (logs, Corefiles, etcd data)
//	CLUSTERDNS_E2E_SOURCE=manifests
//	                             serve a snapshot of the seeded cluster through the plugin's
//	                             manifests source instead of the live API: the record tests then
//	                             check that source against the same expectations (change and
//	                             fault tests skip)
package e2e

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/clusterdns/clusterdns/test/controlplane"
	"github.com/clusterdns/clusterdns/test/corednstest"
)

// Bounds on the suite's setup.
const (
	defaultSetupTimeout = 45 * time.Minute // cold builds of kube-apiserver and CoreDNS on 2 cores
	controlPlaneTimeout = 2 * time.Minute
	scenarioTimeout     = 2 * time.Minute
	readyTimeout        = 60 * time.Second
)

// suite is what TestMain sets up for every test; nil when the tests must skip.
type suite struct {
	root      string // repository root
	dir       string // work directory
	coredns   string // CoreDNS binary
	cp        *controlplane.ControlPlane
	up        *upstream
	sc        *scenario
	main      *coreDNS // the instance every spec test asks
	manifests bool     // CLUSTERDNS_E2E_SOURCE=manifests
	snapshot  string   // the cluster snapshot those instances serve

	mu        sync.Mutex
	instances []*coreDNS // every CoreDNS started, stopped at the end whatever happens
	apiDown   bool

	teardownKeep bool // a test failed: keep the work directory
}

var env *suite

func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		// Every test skips through need().
		os.Exit(m.Run())
	}
	os.Exit(runSuite(m))
}

func runSuite(m *testing.M) int {
	start := time.Now()
	s, err := setup()
	if s != nil {
		defer s.teardown(err == nil)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: setup failed after %s: %v\n", time.Since(start).Round(time.Millisecond), err)
		if s != nil {
			fmt.Fprint(os.Stderr, s.diagnostics())
		}
		return 1
	}
	fmt.Printf("e2e: setup done in %s\n", time.Since(start).Round(time.Millisecond))
	env = s
	code := m.Run()
	fmt.Printf("e2e: propagation over the whole run: %s\n", propagationTimes.summary(""))
	if code != 0 {
		s.teardownKeep = true
	}
	return code
}

// setupDeadline leaves a few minutes of the go test -timeout for the tests themselves.
func setupDeadline() time.Duration {
	if f := flag.Lookup("test.timeout"); f != nil {
		if d, err := time.ParseDuration(f.Value.String()); err == nil && d > 0 {
			if d > 10*time.Minute {
				return d - 5*time.Minute
			}
			return d / 2
		}
	}
	return defaultSetupTimeout
}

func setup() (*suite, error) {
	ctx, cancel := context.WithTimeout(context.Background(), setupDeadline())
	defer cancel()
	root, err := corednstest.RepoRoot(ctx)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "clusterdns-e2e-")
	if err != nil {
		return nil, err
	}
	s := &suite{root: root, dir: dir, manifests: os.Getenv("CLUSTERDNS_E2E_SOURCE") == "manifests"}
	fmt.Printf("e2e: work directory %s\n", dir)

	// Both builds at once: each is instant when cached.
	t0 := time.Now()
	var binDir string
	var binErr, dnsErr error
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); binDir, binErr = controlplane.BinDir(ctx) }()
	go func() { defer wg.Done(); s.coredns, dnsErr = corednstest.Build(ctx, root) }()
	wg.Wait()
	if err := errors.Join(binErr, dnsErr); err != nil {
		return s, err
	}
	fmt.Printf("e2e: binaries ready in %s (control plane %s, CoreDNS %s)\n", time.Since(t0).Round(time.Millisecond), binDir, s.coredns)

	if s.up, err = startUpstream(); err != nil {
		return s, err
	}

	t0 = time.Now()
	cpCtx, cpCancel := context.WithTimeout(ctx, controlPlaneTimeout)
	defer cpCancel()
	cpDir := filepath.Join(dir, "controlplane")
	if err := os.MkdirAll(cpDir, 0o755); err != nil {
		return s, err
	}
	s.cp, err = controlplane.Start(cpCtx, controlplane.Options{BinDir: binDir, Dir: cpDir, DualStack: true, Log: os.Stdout})
	if err != nil {
		return s, err
	}
	fmt.Printf("e2e: control plane up in %s\n", time.Since(t0).Round(time.Millisecond))

	t0 = time.Now()
	scCtx, scCancel := context.WithTimeout(ctx, scenarioTimeout)
	defer scCancel()
	if s.sc, err = createScenarios(scCtx, s.cp); err != nil {
		return s, err
	}
	fmt.Printf("e2e: seed scenarios created and EndpointSlices settled in %s\n", time.Since(t0).Round(time.Millisecond))

	t0 = time.Now()
	if s.manifests {
		if s.snapshot, err = dumpManifests(ctx, s.cp, filepath.Join(dir, "cluster-snapshot.json")); err != nil {
			return s, err
		}
	}
	if s.main, err = s.startCoreDNS("main", s.corefileOptions()); err != nil {
		return s, err
	}
	readyCtx, readyCancel := context.WithTimeout(ctx, readyTimeout)
	defer readyCancel()
	if err := s.main.waitReady(readyCtx); err != nil {
		return s, err
	}
	fmt.Printf("e2e: CoreDNS %s (pid %d) ready in %s on %s\n", s.main.name, s.main.PID(), time.Since(t0).Round(time.Millisecond), s.main.addr)
	return s, nil
}

// corefileOptions are the main instance's: pods verified, names by hostname or dashed IP.
func (s *suite) corefileOptions() corefileOptions {
	return corefileOptions{
		kubeconfig:     s.cp.Kubeconfig,
		pods:           "verified",
		startupTimeout: 5 * time.Second,
		upstream:       s.up.addr,
		manifests:      s.snapshot,
	}
}

// startCoreDNS starts an instance that teardown stops whatever happens.
func (s *suite) startCoreDNS(name string, o corefileOptions) (*coreDNS, error) {
	c, err := startCoreDNS(s.coredns, s.dir, name, o)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.instances = append(s.instances, c)
	s.mu.Unlock()
	return c, nil
}

// teardown stops every process the suite started, by PID.
func (s *suite) teardown(ok bool) {
	s.mu.Lock()
	instances := s.instances
	s.mu.Unlock()
	for _, c := range instances {
		if err := c.stop(); err != nil {
			fmt.Fprintf(os.Stderr, "e2e: %v\n", err)
		}
	}
	if s.up != nil {
		s.up.stop()
	}
	if s.cp != nil {
		s.cp.Stop()
	}
	if ok && !s.teardownKeep && os.Getenv("CLUSTERDNS_E2E_KEEP") == "" {
		os.RemoveAll(s.dir)
	} else {
		fmt.Printf("e2e: work directory kept: %s\n", s.dir)
	}
}

// diagnostics is the CoreDNS logs and the control plane's, for failure output.
func (s *suite) diagnostics(extra ...*coreDNS) string {
	var b strings.Builder
	seen := map[*coreDNS]bool{}
	for _, c := range append([]*coreDNS{s.main}, extra...) {
		if c == nil || seen[c] {
			continue
		}
		seen[c] = true
		b.WriteString(c.describe())
		b.WriteString("\n")
	}
	if s.cp != nil {
		b.WriteString(s.cp.Logs())
	}
	return b.String()
}

// need returns the suite, skipping the test when there is none (-short).
func need(t *testing.T) *suite {
	t.Helper()
	if env == nil {
		t.Skip("end-to-end: builds CoreDNS and kube-apiserver and starts a control plane; skipped under -short")
	}
	return env
}

// needLive is need for tests that change the cluster and watch CoreDNS follow.
func needLive(t *testing.T) *suite {
	t.Helper()
	s := need(t)
	if s.manifests {
		t.Skip("CLUSTERDNS_E2E_SOURCE=manifests serves a snapshot: nothing follows the API")
	}
	return s
}

// dumpOnFailure prints the CoreDNS logs (the main instance and extra) and the control plane's
// when t has failed.
func (s *suite) dumpOnFailure(t *testing.T, extra ...*coreDNS) {
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("diagnostics:\n%s", s.diagnostics(extra...))
		}
	})
}

// startExtraCoreDNS starts another instance for one test, stopped (by PID) when the test ends,
// with its log printed if the test fails. It does not wait for anything.
func (s *suite) startExtraCoreDNS(t *testing.T, name string, o corefileOptions) *coreDNS {
	t.Helper()
	c, err := s.startCoreDNS(name, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("started CoreDNS %s (pid %d) on %s", name, c.PID(), c.addr)
	t.Cleanup(func() {
		if err := c.stop(); err != nil {
			t.Error(err)
		}
	})
	s.dumpOnFailure(t, c)
	return c
}

// stopAPIServer stops kube-apiserver and makes sure, when the test ends, that it is started again
// and that kube-controller-manager and the main CoreDNS have caught up (see settle), so that the
// tests after it find the cluster as it was.
func (s *suite) stopAPIServer(t *testing.T) {
	t.Helper()
	s.mu.Lock()
	s.apiDown = true
	s.mu.Unlock()
	t.Cleanup(func() {
		if err := s.startAPIServer(context.Background()); err != nil {
			t.Errorf("restore kube-apiserver: %v", err)
			return
		}
		start := time.Now()
		if err := s.settle(context.Background(), t.Name()); err != nil {
			t.Errorf("after the outage: %v", err)
			return
		}
		t.Logf("kube-controller-manager and CoreDNS caught up %v after the end of the test", time.Since(start).Round(time.Millisecond))
	})
	if err := s.cp.StopAPIServer(); err != nil {
		t.Fatalf("stop kube-apiserver: %v", err)
	}
}

// stopAPIServerAgain stops kube-apiserver once more in a test that called stopAPIServer already,
// whose cleanup restores it.
func (s *suite) stopAPIServerAgain(t *testing.T) {
	t.Helper()
	s.mu.Lock()
	s.apiDown = true
	s.mu.Unlock()
	if err := s.cp.StopAPIServer(); err != nil {
		t.Fatalf("stop kube-apiserver: %v", err)
	}
}

// startAPIServer starts kube-apiserver if stopAPIServer stopped it.
func (s *suite) startAPIServer(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.apiDown {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, controlPlaneTimeout)
	defer cancel()
	if err := s.cp.StartAPIServer(ctx); err != nil {
		return err
	}
	s.apiDown = false
	// The tests are about the plugin's recovery, not kube-controller-manager's: its informers
	// back off for a minute or more after the outage before they write EndpointSlices again.
	return s.cp.RestartControllerManager(ctx)
}

// TestReadyAndMetrics checks the main instance's /ready and that the plugin's metrics are exported
// under coredns_clusterdns_.
func TestReadyAndMetrics(t *testing.T) {
	s := need(t)
	s.dumpOnFailure(t)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if code, body, err := s.main.readyStatus(ctx); err != nil || code != 200 {
		t.Errorf("/ready: %d %s %v, want 200", code, strings.TrimSpace(body), err)
	}
	code, body, err := httpGet(ctx, s.main.metricsURL)
	if err != nil || code != 200 {
		t.Fatalf("/metrics: %d %v", code, err)
	}
	names := map[string]bool{}
	for _, line := range strings.Split(body, "\n") {
		if strings.HasPrefix(line, "coredns_clusterdns_") {
			name, _, _ := strings.Cut(line, " ")
			name, _, _ = strings.Cut(name, "{")
			names[name] = true
		}
	}
	if len(names) == 0 {
		t.Fatalf("no coredns_clusterdns_ metric at %s", s.main.metricsURL)
	}
	var list []string
	for n := range names {
		list = append(list, n)
	}
	slices.Sort(list)
	t.Logf("plugin metrics: %s", strings.Join(list, " "))
	if s.manifests {
		return
	}
	// The live source has listed and watched the API: its request metrics must show it.
	for _, want := range []string{"coredns_clusterdns_api_requests_total", "coredns_clusterdns_api_request_duration_seconds_count"} {
		if !names[want] {
			var client []string
			for _, line := range strings.Split(body, "\n") {
				if strings.HasPrefix(line, "coredns_kubernetes_rest_client_requests_total") {
					client = append(client, line)
				}
			}
			t.Errorf("no %s sample although the plugin lists and watches the API; client-go's requests are counted elsewhere:\n%s",
				want, strings.Join(client, "\n"))
		}
	}
	for _, kind := range []string{"services", "endpointslices", "pods", "namespaces"} {
		if v, ok := metricSample(body, `coredns_clusterdns_objects{kind="`+kind+`"}`); !ok || v == 0 {
			t.Errorf("coredns_clusterdns_objects{kind=%q} is %v (found %v), want the objects held", kind, v, ok)
		}
	}
}

// metricSample returns the value of the sample "name{labels}" (or "name") in a /metrics body.
func metricSample(body, series string) (float64, bool) {
	for _, line := range strings.Split(body, "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return f, err == nil
		}
	}
	return 0, false
}
