package clusterdns

import (
	"net/netip"
	"slices"
	"strings"
	"sync"

	"github.com/clusterdns/clusterdns/internal/index"
	"github.com/clusterdns/clusterdns/internal/model"

	"github.com/miekg/dns"
)

// schemaVersion is the Kubernetes DNS specification version this plugin implements (spec 2.3.1).
const schemaVersion = "1.1.0"

// SOA timers as CoreDNS's kubernetes plugin sets them; MINIMUM is the negative TTL (RFC 2308
// section 5: negative answers are cached for min(SOA TTL, MINIMUM)).
const (
	soaRefresh = 7200
	soaRetry   = 1800
	soaExpire  = 86400
)

// builder turns slim objects into index sets. It is pure: same input, same records.
type builder struct {
	zones        []string // forward zones, lower case, fully qualified; zones[0] names PTR targets
	reverse      []string // reverse zones served, lower case, fully qualified
	mcZones      []string // clusterset zones (multicluster): ServiceImports only
	ttl          uint32
	negTTL       uint32 // the SOA MINIMUM, and the TTL of the SOA that negative answers carry
	insecurePods bool   // pods insecure
	zonal        bool   // zonal: <topology-zone>.pin|prefer._zone names of headless services
}

// service builds the records of one service that are its own, in every zone: every name of a
// ClusterIP (spec 2.4) or ExternalName (spec 2.6) service; for a headless service (spec 2.5) only
// the SRV at its name, built on demand, since its endpoints' records come from each of its slices
// (headlessSlice). out is left ready for the next build. slices are the service's EndpointSlices
// (nil with noendpoints), which answers built on demand keep.
func (b *builder) service(out *setBuilder, svc *model.Service, slices []*model.EndpointSlice, ignoreEmpty bool) []index.Set {
	if svc.ExternalName != "" {
		target := dns.Fqdn(strings.ToLower(svc.ExternalName))
		if _, ok := dns.IsDomainName(target); !ok {
			return nil
		}
		for _, z := range b.zones {
			base := serviceName(svc, z)
			out.add(base, dns.TypeCNAME, &dns.CNAME{Hdr: b.hdr(base, dns.TypeCNAME), Target: target})
		}
		return out.done()
	}
	if !hasEndpoints(slices) && (svc.Headless || ignoreEmpty) {
		return nil // spec 2.5.1: a headless service without ready endpoints does not exist
	}
	if svc.Headless {
		for _, z := range b.zones {
			out.add(serviceName(svc, z), dns.TypeSRV, nil).lazy = b.headlessSRV(slices)
			if b.zonal {
				b.zonalDirectives(out, serviceName(svc, z), slices)
			}
		}
		return out.done()
	}
	zones := len(b.zones)
	v4 := 0
	for _, ip := range svc.ClusterIPs {
		if ip.Is4() {
			v4++
		}
	}
	out.reserve(v4*zones, (len(svc.ClusterIPs)-v4)*zones, namedPorts(svc.Ports)*zones)
	for _, z := range b.zones {
		b.clusterIP(out, svc, serviceName(svc, z), slices)
	}
	setSRVWeights(out.list)
	return out.done()
}

// headlessSlice builds what one EndpointSlice gives its headless service, in every zone: for each
// ready endpoint its address at the service's name and at its own (spec 2.5.1), and for each
// named port an SRV under _port._proto targeting it (2.5.2) with its address as glue; its PTR is
// reverseNames'. An address or endpoint name that an earlier slice claimed (out.claims) is answered by that one
// alone. The SRV weights are left to the caller, which knows the other slices' SRV records.
func (b *builder) headlessSlice(out *setBuilder, svc *model.Service, sl *model.EndpointSlice) []index.Set {
	out.claimed = out.claimed[:0]
	a, aaaa, srv := 0, 0, 0
	named := namedPorts(sl.Ports)
	for i := range sl.Endpoints.Len() {
		e := sl.Endpoints.At(i)
		label := endpointName(e)
		ce := claimedEndpoint{addr: e.Addr, label: label}
		ce.answersAddr, ce.answersSRV = out.claims.claim(e.Addr, label)
		if !ce.answersAddr && !ce.answersSRV {
			continue
		}
		if ce.label == "" {
			ce.label = dashed(e.Addr)
		}
		out.claimed = append(out.claimed, ce)
		if ce.answersAddr {
			if e.Addr.Is4() {
				a += 2 // at the service's name and at the endpoint's
			} else {
				aaaa += 2
			}
		}
		if ce.answersSRV {
			srv += named
		}
	}
	zones := len(b.zones)
	out.reserve(a*zones, aaaa*zones, srv*zones)
	if out.ports == nil {
		out.ports = map[model.Port]string{}
	}
	for _, z := range b.zones {
		base := serviceName(svc, z)
		clear(out.ports) // one owner string per port, shared by its N records
		for _, p := range sl.Ports {
			if p.Name != "" {
				out.ports[p] = portName(p, base)
			}
		}
		for _, e := range out.claimed {
			name := e.label + "." + base
			var glue dns.RR
			if e.answersAddr {
				out.add(base, addrType(e.addr), b.addr(&out.slab, base, e.addr))
				glue = b.addr(&out.slab, name, e.addr)
				out.add(name, addrType(e.addr), glue)
			}
			for pi, p := range sl.Ports {
				owner, ok := out.ports[p]
				if !ok {
					continue
				}
				if e.answersSRV {
					b.srv(out, owner, p, name)
				}
				if glue != nil && !glued(sl.Ports[:pi], p) {
					s := out.add(owner, dns.TypeSRV, nil)
					s.extra = append(s.extra, glue)
				}
			}
		}
	}
	clear(out.claimed)
	return out.done()
}

