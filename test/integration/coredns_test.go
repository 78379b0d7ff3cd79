// Package integration tests the custom CoreDNS binary the way operators get
// it: built through CoreDNS's plugin.cfg by plugin/build.sh, started as a
// process with a Corefile, and queried over the wire.
package integration

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// modulePath is the module whose root holds plugin/build.sh.
const modulePath = "github.com/clusterdns/clusterdns"

// Bounds on every wait.
const (
	buildTimeout = 30 * time.Minute // a cold CoreDNS build is ~4-5 min on 2 cores
	readyTimeout = 60 * time.Second
	stopTimeout  = 10 * time.Second
	queryTimeout = 5 * time.Second
)

// bulkEndpoints is the size of the headless service used for truncation.
const bulkEndpoints = 200

func TestCoreDNSBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds CoreDNS and starts it: skipped under -short")
	}
	root := repoRoot(t)
	bin := buildCoreDNS(t, root)

	dir := t.TempDir()
	bulk := filepath.Join(dir, "bulk.yaml")
	if err := os.WriteFile(bulk, []byte(bulkManifest(bulkEndpoints)), 0o644); err != nil {
		t.Fatal(err)
	}
	dnsPort := freePort(t, true)
	readyPort := freePort(t, false)
	corefile := filepath.Join(dir, "Corefile")
	conf := fmt.Sprintf(`.:%d {
    bind 127.0.0.1
    errors
    log
    ready 127.0.0.1:%d
    clusterdns cluster.local in-addr.arpa {
        manifests %s %s
        pods insecure
    }
    whoami
}
`, dnsPort, readyPort, filepath.Join(root, "examples", "cluster.yaml"), bulk)
	if err := os.WriteFile(corefile, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("Corefile:\n%s", conf)

	srv := startCoreDNS(t, bin, corefile, dir)
	srv.waitReady(t, readyPort)

	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(dnsPort))
	for _, network := range []string{"udp", "tcp"} {
		t.Run(network, func(t *testing.T) {
			for _, tc := range clusterCases() {
				t.Run(tc.name, func(t *testing.T) {
					r := exchange(t, network, addr, tc.qname, tc.qtype)
					tc.check(t, r)
				})
			}
		})
	}

	bulkName := "bulk.bulk.svc.cluster.local."
	t.Run("truncation/udp-no-edns", func(t *testing.T) {
		r, size := exchangeRawUDP(t, addr, bulkName, dns.TypeA)
		if r.Rcode != dns.RcodeSuccess {
			t.Fatalf("rcode %s, want NOERROR\n%s", dns.RcodeToString[r.Rcode], r)
		}
		if !r.Truncated {
			t.Fatalf("TC not set on a %d-address answer over UDP without EDNS\n%s", bulkEndpoints, r)
		}
		if size > dns.MinMsgSize {
			t.Errorf("UDP answer is %d bytes on the wire, more than %d without EDNS", size, dns.MinMsgSize)
		}
		// Whatever records a truncated answer carries must be the service's.
		for _, rr := range r.Answer {
			if a, ok := rr.(*dns.A); !ok || !strings.HasPrefix(a.A.String(), "10.245.") {
				t.Errorf("unexpected record in the truncated answer: %s", rr)
			}
		}
	})
	t.Run("truncation/tcp", func(t *testing.T) {
		r := exchange(t, "tcp", addr, bulkName, dns.TypeA)
		if r.Rcode != dns.RcodeSuccess || r.Truncated {
			t.Fatalf("rcode %s, TC %v: want NOERROR, no TC\n%s", dns.RcodeToString[r.Rcode], r.Truncated, r)
		}
		got := addrs(r, bulkName)
		want := make([]string, 0, bulkEndpoints)
		for i := range bulkEndpoints {
			want = append(want, bulkIP(i))
		}
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Fatalf("got %d A records, want the %d endpoint addresses\ngot: %v", len(got), len(want), got)
		}
	})
}

type dnsCase struct {
	name  string
	qname string
	qtype uint16
	check func(t *testing.T, r *dns.Msg)
}

