// Package index maps lower-case DNS names to precomputed RRsets. Owners (a service, a namespace, a
// zone apex) swap their whole contribution at once, handing back the one they gave before, so
// the index keeps no table of owners; the sets of a name several owners share (a headless
// service's name over its EndpointSlices) are joined when the name is first read.
// Every ancestor of a name, up to its zone apex, exists as an empty non-terminal, so a reader can
// tell NODATA from NXDOMAIN with one lookup. It knows nothing of Kubernetes.
package index

import (
	"hash/maphash"
	"math"
	"strings"
	"sync"
	"unsafe"

	"github.com/miekg/dns"
)

// Marker is the type of a Set that makes a name exist without records of its own
// (for example "svc.<zone>", which the spec requires to be NODATA, not NXDOMAIN).
const Marker uint16 = 0

// Set is one owner's records of one type at one name, and what readers get back. Readers must not
// modify a Set, its slices or its records: they are shared by every query.
type Set struct {
	Name string // lower-case, fully qualified
	// RRs are the answer records followed by the last Glue of them, the glue for the ADDITIONAL
	// section: one array for both, as most sets have no glue and every set is kept for as long as
	// its owner does not change.
	RRs  []dns.RR
	Type uint16
	Glue uint32
	// Lazy builds what is too large or too rarely asked to precompute. It answers names one label
	// below Name that the index does not hold (name is the full lower-case name, label its first
	// label) and, on a set of a type other than Marker without records, with label "", that set at
	// Name itself. It returns the name's sets and whether the name exists.
	Lazy func(name, label string) ([]Set, bool)
}

// Answer returns the records of the ANSWER section, capped so that a plugin appending to a
// response's answer can never write over the glue that follows in the shared array.
func (s *Set) Answer() []dns.RR {
	n := len(s.RRs) - int(s.Glue)
	return s.RRs[:n:n]
}

// Extra returns the glue of the ADDITIONAL section.
func (s *Set) Extra() []dns.RR { return s.RRs[len(s.RRs)-int(s.Glue):] }

const shardCount = 64 // a power of two

// Index is safe for any number of concurrent readers and writers. Writers are serialised; readers
// take one shard's read lock for the duration of a map lookup only.
type Index struct {
	zones  []string // apexes: the walk up to create empty non-terminals stops there
	seed   maphash.Seed
	shards [shardCount]shard

	mu sync.Mutex // serialises writers; guards every node's writer fields
	// sums are each zone's content sum, wire a scratch buffer for its hashes (content.go).
	sums map[string]uint64
	wire []byte
}

type shard struct {
	mu    sync.RWMutex
	nodes map[string]node // by value: one allocation fewer per name, and one pointer fewer to follow
	// joins are the names that several owners (or one owner's sets of one name, not given
	// together) contribute to; every other name publishes its one contribution as it is, a view
	// of its owner's array.
	joins map[string]*joining
}

// node is a name's entry, kept small: a map slot holds its key and the node, and there is one for
// every name served (a million and more in a large cluster). Its published sets are a view of one
// owner's array, kept as the first set and their count, 10 bytes, not a 24-byte slice, so that the
// slot is 32 bytes, not 48.
type node struct {
	first    *Set   // the first published set; nil for none and for a joined name
	n        uint16 // how many
	joined   bool   // several contributions, in the shard's joins
	children int32  // existing names one label below; writers only
}

// maxInline is the most sets a node publishes itself; more (never seen: a name has a set per
// type) go through a joining.
const maxInline = math.MaxUint16

func (n node) sets() []Set {
	if n.first == nil {
		return nil
	}
	return unsafe.Slice(n.first, n.n)
}

func (n *node) publish(sets []Set) {
	n.first, n.n = nil, 0
	if len(sets) > 0 {
		n.first, n.n = &sets[0], uint16(len(sets))
	}
}

// joining is the contributions to a name that several owners give, joined into its sets when the
// name is first read: a change to one of many slices of a service then copies nothing of the
// others' records until the service's name is asked.
type joining struct {
	contribs [][]Set // never changed: a change publishes a new joining
	once     sync.Once
	sets     []Set
}

func (j *joining) get() []Set {
	j.once.Do(func() { j.sets = merge(j.contribs) })
	return j.sets
}

// New returns an empty index for names below the given zone apexes (lower case, fully qualified).
func New(zones []string) *Index {
	ix := &Index{zones: zones, seed: maphash.MakeSeed()}
	for i := range ix.shards {
		ix.shards[i].nodes = map[string]node{}
		ix.shards[i].joins = map[string]*joining{}
	}
	return ix
}

