package clusterdns

import (
	"slices"
	"strings"

	"github.com/clusterdns/clusterdns/internal/index"
	"github.com/clusterdns/clusterdns/internal/model"

	"github.com/miekg/dns"
)

// serviceEntry is a service (nil while only its slices are known), its slices sorted by name, and
// what it gave the index, to take back at its next change: its own records and, for a headless
// service, each slice's, so that a change to one slice rebuilds that slice's records only.
type serviceEntry struct {
	svc *model.Service
	// slices is never modified, since answers built on demand keep it: a change makes a new one.
	slices []*model.EndpointSlice
	own    []index.Set
	parts  [][]index.Set // each slice's records, beside slices; nil unless headless
	keys   *endpointKeys // the endpoints' keys of a headless service with several slices
	// ptrFrom is what its PTR candidates (reverseNames) were last derived from.
	ptrFrom ptrSource
}

// taken are the changes that take back everything the entry gave the index.
func (e *serviceEntry) taken() []index.Change {
	out := make([]index.Change, 0, 1+len(e.parts))
	out = append(out, index.Change{Old: e.own})
	for _, p := range e.parts {
		out = append(out, index.Change{Old: p})
	}
	return out
}

// rebuildService replaces every record of the service at key from its current objects, taking
// back also gone (the records of a slice it lost), and forgets an entry left with neither service
// nor slices.
func (s *store) rebuildService(key objKey, gone ...[]index.Set) {
	if s.deferred(key, gone...) {
		return
	}
	e := s.services[key]
	changes := e.taken()
	for _, p := range gone {
		changes = append(changes, index.Change{Old: p})
	}
	e.own, e.parts, e.keys = nil, nil, nil
	if e.svc != nil && s.exposed(key.namespace) {
		e.own = s.b.service(&s.build, e.svc, e.slices, s.opts.ignoreEmpty)
		if e.svc.Headless {
			e.parts = make([][]index.Set, len(e.slices))
			if len(e.slices) > 1 {
				e.keys = newEndpointKeys(e.slices)
			}
			s.build.claims.reset(e.keys) // the first slice by name claims what several hold
			for i, sl := range e.slices {
				e.parts[i] = s.b.headlessSlice(&s.build, e.svc, sl)
			}
			weighSRV(e.parts, nil, nil, e.keys)
		}
	}
	changes = append(changes, index.Change{New: e.own})
	for _, p := range e.parts {
		changes = append(changes, index.Change{New: p})
	}
	s.ix.SwapAll(changes...)
	s.syncPTRs(key, &e)
	if e.svc == nil && len(e.slices) == 0 {
		delete(s.services, key)
		return
	}
	s.services[key] = e
}

// syncPTRs moves the PTR candidates of the service at key to its current objects: only the
// slices that changed since the last sync are counted again.
func (s *store) syncPTRs(key objKey, e *serviceEntry) {
	var to ptrSource
	if e.svc != nil && s.exposed(key.namespace) {
		to = ptrSource{svc: e.svc, slices: e.slices}
	}
	if changes := s.ptrs.update(e.ptrFrom, to, s.opts.ignoreEmpty); len(changes) > 0 {
		s.ix.SwapAll(changes...)
	}
	e.ptrFrom = to
}

// rebuildOwn replaces the service's own records only: its slices' records stay.
func (s *store) rebuildOwn(key objKey) {
	if s.deferred(key) {
		return
	}
	e := s.services[key]
	own := s.b.service(&s.build, e.svc, e.slices, s.opts.ignoreEmpty)
	s.ix.Swap(e.own, own)
	e.own = own
	s.syncPTRs(key, &e)
	s.services[key] = e
}

// ownChanged rebuilds the service's own records after its list of slices changed, taking back gone
// (the records of a slice it lost), and forgets an entry left with neither service nor slices.
func (s *store) ownChanged(key objKey, gone []index.Set) {
	e := s.services[key]
	if e.svc == nil || len(gone) > 0 {
		s.rebuildService(key, gone)
		return
	}
	s.rebuildOwn(key)
}

