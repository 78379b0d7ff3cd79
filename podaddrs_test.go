package clusterdns

import (
	"hash/maphash"
	"net/netip"
	"testing"
)

// A pod name stays answered while any pod of the namespace has the address: one pod finishing
// while another starts on the same address must not take the name away.
func TestPodAddressesCountSharers(t *testing.T) {
	v4, v6 := netip.MustParseAddr("10.244.0.7"), netip.MustParseAddr("fd00::7")
	p := newPodAddrs(new(maphash.MakeSeed()))
	p.set("old", []netip.Addr{v4, v6})
	p.set("new", []netip.Addr{v4})
	p.remove("old")
	if !p.has(v4) || p.has(v6) {
		t.Errorf("has %s = %v, has %s = %v; want the shared address kept and the other gone", v4, p.has(v4), v6, p.has(v6))
	}
	p.remove("new")
	if p.has(v4) || len(p.v4) != 0 || len(p.pods4)+len(p.pods6) != 0 {
		t.Errorf("%s still held after its last pod went", v4)
	}
}

// A pod that changes its address gives the old one back.
func TestPodAddressChangeReleasesTheOldAddress(t *testing.T) {
	before, after := netip.MustParseAddr("10.244.0.7"), netip.MustParseAddr("10.244.0.8")
	p := newPodAddrs(new(maphash.MakeSeed()))
	if !p.set("web-0", []netip.Addr{before}) || p.set("web-0", []netip.Addr{after}) {
		t.Error("set should report the pod new only the first time")
	}
	if p.has(before) || !p.has(after) {
		t.Errorf("has %s = %v, has %s = %v; want only the new address", before, p.has(before), after, p.has(after))
	}
}

// A re-list that no longer has a dual-stack pod takes back both its addresses, counting it once.
func TestPodRetainForgetsBothFamilies(t *testing.T) {
	v4, v6 := netip.MustParseAddr("10.244.0.7"), netip.MustParseAddr("fd00::7")
	p := newPodAddrs(new(maphash.MakeSeed()))
	p.set("dual", []netip.Addr{v4, v6})
	p.set("kept", []netip.Addr{netip.MustParseAddr("10.244.0.8")})
	if forgot := p.retain([]string{"kept"}); forgot != 1 || p.has(v4) || p.has(v6) {
		t.Errorf("forgot %d, has %s = %v, has %s = %v; want one pod and both its addresses gone", forgot, v4, p.has(v4), v6, p.has(v6))
	}
}
