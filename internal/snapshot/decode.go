package snapshot

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"net/netip"
	"time"
	"unique"

	"github.com/clusterdns/clusterdns/internal/model"
)

// decoder reads a file's contents. Its first error sticks: every later read returns a zero value,
// so the object loops need not check after each field, and counts read after an error are 0.
type decoder struct {
	data []byte
	off  int
	err  error

	strings  []string
	lists    [][]model.Port
	services []*model.Service
	scratch  []model.Endpoint // one slice's endpoints, before they are packed
}

// decode returns the snapshot and meta in a whole file.
func decode(data []byte) (*model.Snapshot, Meta, error) {
	header := len(magic) + 1
	if len(data) < header || string(data[:len(magic)]) != magic {
		return nil, Meta{}, fmt.Errorf("%w: not a clusterdns snapshot file", ErrCorrupt)
	}
	if v := data[len(magic)]; v != version {
		return nil, Meta{}, fmt.Errorf("%w: format version %d, want %d", ErrCorrupt, v, version)
	}
	if len(data) < header+4 {
		return nil, Meta{}, fmt.Errorf("%w: truncated to %d bytes", ErrCorrupt, len(data))
	}
	body, sum := data[:len(data)-4], binary.BigEndian.Uint32(data[len(data)-4:])
	if crc32.Checksum(body, castagnoli) != sum {
		return nil, Meta{}, fmt.Errorf("%w: checksum mismatch (truncated or damaged)", ErrCorrupt)
	}

	// The reads below are in file order: Go makes calls in a composite literal left to right.
	d := decoder{data: body, off: header}
	meta := Meta{Cluster: d.str(), Written: d.time()}
	d.readStrings()
	d.readLists()
	snap := &model.Snapshot{
		Namespaces: d.readNamespaces(),
		Services:   d.readServices(),
		Slices:     d.readSlices(),
		Pods:       d.readPods(),
	}
	if d.err == nil && d.off != len(d.data) {
		d.fail("%d bytes after the last object", len(d.data)-d.off)
	}
	if d.err != nil {
		return nil, Meta{}, d.err
	}
	return snap, meta, nil
}

// readStrings reads the string table. Its strings are the ones that repeat across objects; they
// are interned, so that they share memory with the same strings of objects that come from the API
// later.
func (d *decoder) readStrings() {
	n := d.count(1)
	d.strings = make([]string, n)
	for i := range n {
		d.strings[i] = unique.Make(string(d.bytes(d.count(1)))).Value()
	}
}

// readLists reads the port list table. Each list is made once and shared by every object that
// refers to it.
func (d *decoder) readLists() {
	n := d.count(1)
	d.lists = make([][]model.Port, n)
	for i := range n {
		m := d.count(3)
		if m == 0 {
			continue
		}
		ports := make([]model.Port, m)
		for j := range ports {
			ports[j] = model.Port{Name: d.ref(), Protocol: d.ref(), Port: d.port()}
		}
		d.lists[i] = ports
	}
}

func (d *decoder) readNamespaces() []*model.Namespace {
	out := list[*model.Namespace](d.count(2))
	for i := range out {
		ns := &model.Namespace{Name: d.ref()}
		if n := d.count(2); n > 0 {
			ns.Labels = make(map[string]string, n)
			for range n {
				k := d.ref()
				ns.Labels[k] = d.ref()
			}
		}
		out[i] = ns
	}
	return out
}

func (d *decoder) readServices() []*model.Service {
	d.services = list[*model.Service](d.count(6))
	for i := range d.services {
		svc := &model.Service{Namespace: d.ref(), Name: d.str()}
		flags := d.u8()
		if flags&^(serviceHeadless|serviceHasSelector) != 0 {
			d.fail("unknown service flags %#x", flags)
		}
		svc.Headless = flags&serviceHeadless != 0
		svc.HasSelector = flags&serviceHasSelector != 0
		svc.ClusterIPs = d.addrs()
		svc.ExternalName = d.str()
		svc.Ports = d.ports()
		d.services[i] = svc
	}
	return d.services
}

func (d *decoder) readSlices() []*model.EndpointSlice {
	out := list[*model.EndpointSlice](d.count(8))
	for i := range out {
		sl := &model.EndpointSlice{Namespace: d.ref(), Name: d.str()}
		switch svc := d.uvarint(); {
		case svc == 0:
			sl.Service = d.str()
		case svc <= uint64(len(d.services)):
			sl.Service = d.services[svc-1].Name
		default:
			d.fail("service %d of %d", svc, len(d.services))
		}
		sl.Ports = d.ports()
		sl.LastChange = d.time()
		sl.Endpoints = d.endpoints()
		out[i] = sl
	}
	return out
}

