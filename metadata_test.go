package clusterdns

import (
	"context"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/coredns/coredns/plugin/metadata"
	"github.com/coredns/coredns/plugin/test"
	"github.com/coredns/coredns/request"
	"github.com/miekg/dns"
	"k8s.io/client-go/kubernetes/fake"
	mcsfake "sigs.k8s.io/mcs-api/pkg/client/clientset/versioned/fake"
)

// TestMetadataOfTheQueryAndTheClient: the keys the metadata plugin hands its consumers (log,
// acl, view...), read from the context as they read them.
func TestMetadataOfTheQueryAndTheClient(t *testing.T) {
	file := filepath.Join(t.TempDir(), "objects.yaml")
	if err := os.WriteFile(file, []byte(clientObjects), 0o644); err != nil {
		t.Fatal(err)
	}
	ch := startChain(t, []string{"metadata", "testmeta", pluginName, "testupstream"}, map[string]string{
		pluginName: "clusterdns cluster.local in-addr.arpa {\nmanifests " + file + "\nclient_labels app tier\nzonal\n}",
	})
	const (
		md = pluginName + "/"
		cl = md + "client-label/"
	)
	service := func(ns, svc string) map[string]string {
		return map[string]string{md + "endpoint": "", md + "kind": "svc", md + "namespace": ns, md + "port-name": "",
			md + "protocol": "", md + "service": svc, md + "zone": ""}
	}
	with := func(base map[string]string, kv ...string) map[string]string {
		out := maps.Clone(base)
		for i := 0; i < len(kv); i += 2 {
			out[kv[i]] = kv[i+1]
		}
		return out
	}
	merge := func(a, b map[string]string) map[string]string {
		out := maps.Clone(a)
		maps.Copy(out, b)
		return out
	}
	clientA := map[string]string{md + "client-namespace": "ns1", md + "client-pod-name": "a", cl + "app": "shop", cl + "tier": "front"}
	for _, tc := range []struct {
		name  string
		from  string
		qname string
		qtype uint16
		want  map[string]string
	}{
		{name: "a service, from a client with client_labels labels (only those)", from: "127.0.0.2",
			qname: "web.ns1.svc.cluster.local.", qtype: dns.TypeA, want: merge(service("ns1", "web"), clientA)},
		{name: "a client of the other namespace, one of its labels set", from: "127.0.0.3",
			qname: "db.ns2.svc.cluster.local.", qtype: dns.TypeA,
			want: with(service("ns2", "db"), md+"client-namespace", "ns2", md+"client-pod-name", "b", cl+"app", "store")},
		{name: "no client keys for an address two pods hold", from: "127.0.0.4",
			qname: "web.ns1.svc.cluster.local.", qtype: dns.TypeA, want: service("ns1", "web")},
		{name: "no client keys for a host-network pod", from: "127.0.0.5",
			qname: "web.ns1.svc.cluster.local.", qtype: dns.TypeA, want: service("ns1", "web")},
		{name: "no client keys for an unknown address", from: "127.0.0.9",
			qname: "web.ns1.svc.cluster.local.", qtype: dns.TypeA, want: service("ns1", "web")},
		{name: "port and protocol of an SRV name", from: "127.0.0.9",
			qname: "_http._tcp.web.ns1.svc.cluster.local.", qtype: dns.TypeSRV,
			want: with(service("ns1", "web"), md+"port-name", "http", md+"protocol", "tcp")},
		{name: "an endpoint", from: "127.0.0.9", qname: "web-0.web.ns1.svc.cluster.local.", qtype: dns.TypeA,
			want: with(service("ns1", "web"), md+"endpoint", "web-0")},
		{name: "the topology zone of a zonal name, dotted", from: "127.0.0.9",
			qname: "eu.west-1a.pin._zone.web.ns1.svc.cluster.local.", qtype: dns.TypeA,
			want: with(service("ns1", "web"), md+"zone", "eu.west-1a")},
		{name: "prefer too", from: "127.0.0.9", qname: "west-1b.prefer._zone.web.ns1.svc.cluster.local.", qtype: dns.TypeA,
			want: with(service("ns1", "web"), md+"zone", "west-1b")},
		{name: "a pod name: its address in the service key, as the kubernetes plugin cuts it", from: "127.0.0.9",
			qname: "10-0-0-1.ns1.pod.cluster.local.", qtype: dns.TypeA, want: with(service("ns1", "10-0-0-1"), md+"kind", "pod")},
		{name: "the zone apex: every key, empty", from: "127.0.0.9", qname: "cluster.local.", qtype: dns.TypeSOA,
			want: with(service("", ""), md+"kind", "")},
		{name: "a name too long to parse: parse-error alone", from: "127.0.0.9",
			qname: "a.b.c.web.ns1.svc.cluster.local.", qtype: dns.TypeA, want: map[string]string{md + "parse-error": "invalid query name"}},
		{name: "neither svc nor pod: parse-error", from: "127.0.0.2", qname: "web.ns1.other.cluster.local.", qtype: dns.TypeA,
			want: with(clientA, md+"parse-error", "invalid query name")},
		{name: "a name outside the zones: the client alone", from: "127.0.0.2", qname: "www.example.net.", qtype: dns.TypeA, want: clientA},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := new(dns.Msg)
			m.SetQuestion(tc.qname, tc.qtype)
			ch.ask(t, tc.from, m)
			if got := ch.metadata(); !maps.Equal(got, tc.want) {
				t.Errorf("metadata\n got %v\nwant %v", got, tc.want)
			}
		})
	}
}

