package clusterdns

import (
	"hash/maphash"
	"maps"
	"net/netip"
	"slices"
	"strings"
	"sync"

	"github.com/clusterdns/clusterdns/internal/model"
	"github.com/clusterdns/clusterdns/internal/source"
)

// clientIndex maps a pod's address to the pod, for autopath and the client-* metadata. It is fed by
// the same Pod watch as "pods verified" (the source hands each pod to the store once, and the store
// to both). The watch leaves out host-network pods: their address is their node's, shared by every
// such pod on it (coredns#7120). An address held by more than one pod (a reused IP while the old pod
// terminates, coredns#2842) names no client, nor does one not yet seen (a lagging watch,
// coredns#3765): the query is then answered as it was asked.
//
// A cluster can have 150,000 pods, so a pod costs about 50 bytes here (see BenchmarkHeapClientIndex):
// a fixed-size slot without pointers, its namespace, the prefix of its name (a ReplicaSet's or
// DaemonSet's, shared by its pods) and its client_labels values as counted ids into one table of
// strings, the rest of its name (up to 8 bytes) and its IPv4 address inline; and two open-addressing
// tables of slot numbers, by name and by address, instead of maps of strings and pointers.
type clientIndex struct {
	mu     sync.RWMutex
	seed   maphash.Seed
	pods   []clientPod
	free   []uint32            // free slots of pods
	byName slotTable           // (namespace, name) -> slot
	byAddr slotTable           // address -> slot<<1 | family, several when pods share an address
	addr6  map[uint32][16]byte // slot -> its IPv6 address, for the pods that have one
	strs   countedStrings
}

// clientPod is one pod. ns is 0 in a free slot.
type clientPod struct {
	ns, prefix, labels uint32 // ids in strs; labels 0: none
	suffix             [maxSuffix]byte
	suffixLen          uint8
	has4               bool
	addr4              [4]byte
}

// maxSuffix is the longest end of a name kept inline: a ReplicaSet pod's five random characters,
// a StatefulSet's ordinal, a Job's and a DaemonSet's five.
const maxSuffix = 8

// client is who sends a query, read from the index: the pod that holds the source address.
type client struct {
	namespace      string
	prefix, suffix string // its name, in two
	labels         string // its client_labels as "key\x00value\x00..." (see labelsKey)
}

func (c client) name() string { return c.prefix + c.suffix }

// eachLabel calls f with the metadata key of each client_labels label the pod has and its value.
func (c client) eachLabel(f func(key, value string)) {
	rest := c.labels
	for rest != "" {
		var k, v string
		k, rest, _ = strings.Cut(rest, "\x00")
		v, rest, _ = strings.Cut(rest, "\x00")
		f(k, v)
	}
}

func newClientIndex() *clientIndex {
	return &clientIndex{seed: maphash.MakeSeed(), addr6: map[uint32][16]byte{}, strs: newCountedStrings()}
}

// lookup returns the one pod holding ip, and false if none or several do or ip is not an address.
func (c *clientIndex) lookup(ip string) (client, bool) {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return client{}, false
	}
	a = a.Unmap()
	c.mu.RLock()
	defer c.mu.RUnlock()
	found, n := uint32(0), 0
	c.byAddr.each(c.addrHash(a), func(v uint32) bool {
		if c.holds(v, a) {
			found, n = v>>1, n+1
		}
		return n < 2
	})
	if n != 1 {
		return client{}, false
	}
	p := &c.pods[found]
	return client{
		namespace: c.strs.get(p.ns), prefix: c.strs.get(p.prefix), suffix: string(p.suffix[:p.suffixLen]),
		labels: c.strs.get(p.labels),
	}, true
}

// holds reports whether byAddr's value v (slot<<1 | 1 for IPv6) is address a.
func (c *clientIndex) holds(v uint32, a netip.Addr) bool {
	slot := v >> 1
	if v&1 == 1 {
		return a.Is6() && c.addr6[slot] == a.As16()
	}
	p := &c.pods[slot]
	return a.Is4() && p.has4 && p.addr4 == a.As4()
}

func (c *clientIndex) addrHash(a netip.Addr) uint64 {
	if a.Is4() {
		b := a.As4()
		return maphash.Bytes(c.seed, b[:])
	}
	b := a.As16()
	return maphash.Bytes(c.seed, b[:])
}

// addrValueHash is addrHash of the address byAddr's value v stands for.
func (c *clientIndex) addrValueHash(v uint32) uint64 {
	if v&1 == 1 {
		return c.addrHash(netip.AddrFrom16(c.addr6[v>>1]))
	}
	return c.addrHash(netip.AddrFrom4(c.pods[v>>1].addr4))
}

func (c *clientIndex) nameHash(namespace, prefix, suffix string) uint64 {
	var h maphash.Hash
	h.SetSeed(c.seed)
	h.WriteString(namespace)
	h.WriteByte('/')
	h.WriteString(prefix)
	h.WriteString(suffix)
	return h.Sum64()
}

func (c *clientIndex) slotNameHash(slot uint32) uint64 {
	p := &c.pods[slot]
	return c.nameHash(c.strs.get(p.ns), c.strs.get(p.prefix), string(p.suffix[:p.suffixLen]))
}

