package clusterdns

import (
	"net/netip"
	"slices"

	"github.com/clusterdns/clusterdns/internal/model"
)

// reslice moves the refs of a slice to its new version, of the same service and kind. An endpoint
// with the same address and name in both keeps its ref, pointed at the new version in place: its
// rank, its place among the address's refs and the address's answer stay as they were. Only the
// others are taken back or counted. A rolling update changes one endpoint of a slice of a hundred
// at a time, and the change then costs that endpoint, not the hundred refs sorted and hashed again.
func (r *reverseNames) reslice(svc *model.Service, old, sl *model.EndpointSlice) {
	if svc == nil || svc.ExternalName != "" {
		return
	}
	prefix, suffix := matchingEnds(old.Endpoints, sl.Endpoints)
	keep := func(i, j int) {
		e := old.Endpoints.At(i)
		rank := endpointRank(svc, e)
		if now := endpointRef(sl, j, rank); !r.rebind(e.Addr, endpointRef(old, i, rank), now) {
			r.count(e.Addr, now, 1)
		}
	}
	for i := range prefix {
		keep(i, i)
	}
	for k := range suffix {
		keep(old.Endpoints.Len()-1-k, sl.Endpoints.Len()-1-k)
	}
	// Between the two runs, endpoints are matched by key.
	type id struct {
		addr netip.Addr
		name string
	}
	oldEnd, end := old.Endpoints.Len()-suffix, sl.Endpoints.Len()-suffix
	at := make(map[id]int, end-prefix)
	for j := prefix; j < end; j++ {
		e := sl.Endpoints.At(j)
		at[id{e.Addr, endpointName(e)}] = j
	}
	kept := make([]bool, end)
	for i := prefix; i < oldEnd; i++ {
		e := old.Endpoints.At(i)
		if j, ok := at[id{e.Addr, endpointName(e)}]; ok && !kept[j] {
			kept[j] = true
			keep(i, j)
			continue
		}
		r.count(e.Addr, endpointRef(old, i, endpointRank(svc, e)), -1)
	}
	for j := prefix; j < end; j++ {
		if !kept[j] {
			e := sl.Endpoints.At(j)
			r.count(e.Addr, endpointRef(sl, j, endpointRank(svc, e)), 1)
		}
	}
}

// rebind points an address's ref at another object that gives the same name, where it stands, and
// reports whether the ref was there (not when the address is outside the reverse zones served).
func (r *reverseNames) rebind(addr netip.Addr, from, to ptrRef) bool {
	key, k := bucketOf(addr)
	bk := r.buckets[key]
	if bk == nil {
		return false
	}
	from.key, to.key = k, k
	run := bk.run(k)
	i := slices.Index(run, from)
	if i < 0 {
		return false
	}
	run[i] = to
	return true
}
