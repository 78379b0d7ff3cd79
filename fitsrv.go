package clusterdns

import (
	"github.com/clusterdns/clusterdns/internal/index"

	"github.com/coredns/coredns/request"
	"github.com/miekg/dns"
)

// Fitting a large SRV answer, such as a headless service's of thousands of endpoints, into the
// client's buffer (docs/spec-rules.md rule 16, RFC 1035 4.2.1, RFC 6891 6.2.5). An SRV record's
// length depends on its target, which is written in full (RFC 2782: no compression), so records
// are measured one by one, but only as many as the buffer holds: the cost is bounded by the
// message, not by the set. An SRV set keeps its answers ordered by target and its glue by owner
// (index.SortGlued), so the glue of a run of its answers is a binary search away, and a subslice.

// maxPointer is the last offset that a compression pointer reaches (RFC 1035 4.1.4: 14 bits). A
// glue record's owner compresses to its SRV target's copy only if that target starts before it.
const maxPointer = 1<<14 - 1

// srvTargetOffset is where an SRV record's target starts, from the record's start: the owner's
// pointer, TYPE, CLASS, TTL, RDLENGTH, then PRIORITY, WEIGHT and PORT (RFC 2782).
const srvTargetOffset = pointerLen + rrFixedLen + 6

// fitSRV cuts the SRV set behind chain to the client's buffer and returns what is kept of it and
// of its glue. When every SRV record fits, the glue that still fits goes with them, without TC
// (RFC 2181 9: TC is for the answer, not for additional data). Otherwise, by default, the records
// that fit, no glue, and TC: the client asks again over TCP (RFC 7766) and ignores this answer's
// records (RFC 2181 9). With udp_fit, a UDP answer is instead a window of whole SRV records with
// the glue of their targets, rotated across queries, without TC.
func (cd *ClusterDNS) fitSRV(state *request.Request, chain, set, glue []dns.RR) (cut, extra []dns.RR, truncated bool) {
	used := leadLen(state, chain)
	if k, n := srvRun(set, dns.MinMsgSize-used); k == len(set) && glueFit(glue, dns.MinMsgSize-used-n, used+n <= maxPointer) == len(glue) {
		return set, glue, false // fits the smallest buffer (512 bytes): the client's need not be worked out
	}
	size := state.Size()
	k, n := srvRun(set, size-used)
	if k == len(set) {
		end := used + n
		g := glueFit(glue, size-end, end <= maxPointer)
		return set, glue[:g:g], false
	}
	if cd.udpFit && state.Proto() == "udp" {
		return cd.srvWindow(set, glue, used, size)
	}
	return set[:k:k], nil, true
}

// srvRun returns how many of the SRV records of set fit in budget bytes, from the first, and
// their length.
func srvRun(set []dns.RR, budget int) (k, n int) {
	for _, rr := range set {
		l := compressedLen(rr)
		if n+l > budget {
			break
		}
		n += l
		k++
	}
	return k, n
}

// glueFit returns how many of the glue records fit in budget bytes; their owners compress to
// pointers when every SRV target was written within a pointer's reach.
func glueFit(glue []dns.RR, budget int, pointers bool) int {
	n := 0
	for i, rr := range glue {
		l := dns.Len(rr)
		if pointers {
			l = compressedLen(rr)
		}
		if n+l > budget {
			return i
		}
		n += l
	}
	return len(glue)
}

// srvWindow is a udp_fit answer: whole SRV records from the srvTurn-th, each new target's glue
// counted with its record, until the buffer (used bytes before the set) is full. The turn moves on
// by as many records as the answer carried, and the window stops at the set's end, so repeated
// queries reach every target. The window and its glue are subslices of the shared arrays, capped
// so that a writer appending (the ScrubWriter adds the OPT record) copies them. If not even one
// record fits, none, with TC.
func (cd *ClusterDNS) srvWindow(set, glue []dns.RR, used, size int) (cut, extra []dns.RR, truncated bool) {
	lo := int(cd.srvTurn.Load() % uint64(len(set)))
	g0 := index.GlueStart(glue, srvTarget(set[lo]))
	g, n, k, prev := g0, used, 0, ""
	for _, rr := range set[lo:] {
		l, next := compressedLen(rr), g
		if t := srvTarget(rr); t != prev {
			pointers := n+srvTargetOffset <= maxPointer
			for ; next < len(glue) && glue[next].Header().Name <= t; next++ {
				if pointers {
					l += compressedLen(glue[next])
				} else {
					l += dns.Len(glue[next])
				}
			}
			prev = t
		}
		if n+l > size {
			break
		}
		n, k, g = n+l, k+1, next
	}
	if k == 0 {
		return set[:0], nil, true
	}
	cd.srvTurn.Add(uint64(k))
	return set[lo : lo+k : lo+k], glue[g0:g:g], false
}

func srvTarget(rr dns.RR) string {
	if s, ok := rr.(*dns.SRV); ok {
		return s.Target
	}
	return ""
}
