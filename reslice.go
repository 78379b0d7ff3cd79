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
	type id struct {
		addr netip.Addr
		name string
	}
	at := make(map[id]int, sl.Endpoints.Len())
	for j := range sl.Endpoints.Len() {
		e := sl.Endpoints.At(j)
		at[id{e.Addr, endpointName(e)}] = j
	}
	kept := make([]bool, sl.Endpoints.Len())
	for i := range old.Endpoints.Len() {
		e := old.Endpoints.At(i)
		rank := endpointRank(svc, e)
		was := endpointRef(old, i, rank)
		if j, ok := at[id{e.Addr, endpointName(e)}]; ok && !kept[j] {
			kept[j] = true
			if now := endpointRef(sl, j, rank); !r.rebind(e.Addr, was, now) {
				r.count(e.Addr, now, 1)
			}
			continue
		}
		r.count(e.Addr, was, -1)
	}
	for j := range sl.Endpoints.Len() {
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
