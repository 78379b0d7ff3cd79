package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Fault tests stop kube-apiserver and start it again before they end, so that the tests after
// them find the control plane as it was.

// recoveryDeadline bounds how long CoreDNS may take to catch up once kube-apiserver is back:
// client-go's reflectors retry a refused watch after a backoff that grows to 30 s with up to
// 100% jitter, so a watch can come back up to a minute after the API server does.
const recoveryDeadline = 90 * time.Second

// kcmRecoveryDeadline bounds kube-controller-manager's own recovery (its watches back off the
// same way) before it writes an EndpointSlice.
const kcmRecoveryDeadline = 2 * time.Minute

// unsyncedCases are cluster names whose answers depend on the API: before the first sync every
// one of them must be SERVFAIL, never NXDOMAIN and never an empty NOERROR.
func unsyncedCases(sc *scenario) []dnsCase {
	servfail := expect{rcode: dns.RcodeServerFailure, anyAnswer: true, notAuthoritative: true}
	h0 := sc.podIP("default/hostnames-6b9c8d7f5-2xkqp", true)
	return []dnsCase{
		{"ClusterIP service A", svcName("hostnames", "default"), dns.TypeA, servfail},
		{"ClusterIP service AAAA", svcName("hostnames", "default"), dns.TypeAAAA, servfail},
		{"headless service A", svcName("nginx", "default"), dns.TypeA, servfail},
		{"endpoint hostname A", "zookeeper-0." + svcName("zookeeper-headless", "middleware"), dns.TypeA, servfail},
		{"SRV", "_default._tcp." + svcName("hostnames", "default"), dns.TypeSRV, servfail},
		{"ExternalName CNAME", svcName("my-database", "default"), dns.TypeCNAME, servfail},
		{"unknown service", svcName("nothere", "default"), dns.TypeA, servfail},
		{"search-path miss", "kubernetes.default.default.svc." + zone, dns.TypeA, servfail},
		{"pod A", podName(h0, "default"), dns.TypeA, servfail},
		{"ClusterIP PTR (not handed to fallthrough)", reverse(sc.clusterIP("default/kubernetes", true)), dns.TypePTR, servfail},
	}
}

