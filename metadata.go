package clusterdns

import (
	"context"
	"slices"
	"strings"

	"github.com/coredns/coredns/plugin/metadata"
	"github.com/coredns/coredns/request"
)

// The metadata keys, all under the clusterdns/ prefix: the kubernetes plugin's own, with
// kubernetes/ changed to clusterdns/. Whole strings, so that no key is built per query.
const (
	metaEndpoint        = pluginName + "/endpoint"
	metaKind            = pluginName + "/kind"
	metaNamespace       = pluginName + "/namespace"
	metaPortName        = pluginName + "/port-name"
	metaProtocol        = pluginName + "/protocol"
	metaService         = pluginName + "/service"
	metaCluster         = pluginName + "/cluster" // multicluster zones only
	metaZone            = pluginName + "/zone"    // with zonal only
	metaParseError      = pluginName + "/parse-error"
	metaClientNamespace = pluginName + "/client-namespace"
	metaClientPodName   = pluginName + "/client-pod-name"
	metaClientLabel     = pluginName + "/client-label/"
)

// queryName is a name of a served zone cut into the parts of the Kubernetes DNS specification, as
// the kubernetes plugin's parseRequest cuts it for its metadata:
// [endpoint[.cluster]|_port._protocol|topology-zone.pin|prefer._zone].service.namespace.kind.
type queryName struct {
	endpoint, port, protocol, cluster, zone, service, namespace, kind string
}

// Metadata implements metadata.Provider. It runs only when the metadata plugin is in the chain,
// and every value is a function run only if a consumer (log, acl, view...) reads it. The name is
// cut eagerly, as the kubernetes plugin does, since whether it parses decides which keys exist;
// the cut allocates nothing.
func (cd *ClusterDNS) Metadata(ctx context.Context, state request.Request) context.Context {
	if cd.store.clients != nil {
		if cl, ok := cd.store.clients.lookup(clientAddr(state.W)); ok {
			metadata.SetValueFunc(ctx, metaClientNamespace, func() string { return cl.namespace })
			metadata.SetValueFunc(ctx, metaClientPodName, cl.name)
			cl.eachLabel(func(key, v string) {
				metadata.SetValueFunc(ctx, key, func() string { return v })
			})
		}
	}
	name := state.Name()
	zone := cd.match(name)
	if zone == "" {
		return ctx
	}
	multicluster := slices.Contains(cd.store.b.mcZones, zone)
	q := new(queryName)
	if !q.parse(name, zone, multicluster, cd.zonal) {
		metadata.SetValueFunc(ctx, metaParseError, func() string { return "invalid query name" })
		return ctx
	}
	metadata.SetValueFunc(ctx, metaPortName, func() string { return q.port })
	metadata.SetValueFunc(ctx, metaProtocol, func() string { return q.protocol })
	metadata.SetValueFunc(ctx, metaEndpoint, func() string { return q.endpoint })
	if multicluster {
		// The kubernetes plugin means to set it here too, but tests the request's Zone, which is
		// empty when the metadata plugin asks, so it never does.
		metadata.SetValueFunc(ctx, metaCluster, func() string { return q.cluster })
	}
	if cd.zonal {
		metadata.SetValueFunc(ctx, metaZone, func() string { return q.zone })
	}
	metadata.SetValueFunc(ctx, metaService, func() string { return q.service })
	metadata.SetValueFunc(ctx, metaNamespace, func() string { return q.namespace })
	metadata.SetValueFunc(ctx, metaKind, func() string { return q.kind })
	return ctx
}

// parse cuts name (lower case, in zone) as the kubernetes plugin's parseRequest does, into
// substrings of name: false for a name whose kind is neither svc nor pod or that has more labels
// than any name of the specification. The zone apex and "svc"/"pod" alone cut to nothing. Two
// labels left of the service are _port._protocol, or, in a clusterset zone when neither starts
// with "_", endpoint.cluster; three or more are a zonal name with zonal on (the topology zone is
// every label left of pin|prefer._zone, as in zonal.go).
func (q *queryName) parse(name, zone string, multicluster, zonal bool) bool {
	base := strings.TrimSuffix(strings.TrimSuffix(name, zone), ".")
	if base == "" || base == "svc" || base == "pod" {
		return true
	}
	base, q.kind = cutLast(base)
	if q.kind != "svc" && q.kind != "pod" {
		return false
	}
	for _, field := range []*string{&q.namespace, &q.service} {
		if base == "" {
			return true
		}
		base, *field = cutLast(base)
	}
	if base == "" {
		return true
	}
	rest, last := cutLast(base)
	switch {
	case rest == "":
		q.endpoint = last
	case !strings.Contains(rest, "."):
		if !multicluster || strings.HasPrefix(rest, "_") || strings.HasPrefix(last, "_") {
			q.port, q.protocol = strings.TrimPrefix(rest, "_"), strings.TrimPrefix(last, "_")
		} else {
			q.endpoint, q.cluster = rest, last
		}
	default:
		topo, directive := cutLast(rest)
		if !zonal || multicluster || last != zoneLabel || q.kind != "svc" || (directive != zonePin && directive != zonePrefer) {
			return false
		}
		q.zone = topo
	}
	return true
}

// cutLast splits a relative name before its last label.
func cutLast(name string) (rest, label string) {
	i := strings.LastIndexByte(name, '.')
	if i < 0 {
		return "", name
	}
	return name[:i], name[i+1:]
}
