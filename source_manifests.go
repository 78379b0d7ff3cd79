package clusterdns

import (
	"context"
	"fmt"

	"github.com/clusterdns/clusterdns/internal/kube"
)

// manifestSource serves Kubernetes objects from manifest files: ready once they are loaded, then
// reloaded when a file changes. A file that breaks on reload is logged and its last good objects
// keep being served.
type manifestSource struct {
	m *kube.Manifests
}

func (s *manifestSource) Start(ctx context.Context, st *store, synced func()) error {
	snap, err := s.m.Load()
	if err != nil {
		return fmt.Errorf("manifests: %w", err)
	}
	st.Replace(snap)
	synced()
	s.m.OnError = func(err error) { log.Errorf("manifests: %v; serving the last good data of that file", err) }
	go s.m.Run(ctx, st, manifestsPoll)
	return nil
}
