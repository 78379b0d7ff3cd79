package clusterdns

import (
	"cmp"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"sync"
	"unsafe"

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

// ptrRef is one name that points at an address, kept as a reference to what gives it, so that
// it costs 16 bytes and no string of its own: an endpoint (the idx-th of a slice) or a ClusterIP
// service's own name. key is the address's last octet (IPv4) or nibble (IPv6) in its bucket.
// Refs order by rank, then namespace, service and endpoint label, so that the winner depends on
// the data alone, never on the order of events: every replica answers the same.
type ptrRef struct {
	// owner is the *model.Service of a ClusterIP's name (rankClusterIP) and the
	// *model.EndpointSlice of an endpoint's otherwise: one word for either, not two, 8 bytes less
	// an endpoint. The garbage collector follows it as any pointer.
	owner unsafe.Pointer
	idx   uint32
	key   uint8
	rank  uint8
}

func serviceRef(svc *model.Service) ptrRef {
	return ptrRef{owner: unsafe.Pointer(svc), rank: rankClusterIP}
}

func endpointRef(sl *model.EndpointSlice, idx int, rank uint8) ptrRef {
	return ptrRef{owner: unsafe.Pointer(sl), idx: uint32(idx), rank: rank}
}

// names are the namespace, service and endpoint label (named ranks only) of a ref.
func (c ptrRef) names() (ns, svc, label string) {
	if c.rank == rankClusterIP {
		s := (*model.Service)(c.owner)
		return s.Namespace, s.Name, ""
	}
	sl := (*model.EndpointSlice)(c.owner)
	if c.rank != rankEndpoint {
		label = endpointName(sl.Endpoints.At(int(c.idx)))
	}
	return sl.Namespace, sl.Service, label
}

func (c ptrRef) compare(d ptrRef) int {
	if c.rank != d.rank {
		return cmp.Compare(c.rank, d.rank)
	}
	cns, csvc, clabel := c.names()
	dns, dsvc, dlabel := d.names()
	return cmp.Or(cmp.Compare(cns, dns), cmp.Compare(csvc, dsvc), cmp.Compare(clabel, dlabel))
}

// ptrSource is what a service's PTR candidates were derived from: its service (nil for none or
// not exposed) and its slices, which are never modified, so that the next change can take back
// exactly those by comparing pointers.
type ptrSource struct {
	svc    *model.Service
	slices []*model.EndpointSlice
}

// reverseNames owns every PTR the plugin answers. Each address keeps references to the names
// that point at it, and its PTR is built when asked, from the best of them (ptr one) or from each
// (ptr all): a precomputed PTR cost about 340 bytes an address (its name in the index, its record,
// its target), about as much as everything else the plugin keeps for an endpoint, and PTRs are
// one query in ten. The references are kept per /24 (IPv4) or /124 (IPv6), in one sorted array
// each, and the index holds one marker per bucket whose Lazy answers the names below it, so that
// the names above exist as empty non-terminals (RFC 8020) and any other name is NXDOMAIN. A
// change costs the references it touches, and the array of their buckets.
type reverseNames struct {
	b   *builder
	all bool // ptr all: one PTR per distinct name, in candidate order

	// mu guards the buckets' arrays against the queries that read them; writers hold it for a
	// whole update, so that no query sees an address between one slice's old names and its new.
	mu      sync.RWMutex
	buckets map[[16]byte]*ptrBucket

	// Writers only (under the store's lock):
	sums    map[string]uint64     // reverse zone -> the sum of its answers' hashes (serial.go)
	touched map[netip.Addr]uint64 // scratch: the addresses an update touched, their answer's hash before
	// ops are an update's refs to add and take back, per bucket: applied at its end in one pass
	// over each bucket's array, not one shift of the array per ref.
	ops         map[[16]byte][]ptrOp
	adds, takes []ptrRef // apply's scratch
}

// ptrOp adds (delta 1) or takes back (-1) a ref.
type ptrOp struct {
	ref   ptrRef
	delta int
}

// ptrBucket is a /24 or /124 that holds addresses: their refs, sorted by key and then in
// candidate order, and the marker that makes it answer them.
type ptrBucket struct {
	refs   []ptrRef
	prefix [16]byte // its addresses' bytes but the key's
	name   string   // the marker's name: an address's reverse name without its first label
	zone   string   // the served reverse zone that holds it
	is4    bool
	marker []index.Set // nil until published
}

func newReverseNames(b *builder, all bool) *reverseNames {
	return &reverseNames{b: b, all: all, buckets: map[[16]byte]*ptrBucket{},
		sums: map[string]uint64{}, touched: map[netip.Addr]uint64{}, ops: map[[16]byte][]ptrOp{}}
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
				r.reslice(to.svc, from.slices[i], to.slices[j])
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

// own counts (delta 1) or takes back (-1) the names of a ClusterIP service's own addresses,
// which exist only while its own records do (ignore empty_service).
func (r *reverseNames) own(src ptrSource, ignoreEmpty bool, delta int) {
	svc := src.svc
	if svc == nil || svc.Headless || svc.ExternalName != "" || (ignoreEmpty && !hasEndpoints(src.slices)) {
		return
	}
	for _, ip := range svc.ClusterIPs {
		r.count(ip, serviceRef(svc), delta)
	}
}

// slice counts or takes back the names of a slice's endpoints.
func (r *reverseNames) slice(svc *model.Service, sl *model.EndpointSlice, delta int) {
	if svc == nil || svc.ExternalName != "" {
		return
	}
	for i := range sl.Endpoints.Len() {
		e := sl.Endpoints.At(i)
		r.count(e.Addr, endpointRef(sl, i, endpointRank(svc, e)), delta)
	}
}

// endpointRank is the rank of an endpoint's name among an address's candidates.
func endpointRank(svc *model.Service, e model.Endpoint) uint8 {
	switch {
	case endpointName(e) == "":
		return rankEndpoint
	case svc.Headless:
		return rankSubdomain
	default:
		return rankHostname
	}
}

// bucketOf returns the key of an address's bucket and the address's key in it.
func bucketOf(addr netip.Addr) ([16]byte, uint8) {
	b := addr.As16()
	if addr.Is4() {
		k := b[15]
		b[15] = 0
		return b, k
	}
	k := b[15] & 0x0f
	b[15] &= 0xf0
	return b, k
}

func (r *reverseNames) count(addr netip.Addr, c ptrRef, delta int) {
	key, k := bucketOf(addr)
	bk := r.buckets[key]
	if bk == nil {
		if delta < 0 {
			return
		}
		name := bucketName(addr)
		if !r.b.servesReverse(name) {
			return
		}
		bk = &ptrBucket{prefix: key, name: name, zone: index.ZoneOf(name, r.b.reverse), is4: addr.Is4()}
		r.buckets[key] = bk
	}
	if _, seen := r.touched[addr]; !seen {
		r.touched[addr] = r.hash(addr, bk.run(k))
	}
	c.key = k
	r.ops[key] = append(r.ops[key], ptrOp{ref: c, delta: delta})
}

// apply applies ops to refs in place and returns them, sorted: the refs taken back left out,
// those added merged in from the back of the grown array. A ref is taken back once per time it
// was given, and one given and taken back by the same ops is neither. Readers wait on r.mu
// meanwhile.
func (r *reverseNames) apply(refs []ptrRef, ops []ptrOp) []ptrRef {
	adds, takes := r.adds[:0], r.takes[:0]
	for _, op := range ops {
		if op.delta > 0 {
			adds = append(adds, op.ref)
		} else {
			takes = append(takes, op.ref)
		}
	}
	adds, takes = subtract(adds, takes)
	refs, _ = subtract(refs, takes)
	if len(adds) > 0 {
		n := len(refs)
		byKey := func(a, b ptrRef) int { return cmp.Or(cmp.Compare(a.key, b.key), a.compare(b)) }
		slices.SortFunc(adds, byKey)
		refs = grow(refs, len(adds))
		i, j := n-1, len(adds)-1
		for k := len(refs) - 1; j >= 0; k-- {
			if i >= 0 && byKey(refs[i], adds[j]) > 0 { // a new ref goes after the equal ones
				refs[k], i = refs[i], i-1
			} else {
				refs[k], j = adds[j], j-1
			}
		}
	}
	clear(adds)
	clear(takes)
	r.adds, r.takes = adds[:0], takes[:0]
	return refs
}

// subtract removes from list, in place and keeping its order, one element for each of remove
// that it holds, and returns what is left of list and of remove. A change brings a few refs; a
// re-list, or a snapshot replaced, takes back every ref of a bucket at once, counted in a map
// then, not looked for one by one.
func subtract(list, remove []ptrRef) ([]ptrRef, []ptrRef) {
	if len(remove) == 0 {
		return list, remove
	}
	n := 0
	if len(remove) <= 16 {
		for _, c := range list {
			if i := slices.Index(remove, c); i >= 0 {
				last := len(remove) - 1
				remove[i], remove[last] = remove[last], ptrRef{}
				remove = remove[:last]
				continue
			}
			list[n] = c
			n++
		}
	} else {
		left := make(map[ptrRef]int, len(remove))
		for _, c := range remove {
			left[c]++
		}
		for _, c := range list {
			if left[c] > 0 {
				left[c]--
				continue
			}
			list[n] = c
			n++
		}
		clear(remove)
		remove = remove[:0]
		for c, k := range left {
			for range k {
				remove = append(remove, c)
			}
		}
	}
	clear(list[n:]) // no reference kept to what went
	return list[:n], remove
}

// grow extends refs by n, with an eighth to spare when it must move them: a bucket's array lives as
// long as its addresses, and append's doubling would leave a third of every array unused (about
// 9 MiB at a million endpoints). The moves that costs are a bucket's refs, a few kilobytes.
func grow(refs []ptrRef, n int) []ptrRef {
	need := len(refs) + n
	if need <= cap(refs) {
		return refs[:need]
	}
	grown := make([]ptrRef, need, need+need/8)
	copy(grown, refs)
	return grown
}

// bounds returns where the refs of key k are in the bucket's array.
func (bk *ptrBucket) bounds(k uint8) (lo, hi int) {
	lo = sort.Search(len(bk.refs), func(i int) bool { return bk.refs[i].key >= k })
	hi = lo
	for hi < len(bk.refs) && bk.refs[hi].key == k {
		hi++
	}
	return lo, hi
}

// run returns the refs of key k, best first.
func (bk *ptrBucket) run(k uint8) []ptrRef {
	lo, hi := bk.bounds(k)
	return bk.refs[lo:hi:hi]
}

// publish settles the addresses an update touched: their zone's sum, and the markers of the
// buckets that gained their first address or lost their last. It returns the index changes.
func (r *reverseNames) publish() []index.Change {
	for key, ops := range r.ops {
		bk := r.buckets[key]
		bk.refs = r.apply(bk.refs, ops)
	}
	r.ops = scrub(r.ops)
	var changes []index.Change
	for addr, was := range r.touched {
		key, k := bucketOf(addr)
		bk := r.buckets[key]
		r.sums[bk.zone] += r.hash(addr, bk.run(k)) - was
		if len(bk.refs) > 0 && bk.marker == nil {
			bk.marker = []index.Set{{Name: bk.name, Type: index.Marker, Lazy: r.answerer(bk)}}
			changes = append(changes, index.Change{New: bk.marker})
		}
	}
	for addr := range r.touched {
		key, _ := bucketOf(addr)
		if bk := r.buckets[key]; bk != nil && len(bk.refs) == 0 {
			if bk.marker != nil {
				changes = append(changes, index.Change{Old: bk.marker})
			}
			delete(r.buckets, key)
		}
	}
	r.touched = scrub(r.touched)
	return changes
}

// answerer returns the Lazy of a bucket: the PTR of the address its label names.
func (r *reverseNames) answerer(bk *ptrBucket) func(name, label string) ([]index.Set, bool) {
	return func(name, label string) ([]index.Set, bool) {
		k, ok := labelKey(bk.is4, label)
		if !ok {
			return nil, false
		}
		r.mu.RLock()
		run := bk.run(k)
		var sets []index.Set
		if len(run) > 0 {
			sets = r.set(name, bk.addr(k), run)
		}
		r.mu.RUnlock()
		return sets, sets != nil
	}
}

// labelKey is the key named by a label below a bucket: an octet in canonical decimal (RFC 1035
// 3.5) or a nibble in lower-case hex (RFC 3596 2.5); any other label names nothing. Without an
// allocation: every PTR query asks it.
func labelKey(is4 bool, label string) (uint8, bool) {
	if !is4 {
		if len(label) != 1 {
			return 0, false
		}
		n := strings.IndexByte("0123456789abcdef", label[0])
		return uint8(n), n >= 0
	}
	if len(label) == 0 || len(label) > 3 || (len(label) > 1 && label[0] == '0') {
		return 0, false
	}
	n := 0
	for i := range len(label) {
		if label[i] < '0' || label[i] > '9' {
			return 0, false
		}
		n = n*10 + int(label[i]-'0')
	}
	return uint8(n), n <= 255
}

// addr is the address of key k in the bucket.
func (bk *ptrBucket) addr(k uint8) netip.Addr {
	b := bk.prefix
	if bk.is4 {
		return netip.AddrFrom4([4]byte{b[12], b[13], b[14], k})
	}
	b[15] |= k
	return netip.AddrFrom16(b)
}

// bucketName is the name of the /24 or /124 of addr: its reverse name without the first label.
func bucketName(addr netip.Addr) string {
	name := reverseName(addr)
	return name[strings.IndexByte(name, '.')+1:]
}

// set builds an address's PTR set from its refs: the first one (ptr one), or one record per
// distinct name in candidate order (ptr all, setAll). Every PTR query builds one, deep in the
// query's stack, so the frames are kept small (see ServeDNS).
func (r *reverseNames) set(rev string, addr netip.Addr, run []ptrRef) []index.Set {
	if r.all && len(run) > 1 {
		return r.setAll(rev, addr, run)
	}
	one := new(onePTR)
	one.ptr.Hdr = r.b.hdr(rev, dns.TypePTR)
	one.ptr.Ptr = r.target(addr, run[0])
	one.rr[0] = &one.ptr
	one.set[0] = index.Set{Name: rev, Type: dns.TypePTR, RRs: one.rr[:]}
	return one.set[:]
}

// onePTR is the set of one PTR in one allocation: the set, its record's slot and the record.
type onePTR struct {
	set [1]index.Set
	rr  [1]dns.RR
	ptr dns.PTR
}

func (r *reverseNames) setAll(rev string, addr netip.Addr, run []ptrRef) []index.Set {
	var rrs []dns.RR
	for _, c := range run {
		target := r.target(addr, c)
		if slices.ContainsFunc(rrs, func(rr dns.RR) bool { return rr.(*dns.PTR).Ptr == target }) {
			continue
		}
		rrs = append(rrs, &dns.PTR{Hdr: r.b.hdr(rev, dns.TypePTR), Ptr: target})
	}
	return []index.Set{{Name: rev, Type: dns.TypePTR, RRs: rrs}}
}

// maxDashedLen is the longest dashed address: IPv6's eight groups of four hex digits.
const maxDashedLen = 8*4 + 7

// target is the name a ref points the address at, in the first zone (spec 2.4.3, 2.5.5), built
// in one allocation (it is built for every PTR query) and without a buffer on the stack.
func (r *reverseNames) target(addr netip.Addr, c ptrRef) string {
	ns, svc, label := c.names()
	zone := r.b.zones[0]
	n := len(svc) + 1 + len(ns) + len(".svc.") + len(zone)
	switch c.rank {
	case rankClusterIP:
	case rankEndpoint:
		n += maxDashedLen + 1
	default:
		n += len(label) + 1
	}
	b := make([]byte, 0, n)
	switch c.rank {
	case rankClusterIP:
	case rankEndpoint:
		b = append(appendDashed(b, addr), '.')
	default:
		b = append(append(b, label...), '.')
	}
	b = append(append(append(append(append(b, svc...), '.'), ns...), ".svc."...), zone...)
	// b is never written again: the string may share its bytes.
	return unsafe.String(unsafe.SliceData(b), len(b))
}

// hash is the hash of what an address answers, 0 for nothing: the zone's content sum adds it, so
// that the SOA serial moves exactly when a PTR does (serial.go). No seed: replicas must agree.
func (r *reverseNames) hash(addr netip.Addr, run []ptrRef) uint64 {
	var sum uint64
	for i, c := range run {
		if i > 0 && !r.all {
			break
		}
		if i > 0 && c.compare(run[i-1]) == 0 {
			continue // the same name again
		}
		b := addr.As16()
		ns, svc, label := c.names()
		sum += index.NewHash().Bytes(b[:]).Uint(uint64(c.rank)<<32 | uint64(r.b.ttl)).
			String(ns).String(svc).String(label).Sum()
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
	for _, bk := range r.buckets {
		if bk.zone != zone {
			continue
		}
		for lo := 0; lo < len(bk.refs); {
			k := bk.refs[lo].key
			run := bk.run(k)
			addr := bk.addr(k)
			out = append(out, r.set(reverseName(addr), addr, run)[0].RRs...)
			lo += len(run)
		}
	}
	return out
}

// release drops every address's names (store.release), under the lock the queries take.
func (r *reverseNames) release() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.buckets, r.sums = map[[16]byte]*ptrBucket{}, map[string]uint64{}
	r.touched, r.ops = map[netip.Addr]uint64{}, map[[16]byte][]ptrOp{}
}