// TestFaultStartWithoutAPIServer starts a CoreDNS while kube-apiserver is down (spec rule 18),
// then starts kube-apiserver and waits for correct answers and /ready.
func TestFaultStartWithoutAPIServer(t *testing.T) {
	s := needLive(t)
	s.dumpOnFailure(t)
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()

	s.stopAPIServer(t)
	t.Log("kube-apiserver stopped")
	start := time.Now()
	c := s.startExtraCoreDNS(t, "no-apiserver", s.corefileOptions())
	serveCtx, serveCancel := context.WithTimeout(ctx, 30*time.Second)
	defer serveCancel()
	if err := c.waitServing(serveCtx, "example.com.", dns.TypeA); err != nil {
		t.Fatal(err)
	}
	t.Logf("CoreDNS serving %v after start without kube-apiserver (startup_timeout 5s)", time.Since(start).Round(time.Millisecond))

	cases := unsyncedCases(s.sc)
	asked := map[string]int{}
	for _, tc := range cases {
		asked[tc.qname] = s.up.asked(tc.qname)
	}
	// Twice, a second apart: the answer must not change while the API stays away.
	for round := range 2 {
		t.Run(fmt.Sprintf("unsynced round %d", round+1), func(t *testing.T) {
			runCases(t, c, cases)
			runCases(t, c, []dnsCase{
				{"forwarded name still answers", "example.com.", dns.TypeA, expect{rcode: dns.RcodeSuccess, answer: []string{"example.com. A " + exampleComIP}, notAuthoritative: true}},
				{"other forwarded name", "foo.example.com.", dns.TypeA, expect{rcode: dns.RcodeSuccess, answer: []string{"foo.example.com. A " + fooIP}, notAuthoritative: true}},
			})
			code, body, err := c.readyStatus(ctx)
			if err == nil && code == http.StatusOK {
				t.Errorf("/ready is 200 before any sync with the API server")
			} else {
				t.Logf("/ready before the first sync: %d %s %v", code, strings.TrimSpace(body), err)
			}
		})
		time.Sleep(time.Second)
	}
	for _, m := range []string{"coredns_clusterdns_synced", "coredns_clusterdns_api_reachable"} {
		if v, ok := metricValue(ctx, c, m); !ok || v != 0 {
			t.Errorf("%s is %v (found %v) before any sync with an unreachable API server, want 0", m, v, ok)
		}
	}
	for _, tc := range cases {
		if n := s.up.asked(tc.qname) - asked[tc.qname]; n > 0 {
			t.Errorf("%s reached the upstream %d times while unsynced: the plugin must answer SERVFAIL itself", tc.qname, n)
		}
	}

	restart := time.Now()
	if err := s.startAPIServer(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("kube-apiserver back after %v", time.Since(restart).Round(time.Millisecond))
	back := time.Now()
	hostnames := svcName("hostnames", "default")
	d, err := c.awaitAnswer(ctx, back, hostnames, dns.TypeA, answers(aKey(hostnames, s.sc.clusterIP("default/hostnames", true))), recoveryDeadline)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("first correct answer %v after kube-apiserver was ready", d.Round(time.Millisecond))
	readyCtx, readyCancel := context.WithDeadline(ctx, back.Add(recoveryDeadline))
	defer readyCancel()
	if err := c.waitReady(readyCtx); err != nil {
		t.Fatal(err)
	}
	t.Logf("/ready 200 %v after kube-apiserver was ready", time.Since(back).Round(time.Millisecond))
	for _, m := range []string{"coredns_clusterdns_synced", "coredns_clusterdns_api_reachable"} {
		if v, ok := metricValue(ctx, c, m); !ok || v != 1 {
			t.Errorf("%s is %v (found %v) once synced, want 1", m, v, ok)
		}
	}
	propagationTimes.add(t, "fault: first sync after kube-apiserver starts", d)

	runCases(t, c, []dnsCase{
		{"synced: ClusterIP A", hostnames, dns.TypeA, answers(aKey(hostnames, s.sc.clusterIP("default/hostnames", true)))},
		{"synced: unknown service is NXDOMAIN", svcName("nothere", "default"), dns.TypeA, nxdomain(zone)},
		{"synced: search-path miss is NXDOMAIN", "kubernetes.default.default.svc." + zone, dns.TypeA, nxdomain(zone)},
	})
}

// knownCases are names the main instance knows before the outage, with their answers.
func knownCases(sc *scenario) []dnsCase {
	hostnames := svcName("hostnames", "default")
	nginx := svcName("nginx", "default")
	zk := svcName("zookeeper-headless", "middleware")
	var srv []string
	for i := range 3 {
		srv = append(srv, srvKey("_client._tcp."+zk, 2181, fmt.Sprintf("zookeeper-%d.%s", i, zk)))
	}
	h0 := sc.podIP("default/hostnames-6b9c8d7f5-2xkqp", true)
	kubeIP := sc.clusterIP("default/kubernetes", true)
	return []dnsCase{
		{"ClusterIP A", hostnames, dns.TypeA, answers(aKey(hostnames, sc.clusterIP("default/hostnames", true)))},
		{"ClusterIP AAAA NODATA", hostnames, dns.TypeAAAA, nodata(zone)},
		{"dual-stack AAAA", svcName("dual", "default"), dns.TypeAAAA, answers(aKey(svcName("dual", "default"), sc.clusterIP("default/dual", false)))},
		{"headless A", nginx, dns.TypeA, answers(aKey(nginx, sc.podIP("default/nginx-0", true)), aKey(nginx, sc.podIP("default/nginx-1", true)))},
		{"endpoint hostname", "zookeeper-0." + zk, dns.TypeA, answers(aKey("zookeeper-0."+zk, sc.podIP("middleware/zookeeper-0", true)))},
		{"headless SRV", "_client._tcp." + zk, dns.TypeSRV, answers(srv...)},
		{"PTR", reverse(kubeIP), dns.TypePTR, answers(ptrKey(reverse(kubeIP), svcName("kubernetes", "default")))},
		{"ExternalName CNAME", svcName("my-database", "default"), dns.TypeCNAME, answers(cnameKey(svcName("my-database", "default"), "my.database.example.com."))},
		{"pod A", podName(h0, "default"), dns.TypeA, answers(aKey(podName(h0, "default"), h0))},
		{"known NXDOMAIN", svcName("nothere", "default"), dns.TypeA, nxdomain(zone)},
	}
}

// proberPause is the rest between two rounds of the prober: the machine has two cores, and the
// control plane needs them to come back.
const proberPause = 20 * time.Millisecond

// prober asks known names in a loop and counts every answer that differs.
type prober struct {
	c     *coreDNS
	cases []dnsCase
	// retry asks once more after a failure to exchange, as stub resolvers do: CoreDNS itself
	// resets the TCP connections of the server it replaces on a reload.
	retry bool

	mu       sync.Mutex
	total    int
	bad      int
	servfail int
	failures []string // the first few, with when they happened
	since    time.Time
}

// start runs the prober in the background until the returned stop, which waits for it to end
// and may be called more than once.
func (p *prober) start(ctx context.Context) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go p.run(ctx, done)
	return func() { cancel(); <-done }
}

