package clusterdns

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/clusterdns/clusterdns/internal/model"

	"github.com/miekg/dns"
)

// A change to one slice rebuilds that slice's records alone when it can. Whatever path a change
// takes, the answers must be those of the same objects built at once: random changes to the
// slices of headless services (addresses and hostnames that move between slices and families,
// ports that change, slices that come and go, and rolling updates that change one endpoint and
// keep the others in place) are checked, after every change, name by name
// against a store given the same objects by Replace. The services share addresses, and one
// switches between headless and ClusterIP, so that every rank of the PTR precedence wins and
// loses addresses (ptr one on odd seeds, ptr all on even ones).
func TestSliceChangesAnswerAsAFullBuild(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3, 4, 5, 6, 7, 8} {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, seed))
			options := []string{"ptr all", ""}[seed%2]
			live := newPlugin(t, options, emptyCluster)
			services := []*model.Service{
				{Namespace: "ns", Name: "web", Headless: true},
				{Namespace: "ns", Name: "db", ClusterIPs: []netip.Addr{netip.MustParseAddr("10.96.0.7")}},
				{Namespace: "ns", Name: "api", Headless: true},
			}
			for _, svc := range services {
				live.store.UpsertService(svc)
			}
			current := map[string]*model.EndpointSlice{}
			for step := range 150 {
				if rng.IntN(12) == 0 {
					api := &model.Service{Namespace: "ns", Name: "api", Headless: rng.IntN(2) == 0}
					if !api.Headless {
						api.ClusterIPs = []netip.Addr{netip.MustParseAddr("10.244.0.1")} // an endpoint's address too
					}
					services[2] = api
					live.store.UpsertService(api)
				}
				sl := randomSlice(rng)
				if prev, ok := current[sl.Name]; ok && rng.IntN(2) == 0 {
					sl = rollingUpdate(rng, prev, sl)
				}
				if rng.IntN(8) == 0 {
					live.store.DeleteEndpointSlice(sl.Namespace, sl.Name)
					delete(current, sl.Name)
				} else {
					live.store.UpsertEndpointSlice(sl)
					current[sl.Name] = sl
				}
				fresh := newPlugin(t, options, emptyCluster)
				fresh.store.Replace(&model.Snapshot{Services: services, Slices: sortedSlices(current)})
				for _, q := range questions(current) {
					if got, want := answerOf(t, live, q), answerOf(t, fresh, q); got != want {
						t.Fatalf("step %d, %s %s:\n got %s\nwant %s", step, q.name, dns.TypeToString[q.qtype], got, want)
					}
				}
			}
		})
	}
}

// randomSlice is a version of one of three slices of web, db or api, over a few addresses
// (shared by the slices and the services at times, db's ClusterIP among them) and hostnames (one
// pod's two families under one name, as in dual stack).
func randomSlice(rng *rand.Rand) *model.EndpointSlice {
	svc := "web"
	switch rng.IntN(6) {
	case 0:
		svc = "db"
	case 1, 2:
		svc = "api"
	}
	name := fmt.Sprintf("%s-%d", svc, rng.IntN(3))
	var eps []model.Endpoint
	for range rng.IntN(5) {
		i := rng.IntN(6)
		addr := netip.MustParseAddr(fmt.Sprintf("10.244.0.%d", i))
		if rng.IntN(3) == 0 {
			addr = netip.MustParseAddr(fmt.Sprintf("fd00::%d", i))
		}
		if rng.IntN(12) == 0 {
			addr = netip.MustParseAddr("10.96.0.7")
		}
		e := model.Endpoint{Addr: addr}
		if rng.IntN(2) == 0 {
			e.Name = fmt.Sprintf("pod-%d", i)
		}
		eps = append(eps, e)
	}
	ports := []model.Port{{Name: "http", Protocol: "tcp", Port: 8080}}
	if rng.IntN(4) == 0 {
		ports = append(ports, model.Port{Name: "http", Protocol: "tcp", Port: 9090}, model.Port{Name: "dns", Protocol: "udp", Port: 53})
	}
	return &model.EndpointSlice{Namespace: "ns", Name: name, Service: svc, Ports: ports, Endpoints: model.NewEndpoints(eps)}
}

// rollingUpdate is the next version of prev as a rolling update writes it: one endpoint, taken
// from random, put in place of one of prev's, inserted or dropped, the others kept in place.
func rollingUpdate(rng *rand.Rand, prev, random *model.EndpointSlice) *model.EndpointSlice {
	var eps []model.Endpoint
	for i := range prev.Endpoints.Len() {
		eps = append(eps, prev.Endpoints.At(i))
	}
	e := model.Endpoint{Addr: netip.MustParseAddr("10.244.0.9"), Name: "pod-9"}
	if random.Endpoints.Len() > 0 {
		e = random.Endpoints.At(0)
	}
	switch i := rng.IntN(len(eps) + 1); {
	case i == len(eps) || rng.IntN(3) == 0:
		eps = slices.Insert(eps, i, e)
	case rng.IntN(2) == 0:
		eps[i] = e
	default:
		eps = slices.Delete(eps, i, i+1)
	}
	next := *prev
	next.Endpoints = model.NewEndpoints(eps)
	return &next
}

func sortedSlices(m map[string]*model.EndpointSlice) []*model.EndpointSlice {
	out := make([]*model.EndpointSlice, 0, len(m))
	for _, sl := range m {
		out = append(out, sl)
	}
	slices.SortFunc(out, func(a, b *model.EndpointSlice) int { return strings.Compare(a.Name, b.Name) })
	return out
}

