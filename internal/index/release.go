package index

// Release drops every name and content sum, so that an index still referenced after its owner is
// done with it holds nothing: a lookup then finds no name. Queries may still be running, so each
// shard is emptied under its own lock, as a writer would.
func (ix *Index) Release() {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	for i := range ix.shards {
		sh := &ix.shards[i]
		sh.mu.Lock()
		sh.nodes, sh.joins = map[string]node{}, map[string]*joining{}
		sh.mu.Unlock()
	}
	ix.sums, ix.wire = map[string]uint64{}, nil
}
