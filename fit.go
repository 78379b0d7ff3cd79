package clusterdns

import (
	"github.com/coredns/coredns/request"
	"github.com/miekg/dns"
)

// Fitting a large answer into the client's buffer (docs/spec-rules.md rule 16, RFC 1035 4.2.1,
// RFC 6891 6.2.5). CoreDNS's ScrubWriter would truncate too, but it first measures the whole
// message, record by record, on every query: for 10,000 addresses that is the bulk of the cost.
// An answer whose tail is an address set (a headless service, after any CNAMEs) is cut here by
// arithmetic instead, an SRV set by measuring only what fits (fitsrv.go), and the shared array is
// sliced, never copied; other answers are left to the ScrubWriter, which then finds them fitting
// or cuts them itself.

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

// fit cuts a to what the client's buffer holds (512 bytes over UDP without EDNS, the EDNS
// size otherwise, 65,535 over TCP), leaving its answer one array: the chain of CNAMEs, if any,
// followed by the set that a chase left apart in its shared array (a.set), or by the set at the
// end of a.rrs. Only an answer whose set is addresses (here) or SRV records (fitsrv.go) is cut;
// any other is left to the ScrubWriter, which then finds it fitting or cuts it itself.
//
// By default a cut answer is the fitting prefix with TC set. With udp_fit a UDP answer instead
// carries a window of whole records, rotated across queries so that every endpoint gets traffic,
// and no TC; the chain is never cut, and if even one record does not fit after it, TC is set.
// Only the chain and what fits are copied: at most a buffer's worth of pointers.
func (cd *ClusterDNS) fit(w dns.ResponseWriter, r *dns.Msg, a *answer) {
	chain, set, apart := a.rrs, a.set, a.set != nil
	if !apart {
		start := chainLen(a.rrs)
		chain, set = a.rrs[:start], a.rrs[start:]
	}
	a.set = nil
	qtype := r.Question[0].Qtype
	if a.outcome != success || len(set) == 0 || set[0].Header().Rrtype != qtype || set[len(set)-1].Header().Rrtype != qtype {
		if apart {
			a.rrs = join(chain, set)
		}
		return
	}
	cut := set
	state := &request.Request{W: w, Req: r}
	switch qtype {
	case dns.TypeA, dns.TypeAAAA:
		if len(a.extra) == 0 {
			cut, a.truncated = cd.fitAddresses(state, chain, set)
		}
	case dns.TypeSRV:
		cut, a.extra, a.truncated = cd.fitSRV(state, chain, set, a.extra)
	}
	if apart || len(cut) != len(set) {
		a.rrs = join(chain, cut)
	}
}

// fitAddresses cuts an address set by arithmetic: its records all have one length.
func (cd *ClusterDNS) fitAddresses(state *request.Request, chain, set []dns.RR) (cut []dns.RR, truncated bool) {
	if len(set) < 2 {
		return set, false
	}
	rdlen := 4
	if set[0].Header().Rrtype == dns.TypeAAAA {
		rdlen = 16
	}
	per := pointerLen + rrFixedLen + rdlen
	lead := leadLen(state, chain)
	if lead+len(set)*per <= dns.MinMsgSize {
		return set, false // fits the smallest buffer (512 bytes, RFC 1035 4.2.1): the client's need not be worked out
	}
	budget := state.Size() - lead
	if budget < per {
		return set[:0], true
	}
	k := budget / per
	if k >= len(set) {
		return set, false
	}
	if !cd.udpFit || state.Proto() != "udp" {
		return set[:k:k], true
	}
	return rotate(set, k, cd.fitTurn.Add(1)), false
}

// join returns chain followed by set: set itself when there is no chain, else a new array.
func join(chain, set []dns.RR) []dns.RR {
	if len(chain) == 0 {
		return set
	}
	return append(append(make([]dns.RR, 0, len(chain)+len(set)), chain...), set...)
}

// leadLen is the length of the message before the set that is cut: the header, the question, the
// OPT record that the ScrubWriter adds back, and the CNAME chain. Every owner in the answer is the
// question's name or an earlier CNAME's target, so it compresses to a pointer (RFC 1035 4.1.4);
// the ScrubWriter still cuts, with TC, should the sum ever fall short.
func leadLen(state *request.Request, chain []dns.RR) int {
	used := headerLen + len(state.Req.Question[0].Name) + 1 + 4
	if state.Req.IsEdns0() != nil {
		used += optLen
	}
	for _, rr := range chain {
		used += compressedLen(rr)
	}
	return used
}

// compressedLen is the length of rr in a message where its owner compresses to a pointer.
func compressedLen(rr dns.RR) int { return dns.Len(rr) - len(rr.Header().Name) - 1 + pointerLen }

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

// chainLen is the number of CNAMEs that lead rrs: the answer of a query is the chain, then one
// RRset of the asked type, so only the chain is walked and the cost does not grow with the set.
func chainLen(rrs []dns.RR) int {
	start := 0
	for start < len(rrs) && rrs[start].Header().Rrtype == dns.TypeCNAME {
		start++
	}
	return start
}