// sliceChanged follows a new version of the i-th slice of the service at key (old is the one
// before, nil for a slice new to the service): the records of that slice alone when it can, else
// the whole service's.
func (s *store) sliceChanged(key objKey, i int, old *model.EndpointSlice) {
	if s.deferred(key) {
		return
	}
	e := s.services[key]
	if e.svc == nil || !e.svc.Headless || e.parts == nil || !s.rebuildSlice(key, i, old) {
		// A ClusterIP service's own records are all it has: they cost the same whatever its size.
		s.rebuildService(key)
	}
}

// rebuildSlice rebuilds the records of the i-th slice of a headless service (old is its version
// before, nil for a new slice), and of the IPv6 slices whose SRV records an IPv4 endpoint name
// coming or going moves (see claims), with the service's own. It reports false, having published
// nothing, when the change moves a claim otherwise (an address or name that another slice holds
// too) or the weight of SRV records it does not rebuild, and for a service's second slice: the
// caller then rebuilds the whole service.
func (s *store) rebuildSlice(key objKey, i int, old *model.EndpointSlice) bool {
	e := s.services[key]
	sl := e.slices[i]
	rebuilt := []int{i}
	if e.keys == nil && len(e.slices) > 1 {
		return false // a second slice: the whole build counts the keys
	}
	if e.keys != nil {
		if old == nil {
			e.keys.add(sl, 1)
		} else if !e.keys.replace(old, sl) {
			return false
		}
		// An endpoint kept from old holds a shared key exactly when it did before the change.
		if e.keys.shared(sl) {
			return false
		}
		var moved map[string]bool
		if len(e.keys.names[1]) > 0 {
			moved = movedIPv4Names(old, sl)
		}
		for j, other := range e.slices {
			if j != i && len(moved) > 0 && holdsIPv6Name(other, moved) {
				if e.keys.shared(other) {
					return false
				}
				rebuilt = append(rebuilt, j)
			}
		}
	}
	parts := slices.Clone(e.parts)
	for _, j := range rebuilt {
		s.build.claims.reset(e.keys) // no other slice holds what these hold
		parts[j] = s.b.headlessSlice(&s.build, e.svc, e.slices[j])
	}
	if !weighSRV(parts, e.parts, rebuilt, e.keys) {
		return false
	}
	own := s.b.service(&s.build, e.svc, e.slices, s.opts.ignoreEmpty)
	changes := []index.Change{{Old: e.own, New: own}}
	for _, j := range rebuilt {
		changes = append(changes, index.Change{Old: e.parts[j], New: parts[j]})
	}
	s.ix.SwapAll(changes...)
	e.own, e.parts = own, parts
	s.syncPTRs(key, &e)
	s.services[key] = e
	return true
}

// movedIPv4Names are the names of IPv4 endpoints that one of old (nil for none) and sl has and the
// other has not.
func movedIPv4Names(old, sl *model.EndpointSlice) map[string]bool {
	var moved map[string]bool
	toggle := func(list model.Endpoints) {
		for i := range list.Len() {
			e := list.At(i)
			if label := endpointName(e); label != "" && e.Addr.Is4() {
				if moved == nil {
					moved = map[string]bool{}
				}
				if moved[label] {
					delete(moved, label)
				} else {
					moved[label] = true
				}
			}
		}
	}
	if old != nil {
		toggle(old.Endpoints)
	}
	toggle(sl.Endpoints)
	return moved
}

// holdsIPv6Name tells whether an IPv6 endpoint of sl has one of the names.
func holdsIPv6Name(sl *model.EndpointSlice, names map[string]bool) bool {
	for i := range sl.Endpoints.Len() {
		if e := sl.Endpoints.At(i); e.Addr.Is6() && names[endpointName(e)] {
			return true
		}
	}
	return false
}

