package model

import (
	"math"
	"net/netip"
	"slices"
)

// Endpoints are a slice's ready endpoints, packed: each address is 4 bytes (16 when the slice has
// an IPv6 address) in one array, and names are kept only when some endpoint has one. A large
// cluster has hundreds of thousands of endpoints; packed, they cost bytes rather than objects, and
// an address array holds no pointers for the garbage collector to follow.
type Endpoints struct {
	addrs []byte
	names []string // nil, or one per endpoint
	// zones are the distinct topology zones of the endpoints and zoneOf, per endpoint, one plus
	// the index of its zone in them (0 for none); both nil when no endpoint has a zone. Nearly every
	// endpoint of a cluster spread over zones has one, and a cluster has a few: two bytes each.
	zones  []string
	zoneOf []uint16
	wide   bool // 16 bytes per address
}

// NewEndpoints packs list. Address zones are dropped: no endpoint address has one.
func NewEndpoints(list []Endpoint) Endpoints {
	var e Endpoints
	named, zoned := false, false
	for _, ep := range list {
		e.wide = e.wide || ep.Addr.Is6()
		named = named || ep.Name != ""
		zoned = zoned || ep.Zone != ""
	}
	e.addrs = make([]byte, 0, e.width()*len(list))
	for _, ep := range list {
		if e.wide {
			a := ep.Addr.As16()
			e.addrs = append(e.addrs, a[:]...)
		} else {
			a := ep.Addr.As4()
			e.addrs = append(e.addrs, a[:]...)
		}
	}
	if named {
		e.names = make([]string, len(list))
		for i, ep := range list {
			e.names[i] = ep.Name
		}
	}
	if zoned {
		e.packZones(list)
	}
	return e
}

func (e Endpoints) width() int {
	if e.wide {
		return 16
	}
	return 4
}

// Len is the number of endpoints.
func (e Endpoints) Len() int { return len(e.addrs) / e.width() }

// At returns endpoint i. An IPv4 address in a slice with IPv6 ones comes back as IPv4.
func (e Endpoints) At(i int) Endpoint {
	var ep Endpoint
	if e.wide {
		ep.Addr = netip.AddrFrom16([16]byte(e.addrs[16*i:])).Unmap()
	} else {
		ep.Addr = netip.AddrFrom4([4]byte(e.addrs[4*i:]))
	}
	if e.names != nil {
		ep.Name = e.names[i]
	}
	if e.zoneOf != nil && e.zoneOf[i] > 0 {
		ep.Zone = e.zones[e.zoneOf[i]-1]
	}
	return ep
}

// packZones fills zones and zoneOf from list. An API slice holds at most 1,000 endpoints; a list
// with more than 65,535 distinct zones (only a damaged file could hold one) keeps the first ones.
func (e *Endpoints) packZones(list []Endpoint) {
	e.zoneOf = make([]uint16, len(list))
	for i, ep := range list {
		if ep.Zone == "" {
			continue
		}
		k := slices.Index(e.zones, ep.Zone)
		if k < 0 && len(e.zones) < math.MaxUint16 {
			e.zones = append(e.zones, ep.Zone)
			k = len(e.zones) - 1
		}
		if k >= 0 {
			e.zoneOf[i] = uint16(k + 1)
		}
	}
}
