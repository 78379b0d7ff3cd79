package clusterdns

import "github.com/clusterdns/clusterdns/internal/model"

// matchingEnds counts the endpoints at the start and at the end of two versions of a slice that
// hold the same address and name (so the same keys), in the same order: prefix from the start,
// suffix from the end, never overlapping. The EndpointSlice controller keeps an endpoint in its
// place across updates, so a rolling update's change of one endpoint leaves the others in these
// two runs, and the updates that follow the endpoints by key need to look up only what lies
// between them.
func matchingEnds(old, now model.Endpoints) (prefix, suffix int) {
	n := min(old.Len(), now.Len())
	for prefix < n && old.SameAt(prefix, now, prefix) {
		prefix++
	}
	for suffix < n-prefix && old.SameAt(old.Len()-1-suffix, now, now.Len()-1-suffix) {
		suffix++
	}
	return prefix, suffix
}