func (d *decoder) endpoints() model.Endpoints {
	n := d.uvarint()
	flags := d.u8()
	if flags&^(endpointsWide|endpointsNamed|endpointsZoned) != 0 {
		d.fail("unknown endpoint flags %#x", flags)
	}
	width := 4
	if flags&endpointsWide != 0 {
		width = 16
	}
	if n > uint64(d.left()/width) {
		d.fail("%d endpoints in %d bytes", n, d.left())
	}
	if d.err != nil {
		return model.Endpoints{}
	}
	eps := d.scratch[:0]
	for range n {
		b := d.bytes(width)
		if width == 16 {
			// Not unmapped: NewEndpoints packs a mapped IPv4 address as it was written.
			eps = append(eps, model.Endpoint{Addr: netip.AddrFrom16([16]byte(b))})
		} else {
			eps = append(eps, model.Endpoint{Addr: netip.AddrFrom4([4]byte(b))})
		}
	}
	if flags&endpointsNamed != 0 {
		for i := range eps {
			eps[i].Name = d.str()
		}
	}
	if flags&endpointsZoned != 0 {
		for i := range eps {
			eps[i].Zone = d.ref()
		}
	}
	d.scratch = eps
	return model.NewEndpoints(eps)
}

func (d *decoder) readPods() []*model.Pod {
	out := list[*model.Pod](d.count(3))
	for i := range out {
		out[i] = &model.Pod{Namespace: d.ref(), Name: d.str(), IPs: d.addrs()}
	}
	return out
}

// list returns a slice of n zero values, nil for none, as the sources leave a list with nothing in it.
func list[T any](n int) []T {
	if n == 0 {
		return nil
	}
	return make([]T, n)
}

// fail records the first error, with the offset it was found at.
func (d *decoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: at byte %d: %s", ErrCorrupt, d.off, fmt.Sprintf(format, args...))
	}
}

func (d *decoder) left() int { return len(d.data) - d.off }

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.data[d.off:])
	if n <= 0 {
		d.fail("bad varint")
		return 0
	}
	d.off += n
	return v
}

func (d *decoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.data[d.off:])
	if n <= 0 {
		d.fail("bad varint")
		return 0
	}
	d.off += n
	return v
}

func (d *decoder) u8() byte {
	b := d.bytes(1)
	if b == nil {
		return 0
	}
	return b[0]
}

// bytes returns the next n bytes, or nil after an error.
func (d *decoder) bytes(n int) []byte {
	if d.err != nil {
		return nil
	}
	if n > d.left() {
		d.fail("%d bytes wanted, %d left", n, d.left())
		return nil
	}
	b := d.data[d.off : d.off+n : d.off+n]
	d.off += n
	return b
}

// count reads a number of things each written in at least size bytes, and refuses a number that
// the bytes left cannot hold: that bounds what a damaged file can make the decoder allocate.
func (d *decoder) count(size int) int {
	n := d.uvarint()
	if n > uint64(d.left()/size) {
		d.fail("%d items in %d bytes", n, d.left())
		return 0
	}
	return int(n)
}

func (d *decoder) str() string { return string(d.bytes(d.count(1))) }

// ref reads a string table index.
func (d *decoder) ref() string {
	i := d.uvarint()
	if i >= uint64(len(d.strings)) {
		d.fail("string %d of %d", i, len(d.strings))
		return ""
	}
	return d.strings[i]
}

// ports reads a port list reference.
func (d *decoder) ports() []model.Port {
	r := d.uvarint()
	if r > uint64(len(d.lists)) {
		d.fail("port list %d of %d", r, len(d.lists))
		return nil
	}
	if r == 0 {
		return nil
	}
	return d.lists[r-1]
}

func (d *decoder) port() uint16 {
	p := d.uvarint()
	if p > 1<<16-1 {
		d.fail("port %d", p)
	}
	return uint16(p)
}

func (d *decoder) time() time.Time {
	sec, nsec := d.varint(), d.uvarint()
	if nsec >= uint64(time.Second) {
		d.fail("%d nanoseconds", nsec)
		return time.Time{}
	}
	return time.Unix(sec, int64(nsec)).UTC()
}

func (d *decoder) addrs() []netip.Addr {
	out := list[netip.Addr](d.count(1))
	for i := range out {
		switch l := d.u8(); l {
		case 0:
		case 4:
			if b := d.bytes(4); b != nil {
				out[i] = netip.AddrFrom4([4]byte(b))
			}
		case 16:
			if b := d.bytes(16); b != nil {
				out[i] = netip.AddrFrom16([16]byte(b))
			}
		default:
			d.fail("address of %d bytes", l)
		}
	}
	return out
}