func (ix *Index) shard(name string) *shard {
	return &ix.shards[maphash.String(ix.seed, name)&(shardCount-1)]
}

// Lookup returns the sets at name and whether the name exists. An existing name without records is
// an empty non-terminal. name must be lower case and fully qualified.
func (ix *Index) Lookup(name string) ([]Set, bool) {
	sh := ix.shard(name)
	sh.mu.RLock()
	n, ok := sh.nodes[name]
	var j *joining
	if n.joined {
		j = sh.joins[name]
	}
	sh.mu.RUnlock()
	if j != nil {
		return j.get(), ok
	}
	return n.sets(), ok
}

// Find returns the set of type t among sets, if it has records or builds them.
func Find(sets []Set, t uint16) (*Set, bool) {
	for i := range sets {
		if s := &sets[i]; s.Type == t && (len(s.RRs) > int(s.Glue) || s.lazy()) {
			return s, true
		}
	}
	return nil, false
}

func (s *Set) lazy() bool { return s.Lazy != nil && s.Type != Marker && len(s.RRs) == 0 }

// Resolve returns the set of type t among the sets at name, built if it is lazy.
func Resolve(sets []Set, name string, t uint16) (*Set, bool) {
	s, ok := Find(sets, t)
	if ok && s.lazy() {
		built, _ := s.Lazy(name, "")
		return Find(built, t)
	}
	return s, ok
}

// Synthesize answers a name the index does not hold from its parent's Lazy, if any.
func (ix *Index) Synthesize(name string) ([]Set, bool) {
	i := strings.IndexByte(name, '.')
	if i <= 0 || i == len(name)-1 {
		return nil, false
	}
	parent, _ := ix.Lookup(name[i+1:])
	for _, s := range parent {
		if s.Lazy != nil {
			return s.Lazy(name, name[:i])
		}
	}
	return nil, false
}

// Change is one owner's swap: the contribution it gave last (nil at first) and the one it gives
// now (nil to remove it).
type Change struct{ Old, New []Set }

// Swap takes back an owner's contribution old (what it last gave, nil at first) and gives sets in
// its place (nil to remove it). The index keeps sets, which the caller must not change afterwards,
// and must be handed back as old on the owner's next change. Sets of one name should be given next
// to each other: the index then publishes them as they are, without an array of their own.
func (ix *Index) Swap(old, sets []Set) { ix.SwapAll(Change{Old: old, New: sets}) }

// SwapAll makes several owners' changes as one: each name they touch is published once, so that no
// reader sees some of the changes at a name and not the others.
func (ix *Index) SwapAll(changes ...Change) {
	ix.mu.Lock()
	defer ix.mu.Unlock()

	pending := map[string][][]Set{} // name -> its contributions after this change
	contribs := func(name string) [][]Set {
		if c, ok := pending[name]; ok {
			return c
		}
		n, _ := ix.node(name)
		if n.joined {
			return ix.shard(name).joins[name].contribs
		}
		if n.first == nil {
			return nil
		}
		return [][]Set{n.sets()}
	}
	for _, ch := range changes {
		ix.account(ch.Old, true)
		ix.account(ch.New, false)
		for run := range runs(ch.Old) {
			pending[run[0].Name] = without(contribs(run[0].Name), run)
		}
	}
	for _, ch := range changes {
		for run := range runs(ch.New) {
			c := contribs(run[0].Name)
			// A new array: published contributions must not change under readers.
			pending[run[0].Name] = append(c[:len(c):len(c)], run)
		}
	}
	for name, c := range pending {
		ix.publish(name, c)
	}
}

// runs yields the runs of consecutive sets with the same name.
func runs(sets []Set) func(yield func([]Set) bool) {
	return func(yield func([]Set) bool) {
		for start := 0; start < len(sets); {
			end := start + 1
			for end < len(sets) && sets[end].Name == sets[start].Name {
				end++
			}
			if !yield(sets[start:end:end]) {
				return
			}
			start = end
		}
	}
}

// without returns contribs without run, told apart by the address of its first set.
func without(contribs [][]Set, run []Set) [][]Set {
	for i, c := range contribs {
		if &c[0] == &run[0] {
			return append(contribs[:i:i], contribs[i+1:]...)
		}
	}
	return contribs
}

