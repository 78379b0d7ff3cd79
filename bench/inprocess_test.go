// Package bench holds the in-process benchmarks of both plugins' ServeDNS on one fixture loaded
// into a real control plane; cmd/bench measures the built CoreDNS over UDP.
package bench

import (
	"context"
	"fmt"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/coredns/caddy"
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/plugin"
	"github.com/coredns/coredns/plugin/pkg/dnstest"
	"github.com/coredns/coredns/plugin/test"
	"github.com/miekg/dns"

	_ "github.com/clusterdns/clusterdns"
	_ "github.com/coredns/coredns/plugin/bind"
	_ "github.com/coredns/coredns/plugin/kubernetes"

	"github.com/clusterdns/clusterdns/bench/internal/cluster"
	"github.com/clusterdns/clusterdns/test/controlplane"
)

// fixtureSpec is the cluster both plugins serve: the default scale of cmd/bench.
var fixtureSpec = cluster.Spec{Services: 1000, PodsPerService: 10, Workers: 8}

// env is the control plane, the fixture and the two plugins running in this process, started by
// the first benchmark that needs them and stopped by TestMain.
var env struct {
	once     sync.Once
	err      error
	dir      string
	cp       *controlplane.ControlPlane
	instance *caddy.Instance
	fixture  *cluster.Fixture
	handlers map[string]plugin.Handler // by plugin name
}

func TestMain(m *testing.M) {
	code := m.Run()
	if env.instance != nil {
		env.instance.ShutdownCallbacks() // stops the plugins' watches
		_ = env.instance.Stop()
	}
	if env.cp != nil {
		env.cp.Stop()
	}
	if env.dir != "" {
		os.RemoveAll(env.dir)
	}
	os.Exit(code)
}

// grab is a plugin placed right before each plugin under test: it keeps the handler that follows
// it, so that the benchmarks call the plugin's own ServeDNS, set up exactly as CoreDNS sets it up
// from a Corefile, and it adds nothing to the chain.
func grab(c *caddy.Controller) error {
	dnsserver.GetConfig(c).AddPlugin(func(next plugin.Handler) plugin.Handler {
		env.handlers[next.Name()] = next
		return next
	})
	return nil
}

func init() { plugin.Register("benchgrab", grab) }

// stanza is the plugin block of cmd/bench's Corefiles.
func stanza(name, kubeconfig string) string {
	return fmt.Sprintf("%s cluster.local in-addr.arpa ip6.arpa {\n kubeconfig %s\n pods insecure\n ttl 30\n fallthrough in-addr.arpa ip6.arpa\n}", name, kubeconfig)
}

// setup starts the control plane, loads the fixture and starts one CoreDNS instance with a
// server block per plugin, then waits until both plugins are ready.
func setup() error {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	binDir, err := controlplane.BinDir(ctx)
	if err != nil {
		return err
	}
	if env.dir, err = os.MkdirTemp("", "clusterdns-inprocess-"); err != nil {
		return fmt.Errorf("work directory: %w", err)
	}
	if env.cp, err = controlplane.Start(ctx, controlplane.Options{BinDir: binDir, Dir: env.dir, DualStack: true}); err != nil {
		return err
	}
	if env.fixture, err = cluster.Load(ctx, env.cp.RESTConfig, fixtureSpec, os.Stderr); err != nil {
		return err
	}
	if err := dnsserver.SetDirectives([]string{"bind", "benchgrab", "clusterdns", "kubernetes"}); err != nil {
		return fmt.Errorf("set directives: %w", err)
	}
	env.handlers = map[string]plugin.Handler{}
	corefile := ""
	for _, name := range []string{"clusterdns", "kubernetes"} {
		port, err := freePort()
		if err != nil {
			return err
		}
		corefile += fmt.Sprintf(".:%d {\nbind 127.0.0.1\nbenchgrab\n%s\n}\n", port, stanza(name, env.cp.Kubeconfig))
	}
	caddy.Quiet, dnsserver.Quiet = true, true
	if env.instance, err = caddy.Start(caddy.CaddyfileInput{Contents: []byte(corefile), ServerTypeName: "dns"}); err != nil {
		return fmt.Errorf("start CoreDNS: %w", err)
	}
	for name, h := range env.handlers {
		r, ok := h.(interface{ Ready() bool })
		if !ok {
			return fmt.Errorf("%s has no Ready", name)
		}
		for !r.Ready() {
			if ctx.Err() != nil {
				return fmt.Errorf("%s not ready: %w", name, ctx.Err())
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	return nil
}

// freePort is a loopback port free for both TCP and UDP a moment ago.
func freePort() (int, error) {
	for {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, fmt.Errorf("free port: %w", err)
		}
		u, err := net.ListenPacket("udp", l.Addr().String())
		l.Close()
		if err == nil {
			u.Close()
			return l.Addr().(*net.TCPAddr).Port, nil
		}
	}
}

// query is one benchmarked question and the response code it must get.
type query struct {
	name  string
	qname string
	qtype uint16
	rcode int
}

// queries picks the benchmarked names from the fixture: service 1 is ClusterIP and IPv4-only,
// service 0 headless.
func queries(f *cluster.Fixture) []query {
	svc, headless := f.Services[1], f.Services[0]
	ptr, _ := dns.ReverseAddr(svc.ClusterIPs[0])
	return []query{
		{"ClusterIP_A", svc.FQDN("cluster.local."), dns.TypeA, dns.RcodeSuccess},
		{"Headless_A", headless.FQDN("cluster.local."), dns.TypeA, dns.RcodeSuccess},
		{"SRV", "_http._tcp." + svc.FQDN("cluster.local."), dns.TypeSRV, dns.RcodeSuccess},
		{"PTR", ptr, dns.TypePTR, dns.RcodeSuccess},
		{"NXDOMAIN", svc.FQDN("cluster.local.") + svc.Namespace + ".svc.cluster.local.", dns.TypeA, dns.RcodeNameError},
	}
}

// BenchmarkServeDNS measures each plugin's ServeDNS per kind of query, in this process, on the
// same data; run with -benchmem.
func BenchmarkServeDNS(b *testing.B) {
	env.once.Do(func() { env.err = setup() })
	if env.err != nil {
		b.Fatal(env.err)
	}
	ctx := context.Background()
	for _, name := range []string{"clusterdns", "kubernetes"} {
		h := env.handlers[name]
		for _, q := range queries(env.fixture) {
			b.Run(name+"/"+q.name, func(b *testing.B) {
				m := new(dns.Msg).SetQuestion(q.qname, q.qtype)
				rec := dnstest.NewRecorder(&test.ResponseWriter{})
				if _, err := h.ServeDNS(ctx, rec, m); err != nil || rec.Msg == nil || rec.Msg.Rcode != q.rcode || (q.rcode == dns.RcodeSuccess && len(rec.Msg.Answer) == 0) {
					b.Fatalf("%s %s: want %s with answers, got %v (error %v)", q.qname, dns.TypeToString[q.qtype], dns.RcodeToString[q.rcode], rec.Msg, err)
				}
				w := &test.ResponseWriter{}
				b.ReportAllocs()
				for b.Loop() {
					if _, err := h.ServeDNS(ctx, w, m); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
