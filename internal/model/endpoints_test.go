package model

import (
	"net/netip"
	"reflect"
	"testing"
)

func TestEndpointsPackAndUnpack(t *testing.T) {
	ip := netip.MustParseAddr
	for _, tt := range []struct {
		name string
		list []Endpoint
	}{
		{"none", nil},
		{"IPv4 without names", []Endpoint{{Addr: ip("10.0.0.1")}, {Addr: ip("10.0.0.2")}}},
		{"IPv6 with a hostname", []Endpoint{{Addr: ip("fd00::1"), Name: "web-0"}, {Addr: ip("fd00::2")}}},
		{"both families in one list", []Endpoint{{Addr: ip("10.0.0.1")}, {Addr: ip("fd00::1"), Name: "b"}}},
		{"zones, some shared, one unset", []Endpoint{{Addr: ip("10.0.0.1"), Zone: "a"}, {Addr: ip("10.0.0.2")}, {Addr: ip("10.0.0.3"), Zone: "us-east-1.b"}, {Addr: ip("10.0.0.4"), Zone: "a"}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := NewEndpoints(tt.list)
			var got []Endpoint
			for i := range e.Len() {
				got = append(got, e.At(i))
			}
			if !reflect.DeepEqual(got, tt.list) {
				t.Errorf("unpacked %v, want %v", got, tt.list)
			}
		})
	}
}

func TestEndpointsKeepNoNamesWhenNoneIsSet(t *testing.T) {
	e := NewEndpoints([]Endpoint{{Addr: netip.MustParseAddr("10.0.0.1")}})
	if e.names != nil || e.zones != nil || len(e.addrs) != 4 {
		t.Errorf("packed %d address bytes, names %v and zones %v, want 4 bytes and neither", len(e.addrs), e.names, e.zones)
	}
}

// SameAt compares an address and a name across two packings, narrow and wide alike.
func TestEndpointsSameAtComparesAddressAndName(t *testing.T) {
	v4 := netip.MustParseAddr("10.0.0.1")
	narrow := NewEndpoints([]Endpoint{{Addr: v4, Name: "web-0"}, {Addr: v4}})
	wide := NewEndpoints([]Endpoint{{Addr: v4, Name: "web-0"}, {Addr: netip.MustParseAddr("fd00::1"), Name: "web-0"}})
	for _, tc := range []struct {
		name string
		a    Endpoints
		i    int
		b    Endpoints
		j    int
		want bool
	}{
		{"same address and name", narrow, 0, narrow, 0, true},
		{"same address, one without a name", narrow, 0, narrow, 1, false},
		{"an IPv4 address in a wide packing", narrow, 0, wide, 0, true},
		{"same name, other address", wide, 0, wide, 1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.a.SameAt(tc.i, tc.b, tc.j); got != tc.want {
				t.Errorf("SameAt = %v, want %v", got, tc.want)
			}
		})
	}
}
