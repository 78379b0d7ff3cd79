package clusterdns

import (
	"slices"
	"strings"

	"github.com/clusterdns/clusterdns/internal/index"
	"github.com/clusterdns/clusterdns/internal/model"
	"github.com/clusterdns/clusterdns/internal/source"
)

// imports are the ServiceImports (multicluster) the store holds, each with the EndpointSlices an
// MCS controller wrote for it. An import's records are rebuilt whole when it or one of its slices
// changes: an import has one slice per exporting cluster or a few, not the thousands a local
// headless service can have.
type imports struct {
	byKey  map[objKey]*importEntry // by the import's key; also entries of slices whose import is not here yet
	slices map[objKey]*model.ImportedSlice
}

type importEntry struct {
	imp    *model.ServiceImport // nil until the import itself comes
	slices []*model.ImportedSlice
	own    []index.Set // what it gives the index
}

// init makes the maps on first use: without multicluster they stay nil.
func (m *imports) init() {
	if m.byKey == nil {
		m.byKey, m.slices = map[objKey]*importEntry{}, map[objKey]*model.ImportedSlice{}
	}
}

func (s *store) importEntry(key objKey) *importEntry {
	s.mc.init()
	e, ok := s.mc.byKey[key]
	if !ok {
		e = &importEntry{}
		s.mc.byKey[key] = e
	}
	return e
}

// rebuildImport swaps an import's records for new ones, none while its namespace is not served,
// and forgets an entry left with neither import nor slices.
func (s *store) rebuildImport(key objKey) {
	e := s.importEntry(key)
	var sets []index.Set
	if e.imp != nil && s.exposed(key.namespace) {
		sets = s.b.serviceImport(&s.build, e.imp, e.slices)
	}
	s.ix.Swap(e.own, sets)
	e.own = sets
	if e.imp == nil && len(e.slices) == 0 {
		delete(s.mc.byKey, key)
	}
}

func (s *store) UpsertServiceImport(imp *model.ServiceImport) {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := objKey{imp.Namespace, imp.Name}
	s.importEntry(key).imp = imp
	s.rebuildImport(key)
	s.changed()
}

func (s *store) DeleteServiceImport(namespace, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.mc.byKey[objKey{namespace, name}]; ok && e.imp != nil {
		e.imp = nil
		s.rebuildImport(objKey{namespace, name})
		s.changed()
	}
}

func (s *store) UpsertImportedSlice(sl *model.ImportedSlice) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.opts.noEndpoints {
		return
	}
	s.mc.init()
	key := objKey{sl.Namespace, sl.Service}
	if old, ok := s.mc.slices[objKey{sl.Namespace, sl.Name}]; ok && old.Service != sl.Service {
		s.removeImportedSlice(objKey{sl.Namespace, sl.Name}) // moved to another import
	}
	s.mc.slices[objKey{sl.Namespace, sl.Name}] = sl
	e := s.importEntry(key)
	// By name, so that a rebuild gives the same records whatever order the slices came in; a new
	// version takes the old one's place, so that the import is rebuilt once, never without it.
	i, found := slices.BinarySearchFunc(e.slices, sl.Name, func(x *model.ImportedSlice, name string) int { return strings.Compare(x.Name, name) })
	if found {
		e.slices[i] = sl
	} else {
		e.slices = slices.Insert(e.slices, i, sl)
	}
	s.rebuildImport(key)
	s.changed()
}

func (s *store) DeleteImportedSlice(namespace, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.removeImportedSlice(objKey{namespace, name}) {
		s.changed()
	}
}

// removeImportedSlice forgets a slice and rebuilds the import it belonged to.
func (s *store) removeImportedSlice(key objKey) bool {
	old, ok := s.mc.slices[key]
	if !ok {
		return false
	}
	delete(s.mc.slices, key)
	impKey := objKey{old.Namespace, old.Service}
	e := s.importEntry(impKey)
	e.slices = slices.DeleteFunc(e.slices, func(x *model.ImportedSlice) bool { return x == old })
	s.rebuildImport(impKey)
	return true
}

// retainImports deletes the imports or imported slices in namespace ("" for all) that a re-list
// no longer has.
func (s *store) retainImports(kind source.Kind, namespace string, keep map[objKey]bool) {
	stale := func(k objKey) bool { return !keep[k] && (namespace == "" || k.namespace == namespace) }
	switch kind {
	case source.ServiceImports:
		for k, e := range s.mc.byKey {
			if e.imp != nil && stale(k) {
				e.imp = nil
				s.rebuildImport(k)
			}
		}
	case source.ImportedSlices:
		for k := range s.mc.slices {
			if stale(k) {
				s.removeImportedSlice(k)
			}
		}
	}
}

// importsExposureChanged follows a namespace appearing or going (namespace_labels).
func (s *store) importsExposureChanged(ns string) {
	for key := range s.mc.byKey {
		if key.namespace == ns {
			s.rebuildImport(key)
		}
	}
}