func clusterCases() []dnsCase {
	return []dnsCase{
		{
			name: "service-A", qname: "hostnames.default.svc.cluster.local.", qtype: dns.TypeA,
			check: func(t *testing.T, r *dns.Msg) {
				wantNoError(t, r)
				if !r.Authoritative {
					t.Errorf("AA not set\n%s", r)
				}
				wantAddrs(t, r, "hostnames.default.svc.cluster.local.", "10.96.10.10")
			},
		},
		{
			name: "headless-A", qname: "nginx.default.svc.cluster.local.", qtype: dns.TypeA,
			check: func(t *testing.T, r *dns.Msg) {
				wantNoError(t, r)
				wantAddrs(t, r, "nginx.default.svc.cluster.local.", "10.244.2.5", "10.244.2.6")
			},
		},
		{
			name: "endpoint-hostname-A", qname: "zookeeper-0.zookeeper-headless.middleware.svc.cluster.local.", qtype: dns.TypeA,
			check: func(t *testing.T, r *dns.Msg) {
				wantNoError(t, r)
				wantAddrs(t, r, "zookeeper-0.zookeeper-headless.middleware.svc.cluster.local.", "10.244.4.10")
			},
		},
		{
			name: "port-SRV", qname: "_client._tcp.zookeeper-headless.middleware.svc.cluster.local.", qtype: dns.TypeSRV,
			check: func(t *testing.T, r *dns.Msg) {
				wantNoError(t, r)
				var targets []string
				for _, rr := range r.Answer {
					srv, ok := rr.(*dns.SRV)
					if !ok {
						t.Errorf("unexpected answer record %s", rr)
						continue
					}
					if srv.Port != 2181 {
						t.Errorf("SRV port %d, want 2181: %s", srv.Port, srv)
					}
					if !dns.IsSubDomain("zookeeper-headless.middleware.svc.cluster.local.", srv.Target) {
						t.Errorf("SRV target %s is not under the service", srv.Target)
					}
					targets = append(targets, strings.ToLower(srv.Target))
				}
				if len(targets) != 3 {
					t.Fatalf("got %d SRV records, want 3\n%s", len(targets), r)
				}
				slices.Sort(targets)
				if len(slices.Compact(targets)) != 3 {
					t.Errorf("SRV targets not distinct: %v", targets)
				}
			},
		},
		{
			name: "reverse-PTR", qname: "1.0.96.10.in-addr.arpa.", qtype: dns.TypePTR,
			check: func(t *testing.T, r *dns.Msg) {
				wantNoError(t, r)
				var ptrs []string
				for _, rr := range r.Answer {
					if p, ok := rr.(*dns.PTR); ok {
						ptrs = append(ptrs, p.Ptr)
					}
				}
				if !slices.Equal(ptrs, []string{"kubernetes.default.svc.cluster.local."}) {
					t.Fatalf("PTR %v, want [kubernetes.default.svc.cluster.local.]\n%s", ptrs, r)
				}
			},
		},
		{
			name: "externalname-CNAME", qname: "my-database.default.svc.cluster.local.", qtype: dns.TypeCNAME,
			check: func(t *testing.T, r *dns.Msg) {
				wantNoError(t, r)
				var targets []string
				for _, rr := range r.Answer {
					if c, ok := rr.(*dns.CNAME); ok {
						targets = append(targets, c.Target)
					}
				}
				if !slices.Equal(targets, []string{"my.database.example.com."}) {
					t.Fatalf("CNAME %v, want [my.database.example.com.]\n%s", targets, r)
				}
			},
		},
		{
			name: "NXDOMAIN", qname: "nothere.default.svc.cluster.local.", qtype: dns.TypeA,
			check: func(t *testing.T, r *dns.Msg) {
				if r.Rcode != dns.RcodeNameError {
					t.Fatalf("rcode %s, want NXDOMAIN\n%s", dns.RcodeToString[r.Rcode], r)
				}
				if len(r.Answer) != 0 {
					t.Errorf("answers in an NXDOMAIN: %v", r.Answer)
				}
				var soa *dns.SOA
				for _, rr := range r.Ns {
					if s, ok := rr.(*dns.SOA); ok {
						soa = s
					}
				}
				if soa == nil {
					t.Fatalf("no SOA in the authority section\n%s", r)
				}
				if !strings.EqualFold(soa.Hdr.Name, "cluster.local.") {
					t.Errorf("SOA owner %s, want cluster.local.", soa.Hdr.Name)
				}
			},
		},
		{
			name: "case-preserved", qname: "HoStNaMeS.Default.svc.cluster.local.", qtype: dns.TypeA,
			check: func(t *testing.T, r *dns.Msg) {
				wantNoError(t, r)
				if len(r.Answer) == 0 {
					t.Fatalf("no answer\n%s", r)
				}
				for _, rr := range r.Answer {
					if rr.Header().Name != "HoStNaMeS.Default.svc.cluster.local." {
						t.Errorf("owner name %q, want the query's case HoStNaMeS.Default.svc.cluster.local.", rr.Header().Name)
					}
				}
				wantAddrs(t, r, "HoStNaMeS.Default.svc.cluster.local.", "10.96.10.10")
			},
		},
	}
}