// node returns the node at name; writers only (no shard lock needed: only writers change maps).
func (ix *Index) node(name string) (node, bool) {
	n, ok := ix.shard(name).nodes[name]
	return n, ok
}

func (ix *Index) put(name string, n node, j *joining) {
	sh := ix.shard(name)
	sh.mu.Lock()
	sh.nodes[name] = n
	if j != nil {
		sh.joins[name] = j
	} else {
		delete(sh.joins, name)
	}
	sh.mu.Unlock()
}

func (ix *Index) remove(name string) {
	sh := ix.shard(name)
	sh.mu.Lock()
	delete(sh.nodes, name)
	delete(sh.joins, name)
	sh.mu.Unlock()
}

// publish makes name answer contribs, creating its ancestors, or removes the name and every
// ancestor that was only there for it.
func (ix *Index) publish(name string, contribs [][]Set) {
	n, exists := ix.node(name)
	if len(contribs) > 0 {
		name = contribs[0][0].Name // the key keeps no string of an owner that went
		if !exists {
			ix.adopt(name, 1)
		}
	}
	var j *joining
	switch {
	case len(contribs) == 0:
		n.publish(nil)
	case len(contribs) == 1 && len(contribs[0]) <= maxInline:
		n.publish(contribs[0])
	default:
		n.publish(nil)
		j = &joining{contribs: contribs}
	}
	n.joined = j != nil
	if exists || len(contribs) > 0 {
		ix.settle(name, n, j)
	}
}

// settle stores n (joining j's contributions, if any) at name, or removes an empty n and tells
// its parent it lost a child.
func (ix *Index) settle(name string, n node, j *joining) {
	if n.first != nil || j != nil || n.children > 0 {
		ix.put(name, n, j)
		return
	}
	ix.remove(name)
	ix.adopt(name, -1)
}

// adopt adds delta to the children of name's parent, creating or removing the parent as needed.
func (ix *Index) adopt(name string, delta int32) {
	parent, ok := ix.parent(name)
	if !ok {
		return
	}
	p, exists := ix.node(parent)
	if !exists {
		ix.adopt(parent, 1)
	}
	p.children += delta
	var j *joining
	if p.joined {
		j = ix.shard(parent).joins[parent]
	}
	ix.settle(parent, p, j)
}

// parent returns the name one label up, unless name is a zone apex or outside every zone.
func (ix *Index) parent(name string) (string, bool) {
	for _, z := range ix.zones {
		if name == z {
			return "", false
		}
	}
	i := strings.IndexByte(name, '.')
	if i < 0 || i == len(name)-1 {
		return "", false
	}
	parent := name[i+1:]
	for _, z := range ix.zones {
		if InZone(parent, z) {
			return parent, true
		}
	}
	return "", false
}

// InZone reports whether name is zone or below it, both lower case and fully qualified, without
// dns.IsSubDomain's allocations: every query asks it, and every name a build adds is walked up to
// its zone.
func InZone(name, zone string) bool {
	return zone == "." || name == zone ||
		(strings.HasSuffix(name, zone) && name[len(name)-len(zone)-1] == '.')
}

// merge makes one array of several contributions' sets: those of a type only one has as they are,
// those of a type several have (the addresses of several EndpointSlices) joined into one set.
func merge(contribs [][]Set) []Set {
	var out []Set
	done := map[uint16]bool{}
	for _, c := range contribs {
		for _, s := range c {
			if s.Type == Marker {
				out = append(out, s)
				continue
			}
			if done[s.Type] {
				continue
			}
			done[s.Type] = true
			out = append(out, joined(contribs, s.Type))
		}
	}
	return out
}

// joined is one set of the answers, then the glue, of the sets of type t among contribs.
func joined(contribs [][]Set, t uint16) Set {
	var group []*Set
	for _, c := range contribs {
		for i := range c {
			if c[i].Type == t {
				group = append(group, &c[i])
			}
		}
	}
	if len(group) == 1 {
		return *group[0]
	}
	n := 0
	for _, s := range group {
		n += len(s.RRs)
	}
	m := Set{Name: group[0].Name, Type: t, RRs: make([]dns.RR, 0, n)}
	for _, s := range group {
		m.RRs = append(m.RRs, s.Answer()...)
	}
	for _, s := range group {
		m.RRs = append(m.RRs, s.Extra()...)
		m.Glue += s.Glue
	}
	if t == dns.TypeSRV {
		SortGlued(m.Answer(), m.Extra())
	}
	return m
}
