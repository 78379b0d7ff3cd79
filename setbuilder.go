package clusterdns

import (
	"cmp"
	"net/netip"
	"slices"
	"strings"

	"github.com/clusterdns/clusterdns/internal/index"
	"github.com/clusterdns/clusterdns/internal/model"

	"github.com/miekg/dns"
)

// setBuilder accumulates one owner's records, one set per (name, type). The
// store reuses one for every build (reset by done), so that a build allocates little but what the
// index keeps: garbage allocated between the objects kept would leave the heap fragmented.
type setBuilder struct {
	list []building
	at   map[setKey]int
	slab
	glue    []dns.RR              // addrs' result, until the next call
	ready   []readyEndpoint       // readyEndpoints' result, until the next call
	seen    map[netip.Addr]bool   // readyEndpoints' scratch
	claimed []claimedEndpoint     // headlessSlice's scratch
	ports   map[model.Port]string // headlessSlice's scratch
	// srvs are the SRV records and glue already added, so that a service of thousands of
	// endpoints is built in one pass, not by a scan of its set per record.
	srvs map[srvKey]struct{}
	// claims span the builds of one service's slices: done leaves them, reset starts them over.
	claims claims
}

// slab hands out one owner's records from arrays reserved for the whole build, instead of one
// allocation per record: a large cluster holds hundreds of thousands of records, and fewer, larger
// objects cost less memory and less garbage-collector work. Without a reservation each record
// is allocated on its own.
type slab struct {
	a    []dns.A
	aaaa []dns.AAAA
	srv  []dns.SRV
	ip   []byte
}

func (s *slab) reserve(a, aaaa, srv int) {
	s.a, s.aaaa = make([]dns.A, 0, a), make([]dns.AAAA, 0, aaaa)
	s.srv = make([]dns.SRV, 0, srv)
	s.ip = make([]byte, 0, 4*a+16*aaaa)
}

// take returns the next free element of list, in a new array of its own when list is full: the
// elements already handed out stay where they are.
func take[T any](list *[]T) *T {
	if len(*list) == cap(*list) {
		*list = make([]T, 0, 1)
	}
	*list = (*list)[:len(*list)+1]
	return &(*list)[len(*list)-1]
}

// bytes returns a copy of b from the slab's address bytes.
func (s *slab) bytes(b []byte) []byte {
	if cap(s.ip)-len(s.ip) < len(b) {
		s.ip = make([]byte, 0, len(b))
	}
	start := len(s.ip)
	s.ip = append(s.ip, b...)
	return s.ip[start:len(s.ip):len(s.ip)]
}

// building is a set while its owner's records are being built: answer and glue apart.
type building struct {
	name  string
	t     uint16
	rrs   []dns.RR
	extra []dns.RR
	lazy  func(name, label string) ([]index.Set, bool)
}

// srvKey is an SRV record added at owner for target and port, or with port glueKey, the glue of
// target added at owner.
type srvKey struct {
	owner, target string
	port          int32
}

const glueKey = -1

type setKey struct {
	name string
	t    uint16
}

// add appends rr to the set (name, t) and returns that set; the pointer is good until the next add.
func (s *setBuilder) add(name string, t uint16, rr dns.RR) *building {
	k := setKey{name, t}
	i, ok := s.at[k]
	if !ok {
		if s.at == nil {
			s.at = map[setKey]int{}
		}
		i = len(s.list)
		s.at[k] = i
		s.grow(name, t)
	}
	if rr != nil {
		s.list[i].rrs = append(s.list[i].rrs, rr)
	}
	return &s.list[i]
}

// first records k and reports whether it is new to the build.
func (s *setBuilder) first(k srvKey) bool {
	if _, ok := s.srvs[k]; ok {
		return false
	}
	if s.srvs == nil {
		s.srvs = map[srvKey]struct{}{}
	}
	s.srvs[k] = struct{}{}
	return true
}

// grow appends a building, reusing the arrays of the one a previous build left in that place.
func (s *setBuilder) grow(name string, t uint16) {
	if len(s.list) < cap(s.list) {
		s.list = s.list[:len(s.list)+1]
		b := &s.list[len(s.list)-1]
		*b = building{name: name, t: t, rrs: b.rrs[:0], extra: b.extra[:0]}
		return
	}
	s.list = append(s.list, building{name: name, t: t})
}

// done returns the index sets, by name so that the index can publish a name's sets as they are,
// their records in one array of exactly their size (they are kept for as long as the owner does
// not change), and resets s for the next build.
func (s *setBuilder) done() []index.Set {
	defer s.reset()
	if len(s.list) == 0 {
		return nil
	}
	slices.SortFunc(s.list, func(a, b building) int {
		if c := strings.Compare(a.name, b.name); c != 0 {
			return c
		}
		return cmp.Compare(a.t, b.t)
	})
	n := 0
	for _, b := range s.list {
		n += len(b.rrs) + len(b.extra)
	}
	all := make([]dns.RR, 0, n)
	out := make([]index.Set, len(s.list))
	for i, b := range s.list {
		if b.t == dns.TypeSRV {
			index.SortGlued(b.rrs, b.extra)
		}
		start := len(all)
		all = append(append(all, b.rrs...), b.extra...)
		out[i] = index.Set{
			Name: b.name, Type: b.t, RRs: all[start:len(all):len(all)],
			Glue: uint32(len(b.extra)), Lazy: b.lazy,
		}
	}
	return out
}

// reset forgets the build, keeping the scratch arrays but nothing they pointed to.
func (s *setBuilder) reset() {
	for i := range s.list {
		b := &s.list[i]
		clear(b.rrs)
		clear(b.extra)
		*b = building{rrs: b.rrs[:0], extra: b.extra[:0]}
	}
	s.list = s.list[:0]
	s.at = scrub(s.at)
	s.srvs = scrub(s.srvs)
	s.slab = slab{}
	clear(s.glue)
	s.glue = s.glue[:0]
	clear(s.ready)
	s.ready = s.ready[:0]
}

// addrs returns the A and AAAA records already added at name, for glue, in an array that the next
// call reuses.
func (s *setBuilder) addrs(name string) []dns.RR {
	clear(s.glue)
	s.glue = s.glue[:0]
	for _, t := range []uint16{dns.TypeA, dns.TypeAAAA} {
		if i, ok := s.at[setKey{name, t}]; ok {
			s.glue = append(s.glue, s.list[i].rrs...)
		}
	}
	return s.glue
}
