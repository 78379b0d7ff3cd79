package index

import (
	"cmp"
	"slices"
	"sort"
	"strings"

	"github.com/miekg/dns"
)

// An SRV set keeps its answers ordered by target and its glue by owner name (RFC 2782 gives an
// RRset no order), so that a run of its answers, cut to a client's buffer, finds the glue of just
// its targets by binary search: no walk over the thousands of records of a large service.

// SortGlued orders the answers of an SRV set by target, then port, and its glue by owner, then
// type (A before AAAA). Other sets have no answer-to-glue relation to keep.
func SortGlued(answer, glue []dns.RR) {
	slices.SortStableFunc(answer, func(a, b dns.RR) int {
		x, xok := a.(*dns.SRV)
		y, yok := b.(*dns.SRV)
		if !xok || !yok {
			return 0
		}
		if c := strings.Compare(x.Target, y.Target); c != 0 {
			return c
		}
		return cmp.Compare(x.Port, y.Port)
	})
	slices.SortStableFunc(glue, func(a, b dns.RR) int {
		if c := strings.Compare(a.Header().Name, b.Header().Name); c != 0 {
			return c
		}
		return cmp.Compare(a.Header().Rrtype, b.Header().Rrtype)
	})
}

// GlueStart returns where, in glue ordered by SortGlued, the glue of target starts: the first
// record owned by target or a name after it.
func GlueStart(glue []dns.RR, target string) int {
	return sort.Search(len(glue), func(i int) bool { return glue[i].Header().Name >= target })
}
