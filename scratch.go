package clusterdns

// scratchKeep is the most keys a scratch map keeps its room for between uses: an EndpointSlice
// holds 100 endpoints by default and 1,000 at most, so a change to one never needs more.
const scratchKeep = 1024

// scrub empties a scratch map for its next use, or replaces it with a new one when its last use
// filled it past scratchKeep. Clearing a map, and ranging over it, cost its capacity, not its
// length: once the whole build of a large service had gone through a scratch map, every later
// change of one of its slices paid for that size.
func scrub[K comparable, V any](m map[K]V) map[K]V {
	if m == nil || len(m) > scratchKeep {
		return map[K]V{}
	}
	clear(m)
	return m
}
