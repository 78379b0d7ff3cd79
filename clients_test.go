package clusterdns

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"testing"

	"github.com/clusterdns/clusterdns/internal/model"
	"github.com/clusterdns/clusterdns/internal/source"

	"github.com/coredns/coredns/plugin"
	"github.com/coredns/coredns/plugin/test"
	"github.com/miekg/dns"
)

// clientObjects are two namespaces with a service each, a pod in each (the clients 127.0.0.2 and
// 127.0.0.3), two pods sharing 127.0.0.4 and a host-network pod on 127.0.0.5.
const clientObjects = `
apiVersion: v1
kind: Service
metadata: {name: web, namespace: ns1}
spec: {clusterIP: 10.96.1.1, ports: [{port: 80}]}
---
apiVersion: v1
kind: Service
metadata: {name: db, namespace: ns2}
spec: {clusterIP: 10.96.2.1, ports: [{port: 5432}]}
---
apiVersion: v1
kind: Pod
metadata: {name: a, namespace: ns1, labels: {app: shop, tier: front, other: x}}
spec: {}
status: {phase: Running, podIP: 127.0.0.2}
---
apiVersion: v1
kind: Pod
metadata: {name: b, namespace: ns2, labels: {app: store}}
spec: {}
status: {phase: Running, podIP: 127.0.0.3}
---
apiVersion: v1
kind: Pod
metadata: {name: old, namespace: ns1}
spec: {}
status: {phase: Running, podIP: 127.0.0.4}
---
apiVersion: v1
kind: Pod
metadata: {name: new, namespace: ns2}
spec: {}
status: {phase: Running, podIP: 127.0.0.4}
---
apiVersion: v1
kind: Pod
metadata: {name: agent, namespace: ns1}
spec: {hostNetwork: true}
status: {phase: Running, podIP: 127.0.0.5}
`

func TestClientIndexFollowsPodChanges(t *testing.T) {
	cd := newPlugin(t, "client_labels app", clientObjects)
	for _, step := range []struct {
		name   string
		change func(s *store)
		ip     string
		want   string // namespace/name, or "" for no client
	}{
		{name: "a pod in its namespace", ip: "127.0.0.2", want: "ns1/a"},
		{name: "IPv4-mapped source", ip: "::ffff:127.0.0.2", want: "ns1/a"},
		{name: "two pods on one address", ip: "127.0.0.4", want: ""},
		{name: "the old pod deleted: the other is the client", change: func(s *store) { s.DeletePod("ns1", "old") }, ip: "127.0.0.4", want: "ns2/new"},
		{name: "a deleted pod leaves", change: func(s *store) { s.DeletePod("ns1", "a") }, ip: "127.0.0.2", want: ""},
		{name: "its address reused in another namespace", change: func(s *store) {
			s.UpsertPod(podAt("ns2", "c", "127.0.0.2"))
		}, ip: "127.0.0.2", want: "ns2/c"},
		{name: "a pod that moves leaves its old address", change: func(s *store) {
			s.UpsertPod(podAt("ns2", "c", "127.0.0.7"))
		}, ip: "127.0.0.2", want: ""},
		{name: "a re-list without a pod drops it", change: func(s *store) { s.Retain(source.Pods, "ns2", nil) }, ip: "127.0.0.7", want: ""},
		{name: "not an address", ip: "nonsense", want: ""},
	} {
		t.Run(step.name, func(t *testing.T) {
			if step.change != nil {
				step.change(cd.store)
			}
			got := ""
			ip, _ := netip.ParseAddr(step.ip)
			if cl, ok := cd.store.clients.lookup(ip); ok {
				got = cl.namespace + "/" + cl.name()
			}
			if got != step.want {
				t.Errorf("client of %s = %q, want %q", step.ip, got, step.want)
			}
		})
	}
}

func podAt(namespace, name, ip string) *model.Pod {
	return &model.Pod{Namespace: namespace, Name: name, IPs: []netip.Addr{netip.MustParseAddr(ip)}}
}

