package clusterdns

import "github.com/clusterdns/clusterdns/internal/index"

// hold defers the building of records until the returned release, which builds each service the
// held changes touched once, from its objects as they are then. The API source holds the store
// while the first complete list streams in: reflectors deliver Services and EndpointSlices in
// whatever order they arrive, and a service built as it comes would be built again with its
// slices, and its slices one by one. Until the release, the index keeps what it had (nothing, or
// a snapshot's names), so no query sees part of the list. Release is idempotent.
func (s *store) hold() (release func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pending = map[objKey][][]index.Set{}
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		pending := s.pending
		if pending == nil {
			return
		}
		s.pending = nil
		for key, gone := range pending {
			s.rebuildService(key, gone...)
		}
		s.changed()
	}
}

// deferred reports whether the store is held, and if so notes that the service at key is to be
// built on release, taking back gone then (the records of slices it lost meanwhile).
func (s *store) deferred(key objKey, gone ...[]index.Set) bool {
	if s.pending == nil {
		return false
	}
	s.pending[key] = append(s.pending[key], gone...)
	return true
}
