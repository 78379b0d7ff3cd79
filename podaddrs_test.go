package clusterdns

import (
	"net/netip"
	"testing"
)

// A pod name stays answered while any pod of the namespace has the address: one pod finishing
// while another starts on the same address must not take the name away.
func TestPodAddressesCountSharers(t *testing.T) {
	v4, v6 := netip.MustParseAddr("10.244.0.7"), netip.MustParseAddr("fd00::7")
	var p podAddrs
	p.swap(nil, []netip.Addr{v4, v6}) // old pod
	p.swap(nil, []netip.Addr{v4})     // new pod, same IPv4 address
	p.swap([]netip.Addr{v4, v6}, nil) // old pod gone
	if !p.has(v4) || p.has(v6) {
		t.Errorf("has %s = %v, has %s = %v; want the shared address kept and the other gone", v4, p.has(v4), v6, p.has(v6))
	}
	p.swap([]netip.Addr{v4}, nil)
	if p.has(v4) || len(p.v4) != 0 {
		t.Errorf("%s still held after its last pod went", v4)
	}
}