func TestClientIdentityIsOnWhenAsked(t *testing.T) {
	for _, tc := range []struct {
		body string
		want bool
	}{
		{body: "", want: false},
		{body: "pods verified", want: true},
		{body: "client_labels app", want: true},
	} {
		cd, err := newPluginErr(t, tc.body, clientObjects)
		if err != nil {
			t.Fatal(err)
		}
		if got := cd.store.clients != nil; got != tc.want {
			t.Errorf("%q: client identity %v, want %v", tc.body, got, tc.want)
		}
		// From the API, the Pod watch runs exactly when client identity is on.
		api, err := newPluginErr(t, tc.body+"\nkubeconfig k.yaml")
		if err != nil {
			t.Fatal(err)
		}
		if got := api.src.(*kubeSource).watch.Pods; got != tc.want {
			t.Errorf("%q: Pod watch %v, want %v", tc.body, got, tc.want)
		}
		api.identifyClientsFor([]plugin.Handler{namedHandler("autopath"), api})
		if !api.src.(*kubeSource).watch.Pods || api.store.clients == nil {
			t.Errorf("%q: no Pod watch or client index beside autopath", tc.body)
		}
	}
	cd, err := newPluginErr(t, "", clientObjects)
	if err != nil {
		t.Fatal(err)
	}
	cd.identifyClientsFor([]plugin.Handler{cd, plugin.HandlerFunc(nil)})
	if cd.store.clients != nil {
		t.Error("client identity on without autopath")
	}
	cd.identifyClientsFor([]plugin.Handler{namedHandler("autopath"), cd})
	if cd.store.clients == nil {
		t.Error("client identity off beside autopath")
	}
}

// namedHandler is a handler known only by its name, as the autopath plugin is to identifyClientsFor.
type namedHandler string

func (h namedHandler) Name() string { return string(h) }

func (namedHandler) ServeDNS(context.Context, dns.ResponseWriter, *dns.Msg) (int, error) {
	return dns.RcodeSuccess, nil
}

// TestClientIndexAgreesWithAPlainMapUnderChurn: thousands of random changes (pods added, moved,
// deleted, re-listed, on a few addresses so that many are shared) leave the compact index
// answering every address as a plain map of pods would.
func TestClientIndexAgreesWithAPlainMapUnderChurn(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	c := newClientIndex(nil)
	want := map[objKey]netip.Addr{} // the pods, each with its address
	names := []string{"web-7d9f8b6c5d-x2k4j", "web-0", "db", "a-very-long-pod-name-without-a-short-end", "x-", "job-123456789"}
	addr := func() netip.Addr {
		if rng.IntN(4) == 0 {
			return netip.AddrFrom16([16]byte{0xfd, 15: byte(rng.IntN(40))})
		}
		return netip.AddrFrom4([4]byte{10, 0, 0, byte(rng.IntN(40))})
	}
	for step := range 20000 {
		k := objKey{fmt.Sprintf("ns%d", rng.IntN(3)), fmt.Sprintf("%s%d", names[rng.IntN(len(names))], rng.IntN(30))}
		switch op := rng.IntN(100); {
		case op < 60:
			a := addr()
			c.set(&model.Pod{Namespace: k.namespace, Name: k.name, IPs: []netip.Addr{a}})
			want[k] = a
		case op < 99:
			c.remove(k.namespace, k.name)
			delete(want, k)
		default:
			var listed []source.ObjectKey
			for p := range want {
				if p.namespace == k.namespace && rng.IntN(2) == 0 {
					listed = append(listed, source.ObjectKey{Namespace: p.namespace, Name: p.name})
				} else if p.namespace == k.namespace {
					delete(want, p)
				}
			}
			c.retain(k.namespace, listed)
		}
		if step%100 != 0 {
			continue
		}
		holders := map[netip.Addr][]objKey{}
		for p, a := range want {
			holders[a] = append(holders[a], p)
		}
		for i := range 40 {
			for _, a := range []netip.Addr{netip.AddrFrom4([4]byte{10, 0, 0, byte(i)}), netip.AddrFrom16([16]byte{0xfd, 15: byte(i)})} {
				got, ok := c.lookup(a)
				h := holders[a]
				switch {
				case len(h) == 1 && (!ok || got.namespace != h[0].namespace || got.name() != h[0].name):
					t.Fatalf("step %d: %s is %v's, index says %+v (%v)", step, a, h[0], got, ok)
				case len(h) != 1 && ok:
					t.Fatalf("step %d: %s held by %v, index names %+v", step, a, h, got)
				}
			}
		}
	}
	// The shared strings of pods gone are gone with them.
	live := map[string]bool{}
	for p := range want {
		prefix, _ := splitPodName(p.name)
		live[p.namespace], live[prefix] = true, true
	}
	delete(live, "")
	if len(c.strs.ids) != len(live) {
		t.Errorf("%d shared strings held, %d in use", len(c.strs.ids), len(live))
	}
}

