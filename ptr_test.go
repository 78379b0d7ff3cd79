package clusterdns

import (
	"cmp"
	"net/netip"
	"strconv"
	"strings"
	"testing"

	"github.com/clusterdns/clusterdns/internal/model"

	"github.com/coredns/coredns/plugin/test"
	"github.com/miekg/dns"
)

// ptrCluster holds addresses that several services point at, one per rule of the PTR precedence:
//
//	10.244.9.1  web-0 in headless web, web-0 in ClusterIP front, unnamed in ClusterIP alpha
//	10.244.9.2  api-0 in ClusterIP front, unnamed in headless zeta and in ClusterIP alpha
//	10.96.9.9   alpha's ClusterIP, also an unnamed endpoint of headless zeta
//	10.244.9.3  unnamed in ClusterIP front and in headless beta
//	10.244.9.4  unnamed in ClusterIP front only
func ptrCluster(t *testing.T, options string) *ClusterDNS {
	t.Helper()
	cd := newPlugin(t, options, emptyCluster)
	s := cd.store
	ip := netip.MustParseAddr
	svc := func(name string, clusterIP string) {
		sv := &model.Service{Namespace: "default", Name: name, Headless: clusterIP == ""}
		if clusterIP != "" {
			sv.ClusterIPs = []netip.Addr{ip(clusterIP)}
		}
		s.UpsertService(sv)
	}
	slice := func(svcName string, eps ...model.Endpoint) {
		s.UpsertEndpointSlice(&model.EndpointSlice{Namespace: "default", Name: svcName + "-1", Service: svcName, Endpoints: model.NewEndpoints(eps)})
	}
	svc("web", "")
	svc("front", "10.96.9.1")
	svc("alpha", "10.96.9.9")
	svc("zeta", "")
	svc("beta", "")
	slice("web", model.Endpoint{Addr: ip("10.244.9.1"), Name: "web-0"})
	slice("front", model.Endpoint{Addr: ip("10.244.9.1"), Name: "web-0"}, model.Endpoint{Addr: ip("10.244.9.2"), Name: "api-0"},
		model.Endpoint{Addr: ip("10.244.9.3")}, model.Endpoint{Addr: ip("10.244.9.4")})
	slice("alpha", model.Endpoint{Addr: ip("10.244.9.1")}, model.Endpoint{Addr: ip("10.244.9.2")})
	slice("zeta", model.Endpoint{Addr: ip("10.244.9.2")}, model.Endpoint{Addr: ip("10.96.9.9")})
	slice("beta", model.Endpoint{Addr: ip("10.244.9.3")})
	return cd
}

func ptrCase(rev string, targets ...string) test.Case {
	tc := test.Case{Qname: rev, Qtype: dns.TypePTR}
	for _, target := range targets {
		tc.Answer = append(tc.Answer, test.PTR(rev+" 5 IN PTR "+target))
	}
	return tc
}

func TestPTROneNamePerAddressByPrecedence(t *testing.T) {
	runCases(t, ptrCluster(t, ""), []test.Case{
		// 1. the endpoint's hostname in the headless service of the pod's subdomain
		ptrCase("1.9.244.10.in-addr.arpa.", "web-0.web.default.svc.cluster.local."),
		// 2. then any endpoint hostname, here in a ClusterIP service
		ptrCase("2.9.244.10.in-addr.arpa.", "api-0.front.default.svc.cluster.local."),
		// 3. then a ClusterIP service's own name for its ClusterIP
		ptrCase("9.9.96.10.in-addr.arpa.", "alpha.default.svc.cluster.local."),
		// 4. then the endpoint name in the lexically first service (beta before front)
		ptrCase("3.9.244.10.in-addr.arpa.", "10-244-9-3.beta.default.svc.cluster.local."),
		// an endpoint of a ClusterIP service alone has a PTR too, to the name it answers
		ptrCase("4.9.244.10.in-addr.arpa.", "10-244-9-4.front.default.svc.cluster.local."),
		{Qname: "10-244-9-4.front.default.svc.cluster.local.", Qtype: dns.TypeA,
			Answer: []dns.RR{test.A("10-244-9-4.front.default.svc.cluster.local. 5 IN A 10.244.9.4")}},
		{Qname: "api-0.front.default.svc.cluster.local.", Qtype: dns.TypeA,
			Answer: []dns.RR{test.A("api-0.front.default.svc.cluster.local. 5 IN A 10.244.9.2")}},
	})
}

