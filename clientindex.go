package clusterdns

import (
	"hash/maphash"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"

	"github.com/clusterdns/clusterdns/internal/model"
	"github.com/clusterdns/clusterdns/internal/source"

	"github.com/miekg/dns"
)

// clientIndex maps a pod's address to the pod, for autopath and the client-* metadata, and answers
// which addresses a namespace's pods hold, for "pods verified": the pods are held once, here, fed by
// one Pod watch. The watch leaves out host-network pods: their address is their node's, shared by every
// such pod on it (coredns#7120). An address held by more than one pod (a reused IP while the old pod
// terminates, coredns#2842) names no client, nor does one not yet seen (a lagging watch,
// coredns#3765): the query is then answered as it was asked.
//
// A cluster can have 150,000 pods, so a pod costs about 50 bytes here (see BenchmarkHeapClientIndex):
// a 24-byte slot without pointers, in chunks that never grow: its namespace, the prefix of its name
// (a ReplicaSet's or DaemonSet's, shared by its pods) and its client_labels values as counted ids
// into one table of strings, the rest of its name (up to 8 bytes) and its IPv4 address inline; and
// two open-addressing tables of slot numbers, by name and by address, instead of maps of strings
// and pointers.
type clientIndex struct {
	mu     sync.RWMutex
	seed   maphash.Seed
	chunks [][]clientPod       // slot i is chunks[i/chunkSlots][i%chunkSlots]
	free   []uint32            // free slots
	byName slotTable           // (namespace, name) -> slot
	byAddr slotTable           // address -> slot<<1 | family, several when pods share an address
	addr6  map[uint32][16]byte // slot -> its IPv6 address, for the pods that have one
	strs   countedStrings
	// labelKeys are the metadata keys of the client_labels labels, sorted by label name, in the
	// order their values are kept (see labelsKey).
	labelKeys []string
}

// chunkSlots is the size of a chunk of slots: full chunks are never copied, and at most one is
// part empty.
const chunkSlots = 1024

// clientPod is one pod. ns is 0 in a free slot, addr4 all zero without an IPv4 address (0.0.0.0
// is no pod's), suffix padded with zeros (no name has one).
type clientPod struct {
	ns, prefix, labels uint32 // ids in strs; labels 0: none
	suffix             [maxSuffix]byte
	addr4              [4]byte
}

func (p *clientPod) has4() bool { return p.addr4 != [4]byte{} }

func (p *clientPod) suffixString() string {
	n := 0
	for n < maxSuffix && p.suffix[n] != 0 {
		n++
	}
	return string(p.suffix[:n])
}

func (c *clientIndex) pod(slot uint32) *clientPod { return &c.chunks[slot/chunkSlots][slot%chunkSlots] }

// maxSuffix is the longest end of a name kept inline: a ReplicaSet pod's five random characters,
// a StatefulSet's ordinal, a Job's and a DaemonSet's five.
const maxSuffix = 8

// client is who sends a query, read from the index: the pod that holds the source address. Reading
// it allocates nothing: its name is put together only when asked.
type client struct {
	namespace string
	prefix    string // its name, with suffix
	suffix    clientPod
	labels    string   // its client_labels values (see labelsKey)
	labelKeys []string // their metadata keys
}

func (c client) name() string { return c.prefix + c.suffix.suffixString() }

// eachLabel calls f with the metadata key of each client_labels label the pod has and its value.
func (c client) eachLabel(f func(key, value string)) {
	rest := c.labels
	for i := 0; rest != ""; i++ {
		var v string
		v, rest, _ = strings.Cut(rest, "\x00")
		if v != absentLabel {
			f(c.labelKeys[i], v)
		}
	}
}

// newClientIndex returns an empty index keeping the labels named (client_labels).
func newClientIndex(labels []string) *clientIndex {
	c := &clientIndex{seed: maphash.MakeSeed(), addr6: map[uint32][16]byte{}, strs: newCountedStrings()}
	for _, l := range slices.Sorted(slices.Values(labels)) {
		c.labelKeys = append(c.labelKeys, metaClientLabel+l)
	}
	return c
}

