package clusterdns

import (
	"hash/maphash"
	"net/netip"
	"sync"
)

// podAddrs holds the pods of one namespace for "pods verified": the set of their addresses, which
// pod names are answered from on demand (they are asked rarely and there can be many pods), and
// each pod's addresses, to take back when the pod changes or goes. A cluster can have hundreds of
// thousands of pods, so nothing here holds a pointer or a string: a pod is known by a 128-bit hash
// of its name and its addresses are bytes, which costs about 60 bytes a pod and nothing for the
// garbage collector to scan. Several pods may share an address (one finishing while another starts
// on it), hence the counts.
type podAddrs struct {
	seeds *[2]maphash.Seed // the store's: one pod name hashes alike in every namespace

	mu   sync.RWMutex
	pods map[podID]podIPs
	v4   map[[4]byte]uint32
	v6   map[[16]byte]uint32
}

// podID is a pod's name hashed with two seeds. Two pods of one namespace collide with a
// probability of about n²/2¹²⁹: never, in practice.
type podID [2]uint64

// podIPs are a pod's addresses: at most one per family (the API allows no more, core/v1 PodStatus
// podIPs).
type podIPs struct {
	v4   [4]byte
	v6   [16]byte
	fams uint8 // has4 | has6
}

const (
	has4 uint8 = 1 << iota
	has6
)

func newPodAddrs(seeds *[2]maphash.Seed) *podAddrs {
	return &podAddrs{seeds: seeds, pods: map[podID]podIPs{}, v4: map[[4]byte]uint32{}, v6: map[[16]byte]uint32{}}
}

func (p *podAddrs) id(name string) podID {
	return podID{maphash.String(p.seeds[0], name), maphash.String(p.seeds[1], name)}
}

// ipsOf packs a pod's addresses, keeping the first of each family.
func ipsOf(addrs []netip.Addr) podIPs {
	var ips podIPs
	for _, a := range addrs {
		switch {
		case a.Is4() && ips.fams&has4 == 0:
			ips.v4, ips.fams = a.As4(), ips.fams|has4
		case a.Is6() && ips.fams&has6 == 0:
			ips.v6, ips.fams = a.As16(), ips.fams|has6
		}
	}
	return ips
}

func (p *podAddrs) has(ip netip.Addr) bool {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if ip.Is4() {
		return p.v4[ip.As4()] > 0
	}
	return p.v6[ip.As16()] > 0
}

// set records the pod's addresses, taking back those it had, and reports whether it is a new pod.
func (p *podAddrs) set(name string, addrs []netip.Addr) bool {
	id, ips := p.id(name), ipsOf(addrs)
	p.mu.Lock()
	defer p.mu.Unlock()
	had := p.release(id)
	p.pods[id] = ips
	if ips.fams&has4 != 0 {
		p.v4[ips.v4]++
	}
	if ips.fams&has6 != 0 {
		p.v6[ips.v6]++
	}
	return !had
}

// remove forgets a pod and reports whether it was held.
func (p *podAddrs) remove(name string) bool {
	id := p.id(name)
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.release(id)
}

// retain forgets every pod whose name is not in names, and returns how many it forgot.
func (p *podAddrs) retain(names []string) int {
	keep := make(map[podID]struct{}, len(names))
	for _, n := range names {
		keep[p.id(n)] = struct{}{}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	forgot := 0
	for id := range p.pods {
		if _, ok := keep[id]; !ok {
			p.release(id)
			forgot++
		}
	}
	return forgot
}

// clear forgets every pod.
func (p *podAddrs) clear() {
	p.mu.Lock()
	defer p.mu.Unlock()
	clear(p.pods)
	clear(p.v4)
	clear(p.v6)
}

// release forgets pod id and one reference to each of its addresses; the caller holds mu.
func (p *podAddrs) release(id podID) bool {
	ips, ok := p.pods[id]
	if !ok {
		return false
	}
	delete(p.pods, id)
	if ips.fams&has4 != 0 {
		unref(p.v4, ips.v4)
	}
	if ips.fams&has6 != 0 {
		unref(p.v6, ips.v6)
	}
	return true
}

func unref[K comparable](m map[K]uint32, k K) {
	if m[k] <= 1 {
		delete(m, k)
	} else {
		m[k]--
	}
}
