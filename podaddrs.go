package clusterdns

import (
	"net/netip"
	"sync"
)

// podAddrs is the set of pod addresses of one namespace ("pods verified"). Pod names are answered
// from it on demand rather than precomputed: they are asked rarely and there can be many pods.
// Several pods may share an address (one finishing while another starts), hence the counts.
// Addresses are map keys of their own size, without netip.Addr's zone pointer: a cluster can have
// hundreds of thousands of pods.
type podAddrs struct {
	mu sync.RWMutex
	v4 map[[4]byte]uint32
	v6 map[[16]byte]uint32
}

func (p *podAddrs) has(ip netip.Addr) bool {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if ip.Is4() {
		return p.v4[ip.As4()] > 0
	}
	return p.v6[ip.As16()] > 0
}

// swap removes one reference to each address of old and adds one for each of new.
func (p *podAddrs) swap(old, new []netip.Addr) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.v4 == nil {
		p.v4, p.v6 = map[[4]byte]uint32{}, map[[16]byte]uint32{}
	}
	for _, ip := range old {
		if ip.Is4() {
			release(p.v4, ip.As4())
		} else {
			release(p.v6, ip.As16())
		}
	}
	for _, ip := range new {
		if ip.Is4() {
			p.v4[ip.As4()]++
		} else {
			p.v6[ip.As16()]++
		}
	}
}

func release[K comparable](m map[K]uint32, k K) {
	if m[k] <= 1 {
		delete(m, k)
	} else {
		m[k]--
	}
}
