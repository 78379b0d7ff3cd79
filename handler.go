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
	outcome outcome
	rrs     []dns.RR
	// set is the RRset that a chase reached, behind the CNAMEs in rrs, left in its shared array
	// until fit joins what the client's buffer holds of it (fit.go): no per-query copy of a large
	// set behind an ExternalName.
	set       []dns.RR
	extra     []dns.RR
	truncated bool // cut to fit the client's buffer (fit.go)
}

// ServeDNS implements plugin.Handler. The hit path is a zone match, one index lookup and a write:
// the records are prepared when the data changes and shared by every query.
//
// The answer is worked out in reply and written from here, so that the write, the deepest point
// of a query (CoreDNS's writers, then packing), runs below this small frame rather than reply's.
// miekg/dns serves each query in a new goroutine with a small stack, and growing the stack copies
// it: at 10,000 services, growing it once more in the write took a sixth of the server's CPU. The
// frames below reply are kept small for the same reason: a PTR is built there on every query.
func (cd *ClusterDNS) ServeDNS(ctx context.Context, w dns.ResponseWriter, r *dns.Msg) (int, error) {
	m, rcode, next := cd.reply(ctx, w, r)
	if next {
		return plugin.NextOrFailure(cd.Name(), cd.Next, ctx, w, r)
	}
	if m == nil {
		return rcode, nil
	}
	if err := w.WriteMsg(m); err != nil {
		return dns.RcodeServerFailure, err
	}
	return rcode, nil
}

// reply returns the response to r and its rcode: no response and SERVFAIL while unsynced; next
// when r is for the next plugin.
//
//go:noinline
func (cd *ClusterDNS) reply(ctx context.Context, w dns.ResponseWriter, r *dns.Msg) (m *dns.Msg, rcode int, next bool) {
	if len(r.Question) != 1 {
		return nil, 0, true
	}
	q := r.Question[0]
	name := lowerName(q.Name)
	zone := cd.match(name)
	if zone == "" || (q.Qclass != dns.ClassINET && q.Qclass != dns.ClassANY) {
		return nil, 0, true
	}
	// Zone transfers are the transfer plugin's to serve. Built before cache (make coredns
	// PLACE=early), clusterdns comes before transfer in the chain and must let them through.
	if q.Qtype == dns.TypeAXFR || q.Qtype == dns.TypeIXFR {
		return nil, 0, true
	}

	a := cd.lookup(name, q.Qtype)
	rcode = dns.RcodeSuccess
	switch a.outcome {
	case nameError:
		if !cd.synced.Load() || !cd.zoneSynced(zone) {
			return nil, dns.RcodeServerFailure, false
		}
		if cd.fallsThrough(name) {
			return nil, 0, true
		}
		rcode = dns.RcodeNameError
	case success:
		if cname, ok := a.rrs[0].(*dns.CNAME); ok && q.Qtype != dns.TypeCNAME {
			rcode = cd.chase(ctx, w, r, &a, cname, q.Qtype)
		}
	}

	cd.fit(w, r, &a)
	m = new(dns.Msg)
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
	return m, rcode, false
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
		return anyAnswer(sets, name)
	}
	if s, ok := index.Resolve(sets, name, qtype); ok {
		return answer{rrs: s.Answer(), extra: s.Extra()}
	}
	if s, ok := index.Find(sets, dns.TypeCNAME); ok {
		return answer{rrs: s.Answer()}
	}
	return answer{outcome: noData}
}

// anyAnswer answers an ANY query with every set at name.
func anyAnswer(sets []index.Set, name string) answer {
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

// chase replaces a, whose answer is cname, with cname followed by its target's records (spec 2.6,
// RFC 1034 3.6.2) and returns the rcode: in-zone targets from the index, others through the rest
// of the plugin chain. The CNAME stays even when the target has no data or cannot be resolved;
// the rcode is the target's (RFC 6604), and an in-zone target without data makes the answer
// negative, with the SOA (RFC 2308 2.1, 2.2).
func (cd *ClusterDNS) chase(ctx context.Context, w dns.ResponseWriter, r *dns.Msg, a *answer, cname *dns.CNAME, qtype uint16) int {
	*a = answer{rrs: []dns.RR{cname}}
	for range maxChase {
		target := cname.Target
		if cd.match(target) != "" {
			next := cd.lookup(target, qtype)
			a.outcome = next.outcome
			if next.outcome == nameError {
				return dns.RcodeNameError
			}
			var more bool
			if cname, more = firstCNAME(next.rrs); !more || qtype == dns.TypeCNAME {
				// CNAMEs carry no glue: the target's is the answer's.
				a.set, a.extra = next.rrs, next.extra
				return dns.RcodeSuccess
			}
			a.rrs = append(a.rrs, cname)
			continue
		}
		resp, err := cd.upstream.Lookup(ctx, request.Request{W: w, Req: r}, target, qtype)
		if err != nil || resp == nil {
			return dns.RcodeSuccess
		}
		a.rrs = append(a.rrs, resp.Answer...)
		if resp.Rcode == dns.RcodeNameError {
			return dns.RcodeNameError
		}
		return dns.RcodeSuccess
	}
	return dns.RcodeSuccess
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