// find returns the slot of pod namespace/name.
func (c *clientIndex) find(namespace, name string) (uint32, bool) {
	found, ok := uint32(0), false
	c.byName.each(c.nameHash(namespace, name, ""), func(slot uint32) bool {
		p := &c.pods[slot]
		prefix := c.strs.get(p.prefix)
		if c.strs.get(p.ns) == namespace && strings.HasPrefix(name, prefix) && name[len(prefix):] == string(p.suffix[:p.suffixLen]) {
			found, ok = slot, true
		}
		return !ok
	})
	return found, ok
}

// set records a pod, replacing what it was.
func (c *clientIndex) set(p *model.Pod) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if slot, ok := c.find(p.Namespace, p.Name); ok {
		c.release(slot)
	}
	var slot uint32
	if n := len(c.free); n > 0 {
		slot, c.free = c.free[n-1], c.free[:n-1]
	} else {
		slot = uint32(len(c.pods))
		c.pods = append(c.pods, clientPod{})
	}
	prefix, suffix := splitPodName(p.Name)
	cp := clientPod{ns: c.strs.add(p.Namespace), prefix: c.strs.add(prefix), labels: c.strs.add(labelsKey(p.Labels))}
	cp.suffixLen = uint8(copy(cp.suffix[:], suffix))
	has6 := false
	for _, a := range p.IPs { // core/v1 PodStatus: at most one address per family
		switch a = a.Unmap(); {
		case a.Is4() && !cp.has4:
			cp.has4, cp.addr4 = true, a.As4()
		case a.Is6() && !has6:
			has6, c.addr6[slot] = true, a.As16()
		}
	}
	c.pods[slot] = cp
	c.byName.insert(c.slotNameHash(slot), slot, c.slotNameHash)
	if cp.has4 {
		c.byAddr.insert(c.addrValueHash(slot<<1), slot<<1, c.addrValueHash)
	}
	if has6 {
		c.byAddr.insert(c.addrValueHash(slot<<1|1), slot<<1|1, c.addrValueHash)
	}
}

// remove forgets a pod (its watch event said it is gone).
func (c *clientIndex) remove(namespace, name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if slot, ok := c.find(namespace, name); ok {
		c.release(slot)
	}
}

// retain forgets the pods of namespace ("" for all) that a re-list did not list.
func (c *clientIndex) retain(namespace string, listed []source.ObjectKey) {
	c.mu.Lock()
	defer c.mu.Unlock()
	keep := make(map[uint64]bool, len(listed))
	for _, k := range listed {
		keep[c.nameHash(k.Namespace, k.Name, "")] = true
	}
	for slot := range c.pods {
		p := &c.pods[slot]
		if p.ns != 0 && (namespace == "" || c.strs.get(p.ns) == namespace) && !keep[c.slotNameHash(uint32(slot))] {
			c.release(uint32(slot))
		}
	}
}

// replace swaps every pod for pods.
func (c *clientIndex) replace(pods []*model.Pod) {
	c.mu.Lock()
	c.pods, c.free, c.byName, c.byAddr = nil, nil, slotTable{}, slotTable{}
	c.addr6, c.strs = map[uint32][16]byte{}, newCountedStrings()
	c.mu.Unlock()
	for _, p := range pods {
		c.set(p)
	}
}

// release frees a slot and everything it holds; the caller holds mu.
func (c *clientIndex) release(slot uint32) {
	p := &c.pods[slot]
	c.byName.remove(c.slotNameHash(slot), slot, c.slotNameHash)
	if p.has4 {
		c.byAddr.remove(c.addrValueHash(slot<<1), slot<<1, c.addrValueHash)
	}
	if _, ok := c.addr6[slot]; ok {
		c.byAddr.remove(c.addrValueHash(slot<<1|1), slot<<1|1, c.addrValueHash)
		delete(c.addr6, slot)
	}
	c.strs.release(p.ns)
	c.strs.release(p.prefix)
	c.strs.release(p.labels)
	*p = clientPod{}
	c.free = append(c.free, slot)
}

// splitPodName cuts a pod's name after its last "-" when what follows fits inline; a name
// without such an end is all prefix.
func splitPodName(name string) (prefix, suffix string) {
	if i := strings.LastIndexByte(name, '-'); i >= 0 && len(name)-i-1 <= maxSuffix {
		return name[:i+1], name[i+1:]
	}
	if len(name) <= maxSuffix {
		return "", name
	}
	return name, ""
}

// labelsKey is the client_labels labels of a pod as one string, sorted by name, shared by every
// pod with the same values (a Deployment's): "key\x00value\x00...", where key is the label's
// metadata key (clusterdns/client-label/<name>, built here once rather than at every query),
// "" for none.
func labelsKey(labels map[string]string) string {
	if len(labels) == 0 {
		return ""
	}
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		b.WriteString(metaClientLabel)
		b.WriteString(k)
		b.WriteByte(0)
		b.WriteString(labels[k])
		b.WriteByte(0)
	}
	return b.String()
}