// clientAddr is the address a query came from, without the string round trip of request.IP.
func clientAddr(w dns.ResponseWriter) netip.Addr {
	switch a := w.RemoteAddr().(type) {
	case *net.UDPAddr:
		return a.AddrPort().Addr()
	case *net.TCPAddr:
		return a.AddrPort().Addr()
	}
	return netip.Addr{}
}

// lookup returns the one pod holding a, and false if none or several do.
func (c *clientIndex) lookup(a netip.Addr) (client, bool) {
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
	p := c.pod(found)
	return client{
		namespace: c.strs.get(p.ns), prefix: c.strs.get(p.prefix), suffix: clientPod{suffix: p.suffix},
		labels: c.strs.get(p.labels), labelKeys: c.labelKeys,
	}, true
}

// holds reports whether byAddr's value v (slot<<1 | 1 for IPv6) is address a.
func (c *clientIndex) holds(v uint32, a netip.Addr) bool {
	slot := v >> 1
	if v&1 == 1 {
		return a.Is6() && c.addr6[slot] == a.As16()
	}
	p := c.pod(slot)
	return a.Is4() && p.has4() && p.addr4 == a.As4()
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
	return c.addrHash(netip.AddrFrom4(c.pod(v >> 1).addr4))
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
	p := c.pod(slot)
	return c.nameHash(c.strs.get(p.ns), c.strs.get(p.prefix), p.suffixString())
}