// glued tells whether a port before p has p's SRV name, so that its glue is already there.
func glued(before []model.Port, p model.Port) bool {
	for _, q := range before {
		if q.Name == p.Name && q.Protocol == p.Protocol {
			return true
		}
	}
	return false
}

func namedPorts(ports []model.Port) int {
	n := 0
	for _, p := range ports {
		if p.Name != "" {
			n++
		}
	}
	return n
}

// clusterIP adds the virtual IP, an SRV per named port under _port._proto, and on demand the SRV
// at the service name and the names of the ready endpoints; the PTRs are reverseNames'.
func (b *builder) clusterIP(out *setBuilder, svc *model.Service, base string, slices []*model.EndpointSlice) {
	for _, ip := range svc.ClusterIPs {
		out.add(base, addrType(ip), b.addr(&out.slab, base, ip))
	}
	glue := out.addrs(base)
	for _, p := range svc.Ports {
		if p.Name != "" {
			b.srvGlue(out, portName(p, base), p, base, glue)
		}
	}
	out.add(base, dns.TypeSRV, nil).lazy = b.clusterIPLazy(svc, slices)
}

// clusterIPLazy builds, on demand, the SRV at a ClusterIP service's name (one per port, as the
// kubernetes plugin answers; the spec names only _port._proto) and "<endpoint>.<service>", as the
// kubernetes plugin answers them: both are rarely asked, and precomputing them would cost memory per
// service and per endpoint. svc and slices are never modified once stored.
func (b *builder) clusterIPLazy(svc *model.Service, list []*model.EndpointSlice) func(name, label string) ([]index.Set, bool) {
	return func(name, label string) ([]index.Set, bool) {
		var out setBuilder
		if label == "" {
			var glue []dns.RR
			for _, ip := range svc.ClusterIPs {
				glue = append(glue, b.addr(&out.slab, name, ip))
			}
			for _, p := range svc.Ports {
				b.srvGlue(&out, name, p, name, glue)
			}
			setSRVWeights(out.list)
			return out.done(), true
		}
		ip, isAddr := parseDashed(label)
		var seen []netip.Addr
		for _, sl := range list {
			for i := range sl.Endpoints.Len() {
				e := sl.Endpoints.At(i)
				named := endpointName(e)
				if (named != label && (named != "" || !isAddr || e.Addr != ip)) || slices.Contains(seen, e.Addr) {
					continue
				}
				seen = append(seen, e.Addr)
				out.add(name, addrType(e.Addr), b.addr(&out.slab, name, e.Addr))
			}
		}
		found := len(out.list) > 0
		return out.done(), found
	}
}

// headlessSRV builds, on demand, the N x M SRV at a headless service's name: the kubernetes plugin
// answers them, the spec names only _port._proto, and precomputed they would cost memory per
// endpoint in every service, asked or not. Once built they are kept, as the zonal answers are: a
// service of thousands of endpoints would otherwise build thousands of records for every query.
// They go with the service's own records, which every change to its slices rebuilds.
func (b *builder) headlessSRV(list []*model.EndpointSlice) func(name, label string) ([]index.Set, bool) {
	var (
		once sync.Once
		sets []index.Set
	)
	return func(name, label string) ([]index.Set, bool) {
		if label != "" {
			return nil, false
		}
		once.Do(func() {
			var out setBuilder
			for _, e := range out.readyEndpoints(list) {
				target := e.label + "." + name
				glue := []dns.RR{b.addr(&out.slab, target, e.addr)}
				for _, p := range e.ports {
					b.srvGlue(&out, name, p, target, glue)
				}
			}
			setSRVWeights(out.list)
			sets = out.done()
		})
		return sets, true
	}
}

