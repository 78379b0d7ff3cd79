package clusterdns

import "strings"

// slotTable is a hash table of uint32 values whose keys live elsewhere (in the client index's
// slots): open addressing with linear probing, 4 bytes a cell, kept at most 7/8 full, and
// backward-shift deletion, so that no tombstone lengthens a search. At 7/8 a search looks at 4.5
// cells on average when it finds its key and 32 when it does not (Knuth), 16 to a cache line. The caller passes the key's
// hash and, where cells move, a function giving a stored value's hash. Several values may share
// a key (pods sharing an address).
type slotTable struct {
	cells []uint32 // value+1; 0 is an empty cell
	n     int
}

// each calls f with every value in the probe run of hash h, candidates the caller compares with its
// key, until f returns false.
func (t *slotTable) each(h uint64, f func(v uint32) bool) {
	if len(t.cells) == 0 {
		return
	}
	mask := uint64(len(t.cells) - 1)
	for i := h & mask; t.cells[i] != 0; i = (i + 1) & mask {
		if !f(t.cells[i] - 1) {
			return
		}
	}
}

// insert adds v under hash h.
func (t *slotTable) insert(h uint64, v uint32, hashOf func(uint32) uint64) {
	if (t.n+1)*8 > len(t.cells)*7 {
		t.grow(hashOf)
	}
	mask := uint64(len(t.cells) - 1)
	i := h & mask
	for t.cells[i] != 0 {
		i = (i + 1) & mask
	}
	t.cells[i] = v + 1
	t.n++
}

func (t *slotTable) grow(hashOf func(uint32) uint64) {
	old := t.cells
	t.cells = make([]uint32, max(16, 2*len(old)))
	t.n = 0
	for _, c := range old {
		if c != 0 {
			t.insert(hashOf(c-1), c-1, hashOf)
		}
	}
}

// remove deletes v, stored under hash h, and moves back the cells after it that its cell kept
// from their home (Knuth's Algorithm R).
func (t *slotTable) remove(h uint64, v uint32, hashOf func(uint32) uint64) {
	if len(t.cells) == 0 {
		return
	}
	mask := uint64(len(t.cells) - 1)
	i := h & mask
	for t.cells[i] != v+1 {
		if t.cells[i] == 0 {
			return
		}
		i = (i + 1) & mask
	}
	for j := (i + 1) & mask; t.cells[j] != 0; j = (j + 1) & mask {
		home := hashOf(t.cells[j]-1) & mask
		// The cell at j may move to the hole at i if its home is not in (i, j], cyclically.
		if (i < j && (home <= i || home > j)) || (i > j && home <= i && home > j) {
			t.cells[i] = t.cells[j]
			i = j
		}
	}
	t.cells[i] = 0
	t.n--
}

// countedStrings holds strings shared by many pods (namespaces, name prefixes, label values) once,
// each under a uint32 id, counted so that the last pod to let go of one frees it. Id 0 is "".
type countedStrings struct {
	ids  map[string]uint32
	strs []string
	refs []uint32
	free []uint32
}

func newCountedStrings() countedStrings {
	return countedStrings{ids: map[string]uint32{}, strs: []string{""}, refs: []uint32{0}}
}

func (s *countedStrings) get(id uint32) string { return s.strs[id] }

// add counts one more holder of str and returns its id. A new string is copied, so that it
// keeps no larger string alive.
func (s *countedStrings) add(str string) uint32 {
	if str == "" {
		return 0
	}
	if id, ok := s.ids[str]; ok {
		s.refs[id]++
		return id
	}
	str = strings.Clone(str)
	var id uint32
	if n := len(s.free); n > 0 {
		id, s.free = s.free[n-1], s.free[:n-1]
		s.strs[id], s.refs[id] = str, 1
	} else {
		id = uint32(len(s.strs))
		s.strs, s.refs = append(s.strs, str), append(s.refs, 1)
	}
	s.ids[str] = id
	return id
}

// release counts one holder less of id.
func (s *countedStrings) release(id uint32) {
	if id == 0 {
		return
	}
	if s.refs[id]--; s.refs[id] == 0 {
		delete(s.ids, s.strs[id])
		s.strs[id] = ""
		s.free = append(s.free, id)
	}
}