func wantNoError(t *testing.T, r *dns.Msg) {
	t.Helper()
	if r.Rcode != dns.RcodeSuccess {
		t.Fatalf("rcode %s, want NOERROR\n%s", dns.RcodeToString[r.Rcode], r)
	}
}

// wantAddrs checks that the A records owned by name are exactly want.
func wantAddrs(t *testing.T, r *dns.Msg, name string, want ...string) {
	t.Helper()
	got := addrs(r, name)
	slices.Sort(got)
	want = slices.Clone(want)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("A records of %s: %v, want %v\n%s", name, got, want, r)
	}
}

// addrs returns the A record addresses in the answer owned by name (any case).
func addrs(r *dns.Msg, name string) []string {
	var out []string
	for _, rr := range r.Answer {
		if a, ok := rr.(*dns.A); ok && strings.EqualFold(a.Hdr.Name, name) {
			out = append(out, a.A.String())
		}
	}
	return out
}

// exchange sends one query without EDNS (so UDP answers are limited to 512
// bytes) and returns the answer, failing the test on transport errors.
func exchange(t *testing.T, network, addr, qname string, qtype uint16) *dns.Msg {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(qname, qtype)
	c := &dns.Client{Net: network, Timeout: queryTimeout}
	r, _, err := c.Exchange(m, addr)
	if err != nil {
		t.Fatalf("%s %s over %s: %v", qname, dns.TypeToString[qtype], network, err)
	}
	if r.Id != m.Id {
		t.Fatalf("answer ID %d, query ID %d", r.Id, m.Id)
	}
	if len(r.Question) != 1 || r.Question[0].Name != qname || r.Question[0].Qtype != qtype {
		t.Fatalf("answer question %v does not echo %s %s", r.Question, qname, dns.TypeToString[qtype])
	}
	return r
}

// exchangeRawUDP sends one query without EDNS over UDP and reads the answer
// into a 64 KiB buffer, so that its real size on the wire is seen (the
// miekg/dns client reads only 512 bytes without EDNS).
func exchangeRawUDP(t *testing.T, addr, qname string, qtype uint16) (*dns.Msg, int) {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(qname, qtype)
	q, err := m.Pack()
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(queryTimeout)); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Write(q); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, dns.MaxMsgSize)
	n, err := conn.Read(buf)
	if err != nil {
		t.Fatalf("%s %s over udp: %v", qname, dns.TypeToString[qtype], err)
	}
	r := new(dns.Msg)
	if err := r.Unpack(buf[:n]); err != nil {
		t.Fatalf("unpack a %d-byte answer: %v", n, err)
	}
	if r.Id != m.Id {
		t.Fatalf("answer ID %d, query ID %d", r.Id, m.Id)
	}
	return r, n
}

// repoRoot walks up from the package directory to this module's go.mod.
func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && modFileIs(b, modulePath) {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatalf("no go.mod of %s above the test directory", modulePath)
		}
		dir = parent
	}
}

func modFileIs(b []byte, module string) bool {
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 2 && f[0] == "module" {
			return strings.Trim(f[1], `"`) == module
		}
	}
	return false
}

// buildCoreDNS runs plugin/build.sh (incremental after the first run) and
// returns the binary. COREDNS_BINARY names a prebuilt binary to use instead.
func buildCoreDNS(t *testing.T, root string) string {
	t.Helper()
	if bin := os.Getenv("COREDNS_BINARY"); bin != "" {
		t.Logf("using COREDNS_BINARY=%s", bin)
		return bin
	}
	timeout := buildTimeout
	if d, ok := t.Deadline(); ok {
		// Leave time for the queries and for go test to report.
		if left := time.Until(d) - 2*time.Minute; left < timeout {
			timeout = left
		}
	}
	if timeout <= 0 {
		t.Fatal("no time left under the go test -timeout to build CoreDNS")
	}
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", filepath.Join(root, "plugin", "build.sh"))
	cmd.Dir = root
	cmd.WaitDelay = 10 * time.Second
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	if err != nil {
		t.Fatalf("plugin/build.sh failed after %s (timeout %s): %v\n%s", time.Since(start).Round(time.Second), timeout, err, out.String())
	}
	t.Logf("plugin/build.sh took %s\n%s", time.Since(start).Round(100*time.Millisecond), out.String())
	return filepath.Join(root, "build", "coredns")
}

