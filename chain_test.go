package clusterdns

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coredns/caddy"
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/plugin"
	"github.com/coredns/coredns/plugin/metadata"
	"github.com/coredns/coredns/plugin/test"
	"github.com/coredns/coredns/request"
	"github.com/miekg/dns"

	// The real plugins chained with clusterdns in these tests.
	_ "github.com/coredns/coredns/plugin/autopath"
	_ "github.com/coredns/coredns/plugin/bind"
	_ "github.com/coredns/coredns/plugin/cache"
	_ "github.com/coredns/coredns/plugin/metadata"
)

// chain is a CoreDNS server started in this process from a Corefile, as CoreDNS starts one: its
// plugins set up by their own setup functions, autopath finding its AutoPather and metadata its
// providers at startup through the server's handler registry, and the server collecting the
// metadata of each query. testhead, placed first, finds clusterdns for the test.
type chain struct {
	addr string // the server's UDP address
	cd   *ClusterDNS

	mu   sync.Mutex
	meta map[string]string // the clusterdns/ metadata the last query had, as testmeta read it
}

// The chain being set up; CoreDNS gives a plugin's setup no other way to reach the test.
var chainStarting *chain

func init() {
	plugin.Register("testhead", func(c *caddy.Controller) error {
		ch := chainStarting
		c.OnStartup(func() error {
			cd, ok := dnsserver.GetConfig(c).Handler(pluginName).(*ClusterDNS)
			if !ok {
				return fmt.Errorf("no %s in the server block", pluginName)
			}
			ch.cd = cd
			return nil
		})
		return nil
	})
	plugin.Register("testmeta", func(c *caddy.Controller) error {
		ch := chainStarting
		dnsserver.GetConfig(c).AddPlugin(func(next plugin.Handler) plugin.Handler {
			return plugin.HandlerFunc(func(ctx context.Context, w dns.ResponseWriter, r *dns.Msg) (int, error) {
				ch.readMetadata(ctx)
				return plugin.NextOrFailure("testmeta", next, ctx, w, r)
			})
		})
		return nil
	})
	plugin.Register("testupstream", func(c *caddy.Controller) error {
		dnsserver.GetConfig(c).AddPlugin(func(plugin.Handler) plugin.Handler { return upstreamStub{} })
		return nil
	})
}

// upstreamStub stands for forward at the end of the chain: it knows the names of upstreamRecords
// and answers NXDOMAIN to every other.
type upstreamStub struct{}

var upstreamRecords = map[string]string{
	"api.example.org.": "api.example.org. 30 IN A 192.0.2.9",
	"www.example.net.": "www.example.net. 30 IN A 192.0.2.10",
}

func (upstreamStub) Name() string { return "testupstream" }

func (upstreamStub) ServeDNS(_ context.Context, w dns.ResponseWriter, r *dns.Msg) (int, error) {
	m := new(dns.Msg)
	m.SetReply(r)
	state := request.Request{W: w, Req: r}
	if rr, ok := upstreamRecords[state.Name()]; ok && state.QType() == dns.TypeA {
		m.Answer = []dns.RR{test.A(rr)}
	} else if !ok {
		m.Rcode = dns.RcodeNameError
	}
	_ = w.WriteMsg(m)
	return dns.RcodeSuccess, nil
}

// readMetadata keeps the clusterdns/ metadata of the query being served.
func (ch *chain) readMetadata(ctx context.Context) {
	got := map[string]string{}
	for _, k := range metadata.Labels(ctx) {
		if strings.HasPrefix(k, pluginName+"/") {
			got[k] = metadata.ValueFunc(ctx, k)()
		}
	}
	ch.mu.Lock()
	ch.meta = got
	ch.mu.Unlock()
}

// startChain starts one server block on loopback with the given plugins, in the given chain
// order (plugin.cfg's order, as a CoreDNS build sets it), each with its Corefile line from lines
// or its bare name; testmeta, after metadata, reads the metadata.
func startChain(t testing.TB, order []string, lines map[string]string) *chain {
	t.Helper()
	saved := dnsserver.Directives
	if err := dnsserver.SetDirectives(append([]string{"bind", "testhead"}, order...)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dnsserver.Directives = saved })
	body := ""
	for _, name := range order {
		line, ok := lines[name]
		if !ok {
			line = name
		}
		body += line + "\n"
	}
	chainStarting = &chain{}
	ch := chainStarting
	caddy.Quiet, dnsserver.Quiet = true, true
	inst, err := caddy.Start(caddy.CaddyfileInput{
		Contents:       []byte(".:0 {\nbind 127.0.0.1\ntesthead\n" + body + "}\n"),
		ServerTypeName: "dns",
	})
	chainStarting = nil
	if err != nil {
		t.Fatalf("start CoreDNS: %v", err)
	}
	t.Cleanup(func() {
		inst.ShutdownCallbacks()
		_ = inst.Stop()
	})
	if ch.cd == nil || len(inst.Servers()) == 0 || inst.Servers()[0].LocalAddr() == nil {
		t.Fatal("the chain did not start")
	}
	ch.addr = inst.Servers()[0].LocalAddr().String()
	return ch
}

// hostResolvConf writes a resolv.conf whose search list is example.org and points resolvConf at
// it for the test: the host's domains that end a pod's search list.
func hostResolvConf(t testing.TB) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "resolv.conf")
	if err := os.WriteFile(p, []byte("nameserver 192.0.2.53\nsearch example.org\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	saved := resolvConf
	resolvConf = p
	t.Cleanup(func() { resolvConf = saved })
}

// ask sends m over UDP to the server from the client address ip (any of 127/8 is the host's on
// Linux), as a pod holding that address would, and returns the answer.
func (ch *chain) ask(t testing.TB, ip string, m *dns.Msg) *dns.Msg {
	t.Helper()
	c := &dns.Client{Net: "udp", Timeout: 5 * time.Second, Dialer: &net.Dialer{LocalAddr: &net.UDPAddr{IP: net.ParseIP(ip)}}}
	resp, _, err := c.Exchange(m, ch.addr)
	if err != nil {
		t.Fatalf("%s from %s: %v", m.Question[0].String(), ip, err)
	}
	return resp
}

// metadata returns the clusterdns/ metadata of the last query.
func (ch *chain) metadata() map[string]string {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	return ch.meta
}
