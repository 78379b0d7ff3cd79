package clusterdns

import (
	"cmp"
	"net/netip"
	"slices"
	"strings"

	"github.com/clusterdns/clusterdns/internal/index"
	"github.com/clusterdns/clusterdns/internal/model"

	"github.com/miekg/dns"
)

// PTR ranks, best first: the precedence that picks the one name an address answers (ptr one).
// The EndpointSlice controller sets an endpoint's hostname only when its pod's spec.subdomain is
// the service's name (spec 2.5.1), so a named endpoint of a headless service is "the pod's
// subdomain"; with endpoint_pod_names a pod name counts as the endpoint's name.
const (
	rankSubdomain = iota + 1 // a named endpoint of a headless service
	rankHostname             // a named endpoint of a ClusterIP service
	rankClusterIP            // a ClusterIP service's own name for its ClusterIP (spec 2.4.3)
	rankEndpoint             // an endpoint named by its dashed address
)

// ptrCand is one name that points at an address: the endpoint label (named ranks only) under a
// service's name. Candidates order by rank, then namespace, service and label, so that the winner
// depends on the data alone, never on the order of events: every replica answers the same.
type ptrCand struct {
	rank          uint8
	ns, svc, name string
}

func (c ptrCand) compare(d ptrCand) int {
	return cmp.Or(cmp.Compare(c.rank, d.rank), cmp.Compare(c.ns, d.ns), cmp.Compare(c.svc, d.svc), cmp.Compare(c.name, d.name))
}

// ptrSource is what a service's PTR candidates were derived from: its service (nil for none or
// not exposed) and its slices, which are never modified, so that the next change can take back
// exactly those by comparing pointers.
type ptrSource struct {
	svc    *model.Service
	slices []*model.EndpointSlice
}

// reverseNames owns every PTR the plugin answers: each address in a served reverse zone is an
// owner of its own in the index, whose set is rebuilt from its candidates when they change. A
// change costs the candidates it touches: when the winner goes, the next candidate answers.
type reverseNames struct {
	b     *builder
	all   bool                    // ptr all: one PTR per distinct name, in candidate order
	addrs map[netip.Addr]addrPTRs // by value: one allocation fewer per address
	dirty []netip.Addr            // scratch: the addresses touched since the last publish
}

// maxKeptDirty is the most addresses whose scratch list is kept between changes: a slice holds
// at most 1,000 endpoints.
const maxKeptDirty = 4096

type addrPTRs struct {
	cands []ptrCand   // sorted; a name given twice (two slices of one service) counts twice
	set   []index.Set // published
}

func newReverseNames(b *builder, all bool) *reverseNames {
	return &reverseNames{b: b, all: all, addrs: map[netip.Addr]addrPTRs{}}
}

// update moves a service's candidates from what they were derived from to what they are derived
// from now, and returns the index changes of the addresses whose answer changed.
func (r *reverseNames) update(from, to ptrSource, ignoreEmpty bool) []index.Change {
	if len(r.b.reverse) == 0 {
		return nil
	}
	if from.svc != to.svc || hasEndpoints(from.slices) != hasEndpoints(to.slices) {
		r.own(from, ignoreEmpty, -1)
		r.own(to, ignoreEmpty, 1)
	}
	if !sameEndpointRanks(from.svc, to.svc) {
		for _, sl := range from.slices {
			r.slice(from.svc, sl, -1)
		}
		for _, sl := range to.slices {
			r.slice(to.svc, sl, 1)
		}
		return r.publish()
	}
	i, j := 0, 0 // both lists are sorted by name
	for i < len(from.slices) || j < len(to.slices) {
		switch {
		case j == len(to.slices) || (i < len(from.slices) && from.slices[i].Name < to.slices[j].Name):
			r.slice(from.svc, from.slices[i], -1)
			i++
		case i == len(from.slices) || to.slices[j].Name < from.slices[i].Name:
			r.slice(to.svc, to.slices[j], 1)
			j++
		default:
			if from.slices[i] != to.slices[j] {
				r.slice(from.svc, from.slices[i], -1)
				r.slice(to.svc, to.slices[j], 1)
			}
			i, j = i+1, j+1
		}
	}
	return r.publish()
}

// sameEndpointRanks tells whether two versions of a service give their endpoints the same
// candidates: the same service, of the same kind.
func sameEndpointRanks(a, b *model.Service) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Namespace == b.Namespace && a.Name == b.Name && a.Headless == b.Headless && (a.ExternalName == "") == (b.ExternalName == "")
}

// own counts (delta 1) or takes back (-1) the candidates of a ClusterIP service's own addresses,
// which exist only while its own records do (ignore empty_service).
func (r *reverseNames) own(src ptrSource, ignoreEmpty bool, delta int) {
	svc := src.svc
	if svc == nil || svc.Headless || svc.ExternalName != "" || (ignoreEmpty && !hasEndpoints(src.slices)) {
		return
	}
	for _, ip := range svc.ClusterIPs {
		r.count(ip, ptrCand{rank: rankClusterIP, ns: svc.Namespace, svc: svc.Name}, delta)
	}
}

