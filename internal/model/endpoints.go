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
	// zones is nil when no endpoint has a topology zone: a pointer, so that slices without zones
	// pay 8 bytes for it.
	zones *endpointZones
	wide  bool // 16 bytes per address
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

// SameAt tells whether endpoint i of e and endpoint j of o have the same address and name,
// without unpacking them.
func (e Endpoints) SameAt(i int, o Endpoints, j int) bool {
	if e.wide != o.wide {
		return e.At(i).Addr == o.At(j).Addr && e.name(i) == o.name(j)
	}
	w := e.width()
	return string(e.addrs[w*i:w*i+w]) == string(o.addrs[w*j:w*j+w]) && e.name(i) == o.name(j)
}

func (e Endpoints) name(i int) string {
	if e.names == nil {
		return ""
	}
	return e.names[i]
}

// At returns endpoint i. An IPv4 address in a slice with IPv6 ones comes back as IPv4.
func (e Endpoints) At(i int) Endpoint {
	var ep Endpoint
	if e.wide {
		ep.Addr = netip.AddrFrom16([16]byte(e.addrs[16*i:])).Unmap()
	} else {
		ep.Addr = netip.AddrFrom4([4]byte(e.addrs[4*i:]))
	}
	ep.Name = e.name(i)
	if e.zones != nil && e.zones.of[i] > 0 {
		ep.Zone = e.zones.names[e.zones.of[i]-1]
	}
	return ep
}

// endpointZones are the distinct topology zones of a slice's endpoints and, per endpoint, one plus
// the index of its zone in them (0 for none). Nearly every endpoint of a cluster spread over zones
// has one, and a cluster has a few: two bytes per endpoint.
type endpointZones struct {
	names []string
	of    []uint16
}

// packZones fills zones from list. An API slice holds at most 1,000 endpoints; a list with more
// than 65,535 distinct zones (only a damaged file could hold one) keeps the first ones.
func (e *Endpoints) packZones(list []Endpoint) {
	z := &endpointZones{of: make([]uint16, len(list))}
	for i, ep := range list {
		if ep.Zone == "" {
			continue
		}
		k := slices.Index(z.names, ep.Zone)
		if k < 0 && len(z.names) < math.MaxUint16 {
			z.names = append(z.names, ep.Zone)
			k = len(z.names) - 1
		}
		if k >= 0 {
			z.of[i] = uint16(k + 1)
		}
	}
	e.zones = z
}
