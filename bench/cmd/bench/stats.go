package main

import (
	"cmp"
	"math"
	"slices"
)

// quantile is the nearest-rank q-quantile of sorted values (zero if empty).
func quantile[T cmp.Ordered](sorted []T, q float64) T {
	var zero T
	if len(sorted) == 0 {
		return zero
	}
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// median of unsorted values.
func median[T cmp.Ordered](values []T) T {
	s := slices.Clone(values)
	slices.Sort(s)
	return quantile(s, 0.5)
}

// ratios divides a[i] by b[i], round by round.
func ratios(a, b []float64) []float64 {
	out := make([]float64, 0, len(a))
	for i := range min(len(a), len(b)) {
		if b[i] > 0 {
			out = append(out, a[i]/b[i])
		}
	}
	return out
}
