package clusterdns

import (
	"github.com/coredns/coredns/request"
	"github.com/miekg/dns"
)

// Fitting a large answer into the client's buffer (docs/spec-rules.md rule 16, RFC 1035 4.2.1,
// RFC 6891 6.2.5). CoreDNS's ScrubWriter would truncate too, but it first measures the whole
// message, record by record, on every query: for 10,000 addresses that is the bulk of the cost.
// An answer whose tail is an address set (a headless service, after any CNAMEs) is cut here by
// arithmetic instead, and the shared array is sliced, never copied; other answers are left to the
// ScrubWriter, which then finds them fitting or cuts them itself.

const (
	// headerLen is the DNS header (RFC 1035 4.1.1); rrFixedLen a record's TYPE, CLASS, TTL and
	// RDLENGTH (4.1.3); pointerLen a compressed owner name (4.1.4).
	headerLen  = 12
	rrFixedLen = 10
	pointerLen = 2
	// optLen is the OPT record that the ScrubWriter adds when the query has one (RFC 6891 6.1.2:
	// the root name, then the fixed fields, no options).
	optLen = 1 + rrFixedLen
)

// fit returns a, cut to what the client's buffer holds (512 bytes over UDP without EDNS, the EDNS
// size otherwise, 65,535 over TCP). By default a cut answer is the fitting prefix with TC set. With
// udp_fit a UDP answer instead carries a window of whole address records, rotated across queries
// so that every endpoint gets traffic, and no TC; the records before the address set (a CNAME
// chain) are never cut, and if even one address does not fit after them, TC is set.
func (cd *ClusterDNS) fit(state request.Request, a answer) answer {
	if a.outcome != success || len(a.extra) > 0 {
		return a
	}
	start, rdlen := addressTail(a.rrs, state.QType())
	set := a.rrs[start:]
	if len(set) < 2 {
		return a
	}
	// Every owner in the answer is the question's name or an earlier CNAME's target, so it
	// compresses to a pointer (RFC 1035 4.1.4); the ScrubWriter still cuts, with TC, should the
	// sum ever fall short.
	used := headerLen + len(state.Req.Question[0].Name) + 1 + 4
	if state.Req.IsEdns0() != nil {
		used += optLen
	}
	for _, rr := range a.rrs[:start] {
		used += dns.Len(rr) - len(rr.Header().Name) - 1 + pointerLen
	}
	per := pointerLen + rrFixedLen + rdlen
	budget := state.Size() - used
	if budget < per {
		a.rrs, a.truncated = a.rrs[:start], true
		return a
	}
	k := budget / per
	if k >= len(set) {
		return a
	}
	if !cd.udpFit || state.Proto() != "udp" {
		a.rrs, a.truncated = a.rrs[:start+k], true
		return a
	}
	window := rotate(set, k, cd.fitTurn.Add(1))
	if start == 0 {
		a.rrs = window
		return a
	}
	// Only the CNAMEs and the window are copied: at most a buffer's worth of pointers.
	a.rrs = append(append(make([]dns.RR, 0, start+k), a.rrs[:start]...), window...)
	return a
}

// rotate returns the turn-th window of k records of set. Windows are consecutive and the last one
// ends at the set's end, so every record is served once every ceil(len/k) queries, and a window
// is a subslice of the shared array.
func rotate(set []dns.RR, k int, turn uint64) []dns.RR {
	windows := uint64((len(set) + k - 1) / k)
	lo := int(turn%windows) * k
	if lo+k > len(set) {
		lo = len(set) - k
	}
	return set[lo : lo+k : lo+k]
}

// addressTail returns where the address set of an A or AAAA answer starts in rrs (after the CNAMEs
// that lead to it), and the length of its records' data; len(rrs) for other answers. The answer
// of such a query is the chain, then one RRset of the asked type, so only the chain is walked:
// the cost does not grow with the set.
func addressTail(rrs []dns.RR, qtype uint16) (start, rdlen int) {
	switch qtype {
	case dns.TypeA:
		rdlen = 4
	case dns.TypeAAAA:
		rdlen = 16
	default:
		return len(rrs), 0
	}
	for start < len(rrs) && rrs[start].Header().Rrtype == dns.TypeCNAME {
		start++
	}
	if start == len(rrs) || rrs[start].Header().Rrtype != qtype || rrs[len(rrs)-1].Header().Rrtype != qtype {
		return len(rrs), 0
	}
	return start, rdlen
}