type question struct {
	name  string
	qtype uint16
}

// questions are every name the random slices can give, in every type they can have.
func questions(current map[string]*model.EndpointSlice) []question {
	names := []string{"web.ns.svc.cluster.local.", "db.ns.svc.cluster.local.", "_http._tcp.web.ns.svc.cluster.local.",
		"_dns._udp.web.ns.svc.cluster.local.", "_tcp.web.ns.svc.cluster.local.", "_http._tcp.db.ns.svc.cluster.local.",
		"api.ns.svc.cluster.local.", "7.0.96.10.in-addr.arpa.", "pod-1.api.ns.svc.cluster.local."}
	for i := range 6 {
		names = append(names, fmt.Sprintf("pod-%d.web.ns.svc.cluster.local.", i), fmt.Sprintf("10-244-0-%d.web.ns.svc.cluster.local.", i),
			fmt.Sprintf("fd00--%d.web.ns.svc.cluster.local.", i), fmt.Sprintf("%d.0.244.10.in-addr.arpa.", i),
			reverseName(netip.MustParseAddr(fmt.Sprintf("fd00::%d", i))), fmt.Sprintf("pod-%d.db.ns.svc.cluster.local.", i))
	}
	var out []question
	for _, n := range names {
		for _, t := range []uint16{dns.TypeA, dns.TypeAAAA, dns.TypeSRV, dns.TypePTR} {
			out = append(out, question{n, t})
		}
	}
	return out
}

// answerOf is an answer written canonically: rcode, then each section's records sorted.
func answerOf(t *testing.T, cd *ClusterDNS, q question) string {
	m := serve(t, cd, new(dns.Msg).SetQuestion(q.name, q.qtype))
	section := func(rrs []dns.RR) string {
		var out []string
		for _, rr := range rrs {
			out = append(out, rr.String())
		}
		slices.Sort(out)
		return strings.Join(out, " | ")
	}
	return fmt.Sprintf("%s [%s] extra [%s]", dns.RcodeToString[m.Rcode], section(m.Answer), section(m.Extra))
}

// A change to one slice of a headless service leaves the records of its other slices as they were,
// and those of the service's single-stack and dual-stack siblings too: the change costs what it
// touches.
func TestSliceChangeRebuildsThatSliceOnly(t *testing.T) {
	for _, tt := range []struct {
		name    string
		other   model.Endpoints // the slice that must stay as it is
		changed func(n int) model.Endpoints
	}{
		{"single stack", endpoints("10.2.0.%d", 100), func(n int) model.Endpoints { return endpoints("10.1.0.%d", n) }},
		{"dual stack, an IPv6 slice of other pods kept", named(endpoints("fd00::%d", 100), 100), func(n int) model.Endpoints { return named(endpoints("10.1.0.%d", n), 0) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cd := newPlugin(t, "", emptyCluster)
			s := cd.store
			s.UpsertService(&model.Service{Namespace: "default", Name: "big", Headless: true})
			ports := []model.Port{{Name: "http", Protocol: "tcp", Port: 80}}
			s.UpsertEndpointSlice(&model.EndpointSlice{Namespace: "default", Name: "big-a", Service: "big", Ports: ports, Endpoints: tt.changed(100)})
			s.UpsertEndpointSlice(&model.EndpointSlice{Namespace: "default", Name: "big-b", Service: "big", Ports: ports, Endpoints: tt.other})
			kept := tt.other.At(7)
			name := endpointName(kept)
			if name == "" {
				name = dashed(kept.Addr)
			}
			name += ".big.default.svc.cluster.local."
			before := firstRecord(t, cd, name)
			for _, change := range []struct {
				what  string
				apply func()
			}{
				{"a change to another slice", func() {
					s.UpsertEndpointSlice(&model.EndpointSlice{Namespace: "default", Name: "big-a", Service: "big", Ports: ports, Endpoints: tt.changed(99)})
				}},
				{"a new slice", func() {
					s.UpsertEndpointSlice(&model.EndpointSlice{Namespace: "default", Name: "big-c", Service: "big", Ports: ports, Endpoints: endpoints("10.3.0.%d", 10)})
				}},
				{"a slice deleted", func() { s.DeleteEndpointSlice("default", "big-c") }},
			} {
				change.apply()
				if after := firstRecord(t, cd, name); after != before {
					t.Errorf("%s was rebuilt by %s", name, change.what)
				}
			}
			expect(t, cd, "10-3-0-1.big.default.svc.cluster.local.", dns.TypeA, dns.RcodeNameError, 0)
			if n, _ := addrs(t, cd, "_http._tcp.big.default.svc.cluster.local.", dns.TypeSRV); n != dns.RcodeSuccess {
				t.Errorf("SRV: %s", dns.RcodeToString[n])
			}
		})
	}
}

// named names the i-th endpoint pod-<first+i>, as a StatefulSet's pods are named in both families.
func named(list model.Endpoints, first int) model.Endpoints {
	out := make([]model.Endpoint, list.Len())
	for i := range out {
		out[i] = list.At(i)
		out[i].Name = fmt.Sprintf("pod-%d", first+i)
	}
	return model.NewEndpoints(out)
}

// firstRecord is the first address record the index holds at name.
func firstRecord(t *testing.T, cd *ClusterDNS, name string) dns.RR {
	t.Helper()
	sets, ok := cd.store.ix.Lookup(name)
	if !ok || len(sets) == 0 || len(sets[0].RRs) == 0 {
		t.Fatalf("%s: no records", name)
	}
	return sets[0].RRs[0]
}