// TestMetadataOfClustersetNames: in a clusterset zone two labels left of the service are an
// endpoint and its cluster, unless one starts with "_". With zonal, zone is a key there too, empty,
// as in the kubernetes plugin.
func TestMetadataOfClustersetNames(t *testing.T) {
	kubeClient, mcsClient := clustersetObjects()
	cd := newMulticlusterPlugin(t, "zonal", fake.NewClientset(kubeClient...), mcsfake.NewSimpleClientset(mcsClient...))
	const md = pluginName + "/"
	for _, tc := range []struct {
		name  string
		qname string
		qtype uint16
		want  map[string]string
	}{
		{name: "the cluster of a clusterset name", qname: "host-1.cluster-a.db.ns2.svc.clusterset.local.", qtype: dns.TypeA,
			want: map[string]string{md + "endpoint": "host-1", md + "cluster": "cluster-a", md + "kind": "svc", md + "namespace": "ns2",
				md + "port-name": "", md + "protocol": "", md + "service": "db", md + "zone": ""}},
		{name: "port and protocol in a clusterset zone", qname: "_http._tcp.db.ns2.svc.clusterset.local.", qtype: dns.TypeSRV,
			want: map[string]string{md + "endpoint": "", md + "cluster": "", md + "kind": "svc", md + "namespace": "ns2",
				md + "port-name": "http", md + "protocol": "tcp", md + "service": "db", md + "zone": ""}},
		{name: "a zonal name is not one of the clusterset zone", qname: "west.pin._zone.db.ns2.svc.clusterset.local.", qtype: dns.TypeA,
			want: map[string]string{md + "parse-error": "invalid query name"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := new(dns.Msg)
			m.SetQuestion(tc.qname, tc.qtype)
			ctx := cd.Metadata(metadata.ContextWithMetadata(context.Background()), request.Request{W: &test.ResponseWriter{}, Req: m})
			got := map[string]string{}
			for _, k := range metadata.Labels(ctx) {
				got[k] = metadata.ValueFunc(ctx, k)()
			}
			if !maps.Equal(got, tc.want) {
				t.Errorf("metadata\n got %v\nwant %v", got, tc.want)
			}
		})
	}
}

// BenchmarkMetadata is the cost metadata adds to a ClusterIP A query from a known client: none
// without the metadata plugin (Metadata is never called), and with it, what the server's collection
// through the metadata plugin costs when no consumer reads a value, and when a log format reads two.
func BenchmarkMetadata(b *testing.B) {
	cd := newPlugin(b, "client_labels app tier", clientObjects)
	m := new(dns.Msg).SetQuestion("web.ns1.svc.cluster.local.", dns.TypeA)
	w := &test.ResponseWriter{RemoteIP: "127.0.0.2"}
	collect := &metadata.Metadata{Zones: []string{"."}, Providers: []metadata.Provider{cd}}
	for _, bc := range []struct {
		name          string
		collect, read bool
	}{
		{"off", false, false},
		{"on_unread", true, false},
		{"on_two_read", true, true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				ctx := context.Background()
				if bc.collect {
					ctx = collect.Collect(ctx, request.Request{W: w, Req: m})
				}
				if bc.read {
					_ = metadata.ValueFunc(ctx, metaNamespace)()
					_ = metadata.ValueFunc(ctx, metaClientNamespace)()
				}
				if _, err := cd.ServeDNS(ctx, w, m); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// FuzzMetadataName: cutting any name of a served zone never panics, and the parts of a name that
// cuts stand in it in their order.
func FuzzMetadataName(f *testing.F) {
	for _, s := range []string{"web.ns1.svc.cluster.local.", "_http._tcp.web.ns1.svc.cluster.local.", "a.b.pin._zone.web.ns.svc.cluster.local.",
		"h.c.db.ns.svc.clusterset.local.", "cluster.local.", "svc.cluster.local.", "x..svc.cluster.local.", "..cluster.local."} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		for _, zone := range []string{"cluster.local.", "clusterset.local.", "."} {
			if !dns.IsSubDomain(zone, name) {
				continue
			}
			for _, mc := range []bool{false, true} {
				var q queryName
				if !q.parse(name, zone, mc, true) || q.kind == "" {
					continue
				}
				parts := []string{q.service, q.namespace, q.kind}
				switch {
				case q.zone != "":
					parts = append([]string{q.zone, "pin|prefer", "_zone"}, parts...)
				case q.port != "" || q.protocol != "":
					parts = append([]string{q.port, q.protocol}, parts...)
				case q.cluster != "":
					parts = append([]string{q.endpoint, q.cluster}, parts...)
				case q.endpoint != "":
					parts = append([]string{q.endpoint}, parts...)
				}
				// The parts stand in the name in their order, left to right: a cut that drops,
				// swaps or makes up a label fails.
				at := 0
				for _, p := range parts {
					if p == "pin|prefer" || p == "" {
						continue
					}
					i := strings.Index(name[at:], p)
					if i < 0 {
						t.Fatalf("%q in %s (multicluster %v): part %q is not in the name after offset %d: %+v", name, zone, mc, p, at, q)
					}
					at += i + len(p)
				}
			}
		}
	})
}
