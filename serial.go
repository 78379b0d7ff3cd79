package clusterdns

import (
	"github.com/clusterdns/clusterdns/internal/index"

	"github.com/miekg/dns"
)

// The SOA serial of a zone is derived from the zone's content (index.Content), not from a clock,
// so that replicas over the same data answer the same serial (the kubernetes plugin's serial is
// each replica's clock, so no two replicas agree) and it changes exactly when the records a
// transfer carries do.
//
// A secondary transfers the zone only when the serial grows in serial number arithmetic
// (RFC 1982; RFC 1996 4.7, RFC 5936 2.2), and a hash does not grow. So once the source has synced,
// a changed content's serial is the hash folded to 32 bits when that is greater than the last one
// served, and otherwise the last one plus 1 plus 16 bits of the hash: never lower, and still the
// same on replicas that served the same sequence of contents. Before that, and after a restart,
// it is the plain fold, as nothing served is known: two replicas started over the same data agree
// at once, and a replica that restarted agrees again with the others once a change has taken the
// plain fold on both (about half of the changes). The trade-off is stated in README.md.

// zoneSerial is the serial a zone's SOA carries and the content it was derived from.
type zoneSerial struct {
	content uint64
	serial  uint32
}

// nextSerial returns the serial of content after last; grow is false until the history of
// served serials starts (the first sync).
func nextSerial(last uint32, content uint64, grow bool) uint32 {
	fold := uint32(content) ^ uint32(content>>32)
	if !grow {
		return fold
	}
	if serialLess(last, fold) {
		return fold
	}
	return last + 1 + fold&0xffff
}

// publishApex (re)writes the apex of every zone whose content changed, with its new serial, and
// tells onSerial. Under s.mu.
func (s *store) publishApex() {
	soas := map[string][]dns.RR{}
	if old := s.soas.Load(); old != nil {
		for z, rr := range *old {
			soas[z] = rr
		}
	}
	moved := false
	for _, z := range s.b.allZones() {
		if s.apex[z] == nil {
			// The apex's own records (NS, glue, version) are content too; they never change.
			s.swapApex(z, 0)
		}
		content := s.ix.Content(z)
		last, ok := s.serials[z]
		if ok && last.content == content {
			continue
		}
		serial := nextSerial(last.serial, content, ok && s.grow)
		s.serials[z] = zoneSerial{content: content, serial: serial}
		soas[z] = s.swapApex(z, serial)
		moved = true
		if ok && s.grow && s.onSerial != nil {
			s.onSerial(z)
		}
	}
	if moved {
		s.soas.Store(&soas)
	}
}

// swapApex publishes a zone's apex with serial and returns its SOA record.
func (s *store) swapApex(zone string, serial uint32) []dns.RR {
	sets := s.b.apex(zone, serial, s.nsAddrs)
	s.ix.Swap(s.apex[zone], sets)
	s.apex[zone] = sets
	if soa, ok := index.Find(sets, dns.TypeSOA); ok {
		return soa.Answer()
	}
	return nil
}

// serialsSynced starts the history of served serials (the source has delivered a complete data
// set) and tells onSerial of every zone, so that secondaries check the zones now.
func (s *store) serialsSynced() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.grow = true
	if s.onSerial == nil {
		return
	}
	for _, z := range s.b.allZones() {
		s.onSerial(z)
	}
}

// zone returns a zone's names and its SOA record, from one state of the data (transfer.go).
func (s *store) zone(zone string) ([]index.Named, []dns.RR) {
	s.mu.Lock()
	defer s.mu.Unlock()
	names, _ := s.ix.Zone(zone)
	return names, s.soa(zone)
}
