// Package index maps lower-case DNS names to precomputed RRsets. Owners (a service, a pod, a zone
// apex) replace their whole contribution at once; names shared by several owners (a pod IP's PTR)
// merge. Every ancestor of a name, up to its zone apex, exists as an empty non-terminal, so a
// reader can tell NODATA from NXDOMAIN with one lookup. It knows nothing of Kubernetes.
package index

import (
	"hash/maphash"
	"strings"
	"sync"

	"github.com/miekg/dns"
)

// Marker is the type of a Set that makes a name exist without records of its own
// (for example "svc.<zone>", which the spec requires to be NODATA, not NXDOMAIN).
const Marker uint16 = 0

// Set is one owner's records of one type at one name, and what readers get back. Readers must not
// modify a Set, its slices or its records: they are shared by every query.
type Set struct {
	Name  string // lower-case, fully qualified
	Type  uint16
	RRs   []dns.RR
	Extra []dns.RR // glue for the ADDITIONAL section
	// Children, on a Marker, answers names one label below Name that the index does not hold, for
	// name spaces too large or too rarely asked to precompute. name is the full lower-case name,
	// label its first label; it returns the name's sets and whether the name exists.
	Children func(name, label string) ([]*Set, bool)
}

const shardCount = 64 // a power of two

// Index is safe for any number of concurrent readers and writers. Writers are serialised; readers
// take one shard's read lock for the duration of a map lookup only.
type Index struct {
	zones  []string // apexes: the walk up to create empty non-terminals stops there
	seed   maphash.Seed
	shards [shardCount]shard

	mu     sync.Mutex // serialises writers; guards owners and every node's writer fields
	owners map[string][]Set
}

type shard struct {
	mu    sync.RWMutex
	nodes map[string]*node
}

type node struct {
	sets []*Set // published: written under the shard lock, read by readers

	// Writer-only fields, guarded by Index.mu.
	contribs []*Set
	children int // existing names one label below
}

func (n *node) empty() bool { return len(n.contribs) == 0 && n.children == 0 }

// New returns an empty index for names below the given zone apexes (lower case, fully qualified).
func New(zones []string) *Index {
	ix := &Index{zones: zones, seed: maphash.MakeSeed(), owners: map[string][]Set{}}
	for i := range ix.shards {
		ix.shards[i].nodes = map[string]*node{}
	}
	return ix
}

func (ix *Index) shard(name string) *shard {
	return &ix.shards[maphash.String(ix.seed, name)&(shardCount-1)]
}

// Lookup returns the sets at name and whether the name exists. An existing name without records is
// an empty non-terminal. name must be lower case and fully qualified.
func (ix *Index) Lookup(name string) ([]*Set, bool) {
	sh := ix.shard(name)
	sh.mu.RLock()
	n, ok := sh.nodes[name]
	var sets []*Set
	if ok {
		sets = n.sets
	}
	sh.mu.RUnlock()
	return sets, ok
}

// Find returns the set of type t among sets, if it has records.
func Find(sets []*Set, t uint16) (*Set, bool) {
	for _, s := range sets {
		if s.Type == t && len(s.RRs) > 0 {
			return s, true
		}
	}
	return nil, false
}

// Synthesize answers a name the index does not hold from its parent's Children, if any.
func (ix *Index) Synthesize(name string) ([]*Set, bool) {
	i := strings.IndexByte(name, '.')
	if i <= 0 || i == len(name)-1 {
		return nil, false
	}
	parent, _ := ix.Lookup(name[i+1:])
	for _, s := range parent {
		if s.Children != nil {
			return s.Children(name, name[:i])
		}
	}
	return nil, false
}

// Replace swaps everything owner contributes for sets; nil sets remove the owner.
func (ix *Index) Replace(owner string, sets []Set) {
	ix.mu.Lock()
	defer ix.mu.Unlock()

	touched := map[string]struct{}{}
	old := ix.owners[owner]
	for i := range old {
		s := &old[i]
		touched[s.Name] = struct{}{}
		if n := ix.node(s.Name); n != nil {
			n.contribs = removePtr(n.contribs, s)
		}
	}
	if len(sets) == 0 {
		delete(ix.owners, owner)
	} else {
		sets = append([]Set(nil), sets...) // the index keeps pointers into its own copy
		ix.owners[owner] = sets
	}
	for i := range sets {
		s := &sets[i]
		touched[s.Name] = struct{}{}
		n := ix.node(s.Name)
		if n == nil {
			n = ix.create(s.Name)
		}
		n.contribs = append(n.contribs, s)
	}
	for name := range touched {
		ix.republish(name)
	}
}

// Owners reports how many owners have records in the index.
func (ix *Index) Owners() int {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	return len(ix.owners)
}

// node returns the node at name; writers only (no shard lock needed: only writers change maps).
func (ix *Index) node(name string) *node { return ix.shard(name).nodes[name] }

func (ix *Index) put(name string, n *node) {
	sh := ix.shard(name)
	sh.mu.Lock()
	if n == nil {
		delete(sh.nodes, name)
	} else {
		sh.nodes[name] = n
	}
	sh.mu.Unlock()
}

// create adds an empty node at name and makes its ancestors exist, counting it as their child.
func (ix *Index) create(name string) *node {
	n := &node{}
	ix.put(name, n)
	if parent, ok := ix.parent(name); ok {
		p := ix.node(parent)
		if p == nil {
			p = ix.create(parent)
		}
		p.children++
	}
	return n
}

// republish rebuilds the readers' view of name, or removes the name and any ancestor that was
// only there for it.
func (ix *Index) republish(name string) {
	n := ix.node(name)
	if n == nil {
		return
	}
	if n.empty() {
		ix.put(name, nil)
		if parent, ok := ix.parent(name); ok {
			if p := ix.node(parent); p != nil {
				p.children--
				ix.republish(parent)
			}
		}
		return
	}
	sets := merge(n.contribs)
	sh := ix.shard(name)
	sh.mu.Lock()
	n.sets = sets
	sh.mu.Unlock()
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
		if dns.IsSubDomain(z, parent) {
			return parent, true
		}
	}
	return "", false
}

// merge groups contributions by type. Names with one contribution per type (almost all) publish
// the contributions themselves; only shared types (a PTR of several services) get a merged Set.
func merge(contribs []*Set) []*Set {
	shared := false
	for i, c := range contribs {
		for _, d := range contribs[:i] {
			shared = shared || (c.Type == d.Type && c.Type != Marker)
		}
	}
	if !shared {
		return contribs[:len(contribs):len(contribs)]
	}
	var sets []*Set
	at := map[uint16]*Set{}
	for _, c := range contribs {
		m, ok := at[c.Type]
		if !ok || c.Type == Marker {
			m = &Set{Name: c.Name, Type: c.Type, Children: c.Children}
			at[c.Type] = m
			sets = append(sets, m)
		}
		m.RRs = append(m.RRs, c.RRs...)
		m.Extra = append(m.Extra, c.Extra...)
	}
	return sets
}

func removePtr(list []*Set, s *Set) []*Set {
	for i, c := range list {
		if c == s {
			return append(list[:i:i], list[i+1:]...)
		}
	}
	return list
}