// PTRs are built when asked below a marker per /24 or /124: the names around an address must still
// be NXDOMAIN or NODATA as the index would make them (RFC 8020).
func TestPTRNamesAroundAnAddress(t *testing.T) {
	cd := ptrCluster(t, "")
	v6 := model.Endpoint{Addr: netip.MustParseAddr("fd00::9:1")}
	cd.store.UpsertService(&model.Service{Namespace: "default", Name: "six", Headless: true})
	cd.store.UpsertEndpointSlice(&model.EndpointSlice{Namespace: "default", Name: "six-1", Service: "six", Endpoints: model.NewEndpoints([]model.Endpoint{v6})})
	rev6 := reverseName(v6.Addr)
	bucket6 := rev6[2:]
	nodata := func(name string, qtype uint16, zone string) test.Case {
		return test.Case{Qname: name, Qtype: qtype, Ns: []dns.RR{soa(zone)}}
	}
	nxdomain := func(name, zone string) test.Case {
		return test.Case{Qname: name, Qtype: dns.TypePTR, Rcode: dns.RcodeNameError, Ns: []dns.RR{soa(zone)}}
	}
	runCases(t, cd, []test.Case{
		nodata("1.9.244.10.in-addr.arpa.", dns.TypeA, "in-addr.arpa."),
		nodata("9.244.10.in-addr.arpa.", dns.TypePTR, "in-addr.arpa."),
		nodata("244.10.in-addr.arpa.", dns.TypePTR, "in-addr.arpa."),
		nxdomain("5.9.244.10.in-addr.arpa.", "in-addr.arpa."),
		nxdomain("01.9.244.10.in-addr.arpa.", "in-addr.arpa."),
		nxdomain("256.9.244.10.in-addr.arpa.", "in-addr.arpa."),
		nxdomain("x.1.9.244.10.in-addr.arpa.", "in-addr.arpa."),
		nxdomain("9.245.10.in-addr.arpa.", "in-addr.arpa."),
		ptrCase(rev6, "fd00--9-1.six.default.svc.cluster.local."),
		nodata(bucket6, dns.TypePTR, "ip6.arpa."),
		nodata(rev6, dns.TypeAAAA, "ip6.arpa."),
		nxdomain("2."+bucket6, "ip6.arpa."),
		nxdomain("g."+bucket6, "ip6.arpa."),
	})
	// The last address of a bucket gone, the bucket goes too.
	cd.store.DeleteEndpointSlice("default", "six-1")
	runCases(t, cd, []test.Case{nxdomain(rev6, "ip6.arpa."), nxdomain(bucket6, "ip6.arpa.")})
}

func TestPTRAllAnswersEveryName(t *testing.T) {
	runCases(t, ptrCluster(t, "ptr all"), []test.Case{
		// in the order test.SortAndCheck sorts them
		ptrCase("1.9.244.10.in-addr.arpa.", "10-244-9-1.alpha.default.svc.cluster.local.",
			"web-0.front.default.svc.cluster.local.", "web-0.web.default.svc.cluster.local."),
		ptrCase("9.9.96.10.in-addr.arpa.", "10-96-9-9.zeta.default.svc.cluster.local.", "alpha.default.svc.cluster.local."),
		ptrCase("4.9.244.10.in-addr.arpa.", "10-244-9-4.front.default.svc.cluster.local."),
	})
}

// When the name that answers an address goes, the next one in precedence answers, whatever the
// order of the changes; when the last goes, the address has no PTR.
func TestPTRNextNameAnswersWhenTheWinnerGoes(t *testing.T) {
	cd := ptrCluster(t, "")
	s := cd.store
	rev := "1.9.244.10.in-addr.arpa."
	s.DeleteEndpointSlice("default", "web-1")
	runCases(t, cd, []test.Case{ptrCase(rev, "web-0.front.default.svc.cluster.local.")})
	s.DeleteService("default", "front")
	runCases(t, cd, []test.Case{ptrCase(rev, "10-244-9-1.alpha.default.svc.cluster.local.")})
	s.UpsertEndpointSlice(&model.EndpointSlice{Namespace: "default", Name: "web-1", Service: "web",
		Endpoints: model.NewEndpoints([]model.Endpoint{{Addr: netip.MustParseAddr("10.244.9.1"), Name: "web-0"}})})
	runCases(t, cd, []test.Case{ptrCase(rev, "web-0.web.default.svc.cluster.local.")})
	s.DeleteService("default", "web")
	s.DeleteService("default", "alpha")
	runCases(t, cd, []test.Case{{Qname: rev, Qtype: dns.TypePTR, Rcode: dns.RcodeNameError, Ns: []dns.RR{soa("in-addr.arpa.")}}})
}