// slice counts or takes back the candidates of a slice's endpoints.
func (r *reverseNames) slice(svc *model.Service, sl *model.EndpointSlice, delta int) {
	if svc == nil || svc.ExternalName != "" {
		return
	}
	for i := range sl.Endpoints.Len() {
		e := sl.Endpoints.At(i)
		c := ptrCand{rank: rankEndpoint, ns: svc.Namespace, svc: svc.Name, name: endpointName(e)}
		switch {
		case c.name == "":
		case svc.Headless:
			c.rank = rankSubdomain
		default:
			c.rank = rankHostname
		}
		r.count(e.Addr, c, delta)
	}
}

func (r *reverseNames) count(addr netip.Addr, c ptrCand, delta int) {
	rn, ok := r.addrs[addr]
	if !ok && (delta < 0 || !r.b.servesReverse(reverseName(addr))) {
		return
	}
	i, found := slices.BinarySearchFunc(rn.cands, c, ptrCand.compare)
	switch {
	case delta > 0:
		rn.cands = slices.Insert(rn.cands, i, c)
	case found:
		rn.cands = slices.Delete(rn.cands, i, i+1)
	default:
		return
	}
	r.addrs[addr] = rn
	r.dirty = append(r.dirty, addr)
}

// publish rebuilds the PTR set of every address touched, and returns the changes of those whose
// answer changed.
func (r *reverseNames) publish() []index.Change {
	var changes []index.Change
	for _, addr := range r.dirty {
		rn, ok := r.addrs[addr]
		if !ok {
			continue // already published in this round
		}
		if !r.shows(rn.set, addr, rn.cands) {
			set := r.set(addr, rn.cands)
			changes = append(changes, index.Change{Old: rn.set, New: set})
			rn.set = set
		}
		if len(rn.cands) == 0 {
			delete(r.addrs, addr)
		} else {
			r.addrs[addr] = rn
		}
	}
	r.dirty = r.dirty[:0]
	if cap(r.dirty) > maxKeptDirty {
		r.dirty = nil // a full rebuild's list is not kept for the slice changes after it
	}
	return changes
}

// set builds an address's PTR set from its candidates: the first one (ptr one), or one record per
// distinct name in candidate order (ptr all).
func (r *reverseNames) set(addr netip.Addr, cands []ptrCand) []index.Set {
	if len(cands) == 0 {
		return nil
	}
	rev := reverseName(addr)
	if !r.all || len(cands) == 1 {
		// The common case in one allocation: the set, its one record and the record's slot.
		one := &struct {
			set [1]index.Set
			rr  [1]dns.RR
			ptr dns.PTR
		}{}
		one.ptr = dns.PTR{Hdr: r.b.hdr(rev, dns.TypePTR), Ptr: r.target(addr, cands[0])}
		one.rr[0] = &one.ptr
		one.set[0] = index.Set{Name: rev, Type: dns.TypePTR, RRs: one.rr[:]}
		return one.set[:]
	}
	var rrs []dns.RR
	for _, c := range cands {
		target := r.target(addr, c)
		if slices.ContainsFunc(rrs, func(rr dns.RR) bool { return rr.(*dns.PTR).Ptr == target }) {
			continue
		}
		rrs = append(rrs, &dns.PTR{Hdr: r.b.hdr(rev, dns.TypePTR), Ptr: target})
	}
	return []index.Set{{Name: rev, Type: dns.TypePTR, RRs: rrs}}
}

// target is the name a candidate points the address at, in the first zone (spec 2.4.3, 2.5.5).
func (r *reverseNames) target(addr netip.Addr, c ptrCand) string {
	base := c.svc + "." + c.ns + ".svc." + r.b.zones[0]
	switch c.rank {
	case rankClusterIP:
		return base
	case rankEndpoint:
		return dashed(addr) + "." + base
	default:
		return c.name + "." + base
	}
}

// shows tells, without building a name, whether set already answers what cands give: a slice
// that changes rewrites its endpoints' candidates, and most winners stay.
func (r *reverseNames) shows(set []index.Set, addr netip.Addr, cands []ptrCand) bool {
	if len(set) == 0 || len(cands) == 0 {
		return len(set) == len(cands)
	}
	rrs := set[0].RRs
	n := 0
	for i, c := range cands {
		if i > 0 && (!r.all || r.pointsAt(rrs[n-1].(*dns.PTR).Ptr, addr, c)) {
			if !r.all {
				break
			}
			continue // a name already shown
		}
		if n == len(rrs) || !r.pointsAt(rrs[n].(*dns.PTR).Ptr, addr, c) {
			return false
		}
		n++
	}
	return n == len(rrs)
}

// pointsAt tells whether target is the name candidate c points addr at (see target).
func (r *reverseNames) pointsAt(target string, addr netip.Addr, c ptrCand) bool {
	for _, part := range []string{r.b.zones[0], ".svc.", c.ns, ".", c.svc} {
		var ok bool
		if target, ok = strings.CutSuffix(target, part); !ok {
			return false
		}
	}
	switch c.rank {
	case rankClusterIP:
		return target == ""
	}
	head, ok := strings.CutSuffix(target, ".")
	if c.rank == rankEndpoint {
		var buf [64]byte
		return ok && head == string(appendDashed(buf[:0], addr))
	}
	return ok && head == c.name
}

// appendDashed is dashed without an allocation.
func appendDashed(b []byte, ip netip.Addr) []byte {
	sep := byte('.')
	if ip.Is6() {
		sep = ':'
	}
	b = ip.AppendTo(b)
	for i := range b {
		if b[i] == sep {
			b[i] = '-'
		}
	}
	return b
}
