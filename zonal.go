package clusterdns

import (
	"strings"
	"sync"
	"sync/atomic"

	"github.com/clusterdns/clusterdns/internal/index"
	"github.com/clusterdns/clusterdns/internal/model"

	"github.com/miekg/dns"
)

// Zonal names (the "zonal" option), as the kubernetes plugin answers them:
//
//	<topology-zone>.pin._zone.<svc>.<ns>.svc.<zone>     the ready endpoints in that zone only
//	<topology-zone>.prefer._zone.<svc>.<ns>.svc.<zone>  those, else every ready endpoint
//
// for headless services only: a ClusterIP has no zone, so under a zone it would silently drop the
// pin. The topology zone is every label left of the directive, joined, since zone label values may
// hold dots ("us-east-1.a"). It is compared with each endpoint's EndpointSlice zone, both lower case.
const (
	zoneLabel  = "_zone"
	zonePin    = "pin"
	zonePrefer = "prefer"
)

// zonalDirectives adds, in every zone, pin._zone.<base> and prefer._zone.<base> for a headless
// service with ready endpoints: they make _zone.<base> and themselves empty non-terminals (RFC
// 8020: names exist below them), and their Lazy answers the names below. The answers are built on
// demand: a zone value is the client's choice, so precomputing would mean one set of names per
// zone per service, and most clusters never ask them.
func (b *builder) zonalDirectives(out *setBuilder, base string, slices []*model.EndpointSlice) {
	out.add(zonePin+"."+zoneLabel+"."+base, index.Marker, nil).lazy = b.zonalAnswer(slices, base, false)
	out.add(zonePrefer+"."+zoneLabel+"."+base, index.Marker, nil).lazy = b.zonalAnswer(slices, base, true)
}

// zonalAnswer answers "<topology-zone>.<directive>._zone.<base>" (name, lower case) for the topology
// zone label (one or more labels): the A, AAAA and SRV of the headless service at base, as its own
// name answers them, from the endpoints in that zone; with prefer, from every endpoint when none is
// in it. The name exists whatever the zone: no endpoint in it is NODATA, the same on every replica.
//
// The answer for a zone that some endpoint carries is kept once built (a service has a few zones,
// and its answers go with it when a slice changes); a pin to any other zone is NODATA at no cost.
// A prefer name for such a zone (clients in a zone the service does not run in) is kept too, for
// the first maxFallbacks zones asked: its owner name is the client's choice, and a cluster has a
// few zones, so the bound keeps real clients fast and stops any from growing memory without end.
func (b *builder) zonalAnswer(list []*model.EndpointSlice, base string, prefer bool) func(name, label string) ([]index.Set, bool) {
	var zones zonalZones
	return func(name, zone string) ([]index.Set, bool) {
		known := zones.known(list)
		if _, ok := known[zone]; !ok && !prefer {
			return nil, true
		}
		if sets, ok := zones.built.Load(zone); ok {
			return sets.([]index.Set), true
		}
		sets := b.buildZonal(list, name, base, zone)
		if _, ok := known[zone]; ok || zones.fallbacks.Add(1) <= maxFallbacks {
			zones.built.Store(zone, sets)
		}
		return sets, true
	}
}

// zonalZones are the zones that a service's endpoints carry, found at the first zonal query, and
// the answers built for them.
type zonalZones struct {
	once      sync.Once
	zones     map[string]struct{}
	built     sync.Map // zone -> []index.Set
	fallbacks atomic.Int32
}

// maxFallbacks bounds the prefer answers kept per service and zone for zones no endpoint carries.
const maxFallbacks = 32

func (z *zonalZones) known(list []*model.EndpointSlice) map[string]struct{} {
	z.once.Do(func() {
		z.zones = map[string]struct{}{}
		for _, sl := range list {
			for i := range sl.Endpoints.Len() {
				if zone := sl.Endpoints.At(i).Zone; zone != "" {
					z.zones[zone] = struct{}{}
				}
			}
		}
	})
	return z.zones
}

// buildZonal builds the sets at name from the ready endpoints in zone, or from every one when none
// is in it (a pin never gets here for such a zone).
func (b *builder) buildZonal(list []*model.EndpointSlice, name, base, zone string) []index.Set {
	var out setBuilder
	ready := out.readyEndpoints(list)
	in := ready[:0:0]
	for _, e := range ready {
		if e.zone == zone {
			in = append(in, e)
		}
	}
	if len(in) == 0 {
		in = ready
	}
	for _, e := range in {
		out.add(name, addrType(e.addr), b.addr(&out.slab, name, e.addr))
		target := e.label + "." + base
		glue := []dns.RR{b.addr(&out.slab, target, e.addr)}
		for _, p := range e.ports {
			b.srvGlue(&out, name, p, target, glue)
		}
	}
	setSRVWeights(out.list)
	return out.done()
}

// zonalLookup finds a zonal name whose topology zone has several labels: the index's Synthesize
// asks only the parent of a name, which answers a one-label zone. name is lower case; the _zone
// label closest to the apex is the one, as neither a service nor a namespace name can be "_zone".
func (cd *ClusterDNS) zonalLookup(name string) ([]index.Set, bool) {
	at := strings.LastIndex(name, "."+zoneLabel+".")
	if at < 0 {
		return nil, false
	}
	dir := strings.LastIndexByte(name[:at], '.')
	if dir <= 0 {
		return nil, false
	}
	sets, ok := cd.store.ix.Lookup(name[dir+1:])
	if !ok {
		return nil, false
	}
	for _, s := range sets {
		if s.Type == index.Marker && s.Lazy != nil {
			return s.Lazy(name, name[:dir])
		}
	}
	return nil, false
}