// srv adds an SRV at owner for port p targeting target, once per target and port.
func (b *builder) srv(out *setBuilder, owner string, p model.Port, target string) {
	s := out.add(owner, dns.TypeSRV, nil)
	if !out.first(srvKey{owner, target, int32(p.Port)}) {
		return
	}
	rr := take(&out.srv)
	*rr = dns.SRV{Hdr: b.hdr(owner, dns.TypeSRV), Priority: 0, Port: p.Port, Target: target}
	s.rrs = append(s.rrs, rr)
}

// srvGlue adds an SRV like srv, with glue the first time it targets target.
func (b *builder) srvGlue(out *setBuilder, owner string, p model.Port, target string, glue []dns.RR) {
	b.srv(out, owner, p, target)
	if out.first(srvKey{owner, target, glueKey}) {
		s := out.add(owner, dns.TypeSRV, nil)
		s.extra = append(s.extra, glue...)
	}
}

func (b *builder) servesReverse(name string) bool {
	for _, z := range b.reverse {
		if index.InZone(name, z) {
			return true
		}
	}
	return false
}

// namespace makes "<ns>.svc.<zone>" and "<ns>.pod.<zone>" exist (spec rule 12: empty non-terminals
// of an existing namespace are NODATA, whatever the pods mode). Pod names below answer any address
// ("pods insecure") or the addresses of the namespace's pods (verified, non-nil).
func (b *builder) namespace(name string, verified podSet) []index.Set {
	var out setBuilder
	for _, z := range b.zones {
		out.add(name+".svc."+z, index.Marker, nil)
		pods := out.add(name+".pod."+z, index.Marker, nil)
		switch {
		case verified != nil:
			pods.lazy = b.verifiedPod(verified)
		case b.insecurePods:
			pods.lazy = b.insecurePod
		}
	}
	for _, z := range b.mcZones {
		out.add(name+".svc."+z, index.Marker, nil) // MCS 2.1: <ns>.svc.<clusterset zone>
	}
	return out.done()
}

// podSet is the addresses of a namespace's pods.
type podSet interface{ has(netip.Addr) bool }

// verifiedPod answers "<dashed-ip>.<ns>.pod.<zone>" only for an address of a pod in <ns>
// ("pods verified").
func (b *builder) verifiedPod(addrs podSet) func(name, label string) ([]index.Set, bool) {
	return func(name, label string) ([]index.Set, bool) {
		if ip, ok := parseDashed(label); !ok || !addrs.has(ip) {
			return nil, false
		}
		return b.insecurePod(name, label)
	}
}

// insecurePod answers "<dashed-ip>.<ns>.pod.<zone>" for any well-formed address ("pods insecure").
// Only names one label below the namespace exist, so "x.1-2-3-4.<ns>.pod.<zone>" is NXDOMAIN, not
// an alias (the kubernetes plugin's unbounded name space).
func (b *builder) insecurePod(name, label string) ([]index.Set, bool) {
	ip, ok := parseDashed(label)
	if !ok {
		return nil, false
	}
	var one slab
	rr := b.addr(&one, name, ip)
	return []index.Set{{Name: name, Type: rr.Header().Rrtype, RRs: []dns.RR{rr}}}, true
}

// negativeSOA is the SOA that a zone's negative answers carry: TTL and MINIMUM both the negative
// TTL (RFC 2308 section 3). The SOA asked for itself keeps the TTL of answers: it is data.
func (b *builder) negativeSOA(soa *dns.SOA) []dns.RR {
	neg := *soa
	neg.Hdr.Ttl = b.negTTL
	return []dns.RR{&neg}
}

