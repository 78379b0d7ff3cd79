package snapshot

import (
	"encoding/binary"
	"hash/crc32"
	"maps"
	"net/netip"
	"slices"
	"time"

	"github.com/clusterdns/clusterdns/internal/model"
)

// Object layouts (see the package comment for strings, times, addresses and references):
//
//	namespace: name index, label count, then key index and value index per label (keys sorted)
//	service:   namespace index, name, flags (1 headless, 2 has selector), cluster IP count and
//	           addresses, external name, port list reference
//	slice:     namespace index, name, service (index plus one of the service of that namespace
//	           and name, else 0 then the name), port list reference, last change (time),
//	           endpoint count, flags (1 addresses are 16 bytes, 2 names follow, 4 zones follow),
//	           the addresses without length bytes, then a name per endpoint if flagged, then a
//	           zone (string table index) per endpoint if flagged
//	pod:       namespace index, name, address count and addresses
//
// LastChange is kept: when the API is back, a slice that did not change has the same LastChange as
// the one read from the file, so the store does not count a programming latency for it (it would
// for every slice, from each slice's last change, if the file had none).
const (
	serviceHeadless    = 1 << 0
	serviceHasSelector = 1 << 1

	endpointsWide  = 1 << 0
	endpointsNamed = 1 << 1
	endpointsZoned = 1 << 2
)

// encoder builds the objects part of a file and, as it goes, the tables that part refers to, which
// are written before it.
type encoder struct {
	objects []byte

	strings     []string
	stringIndex map[string]uint64

	lists     []byte            // the port list table's entries
	listIndex map[string]uint64 // entry → reference (index plus one)
	nLists    uint64
	list      []byte // the list being looked up

	services map[serviceKey]uint64 // index plus one
}

type serviceKey struct{ namespace, name string }

// encode returns the whole file for snap and meta.
func encode(snap *model.Snapshot, meta Meta) []byte {
	e := encoder{
		stringIndex: map[string]uint64{},
		listIndex:   map[string]uint64{},
		services:    make(map[serviceKey]uint64, len(snap.Services)),
	}
	e.writeNamespaces(snap.Namespaces)
	e.writeServices(snap.Services)
	e.writeSlices(snap.Slices)
	e.writePods(snap.Pods)

	// The cluster's length, the time's two numbers and the tables' counts are the five varints.
	n := len(magic) + 1 + len(meta.Cluster) + 5*binary.MaxVarintLen64 + len(e.lists) + len(e.objects) + 4
	for _, s := range e.strings {
		n += binary.MaxVarintLen64 + len(s)
	}
	out := make([]byte, 0, n)
	out = append(out, magic...)
	out = append(out, version)
	out = appendString(out, meta.Cluster)
	out = appendTime(out, meta.Written)
	out = binary.AppendUvarint(out, uint64(len(e.strings)))
	for _, s := range e.strings {
		out = appendString(out, s)
	}
	out = binary.AppendUvarint(out, e.nLists)
	out = append(out, e.lists...)
	out = append(out, e.objects...)
	return binary.BigEndian.AppendUint32(out, crc32.Checksum(out, castagnoli))
}

func (e *encoder) writeNamespaces(list []*model.Namespace) {
	e.objects = binary.AppendUvarint(e.objects, uint64(len(list)))
	for _, ns := range list {
		e.objects = e.ref(e.objects, ns.Name)
		e.objects = binary.AppendUvarint(e.objects, uint64(len(ns.Labels)))
		// Sorted, so that the same data always makes the same file.
		for _, k := range slices.Sorted(maps.Keys(ns.Labels)) {
			e.objects = e.ref(e.objects, k)
			e.objects = e.ref(e.objects, ns.Labels[k])
		}
	}
}

func (e *encoder) writeServices(list []*model.Service) {
	e.objects = binary.AppendUvarint(e.objects, uint64(len(list)))
	for i, svc := range list {
		e.services[serviceKey{svc.Namespace, svc.Name}] = uint64(i) + 1
		e.objects = e.ref(e.objects, svc.Namespace)
		e.objects = appendString(e.objects, svc.Name)
		var flags byte
		if svc.Headless {
			flags |= serviceHeadless
		}
		if svc.HasSelector {
			flags |= serviceHasSelector
		}
		e.objects = append(e.objects, flags)
		e.objects = appendAddrs(e.objects, svc.ClusterIPs)
		e.objects = appendString(e.objects, svc.ExternalName)
		e.ports(svc.Ports)
	}
}

