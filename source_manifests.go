package clusterdns

import (
	"context"
	"fmt"

	"github.com/clusterdns/clusterdns/internal/source/manifests"
)

// manifestSource serves Kubernetes objects from manifest files: ready once they are loaded, then
// reloaded when a file changes. A file that breaks on reload is logged and its last good objects
// keep being served.
type manifestSource struct {
	files *manifests.Source
	at    string // the manifests directive's place in the Corefile, for errors
}

func (s *manifestSource) Start(ctx context.Context, st *store, synced func()) error {
	snap, err := s.files.Load()
	if err != nil {
		return fmt.Errorf("%s: manifests: %w", s.at, err)
	}
	st.Replace(snap)
	synced()
	s.files.OnError = func(err error) { log.Errorf("manifests: %v; serving the last good data of that file", err) }
	go s.files.Run(ctx, st, manifestsPoll)
	return nil
}