func TestPodNamesKeptInTwoParts(t *testing.T) {
	for _, tc := range []struct{ name, prefix, suffix string }{
		{"web-7d9f8b6c5d-x2k4j", "web-7d9f8b6c5d-", "x2k4j"},
		{"web-0", "web-", "0"},
		{"db", "", "db"},
		{"x-", "x-", ""},
		{"job-123456789", "job-123456789", ""},
		{"abcdefghi", "abcdefghi", ""},
	} {
		if p, s := splitPodName(tc.name); p != tc.prefix || s != tc.suffix {
			t.Errorf("%s: %q %q, want %q %q", tc.name, p, s, tc.prefix, tc.suffix)
		}
	}
}

// With pods verified a namespace's pod names answer from the client index. A pod name stays
// answered while any pod of the namespace has the address: one pod finishing while another starts
// on the same address must not take the name away; a pod that moves gives its old address back;
// a re-list without a dual-stack pod takes both its addresses.
func TestPodsVerifiedAddressesOfANamespace(t *testing.T) {
	v4, v6 := netip.MustParseAddr("10.244.0.7"), netip.MustParseAddr("fd00::7")
	c := newClientIndex(nil)
	ns := namespacePods{c, "ns1"}
	c.set(&model.Pod{Namespace: "ns1", Name: "old", IPs: []netip.Addr{v4, v6}})
	c.set(&model.Pod{Namespace: "ns1", Name: "new", IPs: []netip.Addr{v4}})
	c.set(&model.Pod{Namespace: "ns2", Name: "other", IPs: []netip.Addr{v6}})
	c.remove("ns1", "old")
	if !ns.has(v4) || ns.has(v6) {
		t.Errorf("has %s = %v, has %s = %v; want the shared address kept and the other gone (held in ns2 only)", v4, ns.has(v4), v6, ns.has(v6))
	}
	c.set(&model.Pod{Namespace: "ns1", Name: "new", IPs: []netip.Addr{netip.MustParseAddr("10.244.0.8")}})
	if ns.has(v4) || !ns.has(netip.MustParseAddr("10.244.0.8")) {
		t.Error("a pod that moved kept its old address")
	}
	c.set(&model.Pod{Namespace: "ns1", Name: "dual", IPs: []netip.Addr{v4, v6}})
	c.retain("ns1", []source.ObjectKey{{Namespace: "ns1", Name: "new"}})
	if ns.has(v4) || ns.has(v6) || c.count() != 2 {
		t.Errorf("has %s = %v, has %s = %v, %d pods; want both addresses of the pod not listed gone", v4, ns.has(v4), v6, ns.has(v6), c.count())
	}
}

// fromAddr is a response writer whose client address is made once, as a server's is.
type fromAddr struct {
	test.ResponseWriter
	addr net.Addr
}

func (w *fromAddr) RemoteAddr() net.Addr { return w.addr }

// Naming the client of a query allocates nothing: autopath asks it at every query in its zones.
func TestClientLookupAllocatesNothing(t *testing.T) {
	cd := newPlugin(t, "client_labels app", clientObjects)
	w := &fromAddr{addr: &net.UDPAddr{IP: net.ParseIP("127.0.0.2"), Port: 53}}
	if n := testing.AllocsPerRun(100, func() {
		if _, ok := cd.store.clients.lookup(clientAddr(w)); !ok {
			t.Fatal("no client")
		}
	}); n != 0 {
		t.Errorf("%v allocations a lookup", n)
	}
}
