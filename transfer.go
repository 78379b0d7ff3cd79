package clusterdns

import (
	"errors"
	"slices"

	"github.com/clusterdns/clusterdns/internal/index"

	"github.com/coredns/coredns/plugin/transfer"
	"github.com/miekg/dns"
)

// errNotSynced refuses a transfer before the first complete data set: the zone would be partial,
// and a secondary serves what it transferred for as long as the SOA's EXPIRE.
var errNotSynced = errors.New("zone transfer refused: the data has not synced yet")

// Transfer implements the transfer plugin's Transferer, so that `transfer { to ... }` in the server
// block serves AXFR, and IXFR as AXFR, of each zone (RFC 5936, RFC 1995 4).
//
// A forward zone carries the apex SOA, first and last, its NS, the NS name's addresses, and every
// precomputed record: services, endpoints, SRV, ExternalName CNAMEs, dns-version. A reverse zone
// carries its SOA, NS and PTRs. Names built on demand are left out, as the kubernetes plugin leaves
// them out: pods, the names of the endpoints of ClusterIP services and the SRV at a service's own
// name; the serial covers exactly what is carried.
func (cd *ClusterDNS) Transfer(zone string, serial uint32) (<-chan []dns.RR, error) {
	if !slices.Contains(cd.zones, zone) {
		return nil, transfer.ErrNotAuthoritative
	}
	if !cd.synced.Load() {
		return nil, errNotSynced
	}
	names, soa := cd.store.zone(zone) // one state of the data: the SOA's serial is its content's
	ch := make(chan []dns.RR)
	go func() {
		defer close(ch)
		ch <- soa
		if serial != 0 && len(soa) == 1 && !serialLess(serial, soa[0].(*dns.SOA).Serial) {
			// An IXFR from a secondary as new as this zone: the SOA alone says so (RFC 1995 2). The
			// transfer plugin answers a lone SOA as such; any other IXFR gets the whole zone.
			return
		}
		for _, n := range names {
			for i := range n.Sets {
				s := &n.Sets[i]
				if s.Type == index.Marker || s.Type == dns.TypeSOA || len(s.Answer()) == 0 {
					continue // no records, the SOA sent around the zone, or built on demand
				}
				ch <- s.Answer()
			}
		}
		ch <- soa
	}()
	return ch, nil
}

// serialLess reports whether serial a is less than b in serial number arithmetic (RFC 1982 3.2).
func serialLess(a, b uint32) bool {
	d := b - a
	return d != 0 && d < 1<<31
}
