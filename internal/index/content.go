package index

import (
	"slices"
	"strings"

	"github.com/cespare/xxhash/v2"
	"github.com/miekg/dns"
)

// The content of a zone, for its SOA serial and its transfer (RFC 5936).
//
// Each zone keeps the sum, modulo 2^64, of a hash of each record it holds: a sum, not a XOR, so
// that a record given by two owners counts twice and taking one back leaves the other counted.
// Swap adds the records given and subtracts those taken back, so the sum costs each change only its
// own records, and two indexes holding the same records hold the same sum whatever order the
// changes came in. The hash has no seed: replicas must agree. The SOA is left out, as it carries
// the serial derived from the sum; so are lazy sets, which hold no records until asked.

// account adds (or, with take, subtracts) the hashes of the records of sets to their zones' sums.
// Writers only.
func (ix *Index) account(sets []Set, take bool) {
	for i := range sets {
		s := &sets[i]
		if s.Type == Marker || s.Type == dns.TypeSOA {
			continue
		}
		zone, ok := ix.zoneOf(s.Name)
		if !ok {
			continue
		}
		var sum uint64
		for _, rr := range s.Answer() {
			sum += ix.hashRR(rr)
		}
		if ix.sums == nil {
			ix.sums = map[string]uint64{}
		}
		if take {
			ix.sums[zone] -= sum
		} else {
			ix.sums[zone] += sum
		}
	}
}

// hashRR hashes a record: its owner, type, class, TTL and data. The types a zone here holds are
// hashed field by field (packing each costs as much as building it); any other by its wire form
// (RFC 1035 4.1.3, names uncompressed). Writers only: the buffer is the index's.
func (ix *Index) hashRR(rr dns.RR) uint64 {
	hd := rr.Header()
	h := hashString(hashStart, hd.Name)
	h = hashUint(h, uint64(hd.Rrtype)<<48|uint64(hd.Class)<<32|uint64(hd.Ttl))
	switch r := rr.(type) {
	case *dns.A:
		h = hashBytes(h, r.A)
	case *dns.AAAA:
		h = hashBytes(h, r.AAAA)
	case *dns.PTR:
		h = hashString(h, r.Ptr)
	case *dns.CNAME:
		h = hashString(h, r.Target)
	case *dns.NS:
		h = hashString(h, r.Ns)
	case *dns.SRV:
		h = hashUint(h, uint64(r.Priority)<<32|uint64(r.Weight)<<16|uint64(r.Port))
		h = hashString(h, r.Target)
	case *dns.TXT:
		for _, t := range r.Txt {
			h = hashString(h, t)
		}
	default:
		if n := dns.Len(rr); len(ix.wire) < n {
			ix.wire = make([]byte, n)
		}
		off, err := dns.PackRR(rr, ix.wire, 0, nil, false)
		if err != nil {
			// A record that cannot be packed is never answered either; its text still counts.
			return hashString(h, rr.String())
		}
		h = hashBytes(h, ix.wire[:off])
	}
	return h
}

// A hash of fields chains each field's xxhash (which covers its length, so "ab","c" is not
// "a","bc") through splitmix64's finaliser, which makes the chain depend on the fields' order. It
// has no seed, so replicas agree. xxhash reads 8 bytes a step: a change hashes every record it
// takes back and gives, and owner names are long.
const hashStart = 14695981039346656037

func hashString(h uint64, s string) uint64 { return mix(h ^ xxhash.Sum64String(s)) }

func hashBytes(h uint64, b []byte) uint64 { return mix(h ^ xxhash.Sum64(b)) }

func hashUint(h, v uint64) uint64 { return mix(h ^ mix(v)) }

// Hash hashes fields the way the content sums hash records, for what a plugin keeps outside the
// index but a zone's content must count (a reverse zone's PTRs, built when asked): a sum of Sums
// is as strong as the index's own.
type Hash uint64

// NewHash starts a hash.
func NewHash() Hash { return hashStart }

// String adds a field.
func (h Hash) String(s string) Hash { return Hash(hashString(uint64(h), s)) }

// Bytes adds a field.
func (h Hash) Bytes(b []byte) Hash { return Hash(hashBytes(uint64(h), b)) }

// Uint adds a field.
func (h Hash) Uint(v uint64) Hash { return Hash(hashUint(uint64(h), v)) }

// Sum ends the hash.
func (h Hash) Sum() uint64 { return uint64(h) }

// mix is splitmix64's finaliser.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ x>>31
}

// zoneOf returns the most specific zone apex name is in.
func (ix *Index) zoneOf(name string) (string, bool) {
	best := ZoneOf(name, ix.zones)
	return best, best != ""
}

// ZoneOf returns the most specific of zones that name is in, "" if none.
func ZoneOf(name string, zones []string) string {
	best := ""
	for _, z := range zones {
		if len(z) > len(best) && InZone(name, z) {
			best = z
		}
	}
	return best
}

// Content returns the sum of the hashes of a zone's records (see above); it changes exactly when
// the records do, short of a 64-bit collision.
func (ix *Index) Content(zone string) uint64 {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	return ix.sums[zone]
}

// Named is one name's sets.
type Named struct {
	Name string
	Sets []Set
}

// Zone returns every name of a zone that has sets, sorted, as one state: writers wait while the
// names are gathered, readers do not. The sets are shared, as Lookup's are.
func (ix *Index) Zone(zone string) []Named {
	ix.mu.Lock()
	var out []Named
	var joins []*joining // of out's names that are joined, in order
	for i := range ix.shards {
		// No shard lock: writers change the maps, and they wait on ix.mu.
		sh := &ix.shards[i]
		for name, n := range sh.nodes {
			if z, _ := ix.zoneOf(name); z != zone || (n.first == nil && !n.joined) {
				continue
			}
			var j *joining
			if n.joined {
				j = sh.joins[name]
			}
			out = append(out, Named{Name: name, Sets: n.sets()})
			joins = append(joins, j)
		}
	}
	ix.mu.Unlock()
	// Joined outside the lock: a joining's contributions never change once published.
	for i, j := range joins {
		if j != nil {
			out[i].Sets = j.get()
		}
	}
	slices.SortFunc(out, func(a, b Named) int { return strings.Compare(a.Name, b.Name) })
	return out
}
