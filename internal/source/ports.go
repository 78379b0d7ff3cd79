package source

import (
	"encoding/binary"
	"sync"

	"github.com/clusterdns/clusterdns/internal/model"
)

// maxPortLists bounds the port lists interned: a cluster's services and slices share a few (every
// slice of a service has the service's ports, and most services have one of a handful), and past
// this many distinct lists, sharing would save little. Lists are never let go, so the table costs
// at most about half a megabyte.
const maxPortLists = 4096

// portLists holds the one copy of each port list seen, by its encoding.
var portLists = struct {
	sync.Mutex
	m   map[string][]model.Port
	key []byte
}{m: map[string][]model.Port{}}

// internPorts returns the copy of ports that every object with the same ports shares. Port names
// are interned already.
func internPorts(ports []model.Port) []model.Port {
	if len(ports) == 0 {
		return nil
	}
	portLists.Lock()
	defer portLists.Unlock()
	k := portLists.key[:0]
	for _, p := range ports {
		k = binary.AppendUvarint(k, uint64(len(p.Name)))
		k = append(k, p.Name...)
		k = binary.AppendUvarint(k, uint64(len(p.Protocol)))
		k = append(k, p.Protocol...)
		k = binary.BigEndian.AppendUint16(k, p.Port)
	}
	portLists.key = k
	if shared, ok := portLists.m[string(k)]; ok {
		return shared
	}
	if len(portLists.m) < maxPortLists {
		portLists.m[string(k)] = ports
	}
	return ports
}
