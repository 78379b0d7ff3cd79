package clusterdns

import (
	"cmp"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"

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

// reverseNames owns every PTR the plugin answers. Each address keeps its candidates, and its
// PTR is built when asked, from the best of them (ptr one) or from each (ptr all): a precomputed
// PTR cost about 340 bytes an address (its name in the index, its record, its target), about as
// much as everything else the plugin keeps for an endpoint, and PTRs are one query in ten. The
// index holds one marker per /24 (IPv4) or /124 (IPv6) that holds an address, whose Lazy answers
// the names below it, so that the names above exist as empty non-terminals (RFC 8020) and any
// other name is NXDOMAIN. A change costs the candidates it touches.
type reverseNames struct {
	b   *builder
	all bool // ptr all: one PTR per distinct name, in candidate order

	// mu guards addrs against the queries that read it; writers hold it for a whole update, so
	// that no query sees an address between one slice's old candidates and its new ones.
	mu    sync.RWMutex
	addrs map[netip.Addr][]ptrCand // sorted; a name given twice (two slices of one service) counts twice

	// Writers only (under the store's lock):
	buckets map[string]*ptrBucket    // marker name -> its addresses and published marker
	sums    map[string]uint64        // reverse zone -> the sum of its answers' hashes (serial.go)
	touched map[netip.Addr]ptrAnswer // scratch: the addresses an update touched, as they were
}

// ptrBucket is a /24 or /124 that holds addresses, and the marker that makes it answer them.
type ptrBucket struct {
	n      int
	marker []index.Set
}

// ptrAnswer is what an address answered before an update: whether it had a PTR, and its hash.
type ptrAnswer struct {
	had  bool
	hash uint64
}

func newReverseNames(b *builder, all bool) *reverseNames {
	return &reverseNames{b: b, all: all, addrs: map[netip.Addr][]ptrCand{},
		buckets: map[string]*ptrBucket{}, sums: map[string]uint64{}, touched: map[netip.Addr]ptrAnswer{}}
}

// update moves a service's candidates from what they were derived from to what they are derived
// from now, and returns the index changes of the addresses whose answer changed.
func (r *reverseNames) update(from, to ptrSource, ignoreEmpty bool) []index.Change {
	if len(r.b.reverse) == 0 {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
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
	cands, ok := r.addrs[addr]
	if !ok && (delta < 0 || !r.b.servesReverse(bucketName(addr))) {
		return
	}
	if _, seen := r.touched[addr]; !seen {
		r.touched[addr] = ptrAnswer{had: len(cands) > 0, hash: r.hash(addr, cands)}
	}
	i, found := slices.BinarySearchFunc(cands, c, ptrCand.compare)
	switch {
	case delta > 0:
		cands = slices.Insert(cands, i, c)
	case found:
		cands = slices.Delete(cands, i, i+1)
	default:
		return
	}
	r.addrs[addr] = cands
}

// publish settles the addresses an update touched: their zone's sum, and the markers of the
// buckets that gained their first address or lost their last. It returns the index changes.
func (r *reverseNames) publish() []index.Change {
	var changes []index.Change
	for addr, was := range r.touched {
		cands := r.addrs[addr]
		now := ptrAnswer{had: len(cands) > 0, hash: r.hash(addr, cands)}
		if len(cands) == 0 {
			delete(r.addrs, addr)
		}
		if now == was {
			continue
		}
		name := bucketName(addr)
		r.sums[r.zoneOf(name)] += now.hash - was.hash
		if now.had == was.had {
			continue
		}
		bk := r.buckets[name]
		switch {
		case now.had && bk == nil:
			bk = &ptrBucket{marker: []index.Set{{Name: name, Type: index.Marker, Lazy: r.answerer(addr)}}}
			r.buckets[name] = bk
			changes = append(changes, index.Change{New: bk.marker})
		case !now.had && bk.n == 1:
			delete(r.buckets, name)
			changes = append(changes, index.Change{Old: bk.marker})
		}
		if now.had {
			bk.n++
		} else {
			bk.n--
		}
	}
	clear(r.touched)
	return changes
}

// answerer returns the Lazy of the bucket of addr: the PTR of the address its label names.
func (r *reverseNames) answerer(addr netip.Addr) func(name, label string) ([]index.Set, bool) {
	bucket := addr.As16()
	is4 := addr.Is4()
	return func(name, label string) ([]index.Set, bool) {
		a, ok := bucketAddr(bucket, is4, label)
		if !ok {
			return nil, false
		}
		r.mu.RLock()
		defer r.mu.RUnlock()
		cands := r.addrs[a]
		if len(cands) == 0 {
			return nil, false
		}
		return r.set(name, a, cands), true
	}
}

// bucketAddr is the address of the name label below a bucket: an octet in canonical decimal
// (RFC 1035 3.5) or a nibble in lower-case hex (RFC 3596 2.5); any other label names nothing.
func bucketAddr(bucket [16]byte, is4 bool, label string) (netip.Addr, bool) {
	if is4 {
		n, err := strconv.Atoi(label)
		if err != nil || n < 0 || n > 255 || strconv.Itoa(n) != label {
			return netip.Addr{}, false
		}
		return netip.AddrFrom4([4]byte{bucket[12], bucket[13], bucket[14], byte(n)}), true
	}
	if len(label) != 1 {
		return netip.Addr{}, false
	}
	n := strings.IndexByte("0123456789abcdef", label[0])
	if n < 0 {
		return netip.Addr{}, false
	}
	bucket[15] = bucket[15]&0xf0 | byte(n)
	return netip.AddrFrom16(bucket), true
}

// bucketName is the name of the /24 or /124 of addr: its reverse name without the first label.
func bucketName(addr netip.Addr) string {
	name := reverseName(addr)
	return name[strings.IndexByte(name, '.')+1:]
}

// zoneOf is the served reverse zone that holds a bucket, the longest if several do.
func (r *reverseNames) zoneOf(name string) string {
	var zone string
	for _, z := range r.b.reverse {
		if index.InZone(name, z) && len(z) > len(zone) {
			zone = z
		}
	}
	return zone
}

// set builds an address's PTR set from its candidates: the first one (ptr one), or one record per
// distinct name in candidate order (ptr all).
func (r *reverseNames) set(rev string, addr netip.Addr, cands []ptrCand) []index.Set {
	if !r.all || len(cands) == 1 {
		// In one allocation: the set, its one record and the record's slot.
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

// target is the name a candidate points the address at, in the first zone (spec 2.4.3, 2.5.5),
// built in one allocation: it is built for every PTR query.
func (r *reverseNames) target(addr netip.Addr, c ptrCand) string {
	var buf [256]byte
	b := buf[:0]
	switch c.rank {
	case rankClusterIP:
	case rankEndpoint:
		b = append(appendDashed(b, addr), '.')
	default:
		b = append(append(b, c.name...), '.')
	}
	b = append(append(append(append(b, c.svc...), '.'), c.ns...), ".svc."...)
	return string(append(b, r.b.zones[0]...))
}

// hash is the hash of what an address answers, 0 for nothing: the zone's content sum adds it, so
// that the SOA serial moves exactly when a PTR does (serial.go). No seed: replicas must agree.
func (r *reverseNames) hash(addr netip.Addr, cands []ptrCand) uint64 {
	var sum uint64
	for i, c := range cands {
		if i > 0 && (!r.all || c == cands[i-1]) {
			if !r.all {
				break
			}
			continue // the same name again
		}
		b := addr.As16()
		h := uint64(fnvOffset)
		for _, x := range b {
			h = fnvByte(h, x)
		}
		h = fnvByte(h, c.rank)
		for shift := 0; shift < 32; shift += 8 {
			h = fnvByte(h, byte(r.b.ttl>>shift))
		}
		for _, part := range [...]string{c.ns, c.svc, c.name} {
			for i := range len(part) {
				h = fnvByte(h, part[i])
			}
			h = fnvByte(h, 0)
		}
		sum += h
	}
	return sum
}

// sum is the content of a reverse zone's PTRs, for its serial. Writers only.
func (r *reverseNames) sum(zone string) uint64 { return r.sums[zone] }

// records are every PTR of a zone, for its transfer (RFC 5936).
func (r *reverseNames) records(zone string) []dns.RR {
	r.mu.RLock()
	defer r.mu.RUnlock()
	var out []dns.RR
	for addr, cands := range r.addrs {
		rev := reverseName(addr)
		if r.zoneOf(rev[strings.IndexByte(rev, '.')+1:]) == zone {
			out = append(out, r.set(rev, addr, cands)[0].RRs...)
		}
	}
	return out
}

const fnvOffset, fnvPrime = 14695981039346656037, 1099511628211

// fnvByte is one step of FNV-1a.
func fnvByte(h uint64, c byte) uint64 { return (h ^ uint64(c)) * fnvPrime }