func (p *prober) run(ctx context.Context, done chan<- struct{}) {
	defer close(done)
	for ctx.Err() == nil {
		for _, tc := range p.cases {
			for _, network := range networks {
				r, err := p.c.exchange(network, tc.qname, tc.qtype)
				if err != nil && p.retry {
					r, err = p.c.exchange(network, tc.qname, tc.qtype)
				}
				var bad []string
				if err != nil {
					bad = []string{err.Error()}
				} else {
					bad = tc.want.verify(r)
				}
				p.mu.Lock()
				p.total++
				if len(bad) > 0 {
					p.bad++
					if r != nil && r.Rcode == dns.RcodeServerFailure {
						p.servfail++
					}
					if len(p.failures) < 10 {
						p.failures = append(p.failures, fmt.Sprintf("+%v %s %s over %s: %s",
							time.Since(p.since).Round(time.Millisecond), tc.qname, dns.TypeToString[tc.qtype], network, strings.Join(bad, "; ")))
					}
				}
				p.mu.Unlock()
			}
		}
		select {
		case <-ctx.Done():
		case <-time.After(proberPause):
		}
	}
}

func (p *prober) counts() (total, bad, servfail int, failures []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.total, p.bad, p.servfail, append([]string(nil), p.failures...)
}

// TestFaultAPIServerRestart stops and restarts kube-apiserver while known names are asked in a
// loop: every answer must stay right through the outage, and a change made once kube-apiserver is
// back must show.
func TestFaultAPIServerRestart(t *testing.T) {
	s := needLive(t)
	s.dumpOnFailure(t)
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	const ns = "e2e-faults"
	if err := createNamespace(ctx, s.cp, ns); err != nil {
		t.Fatal(err)
	}
	// Its first endpoint arrives after the outage, through the EndpointSlice watch only.
	if _, err := s.cp.Client.CoreV1().Services(ns).Create(ctx, service(ns, "after-hl", headlessSpec("after-hl")), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	p := &prober{c: s.main, cases: knownCases(s.sc), since: time.Now()}
	stopProbe := p.start(ctx)
	defer stopProbe()

	time.Sleep(time.Second)
	if total, bad, _, failures := p.counts(); total == 0 || bad > 0 {
		t.Fatalf("before the outage: %d of %d answers wrong:\n%s", bad, total, strings.Join(failures, "\n"))
	}

	const outage = 8 * time.Second
	stopped := time.Now()
	s.stopAPIServer(t)
	t.Logf("kube-apiserver stopped in %v; keeping it down %v", time.Since(stopped).Round(time.Millisecond), outage)
	// The plugin's stale-data signal: api_reachable must drop to 0 while the API is away.
	var unreachableAfter time.Duration
	for time.Since(stopped) < outage {
		if v, ok := metricValue(ctx, s.main, "coredns_clusterdns_api_reachable"); ok && v == 0 && unreachableAfter == 0 {
			unreachableAfter = time.Since(stopped)
		}
		time.Sleep(250 * time.Millisecond)
	}
	code, _, err := s.main.readyStatus(ctx)
	t.Logf("main CoreDNS /ready during the outage: %d %v", code, err)
	t.Logf("main CoreDNS metrics during the outage: %s", metricLines(ctx, s.main, "coredns_clusterdns_api_reachable", "coredns_clusterdns_api_request_errors_total"))
	if unreachableAfter == 0 {
		t.Errorf("coredns_clusterdns_api_reachable stayed 1 through a %v kube-apiserver outage: nothing tells that stale data is served", outage)
	} else {
		t.Logf("coredns_clusterdns_api_reachable went to 0 %v into the outage", unreachableAfter.Round(time.Millisecond))
	}

	restart := time.Now()
	if err := s.startAPIServer(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("kube-apiserver ready again %v after start; down %v in all", time.Since(restart).Round(time.Millisecond), time.Since(stopped).Round(time.Millisecond))

	// Changes right after the restart must reach the answers once the watches are back: one
	// per informer (namespaces, services, pods, EndpointSlices), polled side by side.
	afterChanges(ctx, t, s, ns)
	if unreachableAfter > 0 {
		if v, ok := metricValue(ctx, s.main, "coredns_clusterdns_api_reachable"); !ok || v != 1 {
			t.Errorf("coredns_clusterdns_api_reachable is %v (found %v) after the watches came back, want 1", v, ok)
		}
	}
	t.Logf("main CoreDNS metrics after the outage: %s", metricLines(ctx, s.main, "coredns_clusterdns_api_reachable", "coredns_clusterdns_api_request_errors_total"))
	time.Sleep(time.Second)
	stopProbe()

	total, bad, servfail, failures := p.counts()
	t.Logf("prober: %d questions over %v (UDP and TCP), %d wrong answers (%d SERVFAIL)", total, time.Since(p.since).Round(time.Millisecond), bad, servfail)
	if bad > 0 {
		t.Errorf("%d of %d answers for known names were wrong or SERVFAIL during the outage; first ones:\n%s", bad, total, strings.Join(failures, "\n"))
	}
}

// afterChanges makes one change per watched resource and waits for each to show in the main
// instance's answers.
func afterChanges(ctx context.Context, t *testing.T, s *suite, ns string) {
	t.Helper()
	client := s.cp.Client.CoreV1()
	type change struct {
		kind  string
		start time.Time
		qname string
		qtype uint16
		want  expect
	}
	var changes []change

	newNS := ns + "-after"
	start := time.Now()
	if err := createNamespace(ctx, s.cp, newNS); err != nil {
		t.Fatal(err)
	}
	changes = append(changes, change{"namespace", start, newNS + ".svc." + zone, dns.TypeA, nodata(zone)})

	start = time.Now()
	created, err := client.Services(ns).Create(ctx, service(ns, "after-restart", corev1.ServiceSpec{Ports: httpPort()}), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	name := svcName("after-restart", ns)
	changes = append(changes, change{"service", start, name, dns.TypeA, answers(aKey(name, netip.MustParseAddr(created.Spec.ClusterIP)))})

	start = time.Now()
	pod := podDef{name: "after-0", labels: labels("after-hl"), ips: []string{"10.244.11.1"}}
	if err := createPod(ctx, s.cp, ns, pod); err != nil {
		t.Fatal(err)
	}
	ip := netip.MustParseAddr(pod.ips[0])
	changes = append(changes, change{"pod", start, podName(ip, ns), dns.TypeA, answers(aKey(podName(ip, ns), ip))})

	errs := make([]error, len(changes))
	took := make([]time.Duration, len(changes))
	var wg sync.WaitGroup
	for i, c := range changes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			took[i], errs[i] = s.main.awaitAnswer(ctx, c.start, c.qname, c.qtype, c.want, recoveryDeadline)
		}()
	}
	// The pod's EndpointSlice is written by kube-controller-manager, whose own watches come
	// back with their own backoff: the plugin's part is from when the API has the slice.
	var sliceInAPI, sliceToAnswer time.Duration
	var sliceErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		sctx, cancel := context.WithDeadline(ctx, start.Add(kcmRecoveryDeadline))
		defer cancel()
		if sliceErr = waitSlices(sctx, s.cp, ns, "after-hl", 1, 0, false); sliceErr != nil {
			return
		}
		seen := time.Now()
		sliceInAPI = seen.Sub(start)
		hl := svcName("after-hl", ns)
		sliceToAnswer, sliceErr = s.main.awaitAnswer(ctx, seen, hl, dns.TypeA, answers(aKey(hl, ip)), recoveryDeadline)
	}()
	wg.Wait()
	for i, c := range changes {
		if errs[i] != nil {
			t.Errorf("%s change after the restart: %v", c.kind, errs[i])
			continue
		}
		propagationTimes.add(t, "fault: "+c.kind+" change right after kube-apiserver restart", took[i])
	}
	if sliceErr != nil {
		t.Errorf("EndpointSlice change after the restart: %v", sliceErr)
		return
	}
	t.Logf("kube-controller-manager wrote the EndpointSlice %v after the pod was created", sliceInAPI.Round(time.Millisecond))
	propagationTimes.add(t, "fault: EndpointSlice in API after restart -> answer", sliceToAnswer)
}