func TestPTROptionRefusesBadLines(t *testing.T) {
	for _, line := range []string{"ptr", "ptr first", "ptr one all"} {
		if _, err := newPluginErr(t, line); err == nil || !strings.Contains(err.Error(), "ptr") {
			t.Errorf("%q: error %v, want one naming ptr", line, err)
		}
	}
}

// With ignore empty_service a ClusterIP service without ready endpoints does not exist, and
// neither does the PTR of its ClusterIP; its first endpoint brings both.
func TestPTROfAnEmptyServiceFollowsIgnoreEmptyService(t *testing.T) {
	cd := newPlugin(t, "ignore empty_service", emptyCluster)
	s := cd.store
	s.UpsertService(&model.Service{Namespace: "default", Name: "idle", ClusterIPs: []netip.Addr{netip.MustParseAddr("10.96.9.5")}})
	rev := "5.9.96.10.in-addr.arpa."
	runCases(t, cd, []test.Case{{Qname: rev, Qtype: dns.TypePTR, Rcode: dns.RcodeNameError, Ns: []dns.RR{soa("in-addr.arpa.")}}})
	s.UpsertEndpointSlice(&model.EndpointSlice{Namespace: "default", Name: "idle-1", Service: "idle",
		Endpoints: model.NewEndpoints([]model.Endpoint{{Addr: netip.MustParseAddr("10.244.9.5")}})})
	runCases(t, cd, []test.Case{
		ptrCase(rev, "idle.default.svc.cluster.local."),
		ptrCase("5.9.244.10.in-addr.arpa.", "10-244-9-5.idle.default.svc.cluster.local."),
	})
	s.DeleteEndpointSlice("default", "idle-1")
	runCases(t, cd, []test.Case{{Qname: rev, Qtype: dns.TypePTR, Rcode: dns.RcodeNameError, Ns: []dns.RR{soa("in-addr.arpa.")}}})
}

// A re-list (or a snapshot replaced) takes back every ref of a bucket at once, more than a change
// brings: each address must then answer as a store built from the new objects alone, with no ref
// left over from the old ones (ptr all would show it as one more name).
func TestPTRsOfABucketReplacedAtOnce(t *testing.T) {
	snapshot := func(named int) *model.Snapshot {
		var headless, wide []model.Endpoint
		for i := range 40 {
			addr := netip.MustParseAddr("10.244.7." + strconv.Itoa(i+1))
			e := model.Endpoint{Addr: addr}
			if i < named {
				e.Name = "pod-" + strconv.Itoa(i)
			}
			headless = append(headless, e)
			wide = append(wide, model.Endpoint{Addr: addr})
		}
		return &model.Snapshot{
			Services: []*model.Service{
				{Namespace: "default", Name: "big", Headless: true},
				{Namespace: "default", Name: "wide", ClusterIPs: []netip.Addr{netip.MustParseAddr("10.96.7.1")}},
			},
			Slices: []*model.EndpointSlice{
				{Namespace: "default", Name: "big-1", Service: "big", Endpoints: model.NewEndpoints(headless)},
				{Namespace: "default", Name: "wide-1", Service: "wide", Endpoints: model.NewEndpoints(wide)},
			},
		}
	}
	for _, options := range []string{"", "ptr all"} {
		t.Run(cmp.Or(options, "ptr one"), func(t *testing.T) {
			live := newPlugin(t, options, emptyCluster)
			live.store.Replace(snapshot(40))
			live.store.Replace(snapshot(25))
			fresh := newPlugin(t, options, emptyCluster)
			fresh.store.Replace(snapshot(25))
			for i := range 41 {
				q := question{reverseName(netip.MustParseAddr("10.244.7." + strconv.Itoa(i+1))), dns.TypePTR}
				if got, want := answerOf(t, live, q), answerOf(t, fresh, q); got != want {
					t.Errorf("%s after the re-list:\n got %s\nwant %s", q.name, got, want)
				}
			}
		})
	}
}