func (e *encoder) writeSlices(list []*model.EndpointSlice) {
	e.objects = binary.AppendUvarint(e.objects, uint64(len(list)))
	for _, sl := range list {
		e.objects = e.ref(e.objects, sl.Namespace)
		e.objects = appendString(e.objects, sl.Name)
		// The service's name is usually that of a service in the file: referring to it saves the
		// bytes here and, on reading, a string per slice.
		svc := e.services[serviceKey{sl.Namespace, sl.Service}]
		e.objects = binary.AppendUvarint(e.objects, svc)
		if svc == 0 {
			e.objects = appendString(e.objects, sl.Service)
		}
		e.ports(sl.Ports)
		e.objects = appendTime(e.objects, sl.LastChange)
		e.writeEndpoints(sl.Endpoints)
	}
}

// endpoints writes the addresses as Endpoints packs them: 16 bytes each, IPv4 ones mapped, when
// one is IPv6, so that reading packs the same bytes again.
func (e *encoder) writeEndpoints(eps model.Endpoints) {
	var flags byte
	for i := range eps.Len() {
		ep := eps.At(i)
		if ep.Addr.Is6() {
			flags |= endpointsWide
		}
		if ep.Name != "" {
			flags |= endpointsNamed
		}
		if ep.Zone != "" {
			flags |= endpointsZoned
		}
	}
	e.objects = binary.AppendUvarint(e.objects, uint64(eps.Len()))
	e.objects = append(e.objects, flags)
	for i := range eps.Len() {
		a := eps.At(i).Addr
		if flags&endpointsWide != 0 {
			b := a.As16()
			e.objects = append(e.objects, b[:]...)
		} else {
			b := a.As4()
			e.objects = append(e.objects, b[:]...)
		}
	}
	if flags&endpointsNamed != 0 {
		for i := range eps.Len() {
			e.objects = appendString(e.objects, eps.At(i).Name)
		}
	}
	if flags&endpointsZoned != 0 {
		// A cluster has a few zones and many endpoints: each zone is written once, in the table.
		for i := range eps.Len() {
			e.objects = e.ref(e.objects, eps.At(i).Zone)
		}
	}
}

func (e *encoder) writePods(list []*model.Pod) {
	e.objects = binary.AppendUvarint(e.objects, uint64(len(list)))
	for _, p := range list {
		e.objects = e.ref(e.objects, p.Namespace)
		e.objects = appendString(e.objects, p.Name)
		e.objects = appendAddrs(e.objects, p.IPs)
	}
}

// ref appends the string table index of s, adding s to the table if it is new.
func (e *encoder) ref(b []byte, s string) []byte {
	i, ok := e.stringIndex[s]
	if !ok {
		i = uint64(len(e.strings))
		e.strings = append(e.strings, s)
		e.stringIndex[s] = i
	}
	return binary.AppendUvarint(b, i)
}

// ports appends the reference to ports in the port list table, adding the list if it is new.
func (e *encoder) ports(ports []model.Port) {
	if len(ports) == 0 {
		e.objects = binary.AppendUvarint(e.objects, 0)
		return
	}
	l := binary.AppendUvarint(e.list[:0], uint64(len(ports)))
	for _, p := range ports {
		l = e.ref(l, p.Name)
		l = e.ref(l, p.Protocol)
		l = binary.AppendUvarint(l, uint64(p.Port))
	}
	e.list = l
	r, ok := e.listIndex[string(l)]
	if !ok {
		e.nLists++
		r = e.nLists
		e.listIndex[string(l)] = r
		e.lists = append(e.lists, l...)
	}
	e.objects = binary.AppendUvarint(e.objects, r)
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// appendTime writes t to the nanosecond; its location is not kept.
func appendTime(b []byte, t time.Time) []byte {
	b = binary.AppendVarint(b, t.Unix())
	return binary.AppendUvarint(b, uint64(t.Nanosecond()))
}

// appendAddrs writes a count then each address. A zone is not kept: the API refuses addresses with
// one, so none reaches the model.
func appendAddrs(b []byte, addrs []netip.Addr) []byte {
	b = binary.AppendUvarint(b, uint64(len(addrs)))
	for _, a := range addrs {
		switch {
		case !a.IsValid():
			b = append(b, 0)
		case a.Is4():
			v := a.As4()
			b = append(b, 4)
			b = append(b, v[:]...)
		default:
			v := a.As16()
			b = append(b, 16)
			b = append(b, v[:]...)
		}
	}
	return b
}