// metricLines returns the /metrics samples of the named metrics, on one line.
func metricLines(ctx context.Context, c *coreDNS, names ...string) string {
	_, body, err := httpGet(ctx, c.metricsURL)
	if err != nil {
		return err.Error()
	}
	var out []string
	for _, line := range strings.Split(body, "\n") {
		for _, n := range names {
			if strings.HasPrefix(line, n+" ") || strings.HasPrefix(line, n+"{") {
				out = append(out, line)
			}
		}
	}
	return strings.Join(out, "; ")
}

// metricValue returns the value of an unlabelled metric.
func metricValue(ctx context.Context, c *coreDNS, name string) (float64, bool) {
	_, body, err := httpGet(ctx, c.metricsURL)
	if err != nil {
		return 0, false
	}
	return metricSample(body, name)
}

// settleDeadline bounds settle: kube-controller-manager's watches and the plugin's both back off.
const settleDeadline = 3 * time.Minute

// settle waits until a new namespace, headless service and pod show in the main instance's
// answers: kube-controller-manager's service and pod watches have to work to write the
// EndpointSlice, and the plugin's namespace, service, EndpointSlice and pod watches to answer.
func (s *suite) settle(ctx context.Context, testName string) error {
	ctx, cancel := context.WithTimeout(ctx, settleDeadline)
	defer cancel()
	ns := "settle-" + strings.ToLower(strings.NewReplacer("/", "-", "_", "-").Replace(testName))
	if len(ns) > 63 {
		ns = ns[:63]
	}
	ns = strings.TrimRight(ns, "-")
	if err := createNamespace(ctx, s.cp, ns); err != nil {
		return err
	}
	if _, err := s.cp.Client.CoreV1().Services(ns).Create(ctx, service(ns, "canary", headlessSpec("canary")), metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create canary service: %w", err)
	}
	pod := podDef{name: "canary-0", labels: labels("canary"), ips: []string{"10.244.250.1"}}
	if err := createPod(ctx, s.cp, ns, pod); err != nil {
		return err
	}
	ip := netip.MustParseAddr(pod.ips[0])
	start := time.Now()
	for _, w := range []struct {
		qname string
		want  expect
	}{
		{ns + ".svc." + zone, nodata(zone)},
		{podName(ip, ns), answers(aKey(podName(ip, ns), ip))},
		{svcName("canary", ns), answers(aKey(svcName("canary", ns), ip))},
	} {
		if _, err := s.main.awaitAnswer(ctx, start, w.qname, dns.TypeA, w.want, settleDeadline); err != nil {
			st, _ := getSliceState(ctx, s.cp, ns, "canary")
			return fmt.Errorf("canary %s (its EndpointSlices: %v): %w", w.qname, st, err)
		}
	}
	return nil
}