// freePort finds a port free on 127.0.0.1 for TCP (and UDP when udp is set)
// by binding :0 and closing. Another process could take it before CoreDNS
// binds it; the ready wait then fails with CoreDNS's own bind error in the log.
func freePort(t *testing.T, udp bool) int {
	t.Helper()
	for range 20 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		if udp {
			pc, err := net.ListenPacket("udp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
			if err != nil {
				l.Close()
				continue
			}
			pc.Close()
		}
		l.Close()
		return port
	}
	t.Fatal("no free port on 127.0.0.1 for both UDP and TCP after 20 tries")
	return 0
}

// syncBuffer collects the process's output; written by exec's copy goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

type coreDNS struct {
	cmd    *exec.Cmd
	log    *syncBuffer
	exited chan struct{} // closed when the process has exited
	err    error         // Wait's result, valid once exited is closed
}

// startCoreDNS starts the binary and registers its stop (SIGTERM, then
// SIGKILL after stopTimeout) and a dump of its log on failure.
func startCoreDNS(t *testing.T, bin, corefile, dir string) *coreDNS {
	t.Helper()
	s := &coreDNS{log: &syncBuffer{}, exited: make(chan struct{})}
	s.cmd = exec.Command(bin, "-conf", corefile)
	s.cmd.Dir = dir
	s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
	s.cmd.WaitDelay = stopTimeout
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	go func() {
		s.err = s.cmd.Wait()
		close(s.exited)
	}()
	t.Cleanup(func() {
		s.stop(t)
		if t.Failed() {
			t.Logf("CoreDNS log (pid %d):\n%s", s.cmd.Process.Pid, s.log.String())
		}
	})
	return s
}

func (s *coreDNS) stop(t *testing.T) {
	select {
	case <-s.exited:
		return
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
		return
	case <-time.After(stopTimeout):
	}
	t.Errorf("CoreDNS (pid %d) still running %s after SIGTERM; killing it", s.cmd.Process.Pid, stopTimeout)
	_ = s.cmd.Process.Kill()
	select {
	case <-s.exited:
	case <-time.After(stopTimeout):
		t.Errorf("CoreDNS (pid %d) did not exit after SIGKILL within %s", s.cmd.Process.Pid, stopTimeout)
	}
}

// waitReady polls the ready plugin until it answers 200, the process exits, or
// readyTimeout passes.
func (s *coreDNS) waitReady(t *testing.T, port int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), readyTimeout)
	defer cancel()
	url := fmt.Sprintf("http://127.0.0.1:%d/ready", port)
	client := &http.Client{Timeout: time.Second}
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var last string
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := client.Do(req)
		if err == nil {
			body := make([]byte, 512)
			n, _ := resp.Body.Read(body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
			last = fmt.Sprintf("%s: %s", resp.Status, strings.TrimSpace(string(body[:n])))
		} else {
			last = err.Error()
		}
		select {
		case <-s.exited:
			t.Fatalf("CoreDNS exited before it was ready: %v", s.err)
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				t.Fatalf("CoreDNS not ready within %s at %s; last: %s", readyTimeout, url, last)
			}
			t.Fatal(ctx.Err())
		case <-tick.C:
		}
	}
}

func bulkIP(i int) string { return fmt.Sprintf("10.245.%d.%d", i/250, i%250+1) }

// bulkManifest is a namespace "bulk" with a headless service "bulk" backed by
// n ready endpoints, in EndpointSlices of at most 100 like the controller.
func bulkManifest(n int) string {
	var b strings.Builder
	b.WriteString(`apiVersion: v1
kind: Namespace
metadata:
  name: bulk
  labels:
    kubernetes.io/metadata.name: bulk
status:
  phase: Active
---
apiVersion: v1
kind: Service
metadata:
  name: bulk
  namespace: bulk
spec:
  clusterIP: None
  clusterIPs:
  - None
  ipFamilies:
  - IPv4
  ipFamilyPolicy: SingleStack
  ports:
  - name: http
    port: 80
    protocol: TCP
  selector:
    app: bulk
  type: ClusterIP
`)
	for slice := 0; slice*100 < n; slice++ {
		fmt.Fprintf(&b, `---
addressType: IPv4
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: bulk-%d
  namespace: bulk
  labels:
    endpointslice.kubernetes.io/managed-by: endpointslice-controller.k8s.io
    kubernetes.io/service-name: bulk
ports:
- name: http
  port: 80
  protocol: TCP
endpoints:
`, slice)
		for i := slice * 100; i < n && i < (slice+1)*100; i++ {
			fmt.Fprintf(&b, `- addresses:
  - %s
  conditions:
    ready: true
    serving: true
    terminating: false
`, bulkIP(i))
		}
	}
	return b.String()
}
