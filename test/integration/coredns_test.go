// Package integration tests the custom CoreDNS binary the way operators get
// it: built through CoreDNS's plugin.cfg by plugin/build.sh, started as a
// process with a Corefile, and queried over the wire.
package integration

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/clusterdns/clusterdns/test/corednstest"
	"github.com/miekg/dns"
)

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
	ctx, cancel := context.WithTimeout(t.Context(), buildTimeout)
	defer cancel()
	root, err := corednstest.RepoRoot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	bin, err := corednstest.Build(ctx, root)
	if err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	bulk := filepath.Join(dir, "bulk.yaml")
	if err := os.WriteFile(bulk, []byte(bulkManifest(bulkEndpoints)), 0o644); err != nil {
		t.Fatal(err)
	}
	dnsPort, err := corednstest.FreeUDPTCPPort()
	if err != nil {
		t.Fatal(err)
	}
	ports, err := corednstest.FreeTCPPorts(1)
	if err != nil {
		t.Fatal(err)
	}
	readyPort := ports[0]
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

	srv, err := corednstest.Start("integration", dir, bin, "-conf", corefile)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := srv.Stop(stopTimeout); err != nil {
			t.Error(err)
		}
		if t.Failed() {
			t.Logf("CoreDNS log (pid %d):\n%s", srv.PID(), srv.LogTail(1<<20))
		}
	})
	readyCtx, readyCancel := context.WithTimeout(t.Context(), readyTimeout)
	defer readyCancel()
	if err := srv.WaitReady(readyCtx, fmt.Sprintf("http://127.0.0.1:%d/ready", readyPort)); err != nil {
		t.Fatal(err)
	}

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
				ptrs := rdata(r, func(p *dns.PTR) string { return p.Ptr })
				if !slices.Equal(ptrs, []string{"kubernetes.default.svc.cluster.local."}) {
					t.Fatalf("PTR %v, want [kubernetes.default.svc.cluster.local.]\n%s", ptrs, r)
				}
			},
		},
		{
			name: "externalname-CNAME", qname: "my-database.default.svc.cluster.local.", qtype: dns.TypeCNAME,
			check: func(t *testing.T, r *dns.Msg) {
				wantNoError(t, r)
				targets := rdata(r, func(c *dns.CNAME) string { return c.Target })
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

// rdata collects one field of every answer record of type T.
func rdata[T dns.RR](r *dns.Msg, field func(T) string) []string {
	var out []string
	for _, rr := range r.Answer {
		if x, ok := rr.(T); ok {
			out = append(out, field(x))
		}
	}
	return out
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
