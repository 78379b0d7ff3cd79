package clusterdns

import (
	"context"
	"net/netip"
	"testing"

	"github.com/clusterdns/clusterdns/internal/model"
	"github.com/clusterdns/clusterdns/internal/source"

	"github.com/coredns/coredns/plugin"
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
			if cl, ok := cd.store.clients.lookup(step.ip); ok {
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
