package clusterdns

import (
	"github.com/clusterdns/clusterdns/internal/index"
	"github.com/clusterdns/clusterdns/internal/model"
)

// release empties the store when its instance shuts down (OnShutdown), so that whatever still
// references the old handler after a reload of the Corefile keeps a shell, not a copy of the data.
//
// What references it: each miekg/dns Server has a sync.Pool field (its UDP buffers), and a pool in
// use is listed in the runtime's global list of pools, which each GC moves to a list of old pools
// and the next GC drops. That interior pointer keeps the old dns.Server alive until the second GC
// after its last query, and with it its Handler: CoreDNS's dnsserver.Server, its zones' Config, the
// plugin chain and this plugin. An idle server may run a GC only every two minutes (the runtime's
// forced period), so the old data stayed for up to two of them beside the new instance's copy.
//
// Queries of the old server may still run (its shutdown waits only for CoreDNS's grace timeout),
// so nothing is set to nil: each part is emptied under the lock its readers take, and a query
// then finds no name.
func (s *store) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ix.Release()
	s.ptrs.release()
	if s.clients != nil {
		s.clients.replace(nil)
	}
	s.services, s.nServices = map[objKey]serviceEntry{}, 0
	s.slices = map[objKey]*model.EndpointSlice{}
	s.nsObjects, s.nsServices, s.nsShown = map[string]bool{}, map[string]int{}, map[string][]index.Set{}
	s.build = setBuilder{}
	s.pending = nil
}
