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

// zoneSerial is the serial a zone's SOA carries, the content it was derived from, and the SOA's
// set in the index; a zone has one once a serial was derived.
type zoneSerial struct {
	content uint64
	serial  uint32
	soa     []index.Set
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

// publishApex republishes the SOA of every zone whose content changed, with its new serial, and
// tells onSerial. Under s.mu.
func (s *store) publishApex() {
	var soas map[string][]dns.RR
	for _, z := range s.b.allZones() {
		last, served := s.serials[z]
		if !served {
			// The apex's other records (NS, its addresses, dns-version) never change: published
			// once, apart from the SOA, so that a change swaps one record in, not the apex.
			last.soa = s.publishApexOnce(z)
		}
		content := s.ix.Content(z) + s.ptrs.sum(z) // PTRs are built when asked, not indexed
		if served && last.content == content {
			continue
		}
		serial := nextSerial(last.serial, content, served && s.grow)
		soa := *last.soa[0].RRs[0].(*dns.SOA)
		soa.Serial = serial
		sets := []index.Set{{Name: z, Type: dns.TypeSOA, RRs: []dns.RR{&soa}}}
		s.ix.Swap(last.soa, sets)
		s.serials[z] = zoneSerial{content: content, serial: serial, soa: sets}
		if soas == nil {
			soas = make(map[string][]dns.RR, len(s.serials))
			if old := s.soas.Load(); old != nil {
				for z, rr := range *old {
					soas[z] = rr
				}
			}
		}
		soas[z] = s.b.negativeSOA(&soa)
		if served && s.grow && s.onSerial != nil {
			s.onSerial(z)
		}
	}
	if soas != nil {
		s.soas.Store(&soas)
	}
}

// publishApexOnce publishes a zone's apex but its SOA, and returns the SOA's set as published
// (serial 0) for publishApex to take back.
func (s *store) publishApexOnce(zone string) []index.Set {
	var rest, soa []index.Set
	for _, set := range s.b.apex(zone, 0, s.nsAddrs) {
		if set.Type == dns.TypeSOA {
			soa = []index.Set{set}
		} else {
			rest = append(rest, set)
		}
	}
	s.ix.SwapAll(index.Change{New: rest}, index.Change{New: soa})
	return soa
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

// zone returns a zone's names, its PTR records (a reverse zone's) and its SOA record, from one
// state of the data (transfer.go).
func (s *store) zone(zone string) ([]index.Named, []dns.RR, []dns.RR) {
	s.mu.Lock()
	defer s.mu.Unlock()
	names := s.ix.Zone(zone)
	ptrs := s.ptrs.records(zone)
	soa := s.serials[zone].soa
	if soa == nil {
		return names, ptrs, nil
	}
	return names, ptrs, soa[0].RRs
}
