package clusterdns

import (
	"net/netip"
	"sync"
)

// podAddrs is the set of pod addresses of one namespace ("pods verified"). Pod names are answered
// from it on demand rather than precomputed: they are asked rarely and there can be many pods.
// Several pods may share an address (one finishing while another starts), hence the counts.
type podAddrs struct {
	mu sync.RWMutex
	n  map[netip.Addr]int
}

func (p *podAddrs) has(ip netip.Addr) bool {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.n[ip] > 0
}

// swap removes one reference to each address of old and adds one for each of new.
func (p *podAddrs) swap(old, new []netip.Addr) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.n == nil {
		p.n = map[netip.Addr]int{}
	}
	for _, ip := range old {
		if p.n[ip]--; p.n[ip] <= 0 {
			delete(p.n, ip)
		}
	}
	for _, ip := range new {
		p.n[ip]++
	}
}
