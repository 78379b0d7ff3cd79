package clusterdns

import (
	"net/netip"
	"sync"

	"github.com/clusterdns/clusterdns/internal/model"
	"github.com/clusterdns/clusterdns/internal/source"
)

// client is who sends a query: the pod that holds the source address.
type client struct {
	namespace, name string
	labels          map[string]string // only those client_labels names
	addrs           [][16]byte        // its addresses, to take back when it changes or goes
}

// clientIndex maps a pod's address to the pod, for autopath and the client-* metadata. It is fed by
// the same Pod watch as "pods verified" (the source hands each pod to the store once, and the store
// to both). The watch leaves out host-network pods: their address is their node's, shared by every
// such pod on it (coredns#7120). An address held by more than one pod (a reused IP while the old pod
// terminates, coredns#2842) names no client, nor does one not yet seen (a lagging watch,
// coredns#3765): the query is then answered as it was asked.
type clientIndex struct {
	mu     sync.RWMutex
	pods   map[objKey]*client
	byAddr map[[16]byte][]*client // almost always one
}

func newClientIndex() *clientIndex {
	return &clientIndex{pods: map[objKey]*client{}, byAddr: map[[16]byte][]*client{}}
}

// addrKey is an address in the 16-byte form, IPv4 mapped, so that one map holds both families.
func addrKey(a netip.Addr) [16]byte { return a.Unmap().As16() }

// lookup returns the one pod holding ip, or nil: unknown, ambiguous or not an address.
func (c *clientIndex) lookup(ip string) *client {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return nil
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	if held := c.byAddr[addrKey(a)]; len(held) == 1 {
		return held[0]
	}
	return nil
}

// set records a pod, replacing what it was.
func (c *clientIndex) set(p *model.Pod) {
	cl := &client{namespace: p.Namespace, name: p.Name, labels: p.Labels, addrs: make([][16]byte, 0, len(p.IPs))}
	for _, a := range p.IPs {
		cl.addrs = append(cl.addrs, addrKey(a))
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.release(objKey{p.Namespace, p.Name})
	c.pods[objKey{p.Namespace, p.Name}] = cl
	for _, k := range cl.addrs {
		c.byAddr[k] = append(c.byAddr[k], cl)
	}
}

// remove forgets a pod (its watch event said it is gone).
func (c *clientIndex) remove(namespace, name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.release(objKey{namespace, name})
}

// retain forgets the pods of namespace ("" for all) that a re-list did not list.
func (c *clientIndex) retain(namespace string, listed []source.ObjectKey) {
	keep := make(map[objKey]bool, len(listed))
	for _, k := range listed {
		keep[objKey{k.Namespace, k.Name}] = true
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for k := range c.pods {
		if (namespace == "" || k.namespace == namespace) && !keep[k] {
			c.release(k)
		}
	}
}

// replace swaps every pod for pods.
func (c *clientIndex) replace(pods []*model.Pod) {
	c.mu.Lock()
	clear(c.pods)
	clear(c.byAddr)
	c.mu.Unlock()
	for _, p := range pods {
		c.set(p)
	}
}

// release forgets pod k and takes its addresses back; the caller holds mu.
func (c *clientIndex) release(k objKey) {
	cl, ok := c.pods[k]
	if !ok {
		return
	}
	delete(c.pods, k)
	for _, a := range cl.addrs {
		held := c.byAddr[a]
		for i, h := range held {
			if h == cl {
				held = append(held[:i:i], held[i+1:]...)
				break
			}
		}
		if len(held) == 0 {
			delete(c.byAddr, a)
		} else {
			c.byAddr[a] = held
		}
	}
}
