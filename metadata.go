package clusterdns

import (
	"context"
	"strings"

	"github.com/coredns/coredns/plugin/metadata"
	"github.com/coredns/coredns/request"
	"github.com/miekg/dns"
)

// metadataPrefix starts every key this plugin gives the metadata plugin.
const metadataPrefix = pluginName + "/"

// queryName is a name of a served zone cut into the parts of the Kubernetes DNS specification, as
// the kubernetes plugin parses it for its metadata: [endpoint|_port._protocol].service.namespace.kind.
type queryName struct {
	endpoint, port, protocol, service, namespace, kind string
}

// queryKeys are the metadata keys read from the query name. A key is one row: what multi-cluster
// and zonal names add goes here.
var queryKeys = []struct {
	key   string
	value func(*queryName) string
}{
	{"endpoint", func(q *queryName) string { return q.endpoint }},
	{"kind", func(q *queryName) string { return q.kind }},
	{"namespace", func(q *queryName) string { return q.namespace }},
	{"port-name", func(q *queryName) string { return q.port }},
	{"protocol", func(q *queryName) string { return q.protocol }},
	{"service", func(q *queryName) string { return q.service }},
}

// Metadata implements metadata.Provider. It runs only when the metadata plugin is in the chain,
// and every value is a function run only if a consumer (log, acl, view...) reads it.
func (cd *ClusterDNS) Metadata(ctx context.Context, state request.Request) context.Context {
	if cd.store.clients != nil {
		if cl := cd.store.clients.lookup(state.IP()); cl != nil {
			metadata.SetValueFunc(ctx, metadataPrefix+"client-namespace", func() string { return cl.namespace })
			metadata.SetValueFunc(ctx, metadataPrefix+"client-pod-name", func() string { return cl.name })
			for k, v := range cl.labels {
				metadata.SetValueFunc(ctx, metadataPrefix+"client-label/"+k, func() string { return v })
			}
		}
	}
	name := state.Name()
	zone := cd.match(name)
	if zone == "" {
		return ctx
	}
	q, ok := parseQueryName(name, zone)
	if !ok {
		metadata.SetValueFunc(ctx, metadataPrefix+"parse-error", func() string { return "invalid query name" })
		return ctx
	}
	for _, k := range queryKeys {
		metadata.SetValueFunc(ctx, metadataPrefix+k.key, func() string { return k.value(q) })
	}
	return ctx
}

// parseQueryName cuts name (lower case, in zone) as the kubernetes plugin's parseRequest does
// without multi-cluster and zonal names: false for a name of more labels than the specification
// has, or whose kind is neither svc nor pod. The zone apex and "svc"/"pod" alone parse to nothing.
func parseQueryName(name, zone string) (*queryName, bool) {
	q := &queryName{}
	base := strings.TrimSuffix(strings.TrimSuffix(name, zone), ".")
	if base == "" || base == "svc" || base == "pod" {
		return q, true
	}
	segs := dns.SplitDomainName(base)
	last := len(segs) - 1
	q.kind = segs[last]
	if q.kind != "svc" && q.kind != "pod" {
		return q, false
	}
	for i, field := range []*string{&q.namespace, &q.service} {
		if last-1-i < 0 {
			return q, true
		}
		*field = segs[last-1-i]
	}
	switch last - 2 {
	case 0:
		return q, true
	case 1:
		q.endpoint = segs[0]
		return q, true
	case 2:
		q.port, q.protocol = strings.TrimPrefix(segs[0], "_"), strings.TrimPrefix(segs[1], "_")
		return q, true
	}
	return q, false
}
