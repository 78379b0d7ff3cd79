package clusterdns

import (
	"net/netip"

	"github.com/clusterdns/clusterdns/internal/index"
	"github.com/clusterdns/clusterdns/internal/model"

	"github.com/miekg/dns"
)

// mcsSchemaVersion is the schema of the Multi-Cluster Services DNS specification (KEP-1645,
// "DNS specification" 2.2) that the clusterset zones answer at dns-version.<zone>.
const mcsSchemaVersion = "1.0.0"

// serviceImport builds every record of one ServiceImport in every clusterset zone (KEP-1645 DNS
// specification, cited as "MCS 2.x"), from the import and the EndpointSlices an MCS controller
// wrote for it, one set of slices per source cluster:
//   - ClusterSetIP: the clusterset IPs at <svc>.<ns>.svc.<zone> (MCS 2.3.1), an SRV per named port
//     under _port._proto targeting that name (MCS 2.3.2), and, as the kubernetes plugin answers
//     them, the SRV of every port at the name itself;
//   - Headless: one record per ready endpoint of every cluster at the name (MCS 2.4.1), the
//     endpoint's own <hostname>.<clusterid>.<svc>.<ns>.svc.<zone> (MCS 2.4.1), and SRV records
//     per named port targeting those names (MCS 2.4.2);
//   - for both, as the kubernetes plugin answers them, the endpoint names with their SRV.
//
// An endpoint of a slice without the source-cluster label has no name of its own: the spec names
// it by its cluster ID, and without one the name would have an empty label. There are no PTR
// records: the MCS spec defines none and the kubernetes plugin serves none.
func (b *builder) serviceImport(out *setBuilder, imp *model.ServiceImport, slices []*model.ImportedSlice) []index.Set {
	if imp.Headless && !importHasEndpoints(slices) {
		return nil // MCS 2.4.1, as spec 2.5.1: a headless name without ready endpoints does not exist
	}
	for _, z := range b.mcZones {
		base := imp.Name + "." + imp.Namespace + ".svc." + z
		out.add(base, index.Marker, nil) // a ClusterSetIP import without IPs yet: NODATA
		// A ClusterSetIP import whose IP is not allocated yet has its port names, but no SRV: the
		// target would have no address (the kubernetes plugin answers NODATA there too).
		if !imp.Headless && len(imp.IPs) == 0 {
			for _, p := range imp.Ports {
				if p.Name != "" {
					out.add(portName(p, base), index.Marker, nil)
				}
			}
		}
		if !imp.Headless && len(imp.IPs) > 0 {
			for _, ip := range imp.IPs {
				out.add(base, addrType(ip), b.addr(&out.slab, base, ip))
			}
			glue := out.addrs(base)
			for _, p := range imp.Ports {
				if p.Name != "" {
					b.srvGlue(out, portName(p, base), p, base, glue)
				}
			}
			for _, p := range imp.Ports {
				b.srvGlue(out, base, p, base, glue)
			}
		}
		b.importEndpoints(out, imp.Headless, base, slices)
	}
	setSRVWeights(out.list)
	return out.done()
}

// importEndpoints adds each ready endpoint's names below base: its address at base itself for a
// headless import, and its own name with SRV records targeting it.
func (b *builder) importEndpoints(out *setBuilder, headless bool, base string, slices []*model.ImportedSlice) {
	seen := map[netip.Addr]bool{}
	for _, sl := range slices {
		for i := range sl.Endpoints.Len() {
			e := sl.Endpoints.At(i)
			if headless && !seen[e.Addr] {
				seen[e.Addr] = true
				out.add(base, addrType(e.Addr), b.addr(&out.slab, base, e.Addr))
			}
			if sl.Cluster == "" {
				continue
			}
			label := endpointName(e)
			if label == "" {
				label = dashed(e.Addr)
			}
			name := label + "." + sl.Cluster + "." + base
			glue := []dns.RR{b.addr(&out.slab, name, e.Addr)}
			out.add(name, addrType(e.Addr), glue[0])
			for _, p := range sl.Ports {
				b.srvGlue(out, name, p, name, glue)
				if !headless {
					continue
				}
				b.srvGlue(out, base, p, name, glue)
				if p.Name != "" {
					b.srvGlue(out, portName(p, base), p, name, glue)
				}
			}
		}
	}
}

// importHasEndpoints tells whether any slice of an import has a ready endpoint.
func importHasEndpoints(slices []*model.ImportedSlice) bool {
	for _, sl := range slices {
		if sl.Endpoints.Len() > 0 {
			return true
		}
	}
	return false
}
