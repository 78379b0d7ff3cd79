package clusterdns

import (
	"context"
	"strings"

	"github.com/clusterdns/clusterdns/internal/index"

	"github.com/coredns/coredns/plugin"
	"github.com/coredns/coredns/request"
	"github.com/miekg/dns"
)

// outcome separates finding an answer from writing it (as plugin/file does).
type outcome int

const (
	success outcome = iota
	noData
	nameError
)

// maxChase bounds how many in-zone CNAMEs one answer follows (ExternalName to ExternalName).
const maxChase = 8

type answer struct {
	outcome   outcome
	rrs       []dns.RR
	extra     []dns.RR
	truncated bool // cut to fit the client's buffer (fit.go)
}

// ServeDNS implements plugin.Handler. The hit path is a zone match, one index lookup and a write:
// the records are prepared when the data changes and shared by every query.
func (cd *ClusterDNS) ServeDNS(ctx context.Context, w dns.ResponseWriter, r *dns.Msg) (int, error) {
	if len(r.Question) != 1 {
		return plugin.NextOrFailure(cd.Name(), cd.Next, ctx, w, r)
	}
	q := r.Question[0]
	name := lowerName(q.Name)
	zone := cd.match(name)
	if zone == "" || (q.Qclass != dns.ClassINET && q.Qclass != dns.ClassANY) {
		return plugin.NextOrFailure(cd.Name(), cd.Next, ctx, w, r)
	}
	// Zone transfers are the transfer plugin's to serve. Built before cache (make coredns
	// PLACE=early), clusterdns comes before transfer in the chain and must let them through.
	if q.Qtype == dns.TypeAXFR || q.Qtype == dns.TypeIXFR {
		return plugin.NextOrFailure(cd.Name(), cd.Next, ctx, w, r)
	}

	a := cd.lookup(name, q.Qtype)
	rcode := dns.RcodeSuccess
	switch a.outcome {
	case nameError:
		if !cd.synced.Load() || !cd.zoneSynced(zone) {
			return dns.RcodeServerFailure, nil
		}
		if cd.fallsThrough(name) {
			return plugin.NextOrFailure(cd.Name(), cd.Next, ctx, w, r)
		}
		rcode = dns.RcodeNameError
	case success:
		if cname, ok := a.rrs[0].(*dns.CNAME); ok && q.Qtype != dns.TypeCNAME {
			a, rcode = cd.chase(ctx, request.Request{W: w, Req: r}, cname, q.Qtype)
		}
	}

	a = cd.fit(request.Request{W: w, Req: r}, a)
	m := new(dns.Msg)
	m.SetReply(r)
	m.Truncated = a.truncated
	// The plugin is the authority for its zones; SetReply leaves AA unset.
	m.Authoritative = true
	m.Rcode = rcode
	m.Answer = withOwnerCase(a.rrs, name, q.Name)
	m.Extra = a.extra
	if a.outcome != success {
		// RFC 2308 section 3: negative answers carry the zone's SOA for negative caching.
		m.Ns = cd.store.soa(zone)
	}
	if err := w.WriteMsg(m); err != nil {
		return dns.RcodeServerFailure, err
	}
	return rcode, nil
}

// lookup finds name (lower case, inside zone) in the index; CNAMEs are returned, not followed.
func (cd *ClusterDNS) lookup(name string, qtype uint16) answer {
	sets, ok := cd.store.ix.Lookup(name)
	if !ok {
		sets, ok = cd.store.ix.Synthesize(name)
	}
	if !ok && cd.zonal {
		sets, ok = cd.zonalLookup(name)
	}
	if !ok {
		return answer{outcome: nameError}
	}
	if qtype == dns.TypeANY {
		var all answer
		for _, s := range sets {
			if s, ok := index.Resolve(sets, name, s.Type); ok {
				all.rrs = append(all.rrs, s.Answer()...)
			}
		}
		if len(all.rrs) == 0 {
			all.outcome = noData
		}
		return all
	}
	if s, ok := index.Resolve(sets, name, qtype); ok {
		return answer{rrs: s.Answer(), extra: s.Extra()}
	}
	if s, ok := index.Find(sets, dns.TypeCNAME); ok {
		return answer{rrs: s.Answer()}
	}
	return answer{outcome: noData}
}

// chase answers a CNAME followed by its target's records (spec 2.6, RFC 1034 3.6.2): in-zone
// targets from the index, others through the rest of the plugin chain. The CNAME stays even when
// the target has no data or cannot be resolved; the rcode is the target's (RFC 6604), and an
// in-zone target without data makes the answer negative, with the SOA (RFC 2308 2.1, 2.2).
func (cd *ClusterDNS) chase(ctx context.Context, state request.Request, cname *dns.CNAME, qtype uint16) (answer, int) {
	out := answer{rrs: []dns.RR{cname}}
	for range maxChase {
		target := cname.Target
		if cd.match(target) != "" {
			next := cd.lookup(target, qtype)
			out.rrs = append(out.rrs, next.rrs...)
			out.extra = append(out.extra, next.extra...)
			out.outcome = next.outcome
			if next.outcome == nameError {
				return out, dns.RcodeNameError
			}
			var more bool
			if cname, more = firstCNAME(next.rrs); !more || qtype == dns.TypeCNAME {
				return out, dns.RcodeSuccess
			}
			continue
		}
		resp, err := cd.upstream.Lookup(ctx, state, target, qtype)
		if err != nil || resp == nil {
			return out, dns.RcodeSuccess
		}
		out.rrs = append(out.rrs, resp.Answer...)
		if resp.Rcode == dns.RcodeNameError {
			return out, dns.RcodeNameError
		}
		return out, dns.RcodeSuccess
	}
	return out, dns.RcodeSuccess
}

func firstCNAME(rrs []dns.RR) (*dns.CNAME, bool) {
	if len(rrs) == 1 {
		cname, ok := rrs[0].(*dns.CNAME)
		return cname, ok
	}
	return nil, false
}

// match returns the longest served zone that name is in, or "".
func (cd *ClusterDNS) match(name string) string {
	for _, z := range cd.zones {
		if index.InZone(name, z) {
			return z
		}
	}
	return ""
}

// fallsThrough is fall.F's Through without its allocations: a search-path miss asks it.
func (cd *ClusterDNS) fallsThrough(name string) bool {
	for _, z := range cd.fall.Zones {
		if index.InZone(name, z) {
			return true
		}
	}
	return false
}

// lowerName lower-cases a name, without allocating when it already is.
func lowerName(s string) string {
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			return strings.ToLower(s)
		}
	}
	return s
}

// withOwnerCase returns rrs with the owner name written as the query wrote it (spec rule 15).
// Shared records are copied, never modified.
func withOwnerCase(rrs []dns.RR, lower, asked string) []dns.RR {
	if lower == asked {
		return rrs
	}
	out := make([]dns.RR, len(rrs))
	for i, rr := range rrs {
		if rr.Header().Name == lower {
			rr = dns.Copy(rr)
			rr.Header().Name = asked
		}
		out[i] = rr
	}
	return out
}