// apex builds a zone's SOA and NS (with glue for ns.dns.<zone>), and for forward zones the
// dns-version TXT (spec 2.3) and the svc and pod empty non-terminals.
func (b *builder) apex(zone string, serial uint32, nsAddrs []netip.Addr) []index.Set {
	var out setBuilder
	nsName, mbox := "ns.dns."+b.zones[0], "hostmaster."+b.zones[0]
	if !b.isReverse(zone) {
		nsName, mbox = "ns.dns."+zone, "hostmaster."+zone
	}
	out.add(zone, dns.TypeSOA, &dns.SOA{
		Hdr: b.hdr(zone, dns.TypeSOA), Ns: nsName, Mbox: mbox, Serial: serial,
		Refresh: soaRefresh, Retry: soaRetry, Expire: soaExpire, Minttl: b.negTTL,
	})
	nsRR := &dns.NS{Hdr: b.hdr(zone, dns.TypeNS), Ns: nsName}
	if b.isReverse(zone) {
		out.add(zone, dns.TypeNS, nsRR)
		return out.done()
	}
	out.add(nsName, index.Marker, nil)
	for _, ip := range nsAddrs {
		out.add(nsName, addrType(ip), b.addr(&out.slab, nsName, ip))
	}
	ns := out.add(zone, dns.TypeNS, nsRR)
	ns.extra = append(ns.extra, out.addrs(nsName)...)
	txt, version := "dns-version."+zone, schemaVersion
	if slices.Contains(b.mcZones, zone) {
		version = mcsSchemaVersion
	}
	out.add(txt, dns.TypeTXT, &dns.TXT{Hdr: b.hdr(txt, dns.TypeTXT), Txt: []string{version}})
	out.add("svc."+zone, index.Marker, nil)
	out.add("pod."+zone, index.Marker, nil)
	return out.done()
}

// allZones are the forward zones, then the clusterset and the reverse ones.
func (b *builder) allZones() []string {
	return append(append(append([]string(nil), b.zones...), b.mcZones...), b.reverse...)
}

func (b *builder) isReverse(zone string) bool {
	for _, z := range b.reverse {
		if z == zone {
			return true
		}
	}
	return false
}

func (b *builder) hdr(name string, t uint16) dns.RR_Header {
	return dns.RR_Header{Name: name, Rrtype: t, Class: dns.ClassINET, Ttl: b.ttl}
}

// addr returns an A or AAAA record for ip, from s.
func (b *builder) addr(s *slab, name string, ip netip.Addr) dns.RR {
	if ip.Is4() {
		a, rr := ip.As4(), take(&s.a)
		*rr = dns.A{Hdr: b.hdr(name, dns.TypeA), A: s.bytes(a[:])}
		return rr
	}
	a, rr := ip.As16(), take(&s.aaaa)
	*rr = dns.AAAA{Hdr: b.hdr(name, dns.TypeAAAA), AAAA: s.bytes(a[:])}
	return rr
}

func addrType(ip netip.Addr) uint16 {
	if ip.Is4() {
		return dns.TypeA
	}
	return dns.TypeAAAA
}

// setSRVWeights gives each SRV in a set an equal share of 100 (RFC 2782: equal weights, equal
// chance), as the kubernetes plugin does.
func setSRVWeights(list []building) {
	for _, s := range list {
		if s.t != dns.TypeSRV || len(s.rrs) == 0 {
			continue
		}
		w := srvWeight(len(s.rrs))
		for _, rr := range s.rrs {
			rr.(*dns.SRV).Weight = w
		}
	}
}

// srvWeight is the weight of each of n SRV records at one name: an equal share of 100, at least 1.
func srvWeight(n int) uint16 { return uint16(max(1, 100/max(n, 1))) }

// readyEndpoint is one ready address with its DNS label, its topology zone and the ports of its
// slice.
type readyEndpoint struct {
	addr  netip.Addr
	label string
	zone  string
	ports []model.Port
}

// hasEndpoints tells whether any slice has a (ready) endpoint.
func hasEndpoints(slices []*model.EndpointSlice) bool {
	for _, sl := range slices {
		if sl.Endpoints.Len() > 0 {
			return true
		}
	}
	return false
}

// readyEndpoints flattens the ready addresses of a service's slices, once per address (during a
// rollout the same address can briefly sit in two slices), into an array the next call reuses.
func (s *setBuilder) readyEndpoints(slices []*model.EndpointSlice) []readyEndpoint {
	s.seen = scrub(s.seen)
	s.ready = s.ready[:0]
	for _, sl := range slices {
		for i := range sl.Endpoints.Len() {
			e := sl.Endpoints.At(i)
			if s.seen[e.Addr] {
				continue
			}
			s.seen[e.Addr] = true
			label := endpointName(e)
			if label == "" {
				label = dashed(e.Addr)
			}
			s.ready = append(s.ready, readyEndpoint{addr: e.Addr, label: label, zone: e.Zone, ports: sl.Ports})
		}
	}
	return s.ready
}
