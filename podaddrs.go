package clusterdns

import (
	"hash/maphash"
	"maps"
	"net/netip"
	"slices"
	"strconv"
	"sync"

	"github.com/clusterdns/clusterdns/internal/model"
)

// podAddrs holds the pods of one namespace for "pods verified": the set of their addresses, which
// pod names are answered from on demand (they are asked rarely and there can be many pods), and
// each pod's addresses, to take back when the pod changes or goes. A cluster can have hundreds of
// thousands of pods, so nothing here holds a pointer or a string: a pod is known by a 64-bit hash
// of its name and its addresses are bytes, in maps of one family each (most pods have only an
// IPv4 address), which costs about 50 bytes a pod and nothing for the garbage collector to scan.
// Several pods may share an address (one finishing while another starts on it), hence the counts.
// Two pods of a namespace with n pods share a hash with a probability of about n²/2⁶⁵ (10⁻¹¹ for
// 10,000 pods); if they did, one of them would lose its name until it next changed.
type podAddrs struct {
	seed *maphash.Seed // the store's

	mu    sync.RWMutex
	pods4 map[uint64][4]byte // by pod: its IPv4 address (core/v1 PodStatus: one per family)
	pods6 map[uint64][16]byte
	v4    map[[4]byte]uint32 // by address: how many pods have it
	v6    map[[16]byte]uint32
}

func newPodAddrs(seed *maphash.Seed) *podAddrs {
	return &podAddrs{
		seed:  seed,
		pods4: map[uint64][4]byte{}, pods6: map[uint64][16]byte{},
		v4: map[[4]byte]uint32{}, v6: map[[16]byte]uint32{},
	}
}

func (p *podAddrs) has(ip netip.Addr) bool {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if ip.Is4() {
		return p.v4[ip.As4()] > 0
	}
	return p.v6[ip.As16()] > 0
}

// set records the pod's addresses, the first of each family, taking back those it had, and
// reports whether it is a new pod.
func (p *podAddrs) set(name string, addrs []netip.Addr) bool {
	id := maphash.String(*p.seed, name)
	p.mu.Lock()
	defer p.mu.Unlock()
	had := p.release(id)
	for _, a := range addrs {
		if a.Is4() {
			if _, dup := p.pods4[id]; !dup {
				p.pods4[id] = a.As4()
				p.v4[a.As4()]++
			}
		} else if _, dup := p.pods6[id]; !dup {
			p.pods6[id] = a.As16()
			p.v6[a.As16()]++
		}
	}
	return !had
}

// remove forgets a pod and reports whether it was held.
func (p *podAddrs) remove(name string) bool {
	id := maphash.String(*p.seed, name)
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.release(id)
}

// retain forgets every pod whose name is not in names, and returns how many it forgot.
func (p *podAddrs) retain(names []string) int {
	keep := make(map[uint64]struct{}, len(names))
	for _, n := range names {
		keep[maphash.String(*p.seed, n)] = struct{}{}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	forgot := 0
	for id := range p.pods4 {
		if _, ok := keep[id]; !ok && p.release(id) {
			forgot++
		}
	}
	for id := range p.pods6 { // those of both families are gone already
		if _, ok := keep[id]; !ok && p.release(id) {
			forgot++
		}
	}
	return forgot
}

// clear forgets every pod.
func (p *podAddrs) clear() {
	p.mu.Lock()
	defer p.mu.Unlock()
	clear(p.pods4)
	clear(p.pods6)
	clear(p.v4)
	clear(p.v6)
}

// release forgets pod id and one reference to each of its addresses; the caller holds mu.
func (p *podAddrs) release(id uint64) bool {
	a4, had4 := p.pods4[id]
	if had4 {
		delete(p.pods4, id)
		unref(p.v4, a4)
	}
	a6, had6 := p.pods6[id]
	if had6 {
		delete(p.pods6, id)
		unref(p.v6, a6)
	}
	return had4 || had6
}

func unref[K comparable](m map[K]uint32, k K) {
	if m[k] <= 1 {
		delete(m, k)
	} else {
		m[k]--
	}
}

// pods returns the pods, each with its addresses and a name made from its hash: the names are not
// kept, and a pod's own name only matters until the next list, which replaces them.
func (p *podAddrs) pods(namespace string) []*model.Pod {
	p.mu.RLock()
	defer p.mu.RUnlock()
	byID := map[uint64]*model.Pod{}
	pod := func(id uint64) *model.Pod {
		if byID[id] == nil {
			byID[id] = &model.Pod{Namespace: namespace, Name: "\x00" + strconv.FormatUint(id, 16)}
		}
		return byID[id]
	}
	for id, a := range p.pods4 {
		pod(id).IPs = append(pod(id).IPs, netip.AddrFrom4(a))
	}
	for id, a := range p.pods6 {
		pod(id).IPs = append(pod(id).IPs, netip.AddrFrom16(a))
	}
	return slices.Collect(maps.Values(byID))
}
