package clusterdns

import (
	"net/netip"

	"github.com/clusterdns/clusterdns/internal/model"
)

// claims decides which slice of a headless service answers an address or an endpoint name that
// several of its slices hold, so that each is answered once: the slices are built in name order
// and the first one claims it. One exception keeps a dual-stack pod's SRV records whole: its two
// endpoints, one in each family's slice, share a hostname, and the IPv4 one names it in SRV
// records; the IPv6 one adds only its address.
type claims struct {
	addrs map[netip.Addr]bool
	names [2]map[string]bool // by family of the endpoint claiming the name: IPv4, IPv6
	keys  *endpointKeys      // the service's endpoint keys; nil for a service of one slice
}

// reset forgets every claim, for the service whose keys are given.
func (c *claims) reset(keys *endpointKeys) {
	c.addrs = scrub(c.addrs)
	for f := range c.names {
		c.names[f] = scrub(c.names[f])
	}
	c.keys = keys
}

// claim tells whether the slice being built answers an endpoint's address (its address records,
// PTR and glue) and its SRV records. label is the endpoint's own name, "" when it is named by its
// address (its SRV records then go with the address).
func (c *claims) claim(addr netip.Addr, label string) (answersAddr, answersSRV bool) {
	answersAddr = !c.addrs[addr]
	c.addrs[addr] = true
	if label == "" {
		return answersAddr, answersAddr
	}
	f := family(addr)
	answersSRV = !c.names[f][label]
	c.names[f][label] = true
	if f == 1 && c.keys.namedInIPv4(label) {
		answersSRV = false
	}
	return answersAddr, answersSRV
}

// claimedEndpoint is an endpoint of the slice being built, with its label and what it answers.
type claimedEndpoint struct {
	addr        netip.Addr
	label       string
	answersAddr bool
	answersSRV  bool
}

func family(a netip.Addr) int {
	if a.Is4() {
		return 0
	}
	return 1
}

// endpointKeys counts, over the slices of a headless service with more than one, the endpoints
// that hold each address and each endpoint name (by family): a slice whose keys no other slice
// holds can be rebuilt alone, since no claim moves.
type endpointKeys struct {
	addrs map[netip.Addr]uint32
	names [2]map[string]uint32
	srv   map[string]uint32 // the SRV records at each name, for their weight (weighSRV)
	// held is the number of addresses and names that several endpoints hold: while it is 0, as
	// in nearly every service, no endpoint needs to be looked up to know that none is shared.
	held int
}

func newEndpointKeys(slices []*model.EndpointSlice) *endpointKeys {
	k := &endpointKeys{addrs: map[netip.Addr]uint32{}, names: [2]map[string]uint32{{}, {}}}
	for _, sl := range slices {
		k.add(sl, 1)
	}
	return k
}

// add counts the keys of sl's endpoints, delta 1 for a slice added and -1 for one taken away.
func (k *endpointKeys) add(sl *model.EndpointSlice, delta int) {
	k.addRange(sl.Endpoints, 0, sl.Endpoints.Len(), delta)
}

// replace counts the keys of sl in place of old's, the same slice before: only the endpoints
// between their matching ends change the counts. It reports false, counting nothing, when an
// endpoint old loses holds a key that another endpoint holds too (a claim may move).
func (k *endpointKeys) replace(old, sl *model.EndpointSlice) bool {
	prefix, suffix := matchingEnds(old.Endpoints, sl.Endpoints)
	oldEnd, end := old.Endpoints.Len()-suffix, sl.Endpoints.Len()-suffix
	if k.sharedIn(old.Endpoints, prefix, oldEnd) {
		return false
	}
	k.addRange(old.Endpoints, prefix, oldEnd, -1)
	k.addRange(sl.Endpoints, prefix, end, 1)
	return true
}

// addRange counts the keys of list's endpoints from from to to (excluded), by delta.
func (k *endpointKeys) addRange(list model.Endpoints, from, to, delta int) {
	for i := from; i < to; i++ {
		e := list.At(i)
		k.held += sharedChange(count(k.addrs, e.Addr, delta))
		if label := endpointName(e); label != "" {
			k.held += sharedChange(count(k.names[family(e.Addr)], label, delta))
		}
	}
}

// count adds delta to the count of key, and returns the count before and after.
func count[K comparable](m map[K]uint32, key K, delta int) (before, after int) {
	before = int(m[key])
	after = max(before+delta, 0)
	if after == 0 {
		delete(m, key)
	} else {
		m[key] = uint32(after)
	}
	return before, after
}

// sharedChange is the change in the number of shared keys when a key's count goes from before to
// after.
func sharedChange(before, after int) int {
	switch {
	case before <= 1 && after > 1:
		return 1
	case before > 1 && after <= 1:
		return -1
	}
	return 0
}

// shared tells whether an endpoint of sl holds an address or name that another endpoint holds.
func (k *endpointKeys) shared(sl *model.EndpointSlice) bool {
	return k.sharedIn(sl.Endpoints, 0, sl.Endpoints.Len())
}

// sharedIn is shared for list's endpoints from from to to (excluded).
func (k *endpointKeys) sharedIn(list model.Endpoints, from, to int) bool {
	if k.held == 0 {
		return false
	}
	for i := from; i < to; i++ {
		e := list.At(i)
		if k.addrs[e.Addr] > 1 {
			return true
		}
		if label := endpointName(e); label != "" && k.names[family(e.Addr)][label] > 1 {
			return true
		}
	}
	return false
}

// namedInIPv4 tells whether an IPv4 endpoint of the service has this name.
func (k *endpointKeys) namedInIPv4(label string) bool {
	return k != nil && k.names[0][label] > 0
}
