package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
)

// memory is one server's footprint after its first sync.
type memory struct {
	RSS       uint64 // VmRSS, bytes
	HeapInuse uint64 // after a forced GC: the spans holding live objects
	HeapAlloc uint64 // the live objects themselves; HeapInuse minus this is fragmentation
}

// measureMemory forces a GC in the server through pprof and reads its heap and RSS.
func measureMemory(ctx context.Context, s *server) (memory, error) {
	var m memory
	body, err := httpGet(ctx, s.pprofURL+"/heap?gc=1&debug=1")
	if err != nil {
		return m, err
	}
	fields := []struct {
		prefix string
		value  *uint64
	}{{"# HeapInuse = ", &m.HeapInuse}, {"# HeapAlloc = ", &m.HeapAlloc}}
	for line := range strings.Lines(string(body)) {
		for _, f := range fields {
			if v, ok := strings.CutPrefix(line, f.prefix); ok {
				if *f.value, err = strconv.ParseUint(strings.TrimSpace(v), 10, 64); err != nil {
					return m, fmt.Errorf("heap profile of %s: %w", s.name, err)
				}
			}
		}
	}
	if m.HeapInuse == 0 {
		return m, fmt.Errorf("no HeapInuse in the heap profile of %s", s.name)
	}
	if m.RSS, _, err = procStatus(s.PID()); err != nil {
		return m, err
	}
	return m, nil
}