// weighSRV gives the SRV records of the rebuilt parts (every part when rebuilt is nil) an equal
// share of 100 among all the SRV records at their name across parts (RFC 2782: equal weights,
// equal chance), as the kubernetes plugin does. before are the parts before the rebuild; keys, nil
// for a service of one slice, keep the SRV records at each name across its parts, so that a
// rebuild looks at the rebuilt parts only. It reports false, changing nothing, when a record it
// did not rebuild would need another weight.
func weighSRV(parts, before [][]index.Set, rebuilt []int, keys *endpointKeys) bool {
	full := rebuilt == nil
	if full {
		rebuilt = make([]int, len(parts))
		for i := range rebuilt {
			rebuilt[i] = i
		}
	}
	total := map[string]int{} // SRV records after the change, by name, of every name it touches
	for _, j := range rebuilt {
		for _, set := range parts[j] {
			if set.Type == dns.TypeSRV {
				total[set.Name] = 0
			}
		}
		if before != nil {
			for _, set := range before[j] {
				if set.Type == dns.TypeSRV {
					total[set.Name] = 0
				}
			}
		}
	}
	for name := range total {
		var now, was int
		for _, j := range rebuilt {
			now += srvCount(parts[j], name)
			if before != nil {
				was += srvCount(before[j], name)
			}
		}
		kept := 0 // in the parts not rebuilt
		if !full && keys != nil {
			kept = int(keys.srv[name]) - was
		}
		if kept > 0 && srvWeight(kept+was) != srvWeight(kept+now) {
			return false
		}
		total[name] = kept + now
	}
	for _, j := range rebuilt {
		for _, set := range parts[j] {
			if set.Type != dns.TypeSRV {
				continue
			}
			w := srvWeight(total[set.Name])
			for _, rr := range set.Answer() {
				rr.(*dns.SRV).Weight = w
			}
		}
	}
	if keys != nil {
		if full {
			keys.srv = map[string]uint32{}
		}
		for name, n := range total {
			count(keys.srv, name, n-int(keys.srv[name]))
		}
	}
	return true
}

// srvCount is the number of SRV answers at name among sets, sorted by name.
func srvCount(sets []index.Set, name string) int {
	i, _ := slices.BinarySearchFunc(sets, name, func(s index.Set, name string) int { return strings.Compare(s.Name, name) })
	for ; i < len(sets) && sets[i].Name == name; i++ {
		if sets[i].Type == dns.TypeSRV {
			return len(sets[i].Answer())
		}
	}
	return 0
}

// withSlice returns list with sl in place of the slice of the same name, kept sorted by name so
// that the same objects always give the same record order, parts beside it, and sl's place. A
// slice it replaces keeps its records in parts, to be taken back. Neither list is modified: the
// records built from a list keep it.
func withSlice(list []*model.EndpointSlice, parts [][]index.Set, sl *model.EndpointSlice) ([]*model.EndpointSlice, [][]index.Set, int) {
	i, found := slices.BinarySearchFunc(list, sl.Name, func(e *model.EndpointSlice, name string) int {
		return strings.Compare(e.Name, name)
	})
	if found {
		out := slices.Clone(list)
		out[i] = sl
		return out, parts, i
	}
	out := slices.Insert(slices.Clone(list), i, sl)
	if parts != nil {
		parts = slices.Insert(slices.Clone(parts), i, nil)
	}
	return out, parts, i
}

// withoutSlice returns list and parts without the slice of that name, and the records it gave.
func withoutSlice(list []*model.EndpointSlice, parts [][]index.Set, name string) ([]*model.EndpointSlice, [][]index.Set, []index.Set) {
	i := slices.IndexFunc(list, func(e *model.EndpointSlice) bool { return e.Name == name })
	if i < 0 {
		return list, parts, nil
	}
	var gone []index.Set
	if parts != nil {
		gone = parts[i]
		parts = slices.Delete(slices.Clone(parts), i, i+1)
	}
	return slices.Delete(slices.Clone(list), i, i+1), parts, gone
}