// find returns the slot of pod namespace/name.
func (c *clientIndex) find(namespace, name string) (uint32, bool) {
	found, ok := uint32(0), false
	c.byName.each(c.nameHash(namespace, name, ""), func(slot uint32) bool {
		p := c.pod(slot)
		prefix := c.strs.get(p.prefix)
		if c.strs.get(p.ns) == namespace && strings.HasPrefix(name, prefix) && name[len(prefix):] == p.suffixString() {
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
	c.setLocked(p)
}

// setLocked is set; the caller holds mu.
func (c *clientIndex) setLocked(p *model.Pod) {
	// The strings first: a pod's update then keeps those it held, not freed and copied again.
	prefix, suffix := splitPodName(p.Name)
	cp := clientPod{ns: c.strs.add(p.Namespace), prefix: c.strs.add(prefix), labels: c.strs.add(c.labelsKey(p.Labels))}
	if slot, ok := c.find(p.Namespace, p.Name); ok {
		c.release(slot)
	}
	slot := c.newSlot()
	copy(cp.suffix[:], suffix)
	has6 := false
	for _, a := range p.IPs { // core/v1 PodStatus: at most one address per family
		switch a = a.Unmap(); {
		case a.Is4() && !cp.has4() && !a.IsUnspecified():
			cp.addr4 = a.As4()
		case a.Is6() && !has6:
			has6, c.addr6[slot] = true, a.As16()
		}
	}
	*c.pod(slot) = cp
	c.byName.insert(c.slotNameHash(slot), slot, c.slotNameHash)
	if cp.has4() {
		c.byAddr.insert(c.addrValueHash(slot<<1), slot<<1, c.addrValueHash)
	}
	if has6 {
		c.byAddr.insert(c.addrValueHash(slot<<1|1), slot<<1|1, c.addrValueHash)
	}
}

// newSlot takes a free slot, or a new one at the end of the last chunk.
func (c *clientIndex) newSlot() uint32 {
	if n := len(c.free); n > 0 {
		slot := c.free[n-1]
		c.free = c.free[:n-1]
		return slot
	}
	if n := len(c.chunks); n == 0 || len(c.chunks[n-1]) == chunkSlots {
		c.chunks = append(c.chunks, make([]clientPod, 0, chunkSlots))
	}
	last := len(c.chunks) - 1
	c.chunks[last] = append(c.chunks[last], clientPod{})
	return uint32(last*chunkSlots + len(c.chunks[last]) - 1)
}

// remove forgets a pod (its watch event said it is gone) and reports whether it was held.
func (c *clientIndex) remove(namespace, name string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	slot, ok := c.find(namespace, name)
	if ok {
		c.release(slot)
	}
	return ok
}

// holdsIn reports whether a pod of namespace holds ip, shared or not: with "pods verified" a
// namespace's pod names answer its pods' addresses, and one pod finishing while another starts on
// the same address must not take the name away.
func (c *clientIndex) holdsIn(namespace string, ip netip.Addr) bool {
	ip = ip.Unmap()
	c.mu.RLock()
	defer c.mu.RUnlock()
	found := false
	c.byAddr.each(c.addrHash(ip), func(v uint32) bool {
		found = c.holds(v, ip) && c.strs.get(c.pod(v>>1).ns) == namespace
		return !found
	})
	return found
}

// count returns how many pods are held.
func (c *clientIndex) count() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.byName.n
}

// pods returns every pod held, with its client_labels labels, for the snapshot.
func (c *clientIndex) pods() []*model.Pod {
	c.mu.RLock()
	defer c.mu.RUnlock()
	var out []*model.Pod
	for i, chunk := range c.chunks {
		for j := range chunk {
			p := &chunk[j]
			if p.ns == 0 {
				continue
			}
			slot := uint32(i*chunkSlots + j)
			pod := &model.Pod{Namespace: c.strs.get(p.ns), Name: c.strs.get(p.prefix) + p.suffixString()}
			if p.has4() {
				pod.IPs = append(pod.IPs, netip.AddrFrom4(p.addr4))
			}
			if a, ok := c.addr6[slot]; ok {
				pod.IPs = append(pod.IPs, netip.AddrFrom16(a))
			}
			client{labels: c.strs.get(p.labels), labelKeys: c.labelKeys}.eachLabel(func(key, v string) {
				if pod.Labels == nil {
					pod.Labels = map[string]string{}
				}
				pod.Labels[strings.TrimPrefix(key, metaClientLabel)] = v
			})
			out = append(out, pod)
		}
	}
	return out
}

// namespacePods are the pods of one namespace, as "pods verified" asks about them.
type namespacePods struct {
	c         *clientIndex
	namespace string
}

func (p namespacePods) has(ip netip.Addr) bool { return p.c.holdsIn(p.namespace, ip) }

// retain forgets the pods of namespace ("" for all) that a re-list did not list.
func (c *clientIndex) retain(namespace string, listed []source.ObjectKey) {
	c.mu.Lock()
	defer c.mu.Unlock()
	keep := make(map[uint64]bool, len(listed))
	for _, k := range listed {
		keep[c.nameHash(k.Namespace, k.Name, "")] = true
	}
	for i, chunk := range c.chunks {
		for j := range chunk {
			slot := uint32(i*chunkSlots + j)
			p := &chunk[j]
			if p.ns != 0 && (namespace == "" || c.strs.get(p.ns) == namespace) && !keep[c.slotNameHash(slot)] {
				c.release(slot)
			}
		}
	}
}

// replace swaps every pod for pods, as one change: no query sees the index empty in between.
func (c *clientIndex) replace(pods []*model.Pod) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.chunks, c.free, c.byName, c.byAddr = nil, nil, slotTable{}, slotTable{}
	c.addr6, c.strs = map[uint32][16]byte{}, newCountedStrings()
	for _, p := range pods {
		c.setLocked(p)
	}
}

// release frees a slot and everything it holds; the caller holds mu.
func (c *clientIndex) release(slot uint32) {
	p := c.pod(slot)
	c.byName.remove(c.slotNameHash(slot), slot, c.slotNameHash)
	if p.has4() {
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

// labelsKey is the client_labels values of a pod as one string, in the order of labelKeys,
// shared by every pod with the same values (a Deployment's): "value\x00value\x00...", with
// absentLabel for a label the pod does not have (label values are alphanumerics, "-", "_" and
// "."), and "" when it has none of them.
func (c *clientIndex) labelsKey(labels map[string]string) string {
	if len(labels) == 0 {
		return ""
	}
	var b strings.Builder
	for _, k := range c.labelKeys {
		v, ok := labels[strings.TrimPrefix(k, metaClientLabel)]
		if !ok {
			v = absentLabel
		}
		b.WriteString(v)
		b.WriteByte(0)
	}
	return b.String()
}

// absentLabel stands for a label the pod does not have.
const absentLabel = "\x01"
